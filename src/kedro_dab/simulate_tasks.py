"""The tasks of a simulated run: each task's state (`TaskRun`), and the scheduler that starts
each task as its own process once the tasks it depends on are done."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kedro_dab.plan import Job

if TYPE_CHECKING:
    from kedro_dab.simulate_checks import BoundaryChecker

PENDING, RUNNING, DONE, FAILED, SKIPPED, CANCELLED = (
    "pending",
    "running",
    "done",
    "failed",
    "skipped",
    "cancelled",
)
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


Listener = Callable[[TaskRun], None]


class Scheduler:
    """Start ready tasks up to the worker limit; on failure skip dependants; on Ctrl-C (or any
    error of the run itself) stop the running tasks."""

    def __init__(
        self,
        project_path: Path,
        job: Job,
        runs: dict[str, TaskRun],
        workers: int,
        listener: Listener,
        checker: BoundaryChecker,
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
        with _terminations_raise():
            try:
                while True:
                    self._reap()
                    self._skip_blocked()
                    self._start_ready()
                    if not self.live and not any(r.state == PENDING for r in self.runs.values()):
                        return
                    time.sleep(0.02)
            except BaseException:  # Ctrl-C, SIGTERM, or a check that failed: no task outlives it
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


@contextlib.contextmanager
def _terminations_raise() -> Iterator[None]:
    """While the block runs, SIGTERM and SIGHUP (a CI cancel, `timeout`, a closed terminal)
    end it with exit code 128 + the signal, as an exception, so its cleanup runs: by default
    they would kill this process and leave its tasks running."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    before = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def _terminate(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
