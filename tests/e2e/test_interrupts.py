"""Ctrl-C in `kedro dab run` answered "n" (the run goes on, and the command says where) and in
`kedro dab deploy` during its uploads (exit 130, the lock released, and a second deploy that
converges); real SIGINTs to `kedro dab` against the fake workspace."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.deploy_helpers import (
    JOB,
    bundle_root,
    copy_example,
    dab,
    interrupt_run,
    lock_path,
    module_workspace,
    only_job,
    output,
    read_state,
    start_kedro_dab,
)
from tests.fake_workspace import FakeWorkspace

pytestmark = pytest.mark.e2e


def interrupt_deploy(project: Path, ws: FakeWorkspace) -> tuple[int, str]:
    """`kedro dab deploy` against `ws`, sent SIGINT while it uploads the conf (held there 5 s):
    (exit code, combined output)."""
    held = ws.faults.delay(5, r"/import-file/.*/conf/base/catalog\.yml$", method="POST")
    process = start_kedro_dab(project, ws, "deploy", "--engine", "sdk")
    deadline = time.monotonic() + 120
    while not held.fired and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert held.fired, "the deploy never reached the conf upload"
    os.kill(process.pid, signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    return process.returncode, out


# --- run ------------------------------------------------------------------------------------------


def test_ctrl_c_in_a_run_answered_no_says_the_run_goes_on_with_its_page(
    fake_workspace: FakeWorkspace, tmp_path: Path
) -> None:
    ws = fake_workspace
    project = copy_example(tmp_path)
    assert dab(project, ws, "deploy", "--engine", "sdk").returncode == 0
    returncode, out = interrupt_run(project, ws, timeout=60, answer="n")

    assert returncode == 130, out
    assert not ws.requests("POST", r"/jobs/runs/cancel$")
    run = max(ws.runs.values(), key=lambda r: r.run_id)
    page = run.run_page_url(ws.host, ws.workspace_id)
    assert f"run {run.run_id} goes on in Databricks ({page})" in out, out


# --- deploy ---------------------------------------------------------------------------------------


@dataclass
class Interrupted:
    """A deploy of the example interrupted while it uploaded the conf."""

    project: Path
    ws: FakeWorkspace
    returncode: int
    out: str
    lock_left: bool


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Interrupted]:
    base = tmp_path_factory.mktemp("interrupted-deploy")
    project = copy_example(base)
    with module_workspace(base) as ws:
        returncode, out = interrupt_deploy(project, ws)
        yield Interrupted(project, ws, returncode, out, lock_path(ws) in ws.files)


def test_ctrl_c_during_a_deploy_s_uploads_exits_130(interrupted: Interrupted) -> None:
    assert interrupted.returncode == 130, interrupted.out
    assert "Aborted!" not in interrupted.out


def test_ctrl_c_during_a_deploy_s_uploads_says_the_lock_is_free_and_to_deploy_again(
    interrupted: Interrupted,
) -> None:
    said = [ln for ln in interrupted.out.splitlines() if "interrupted" in ln.lower()]
    assert len(said) == 1, interrupted.out
    assert "deploy lock" in said[0] and "`kedro dab deploy -t dev`" in said[0], said[0]


def test_ctrl_c_during_a_deploy_s_uploads_releases_the_deploy_lock(
    interrupted: Interrupted,
) -> None:
    assert not interrupted.lock_left, interrupted.out


def test_a_deploy_after_an_interrupted_one_converges(interrupted: Interrupted) -> None:
    ws = interrupted.ws

    again = dab(interrupted.project, ws, "deploy", "--engine", "sdk")

    assert again.returncode == 0, output(again)
    job = only_job(ws)
    assert read_state(ws)["jobs"] == {JOB: job["job_id"]}
    catalog = interrupted.project / "conf" / "base" / "catalog.yml"
    assert ws.files[f"{bundle_root(ws)}/files/conf/base/catalog.yml"] == catalog.read_bytes()
    assert lock_path(ws) not in ws.files


def test_ctrl_c_during_a_deploy_whose_lock_cannot_be_released_says_so_and_to_force_it(
    fake_workspace: FakeWorkspace, tmp_path: Path
) -> None:
    ws = fake_workspace
    project = copy_example(tmp_path)
    ws.faults.add(
        "POST",
        r"/api/2\.0/workspace/delete$",
        status=403,
        times=10,
        error_code="PERMISSION_DENIED",
        message="no permission",
        body_regex=r"deploy\.lock",
    )
    returncode, out = interrupt_deploy(project, ws)

    assert returncode == 130, out
    said = [ln for ln in out.splitlines() if "interrupted" in ln.lower()]
    assert len(said) == 1, out
    assert "could not be released" in said[0] and "--force-lock" in said[0], said[0]
    assert "lock is released" not in out, out
    assert lock_path(ws) in ws.files
