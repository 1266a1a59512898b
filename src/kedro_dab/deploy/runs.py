"""Start a job run, follow it task by task until it ends, cancel it, or repair it (run its
failed and skipped tasks again inside the same run, Jobs API `runs/repair`)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kedro_dab.deploy.workspace import Workspace, WorkspaceError, _gone, about

POLL_SECONDS = float(os.environ.get("KEDRO_DAB_POLL_SECONDS", "5"))
TRANSIENT_POLLS = 8
"""Transient errors in a row that following a run polls through before it gives up."""

_RESULT_TO_STATE = {
    "SUCCESS": "done",
    "SUCCESS_WITH_FAILURES": "done",
    "FAILED": "failed",
    "TIMEDOUT": "timed out",
    "MAXIMUM_CONCURRENT_RUNS_REACHED": "failed",
    "UPSTREAM_FAILED": "skipped",
    "EXCLUDED": "excluded",
    "DISABLED": "disabled",
    "CANCELED": "cancelled",
    "UPSTREAM_CANCELED": "cancelled",
}
"""A task's Jobs API `RunResultState` -> its state in kedro-dab's views."""

FAILED_TASK_STATES = ("failed", "timed out")
"""Task states whose state message says what went wrong."""


@dataclass(frozen=True)
class TaskRunInfo:
    """One task of a run: its state, when it started, how long it took, its page."""

    key: str
    state: str
    start_ms: int | None
    seconds: float | None
    """Wall time once it ended, or so far while it runs."""
    url: str
    depends_on: tuple[str, ...] = ()
    message: str = ""
    """Databricks' state message: why it failed, timed out or was skipped."""


@dataclass
class RunStatus:
    """A run's overall state and each task's state (pending, running, done, failed, ...)."""

    run_id: int
    url: str
    finished: bool
    result: str | None
    tasks: dict[str, str]
    task_runs: list[TaskRunInfo] = field(default_factory=list)
    """Every task, in dependency order."""
    start_ms: int | None = None
    seconds: float | None = None
    """The run's wall time (so far, while it runs)."""
    latest_repair_id: int | None = None
    job_id: int | None = None
    """The job the run is a run of."""

    @property
    def ok(self) -> bool:
        """True when the run ended successfully."""
        return self.finished and self.result == "SUCCESS"


def start(
    workspace: Workspace,
    job_id: int,
    job_parameters: dict[str, str] | None = None,
    *,
    key: str = "",
    target: str = "",
) -> int:
    """run-now of the job `key` of `target`; returns the run id. The request carries an
    idempotency token, so a retry of it after a lost response answers with the same run
    instead of starting a second one. A job deleted in the workspace since its deploy is an
    error that says so."""
    import uuid

    with about(f"job {job_id} (run-now)"), _deleted_since_deploy(job_id, key, target):
        waiter = workspace.client.jobs.run_now(
            job_id, job_parameters=job_parameters or None, idempotency_token=uuid.uuid4().hex
        )
    return int(waiter.run_id)


@contextlib.contextmanager
def _deleted_since_deploy(job_id: int, key: str, target: str) -> Iterator[None]:
    """An answer that the job does not exist becomes an error naming the deploy that brings
    it back."""
    from databricks.sdk.errors import DatabricksError

    try:
        yield
    except DatabricksError as exc:
        if not _gone(exc):
            raise
        name = f"'{key}' ({job_id})" if key else str(job_id)
        deploy = f"kedro dab deploy -t {target}" if target else "kedro dab deploy"
        raise WorkspaceError(
            f"job {name} no longer exists in the workspace (deleted there since the last "
            f"deploy?); run `{deploy}` again to create it"
        ) from None


def status(workspace: Workspace, run_id: int, page: str = "") -> RunStatus:
    """The run's state now. A transient workspace error (5xx, a timeout, a dropped
    connection) is asked through, up to `TRANSIENT_POLLS` times in a row; then the error says
    the run goes on in Databricks (at `page`, the run's page, when known)."""
    for failures in range(1, TRANSIENT_POLLS + 1):
        try:
            return _status(workspace, run_id)
        except WorkspaceError as exc:
            if not exc.transient:
                raise
            last = exc
            time.sleep(POLL_SECONDS * min(2**failures, 12))
    where = f" ({page})" if page else ""
    raise WorkspaceError(
        f"{last}; run {run_id} goes on in Databricks{where}: follow it there, or cancel it there"
    )


def _status(workspace: Workspace, run_id: int) -> RunStatus:
    with about(f"run {run_id}"):
        run = workspace.client.jobs.get_run(run_id, include_history=True)
    life = _value(run.state.life_cycle_state) if run.state else None
    finished = life in ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")
    infos = _in_dependency_order([_task_info(task) for task in (run.tasks or [])])
    result = _value(run.state.result_state) if run.state else None
    repairs = [
        int(item.id)
        for item in (run.repair_history or [])
        if _value(item.type) == "REPAIR" and item.id is not None
    ]
    return RunStatus(
        int(run_id),
        str(run.run_page_url or ""),
        finished,
        result,
        {info.key: info.state for info in infos},
        infos,
        start_ms=run.start_time or None,
        seconds=_seconds(run.start_time, run.end_time),
        latest_repair_id=repairs[-1] if repairs else None,
        job_id=int(run.job_id) if run.job_id is not None else None,
    )


def _task_info(task: Any) -> TaskRunInfo:
    return TaskRunInfo(
        key=str(task.task_key),
        state=_task_state(task),
        start_ms=task.start_time or None,
        seconds=_seconds(task.start_time, task.end_time),
        url=str(task.run_page_url or ""),
        depends_on=tuple(str(d.task_key) for d in (task.depends_on or [])),
        message=_message(task),
    )


def _message(task: Any) -> str:
    """The task's state message, else its termination message (the newer `status` field)."""
    message = task.state.state_message if task.state else None
    if not message and task.status and task.status.termination_details:
        message = task.status.termination_details.message
    return str(message or "")


def _seconds(start: int | None, end: int | None) -> float | None:
    if not start:
        return None
    stop = end or int(time.time() * 1000)
    return max(stop - start, 0) / 1000


def _in_dependency_order(infos: list[TaskRunInfo]) -> list[TaskRunInfo]:
    """Tasks after the tasks they depend on; otherwise in the order the run lists them."""
    from graphlib import TopologicalSorter

    by_key = {info.key: info for info in infos}
    sorter: TopologicalSorter[str] = TopologicalSorter()
    for info in infos:
        sorter.add(info.key, *(d for d in info.depends_on if d in by_key))
    sorter.prepare()
    position = {info.key: i for i, info in enumerate(infos)}
    out: list[TaskRunInfo] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=position.__getitem__)
        out.extend(by_key[k] for k in ready)
        sorter.done(*ready)
    return out


def _task_state(task: Any) -> str:
    state = task.state
    life = _value(state.life_cycle_state) if state else None
    result = _value(state.result_state) if state else None
    if result:
        return _RESULT_TO_STATE.get(result, result.lower().replace("_", " "))
    if life in ("RUNNING", "TERMINATING"):
        return "running"
    if life in ("SKIPPED",):
        return "skipped"
    if life in ("INTERNAL_ERROR",):
        return "failed"
    return "pending"


def _value(item: Any) -> str | None:
    return None if item is None else str(getattr(item, "value", item))


def follow(
    workspace: Workspace,
    run_id: int,
    on_change: Callable[[RunStatus], None],
    poll_seconds: float = POLL_SECONDS,
) -> RunStatus:
    """Poll until the run ends, calling `on_change` whenever a task changes state (a passing
    workspace fault is polled through: see `status`)."""
    seen: dict[str, str] = {}
    page = ""
    while True:
        current = status(workspace, run_id, page)
        page = current.url or page
        if current.tasks != seen or current.finished:
            on_change(current)
            seen = dict(current.tasks)
        if current.finished:
            return current
        time.sleep(poll_seconds)


def cancel(workspace: Workspace, run_id: int) -> None:
    """Ask Databricks to cancel the run."""
    with about(f"run {run_id} (cancel)"):
        workspace.client.jobs.cancel_run(run_id)


UNSUCCESSFUL_TASK_STATES = (*FAILED_TASK_STATES, "skipped", "excluded", "cancelled")
"""What a repair runs again (a disabled task would only be disabled again)."""


def require_job(workspace: Workspace, job_id: int, key: str, target: str) -> None:
    """Read the job `key` of `target`: one deleted in the workspace since its deploy is an
    error that says so."""
    with about(f"job {job_id}"), _deleted_since_deploy(job_id, key, target):
        workspace.client.jobs.get(job_id)


def latest_unsuccessful_run(workspace: Workspace, job_id: int, job_key: str) -> int:
    """The most recent run of the job that ended without success."""
    with about(f"runs of job '{job_key}' ({job_id})"):
        for run in workspace.client.jobs.list_runs(job_id=job_id, completed_only=True, limit=25):
            result = _value(run.state.result_state) if run.state else None
            if result != "SUCCESS":
                return int(run.run_id)
    raise WorkspaceError(
        f"job '{job_key}' has no failed run to repair; `kedro dab run` starts a new one"
    )


def repair(
    workspace: Workspace, run_id: int, job_id: int | None = None, key: str = "", target: str = ""
) -> tuple[int, list[str]]:
    """Run the failed, cancelled and skipped tasks of a finished, unsuccessful run again,
    inside that run; (repair id, the tasks run again). Given `job_id` (the job `key` of
    `target`), a run of another job is refused."""
    current = status(workspace, run_id)
    if job_id is not None and current.job_id != job_id:
        of = f" of target '{target}'" if target else ""
        raise WorkspaceError(
            f"run {run_id} is a run of job {current.job_id}, not of job '{key}' ({job_id}){of}; "
            f"repair a run of '{key}', or choose the target that deployed job "
            f"{current.job_id} with -t"
        )
    if not current.finished:
        raise WorkspaceError(
            f"run {run_id} is still going; repair it once it has ended "
            f"(or `kedro dab run` follows a new one)"
        )
    if current.ok:
        raise WorkspaceError(f"run {run_id} succeeded; there is nothing to repair")
    rerun = [t.key for t in current.task_runs if t.state in UNSUCCESSFUL_TASK_STATES]
    if not rerun:
        raise WorkspaceError(f"run {run_id} has no failed or skipped task to run again")
    with about(f"run {run_id} (repair)"):
        waiter = workspace.client.jobs.repair_run(
            run_id, rerun_tasks=rerun, latest_repair_id=current.latest_repair_id
        )
    return int(waiter.response.repair_id), rerun
