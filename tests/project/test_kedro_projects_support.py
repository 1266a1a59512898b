"""Behaviour of the Kedro project test support (``tests.support.kedro_projects``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import kedro_projects
from tests.support.kedro_projects import (
    TEMPLATE_PACKAGE,
    TEMPLATE_PROJECT,
    make_project,
    project_template,
    run_kedro,
)

pytestmark = pytest.mark.project

project_factory = kedro_projects.project_factory

DOUBLE_PIPELINE = """\
from kedro.pipeline import Pipeline, node


def double(x: int) -> str:
    return str(x * 2)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([node(double, "params:x", "doubled", name="double")])
"""

NAMED_PIPELINE = """\
from kedro.pipeline import Pipeline, node


def identity(x: int) -> int:
    return x


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([node(identity, "params:x", "{name}_out", name="{name}_node")])
"""

TEXT_CATALOG = """\
doubled:
  type: kedro_datasets.text.TextDataset
  filepath: data/doubled.txt
"""


def named_pipeline(name: str) -> str:
    return NAMED_PIPELINE.replace("{name}", name)


def registered_pipelines(project: Path) -> list[str]:
    completed = run_kedro(project, "registry", "list", check=True)
    return [line[2:].strip() for line in completed.stdout.splitlines() if line.startswith("- ")]


def test_project_with_two_pipelines_is_recognised_by_registry_list(
    project_factory: kedro_projects.ProjectFactory,
) -> None:
    project = project_factory(
        pipelines={"ingest": named_pipeline("ingest"), "report": named_pipeline("report")},
        envs={"base": {"parameters.yml": "x: 1\n"}},
    )

    assert sorted(registered_pipelines(project)) == ["__default__", "ingest", "report"]


def test_two_projects_with_different_packages_both_work(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    template = project_template(tmp_path_factory)
    first = make_project(
        tmp_path,
        "kdab_support_first",
        pipelines={"alpha": named_pipeline("alpha")},
        template=template,
    )
    second = make_project(
        tmp_path,
        "kdab_support_second",
        pipelines={"beta": named_pipeline("beta")},
        template=template,
    )

    assert first.name == "kdab-support-first"
    assert registered_pipelines(first) == ["__default__", "alpha"]
    assert registered_pipelines(second) == ["__default__", "beta"]


def test_made_project_carries_the_new_package_name_everywhere(
    project_factory: kedro_projects.ProjectFactory,
) -> None:
    project = project_factory("kdab_support_renamed")

    pyproject = (project / "pyproject.toml").read_text(encoding="utf-8").splitlines()
    for line in [
        'name = "kdab_support_renamed"',
        'kdab-support-renamed = "kdab_support_renamed.__main__:main"',
        'attr = "kdab_support_renamed.__version__"',
        'package_name = "kdab_support_renamed"',
        'project_name = "kdab-support-renamed"',
    ]:
        assert line in pyproject
    assert (project / "src" / "kdab_support_renamed" / "__main__.py").is_file()
    assert not (project / "src" / TEMPLATE_PACKAGE).exists()
    leftovers = [
        path.relative_to(project)
        for path in project.rglob("*")
        if path.is_file()
        and any(
            old in path.read_text(encoding="utf-8", errors="replace")
            for old in (TEMPLATE_PACKAGE, TEMPLATE_PROJECT)
        )
    ]
    assert leftovers == []


def test_conf_files_and_envs_are_written_with_databricks_env_by_default(
    project_factory: kedro_projects.ProjectFactory,
) -> None:
    project = project_factory(
        catalog=TEXT_CATALOG,
        dab_yml="default_env: databricks\n",
        envs={"staging": {"parameters.yml": "x: 5\n"}, "empty": {}},
    )

    conf = project / "conf"
    assert (conf / "base" / "catalog.yml").read_text(encoding="utf-8") == TEXT_CATALOG
    assert (conf / "base" / "dab.yml").read_text(encoding="utf-8") == "default_env: databricks\n"
    assert (conf / "staging" / "parameters.yml").read_text(encoding="utf-8") == "x: 5\n"
    assert (conf / "empty").is_dir()
    assert (conf / "databricks" / ".gitkeep").is_file()


def test_kedro_run_on_a_trivial_pipeline_succeeds(
    project_factory: kedro_projects.ProjectFactory,
) -> None:
    project = project_factory(
        pipelines={"double": DOUBLE_PIPELINE},
        catalog=TEXT_CATALOG,
        envs={"base": {"parameters.yml": "x: 3\n"}, "staging": {"parameters.yml": "x: 5\n"}},
    )

    run_kedro(project, "run", check=True)
    assert (project / "data" / "doubled.txt").read_text(encoding="utf-8") == "6"

    run_kedro(project, "run", "--env", "staging", check=True)
    assert (project / "data" / "doubled.txt").read_text(encoding="utf-8") == "10"


def test_failed_command_is_returned_or_raised_with_its_output(
    project_factory: kedro_projects.ProjectFactory,
) -> None:
    project = project_factory()

    completed = run_kedro(project, "run", "--pipeline", "missing")
    assert completed.returncode != 0
    with pytest.raises(kedro_projects.KedroCommandError, match="missing"):
        run_kedro(project, "run", "--pipeline", "missing", check=True)


def test_a_package_name_is_refused_the_second_time(
    project_factory: kedro_projects.ProjectFactory,
) -> None:
    project_factory("kdab_support_once")

    with pytest.raises(ValueError, match="already used"):
        project_factory("kdab_support_once")
