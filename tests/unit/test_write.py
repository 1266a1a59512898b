"""The owned folder: regenerated freely, never taking what is not kedro-dab's."""

from __future__ import annotations

from pathlib import Path

import pytest

from kedro_dab.bundle.layout import OWNED_DIR
from kedro_dab.bundle.render import to_yaml
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


def test_a_write_replaces_the_whole_set_and_keeps_a_users_hidden_file(tmp_path: Path):
    write_owned(tmp_path, {"a.yml": JOB, "b.yml": JOB})
    keep = tmp_path / OWNED_DIR / ".gitkeep"
    keep.write_text("")
    write_owned(tmp_path, {"a.yml": JOB, "c.yml": JOB})
    names = sorted(p.name for p in (tmp_path / OWNED_DIR).iterdir())
    assert names == [".gitkeep", "a.yml", "c.yml"]
    assert sorted(p.name for p in (tmp_path / "resources").iterdir()) == ["kedro-dab"]


def test_hidden_folders_and_hidden_files_in_subfolders_are_kept_too(tmp_path: Path):
    write_owned(tmp_path, {"a.yml": JOB, "apps/shop/app.yml": JOB})
    owned = tmp_path / OWNED_DIR
    (owned / ".mine").mkdir()
    (owned / ".mine" / "notes.yml").write_text("mine\n")
    (owned / "apps" / "shop" / ".notes").write_text("mine too\n")

    write_owned(tmp_path, {"a.yml": JOB, "b.yml": JOB, "apps/shop/app.yml": JOB})

    assert (owned / ".mine" / "notes.yml").read_text() == "mine\n"
    assert (owned / "apps" / "shop" / ".notes").read_text() == "mine too\n"
    assert (owned / "b.yml").read_text() == JOB


def test_temp_files_a_killed_run_left_are_not_generated_files_and_are_removed(tmp_path: Path):
    write_owned(tmp_path, {"a.yml": JOB})
    partial = tmp_path / OWNED_DIR / ".a.yml.k2x9_abc"
    partial.write_text(JOB[: len(JOB) // 2])
    staging = tmp_path / "resources" / ".kedro-dab.new-abcd1234"
    staging.mkdir()
    (staging / "a.yml").write_text("half")
    report = write_owned(tmp_path, {"a.yml": JOB, "b.yml": JOB})
    assert report.written == [f"{OWNED_DIR}/b.yml"]
    assert not partial.exists()
    assert not staging.exists()


def test_the_old_set_a_run_killed_between_two_renames_left_is_put_back(tmp_path: Path):
    write_owned(tmp_path, {"a.yml": JOB})
    folder = tmp_path / OWNED_DIR
    folder.rename(folder.parent / ".kedro-dab.old")
    assert write_owned(tmp_path, {"a.yml": JOB}, check=True).unchanged == [f"{OWNED_DIR}/a.yml"]
    report = write_owned(tmp_path, {"a.yml": JOB})
    assert report.unchanged == [f"{OWNED_DIR}/a.yml"]
    assert (folder / "a.yml").read_text() == JOB
    assert not (folder.parent / ".kedro-dab.old").exists()


def test_a_read_only_owned_folder_is_refused_and_left_as_it_is(tmp_path: Path):
    write_owned(tmp_path, {"a.yml": JOB})
    folder = tmp_path / OWNED_DIR
    folder.chmod(0o555)
    try:
        with pytest.raises(BundleError, match="read-only"):
            write_owned(tmp_path, {"b.yml": JOB}, force=True)
        assert sorted(p.name for p in folder.iterdir()) == ["a.yml"]
    finally:
        folder.chmod(0o755)


def test_a_file_where_the_owned_folder_belongs_is_refused(tmp_path: Path):
    (tmp_path / "resources").mkdir()
    (tmp_path / OWNED_DIR).write_text("x")
    with pytest.raises(BundleError, match="is a file"):
        write_owned(tmp_path, {"a.yml": JOB})
    assert (tmp_path / OWNED_DIR).read_text() == "x"
