"""How `kedro dab run` reports the end of each task: timed out, disabled, excluded and failed
tasks as what they are, each failed task's state message after the final view, a job
deleted in the workspace since its deploy, and a repair of another job's run; the example
deployed to the fake workspace."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.deploy_helpers import (
    Deployed,
    dab,
    deploy_example,
    deployed_example,
    error_lines,
    only_job,
    output,
)
from tests.e2e.test_fake_workspace import ENVIRONMENTS, poll, wheel_task
from tests.fake_workspace import FakeWorkspace
from tests.fake_workspace import jobs as fake_jobs

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    with deployed_example(tmp_path_factory.mktemp("run-outcomes")) as example:
        yield example


def states(stdout: str) -> dict[str, str]:
    """Task key -> state, from the final view (its columns are two or more spaces apart)."""
    lines = stdout.splitlines()
    start = max(i for i, line in enumerate(lines) if re.search(r"task\s+state\s+start", line))
    out = {}
    for line in lines[start + 1 :]:
        if line.startswith("total: "):
            return out
        key, state, *_ = re.split(r"\s{2,}", line)
        out[key] = state
    raise AssertionError(f"no total line in:\n{stdout}")


def after_the_view(stdout: str) -> list[str]:
    """The lines printed after the final view's total line."""
    lines = stdout.splitlines()
    total = max(i for i, line in enumerate(lines) if line.startswith("total: "))
    return lines[total + 1 :]


@contextmanager
def task_settings(ws: FakeWorkspace, key: str, **changes: Any) -> Iterator[None]:
    """The deployed job's task `key` with `changes`, as if edited in the UI, while the block
    runs."""
    job = only_job(ws)
    saved = copy.deepcopy(job["settings"])
    (task,) = [t for t in job["settings"]["tasks"] if t["task_key"] == key]
    task.update(changes)
    try:
        yield
    finally:
        job["settings"] = saved


@pytest.fixture
def time_out(monkeypatch: pytest.MonkeyPatch, deployed: Deployed) -> Callable[[str, str], None]:
    """`time_out(key, message)`: runs end the task `key` TIMEDOUT with `message`, as Databricks
    ends a task that reached its `timeout_seconds` (the fake workspace only fails tasks)."""
    chosen: dict[str, str] = {}
    tick = fake_jobs.JobRun.tick

    def timing_out(run: fake_jobs.JobRun, failing: Any, can_start: Any) -> None:
        tick(run, {**failing, **chosen}, can_start)
        for key in chosen:
            task = run.tasks.get(key)
            if task is not None and task.result_state == "FAILED":
                task.result_state = "TIMEDOUT"

    monkeypatch.setattr(fake_jobs.JobRun, "tick", timing_out)
    return chosen.__setitem__


def test_a_timed_out_task_shows_as_timed_out_and_the_run_exits_1(
    deployed: Deployed, time_out: Callable[[str, str], None]
) -> None:
    time_out("candidate_modelling_pipeline", "Task timed out after 3600 seconds.")

    result = dab(deployed.project, deployed.ws, "run")

    assert result.returncode == 1, output(result)
    assert states(result.stdout)["candidate_modelling_pipeline"] == "timed out", result.stdout


def test_a_timed_out_task_s_state_message_is_printed_after_the_view(
    deployed: Deployed, time_out: Callable[[str, str], None]
) -> None:
    time_out("candidate_modelling_pipeline", "Task timed out after 3600 seconds.")

    result = dab(deployed.project, deployed.ws, "run")

    assert (
        "task candidate_modelling_pipeline timed out: Task timed out after 3600 seconds."
        in after_the_view(result.stdout)
    ), output(result)


def test_a_failed_task_s_state_message_is_printed_after_the_view(deployed: Deployed) -> None:
    deployed.ws.fail_task("reporting", "ValueError: the report has no rows")
    try:
        result = dab(deployed.project, deployed.ws, "run")
    finally:
        deployed.ws.failing_tasks.clear()

    assert result.returncode == 1, output(result)
    assert states(result.stdout)["reporting"] == "failed"
    assert "task reporting failed: ValueError: the report has no rows" in after_the_view(
        result.stdout
    ), output(result)


def test_a_long_state_message_over_many_lines_is_printed_as_one_trimmed_line(
    deployed: Deployed,
) -> None:
    message = "Traceback (most recent call last):\n  File 'x.py'\n" + "boom " * 200
    deployed.ws.fail_task("reporting", message)
    try:
        result = dab(deployed.project, deployed.ws, "run")
    finally:
        deployed.ws.failing_tasks.clear()

    (line,) = [ln for ln in after_the_view(result.stdout) if ln.startswith("task reporting")]
    assert line.startswith("task reporting failed: Traceback (most recent call last): File"), line
    assert len(line) <= 240, line


def test_a_disabled_task_shows_as_disabled(deployed: Deployed) -> None:
    with task_settings(deployed.ws, "reporting", disabled=True):
        result = dab(deployed.project, deployed.ws, "run")

    assert result.returncode == 0, output(result)
    assert states(result.stdout)["reporting"] == "disabled", result.stdout


def test_a_task_whose_run_condition_was_not_met_shows_as_excluded(deployed: Deployed) -> None:
    with task_settings(deployed.ws, "reporting", run_if="AT_LEAST_ONE_FAILED"):
        result = dab(deployed.project, deployed.ws, "run")

    assert result.returncode == 0, output(result)
    assert states(result.stdout)["reporting"] == "excluded", result.stdout


def test_a_task_skipped_after_an_upstream_failure_shows_as_skipped(deployed: Deployed) -> None:
    deployed.ws.fail_task("candidate_modelling_pipeline", "Injected: diverged.")
    try:
        result = dab(deployed.project, deployed.ws, "run")
    finally:
        deployed.ws.failing_tasks.clear()

    assert result.returncode == 1, output(result)
    assert states(result.stdout)["reporting"] == "skipped", result.stdout


def test_a_successful_run_prints_nothing_after_its_end_line_and_exits_0(
    deployed: Deployed,
) -> None:
    result = dab(deployed.project, deployed.ws, "run")

    assert result.returncode == 0, output(result)
    (ended,) = after_the_view(result.stdout)
    assert ended.startswith("run ") and " ended: SUCCESS " in ended


@pytest.mark.parametrize("args", [["run"], ["run", "--repair"]], ids=["run", "repair"])
def test_a_job_deleted_in_the_workspace_says_so_and_to_deploy_again(
    fake_workspace: FakeWorkspace, tmp_path: Path, args: list[str]
) -> None:
    ws = fake_workspace
    project, job_id = deploy_example(ws, tmp_path)
    ws.client().jobs.delete(job_id)

    result = dab(project, ws, *args)

    assert result.returncode == 2, output(result)
    (line,) = error_lines(result)
    assert f"job 'spaceflights' ({job_id})" in line, line
    assert "no longer exists in the workspace" in line, line
    assert "`kedro dab deploy -t dev`" in line, line


def test_a_repair_of_another_job_s_run_is_refused_and_repairs_nothing(
    fake_workspace: FakeWorkspace, tmp_path: Path
) -> None:
    ws = fake_workspace
    project, job_id = deploy_example(ws, tmp_path)
    w = ws.client()
    other = w.jobs.create(name="other", environments=ENVIRONMENTS, tasks=[wheel_task("a")]).job_id
    ws.fail_task("a", "boom")
    run_id = w.jobs.run_now(other).run_id
    assert run_id is not None
    list(poll(w, run_id))
    ws.failing_tasks.clear()

    result = dab(project, ws, "run", "--repair", str(run_id))

    assert result.returncode == 2, output(result)
    assert error_lines(result) == [
        f"Error: run {run_id} is a run of job {other}, not of job 'spaceflights' ({job_id}) of "
        f"target 'dev'; repair a run of 'spaceflights', or choose the target that deployed job "
        f"{other} with -t"
    ]
    assert ws.requests("POST", r"/jobs/runs/repair$") == []
