"""Run a job's tasks on this machine the way Databricks would.

Each task is its own process with the argv its Databricks task receives (the same entry point,
pipeline, nodes, env and parameters); only the conf source is a local copy of exactly what the
bundle ships. Tasks share nothing but persisted datasets. Independent tasks run in parallel;
dependants of a failed task are skipped, as Databricks does by default.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kedro_dab import boundaries
from kedro_dab.bundle.layout import shipped_conf_files
from kedro_dab.errors import ConfigError
from kedro_dab.plan import Job, Plan, Task, cleanup_args, kedro_run_args, parameter_reference

PENDING, RUNNING, DONE, FAILED, SKIPPED, CANCELLED = (
    "pending",
    "running",
    "done",
    "failed",
    "skipped",
    "cancelled",
)
WORK_DIR = ".kedro-dab/simulate"
BOUNDARIES_DIR = ".kedro-dab/boundaries"
"""The local stand-in for `boundaries_root`: `<dir>/<job>/<run id>/<dataset>`."""
RUN_RECORD = "run.json"
_TAIL_LINES = 20


@dataclass
class TaskRun:
    """One task of a simulated run: its state, timing, log and any problem found."""

    key: str
    argv: list[str]
    state: str = PENDING
    seconds: float | None = None
    log_path: Path | None = None
    returncode: int | None = None
    problems: list[str] = field(default_factory=list)
    started: float | None = None
    unverified: list[str] = field(default_factory=list)
    """Datasets later tasks read from this one whose existence could not be told here (the
    dataset needs credentials or a service this machine lacks): neither passed nor failed."""
    module: str | None = None
    """The module `python -m` runs; the project's package when None."""

    def log_tail(self, lines: int = _TAIL_LINES) -> str:
        """The last lines of the task's log."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])


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


Listener = Callable[[TaskRun], None]


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
    done = _repairable(run_dir, job, run_id) if repair else set()
    conf_source = copy_shipped_conf(project_path, plan.conf_dir, run_dir / "conf")
    boundary = {"boundary_store": str(store), "run_id": run_id} if store else {}
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
    checker = _BoundaryChecker(project_path, conf_source, env, job)
    if store is not None and run_id is not None:
        checker.boundary_folder = lambda dataset: Path(
            boundaries.dataset_location(str(store), run_id, dataset)
        )
    scheduler = _Scheduler(
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
            _record(run_dir, runs)
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


def _record(run_dir: Path, runs: Mapping[str, TaskRun]) -> None:
    import json

    run_dir.mkdir(parents=True, exist_ok=True)
    states = {key: run.state for key, run in runs.items()}
    (run_dir / RUN_RECORD).write_text(json.dumps(states, indent=2) + "\n", encoding="utf-8")


def _repairable(run_dir: Path, job: Job, run_id: str | None) -> set[str]:
    """The tasks of an earlier local run that succeeded (a repair keeps them)."""
    import json

    record = run_dir / RUN_RECORD
    if not record.is_file():
        raise ConfigError(
            f"no local run '{run_id}' of job '{job.key}' to repair (looked for {record}); "
            "name the run id a failed `kedro dab run --local` printed"
        )
    states: dict[str, str] = json.loads(record.read_text(encoding="utf-8"))
    return {key for key, state in states.items() if state == DONE}


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


class _Scheduler:
    """Start ready tasks up to the worker limit; on failure skip dependants; on Ctrl-C stop."""

    def __init__(
        self,
        project_path: Path,
        job: Job,
        runs: dict[str, TaskRun],
        workers: int,
        listener: Listener,
        checker: _BoundaryChecker,
        python: str,
        package: str,
    ) -> None:
        self.project_path = project_path
        self.job = job
        self.runs = runs
        self.workers = max(1, workers)
        self.listener = listener
        self.checker = checker
        self.python = python
        self.package = package
        self.depends = {t.key: set(t.depends_on) for t in job.tasks}
        self.order = [t.key for t in job.tasks]
        self.live: dict[str, tuple[subprocess.Popen[bytes], Any]] = {}

    def run(self) -> None:
        try:
            while True:
                self._reap()
                self._skip_blocked()
                self._start_ready()
                if not self.live and not any(r.state == PENDING for r in self.runs.values()):
                    return
                time.sleep(0.02)
        except KeyboardInterrupt:
            self._stop_all()
            raise

    def _start_ready(self) -> None:
        for key in self.order:
            if len(self.live) >= self.workers:
                return
            run = self.runs[key]
            if run.state != PENDING:
                continue
            if all(self.runs[d].state == DONE for d in self.depends[key]):
                self._start(run)

    def _start(self, run: TaskRun) -> None:
        assert run.log_path is not None
        run.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = run.log_path.open("wb")
        # Databricks calls the wheel's entry point, `<package>.__main__:main`, with the task's
        # parameters as argv; `python -m <package>` runs that same function.
        command = [self.python, "-m", run.module or self.package, *run.argv]
        environ = {**os.environ, "PYTHONUNBUFFERED": "1"}
        src = str(self.project_path / "src")
        environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (src, environ.get("PYTHONPATH", "")) if p
        )
        process = subprocess.Popen(
            command,
            cwd=self.project_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=environ,
            start_new_session=True,
        )
        run.state = RUNNING
        run.started = time.monotonic()
        self.live[run.key] = (process, log)
        self.listener(run)

    def _reap(self) -> None:
        for key, (process, log) in list(self.live.items()):
            code = process.poll()
            if code is None:
                continue
            log.close()
            del self.live[key]
            run = self.runs[key]
            run.returncode = code
            run.seconds = time.monotonic() - (run.started or time.monotonic())
            if code == 0:
                run.problems, run.unverified = self.checker.check(key)
                run.state = FAILED if run.problems else DONE
            else:
                run.state = FAILED
                run.problems.append(f"exit code {code}")
            self.listener(run)

    def _skip_blocked(self) -> None:
        changed = True
        while changed:
            changed = False
            for key in self.order:
                run = self.runs[key]
                if run.state == PENDING and any(
                    self.runs[d].state in (FAILED, SKIPPED, CANCELLED) for d in self.depends[key]
                ):
                    run.state = SKIPPED
                    run.problems.append("an upstream task failed")
                    self.listener(run)
                    changed = True

    def _stop_all(self) -> None:
        for key, (process, log) in list(self.live.items()):
            _terminate(process)
            log.close()
            run = self.runs[key]
            run.state = CANCELLED
            run.returncode = process.returncode
            run.seconds = time.monotonic() - (run.started or time.monotonic())
            self.listener(run)
        self.live.clear()
        for run in self.runs.values():
            if run.state == PENDING:
                run.state = CANCELLED
                self.listener(run)


def _terminate(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


class _BoundaryChecker:
    """After a task ends, check that each dataset later tasks read from it exists."""

    def __init__(self, project_path: Path, conf_source: Path, env: str, job: Job) -> None:
        self.project_path = project_path
        self.conf_source = conf_source
        self.env = env
        self.by_producer: dict[str, list[Any]] = {}
        for boundary in job.boundary_datasets:
            self.by_producer.setdefault(boundary.producer, []).append(boundary)
        self._catalog: Any = None
        self.boundary_folder: Callable[[str], Path] | None = None
        """Where a persisted boundary dataset of this run is kept (set for persisting jobs)."""

    def check(self, task_key: str) -> tuple[list[str], list[str]]:
        """(problems, datasets whose existence cannot be told) after `task_key` ended."""
        problems = []
        unknown = []
        for boundary in self.by_producer.get(task_key, []):
            readers = ", ".join(f"'{c}'" for c in boundary.consumers)
            if boundary.persisted and self.boundary_folder is not None:
                folder = self.boundary_folder(boundary.dataset)
                if not (folder / boundaries.FORMAT_FILE).is_file():
                    problems.append(
                        f"persisted boundary dataset '{boundary.dataset}' is not in {folder} "
                        f"after task '{task_key}' finished, but task(s) {readers} read it"
                    )
                continue
            if boundary.in_memory:
                problems.append(
                    f"in-memory dataset '{boundary.dataset}' made by task '{task_key}' is lost "
                    f"when the task ends, but task(s) {readers} read it"
                )
                continue
            exists = self._exists(boundary.written_as or boundary.dataset)
            if exists is False:
                problems.append(
                    f"dataset '{boundary.dataset}' does not exist after task '{task_key}' "
                    f"finished, but task(s) {readers} read it"
                )
            elif exists is None:
                unknown.append(
                    f"cannot tell whether dataset '{boundary.dataset}' exists after task "
                    f"'{task_key}' (task(s) {readers} read it): it could not be checked here"
                )
        return problems, unknown

    def _exists(self, dataset: str) -> bool | None:
        from kedro_dab import kedro_config

        if self._catalog is None:
            self._catalog = kedro_config.make_catalog(self.project_path, self.conf_source, self.env)
        return kedro_config.dataset_exists(self._catalog, dataset)
