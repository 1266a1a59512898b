"""The owned folder: regenerated freely, never taking what is not kedro-dab's."""

from __future__ import annotations

from pathlib import Path

import pytest

from kedro_dab.bundle.render import OWNED_DIR, to_yaml
from kedro_dab.bundle.write import write_owned
from kedro_dab.errors import BundleError

JOB = to_yaml({"resources": {"jobs": {"a": {"name": "a"}}}})


def test_writes_new_files_and_reports_them(tmp_path: Path):
    report = write_owned(tmp_path, {"a.yml": JOB})
    assert report.written == [f"{OWNED_DIR}/a.yml"]
    assert (tmp_path / OWNED_DIR / "a.yml").read_text() == JOB


def test_second_write_of_the_same_files_changes_nothing(tmp_path: Path):
    write_owned(tmp_path, {"a.yml": JOB})
    report = write_owned(tmp_path, {"a.yml": JOB})
    assert (report.written, report.removed, report.unchanged) == ([], [], [f"{OWNED_DIR}/a.yml"])


def test_stale_generated_files_are_removed(tmp_path: Path):
    write_owned(tmp_path, {"a.yml": JOB, "b.yml": JOB})
    report = write_owned(tmp_path, {"a.yml": JOB})
    assert report.removed == [f"{OWNED_DIR}/b.yml"]
    assert not (tmp_path / OWNED_DIR / "b.yml").exists()


def test_check_writes_nothing_and_reports_what_is_out_of_date(tmp_path: Path):
    report = write_owned(tmp_path, {"a.yml": JOB}, check=True)
    assert report.changed
    assert not (tmp_path / OWNED_DIR).exists()


def test_a_foreign_file_in_the_owned_folder_stops_the_write(tmp_path: Path):
    mine = tmp_path / OWNED_DIR / "mine.yml"
    mine.parent.mkdir(parents=True)
    mine.write_text("resources: {}\n")
    with pytest.raises(BundleError, match="was not written by kedro-dab"):
        write_owned(tmp_path, {"a.yml": JOB})
    assert mine.read_text() == "resources: {}\n"
    assert not (tmp_path / OWNED_DIR / "a.yml").exists()


def test_a_hand_edited_generated_file_stops_the_write_unless_forced(tmp_path: Path):
    write_owned(tmp_path, {"a.yml": JOB})
    path = tmp_path / OWNED_DIR / "a.yml"
    path.write_text(JOB + "      max_concurrent_runs: 3\n")
    with pytest.raises(BundleError, match="edited by hand"):
        write_owned(tmp_path, {"a.yml": JOB})
    assert path.read_text().endswith("max_concurrent_runs: 3\n")
    write_owned(tmp_path, {"a.yml": JOB}, force=True)
    assert path.read_text() == JOB
