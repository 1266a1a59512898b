"""The build's own steps: the line a failed build is summed up by, the wheel check for conf
that never ships, and a conf archive replaced whole or not at all."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from kedro_dab.build import BuildError, _check_wheel, _failure_line, build_conf_archive

# The end of what `uv build --wheel` printed for a setuptools-scm project outside git
UV_SCM_FAILURE = """\
  File "/root/.cache/uv/builds-v0/.tmp/lib/python3.11/site-packages/vcs_versioning/_get_version_impl.py", line 306, in _version_missing
    raise LookupError(error_msg)
LookupError: setuptools-scm was unable to detect version for /tmp/scm-nogit.

Make sure you're either building from a fully intact git repository or PyPI tarballs.
error: Failed to build `/tmp/scm-nogit`
  cause: The build backend returned an error
  cause: Call to `setuptools.build_meta.get_requires_for_build_wheel` failed (exit status: 1)

hint: Build failures usually indicate a problem with the package or the build environment
"""  # noqa: E501


def test_a_failed_build_is_summed_up_by_the_exception_its_backend_raised():
    line = _failure_line(UV_SCM_FAILURE, 1)
    assert line.startswith("LookupError: setuptools-scm was unable to detect version")


def test_a_failed_build_without_an_exception_is_summed_up_by_its_error_line():
    output = "Building wheel...\nerror: Failed to build `/tmp/p`\nhint: look elsewhere\n"
    assert _failure_line(output, 1) == "error: Failed to build `/tmp/p`"


def test_a_failed_build_with_no_output_is_summed_up_by_its_exit_code():
    assert _failure_line("", 3) == "exit code 3"


def wheel_with(path: Path, names: list[str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, "x")
    return path


@pytest.mark.parametrize(
    "inside", ["pkg/conf/local/credentials.yml", "pkg/conf/base/credentials.yml", "pkg/conf/.env"]
)
def test_a_wheel_holding_conf_that_never_ships_is_refused(tmp_path: Path, inside: str):
    (tmp_path / "src" / "pkg" / "conf" / "base").mkdir(parents=True)
    wheel = wheel_with(tmp_path / "pkg-1.0-py3-none-any.whl", ["pkg/__init__.py", inside])

    with pytest.raises(BuildError, match=f"{inside}.*inside the package"):
        _check_wheel(wheel, tmp_path, "src/pkg/conf", stale=False)


def test_a_wheel_holding_shipped_conf_of_a_conf_folder_in_the_package_is_accepted(
    tmp_path: Path,
):
    (tmp_path / "src" / "pkg" / "conf" / "base").mkdir(parents=True)
    names = ["pkg/__init__.py", "pkg/conf/base/catalog.yml"]
    wheel = wheel_with(tmp_path / "pkg-1.0-py3-none-any.whl", names)

    _check_wheel(wheel, tmp_path, "src/pkg/conf", stale=False)


def test_a_conf_archive_that_cannot_be_written_keeps_the_earlier_one_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "conf" / "base").mkdir(parents=True)
    (tmp_path / "conf" / "base" / "catalog.yml").write_text("a: 1\n")
    earlier = build_conf_archive(tmp_path, "conf", "pkg").path.read_bytes()
    (tmp_path / "conf" / "base" / "catalog.yml").write_text("a: 2\n")

    def full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(BuildError, match=r"dist/conf-pkg\.tar\.gz.*free space"):
        build_conf_archive(tmp_path, "conf", "pkg")

    assert [p.name for p in (tmp_path / "dist").iterdir()] == ["conf-pkg.tar.gz"]
    assert (tmp_path / "dist" / "conf-pkg.tar.gz").read_bytes() == earlier
