"""The Kedro gate: an unsupported Kedro, or a project Kedro itself would refuse, is one line
naming the versions and the fix, before any newer Kedro API is imported."""

from __future__ import annotations

from pathlib import Path

import pytest

from kedro_dab.gate import kedro_version_problem, project_metadata_problem

KEDRO_TOML = """\
[project]
name = "spaceflights"

[tool.kedro]
package_name = "spaceflights"
project_name = "spaceflights"
{extra}
"""


@pytest.mark.parametrize("version", ["0.19.9", "0.19.14", "1.0.0", "1.7.0", "1.2.0rc1"])
def test_supported_kedro_versions_pass(version: str) -> None:
    assert kedro_version_problem(version) is None


@pytest.mark.parametrize("version", ["0.17.7", "0.18.14", "0.19.3", "0.19.8", "2.0.0", "dev"])
def test_unsupported_kedro_versions_name_installed_and_required(version: str) -> None:
    problem = kedro_version_problem(version)

    assert problem is not None
    assert f"Kedro {version}" in problem
    assert ">=0.19.9,<2" in problem


def test_the_gate_agrees_with_the_kedro_requirement_of_the_package() -> None:
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    pyproject = Path(__file__).parents[2] / "pyproject.toml"
    dependencies = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]

    assert "kedro>=0.19.9,<2" in dependencies


def _project(tmp_path: Path, extra: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(KEDRO_TOML.format(extra=extra), encoding="utf-8")
    (tmp_path / "src").mkdir()
    return tmp_path


def test_a_project_from_kedro_018_is_told_to_migrate(tmp_path: Path) -> None:
    problem = project_metadata_problem(_project(tmp_path, ""), "1.7.0")

    assert problem is not None
    assert problem.startswith("pyproject.toml: [tool.kedro] has no kedro_init_version")
    assert 'kedro_init_version = "1.7.0"' in problem


def test_a_project_of_another_major_kedro_is_named(tmp_path: Path) -> None:
    problem = project_metadata_problem(_project(tmp_path, 'kedro_init_version = "0.19.9"'), "1.7.0")

    assert problem is not None
    assert "'0.19.9'" in problem
    assert "Kedro 1.7.0" in problem


def test_a_project_of_the_same_major_passes(tmp_path: Path) -> None:
    assert (
        project_metadata_problem(_project(tmp_path, 'kedro_init_version = "1.0.0"'), "1.7.0")
        is None
    )
