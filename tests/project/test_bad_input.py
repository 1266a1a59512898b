"""Bad input: every mistake is one `Error:` line on stderr naming what to fix, exit code 2,
no traceback, and not a single file written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.project.conftest import dab, plan_json, refusal_line, snapshot
from tests.support.kedro_projects import ProjectFactory

pytestmark = pytest.mark.project

HANDOVER_PIPELINE = """\
from kedro.pipeline import Pipeline, node, pipeline


def extract(rows):
    return rows


def summarise(rows):
    return len(rows)


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(extract, "raw_rows", "handover", name="extract_rows", tags=["task.extract"]),
            node(summarise, "handover", "row_count", name="count_rows", tags=["task.report"]),
        ]
    )
"""

HANDOVER_CATALOG = """\
raw_rows:
  type: pickle.PickleDataset
  filepath: data/01_raw/rows.pkl
row_count:
  type: pickle.PickleDataset
  filepath: data/08_reporting/row_count.pkl
"""

INTERRUPTED_NAMESPACE_PIPELINE = """\
from kedro.pipeline import Pipeline, node, pipeline


def step(value):
    return value


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(step, "seed", "first_hop", name="start", namespace="alpha"),
            node(step, "first_hop", "second_hop", name="middle", namespace="beta"),
            node(step, "second_hop", "result", name="finish", namespace="alpha"),
        ]
    )
"""

INTERRUPTED_NAMESPACE_CATALOG = """\
seed:
  type: pickle.PickleDataset
  filepath: data/seed.pkl
first_hop:
  type: pickle.PickleDataset
  filepath: data/first_hop.pkl
second_hop:
  type: pickle.PickleDataset
  filepath: data/second_hop.pkl
result:
  type: pickle.PickleDataset
  filepath: data/result.pkl
"""

TWO_GROUP_TAGS_PIPELINE = """\
from kedro.pipeline import Pipeline, node, pipeline


def step(value):
    return value


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(step, "seed", "left", name="lonely", tags=["task.a"]),
            node(step, "seed", "right", name="torn", tags=["task.a", "task.b", "plain"]),
        ]
    )
"""

THOUSAND_AND_ONE_PIPELINE = """\
from kedro.pipeline import Pipeline, node, pipeline


def constant():
    return 1


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline([node(constant, None, f"out_{i}", name=f"node_{i}") for i in range(1001)])
"""

BROKEN_PIPELINE = """\
from kedro.pipeline import Pipeline, node, pipeline

raise RuntimeError("this pipeline module is broken")


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline([])
"""


def refused(project: Path, *args: str) -> str:
    """Run `kedro dab <args>`, check it is refused without writing anything, and return the
    error line."""
    before = snapshot(project)
    result = dab(project, *args)
    line = refusal_line(result)
    assert snapshot(project) == before
    assert not (project / "resources" / "kedro-dab").exists()
    return line


def initialised(project_factory: ProjectFactory, **kwargs: object) -> Path:
    project = project_factory(**kwargs)  # type: ignore[arg-type]
    dab(project, "init", check=True)
    return project


# --- dab.yml ---------------------------------------------------------------------------------


def test_malformed_yaml_in_dab_yml_names_the_file(project_factory: ProjectFactory) -> None:
    project = project_factory(
        pipelines={"flow": HANDOVER_PIPELINE},
        catalog=HANDOVER_CATALOG,
        dab_yml="grouping: [\n  - by: tag\n",
    )

    line = refused(project, "plan")

    assert "conf/base/dab.yml" in line


def test_duplicate_key_in_dab_yml_names_the_file_and_the_key(
    project_factory: ProjectFactory,
) -> None:
    project = project_factory(
        pipelines={"flow": HANDOVER_PIPELINE},
        catalog=HANDOVER_CATALOG,
        dab_yml="merge_memory: true\nmerge_memory: false\n",
    )

    line = refused(project, "plan")

    assert "conf/base/dab.yml" in line
    assert "merge_memory" in line


def test_unknown_top_level_key_suggests_the_valid_one(project_factory: ProjectFactory) -> None:
    project = project_factory(
        pipelines={"flow": HANDOVER_PIPELINE},
        catalog=HANDOVER_CATALOG,
        dab_yml="groupng:\n  - by: node\n",
    )

    line = refused(project, "plan")

    assert "conf/base/dab.yml" in line
    assert "groupng" in line
    assert "'grouping'" in line


def test_misspelt_nested_key_is_named_by_its_path_with_a_suggestion(
    project_factory: ProjectFactory,
) -> None:
    project = project_factory(
        pipelines={"flow": HANDOVER_PIPELINE},
        catalog=HANDOVER_CATALOG,
        dab_yml='grouping: [{by: tag, prefx: "task."}]\n',
    )

    line = refused(project, "plan")

    assert "conf/base/dab.yml" in line
    assert "grouping[0].prefx" in line
    assert "'prefix'" in line


def test_unknown_pipeline_of_a_job_is_named_with_the_registered_ones(
    project_factory: ProjectFactory,
) -> None:
    project = project_factory(
        pipelines={"flow": HANDOVER_PIPELINE},
        catalog=HANDOVER_CATALOG,
        dab_yml="jobs:\n  x:\n    pipelines: [reporting]\n",
    )

    line = refused(project, "plan")

    assert "jobs.x.pipelines" in line
    assert "'reporting'" in line
    assert "__default__" in line
    assert "flow" in line


# --- grouping --------------------------------------------------------------------------------


def test_interrupted_namespace_is_a_cycle_naming_tasks_nodes_and_datasets(
    project_factory: ProjectFactory,
) -> None:
    project = project_factory(
        pipelines={"hops": INTERRUPTED_NAMESPACE_PIPELINE},
        catalog=INTERRUPTED_NAMESPACE_CATALOG,
    )

    line = refused(project, "plan")

    assert "cycle" in line
    for name in ("alpha", "beta", "alpha.start", "beta.middle", "alpha.finish"):
        assert f"'{name}'" in line
    for dataset in ("first_hop", "second_hop"):
        assert f"'{dataset}'" in line


def test_node_with_two_group_tags_names_the_node_and_both_tags(
    project_factory: ProjectFactory,
) -> None:
    project = project_factory(pipelines={"split": TWO_GROUP_TAGS_PIPELINE})

    line = refused(project, "plan")

    assert "'torn'" in line
    assert "'task.a'" in line
    assert "'task.b'" in line
    assert "lonely" not in line


def test_in_memory_dataset_across_tasks_without_merging_names_dataset_and_tasks(
    project_factory: ProjectFactory,
) -> None:
    project = project_factory(
        pipelines={"flow": HANDOVER_PIPELINE},
        catalog=HANDOVER_CATALOG,
        dab_yml="merge_memory: false\n",
    )

    line = refused(project, "plan")

    assert "'handover'" in line
    assert "'extract'" in line
    assert "'report'" in line
    assert "boundaries: merge" in line


def test_in_memory_dataset_across_tasks_with_merging_joins_the_two_tasks(
    project_factory: ProjectFactory, tmp_path: Path
) -> None:
    project = project_factory(
        pipelines={"flow": HANDOVER_PIPELINE},
        catalog=HANDOVER_CATALOG,
        dab_yml="merge_memory: true\n",
    )

    plan = plan_json(project, tmp_path / "out")

    (job,) = plan["jobs"]
    (task,) = job["tasks"]
    assert [node["name"] for node in task["nodes"]] == ["extract_rows", "count_rows"]
    assert any("merged" in node["placed_by"] for node in task["nodes"])
    assert job["boundary_datasets"] == []


def test_more_than_1000_tasks_in_a_job_is_refused_with_a_grouping_proposal(
    project_factory: ProjectFactory,
) -> None:
    project = project_factory(
        pipelines={"wide": THOUSAND_AND_ONE_PIPELINE},
        dab_yml="grouping:\n  - by: node\nmerge_memory: false\n",
    )

    line = refused(project, "plan")

    assert "1001" in line
    assert "1000" in line
    assert "grouping" in line


# --- the project -----------------------------------------------------------------------------


def test_missing_console_script_names_pyproject_and_the_line_to_add(
    project_factory: ProjectFactory,
) -> None:
    project = project_factory(pipelines={"flow": HANDOVER_PIPELINE}, catalog=HANDOVER_CATALOG)
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    without = re.sub(r"\[project\.scripts\]\n[^\n]*\n", "", text)
    assert without != text
    pyproject.write_text(without, encoding="utf-8")
    package = project.name.replace("-", "_")

    line = refused(project, "plan")

    assert "pyproject.toml" in line
    assert "[project.scripts]" in line
    assert f'{project.name} = "{package}.__main__:main"' in line


def test_pipeline_module_that_fails_to_import_is_named(project_factory: ProjectFactory) -> None:
    project = project_factory(
        pipelines={"flow": HANDOVER_PIPELINE, "broken": BROKEN_PIPELINE},
        catalog=HANDOVER_CATALOG,
    )
    package = project.name.replace("-", "_")

    line = refused(project, "plan")

    assert f"{package}.pipelines.broken" in line


def test_verbose_shows_the_traceback_of_a_user_error(project_factory: ProjectFactory) -> None:
    project = project_factory(
        pipelines={"flow": HANDOVER_PIPELINE},
        catalog=HANDOVER_CATALOG,
        dab_yml="groupng:\n  - by: node\n",
    )

    result = dab(project, "plan", "--verbose")

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" in output
    assert "groupng" in output


# --- envs ------------------------------------------------------------------------------------


def test_bundle_refuses_the_local_env_as_the_tasks_env(project_factory: ProjectFactory) -> None:
    project = initialised(
        project_factory, pipelines={"flow": HANDOVER_PIPELINE}, catalog=HANDOVER_CATALOG
    )
    bundle_file = project / "databricks.yml"
    text = bundle_file.read_text(encoding="utf-8")
    assert text.count("default: databricks") == 1
    bundle_file.write_text(text.replace("default: databricks", "default: local"), "utf-8")

    line = refused(project, "bundle")

    assert "'local'" in line
    assert "databricks.yml" in line


def test_bundle_refuses_an_env_without_a_conf_folder(project_factory: ProjectFactory) -> None:
    project = initialised(
        project_factory, pipelines={"flow": HANDOVER_PIPELINE}, catalog=HANDOVER_CATALOG
    )

    line = refused(project, "bundle", "--env", "nosuch")

    assert "conf/nosuch" in line
