"""The fake workspace's `runs/repair`, as strict as Databricks: only a run that has ended
without success, task keys of that run, and the latest repair id once it was repaired."""

from __future__ import annotations

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue
from databricks.sdk.service import jobs

from tests.e2e.test_fake_workspace import ENVIRONMENTS, final_tasks, poll, w, wheel_task
from tests.fake_workspace import FakeWorkspace

__all__ = ["w"]

pytestmark = pytest.mark.e2e


def failed_run(w: WorkspaceClient, fake: FakeWorkspace) -> int:
    job_id = w.jobs.create(
        name="r", environments=ENVIRONMENTS, tasks=[wheel_task("a"), wheel_task("b", "a")]
    ).job_id
    assert job_id is not None
    fake.fail_task("a", "boom")
    run_id = w.jobs.run_now(job_id).run_id
    assert run_id is not None
    list(poll(w, run_id))
    fake.failing_tasks.clear()
    return run_id


def test_a_repair_reruns_the_chosen_tasks_inside_the_same_run(
    w: WorkspaceClient, fake_workspace: FakeWorkspace
) -> None:
    run_id = failed_run(w, fake_workspace)
    before = {k: t.run_id for k, t in final_tasks(w.jobs.get_run(run_id)).items()}

    repair_id = w.jobs.repair_run(run_id, rerun_tasks=["a", "b"]).response.repair_id
    final = list(poll(w, run_id))[-1]

    assert final.state is not None and final.state.result_state == jobs.RunResultState.SUCCESS
    after = final_tasks(final)
    assert {k: t.state.result_state for k, t in after.items() if t.state} == {
        "a": jobs.RunResultState.SUCCESS,
        "b": jobs.RunResultState.SUCCESS,
    }
    assert all(after[k].run_id != before[k] for k in before)
    history = w.jobs.get_run(run_id, include_history=True).repair_history or []
    assert [(h.type, h.id) for h in history][1:] == [(jobs.RepairHistoryItemType.REPAIR, repair_id)]
    assert history[0].type == jobs.RepairHistoryItemType.ORIGINAL


def test_a_run_still_going_cannot_be_repaired(
    w: WorkspaceClient, fake_workspace: FakeWorkspace
) -> None:
    job_id = w.jobs.create(name="g", environments=ENVIRONMENTS, tasks=[wheel_task("a")]).job_id
    assert job_id is not None
    run_id = w.jobs.run_now(job_id).run_id
    assert run_id is not None
    with pytest.raises(InvalidParameterValue, match="cannot be repaired until it has finished"):
        w.jobs.repair_run(run_id, rerun_tasks=["a"])


def test_a_successful_run_cannot_be_repaired(w: WorkspaceClient) -> None:
    job_id = w.jobs.create(name="s", environments=ENVIRONMENTS, tasks=[wheel_task("a")]).job_id
    assert job_id is not None
    run_id = w.jobs.run_now(job_id).run_id
    assert run_id is not None
    list(poll(w, run_id))
    with pytest.raises(InvalidParameterValue, match="only unsuccessful runs"):
        w.jobs.repair_run(run_id, rerun_tasks=["a"])


def test_rerun_tasks_must_be_tasks_of_the_run(
    w: WorkspaceClient, fake_workspace: FakeWorkspace
) -> None:
    run_id = failed_run(w, fake_workspace)
    with pytest.raises(InvalidParameterValue, match="Task keys nope are not in run"):
        w.jobs.repair_run(run_id, rerun_tasks=["nope"])


def test_a_second_repair_must_name_the_latest_repair(
    w: WorkspaceClient, fake_workspace: FakeWorkspace
) -> None:
    run_id = failed_run(w, fake_workspace)
    fake_workspace.fail_task("a", "again")
    first = w.jobs.repair_run(run_id, rerun_tasks=["a", "b"]).response.repair_id
    list(poll(w, run_id))
    fake_workspace.failing_tasks.clear()

    with pytest.raises(InvalidParameterValue, match=f"latest_repair_id must be {first}"):
        w.jobs.repair_run(run_id, rerun_tasks=["a", "b"])
    w.jobs.repair_run(run_id, rerun_tasks=["a", "b"], latest_repair_id=first)
    final = list(poll(w, run_id))[-1]
    assert final.state is not None and final.state.result_state == jobs.RunResultState.SUCCESS
