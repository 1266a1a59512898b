"""A job edited in the workspace after its deploy (in the UI, or through the Jobs API as the UI
does it) is put back to the bundle's settings by the next SDK-engine deploy, as the Databricks
CLI puts it back; the dry run says so and names what changed, and `summary` reports it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from databricks.sdk.service.jobs import JobAccessControlRequest, JobPermissionLevel, JobSettings

from tests.e2e.deploy_helpers import JOB, copy_example, dab, output
from tests.fake_workspace import FakeWorkspace

pytestmark = pytest.mark.e2e


@pytest.fixture
def deployed(fake_workspace: FakeWorkspace, tmp_path: Path) -> tuple[Path, FakeWorkspace, int]:
    project = copy_example(tmp_path)
    first = dab(project, fake_workspace, "deploy", "--engine", "sdk")
    assert first.returncode == 0, output(first)
    (job_id,) = fake_workspace.jobs
    return project, fake_workspace, job_id


def settings(ws: FakeWorkspace, job_id: int) -> dict:
    return json.loads(json.dumps(ws.jobs[job_id]["settings"]))


def test_a_redeploy_of_a_job_nobody_edited_leaves_it_unchanged(deployed) -> None:
    project, ws, _ = deployed
    again = dab(project, ws, "deploy", "--engine", "sdk")
    assert again.returncode == 0, output(again)
    assert f"unchanged {JOB}" in again.stdout


def test_a_job_renamed_in_the_workspace_gets_its_name_back(deployed) -> None:
    project, ws, job_id = deployed
    name = settings(ws, job_id)["name"]
    ws.client().jobs.update(job_id, new_settings=JobSettings(name="renamed in the UI"))

    deployed_again = dab(project, ws, "deploy", "--engine", "sdk")

    assert deployed_again.returncode == 0, output(deployed_again)
    assert "(changed in the workspace: name)" in deployed_again.stdout
    assert settings(ws, job_id)["name"] == name


def test_the_dry_run_names_what_was_changed_in_the_workspace_and_changes_nothing(deployed) -> None:
    project, ws, job_id = deployed
    ws.client().jobs.update(job_id, new_settings=JobSettings(max_concurrent_runs=5))
    before = settings(ws, job_id)

    planned = dab(project, ws, "deploy", "--engine", "sdk", "--dry-run")

    assert planned.returncode == 0, output(planned)
    line = next(x for x in planned.stdout.splitlines() if f" {JOB} " in x)
    assert line.split()[0] == "update", planned.stdout
    assert line.endswith("(changed in the workspace: max_concurrent_runs)"), line
    assert settings(ws, job_id) == before


def test_a_tag_added_in_the_workspace_is_removed_as_the_cli_removes_it(deployed) -> None:
    project, ws, job_id = deployed
    tags = settings(ws, job_id)["tags"]
    ws.client().jobs.update(job_id, new_settings=JobSettings(tags={**tags, "new_tag": "v"}))

    again = dab(project, ws, "deploy", "--engine", "sdk")

    assert "(changed in the workspace: tags['new_tag'])" in again.stdout, output(again)
    assert settings(ws, job_id)["tags"] == tags


def test_a_task_removed_in_the_workspace_is_put_back(deployed) -> None:
    project, ws, job_id = deployed
    tasks = settings(ws, job_id)["tasks"]
    removed = tasks[-1]["task_key"]
    ws.client().jobs.update(job_id, fields_to_remove=[f"tasks/{removed}"])
    assert len(settings(ws, job_id)["tasks"]) == len(tasks) - 1

    again = dab(project, ws, "deploy", "--engine", "sdk")

    assert f"changed in the workspace: tasks[task_key='{removed}']" in again.stdout, output(again)
    assert sorted(t["task_key"] for t in settings(ws, job_id)["tasks"]) == sorted(
        t["task_key"] for t in tasks
    )


def test_after_putting_an_edited_job_back_the_next_deploy_leaves_it_unchanged(deployed) -> None:
    project, ws, job_id = deployed
    ws.client().jobs.update(job_id, new_settings=JobSettings(timeout_seconds=60))
    assert dab(project, ws, "deploy", "--engine", "sdk").returncode == 0

    again = dab(project, ws, "deploy", "--engine", "sdk")

    assert f"unchanged {JOB}" in again.stdout, output(again)


def test_summary_reports_a_job_edited_in_the_workspace_as_drifted(deployed) -> None:
    project, ws, job_id = deployed
    assert dab(project, ws, "build").returncode == 0
    ws.client().jobs.update(job_id, new_settings=JobSettings(name="renamed in the UI"))

    written = project / "summary.json"
    summary = dab(project, ws, "summary", "--format", "json", "-o", str(written))

    assert summary.returncode == 0, output(summary)
    (job,) = json.loads(written.read_text(encoding="utf-8"))["jobs"]
    assert job["in_sync"] is False
    assert "changed in the workspace: name" in job["drift"]


def test_a_permission_granted_in_the_workspace_is_revoked_as_the_cli_revokes_it(
    fake_workspace: FakeWorkspace, tmp_path: Path
) -> None:
    ws, project = fake_workspace, copy_example(tmp_path)
    assert dab(project, ws, "deploy", "--engine", "sdk", "-t", "prod").returncode == 0
    (job_id,) = ws.jobs
    granted = ws.job_permissions[job_id]
    extra = JobAccessControlRequest(
        group_name="admin-team", permission_level=JobPermissionLevel.CAN_MANAGE
    )
    mine = [JobAccessControlRequest.from_dict(entry) for entry in granted]
    ws.client().jobs.set_permissions(str(job_id), access_control_list=[*mine, extra])

    again = dab(project, ws, "deploy", "--engine", "sdk", "-t", "prod")

    assert again.returncode == 0, output(again)
    assert "(changed in the workspace: permissions[group_name='admin-team'])" in again.stdout
    assert ws.job_permissions[job_id] == granted
