"""`kedro dab deploy|run|destroy` with the SDK engine: the example project on the fake workspace."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.deploy_helpers import (
    JOB,
    TASKS,
    bundle_root,
    copy_example,
    dab,
    error_lines,
    local_wheel,
    lock_path,
    module_workspace,
    only_job,
    output,
    read_state,
    state_path,
    uploaded_paths,
    writes,
)
from tests.fake_workspace import FakeWorkspace, RecordedRequest

pytestmark = pytest.mark.e2e

WHEEL_NAME = re.compile(
    r"^spaceflights-(?P<base>[^+]+)\+kd\.(?P<stamp>[0-9a-f]{12})-py3-none-any\.whl$"
)


@dataclass
class Deployed:
    """The example deployed once, run once and deployed again unchanged, on one workspace."""

    project: Path
    ws: FakeWorkspace
    deploy: subprocess.CompletedProcess[str]
    run: subprocess.CompletedProcess[str]
    redeploy: subprocess.CompletedProcess[str]
    redeploy_log: list[RecordedRequest]


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    """Read-only for the tests that use it (apart from a failing task, undone after use)."""
    base = tmp_path_factory.mktemp("deployed")
    project = copy_example(base)
    (project / "conf" / "local" / "x.yml").write_text("local_only: 1\n", encoding="utf-8")
    (project / "conf" / "base" / "credentials.yml").write_text(
        "db:\n  password: hunter2\n", encoding="utf-8"
    )
    with module_workspace(base) as ws:
        first = dab(project, ws, "deploy", "--engine", "sdk")
        assert first.returncode == 0, output(first)
        run = dab(project, ws, "run")
        mark = len(ws.log)
        again = dab(project, ws, "deploy", "--engine", "sdk")
        yield Deployed(project, ws, first, run, again, list(ws.log[mark:]))


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A fresh copy of the example project."""
    return copy_example(tmp_path)


def deploy(project: Path, ws: FakeWorkspace, *args: str) -> subprocess.CompletedProcess[str]:
    return dab(project, ws, "deploy", "--engine", "sdk", *args)


def deployed_ok(project: Path, ws: FakeWorkspace, *args: str) -> subprocess.CompletedProcess[str]:
    result = deploy(project, ws, *args)
    assert result.returncode == 0, output(result)
    return result


def wheel_references(settings: dict[str, Any]) -> set[str]:
    """Every wheel a job installs: task libraries and serverless environment dependencies."""
    found = {
        library["whl"]
        for task in settings["tasks"]
        for library in task.get("libraries", [])
        if "whl" in library
    }
    for environment in settings.get("environments", []):
        found |= {d for d in environment["spec"].get("dependencies", []) if d.endswith(".whl")}
    return found


def edit_yaml(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Load a YAML file, change it in place, write it back."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def generated_job(project: Path, key: str = JOB) -> dict[str, Any]:
    """The job as `kedro dab bundle` wrote it into resources/kedro-dab/."""
    text = (project / "resources" / "kedro-dab" / f"{key}.yml").read_text(encoding="utf-8")
    return yaml.safe_load(text)["resources"]["jobs"][key]


# --- a first deploy and a run ---------------------------------------------------------------------


def test_deploy_then_run_creates_the_job_and_follows_the_run_to_success(
    deployed: Deployed,
) -> None:
    ws = deployed.ws
    job = only_job(ws)
    assert {t["task_key"] for t in job["settings"]["tasks"]} == TASKS
    assert deployed.run.returncode == 0, output(deployed.run)
    (run,) = ws.runs.values()
    assert run.job_id == job["job_id"]
    for task in TASKS:
        assert f"{task}: running" in deployed.run.stdout
        assert f"{task}: done" in deployed.run.stdout
    assert f"run {run.run_id} ended: SUCCESS" in deployed.run.stdout
    assert f"{ws.host}/jobs/{job['job_id']}/runs/{run.run_id}" in deployed.run.stdout


def test_deployed_tasks_run_the_uploaded_wheel_with_the_uploaded_conf(deployed: Deployed) -> None:
    ws, root = deployed.ws, bundle_root(deployed.ws)
    wheel = local_wheel(deployed.project)
    remote_wheel = f"{root}/artifacts/.internal/{wheel.name}"
    job = only_job(ws)
    assert wheel_references(job["settings"]) == {remote_wheel}
    assert ws.files[remote_wheel] == wheel.read_bytes()
    for task in job["settings"]["tasks"]:
        parameters = task["python_wheel_task"]["parameters"]
        assert parameters[parameters.index("--conf-source") + 1] == f"{root}/files/conf"

    conf = deployed.project / "conf"
    shipped = {
        path.relative_to(conf).as_posix()
        for path in conf.rglob("*")
        if path.is_file()
        and path.relative_to(conf).parts[0] != "local"
        and "credentials" not in path.name
    }
    prefix = f"{root}/files/conf/"
    uploaded = {
        path[len(prefix) :]: data for path, data in ws.files.items() if path.startswith(prefix)
    }
    assert set(uploaded) == shipped
    for relative, data in uploaded.items():
        assert data == (conf / relative).read_bytes()
    assert not [path for path in ws.files if "/conf/local/" in path or "credentials" in path]


def test_development_mode_prefixes_the_name_tags_the_job_and_pauses_its_schedule(
    deployed: Deployed,
) -> None:
    generated = generated_job(deployed.project)
    settings = only_job(deployed.ws)["settings"]
    assert settings["name"] == f"[dev fake_user] {generated['name']}"
    # As the CLI does: 4 concurrent runs unless the job sets its own number.
    assert settings["max_concurrent_runs"] == generated.get("max_concurrent_runs", 4)
    tags = settings["tags"]
    assert tags["dev"] == "fake_user"
    assert tags["kedro_dab_bundle"] == "spaceflights"
    assert tags["kedro_dab_target"] == "dev"
    assert tags["kedro_dab_job"] == JOB
    assert generated.get("tags", {}).items() <= tags.items()
    for trigger in ("schedule", "trigger", "continuous"):
        if trigger in settings:
            assert settings[trigger]["pause_status"] == "PAUSED"


def test_a_second_deploy_of_unchanged_code_uploads_nothing_and_leaves_the_job_alone(
    deployed: Deployed,
) -> None:
    result = deployed.redeploy
    assert result.returncode == 0, output(result)
    log = deployed.redeploy_log
    assert [r.path for r in log if re.search(r"/jobs/(create|reset)$", r.path)] == []
    state_dir = f"{bundle_root(deployed.ws)}/state/"
    # Only the lock and the state file are written: no wheel, no conf file.
    assert [p for p in uploaded_paths(log) if not p.startswith(state_dir)] == []
    assert re.search(rf"^\s+unchanged\s+{JOB}\b", result.stdout, re.M), result.stdout
    assert "files: 0 uploaded" in result.stdout
    assert len(deployed.ws.jobs) == 1


def test_the_token_never_appears_in_output_project_files_or_uploads(deployed: Deployed) -> None:
    token = deployed.ws.token
    for result in (deployed.deploy, deployed.run, deployed.redeploy):
        assert token not in result.stdout + result.stderr
    written = [path for path in deployed.project.rglob("*") if path.is_file()]
    assert any(path.suffix == ".whl" for path in written)
    leaked = [path for path in written if token.encode() in path.read_bytes()]
    assert leaked == []
    assert [path for path, data in deployed.ws.files.items() if token.encode() in data] == []


def test_run_of_a_failing_task_exits_1_showing_the_failed_and_skipped_tasks(
    deployed: Deployed,
) -> None:
    ws = deployed.ws
    ws.fail_task("candidate_modelling_pipeline", "Injected: model training diverged.")
    try:
        result = dab(deployed.project, ws, "run")
    finally:
        ws.failing_tasks.pop("candidate_modelling_pipeline")
    assert result.returncode == 1, output(result)
    assert "candidate_modelling_pipeline: failed" in result.stdout
    assert "reporting: skipped" in result.stdout
    assert "active_modelling_pipeline: done" in result.stdout
    assert re.search(r"run \d+ ended: FAILED", result.stdout), result.stdout


# --- redeploys ------------------------------------------------------------------------------------


def test_a_changed_dab_yml_resets_the_job_instead_of_creating_another(
    example: Path, fake_workspace: FakeWorkspace
) -> None:
    ws = fake_workspace
    deployed_ok(example, ws)
    job_id = only_job(ws)["job_id"]
    edit_yaml(
        example / "conf" / "base" / "dab.yml",
        lambda dab: dab.setdefault("tasks", []).append(
            {"match": {"group": "reporting"}, "max_retries": 7}
        ),
    )
    ws.clear_log()

    result = deployed_ok(example, ws)

    assert only_job(ws)["job_id"] == job_id
    assert ws.requests("POST", r"/jobs/create$") == []
    assert len(ws.requests("POST", r"/jobs/reset$")) == 1
    retries = {t["task_key"]: t.get("max_retries") for t in only_job(ws)["settings"]["tasks"]}
    assert retries["reporting"] == 7
    assert re.search(rf"^\s+update\s+{JOB}\b", result.stdout, re.M), result.stdout


def test_changed_code_uploads_a_wheel_with_a_new_version(
    example: Path, fake_workspace: FakeWorkspace
) -> None:
    ws = fake_workspace
    deployed_ok(example, ws)
    before = local_wheel(example).name
    nodes = example / "src" / "spaceflights" / "pipelines" / "reporting" / "nodes.py"
    text = nodes.read_text(encoding="utf-8")
    assert "\n    return " in text
    nodes.write_text(
        text.replace("\n    return ", "\n    pass  # edited\n    return ", 1), encoding="utf-8"
    )
    ws.clear_log()

    deployed_ok(example, ws)

    after = local_wheel(example).name
    old, new = WHEEL_NAME.match(before), WHEEL_NAME.match(after)
    assert old and new, (before, after)
    assert old["base"] == new["base"]
    assert old["stamp"] != new["stamp"]
    remote = f"{bundle_root(ws)}/artifacts/.internal/{after}"
    assert remote in uploaded_paths(ws.log)
    assert ws.files[remote] == (example / "dist" / after).read_bytes()
    assert wheel_references(only_job(ws)["settings"]) == {remote}


def test_a_lost_state_file_finds_the_job_by_its_tags_instead_of_creating_another(
    example: Path, fake_workspace: FakeWorkspace
) -> None:
    ws = fake_workspace
    deployed_ok(example, ws)
    job_id = only_job(ws)["job_id"]
    ws.workspace.delete(state_path(ws), recursive=False)
    assert state_path(ws) not in ws.files
    ws.clear_log()

    result = deployed_ok(example, ws)

    assert only_job(ws)["job_id"] == job_id
    assert ws.requests("POST", r"/jobs/create$") == []
    assert re.search(rf"^\s+(update|unchanged)\s+{JOB}\b", result.stdout, re.M), result.stdout
    assert read_state(ws)["jobs"] == {JOB: job_id}


def test_a_job_removed_from_dab_yml_is_kept_until_auto_approve_deletes_it(
    example: Path, fake_workspace: FakeWorkspace
) -> None:
    ws = fake_workspace
    dab_yml = example / "conf" / "base" / "dab.yml"
    one_job = dab_yml.read_text(encoding="utf-8")
    edit_yaml(dab_yml, lambda dab: dab["jobs"].update(reporting_only={"pipelines": ["reporting"]}))
    deployed_ok(example, ws)
    ids = read_state(ws)["jobs"]
    assert set(ids) == {JOB, "reporting_only"}
    assert set(ws.jobs) == set(ids.values())

    dab_yml.write_text(one_job, encoding="utf-8")
    kept = deployed_ok(example, ws)
    assert ids["reporting_only"] in ws.jobs
    assert "kept     jobs removed from dab.yml: reporting_only" in kept.stdout
    assert "--auto-approve" in kept.stdout
    assert re.search(r"^\s+keep\s+reporting_only\b", kept.stdout, re.M), kept.stdout

    deleted = deployed_ok(example, ws, "--auto-approve")
    assert set(ws.jobs) == {ids[JOB]}
    assert re.search(r"^\s+delete\s+reporting_only\b", deleted.stdout, re.M), deleted.stdout
    assert read_state(ws)["jobs"] == {JOB: ids[JOB]}


# --- failures and faults --------------------------------------------------------------------------


def test_transient_faults_do_not_fail_the_deploy_or_duplicate_the_job(
    example: Path, fake_workspace: FakeWorkspace
) -> None:
    ws = fake_workspace
    faults = [
        # Lost on the way back: the job exists, the retried create makes a twin.
        ws.faults.drop_response(r"/jobs/create$", method="POST"),
        ws.faults.add("POST", r"/jobs/create$", status=429, retry_after=0),
        ws.faults.add(
            "POST", r"/import-file/.*/conf/base/catalog\.yml$", status=503, retry_after=0
        ),
        ws.faults.drop_connection(r"/import-file/.*\.whl$", method="POST"),
        # Lost on the way back: the lock exists, the retried create finds it taken.
        ws.faults.drop_response(r"/import-file/.*/deploy\.lock$", method="POST"),
    ]

    deployed_ok(example, ws)

    assert [f.fired for f in faults] == [1] * len(faults)
    job = only_job(ws)
    assert read_state(ws)["jobs"] == {JOB: job["job_id"]}
    wheel = local_wheel(example)
    assert ws.files[f"{bundle_root(ws)}/artifacts/.internal/{wheel.name}"] == wheel.read_bytes()
    catalog = example / "conf" / "base" / "catalog.yml"
    assert ws.files[f"{bundle_root(ws)}/files/conf/base/catalog.yml"] == catalog.read_bytes()
    assert lock_path(ws) not in ws.files


def test_a_held_deploy_lock_stops_the_deploy_with_one_line_naming_lock_and_holder(
    example: Path, fake_workspace: FakeWorkspace
) -> None:
    ws = fake_workspace
    holder = json.dumps(
        {"id": "other-deploy", "user": "ci-bot@example.com", "acquired_at": "2025-01-02T03:04:05Z"}
    ).encode()
    ws.put_workspace_file(lock_path(ws), holder)

    result = deploy(example, ws)

    assert result.returncode == 2, output(result)
    (line,) = error_lines(result)
    assert lock_path(ws) in line
    assert "ci-bot@example.com" in line
    assert "Traceback" not in result.stderr
    assert ws.files[lock_path(ws)] == holder
    assert ws.jobs == {}


def test_force_lock_takes_a_held_lock_and_deploys(
    example: Path, fake_workspace: FakeWorkspace
) -> None:
    ws = fake_workspace
    holder = json.dumps(
        {"id": "dead-deploy", "user": "ci-bot@example.com", "acquired_at": "2025-01-02T03:04:05Z"}
    ).encode()
    ws.put_workspace_file(lock_path(ws), holder)

    deployed_ok(example, ws, "--force-lock")

    only_job(ws)
    assert lock_path(ws) not in ws.files


def test_permission_denied_on_the_artifact_path_exits_2_with_one_line_naming_it(
    example: Path, fake_workspace: FakeWorkspace
) -> None:
    ws = fake_workspace
    artifacts = f"{bundle_root(ws)}/artifacts"
    ws.deny_path(artifacts)

    result = deploy(example, ws)

    assert result.returncode == 2, output(result)
    (line,) = error_lines(result)
    assert "permission denied" in line.lower()
    assert artifacts in line
    assert "Traceback" not in result.stderr + result.stdout
    assert ws.jobs == {}
    assert lock_path(ws) not in ws.files
    assert local_wheel(example), "the deploy failed before the build: nothing shows it cleans up"
    assert not (example / "build").exists()
    assert list(example.rglob("*.egg-info")) == []


@pytest.mark.parametrize(
    "feature",
    ["pipeline resource", "run_as"],
)
def test_a_bundle_feature_the_sdk_engine_lacks_exits_2_recommending_the_cli_engine(
    example: Path, fake_workspace: FakeWorkspace, feature: str
) -> None:
    ws = fake_workspace
    if feature == "pipeline resource":
        (example / "resources" / "extra.yml").write_text(
            "resources:\n  pipelines:\n    etl:\n      name: etl\n", encoding="utf-8"
        )
    else:
        edit_yaml(
            example / "databricks.yml",
            lambda bundle: bundle["targets"]["dev"].update(
                run_as={"service_principal_name": "0000-1111-2222"}
            ),
        )

    result = deploy(example, ws)

    assert result.returncode == 2, output(result)
    (line,) = error_lines(result)
    assert "--engine cli" in line
    assert "Traceback" not in result.stderr
    assert writes(ws) == []


# --- dry run and destroy --------------------------------------------------------------------------


def test_dry_run_only_reads_from_the_workspace_and_shows_what_it_would_create(
    example: Path, fake_workspace: FakeWorkspace
) -> None:
    ws = fake_workspace

    result = deployed_ok(example, ws, "--dry-run")

    assert ws.log, "the dry run did not look at the workspace"
    assert {r.method for r in ws.log} == {"GET"}
    assert ws.jobs == {}
    assert f"Would deploy target 'dev' to {bundle_root(ws)}" in result.stdout
    assert re.search(rf"^\s+create\s+{JOB}\b", result.stdout, re.M), result.stdout
    assert re.search(r"files: [1-9]\d* uploaded", result.stdout), result.stdout


def test_destroy_with_auto_approve_deletes_the_jobs_and_the_root_folder(
    example: Path, fake_workspace: FakeWorkspace
) -> None:
    ws = fake_workspace
    deployed_ok(example, ws)
    assert only_job(ws)

    result = dab(example, ws, "destroy", "--engine", "sdk", "--auto-approve")

    assert result.returncode == 0, output(result)
    assert ws.jobs == {}
    root = bundle_root(ws)
    left = [p for p in [*ws.files, *ws.directories] if p == root or p.startswith(root + "/")]
    assert left == []
