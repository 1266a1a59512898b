"""Jobs: the graph rules Databricks enforces beyond the schema, read paging, and simulated runs."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from databricks.sdk.service import jobs as sdk_jobs

from .errors import invalid
from .schema import dataclass_schema
from .storage import now_ms

MAX_TASKS = 1000
PAGE_SIZE = 100
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
PAGED_SETTINGS = ("tasks", "job_clusters", "parameters", "environments")
COMPUTE_FIELDS = ("existing_cluster_id", "new_cluster", "job_cluster_key", "environment_key")

SUCCESS_RESULTS = frozenset({"SUCCESS", "SUCCESS_WITH_FAILURES"})
FAILED_RESULTS = frozenset({"FAILED", "TIMEDOUT"})
CANCELED_RESULTS = frozenset({"CANCELED", "UPSTREAM_CANCELED"})
TERMINAL_STATES = frozenset({"TERMINATED", "SKIPPED", "INTERNAL_ERROR"})
STATUS_STATES = {
    "QUEUED": "QUEUED",
    "PENDING": "PENDING",
    "BLOCKED": "BLOCKED",
    "RUNNING": "RUNNING",
    "TERMINATING": "TERMINATING",
    "TERMINATED": "TERMINATED",
    "SKIPPED": "TERMINATED",
    "INTERNAL_ERROR": "TERMINATED",
}
# result_state -> (termination code, termination type)
TERMINATIONS = {
    "SUCCESS": ("SUCCESS", "SUCCESS"),
    "SUCCESS_WITH_FAILURES": ("SUCCESS_WITH_FAILURES", "SUCCESS"),
    "FAILED": ("RUN_EXECUTION_ERROR", "CLIENT_ERROR"),
    "CANCELED": ("USER_CANCELED", "SUCCESS"),
    "UPSTREAM_FAILED": ("SKIPPED", "CLIENT_ERROR"),
    "UPSTREAM_CANCELED": ("SKIPPED", "SUCCESS"),
    "EXCLUDED": ("SKIPPED", "SUCCESS"),
    "DISABLED": ("DISABLED", "SUCCESS"),
    "MAXIMUM_CONCURRENT_RUNS_REACHED": ("MAX_CONCURRENT_RUNS_EXCEEDED", "CLIENT_ERROR"),
}


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _check_key(key: Any, path: str, what: str) -> str:
    if not isinstance(key, str) or not 1 <= len(key) <= 100:
        raise invalid(f"{what} at '{path}' must be 1 to 100 characters long, got {key!r}.")
    if not KEY_PATTERN.match(key):
        raise invalid(
            f"{what} '{key}' at '{path}' contains an invalid character: "
            "only letters, digits, '_' and '-' are allowed."
        )
    return key


def _find_cycle(graph: Mapping[str, list[str]]) -> list[str] | None:
    """A dependency cycle as a key path (first key repeated at the end), or ``None``."""
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(graph, white)
    for start in graph:
        if color[start] != white:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        trail: list[str] = [start]
        color[start] = grey
        while stack:
            node, index = stack[-1]
            deps = graph[node]
            if index < len(deps):
                stack[-1] = (node, index + 1)
                nxt = deps[index]
                if color[nxt] == grey:
                    return [*trail[trail.index(nxt) :], nxt]
                if color[nxt] == white:
                    color[nxt] = grey
                    stack.append((nxt, 0))
                    trail.append(nxt)
            else:
                color[node] = black
                stack.pop()
                trail.pop()
    return None


def check_job_rules(settings: Mapping[str, Any], prefix: str = "") -> None:
    """Databricks rules the schema does not express (raises 400 INVALID_PARAMETER_VALUE).

    At most 1000 tasks; task and job cluster keys 1..100 chars of ``[A-Za-z0-9_-]`` and unique;
    ``depends_on`` names existing tasks and forms no cycle; ``environment_key`` and
    ``job_cluster_key`` name entries of ``environments`` / ``job_clusters``; one compute per task;
    serverless tasks carry no ``libraries``; a wheel task names package and entry point and has
    compute; environments have a spec with ``environment_version`` (or legacy ``client``).
    """
    tasks: list[dict[str, Any]] = list(settings.get("tasks") or [])
    if len(tasks) > MAX_TASKS:
        raise invalid(
            f"Field '{_join(prefix, 'tasks')}' has {len(tasks)} tasks; "
            f"a job can have at most {MAX_TASKS} tasks."
        )

    cluster_keys: dict[str, int] = {}
    for i, cluster in enumerate(settings.get("job_clusters") or []):
        path = _join(prefix, f"job_clusters[{i}].job_cluster_key")
        key = _check_key(cluster.get("job_cluster_key"), path, "Job cluster key")
        if key in cluster_keys:
            raise invalid(f"Duplicate job cluster key '{key}' at '{path}'.")
        cluster_keys[key] = i

    env_keys: dict[str, int] = {}
    for i, env in enumerate(settings.get("environments") or []):
        path = _join(prefix, f"environments[{i}]")
        key = env.get("environment_key")
        if not key:
            raise invalid(f"Missing required field: {path}.environment_key")
        if key in env_keys:
            raise invalid(f"Duplicate environment key '{key}' at '{path}.environment_key'.")
        spec = env.get("spec") or {}
        if not spec.get("environment_version") and not spec.get("client"):
            raise invalid(
                f"Environment '{key}' at '{path}.spec' needs 'environment_version' "
                "(or the deprecated 'client')."
            )
        env_keys[key] = i

    task_index: dict[str, int] = {}
    for i, task in enumerate(tasks):
        path = _join(prefix, f"tasks[{i}].task_key")
        key = _check_key(task.get("task_key"), path, "Task key")
        if key in task_index:
            raise invalid(
                f"Duplicate task key '{key}' at '{path}' "
                f"(also at {_join(prefix, f'tasks[{task_index[key]}]')})."
            )
        task_index[key] = i

    graph: dict[str, list[str]] = {}
    for i, task in enumerate(tasks):
        key = task["task_key"]
        path = _join(prefix, f"tasks[{i}]")
        deps: list[str] = []
        for j, dep in enumerate(task.get("depends_on") or []):
            dep_key = dep.get("task_key")
            if dep_key not in task_index:
                raise invalid(
                    f"Task '{key}' depends on task '{dep_key}', which is not a task of this job "
                    f"(at '{path}.depends_on[{j}].task_key')."
                )
            deps.append(dep_key)
        graph[key] = deps
        _check_task_compute(task, path, cluster_keys, env_keys)

    cycle = _find_cycle(graph)
    if cycle is not None:
        raise invalid(f"The task dependency graph has a cycle: {' -> '.join(cycle)}.")


def _check_task_compute(
    task: Mapping[str, Any], path: str, cluster_keys: Mapping[str, int], env_keys: Mapping[str, int]
) -> None:
    key = task["task_key"]
    present = [name for name in COMPUTE_FIELDS if task.get(name)]
    if len(present) > 1:
        raise invalid(
            f"Task '{key}' at '{path}' sets {' and '.join(present)}; "
            "a task uses one of existing_cluster_id, new_cluster, job_cluster_key, environment_key."
        )
    cluster_key = task.get("job_cluster_key")
    if cluster_key and cluster_key not in cluster_keys:
        raise invalid(
            f"Task '{key}' refers to job cluster '{cluster_key}', which is not in job_clusters "
            f"(at '{path}.job_cluster_key')."
        )
    env_key = task.get("environment_key")
    if env_key:
        if env_key not in env_keys:
            raise invalid(
                f"Task '{key}' refers to environment '{env_key}', which is not in environments "
                f"(at '{path}.environment_key')."
            )
        if task.get("libraries"):
            raise invalid(
                f"Task '{key}' at '{path}' runs on serverless compute (environment_key) and "
                "cannot have libraries; put them in the environment's dependencies."
            )
    wheel = task.get("python_wheel_task")
    if wheel is not None:
        for name in ("package_name", "entry_point"):
            if not wheel.get(name):
                raise invalid(f"Missing required field: {path}.python_wheel_task.{name}")
        if not present:
            raise invalid(
                f"Task '{key}' at '{path}' has a python_wheel_task but no compute: set "
                "environment_key (serverless), job_cluster_key, existing_cluster_id or new_cluster."
            )


def with_server_defaults(settings: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of job settings with the defaults Databricks fills in on read."""
    stored = copy.deepcopy(dict(settings))
    stored.setdefault("name", "Untitled")
    stored.setdefault("email_notifications", {})
    stored.setdefault("webhook_notifications", {})
    stored.setdefault("timeout_seconds", 0)
    stored.setdefault("max_concurrent_runs", 1)
    stored.setdefault("format", "MULTI_TASK")
    for task in stored.get("tasks") or []:
        task.setdefault("run_if", "ALL_SUCCESS")
        task.setdefault("timeout_seconds", 0)
        task.setdefault("email_notifications", {})
    return stored


def page_of_settings(settings: Mapping[str, Any], page: int) -> tuple[dict[str, Any], bool]:
    """One read page of job settings (each paged array sliced) and whether more pages follow."""
    out = {k: v for k, v in settings.items() if k not in PAGED_SETTINGS}
    more = False
    start, stop = page * PAGE_SIZE, (page + 1) * PAGE_SIZE
    for name in PAGED_SETTINGS:
        items = settings.get(name)
        if not items:
            continue
        chunk = items[start:stop]
        if chunk:
            out[name] = copy.deepcopy(chunk)
        more = more or len(items) > stop
    return out, more


# ----------------------------------------------------------------------- runs


def _state(life: str, result: str | None, message: str, cancelled: bool) -> dict[str, Any]:
    state: dict[str, Any] = {"life_cycle_state": life, "state_message": message}
    if result is not None:
        state["result_state"] = result
        state["user_cancelled_or_timedout"] = cancelled
    return state


def _status(life: str, result: str | None, message: str) -> dict[str, Any]:
    status: dict[str, Any] = {"state": STATUS_STATES[life]}
    if result is not None and life in TERMINAL_STATES:
        code, kind = TERMINATIONS.get(result, ("INTERNAL_ERROR", "INTERNAL_ERROR"))
        status["termination_details"] = {"code": code, "type": kind, "message": message}
    return status


@dataclass
class TaskRun:
    """The run of one task inside a job run."""

    task_key: str
    run_id: int
    depends_on: list[str]
    run_if: str
    settings: dict[str, Any]
    life_cycle_state: str = "PENDING"
    result_state: str | None = None
    state_message: str = ""
    start_time: int = 0
    end_time: int = 0

    @property
    def terminal(self) -> bool:
        """Whether the task run is over."""
        return self.life_cycle_state in TERMINAL_STATES

    def finish(self, life: str, result: str, message: str = "") -> None:
        """Ends the task run."""
        self.life_cycle_state = life
        self.result_state = result
        self.state_message = message
        self.end_time = now_ms()


def _should_run(run_if: str, results: list[str]) -> bool:
    successes = sum(r in SUCCESS_RESULTS for r in results)
    failures = sum(r in FAILED_RESULTS for r in results)
    rules: dict[str, bool] = {
        "ALL_SUCCESS": successes == len(results),
        "ALL_DONE": True,
        "NONE_FAILED": failures == 0,
        "AT_LEAST_ONE_SUCCESS": successes > 0,
        "ALL_FAILED": failures == len(results),
        "AT_LEAST_ONE_FAILED": failures > 0,
    }
    return rules.get(run_if, rules["ALL_SUCCESS"])


def _skip_result(run_if: str, results: list[str]) -> str:
    if any(r in CANCELED_RESULTS for r in results):
        return "UPSTREAM_CANCELED"
    failed = any(r in FAILED_RESULTS or r == "UPSTREAM_FAILED" for r in results)
    if failed and run_if in ("ALL_SUCCESS", "NONE_FAILED", "AT_LEAST_ONE_SUCCESS"):
        return "UPSTREAM_FAILED"
    return "EXCLUDED"


@dataclass
class JobRun:
    """A simulated job run. Each :meth:`tick` moves it one step.

    A step starts every task whose dependencies were all over at the previous step (or skips it
    when its ``run_if`` is not met), and ends every task that was running; the run ends when all
    its tasks have. So a chain a -> b is seen as PENDING, RUNNING(a), a done, RUNNING(b),
    TERMINATED.
    """

    run_id: int
    job_id: int
    run_name: str
    creator_user_name: str
    tasks: dict[str, TaskRun]
    job_parameters: list[dict[str, Any]]
    overriding_parameters: dict[str, Any]
    job_clusters: list[dict[str, Any]]
    created: float
    queued: bool = False
    life_cycle_state: str = "PENDING"
    result_state: str | None = None
    state_message: str = ""
    start_time: int = field(default_factory=now_ms)
    end_time: int = 0
    cancel_requested: bool = False
    ticks: int = 0
    repair_history: list[dict[str, Any]] = field(default_factory=list)
    """As ``runs/get?include_history=true`` shows it: the ORIGINAL item, then each REPAIR."""

    @property
    def terminal(self) -> bool:
        """Whether the run is over."""
        return self.life_cycle_state in TERMINAL_STATES

    def repair(self, body: Mapping[str, Any], next_id: Callable[[], int]) -> int:
        """``runs/repair``, as strictly as Databricks: only a run that ended unsuccessfully,
        task keys of this run, and the latest repair's id once the run has been repaired.
        The chosen tasks run again (with new task run ids) inside the same run; returns the
        repair id."""
        if not self.terminal:
            raise invalid(
                f"Run {self.run_id} is in state {self.life_cycle_state} and cannot be "
                "repaired until it has finished."
            )
        if self.result_state in SUCCESS_RESULTS:
            raise invalid(f"Run {self.run_id} succeeded; only unsuccessful runs can be repaired.")
        latest = self.repair_history[-1]["id"] if len(self.repair_history) > 1 else None
        given = body.get("latest_repair_id")
        if latest is not None and given != latest:
            raise invalid(
                f"latest_repair_id must be {latest}, the latest repair of run {self.run_id}"
                f"{'' if given is None else f', not {given}'}."
            )
        if latest is None and given is not None:
            raise invalid(f"Run {self.run_id} has no repair {given}.")
        wanted = body.get("rerun_tasks") or []
        every_failed = bool(body.get("rerun_all_failed_tasks"))
        if bool(wanted) == every_failed:
            raise invalid("Exactly one of rerun_tasks and rerun_all_failed_tasks must be given.")
        unknown = [key for key in wanted if key not in self.tasks]
        if unknown:
            raise invalid(f"Task keys {', '.join(unknown)} are not in run {self.run_id}.")
        if every_failed:
            wanted = [
                key
                for key, task in self.tasks.items()
                if (task.result_state or "") not in SUCCESS_RESULTS
            ]
        chosen = set(wanted)
        if body.get("rerun_dependent_tasks"):
            grew = True
            while grew:
                more = {k for k, t in self.tasks.items() if chosen.intersection(t.depends_on)}
                grew = not more <= chosen
                chosen |= more
        if not self.repair_history:
            self.repair_history.append(self._history_item("ORIGINAL", next_id(), self.tasks))
        for key in chosen:
            task = self.tasks[key]
            task.run_id = next_id()
            task.life_cycle_state = "BLOCKED" if chosen.intersection(task.depends_on) else "PENDING"
            task.result_state = None
            task.state_message = ""
            task.start_time = task.end_time = 0
        repair_id = next_id()
        self.repair_history.append(
            self._history_item("REPAIR", repair_id, {k: self.tasks[k] for k in sorted(chosen)})
        )
        self.life_cycle_state = "PENDING"
        self.result_state = None
        self.state_message = ""
        self.end_time = 0
        self.cancel_requested = False
        return repair_id

    def _history_item(self, kind: str, item_id: int, tasks: Mapping[str, TaskRun]) -> dict:
        return {
            "id": item_id,
            "type": kind,
            "start_time": self.start_time if kind == "ORIGINAL" else now_ms(),
            "end_time": self.end_time if kind == "ORIGINAL" else 0,
            "state": _state(self.life_cycle_state, self.result_state, self.state_message, False),
            "task_run_ids": [t.run_id for t in tasks.values()],
        }

    def skip(self, result: str, message: str) -> None:
        """Ends the run before it starts (e.g. too many concurrent runs)."""
        for task in self.tasks.values():
            task.finish("SKIPPED", result, message)
        self._end("SKIPPED", result, message)

    def cancel(self) -> None:
        """Requests cancellation; the run is TERMINATING until its next step."""
        if self.terminal:
            return
        self.cancel_requested = True
        self.life_cycle_state = "TERMINATING"
        self.state_message = "Run cancellation requested."

    def _end(self, life: str, result: str, message: str) -> None:
        self.life_cycle_state = life
        self.result_state = result
        self.state_message = message
        self.end_time = now_ms()

    def _finish_cancel(self) -> None:
        for task in self.tasks.values():
            if task.terminal:
                continue
            if task.life_cycle_state == "RUNNING":
                task.finish("TERMINATED", "CANCELED", "Task run was canceled.")
            else:
                result = "UPSTREAM_CANCELED" if task.depends_on else "CANCELED"
                task.finish("SKIPPED", result, "Run was canceled before the task started.")
        self._end("TERMINATED", "CANCELED", "Run was canceled by the user.")

    def tick(self, failing: Mapping[str, str], can_start: Callable[[JobRun], bool]) -> None:
        """Moves the run one step (see the class docstring)."""
        if self.terminal:
            return
        self.ticks += 1
        if self.cancel_requested:
            self._finish_cancel()
            return
        if self.life_cycle_state == "QUEUED":
            if can_start(self):
                self.life_cycle_state = "PENDING"
                self.state_message = ""
            return
        if self.life_cycle_state == "PENDING":
            self.life_cycle_state = "RUNNING"
            self.state_message = "In run"
        before = {key: (t.life_cycle_state, t.result_state) for key, t in self.tasks.items()}
        for task in self.tasks.values():
            life, _ = before[task.task_key]
            if life == "RUNNING":
                if task.task_key in failing:
                    task.finish("TERMINATED", "FAILED", failing[task.task_key])
                else:
                    task.finish("TERMINATED", "SUCCESS")
            elif life in ("PENDING", "BLOCKED"):
                self._maybe_start(task, before)
        if all(t.terminal for t in self.tasks.values()):
            self._end("TERMINATED", *self._outcome())

    def _maybe_start(self, task: TaskRun, before: Mapping[str, tuple[str, str | None]]) -> None:
        deps = [before[d] for d in task.depends_on if d in before]
        if any(life not in TERMINAL_STATES for life, _ in deps):
            task.life_cycle_state = "BLOCKED"
            task.state_message = "Waiting for upstream tasks."
            return
        if task.settings.get("disabled"):
            task.finish("SKIPPED", "DISABLED", "Task is disabled.")
            return
        results = [result or "" for _, result in deps]
        if not results or _should_run(task.run_if, results):
            task.life_cycle_state = "RUNNING"
            task.state_message = "In run"
            task.start_time = now_ms()
            return
        result = _skip_result(task.run_if, results)
        message = {
            "UPSTREAM_FAILED": "Upstream task(s) failed.",
            "UPSTREAM_CANCELED": "Upstream task(s) were canceled.",
        }.get(result, f"Run condition {task.run_if} was not met.")
        task.finish("SKIPPED", result, message)

    def _outcome(self) -> tuple[str, str]:
        results = {key: t.result_state or "" for key, t in self.tasks.items()}
        failed = [k for k, r in results.items() if r in FAILED_RESULTS or r == "UPSTREAM_FAILED"]
        if not failed:
            return "SUCCESS", ""
        depended_on = {d for t in self.tasks.values() for d in t.depends_on}
        leaves = [k for k in self.tasks if k not in depended_on]
        if leaves and all(results[k] in SUCCESS_RESULTS for k in leaves):
            return "SUCCESS_WITH_FAILURES", "Some tasks failed; all leaf tasks succeeded."
        culprits = [k for k, r in results.items() if r in FAILED_RESULTS]
        return "FAILED", f"Task {', '.join(culprits) or failed[0]} failed."

    # ------------------------------------------------------------ API shapes

    def run_page_url(self, host: str, workspace_id: str, run_id: int | None = None) -> str:
        """The run's page in the workspace UI."""
        return f"{host}/jobs/{self.job_id}/runs/{run_id or self.run_id}?o={workspace_id}"

    def task_to_api(self, task: TaskRun, host: str, workspace_id: str) -> dict[str, Any]:
        """A RunTask object."""
        allowed = dataclass_schema(sdk_jobs.RunTask).fields
        body = {k: copy.deepcopy(v) for k, v in task.settings.items() if k in allowed}
        body.update(
            {
                "run_id": task.run_id,
                "task_key": task.task_key,
                "run_if": task.run_if,
                "attempt_number": 0,
                "start_time": task.start_time,
                "end_time": task.end_time,
                "setup_duration": 0,
                "execution_duration": 0,
                "cleanup_duration": 0,
                "state": _state(
                    task.life_cycle_state,
                    task.result_state,
                    task.state_message,
                    task.result_state == "CANCELED",
                ),
                "status": _status(task.life_cycle_state, task.result_state, task.state_message),
                "run_page_url": self.run_page_url(host, workspace_id, task.run_id),
            }
        )
        if task.depends_on:
            body["depends_on"] = [{"task_key": d} for d in task.depends_on]
        return body

    def to_api(
        self,
        host: str,
        workspace_id: str,
        page: int | None,
        *,
        with_tasks: bool = True,
        with_history: bool = False,
    ) -> tuple[dict[str, Any], bool]:
        """A Run object (tasks paged by 100 when ``page`` is given); and whether more follow."""
        body: dict[str, Any] = {
            "job_id": self.job_id,
            "run_id": self.run_id,
            "number_in_job": self.run_id,
            "original_attempt_run_id": self.run_id,
            "attempt_number": 0,
            "run_name": self.run_name,
            "creator_user_name": self.creator_user_name,
            "run_type": "JOB_RUN",
            "trigger": "ONE_TIME",
            "format": "MULTI_TASK",
            "start_time": self.start_time,
            "end_time": self.end_time,
            "setup_duration": 0,
            "execution_duration": 0,
            "cleanup_duration": 0,
            "run_duration": (self.end_time or now_ms()) - self.start_time,
            "state": _state(
                self.life_cycle_state,
                self.result_state,
                self.state_message,
                self.result_state == "CANCELED",
            ),
            "status": _status(self.life_cycle_state, self.result_state, self.state_message),
            "run_page_url": self.run_page_url(host, workspace_id),
        }
        if self.job_parameters:
            body["job_parameters"] = copy.deepcopy(self.job_parameters)
        if self.overriding_parameters:
            body["overriding_parameters"] = copy.deepcopy(self.overriding_parameters)
        tasks = list(self.tasks.values())
        clusters = self.job_clusters
        more = False
        if page is not None:
            start, stop = page * PAGE_SIZE, (page + 1) * PAGE_SIZE
            more = len(tasks) > stop or len(clusters) > stop
            tasks, clusters = tasks[start:stop], clusters[start:stop]
            if page > 0:
                body.pop("job_parameters", None)
        if with_tasks and tasks:
            body["tasks"] = [self.task_to_api(t, host, workspace_id) for t in tasks]
        if with_tasks and clusters:
            body["job_clusters"] = copy.deepcopy(clusters)
        if with_history and self.repair_history:
            body["repair_history"] = copy.deepcopy(self.repair_history)
        return body, more
