"""Restamping a built wheel: `wheel`'s own reader and `pip` accept what `stamp_wheel` writes."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from wheel.wheelfile import WheelFile

from kedro_dab.build import BuildError, stamp_wheel

PYPROJECT = """
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "tiny-pkg"
version = "1.2.0"

[project.scripts]
tiny-pkg = "tiny_pkg:main"
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built by pip and setuptools from a one-module project."""
    source = tmp_path_factory.mktemp("tiny")
    (source / "pyproject.toml").write_text(PYPROJECT)
    (source / "tiny_pkg").mkdir()
    (source / "tiny_pkg" / "__init__.py").write_text("def main():\n    return 0\n")
    out = tmp_path_factory.mktemp("wheels")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    subprocess.run([*command, "-q", "-w", str(out), str(source)], check=True)
    (wheel,) = out.glob("*.whl")
    return wheel


@pytest.fixture(scope="module")
def stamped(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return stamp_wheel(built, tmp_path_factory.mktemp("stamped")).path


def test_the_stamped_version_keeps_the_public_version_and_adds_a_content_label(stamped: Path):
    assert stamped.name.startswith("tiny_pkg-1.2.0+kd.")
    assert stamped.name.endswith("-py3-none-any.whl")


def test_every_file_of_the_stamped_wheel_matches_its_record_as_wheel_reads_it(stamped: Path):
    with WheelFile(stamped) as archive:
        names = archive.namelist()
        for name in names:
            archive.read(name)  # WheelFile raises on a missing or wrong RECORD hash
    assert any(name.endswith(".dist-info/RECORD") for name in names)


def test_pip_installs_the_stamped_wheel_at_its_stamped_version(stamped: Path, tmp_path: Path):
    target = tmp_path / "site"
    install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
    subprocess.run([*install, "--target", str(target), str(stamped)], check=True)
    (dist,) = metadata.distributions(path=[str(target)])
    assert dist.version == stamped.name.split("-")[1]
    assert (target / "tiny_pkg" / "__init__.py").is_file()


def test_the_same_wheel_is_restamped_byte_for_byte_the_same(built: Path, tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = stamp_wheel(built, tmp_path / "a")
    second = stamp_wheel(built, tmp_path / "b")
    assert first.sha256 == second.sha256


def test_a_file_that_is_not_named_as_a_wheel_is_a_build_error(tmp_path: Path):
    bogus = tmp_path / "not-a-wheel.whl"
    bogus.write_bytes(b"")
    with pytest.raises(BuildError, match=r"^unexpected wheel file name not-a-wheel\.whl"):
        stamp_wheel(bogus, tmp_path / "out")


def test_an_interrupted_stamp_leaves_no_partial_file_and_keeps_the_earlier_wheel(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    earlier = stamp_wheel(built, tmp_path).path.read_bytes()

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("zipfile.ZipFile.writestr", interrupted)
    with pytest.raises(KeyboardInterrupt):
        stamp_wheel(built, tmp_path)

    [kept] = list(tmp_path.iterdir())
    assert kept.suffix == ".whl" and kept.read_bytes() == earlier


def test_a_full_disk_while_stamping_is_a_build_error_naming_the_wheel(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("zipfile.ZipFile.writestr", full)
    with pytest.raises(BuildError, match=r"tiny_pkg-1\.2\.0\+kd\.\w+-py3-none-any\.whl.*free"):
        stamp_wheel(built, tmp_path)
    assert list(tmp_path.iterdir()) == []


def build_tiny(parent: Path, version: str, body: str = "def main():\n    return 0\n") -> Path:
    """The one-module project built as a wheel at `version` with `body` as its module."""
    source = parent / "source"
    (source / "tiny_pkg").mkdir(parents=True)
    (source / "pyproject.toml").write_text(PYPROJECT.replace('"1.2.0"', f'"{version}"'))
    (source / "tiny_pkg" / "__init__.py").write_text(body)
    out = parent / "wheels"
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    subprocess.run([*command, "-q", "-w", str(out), str(source)], check=True)
    (wheel,) = out.glob("*.whl")
    return wheel


def test_the_built_version_s_own_local_label_changes_nothing_in_the_stamped_wheel(
    tmp_path: Path,
) -> None:
    # what setuptools-scm makes of a dirty tree on two days: the same code, another label
    monday = build_tiny(tmp_path / "monday", "1.2.0+g1a2b3c4.d20261130")
    tuesday = build_tiny(tmp_path / "tuesday", "1.2.0+g1a2b3c4.d20261201")

    first = stamp_wheel(monday, tmp_path / "monday").path
    second = stamp_wheel(tuesday, tmp_path / "tuesday").path

    assert first.name == second.name
    assert first.name.startswith("tiny_pkg-1.2.0+kd.")
    assert first.read_bytes() == second.read_bytes()


def test_changed_code_is_a_new_stamped_version(tmp_path: Path) -> None:
    before = build_tiny(tmp_path / "before", "1.2.0")
    after = build_tiny(tmp_path / "after", "1.2.0", "def main():\n    return 1\n")

    assert stamp_wheel(before, tmp_path / "before").path.name != (
        stamp_wheel(after, tmp_path / "after").path.name
    )


def test_folder_entries_of_a_built_wheel_are_left_out_as_no_files(built: Path, tmp_path: Path):
    # uv_build writes an entry per folder (`tiny_pkg/`) and leaves them out of its RECORD
    import zipfile

    with_folders = tmp_path / "in" / built.name
    with_folders.parent.mkdir()
    with zipfile.ZipFile(built) as source, zipfile.ZipFile(with_folders, "w") as out:
        for name in source.namelist():
            folder = name.rsplit("/", 1)[0] + "/"
            if folder not in out.namelist():
                out.writestr(folder, b"")
            out.writestr(name, source.read(name))

    (tmp_path / "with").mkdir()
    (tmp_path / "without").mkdir()
    stamped = stamp_wheel(with_folders, tmp_path / "with").path

    assert stamped.read_bytes() == stamp_wheel(built, tmp_path / "without").path.read_bytes()
    with WheelFile(stamped) as archive:
        assert not [name for name in archive.namelist() if name.endswith("/")]
