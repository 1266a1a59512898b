"""A project file this user may not read is refused in one line that names the file and says
to make it readable (not to fix its YAML or TOML, nor to make it writable), exit code 2.

As root every file is readable, so there the command runs with the capabilities that
override file permissions dropped (`setpriv`, util-linux)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.project.conftest import HANDOVER_PIPELINE, dab, refusal_line, shared_project
from tests.support.kedro_projects import kedro_environ, kedro_executable

pytestmark = pytest.mark.project

CAPS = "-dac_override,-dac_read_search"
CATALOG = """\
raw_rows:
  type: pickle.PickleDataset
  filepath: data/01_raw/rows.pkl
"""


def _unprivileged() -> list[str]:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("as root, a read is denied only with setpriv, which is not installed")
    return [setpriv, f"--inh-caps={CAPS}", f"--bounding-set={CAPS}"]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    made = shared_project(
        tmp_path_factory,
        pipelines={"handover": HANDOVER_PIPELINE},
        catalog=CATALOG,
        dab_yml="boundaries: merge\n",
    )
    dab(made, "init", check=True)
    dab(made, "bundle", check=True)
    return made


@pytest.mark.parametrize(
    ("rel", "command"),
    [
        ("conf/base/catalog.yml", "plan"),
        ("conf/base/dab.yml", "plan"),
        ("pyproject.toml", "plan"),
        ("src/{pkg}/pipeline_registry.py", "plan"),
        ("resources/kedro-dab/{job}.yml", "bundle"),
    ],
)
def test_an_unreadable_file_is_named_with_make_it_readable(
    project: Path, rel: str, command: str
) -> None:
    (package,) = [p.name for p in (project / "src").iterdir() if (p / "__init__.py").is_file()]
    (owned,) = [p.stem for p in (project / "resources" / "kedro-dab").glob("*.yml")]
    shown = rel.format(pkg=package, job=owned)
    path = project / shown
    mode = path.stat().st_mode
    path.chmod(0)
    try:
        result = subprocess.run(
            [*_unprivileged(), str(kedro_executable()), "dab", command],
            cwd=project,
            env=kedro_environ(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        path.chmod(mode)

    line = refusal_line(result)
    assert shown in line
    assert line.endswith("make it readable"), line
