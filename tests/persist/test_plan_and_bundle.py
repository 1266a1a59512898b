"""`boundaries: persist` in dab.yml, the plan and the bundle: which datasets are persisted at
which boundaries and where, the cleanup task, the per-target root, and what validate refuses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from kedro_dab.boundaries import CLEANUP_TASK
from kedro_dab.bundle.render import render_plan
from kedro_dab.bundle.validate import boundary_problems
from kedro_dab.config import parse_config
from kedro_dab.errors import ConfigError, GroupingError
from kedro_dab.plan import build_plan, runtime_requirement
from kedro_dab.plan_json import PLAN_VERSION, plan_to_dict
from tests.support.bundle_schema import bundle_errors, require_schema
from tests.support.models import node, project

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("KEDRO_DAB_UPDATE_GOLDEN") == "1"
ROOT = "/Volumes/main/default/kedro/boundaries"

# split -> (memory: train, test) -> fit -> (catalog: model) -> score, which also reads `test`
NODES = [
    node("split", ["table"], ["train", "test"]),
    node("fit", ["train"], ["model"]),
    node("score", ["model", "test"], ["scores"]),
]
PERSISTED_IN_CATALOG = {"table", "model", "scores"}
ONE_TASK_PER_NODE = {"grouping": [{"by": "node"}], "boundaries": "persist", "boundaries_root": ROOT}


def plan_of(dab: dict, nodes=NODES, persisted=PERSISTED_IN_CATALOG):
    return build_plan(project(nodes, persisted=persisted, dab=dab), parse_config(dab))


@pytest.mark.parametrize(
    ("dab", "mode"),
    [
        ({}, "merge"),
        ({"merge_memory": True}, "merge"),
        ({"merge_memory": False}, "refuse"),
        ({"boundaries": "persist"}, "persist"),
        ({"boundaries": "refuse", "merge_memory": False}, "refuse"),
        ({"boundaries": "refuse", "jobs": {"j": {"boundaries": "persist"}}}, "persist"),
        ({"boundaries": "persist", "jobs": {"j": {"merge_memory": True}}}, "merge"),
    ],
)
def test_boundaries_mode_comes_from_boundaries_or_its_alias_merge_memory(dab, mode):
    config = parse_config(dab)
    job = config.jobs.get("j")
    assert (job.boundary_mode(config.boundary_mode) if job else config.boundary_mode) == mode


def test_merge_memory_contradicting_boundaries_is_an_error_saying_what_to_write():
    with pytest.raises(ConfigError) as error:
        parse_config({"boundaries": "persist", "merge_memory": True})
    assert "drop merge_memory (boundaries replaces it)" in str(error.value)


def test_refuse_rejects_what_persist_accepts():
    with pytest.raises(GroupingError, match="in-memory datasets would cross"):
        plan_of({**ONE_TASK_PER_NODE, "boundaries": "refuse"})
    assert [t.key for t in plan_of(ONE_TASK_PER_NODE).jobs[0].tasks] == ["split", "fit", "score"]


def test_exactly_the_in_memory_datasets_between_tasks_are_persisted_with_their_tasks():
    (job,) = plan_of(ONE_TASK_PER_NODE).jobs
    persisted = {c.dataset: (c.producer, c.consumers) for c in job.persisted}
    assert persisted == {"train": ("split", ("fit",)), "test": ("split", ("score",))}
    assert job.boundary_io("split") == ((), ("test", "train"))
    assert job.boundary_io("score") == (("test",), ())
    assert {t.key: t.depends_on for t in job.tasks} == {
        "split": (),
        "fit": ("split",),
        "score": ("fit",),
    }


def test_merge_keeps_its_behaviour_and_persists_nothing():
    (job,) = plan_of({**ONE_TASK_PER_NODE, "boundaries": "merge"}).jobs
    assert [t.nodes for t in job.tasks] == [("split", "fit", "score")]
    assert job.persisted == () and job.cleanup_task is None


def test_plan_json_says_what_is_persisted_where_and_keeps_its_version():
    data = plan_to_dict(plan_of(ONE_TASK_PER_NODE))
    assert data["version"] == PLAN_VERSION == 1
    (job,) = data["jobs"]
    by_name = {d["dataset"]: d for d in job["boundary_datasets"]}
    assert by_name["train"]["persisted"] is True
    assert by_name["train"]["location"] == f"{ROOT}/demo/{{{{job.run_id}}}}/train"
    assert by_name["model"]["persisted"] is False and "location" not in by_name["model"]
    assert job["boundaries"] == {
        "mode": "persist",
        "store": f"{ROOT}/demo",
        "run_location": f"{ROOT}/demo/{{{{job.run_id}}}}",
        "retention_days": 7,
        "cleanup_task": CLEANUP_TASK,
        "cleanup_args": [
            "cleanup",
            "--store",
            f"{ROOT}/demo",
            "--run-id",
            "{{job.run_id}}",
            "--retention-days",
            "7",
        ],
    }
    score = next(t for t in job["tasks"] if t["key"] == "score")
    params = score["run_args"][score["run_args"].index("--params") + 1]
    assert (
        params
        == f"kedro_dab.store={ROOT}/demo,kedro_dab.run_id={{{{job.run_id}}}},kedro_dab.load='test'"
    )
    assert runtime_requirement() in score["requirements"]


def rendered_job(dab: dict, targets=()) -> dict:
    files = render_plan(plan_of(dab), targets)
    return yaml.safe_load(files["demo.yml"])


def test_rendered_job_matches_the_golden_file():
    text = render_plan(plan_of(ONE_TASK_PER_NODE))["demo.yml"]
    golden = GOLDEN / "persist.yml"
    if UPDATE:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "compute",
    [
        {},
        {
            "compute": {
                "etl": {
                    "type": "job_cluster",
                    "new_cluster": {"spark_version": "15.4.x-scala2.12", "num_workers": 1},
                }
            },
            "default_compute": "etl",
        },
    ],
    ids=["serverless", "job_cluster"],
)
def test_rendered_persist_job_validates_against_the_official_schema(compute):
    require_schema()
    document = rendered_job({**ONE_TASK_PER_NODE, **compute})
    assert bundle_errors({"bundle": {"name": "demo"}, **document}) == []


def test_cleanup_task_runs_last_and_removes_the_run_s_data():
    job = rendered_job(ONE_TASK_PER_NODE)["resources"]["jobs"]["demo"]
    cleanup = job["tasks"][-1]
    assert cleanup["task_key"] == CLEANUP_TASK
    assert cleanup["depends_on"] == [{"task_key": "score"}]
    assert "run_if" not in cleanup, "the default ALL_SUCCESS keeps a failed run's data"
    assert cleanup["python_wheel_task"]["entry_point"] == "kedro-dab-boundaries"
    env = next(e for e in job["environments"] if e["environment_key"] == cleanup["environment_key"])
    assert runtime_requirement() in env["spec"]["dependencies"]


def test_a_target_may_put_the_boundary_data_elsewhere():
    dab = {**ONE_TASK_PER_NODE, "targets": {"dev": {"boundaries_root": "/Volumes/dev/x/y/z"}}}
    document = rendered_job(dab, ["dev", "prod"])
    for target, root in (("dev", "/Volumes/dev/x/y/z"), ("prod", ROOT)):
        job = document["targets"][target]["resources"]["jobs"]["demo"]
        split = next(t for t in job["tasks"] if t["task_key"] == "split")
        assert f"kedro_dab.store={root}/demo" in split["python_wheel_task"]["parameters"][-1]
        assert job["tasks"][-1]["python_wheel_task"]["parameters"][2] == f"{root}/demo"


@pytest.mark.parametrize(
    ("root", "expected"),
    [
        (None, "dab.yml: boundaries_root: job(s) 'demo' persist in-memory datasets"),
        ("data/boundaries", "is not an absolute path"),
        ("${workspace.file_path}/b", "is inside the bundle's workspace folders"),
        ("/Workspace/Users/me/.bundle/demo/dev/files/b", "is inside the bundle's synced files"),
        ("/Volumes/a,b/c/d", "holds a comma"),
        ("/Volumes/a/b/c/d ", "has spaces at an end"),
    ],
)
def test_validate_refuses_a_missing_root_or_one_inside_the_synced_files(root, expected):
    dab = {**ONE_TASK_PER_NODE, "boundaries_root": root}
    (problem,) = boundary_problems(plan_of(dab), [])
    assert problem.startswith("dab.yml: ")
    assert expected in problem


def test_validate_refuses_a_root_under_the_target_s_declared_root_path():
    data = {"targets": {"prod": {"workspace": {"root_path": "/Shared/demo"}}}}
    dab = {**ONE_TASK_PER_NODE, "boundaries_root": "/Shared/demo/boundaries"}
    (problem,) = boundary_problems(plan_of(dab), ["prod"], data)
    assert "(/Shared/demo)" in problem


def test_validate_accepts_a_volume_root_and_jobs_without_persist():
    assert boundary_problems(plan_of(ONE_TASK_PER_NODE), ["dev", "prod"]) == []
    assert boundary_problems(plan_of({"boundaries": "merge"}), []) == []


def test_plan_output_shows_each_persisted_dataset_and_where_it_goes():
    import io

    from rich.console import Console

    from kedro_dab.show import print_plan

    out = io.StringIO()
    print_plan(plan_of(ONE_TASK_PER_NODE), Console(file=out, width=300, color_system=None))
    text = out.getvalue()
    assert (
        f"train: split -> fit (persisted per run to {ROOT}/demo/{{{{job.run_id}}}}/train)" in text
    )
    assert "model: fit -> score (catalog)" in text
    assert f"task {CLEANUP_TASK} removes a successful run's boundary data" in text
