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


def _wheel(folder: Path, version: str) -> Path:
    """A real (tiny) wheel file of project `proj` at `version`."""
    import zipfile

    path = folder / f"proj-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("proj/__init__.py", f"VERSION = {version!r}\n" * 1000)
    return path


def _staged(tmp_path: Path) -> Path:
    write_owned(tmp_path, _files("one"))
    return tmp_path / OWNED_DIR / APP / "wheel"


def test_staging_a_new_wheel_replaces_the_older_one_and_pins_its_version(tmp_path: Path) -> None:
    from kedro_dab.bundle.apps import stage_wheel

    folder = _staged(tmp_path)
    dist = tmp_path / "dist"
    dist.mkdir()
    stage_wheel(tmp_path, _wheel(dist, "1.0"))
    stage_wheel(tmp_path, _wheel(dist, "2.0"))

    assert sorted(p.name for p in folder.iterdir()) == ["proj-2.0-py3-none-any.whl", "project.txt"]
    assert (folder / "project.txt").read_text(encoding="utf-8") == "proj==2.0\n"
    assert (folder / "proj-2.0-py3-none-any.whl").read_bytes() == (
        dist / "proj-2.0-py3-none-any.whl"
    ).read_bytes()


def test_an_interrupted_staging_leaves_a_pin_naming_a_whole_wheel_and_no_temp_file_after_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import zipfile

    from kedro_dab.bundle import apps

    folder = _staged(tmp_path)
    dist = tmp_path / "dist"
    dist.mkdir()
    apps.stage_wheel(tmp_path, _wheel(dist, "1.0"))
    real_replace = os.replace

    def interrupted(source: str, destination: Path) -> None:
        if Path(destination).name == "project.txt":
            raise KeyboardInterrupt
        real_replace(source, destination)

    monkeypatch.setattr(apps.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        apps.stage_wheel(tmp_path, _wheel(dist, "2.0"))

    pinned = (folder / "project.txt").read_text(encoding="utf-8").strip().split("==")[1]
    with zipfile.ZipFile(folder / f"proj-{pinned}-py3-none-any.whl") as archive:
        assert archive.testzip() is None

    # a temp file the interruption left behind is removed by the next staging
    (folder / ".project.txt.abcd1234").write_text("proj==2.0\n", encoding="utf-8")
    monkeypatch.setattr(apps.os, "replace", real_replace)
    apps.stage_wheel(tmp_path, _wheel(dist, "2.0"))
    assert sorted(p.name for p in folder.iterdir()) == ["proj-2.0-py3-none-any.whl", "project.txt"]
