"""The SDK engine acts only on the jobs its own target deployed: a job with the same tags
deployed from another state folder (another checkout's or another user's copy of the target),
or cloned in the UI, is neither taken over, nor deleted as a duplicate, nor destroyed."""

from __future__ import annotations

import copy

import pytest

from tests.e2e.deploy_helpers import copy_example, dab, output, with_dev_workspace
from tests.fake_workspace import FakeWorkspace

pytestmark = pytest.mark.e2e

OTHER_ROOT = "/Workspace/Users/${workspace.current_user.userName}/.bundle/spaceflights-b/dev"


def metadata_paths(ws: FakeWorkspace) -> dict[int, str | None]:
    return {
        job_id: (job["settings"].get("deployment") or {}).get("metadata_file_path")
        for job_id, job in ws.jobs.items()
    }


def test_a_second_checkout_of_the_target_deploys_its_own_job_and_destroys_only_that(
    fake_workspace: FakeWorkspace, tmp_path
):
    ws = fake_workspace
    first = copy_example(tmp_path / "a")
    second = with_dev_workspace(copy_example(tmp_path / "b"), root_path=OTHER_ROOT)
    assert dab(first, ws, "deploy", "--engine", "sdk").returncode == 0
    (first_job,) = ws.jobs
    first_path = metadata_paths(ws)[first_job]

    deployed = dab(second, ws, "deploy", "--engine", "sdk")
    again = dab(first, ws, "deploy", "--engine", "sdk")

    assert deployed.returncode == 0, output(deployed)
    assert len(ws.jobs) == 2, "the second checkout creates a job of its own"
    assert metadata_paths(ws)[first_job] == first_path, "the first job is not taken over"
    assert again.returncode == 0, output(again)
    assert "unchanged spaceflights" in again.stdout
    assert "delete    job" not in again.stdout

    destroyed = dab(second, ws, "destroy", "--engine", "sdk", "--auto-approve")

    assert destroyed.returncode == 0, output(destroyed)
    assert list(ws.jobs) == [first_job]


def test_a_job_cloned_in_the_ui_is_not_deleted_as_a_duplicate(
    fake_workspace: FakeWorkspace, tmp_path
):
    from databricks.sdk.service.jobs import JobSettings

    ws = fake_workspace
    project = copy_example(tmp_path)
    assert dab(project, ws, "deploy", "--engine", "sdk").returncode == 0
    (deployed,) = ws.jobs
    clone = copy.deepcopy(ws.jobs[deployed]["settings"])
    clone["name"] = "Clone of spaceflights (an experiment)"
    clone.pop("deployment", None)
    clone["edit_mode"] = "EDITABLE"
    fields = vars(JobSettings.from_dict(clone))
    ws.client().jobs.create(**{k: v for k, v in fields.items() if v not in (None, [])})

    redeployed = dab(project, ws, "deploy", "--engine", "sdk")

    assert redeployed.returncode == 0, output(redeployed)
    assert "duplicate" not in redeployed.stdout
    assert len(ws.jobs) == 2
