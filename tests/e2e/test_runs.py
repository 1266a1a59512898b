"""`kedro dab run` on Databricks: the final view of every task, `--repair` of a failed run,
and a cancel that leaves no task running; the example deployed to the fake workspace."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.e2e.deploy_helpers import (
    TASKS,
    Deployed,
    dab,
    deployed_example,
    error_lines,
    interrupt_run,
    only_job,
    output,
)

pytestmark = pytest.mark.e2e

ROW = re.compile(r"^(?P<key>\S+)\s+(?P<state>\S+)\s+(?P<start>\S+)\s+(?P<time>\S+)\s+(?P<url>\S+)$")


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    with deployed_example(tmp_path_factory.mktemp("runs")) as example:
        yield example


def final_view(stdout: str) -> tuple[list[dict[str, str]], str]:
    """The rows of the final table and its total line."""
    lines = stdout.splitlines()
    # an answer piped to a prompt is not echoed, so the header may follow the prompt's line
    header = re.compile(r"(^|\]: )task\s+state\s+start")
    start = max(i for i, line in enumerate(lines) if header.search(line))
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("total: "):
            return rows, line
        match = ROW.match(line)
        assert match, line
        rows.append(match.groupdict())
    raise AssertionError(f"no total line in:\n{stdout}")


def test_the_final_view_lists_every_task_in_dependency_order_with_start_time_and_url(
    deployed: Deployed,
) -> None:
    ws = deployed.ws
    result = dab(deployed.project, ws, "run")
    assert result.returncode == 0, output(result)
    rows, total = final_view(result.stdout)
    assert {r["key"] for r in rows} == TASKS
    order = [r["key"] for r in rows]
    for task in only_job(ws)["settings"]["tasks"]:
        for dep in task.get("depends_on", []):
            assert order.index(dep["task_key"]) < order.index(task["task_key"]), order
    run = max(ws.runs.values(), key=lambda r: r.run_id)
    for row in rows:
        task = run.tasks[row["key"]]
        assert row["state"] == "done"
        assert row["url"] == run.run_page_url(ws.host, ws.workspace_id, task.run_id)
        assert re.fullmatch(r"\d\d:\d\d:\d\d", row["start"])
        assert re.fullmatch(r"\d+\.\ds", row["time"])
    assert total.startswith(f"total: {len(TASKS)} tasks ({len(TASKS)} done) in ")


def test_repair_reruns_the_failed_and_skipped_tasks_of_the_latest_failed_run(
    deployed: Deployed,
) -> None:
    ws = deployed.ws
    ws.fail_task("candidate_modelling_pipeline", "Injected: diverged.")
    try:
        failed = dab(deployed.project, ws, "run")
    finally:
        ws.failing_tasks.clear()
    assert failed.returncode == 1, output(failed)
    run = max(ws.runs.values(), key=lambda r: r.run_id)
    unsuccessful = sorted(
        k for k, t in run.tasks.items() if t.result_state not in ("SUCCESS", None)
    )
    assert unsuccessful == ["candidate_modelling_pipeline", "reporting"]
    starts = len(ws.requests("POST", r"/jobs/run-now$"))

    repaired = dab(deployed.project, ws, "run", "--repair")

    assert repaired.returncode == 0, output(repaired)
    (request,) = ws.requests("POST", r"/jobs/runs/repair$")
    assert request.json["run_id"] == run.run_id
    assert sorted(request.json["rerun_tasks"]) == unsuccessful
    assert len(ws.requests("POST", r"/jobs/run-now$")) == starts
    assert f"run {run.run_id} ended: SUCCESS" in repaired.stdout
    rows, _ = final_view(repaired.stdout)
    assert {r["key"]: r["state"] for r in rows} == dict.fromkeys(TASKS, "done")

    again = dab(deployed.project, ws, "run", "--repair", str(run.run_id))
    assert again.returncode == 2, output(again)
    assert error_lines(again) == [f"Error: run {run.run_id} succeeded; there is nothing to repair"]


def test_after_a_cancel_no_task_is_left_running(deployed: Deployed) -> None:
    returncode, out = interrupt_run(deployed.project, deployed.ws, timeout=120)
    assert returncode == 130, out
    rows, _ = final_view(out)
    assert {r["key"] for r in rows} == TASKS
    assert not [r for r in rows if r["state"] in ("running", "pending")], out
    assert "cancelled run" in out


def test_a_passing_server_error_while_following_a_run_is_polled_through(deployed: Deployed):
    deployed.ws.faults.add("GET", r"/jobs/runs/get$", status=500, times=2)

    result = dab(deployed.project, deployed.ws, "run")

    assert result.returncode == 0, output(result)
    rows, _ = final_view(result.stdout)
    assert {row["state"] for row in rows} == {"done"}


def test_a_lasting_server_error_while_following_says_the_run_goes_on_with_its_page(
    deployed: Deployed,
):
    deployed.ws.faults.add("GET", r"/jobs/runs/get$", status=500, times=1000, after=2)

    result = dab(deployed.project, deployed.ws, "run")

    deployed.ws.faults.clear()
    (line,) = error_lines(result)
    assert "goes on in Databricks (http" in line and "/runs/" in line, output(result)
    going = max(deployed.ws.runs)
    assert deployed.ws.runs[going].life_cycle_state not in ("TERMINATED", "SKIPPED")
    client = deployed.ws.client()
    client.jobs.cancel_run(going)  # the next test's run would queue behind it
    for _ in range(200):  # the fake's runs move on as they are polled
        if deployed.ws.runs[going].life_cycle_state == "TERMINATED":
            break
        client.jobs.get_run(going)
    assert deployed.ws.runs[going].life_cycle_state == "TERMINATED"


def test_a_run_now_whose_response_is_lost_starts_one_run(deployed: Deployed):
    before = set(deployed.ws.runs)
    deployed.ws.faults.drop_response(r"/jobs/run-now$", method="POST")

    result = dab(deployed.project, deployed.ws, "run")

    assert result.returncode == 0, output(result)
    assert len(set(deployed.ws.runs) - before) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--env", "prod"], "--env goes with --local"),
        (["--jobs", "2"], "--jobs goes with --local"),
        (["--run-id", "r1"], "--run-id goes with --local"),
        (["--serverless"], "--serverless goes with --connect"),
        (["--cluster-id", "0101-000000-abcdefgh"], "--cluster-id goes with --connect"),
        (["--repair", "--params", "a=1"], "--params goes with a new run"),
        (["--repair", "١٢"], "--repair ١٢: expected a run id (digits)"),
        (["--repair", "9" * 20], f"--repair {'9' * 20}: expected a run id (digits)"),
    ],
    ids=[
        "env",
        "jobs",
        "run-id",
        "serverless",
        "cluster-id",
        "repair-params",
        "unicode-digits",
        "beyond-64-bits",
    ],
)
def test_an_option_a_remote_run_cannot_honour_is_refused_before_any_request(
    deployed: Deployed, args: list[str], message: str
) -> None:
    before = len(deployed.ws.log)

    result = dab(deployed.project, deployed.ws, "run", *args)

    assert result.returncode == 2, output(result)
    (line,) = error_lines(result)
    assert line.startswith(f"Error: {message}"), line
    assert "Traceback" not in result.stderr
    assert deployed.ws.log[before:] == []
