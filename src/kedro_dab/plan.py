"""The Plan: jobs made of tasks, platform-neutral, with the rule that placed every node.

`build_plan` turns a `ProjectModel` and its `dab.yml` into a Plan; `check_plan` proves the
invariants again from the Plan alone; `plan_to_dict` is the documented, versioned JSON form.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from graphlib import CycleError
from typing import Any

from kedro_dab import boundaries as _boundaries
from kedro_dab.collector import collector_paused
from kedro_dab.config import (
    TASK_SETTING_NAMES,
    Compute,
    DabConfig,
    JobConfig,
    JobParameter,
    Rule,
    Selector,
    ServerlessCompute,
    TagRule,
    TargetSettings,
    parse_config,
)
from kedro_dab.errors import ConfigError, GroupingError
from kedro_dab.graphs import topological_order
from kedro_dab.grouping import BoundaryDataset, group_job
from kedro_dab.limits import KEY_PATTERN, MAX_TASKS_PER_JOB, RESOURCE_KEY_PATTERN
from kedro_dab.project import ProjectModel
from kedro_dab.serve.endpoints import Endpoint, build_endpoints, endpoint_to_dict

PLAN_SCHEMA = "kedro-dab/plan"
PLAN_VERSION = 1


@dataclass(frozen=True)
class Task:
    """One Databricks task: a group of nodes run by one `kedro run` call."""

    key: str
    group: str
    rule: str
    """The kind of rule that formed the group: tag, namespace, pipeline or node."""
    nodes: tuple[str, ...]
    depends_on: tuple[str, ...]
    pipelines: tuple[str, ...]
    """The pipeline(s) to pass to `kedro run` so that every node of the task is found."""
    whole_pipeline: bool
    """True when the task is all of its pipeline, so no `--nodes` filter is needed."""
    compute: str
    settings: Mapping[str, Any]
    """max_retries, min_retry_interval_millis, retry_on_timeout, timeout_seconds when set."""
    placed_by: Mapping[str, str]
    """Why each node is in the task: the rule that placed it, and any merge that moved it."""
    settings_source: Mapping[str, str] = field(default_factory=dict)
    """Which dab.yml entry set each setting (compute included)."""
    requirements: tuple[str, ...] = ()
    """Extra pip requirements beside the project wheel (task entries, pipeline files)."""


@dataclass(frozen=True)
class Job:
    """One Databricks job."""

    key: str
    name: str
    pipelines: tuple[str, ...]
    tasks: tuple[Task, ...]
    boundary_datasets: tuple[BoundaryDataset, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)
    """Job-level Jobs API settings from dab.yml: schedule, trigger, tags, notifications,
    health, run_as, permissions, parameters, limits."""
    parameters: tuple[JobParameter, ...] = ()
    boundaries: str = "merge"
    """What happens to in-memory datasets between tasks: merge, persist or refuse."""

    @functools.cached_property
    def persisted(self) -> tuple[BoundaryDataset, ...]:
        """The in-memory datasets this job saves per run for later tasks."""
        return tuple(c for c in self.boundary_datasets if c.persisted)

    @property
    def cleanup_task(self) -> str | None:
        """The key of the task that removes a successful run's boundary data, if any."""
        return _boundaries.CLEANUP_TASK if self.persisted else None

    def boundary_io(self, task_key: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(loaded, saved): the persisted datasets task `task_key` reads and writes."""
        load = self._boundary_io[0].get(task_key, [])
        save = self._boundary_io[1].get(task_key, [])
        return tuple(load), tuple(save)

    @functools.cached_property
    def _boundary_io(self) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """Task key -> the persisted datasets it loads, and -> those it saves, in the order
        of `persisted`."""
        loads: dict[str, list[str]] = {}
        saves: dict[str, list[str]] = {}
        for boundary in self.persisted:
            for consumer in dict.fromkeys(boundary.consumers):
                loads.setdefault(consumer, []).append(boundary.dataset)
            saves.setdefault(boundary.producer, []).append(boundary.dataset)
        return loads, saves


@dataclass(frozen=True)
class Plan:
    """Everything needed to write bundle files or simulate the jobs, and nothing Kedro-live."""

    project_name: str
    package_name: str
    distribution_name: str
    console_script: str
    kedro_version: str
    env: str
    conf_dir: str
    """The project's configuration folder, relative to the project root (`conf`)."""
    pipeline_option: str
    """`--pipelines` (Kedro 1.2+) or `--pipeline`, as the project's `run` accepts."""
    jobs: tuple[Job, ...]
    compute: Mapping[str, Compute]
    targets: Mapping[str, TargetSettings] = field(default_factory=dict)
    """Per bundle target: a compute profile for every task, or running from source."""
    dependencies: tuple[str, ...] = ()
    """The project's runtime dependencies, installed for tasks that run from source."""
    boundaries_root: str | None = None
    """Where persisted boundary datasets go (targets may override it); None when unset."""
    boundaries_retention_days: float = 7
    """How long a failed run's boundary data is kept for a repair."""
    warnings: tuple[str, ...] = ()
    """dab.yml entries that had no effect: a grouping rule that placed no node, a tag prefix
    no node carries, a tasks entry that matched no task."""
    endpoints: tuple[Endpoint, ...] = ()
    """Serving endpoints (`serving:` in dab.yml), checked against the project."""

    def boundary_store(self, job: Job, target: str | None = None) -> str:
        """`<root>/<job>`: the folder of a job's runs' boundary data, on `target` when given
        (`<boundaries_root>` stands for a root that is not set)."""
        chosen = self.targets.get(target) if target else None
        root = (chosen.boundaries_root if chosen else None) or self.boundaries_root
        return f"{(root or BOUNDARIES_ROOT_PLACEHOLDER).rstrip('/')}/{job.key}"


BOUNDARIES_ROOT_PLACEHOLDER = "<boundaries_root>"
BOUNDARY_REQUIREMENT_SOURCE = "boundaries: persist"


def runtime_requirement() -> str:
    """The pip requirement that installs this kedro-dab (its hook) in persisting tasks."""
    from importlib import metadata

    return f"kedro-dab=={metadata.version('kedro-dab')}"


def build_plan(project: ProjectModel, config: DabConfig | None = None) -> Plan:
    """Group every job of the project's `dab.yml` into tasks and check the result."""
    with collector_paused():
        return _build_plan(project, config)


def _build_plan(project: ProjectModel, config: DabConfig | None) -> Plan:
    if config is None:
        config = parse_config(project.dab_config, project.dab_files, project.path)
    where = (
        " + ".join(f.relative_to(project.path).as_posix() for f in project.dab_files) or "dab.yml"
    )
    _check_registry(project, bool(config.jobs), where)
    jobs_config = config.jobs or {_default_job_key(project): JobConfig(name=project.project_name)}
    pipeline_option = _pipeline_option(project)
    jobs = []
    for key in sorted(jobs_config):
        job_config = jobs_config[key]
        boundaries = job_config.boundary_mode(config.boundary_mode)
        grouping = group_job(
            project,
            key,
            job_config.pipelines,
            job_config.grouping if job_config.grouping is not None else config.grouping,
            boundaries,
            where,
        )
        persisting = {
            k for c in grouping.boundary_datasets if c.persisted for k in (c.producer, *c.consumers)
        }
        if persisting and any(g.key == _boundaries.CLEANUP_TASK for g in grouping.groups):
            raise GroupingError(
                f"job '{key}': a task is named '{_boundaries.CLEANUP_TASK}', the key of the "
                "task that removes persisted boundary data; rename its group"
            )
        tasks = []
        for group in grouping.groups:
            pipelines, whole = _task_pipelines(
                project, job_config.pipelines, group.nodes, pipeline_option, key, group.key
            )
            compute, settings, sources, requirements = _task_settings(
                config, job_config, key, group.name, group.nodes, project
            )
            if group.key in persisting:
                requirements = tuple(sorted({*requirements, runtime_requirement()}))
                sources["requirements"] = ", ".join(
                    filter(None, (sources.get("requirements"), BOUNDARY_REQUIREMENT_SOURCE))
                )
            tasks.append(
                Task(
                    key=group.key,
                    group=group.name,
                    rule=group.rule,
                    nodes=group.nodes,
                    depends_on=group.depends_on,
                    pipelines=pipelines,
                    whole_pipeline=whole,
                    compute=compute,
                    settings=settings,
                    placed_by=group.placed_by,
                    settings_source=sources,
                    requirements=requirements,
                )
            )
        jobs.append(
            Job(
                key=key,
                name=job_config.name or key,
                pipelines=job_config.pipelines,
                tasks=tuple(tasks),
                boundary_datasets=grouping.boundary_datasets,
                settings={**job_config.api_settings(), **_performance_target(config, key, tasks)},
                parameters=job_config.parameters,
                boundaries=boundaries,
            )
        )
    plan = Plan(
        project_name=project.project_name,
        package_name=project.package_name,
        distribution_name=project.distribution_name,
        console_script=project.console_script,
        kedro_version=project.kedro_version,
        env=project.env,
        conf_dir=project.conf_dir.relative_to(project.path).as_posix(),
        pipeline_option=pipeline_option,
        jobs=tuple(jobs),
        compute={
            name: config.compute_profiles()[name]
            for name in sorted({*_used_compute(jobs), *_target_compute(config)})
        },
        targets=dict(sorted(config.targets.items())),
        dependencies=project.dependencies,
        boundaries_root=config.boundaries_root,
        boundaries_retention_days=config.boundaries_retention_days,
        warnings=tuple(_unused_entries(project, config, jobs_config, jobs, where)),
        endpoints=build_endpoints(project, config.serving, where),
    )
    check_plan(plan, project)
    return plan


def _check_registry(project: ProjectModel, jobs_given: bool, where: str) -> None:
    """An empty registry, or a default job without `__default__`, is named at its source."""
    registry = f"src/{project.package_name}/pipeline_registry.py"
    if not project.pipelines:
        raise ConfigError(
            f"{registry}: register_pipelines() returned no pipelines, so there is nothing to "
            "deploy; return at least '__default__' (kedro new's registry sums the pipelines "
            "find_pipelines() finds under pipelines/)"
        )
    if not jobs_given and "__default__" not in project.pipelines:
        raise ConfigError(
            f"{registry}: register_pipelines() returns no '__default__' pipeline (registered: "
            f"{', '.join(sorted(project.pipelines))}), which the default job runs; register "
            f"'__default__', or declare jobs with their pipelines under 'jobs:' in {where}"
        )


def _unused_entries(
    project: ProjectModel,
    config: DabConfig,
    jobs_config: Mapping[str, JobConfig],
    jobs: Sequence[Job],
    where: str,
) -> list[str]:
    """The dab.yml entries the user wrote that changed nothing, each as one line."""
    out: list[str] = []
    by_key = {job.key: job for job in jobs}
    rule_sets: list[tuple[str, Sequence[Rule], list[Job]]] = []
    if "grouping" in project.dab_config:
        users = [by_key[k] for k, c in jobs_config.items() if c.grouping is None]
        rule_sets.append(("grouping", config.grouping, users))
    for key, job_config in sorted(jobs_config.items()):
        if job_config.grouping is not None:
            rule_sets.append((f"jobs.{key}.grouping", job_config.grouping, [by_key[key]]))
    for label, rules, users in rule_sets:
        if not users:
            continue
        reasons = [r for job in users for task in job.tasks for r in task.placed_by.values()]
        tags = {
            t
            for job in users
            for task in job.tasks
            for n in task.nodes
            for t in project.nodes[n].tags
        }
        for index, rule in enumerate(rules):
            if any(r.startswith(f"grouping[{index}]:") for r in reasons):
                continue
            prefix = rule.prefix if isinstance(rule, TagRule) else None
            if prefix is not None and not any(t.startswith(prefix) for t in tags):
                out.append(f"{where}: {label}[{index}]: no node has a tag starting with '{prefix}'")
                continue
            out.append(
                f"{where}: {label}[{index}] (by: {rule.by}) places no node"
                f"{'; earlier rules place every node it matches' if index else ''}"
            )
    for index, entry in enumerate(config.tasks):
        matched = any(
            selector_matches(
                entry.match,
                job.key,
                task.group,
                {t for n in task.nodes for t in project.nodes[n].tags},
                task.nodes,
            )
            for job in jobs
            for task in job.tasks
        )
        if not matched:
            shown = ", ".join(
                f"{k}: {v}" for k, v in entry.match.model_dump(exclude_none=True).items()
            )
            out.append(f"{where}: tasks[{index}] (match {{{shown}}}) matches no task")
    return out


def selector_matches(
    match: Selector, job_key: str, group: str, tags: set[str], nodes: Sequence[str]
) -> bool:
    """Whether a `tasks` entry's `match` selects the task (every given condition holds)."""
    if match.job and not fnmatch.fnmatchcase(job_key, match.job):
        return False
    if match.group and not fnmatch.fnmatchcase(group, match.group):
        return False
    if match.tag and match.tag not in tags:
        return False
    return not (match.node and not any(fnmatch.fnmatchcase(n, match.node) for n in nodes))


def _default_job_key(project: ProjectModel) -> str:
    key = project.package_name
    return key if RESOURCE_KEY_PATTERN.match(key) else "kedro_job"


def _pipeline_option(project: ProjectModel) -> str:
    if "--pipelines" in project.run_options:
        return "--pipelines"
    return "--pipeline"


def _task_pipelines(
    project: ProjectModel,
    job_pipelines: Sequence[str],
    nodes: Sequence[str],
    option: str,
    job_key: str,
    task_key: str,
) -> tuple[tuple[str, ...], bool]:
    """The pipeline a task's `kedro run` names: one that holds all its nodes (so `--nodes`
    never fails with "Pipeline does not contain nodes named ...")."""
    wanted = set(nodes)
    for pipeline in job_pipelines:
        members = project.pipeline_sets[pipeline]
        if wanted <= members:
            return (pipeline,), len(members) == len(wanted)
    holding = tuple(p for p in job_pipelines if not wanted.isdisjoint(project.pipeline_sets[p]))
    if option == "--pipelines":
        return holding, False
    raise GroupingError(
        f"job '{job_key}': task '{task_key}' takes nodes from pipelines {', '.join(holding)}, "
        "and this project's `kedro run` accepts only one --pipeline; register a pipeline that "
        "holds them all, or change the grouping so each task stays within one pipeline"
    )


def _task_settings(
    config: DabConfig,
    job: JobConfig,
    job_key: str,
    group: str,
    nodes: Sequence[str],
    project: ProjectModel,
) -> tuple[str, dict[str, Any], dict[str, str], tuple[str, ...]]:
    compute = job.default_compute or config.default_compute
    sources = {
        "compute": f"jobs.{job_key}.default_compute" if job.default_compute else "default_compute"
    }
    settings: dict[str, Any] = {}
    requirements: set[str] = set()
    tags = {t for n in nodes for t in project.nodes[n].tags}
    for index, entry in enumerate(config.tasks):
        if not selector_matches(entry.match, job_key, group, tags, nodes):
            continue
        for name in TASK_SETTING_NAMES:
            value = getattr(entry, name)
            if value is None:
                continue
            if name == "compute":
                compute = value
            elif name == "requirements":
                requirements.update(value)
                sources[name] = ", ".join(filter(None, (sources.get(name), f"tasks[{index}]")))
                continue
            else:
                settings[name] = value
            sources[name] = f"tasks[{index}]"
    for pipeline, lines in sorted(project.requirements.items()):
        if lines and not project.pipeline_sets.get(pipeline, frozenset()).isdisjoint(nodes):
            requirements.update(lines)
            origin = f"pipelines/{pipeline}/requirements.txt"
            sources["requirements"] = ", ".join(filter(None, (sources.get("requirements"), origin)))
    ordered = {name: settings[name] for name in TASK_SETTING_NAMES if name in settings}
    return compute, ordered, sources, tuple(sorted(requirements))


def _performance_target(config: DabConfig, job_key: str, tasks: Sequence[Task]) -> dict[str, str]:
    """`performance_target` is a job setting: the job's serverless profiles must agree."""
    profiles = config.compute_profiles()
    wanted = {
        profile.performance_target
        for task in tasks
        if isinstance(profile := profiles[task.compute], ServerlessCompute)
        and profile.performance_target
    }
    if len(wanted) > 1:
        raise ConfigError(
            f"job '{job_key}': its serverless profiles ask for performance_target "
            f"{' and '.join(sorted(wanted))}, but Databricks sets it per job; make them agree"
        )
    return {"performance_target": wanted.pop()} if wanted else {}


def _target_compute(config: DabConfig) -> set[str]:
    return {t.compute for t in config.targets.values() if t.compute}


def _used_compute(jobs: Sequence[Job]) -> list[str]:
    return sorted({task.compute for job in jobs for task in job.tasks})


# --- invariants -----------------------------------------------------------------------------------


def check_plan(plan: Plan, project: ProjectModel) -> None:
    """Prove, from the Plan alone, what every generated job must satisfy: each node in exactly
    one task, an acyclic task graph, no in-memory dataset across tasks, valid unique keys,
    Databricks' task limit. Raises `GroupingError` naming the first broken rule."""
    for job in plan.jobs:
        expected = set()
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


# --- the command a task runs ---------------------------------------------------------------------


def kedro_run_args(
    plan: Plan,
    job: Job,
    task: Task,
    conf_source: str,
    env: str | None = None,
    *,
    boundary_store: str | None = None,
    run_id: str = _boundaries.RUN_ID_REFERENCE,
) -> list[str]:
    """The argv after the console script that runs `task`. The script is `run` itself
    (`<package>.__main__:main` calls the run command, no sub-command). Databricks and the
    local simulation use this same list; only where the conf comes from differs, and the
    bundle names the env through a variable that each target may set. Job parameters reach
    Kedro as runtime params through Databricks' dynamic value references; a task that loads or
    saves persisted boundary datasets gets the reserved `kedro_dab` runtime param as well
    (`boundary_store`, default the plan's, and `run_id`, default `{{job.run_id}}`)."""
    args = [plan.pipeline_option, ",".join(task.pipelines)]
    if not task.whole_pipeline:
        args += ["--nodes", ",".join(task.nodes)]
    args += ["--env", env or plan.env, "--conf-source", conf_source]
    params = [f"{p.kedro_param or p.name}={parameter_reference(p.name)}" for p in job.parameters]
    load, save = job.boundary_io(task.key)
    if load or save:
        store = boundary_store or plan.boundary_store(job)
        params += _boundaries.runtime_params(store, run_id, load, save)
    if params:
        args += ["--params", ",".join(params)]
    return args


def cleanup_args(
    plan: Plan,
    job: Job,
    boundary_store: str | None = None,
    run_id: str = _boundaries.RUN_ID_REFERENCE,
) -> list[str]:
    """The argv of the cleanup task's script (`kedro-dab-boundaries`)."""
    return [
        "cleanup",
        "--store",
        boundary_store or plan.boundary_store(job),
        "--run-id",
        run_id,
        "--retention-days",
        f"{plan.boundaries_retention_days:g}",
    ]


def parameter_reference(name: str) -> str:
    """Databricks' dynamic value reference to a job parameter."""
    return "{{job.parameters." + name + "}}"


# --- JSON form ---------------------------------------------------------------------------------


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The documented, versioned JSON form of a Plan (`kedro dab plan --format json`)."""
    with collector_paused():
        return _plan_dict(plan)


def _plan_dict(plan: Plan) -> dict[str, Any]:
    return {
        "schema": PLAN_SCHEMA,
        "version": PLAN_VERSION,
        "project": {
            "name": plan.project_name,
            "package": plan.package_name,
            "distribution": plan.distribution_name,
            "console_script": plan.console_script,
            "kedro_version": plan.kedro_version,
            "env": plan.env,
        },
        "compute": {
            name: profile.model_dump(mode="json") for name, profile in sorted(plan.compute.items())
        },
        "jobs": [
            {
                "key": job.key,
                "name": job.name,
                "pipelines": list(job.pipelines),
                "settings": dict(job.settings),
                "tasks": [
                    {
                        "key": task.key,
                        "group": task.group,
                        "rule": task.rule,
                        "depends_on": list(task.depends_on),
                        "compute": task.compute,
                        "settings": dict(task.settings),
                        "settings_source": dict(task.settings_source),
                        "requirements": list(task.requirements),
                        "run_args": kedro_run_args(plan, job, task, "<conf-source>"),
                        "nodes": [
                            {"name": name, "placed_by": task.placed_by[name]} for name in task.nodes
                        ],
                    }
                    for task in job.tasks
                ],
                "boundary_datasets": [
                    {
                        "dataset": c.dataset,
                        "producer": c.producer,
                        "consumers": list(c.consumers),
                        "in_memory": c.in_memory,
                        **({"written_as": c.written_as} if c.written_as else {}),
                        "persisted": c.persisted,
                        **(
                            {
                                "location": _boundaries.dataset_location(
                                    plan.boundary_store(job),
                                    _boundaries.RUN_ID_REFERENCE,
                                    c.dataset,
                                )
                            }
                            if c.persisted
                            else {}
                        ),
                    }
                    for c in job.boundary_datasets
                ],
                "boundaries": _boundaries_dict(plan, job),
            }
            for job in plan.jobs
        ],
        **({"endpoints": [endpoint_to_dict(e) for e in plan.endpoints]} if plan.endpoints else {}),
    }


def _boundaries_dict(plan: Plan, job: Job) -> dict[str, Any]:
    out: dict[str, Any] = {"mode": job.boundaries}
    if job.persisted:
        out.update(
            {
                "store": plan.boundary_store(job),
                "run_location": _boundaries.run_location(
                    plan.boundary_store(job), _boundaries.RUN_ID_REFERENCE
                ),
                "retention_days": plan.boundaries_retention_days,
                "cleanup_task": job.cleanup_task,
                "cleanup_args": cleanup_args(plan, job),
            }
        )
    return out
