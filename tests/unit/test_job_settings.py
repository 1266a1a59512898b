"""Job and task settings from dab.yml: rendered as Databricks expects, refused when wrong."""

from __future__ import annotations

import msgspec
import pytest
import yaml

from kedro_dab.bundle.render import render_plan
from kedro_dab.config import parse_config
from kedro_dab.errors import ConfigError
from kedro_dab.plan import Plan, build_plan
from kedro_dab.show import explain_task
from tests.support.bundle_schema import bundle_errors, require_schema
from tests.support.models import node, project

NODES = [
    node("load", [], ["raw"], ["task.prep"]),
    node("fit", ["raw"], ["model"], ["task.train", "ml"]),
    node("report", ["model"], ["summary"], ["task.report"]),
]
PERSISTED = {"raw", "model"}


def plan_of(dab: dict, requirements: dict | None = None) -> Plan:
    dab = {"jobs": {"j": {}}, **dab}
    model = project(NODES, persisted=PERSISTED, dab=dab, pipelines={"training": ["fit"]})
    if requirements:
        model = msgspec.structs.replace(model, requirements=requirements)
    return build_plan(model, parse_config(dab))


def job_of(dab: dict, targets: tuple[str, ...] = (), **kwargs) -> dict:
    plan = plan_of(dab, **kwargs)
    (text,) = render_plan(plan, targets).values()
    return yaml.safe_load(text)


def settings_of(dab: dict, **kwargs) -> dict:
    return job_of(dab, **kwargs)["resources"]["jobs"]["j"]


def error_of(dab: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        plan_of(dab)
    return str(caught.value)


FULL = {
    "jobs": {
        "j": {
            "parameters": [
                {"name": "run_date", "default": "2024-01-01", "kedro_param": "run.date"}
            ],
            "trigger": {"periodic": {"interval": 4, "unit": "HOURS"}, "pause_status": "UNPAUSED"},
            "email_notifications": {"on_failure": ["a@example.com"]},
            "webhook_notifications": {"on_failure": [{"id": "dest-1"}]},
            "health": {"rules": [{"metric": "RUN_DURATION_SECONDS", "value": 3600}]},
            "run_as": {"service_principal_name": "sp-app-id"},
            "permissions": [{"level": "CAN_MANAGE_RUN", "group_name": "engineers"}],
            "timeout_seconds": 7200,
            "max_concurrent_runs": 2,
            "tags": {"team": "data"},
        }
    },
    "tasks": [
        {
            "match": {"tag": "ml"},
            "max_retries": 3,
            "min_retry_interval_millis": 1000,
            "retry_on_timeout": True,
            "timeout_seconds": 600,
        }
    ],
}


def test_every_job_setting_is_rendered_as_the_jobs_api_names_it():
    job = settings_of(FULL)
    assert job["trigger"] == {
        "periodic": {"interval": 4, "unit": "HOURS"},
        "pause_status": "UNPAUSED",
    }
    assert job["webhook_notifications"] == {"on_failure": [{"id": "dest-1"}]}
    assert job["health"] == {
        "rules": [{"metric": "RUN_DURATION_SECONDS", "op": "GREATER_THAN", "value": 3600}]
    }
    assert job["run_as"] == {"service_principal_name": "sp-app-id"}
    assert job["permissions"] == [{"group_name": "engineers", "level": "CAN_MANAGE_RUN"}]
    assert job["parameters"] == [{"name": "run_date", "default": "2024-01-01"}]
    assert (job["timeout_seconds"], job["max_concurrent_runs"]) == (7200, 2)


def test_every_job_setting_validates_against_the_official_schema():
    require_schema()
    assert bundle_errors({"bundle": {"name": "b"}, **job_of(FULL)}) == []


def test_job_parameters_reach_every_task_as_kedro_runtime_params():
    for task in settings_of(FULL)["tasks"]:
        args = task["python_wheel_task"]["parameters"]
        assert args[args.index("--params") + 1] == "run.date={{job.parameters.run_date}}"


def test_task_retries_and_timeouts_go_to_the_matched_task_only():
    tasks = {t["task_key"]: t for t in settings_of(FULL)["tasks"]}
    assert tasks["train"]["max_retries"] == 3
    assert tasks["train"]["retry_on_timeout"] is True
    assert "max_retries" not in tasks["prep"]


def test_a_schedule_and_a_trigger_together_are_refused():
    dab = {
        "jobs": {
            "j": {
                "schedule": {"quartz_cron_expression": "0 0 * * * ?"},
                "trigger": {"periodic": {"interval": 1, "unit": "DAYS"}},
            }
        }
    }
    assert "a schedule or a trigger, not both" in error_of(dab)


def test_a_trigger_needs_exactly_one_kind():
    assert "exactly one of 'periodic' or 'file_arrival'" in error_of(
        {"jobs": {"j": {"trigger": {"pause_status": "PAUSED"}}}}
    )


def test_run_as_needs_exactly_one_identity():
    assert "exactly one of user_name or service_principal_name" in error_of(
        {"jobs": {"j": {"run_as": {}}}}
    )


def test_an_unknown_permission_level_is_refused_with_its_path():
    message = error_of({"jobs": {"j": {"permissions": [{"level": "OWNER", "user_name": "x"}]}}})
    assert message.startswith("dab.yml: jobs.j.permissions[0].level:")


def test_a_job_parameter_name_must_be_a_plain_identifier():
    message = error_of({"jobs": {"j": {"parameters": [{"name": "run date", "default": 1}]}}})
    assert message.startswith("dab.yml: jobs.j.parameters[0].name:")


def test_job_parameter_names_must_be_unique():
    dab = {
        "jobs": {"j": {"parameters": [{"name": "a", "default": 1}, {"name": "a", "default": 2}]}}
    }
    assert "job parameter names must be unique" in error_of(dab)


def test_a_literal_password_in_cluster_env_vars_is_refused():
    dab = {
        "compute": {
            "c": {
                "type": "job_cluster",
                "new_cluster": {"spark_env_vars": {"DB_PASSWORD": "hunter2"}},
            }
        }
    }
    message = error_of(dab)
    assert (
        "compute.c.new_cluster.spark_env_vars.DB_PASSWORD: looks like a literal secret" in message
    )
    assert "{{secrets/<scope>/<key>}}" in message


def test_a_secret_reference_is_accepted():
    dab = {
        "compute": {
            "c": {
                "type": "job_cluster",
                "new_cluster": {"spark_env_vars": {"DB_PASSWORD": "{{secrets/scope/db_password}}"}},
            }
        }
    }
    plan_of(dab)


def test_a_token_shaped_string_anywhere_is_refused():
    dab = {"jobs": {"j": {"tags": {"note": "dapi0123456789abcdef0123456789abcdef"}}}}
    assert "jobs.j.tags.note: looks like a literal secret" in error_of(dab)


def test_tasks_with_the_same_requirements_share_one_serverless_environment():
    dab = {
        "tasks": [
            {"match": {"group": "t*"}, "requirements": ["scikit-learn==1.5.2"]},
            {"match": {"group": "report"}, "requirements": ["scikit-learn==1.5.2"]},
        ]
    }
    job = settings_of(dab)
    keys = {t["task_key"]: t["environment_key"] for t in job["tasks"]}
    assert keys["train"] == keys["report"] != keys["prep"]
    assert len(job["environments"]) == 2
    shared = next(e for e in job["environments"] if e["environment_key"] == keys["train"])
    assert shared["spec"]["dependencies"] == ["../../dist/*.whl", "scikit-learn==1.5.2"]


def test_pipeline_requirements_files_reach_only_tasks_holding_its_nodes():
    job = settings_of({}, requirements={"training": ("xgboost==2.1.1",)})
    envs = {e["environment_key"]: e["spec"]["dependencies"] for e in job["environments"]}
    tasks = {t["task_key"]: envs[t["environment_key"]] for t in job["tasks"]}
    assert tasks["train"] == ["../../dist/*.whl", "xgboost==2.1.1"]
    assert tasks["prep"] == ["../../dist/*.whl"]


def test_classic_compute_gets_requirements_as_task_libraries():
    dab = {
        "compute": {"c": {"type": "existing_cluster", "cluster_id": "0123-abc"}},
        "default_compute": "c",
        "tasks": [{"match": {"tag": "ml"}, "requirements": ["xgboost==2.1.1"]}],
    }
    tasks = {t["task_key"]: t for t in settings_of(dab)["tasks"]}
    assert tasks["train"]["libraries"] == [
        {"whl": "../../dist/*.whl"},
        {"pypi": {"package": "xgboost==2.1.1"}},
    ]


def test_serverless_performance_target_is_set_on_the_job():
    dab = {"compute": {"serverless": {"type": "serverless", "performance_target": "STANDARD"}}}
    assert settings_of(dab)["performance_target"] == "STANDARD"


def test_serverless_profiles_of_one_job_must_agree_on_performance_target():
    dab = {
        "compute": {
            "fast": {"type": "serverless", "performance_target": "PERFORMANCE_OPTIMIZED"},
            "cheap": {"type": "serverless", "performance_target": "STANDARD"},
        },
        "default_compute": "cheap",
        "tasks": [{"match": {"tag": "ml"}, "compute": "fast"}],
    }
    assert "performance_target PERFORMANCE_OPTIMIZED and STANDARD" in error_of(dab)


def test_a_target_can_put_every_task_on_one_existing_cluster():
    dab = {
        "compute": {"dev_cluster": {"type": "existing_cluster", "cluster_id": "0123-dev"}},
        "targets": {"dev": {"compute": "dev_cluster"}},
    }
    targets = job_of(dab, targets=("dev", "prod"))["targets"]
    dev = targets["dev"]["resources"]["jobs"]["j"]
    prod = targets["prod"]["resources"]["jobs"]["j"]
    assert {t["existing_cluster_id"] for t in dev["tasks"]} == {"0123-dev"}
    assert "environments" not in dev
    assert {t["environment_key"] for t in prod["tasks"]} == {"serverless"}


def test_explain_names_the_entry_behind_every_setting():
    plan = plan_of(
        {**FULL, "tasks": [*FULL["tasks"], {"match": {"group": "train"}, "compute": "serverless"}]}
    )
    train = next(t for t in plan.jobs[0].tasks if t.key == "train")
    lines = explain_task(train)
    assert "compute = serverless  <- tasks[1]" in lines
    assert "max_retries = 3  <- tasks[0]" in lines


def test_plan_shows_each_task_environment_and_its_requirements():
    import io

    from rich.console import Console

    from kedro_dab.show import print_plan

    plan = plan_of({"tasks": [{"match": {"tag": "ml"}, "requirements": ["xgboost==2.1.1"]}]})
    out = io.StringIO()
    print_plan(plan, Console(file=out, width=300, highlight=False, color_system=None))
    line = next(ln for ln in out.getvalue().splitlines() if " train " in ln)
    assert "environment serverless_" in line
    assert "xgboost==2.1.1" in line


def test_a_tasks_entry_that_matches_no_task_is_a_warning_showing_its_conditions():
    plan = plan_of({"tasks": [{"match": {"group": "nowhere*", "tag": "ml"}, "max_retries": 1}]})

    assert plan.warnings == (
        "dab.yml: tasks[0] (match {group: nowhere*, tag: ml}) matches no task",
    )


def test_a_tasks_entry_that_matches_a_task_is_no_warning():
    assert plan_of({"tasks": [{"match": {"tag": "ml"}, "max_retries": 1}]}).warnings == ()
