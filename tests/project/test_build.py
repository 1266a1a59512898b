"""`kedro dab build`: a reproducible, content-stamped wheel and a conf archive that never holds
local settings or credentials."""

from __future__ import annotations

import re
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.support.kedro_projects import ProjectFactory, run_kedro

pytestmark = pytest.mark.project

PIPELINE = """
from kedro.pipeline import Pipeline, node


def one():
    return 1


def create_pipeline(**kwargs):
    return Pipeline([node(one, None, "x", name="one")])
"""


def build(project: Path) -> dict[str, str]:
    result = run_kedro(project, "dab", "build")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("built")]
    return {line.split()[1]: line.split()[-1] for line in lines}


@pytest.fixture
def project(project_factory: ProjectFactory) -> Path:
    made = project_factory(
        pipelines={"p": PIPELINE},
        envs={"base": {"nested/catalog_x.yml": "{}\n"}, "local": {"secret.yml": "x: 1\n"}},
    )
    (made / "conf" / "base" / "credentials.yml").write_text("db: {password: x}\n")
    return made


def test_build_reports_both_artifacts_with_sizes_and_hashes(project: Path):
    built = build(project)
    names = sorted(built)
    assert re.fullmatch(r"dist/conf-\w+\.tar\.gz", names[0])
    assert re.fullmatch(r"dist/\w+-[\w.]+\+kd\.[0-9a-f]{12}-py3-none-any\.whl", names[1])
    assert all(re.fullmatch(r"[0-9a-f]{64}", digest) for digest in built.values())


def test_the_same_code_gives_the_same_wheel_byte_for_byte(project: Path):
    assert build(project) == build(project)


def test_changed_code_gives_a_new_wheel_version(project: Path):
    first = build(project)
    package = next((project / "src").iterdir())
    (package / "pipelines" / "p" / "pipeline.py").write_text(PIPELINE + "\n# changed\n")
    second = build(project)
    wheel = next(name for name in first if name.endswith(".whl"))
    assert wheel not in second
    assert len(list((project / "dist").glob("*.whl"))) == 1


def test_the_stamped_wheel_records_its_version_and_hashes_consistently(project: Path):
    built = build(project)
    wheel = project / next(name for name in built if name.endswith(".whl"))
    version = wheel.name.split("-")[1]
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        assert f"Version: {version}" in archive.read(metadata).decode()
        assert metadata.startswith(wheel.name.split("-py3")[0])


def test_conf_archive_ships_nested_files_but_never_local_or_credentials(project: Path):
    built = build(project)
    archive_path = project / next(name for name in built if name.endswith(".tar.gz"))
    with tarfile.open(archive_path) as archive:
        names = archive.getnames()
    assert "conf/base/nested/catalog_x.yml" in names
    assert not any(n.startswith("conf/local/") for n in names)
    assert not any("credentials" in n for n in names)
