"""The owned folder holds the app source folders: nested generated files follow the same
rules as the job files, and the project wheel a build staged there is kept, never foreign."""

from __future__ import annotations

from pathlib import Path

import pytest

from kedro_dab.bundle.layout import OWNED_DIR
from kedro_dab.bundle.render import to_yaml
from kedro_dab.bundle.write import write_owned
from kedro_dab.errors import BundleError

APP = "apps/price-shuttle"


def _files(command: str) -> dict[str, str]:
    return {
        "job.yml": to_yaml({"resources": {"jobs": {}}}),
        f"{APP}/app.yaml": to_yaml({"command": ["python", "-m", command]}),
    }


def test_a_staged_wheel_survives_a_rewrite_and_is_no_foreign_file(tmp_path: Path) -> None:
    write_owned(tmp_path, _files("one"))
    wheel = tmp_path / OWNED_DIR / APP / "wheel" / "proj-1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"PK\x03\x04 not text")

    assert not write_owned(tmp_path, _files("one"), check=True).changed
    report = write_owned(tmp_path, _files("two"))

    assert report.written == [f"{OWNED_DIR}/{APP}/app.yaml"]
    assert wheel.read_bytes() == b"PK\x03\x04 not text"


def test_an_app_folder_no_longer_generated_is_removed_with_its_files(tmp_path: Path) -> None:
    write_owned(tmp_path, _files("one"))
    report = write_owned(tmp_path, {"job.yml": _files("one")["job.yml"]})

    assert report.removed == [f"{OWNED_DIR}/{APP}/app.yaml"]
    assert not (tmp_path / OWNED_DIR / APP).exists()


@pytest.mark.parametrize("name", [f"{APP}/notes.txt", f"{APP}/wheel/readme.md"])
def test_a_foreign_file_in_an_app_folder_stops_the_write(tmp_path: Path, name: str) -> None:
    write_owned(tmp_path, _files("one"))
    foreign = tmp_path / OWNED_DIR / name
    foreign.parent.mkdir(exist_ok=True)
    foreign.write_text("mine\n")

    with pytest.raises(BundleError, match=f"{OWNED_DIR}/{name} was not written by kedro-dab"):
        write_owned(tmp_path, _files("two"))
    assert foreign.read_text() == "mine\n"


def test_a_hand_edited_app_file_stops_the_write(tmp_path: Path) -> None:
    write_owned(tmp_path, _files("one"))
    app_yaml = tmp_path / OWNED_DIR / APP / "app.yaml"
    app_yaml.write_text(app_yaml.read_text() + "env: []\n")

    with pytest.raises(BundleError, match="edited by hand"):
        write_owned(tmp_path, _files("two"))
