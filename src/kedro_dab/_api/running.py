"""Running a job (`kedro dab run`): its tasks simulated on this machine (`--local`), or the
deployed job started, repaired or cancelled in the workspace and followed until it ends."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kedro_dab._api.planning import local_plan
from kedro_dab.plan import Plan

if TYPE_CHECKING:
    from kedro_dab.deploy.runs import RunStatus
    from kedro_dab.simulate import SimulationResult
    from kedro_dab.simulate_tasks import TaskRun


def simulate(
    project_path: Path | str = ".",
    job: str | None = None,
    env: str | None = None,
    *,
    params: str | None = None,
    workers: int | None = None,
    listener: Callable[[TaskRun], None] | None = None,
    plan: Plan | None = None,
    run_id: str | None = None,
    repair: bool = False,
) -> SimulationResult:
    """`kedro dab run --local`: run a job's tasks on this machine as Databricks would, each in
    its own process, in dependency order. `env` is the Kedro env the tasks run with (default:
    the bundle's); `plan` may be given to simulate a plan built elsewhere. A job that persists
    boundary datasets runs under `run_id` (new by default); `repair` reruns what did not
    succeed in that run."""
    from kedro_dab.simulate import simulate as run_locally

    root = Path(project_path).resolve()
    if plan is None:
        plan = local_plan(root, env)
    return run_locally(
        root,
        plan,
        job,
        env=env,
        params=params,
        workers=workers,
        listener=listener,
        run_id=run_id,
        repair=repair,
    )


def run(
    project_path: Path | str = ".",
    job: str | None = None,
    target: str | None = None,
    *,
    profile: str | None = None,
    params: str | None = None,
    on_change: Callable[[RunStatus], None] = lambda status: None,
    on_start: Callable[[int, str], None] = lambda run_id, url: None,
    client: Any = None,
) -> RunStatus:
    """`kedro dab run`: start a deployed job (run-now) with `params` (`name=value,...`) as
    its job parameters, and follow it until it ends."""
    from kedro_dab.deploy import runs
    from kedro_dab.deploy.engines import job_id_for, job_parameters
    from kedro_dab.deploy.target import load_target

    root = Path(project_path).resolve()
    loaded = load_target(root, target)
    workspace, key, job_id = job_id_for(root, loaded, job, profile=profile, client=client)
    values = job_parameters(loaded, key, params)
    run_id = runs.start(workspace, job_id, values, key=key, target=loaded.name)
    first = runs.status(workspace, run_id)
    on_start(run_id, first.url)
    return runs.follow(workspace, run_id, on_change)


def cancel_run(
    project_path: Path | str,
    run_id: int,
    target: str | None = None,
    *,
    profile: str | None = None,
    client: Any = None,
    wait: bool = False,
) -> RunStatus | None:
    """Cancel a run started by `run`; with `wait`, follow it until it has ended (so that no
    task is left running) and return its final state."""
    from kedro_dab.deploy import runs
    from kedro_dab.deploy.target import load_target
    from kedro_dab.deploy.workspace import Workspace, connect

    loaded = load_target(Path(project_path).resolve(), target)
    workspace = Workspace(client or connect(loaded.host, profile, bundle_profile=loaded.profile))
    runs.cancel(workspace, run_id)
    if not wait:
        return None
    return runs.follow(workspace, run_id, lambda status: None)


def repair_run(
    project_path: Path | str = ".",
    job: str | None = None,
    target: str | None = None,
    *,
    run_id: int | None = None,
    profile: str | None = None,
    on_change: Callable[[RunStatus], None] = lambda status: None,
    on_start: Callable[[int, str], None] = lambda run_id, url: None,
    client: Any = None,
) -> RunStatus:
    """`kedro dab run --repair [RUN_ID]`: run the failed, cancelled and skipped tasks of the
    job's latest unsuccessful run (or of `run_id`) again inside that run (Jobs API
    `runs/repair`), and follow it until it ends."""
    from kedro_dab.deploy import runs
    from kedro_dab.deploy.engines import job_id_for
    from kedro_dab.deploy.target import load_target

    root = Path(project_path).resolve()
    loaded = load_target(root, target)
    workspace, key, job_id = job_id_for(root, loaded, job, profile=profile, client=client)
    runs.require_job(workspace, job_id, key, loaded.name)
    if run_id is None:
        run_id = runs.latest_unsuccessful_run(workspace, job_id, key)
    runs.repair(workspace, run_id, job_id, key, loaded.name)
    on_start(run_id, runs.status(workspace, run_id).url)
    return runs.follow(workspace, run_id, on_change)
