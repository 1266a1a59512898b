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


def refused(project: Path, *args: str) -> str:
    """The one error line of a refused command (exit code 2)."""
    result = run_kedro(project, "dab", *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    [line] = [ln for ln in result.stderr.splitlines() if ln.startswith("Error:")]
    return line


def test_a_stale_module_in_an_earlier_builds_folder_is_refused_not_shipped(project: Path):
    # setuptools copies build/lib into the wheel: a module deleted from src/ since an earlier
    # `python -m build` would ship again
    package = next((project / "src").iterdir()).name
    stale = project / "build" / "lib" / package / "removed_since.py"
    stale.parent.mkdir(parents=True)
    stale.write_text("GONE = True\n")

    line = refused(project, "build")

    assert f"{package}/removed_since.py" in line and "delete build/" in line
    assert not (project / "dist").exists()
    assert stale.is_file()


def test_a_package_of_the_project_named_like_the_build_backend_does_not_hide_it(
    project: Path,
):
    # Kedro puts src/ on PYTHONPATH; the build's own interpreter must not import from it
    shadow = project / "src" / "setuptools" / "__init__.py"
    shadow.parent.mkdir()
    shadow.write_text('raise ImportError("the project\'s own setuptools package")\n')

    assert any(name.endswith(".whl") for name in build(project))


def test_a_second_bundle_root_file_is_refused_before_anything_is_built(project: Path):
    (project / "bundle.yaml").write_text("bundle:\n  name: other\n")

    line = refused(project, "build")

    assert "bundle.yaml" in line
    assert not (project / "dist").exists()


def test_a_file_of_the_projects_own_credentials_patterns_is_refused_by_build(project: Path):
    package = next((project / "src").iterdir())
    with (package / "settings.py").open("a") as settings:
        settings.write(
            '\nCONFIG_LOADER_ARGS = {"config_patterns": {"credentials": '
            '["credentials*", "credentials*/**", "**/credentials*", "secrets*"]}}\n'
        )
    (project / "conf" / "base" / "secrets.yml").write_text("db: {password: hunter2}\n")

    line = refused(project, "build")

    assert "conf/base/secrets.yml" in line and "credentials" in line
    assert not (project / "dist").exists()


def test_a_failing_build_names_the_backends_error_and_keeps_its_whole_output(project: Path):
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(
        text.replace('build-backend = "setuptools.build_meta"', 'build-backend = "no_such_backend"')
    )

    line = refused(project, "build")

    assert "No module named 'no_such_backend'" in line, line
    assert ".kedro-dab/build.log" in line
    assert "no_such_backend" in (project / ".kedro-dab" / "build.log").read_text()
    assert not (project / "dist").exists()
