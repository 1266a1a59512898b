"""`kedro dab` run from a subfolder of the project works on the project, with its settings:
nothing is read from, or written to, the current folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.project.conftest import OWNED_DIR, dab, plan_json, shared_project, snapshot
from tests.support.kedro_projects import ProjectFactory

pytestmark = pytest.mark.project

PIPELINE = """\
from kedro.pipeline import Pipeline, node, pipeline


def step(value):
    return value


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(step, "seed", "middle", name="first"),
            node(step, "middle", "last", name="second"),
        ]
    )
"""

CATALOG = """\
middle:
  type: pickle.PickleDataset
  filepath: data/middle.pkl
"""

# Settings that change the result: a named job, one task per node, no merging.
DAB_YML = """\
jobs:
  nightly:
    grouping:
      - by: node
    merge_memory: false
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_project(
        tmp_path_factory, pipelines={"steps": PIPELINE}, catalog=CATALOG, dab_yml=DAB_YML
    )


@pytest.fixture(scope="module")
def plan_from_subfolder(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return plan_json(project, tmp_path_factory.mktemp("subfolder"), cwd=project / "src")


def test_plan_from_a_subfolder_honours_the_project_dab_yml(plan_from_subfolder: Any) -> None:
    (job,) = plan_from_subfolder["jobs"]

    assert job["key"] == "nightly"
    assert [task["key"] for task in job["tasks"]] == ["first", "second"]


def test_plan_from_a_subfolder_equals_the_plan_from_the_root(
    project: Path, plan_from_subfolder: Any, tmp_path: Path
) -> None:
    assert plan_json(project, tmp_path) == plan_from_subfolder


def test_init_and_bundle_from_a_subfolder_write_at_the_project_root(
    project_factory: ProjectFactory,
) -> None:
    project = project_factory(pipelines={"steps": PIPELINE}, catalog=CATALOG, dab_yml=DAB_YML)
    subfolder = project / "src"
    before = snapshot(subfolder)

    dab(project, "init", check=True, cwd=subfolder)
    dab(project, "bundle", check=True, cwd=subfolder)

    assert (project / "databricks.yml").is_file()
    assert (project / OWNED_DIR / "nightly.yml").is_file()
    assert snapshot(subfolder) == before
