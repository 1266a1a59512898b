"""The invariants every Plan must satisfy, proved again from the Plan alone.

Each node in exactly one task, an acyclic task graph, no in-memory dataset across tasks
unless it is persisted, valid unique task keys, Databricks' task limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from graphlib import CycleError
from typing import TYPE_CHECKING

from kedro_dab.errors import GroupingError
from kedro_dab.graphs import topological_order
from kedro_dab.limits import KEY_PATTERN, MAX_TASKS_PER_JOB
from kedro_dab.project import ProjectModel

if TYPE_CHECKING:
    from kedro_dab.plan import Job, Plan


def check_plan(plan: Plan, project: ProjectModel) -> None:
    """Prove, from the Plan alone, what every generated job must satisfy: each node in exactly
    one task, an acyclic task graph, no in-memory dataset across tasks, valid unique keys,
    Databricks' task limit. Raises `GroupingError` naming the first broken rule."""
    for job in plan.jobs:
        expected: set[str] = set()
        for pipeline in job.pipelines:
            expected.update(project.pipelines[pipeline])
        owner: dict[str, str] = {}
        keys = [task.key for task in job.tasks]
        if len(job.tasks) > MAX_TASKS_PER_JOB:
            raise GroupingError(f"job '{job.key}' has {len(job.tasks)} tasks, over the limit")
        if len(set(keys)) != len(keys):
            raise GroupingError(f"job '{job.key}' has duplicate task keys")
        for task in job.tasks:
            if not KEY_PATTERN.match(task.key):
                raise GroupingError(f"job '{job.key}': task key '{task.key}' is not valid")
            for name in task.nodes:
                if name in owner:
                    raise GroupingError(
                        f"job '{job.key}': node '{name}' is in tasks '{owner[name]}' and "
                        f"'{task.key}'"
                    )
                owner[name] = task.key
        if set(owner) != expected:
            missing = sorted(expected - set(owner))
            raise GroupingError(f"job '{job.key}': nodes not in any task: {', '.join(missing)}")
        _check_data_flow(job, project, owner)


def _check_data_flow(job: Job, project: ProjectModel, owner: Mapping[str, str]) -> None:
    producer = {d: owner[n] for n in owner for d in project.nodes[n].outputs}
    persisted = {c.dataset for c in job.persisted}
    needs: dict[str, set[str]] = {task.key: set() for task in job.tasks}
    for name, task_key in owner.items():
        for dataset in project.nodes[name].inputs:
            source = producer.get(dataset)
            if source is None or source == task_key:
                continue
            if project.is_memory(dataset) and dataset not in persisted:
                raise GroupingError(
                    f"job '{job.key}': in-memory dataset '{dataset}' passes from task "
                    f"'{source}' to task '{task_key}'"
                )
            needs[task_key].add(source)
    closure = _closure(job)
    for task_key, sources in needs.items():
        missing = sources - closure[task_key]
        if missing:
            raise GroupingError(
                f"job '{job.key}': task '{task_key}' reads data from {sorted(missing)} "
                "without depending on them"
            )


def _closure(job: Job) -> dict[str, set[str]]:
    """Every task each task transitively depends on (raises on a cycle)."""
    dependants: dict[str, list[str]] = {}
    for task in job.tasks:
        for dep in task.depends_on:
            dependants.setdefault(dep, []).append(task.key)
    keys = dict.fromkeys([*(task.key for task in job.tasks), *dependants])
    try:
        order = topological_order(keys, dependants)
    except CycleError as exc:
        raise GroupingError(
            f"job '{job.key}': task dependencies form a cycle: {' -> '.join(exc.args[1])}"
        ) from None
    declared = {task.key: task.depends_on for task in job.tasks}
    out: dict[str, set[str]] = {}
    for key in order:
        reach: set[str] = set()
        for dep in declared.get(key, ()):
            reach.add(dep)
            reach |= out[dep]
        out[key] = reach
    return out
