"""Run a job's tasks on this machine the way Databricks would.

Each task is its own process with the argv its Databricks task receives (the same entry point,
pipeline, nodes, env and parameters); only the conf source is a local copy of exactly what the
bundle ships. Tasks share nothing but persisted datasets. Independent tasks run in parallel;
dependants of a failed task are skipped, as Databricks does by default.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kedro_dab import boundaries
from kedro_dab.bundle.layout import shipped_conf_files
from kedro_dab.errors import ConfigError
from kedro_dab.plan import Job, Plan, Task, cleanup_args, kedro_run_args, parameter_reference
from kedro_dab.simulate_checks import BoundaryChecker
from kedro_dab.simulate_tasks import DONE, Listener, Scheduler, TaskRun

WORK_DIR = ".kedro-dab/simulate"
BOUNDARIES_DIR = ".kedro-dab/boundaries"
"""The local stand-in for `boundaries_root`: `<dir>/<job>/<run id>/<dataset>`."""
RUN_RECORD = "run.json"


@dataclass
class SimulationResult:
    """The outcome of `simulate`: every task's run, in the job's task order."""

    job: str
    tasks: list[TaskRun]
    seconds: float
    conf_source: Path
    run_id: str | None = None
    """The run's id when the job persists boundary datasets (what a repair names)."""
    boundary_store: Path | None = None
    """`<.kedro-dab/boundaries>/<job>`: where the job's runs keep boundary data."""

    @property
    def ok(self) -> bool:
        """True when every task finished and every check passed."""
        return all(t.state == DONE for t in self.tasks)


def pick_job(plan: Plan, job_key: str | None) -> Job:
    """The job named `job_key`, or the only job of the plan."""
    if job_key is None:
        if len(plan.jobs) == 1:
            return plan.jobs[0]
        keys = ", ".join(j.key for j in plan.jobs)
        raise ConfigError(f"the plan has several jobs ({keys}); name the one to run")
    for job in plan.jobs:
        if job.key == job_key:
            return job
    keys = ", ".join(j.key for j in plan.jobs)
    raise ConfigError(f"no job '{job_key}' in dab.yml; jobs: {keys}")


def copy_shipped_conf(project_path: Path, conf_dir: str, dest: Path) -> Path:
    """Copy exactly the conf files the bundle ships into `dest`, replacing what was there."""
    source = project_path / conf_dir
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for rel in shipped_conf_files(source):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / rel, target)
    return dest


def simulate(
    project_path: Path,
    plan: Plan,
    job_key: str | None = None,
    *,
    env: str | None = None,
    params: str | None = None,
    workers: int | None = None,
    listener: Listener | None = None,
    python: str | None = None,
    run_id: str | None = None,
    repair: bool = False,
) -> SimulationResult:
    """Run one job locally, task by task, in dependency order, `workers` tasks at a time.
    A job that persists boundary datasets runs under `run_id` (a new one by default) with
    its data in `.kedro-dab/boundaries/<job>/<run id>/`; `repair` reruns the tasks of that
    earlier run that did not succeed, and their dependants, as a Databricks repair run does."""
    project_path = project_path.resolve()
    job = pick_job(plan, job_key)
    env = env or plan.env
    job_parameter_values(job, params)  # refuse bad --params before writing anything
    if run_id is not None and not boundaries.is_run_id(run_id):
        raise ConfigError(
            f"--run-id {run_id!r}: a run id is a plain name (letters, digits, '.', '_', '-'), "
            "not a path; pass the id a local run printed"
        )
    shipped = sorted(
        {
            rel.parts[0]
            for rel in shipped_conf_files(project_path / plan.conf_dir)
            if rel.parent.parts
        }
    )
    if env not in shipped:
        raise ConfigError(
            f"Kedro env '{env}' is not among the shipped conf folders "
            f"({', '.join(shipped)}); pass another --env"
        )
    run_dir = project_path / WORK_DIR / job.key
    store: Path | None = None
    if job.persisted:
        store = project_path / BOUNDARIES_DIR / job.key
        run_id = run_id or new_run_id()
        run_dir = run_dir / "runs" / run_id
    elif run_id or repair:
        raise ConfigError(
            f"job '{job.key}' persists no boundary datasets, so its local runs have no run id "
            "to name or repair; set boundaries: persist in dab.yml, or run it again"
        )
    done: set[str] = set()
    if repair:
        earlier = _read_record(run_dir, job, run_id)
        done = {key for key, state in earlier.states.items() if state == DONE}
        if earlier.states and len(done) == len(earlier.states):
            raise ConfigError(
                f"local run '{run_id}' of job '{job.key}' succeeded; there is nothing to repair"
            )
        params = _same_as_the_run(earlier, params, env, str(run_id))
    conf_source = copy_shipped_conf(project_path, plan.conf_dir, run_dir / "conf")
    boundary: dict[str, str] = {}
    if store is not None and run_id is not None:
        boundary = {"boundary_store": str(store), "run_id": run_id}
    runs = {
        task.key: TaskRun(
            task.key, task_argv(plan, job, task, conf_source, env, params, **boundary)
        )
        for task in job.tasks
    }
    cleanup = job.cleanup_task
    if cleanup is not None and store is not None and run_id is not None:
        runs[cleanup] = TaskRun(
            cleanup, cleanup_args(plan, job, str(store), run_id), module=boundaries.__name__
        )
    for run in runs.values():
        run.log_path = run_dir / "logs" / f"{run.key}.log"
        if run.key in done:
            run.state = DONE
            if listener is not None:
                listener(run)
    checker = BoundaryChecker(
        project_path, conf_source, env, job, {key: run.argv for key, run in runs.items()}
    )
    if store is not None and run_id is not None:
        checker.boundary_folder = lambda dataset: Path(
            boundaries.dataset_location(str(store), run_id, dataset)
        )
    scheduler = Scheduler(
        project_path,
        job,
        runs,
        workers or os.cpu_count() or 1,
        listener or (lambda run: None),
        checker,
        python or sys.executable,
        plan.package_name,
    )
    if cleanup in runs:
        needed = {d for t in job.tasks for d in t.depends_on}
        scheduler.depends[cleanup] = {t.key for t in job.tasks if t.key not in needed}
        scheduler.order.append(cleanup)
    started = time.monotonic()
    try:
        scheduler.run()
    finally:
        if store is not None:
            _record(run_dir, RunRecord({k: r.state for k, r in runs.items()}, params, env))
    return SimulationResult(
        job.key,
        [runs[key] for key in scheduler.order],
        time.monotonic() - started,
        conf_source,
        run_id=run_id if store else None,
        boundary_store=store,
    )


def new_run_id() -> str:
    """A fresh local run id: sortable by time, unique across concurrent runs."""
    import uuid

    return time.strftime("local-%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class RunRecord:
    """What a local run of a persisting job leaves for its repair: each task's state, and the
    job parameters (`--params`) and env it ran with, which a repair keeps, as on Databricks."""

    states: dict[str, str]
    params: str | None
    env: str


def _record(run_dir: Path, record: RunRecord) -> None:
    import json

    run_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(
        {"states": record.states, "params": record.params, "env": record.env}, indent=2
    )
    (run_dir / RUN_RECORD).write_text(text + "\n", encoding="utf-8")


def _read_record(run_dir: Path, job: Job, run_id: str | None) -> RunRecord:
    import json

    record = run_dir / RUN_RECORD
    if not record.is_file():
        raise ConfigError(
            f"no local run '{run_id}' of job '{job.key}' to repair (looked for {record}); "
            "name the run id a failed `kedro dab run --local` printed"
        )
    data = json.loads(record.read_text(encoding="utf-8"))
    return RunRecord(dict(data["states"]), data.get("params"), str(data["env"]))


def _same_as_the_run(earlier: RunRecord, params: str | None, env: str, run_id: str) -> str | None:
    """The run's own `--params` for its repair; other ones, or another env (the plan is built
    with the env), are refused."""
    if params is not None and params != earlier.params:
        raise ConfigError(
            f"--params {params}: a repair reruns with the parameters of run '{run_id}' "
            f"({earlier.params or 'the defaults'}); drop --params"
        )
    if env != earlier.env:
        raise ConfigError(
            f"--env {env}: run '{run_id}' ran with Kedro env '{earlier.env}', and a repair "
            f"reruns with it; pass --env {earlier.env}"
        )
    return earlier.params


def task_argv(
    plan: Plan,
    job: Job,
    task: Task,
    conf_source: Path,
    env: str,
    params: str | None,
    **boundary: str,
) -> list[str]:
    """The argv after the entry point, as Databricks passes it, with the local conf source
    (and `boundary_store` and `run_id` for a job that persists boundary datasets)."""
    args = kedro_run_args(plan, job, task, str(conf_source), env, **boundary)
    values = job_parameter_values(job, params)
    return [_substitute(arg, values) for arg in args]


def job_parameter_values(job: Job, overrides: str | None) -> dict[str, str]:
    """The job's parameters: defaults, overridden by `name=value,...` as a run would."""
    from kedro_dab.config import parameter_text

    values = {p.name: parameter_text(p.default) for p in job.parameters}
    for item in filter(None, (overrides or "").split(",")):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep:
            raise ConfigError(
                f"--params {item}: expected name=value (pairs separated by commas, e.g. "
                f"--params {next(iter(values), 'name')}=value)"
            )
        if name not in values:
            declared = ", ".join(values) or "none"
            raise ConfigError(
                f"--params {item}: not a parameter of job '{job.key}' (declared: {declared}); "
                f"declare it under jobs.{job.key}.parameters in dab.yml"
            )
        values[name] = value
    return values


def _substitute(arg: str, values: Mapping[str, str]) -> str:
    for name, value in values.items():
        arg = arg.replace(parameter_reference(name), value)
    return arg
