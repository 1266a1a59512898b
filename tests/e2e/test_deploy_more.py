"""More of the SDK engine and runs: Unity Catalog volumes, job parameters, cancelling."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.e2e.deploy_helpers import copy_example, dab, interrupt_run, only_job, output
from tests.fake_workspace import FakeWorkspace

pytestmark = pytest.mark.e2e


def set_target(project: Path, target: str, **workspace: str) -> None:
    path = project / "databricks.yml"
    data = yaml.safe_load(path.read_text())
    data["targets"][target].setdefault("workspace", {}).update(workspace)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_artifacts_can_go_to_a_unity_catalog_volume(fake_workspace: FakeWorkspace, tmp_path):
    ws = fake_workspace
    ws.add_volume("main", "default", "artifacts")
    project = copy_example(tmp_path)
    # In development mode the CLI requires the user in the path, so each user has a copy.
    volume = "/Volumes/main/default/artifacts/${workspace.current_user.short_name}/spaceflights"
    set_target(project, "dev", artifact_path=volume)
    result = dab(project, ws, "deploy", "--engine", "sdk")
    assert result.returncode == 0, output(result)
    wheels = [p for p in ws.volume_files if p.endswith(".whl")]
    assert len(wheels) == 1
    short = ws.user_name.split("@")[0].replace(".", "_")
    assert wheels[0].startswith(f"/Volumes/main/default/artifacts/{short}/spaceflights/.internal/")
    job = only_job(ws)
    environments = job["settings"].get("environments", [])
    used = {d for e in environments for d in e["spec"]["dependencies"] if d.endswith(".whl")}
    assert used == {wheels[0]}


def test_run_params_set_the_job_parameters_of_the_run(fake_workspace: FakeWorkspace, tmp_path):
    ws = fake_workspace
    project = copy_example(tmp_path)
    assert dab(project, ws, "deploy", "--engine", "sdk").returncode == 0
    result = dab(project, ws, "run", "--params", "group_by=engines")
    assert result.returncode == 0, output(result)
    (run_now,) = ws.requests("POST", r"/jobs/run-now$")
    assert run_now.json["job_parameters"] == {"group_by": "engines"}


def test_run_params_must_name_a_declared_job_parameter(fake_workspace: FakeWorkspace, tmp_path):
    ws = fake_workspace
    project = copy_example(tmp_path)
    assert dab(project, ws, "deploy", "--engine", "sdk").returncode == 0
    result = dab(project, ws, "run", "--params", "grup_by=engines")
    assert result.returncode == 2
    assert "not a parameter of job 'spaceflights' (declared: group_by)" in result.stderr
    assert not ws.requests("POST", r"/jobs/run-now$")


def test_cancel_run_cancels_a_started_run(fake_workspace: FakeWorkspace, tmp_path):
    from kedro_dab import api
    from kedro_dab.deploy import runs
    from kedro_dab.deploy.workspace import Workspace

    ws = fake_workspace
    project = copy_example(tmp_path)
    assert dab(project, ws, "deploy", "--engine", "sdk").returncode == 0
    client = ws.client()
    job_id = next(iter(ws.jobs))
    run_id = runs.start(Workspace(client), job_id)
    api.cancel_run(project, run_id, client=client)
    final = runs.follow(Workspace(client), run_id, lambda status: None, poll_seconds=0.01)
    assert final.finished
    assert final.result == "CANCELED"
    assert not final.ok


def test_the_production_target_deploys_with_its_permissions(
    fake_workspace: FakeWorkspace, tmp_path
):
    ws = fake_workspace
    project = copy_example(tmp_path)
    result = dab(project, ws, "deploy", "--engine", "sdk", "-t", "prod")
    assert result.returncode == 0, output(result)
    job_id, job = next(iter(ws.jobs.items()))
    assert job["settings"]["name"] == "spaceflights"
    assert job["settings"]["schedule"]["pause_status"] == "UNPAUSED"
    assert ws.job_permissions[job_id] == [
        {"user_name": ws.user_name, "permission_level": "IS_OWNER"}
    ]
    assert "/.bundle/spaceflights/prod/" in next(p for p in ws.files if p.endswith(".whl"))


def test_a_production_update_sets_the_permissions_again(fake_workspace: FakeWorkspace, tmp_path):
    ws = fake_workspace
    project = copy_example(tmp_path)
    assert dab(project, ws, "deploy", "--engine", "sdk", "-t", "prod").returncode == 0
    dab_yml = project / "conf" / "base" / "dab.yml"
    dab_yml.write_text(
        dab_yml.read_text().replace("max_concurrent_runs: 1", "max_concurrent_runs: 2")
    )
    result = dab(project, ws, "deploy", "--engine", "sdk", "-t", "prod")
    assert result.returncode == 0, output(result)
    assert ws.requests("POST", r"/jobs/reset$")
    (put,) = ws.requests("PUT", r"/permissions/jobs/\d+$")
    assert put.json["access_control_list"] == [
        {"user_name": ws.user_name, "permission_level": "IS_OWNER"}
    ]


def test_ctrl_c_during_a_run_asks_and_cancels_it(fake_workspace: FakeWorkspace, tmp_path):
    ws = fake_workspace
    project = copy_example(tmp_path)
    assert dab(project, ws, "deploy", "--engine", "sdk").returncode == 0
    returncode, out = interrupt_run(project, ws, timeout=60)
    assert returncode == 130, out
    assert "Cancel run" in out
    assert ws.requests("POST", r"/jobs/runs/cancel$")
    assert ws.token not in out


def test_var_overrides_a_bundle_variable_in_the_deployed_tasks(
    fake_workspace: FakeWorkspace, tmp_path
):
    ws = fake_workspace
    project = copy_example(tmp_path)
    result = dab(project, ws, "deploy", "--engine", "sdk", "--var", "kedro_env=base")
    assert result.returncode == 0, output(result)
    for task in only_job(ws)["settings"]["tasks"]:
        args = task["python_wheel_task"]["parameters"]
        assert args[args.index("--env") + 1] == "base"


def test_var_naming_an_undeclared_variable_is_refused(fake_workspace: FakeWorkspace, tmp_path):
    project = copy_example(tmp_path)
    result = dab(project, fake_workspace, "deploy", "--engine", "sdk", "--var", "nope=1")
    assert result.returncode == 2
    assert "--var nope: not declared under variables in databricks.yml" in result.stderr
    assert not fake_workspace.jobs
