"""Start a job run and follow it task by task until it ends."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kedro_dab.deploy.workspace import Workspace, about

POLL_SECONDS = float(os.environ.get("KEDRO_DAB_POLL_SECONDS", "5"))

_RESULT_TO_STATE = {
    "SUCCESS": "done",
    "SUCCESS_WITH_FAILURES": "done",
    "FAILED": "failed",
    "TIMEDOUT": "failed",
    "MAXIMUM_CONCURRENT_RUNS_REACHED": "failed",
    "UPSTREAM_FAILED": "skipped",
    "EXCLUDED": "skipped",
    "SKIPPED": "skipped",
    "CANCELED": "cancelled",
    "UPSTREAM_CANCELED": "cancelled",
}


@dataclass
class RunStatus:
    """A run's overall state and each task's state (pending, running, done, failed, ...)."""

    run_id: int
    url: str
    finished: bool
    result: str | None
    tasks: dict[str, str]

    @property
    def ok(self) -> bool:
        """True when the run ended successfully."""
        return self.finished and self.result == "SUCCESS"


def start(workspace: Workspace, job_id: int, job_parameters: dict[str, str] | None = None) -> int:
    """run-now; returns the run id."""
    with about(f"job {job_id} (run-now)"):
        waiter = workspace.client.jobs.run_now(job_id, job_parameters=job_parameters or None)
    return int(waiter.run_id)


def status(workspace: Workspace, run_id: int) -> RunStatus:
    """The run's state now."""
    with about(f"run {run_id}"):
        run = workspace.client.jobs.get_run(run_id)
    life = _value(run.state.life_cycle_state) if run.state else None
    finished = life in ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")
    tasks = {task.task_key: _task_state(task) for task in (run.tasks or [])}
    result = _value(run.state.result_state) if run.state else None
    return RunStatus(int(run_id), str(run.run_page_url or ""), finished, result, tasks)


def _task_state(task: Any) -> str:
    state = task.state
    life = _value(state.life_cycle_state) if state else None
    result = _value(state.result_state) if state else None
    if result:
        return _RESULT_TO_STATE.get(result, "failed")
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
    """Poll until the run ends, calling `on_change` whenever a task changes state."""
    seen: dict[str, str] = {}
    while True:
        current = status(workspace, run_id)
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
