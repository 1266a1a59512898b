"""Rendering a Plan into bundle files: golden files, compute variants, determinism."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
import yaml

from kedro_dab.bundle.render import body_hash, job_settings, render_plan, split_generated
from kedro_dab.config import parse_config
from kedro_dab.errors import ConfigError
from kedro_dab.plan import build_plan
from tests.support.bundle_schema import bundle_errors, require_schema
from tests.support.models import node, project

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("KEDRO_DAB_UPDATE_GOLDEN") == "1"

DAB = {
    "grouping": [{"by": "tag", "prefix": "task."}, {"by": "namespace"}],
    "merge_memory": False,
    "jobs": {
        "nightly": {
            "name": "Nightly models",
            "pipelines": ["__default__"],
            "schedule": {"quartz_cron_expression": "0 0 6 * * ?", "timezone_id": "UTC"},
            "tags": {"team": "data"},
            "max_concurrent_runs": 1,
            "timeout_seconds": 7200,
            "email_notifications": {"on_failure": ["data@example.com"]},
        }
    },
    "compute": {
        "etl": {
            "type": "job_cluster",
            "new_cluster": {
                "spark_version": "15.4.x-scala2.12",
                "node_type_id": "i3.xlarge",
                "num_workers": 2,
            },
        },
        "dev": {"type": "existing_cluster", "cluster_id": "0123-456789-abcdefgh"},
        "ml": {
            "type": "serverless",
            "environment_version": "3",
            "dependencies": ["scikit-learn==1.5.2"],
        },
    },
    "tasks": [
        {"match": {"group": "prep"}, "compute": "etl", "max_retries": 2},
        {"match": {"tag": "ml"}, "compute": "ml", "timeout_seconds": 3600},
        {"match": {"group": "report*"}, "compute": "dev", "retry_on_timeout": True},
    ],
}

NODES = [
    node("load", ["raw"], ["clean"], ["task.prep"]),
    node("features", ["clean"], ["table"], ["task.prep"]),
    node("models.split", ["table", "params:models.split"], ["models.train_set"]),
    node("models.fit", ["models.train_set"], ["models.model"], ["ml"]),
    node("report", ["models.model", "table"], ["summary"], ["task.reporting"]),
]


def rendered() -> dict[str, str]:
    model = project(NODES, persisted={"clean", "table", "models.model"}, dab=DAB)
    return render_plan(build_plan(model, parse_config(DAB)))


def test_rendered_job_matches_the_golden_file():
    files = rendered()
    assert list(files) == ["nightly.yml"]
    golden = GOLDEN / "nightly.yml"
    if UPDATE:
        golden.write_text(files["nightly.yml"], encoding="utf-8")
    assert files["nightly.yml"] == golden.read_text(encoding="utf-8")


def test_rendered_job_validates_against_the_official_schema():
    require_schema()
    document = yaml.safe_load(rendered()["nightly.yml"])
    assert bundle_errors({"bundle": {"name": "demo"}, **document}) == []


def test_rendering_is_byte_identical_across_runs():
    assert rendered() == rendered()


def test_tasks_sharing_a_cluster_profile_share_one_job_cluster():
    job = yaml.safe_load(rendered()["nightly.yml"])["resources"]["jobs"]["nightly"]
    assert [c["job_cluster_key"] for c in job["job_clusters"]] == ["etl"]
    prep = next(t for t in job["tasks"] if t["task_key"] == "prep")
    assert prep["job_cluster_key"] == "etl"
    assert prep["libraries"] == [{"whl": "../../dist/*.whl"}]


def test_serverless_tasks_get_an_environment_with_the_wheel_and_no_libraries():
    job = yaml.safe_load(rendered()["nightly.yml"])["resources"]["jobs"]["nightly"]
    models = next(t for t in job["tasks"] if t["task_key"] == "models")
    assert models["environment_key"] == "ml"
    assert "libraries" not in models
    (env,) = job["environments"]
    assert env["spec"] == {
        "environment_version": "3",
        "dependencies": ["../../dist/*.whl", "scikit-learn==1.5.2"],
    }


def test_existing_cluster_tasks_name_the_cluster_and_install_the_wheel():
    job = yaml.safe_load(rendered()["nightly.yml"])["resources"]["jobs"]["nightly"]
    report = next(t for t in job["tasks"] if t["task_key"] == "reporting")
    assert report["existing_cluster_id"] == "0123-456789-abcdefgh"
    assert report["libraries"] == [{"whl": "../../dist/*.whl"}]


def test_task_runs_the_console_script_with_pipeline_nodes_env_and_conf_source():
    job = yaml.safe_load(rendered()["nightly.yml"])["resources"]["jobs"]["nightly"]
    models = next(t for t in job["tasks"] if t["task_key"] == "models")
    assert models["python_wheel_task"] == {
        "package_name": "demo",
        "entry_point": "demo",
        "parameters": [
            "--pipelines",
            "__default__",
            "--nodes",
            "models.split,models.fit",
            "--env",
            "${var.kedro_env}",
            "--conf-source",
            "${workspace.file_path}/conf",
        ],
    }


def test_generated_file_records_the_hash_of_its_body():
    recorded, body = split_generated(rendered()["nightly.yml"])
    assert recorded == body_hash(body)


def test_a_from_source_serverless_task_installs_the_projects_dependencies_and_no_wheel():
    model = msgspec.structs.replace(
        project(NODES, persisted={"clean", "table", "models.model"}, dab=DAB),
        dependencies=("kedro~=1.0", "pandas>=2"),
    )
    plan = build_plan(model, parse_config({**DAB, "default_compute": "serverless"}))

    job = job_settings(plan, plan.jobs[0], from_source=True)

    assert "whl" not in yaml.safe_dump(job)
    for environment in job["environments"]:
        assert environment["spec"]["dependencies"][:2] == ["kedro~=1.0", "pandas>=2"]


def test_a_cluster_setting_the_official_models_do_not_know_is_an_error_naming_its_dab_yml_key():
    etl = {**DAB["compute"]["etl"], "new_cluster": {"spark_version": "15.4", "num_wrkers": 2}}
    dab = {**DAB, "compute": {**DAB["compute"], "etl": etl}}
    model = project(NODES, persisted={"clean", "table", "models.model"}, dab=dab)
    plan = build_plan(model, parse_config(dab))

    with pytest.raises(ConfigError, match=r"^dab\.yml: compute\.etl\.new_cluster: .*num_wrkers"):
        render_plan(plan)


@pytest.mark.parametrize(
    ("new_cluster", "place"),
    [
        ({"spark_conf": {"spark.sql": {"shuffle.partitions": 8}}}, "spark_conf.spark.sql"),
        ({"spark_env_vars": {"REGIONS": ["eu", "us"]}}, "spark_env_vars.REGIONS"),
        ({"custom_tags": {"team": {"name": "data"}}}, "custom_tags.team"),
    ],
)
def test_a_mapping_or_list_where_a_cluster_setting_takes_text_is_an_error_naming_it(
    new_cluster, place
):
    spec = {"spark_version": "15.4.x-scala2.12", "num_workers": 1, **new_cluster}
    dab = {
        **DAB,
        "compute": {**DAB["compute"], "etl": {"type": "job_cluster", "new_cluster": spec}},
    }
    model = project(NODES, persisted={"clean", "table", "models.model"}, dab=dab)
    plan = build_plan(model, parse_config(dab))

    with pytest.raises(ConfigError) as error:
        render_plan(plan)
    assert str(error.value).startswith(
        f"dab.yml: compute.etl.new_cluster.{place}: expected text, got a "
    )


def test_a_cluster_setting_of_the_wrong_type_is_an_error_naming_its_key():
    spec = {"spark_version": "15.4.x-scala2.12", "num_workers": "lots"}
    dab = {
        **DAB,
        "compute": {**DAB["compute"], "etl": {"type": "job_cluster", "new_cluster": spec}},
    }
    model = project(NODES, persisted={"clean", "table", "models.model"}, dab=dab)
    plan = build_plan(model, parse_config(dab))

    with pytest.raises(ConfigError, match=r"^dab\.yml: compute\.etl\.new_cluster\.num_workers: "):
        render_plan(plan)


def test_cluster_settings_keep_the_key_order_dab_yml_gives_them():
    spec = {
        "spark_version": "15.4.x-scala2.12",
        "spark_conf": {"b": "1", "a": "2"},
        "autoscale": {"max_workers": 4, "min_workers": 1},
    }
    dab = {
        **DAB,
        "compute": {**DAB["compute"], "etl": {"type": "job_cluster", "new_cluster": spec}},
    }
    model = project(NODES, persisted={"clean", "table", "models.model"}, dab=dab)
    plan = build_plan(model, parse_config(dab))

    (cluster,) = job_settings(plan, plan.jobs[0])["job_clusters"]

    assert json.dumps(cluster["new_cluster"]) == json.dumps(spec)


EVERY_JOB_SETTING = {
    "name": "Every setting",
    "trigger": {"periodic": {"interval": 4, "unit": "HOURS"}, "pause_status": "PAUSED"},
    "tags": {"team": "data", "cost": "ml"},
    "max_concurrent_runs": 3,
    "timeout_seconds": 600,
    "email_notifications": {"on_start": ["a@example.com"], "no_alert_for_skipped_runs": True},
    "webhook_notifications": {"on_failure": [{"id": "hook-1"}]},
    "health": {"rules": [{"metric": "RUN_DURATION_SECONDS", "value": 900}]},
    "run_as": {"service_principal_name": "9f0c-sp"},
    "permissions": [{"group_name": "data", "level": "CAN_MANAGE_RUN"}],
    "parameters": [{"name": "run_date", "default": "2026-01-01"}],
}
PERSIST = {"boundaries": "persist", "boundaries_root": "/Volumes/main/etl/runs"}
RENDERINGS = {
    "job, task and cluster settings": (DAB, {}),
    "every job setting": ({**DAB, "jobs": {"nightly": EVERY_JOB_SETTING}}, {}),
    "from source on serverless": (
        {**DAB, "default_compute": "serverless", "tasks": []},
        {"from_source": True},
    ),
    "from source on a job cluster": (DAB, {"from_source": True, "compute": "etl"}),
    "every task on the existing cluster": (DAB, {"compute": "dev"}),
    "persisted boundaries and the cleanup task": (
        {**DAB, **PERSIST, "grouping": [{"by": "node"}], "merge_memory": None},
        {},
    ),
}


@pytest.mark.parametrize("dab, variant", RENDERINGS.values(), ids=list(RENDERINGS))
def test_a_rendered_job_is_exactly_what_the_official_job_model_serialises(dab, variant):
    from databricks.bundles.jobs import Job

    dab = {key: value for key, value in dab.items() if value is not None}
    model = project(NODES, persisted={"clean", "table", "models.model"}, dab=dab)
    plan = build_plan(model, parse_config(dab))
    for job in plan.jobs:
        settings = job_settings(plan, job, **variant)

        assert Job.from_dict(settings).as_dict() == settings


def test_a_persisting_job_renders_its_cleanup_task():
    dab = {**DAB, **PERSIST, "grouping": [{"by": "node"}]}
    dab.pop("merge_memory")
    model = project(NODES, persisted={"clean", "table", "models.model"}, dab=dab)
    plan = build_plan(model, parse_config(dab))

    tasks = job_settings(plan, plan.jobs[0])["tasks"]

    assert tasks[-1]["python_wheel_task"]["package_name"] == "kedro-dab"


def test_importing_the_renderer_leaves_the_official_models_unimported_until_a_job_is_rendered():
    probe = (
        "import sys, kedro_dab.api, kedro_dab.bundle.render; "
        "print('databricks.bundles' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_rendering_jobs_without_a_job_cluster_leaves_the_official_models_unimported():
    probe = """
import sys
from kedro_dab.bundle.render import render_plan
from kedro_dab.config import parse_config
from kedro_dab.plan import build_plan
from tests.unit.test_render import DAB, NODES, project
dab = {**DAB, "tasks": [{"match": {"group": "report*"}, "compute": "dev"}]}
model = project(NODES, persisted={"clean", "table", "models.model"}, dab=dab)
files = render_plan(build_plan(model, parse_config(dab)))
assert "existing_cluster_id" in files["nightly.yml"] and "serverless" in files["nightly.yml"]
print(sorted(m for m in sys.modules if m.startswith("databricks.bundles")))
"""
    root = Path(__file__).parents[2]
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=root)
    assert result.stdout.strip() == "[]", result.stderr
