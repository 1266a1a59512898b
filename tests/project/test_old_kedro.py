"""On a real Kedro older than kedro-dab supports, `kedro dab` is refused in one line naming
the installed and the required versions, before any newer Kedro API is imported.

Runs when KEDRO_DAB_OLD_KEDRO names the `kedro` script of an environment holding such a
Kedro and kedro-dab (`make test-old-kedro` makes one with Kedro 0.19.3)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.project.conftest import refusal_line
from tests.support.kedro_projects import ProjectFactory, kedro_environ

pytestmark = pytest.mark.project

OLD_KEDRO = os.environ.get("KEDRO_DAB_OLD_KEDRO")


@pytest.mark.skipif(not OLD_KEDRO, reason="KEDRO_DAB_OLD_KEDRO is not set")
@pytest.mark.parametrize("command", ["plan", "bundle", "init"])
def test_an_unsupported_kedro_is_refused_in_one_line_naming_both_versions(
    project_factory: ProjectFactory, command: str
) -> None:
    project = project_factory()
    kedro = Path(str(OLD_KEDRO)).absolute()
    installed = subprocess.run(
        [str(kedro.parent / "python"), "-c", "import kedro; print(kedro.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    result = subprocess.run(
        [str(kedro), "dab", command],
        cwd=project,
        env=kedro_environ(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    line = refusal_line(result)
    assert f"Kedro {installed}" in line
    assert ">=0.19.9,<2" in line
    assert not (project / "databricks.yml").exists()
