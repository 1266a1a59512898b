"""The Plan: jobs made of tasks, platform-neutral, with the rule that placed every node.

`build_plan` turns a `ProjectModel` and its `dab.yml` into a Plan (each task's settings from
`task_settings`), then has `plan_checks` prove its invariants again from the Plan alone;
`kedro_run_args` is the command a task runs. The Plan's JSON form is in `plan_json`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from kedro_dab import boundaries as _boundaries
from kedro_dab.collector import collector_paused
from kedro_dab.config import (
    Compute,
    DabConfig,
    JobConfig,
    JobParameter,
    TargetSettings,
    parse_config,
)
from kedro_dab.errors import ConfigError, GroupingError
from kedro_dab.grouping import BoundaryDataset, group_job
from kedro_dab.limits import RESOURCE_KEY_PATTERN
from kedro_dab.plan_checks import check_plan
from kedro_dab.project import ProjectModel
from kedro_dab.serve.endpoints import Endpoint, build_endpoints
from kedro_dab.task_settings import (
    performance_target,
    task_pipelines,
    task_settings,
    unused_entries,
)


class Task(msgspec.Struct, frozen=True):
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
    settings_source: Mapping[str, str] = msgspec.field(default_factory=dict)
    """Which dab.yml entry set each setting (compute included)."""
    requirements: tuple[str, ...] = ()
    """Extra pip requirements beside the project wheel (task entries, pipeline files)."""


class Job(msgspec.Struct, frozen=True, dict=True):
    """One Databricks job."""

    key: str
    name: str
    pipelines: tuple[str, ...]
    tasks: tuple[Task, ...]
    boundary_datasets: tuple[BoundaryDataset, ...]
    settings: Mapping[str, Any] = msgspec.field(default_factory=dict)
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


class Plan(msgspec.Struct, frozen=True):
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
    targets: Mapping[str, TargetSettings] = msgspec.field(default_factory=dict)
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
        for boundary in grouping.boundary_datasets:
            if boundary.persisted and not _boundaries.is_dataset_name_passable(boundary.dataset):
                raise GroupingError(
                    f"job '{key}': in-memory dataset '{boundary.dataset}' crosses tasks and would "
                    f"be persisted, but its name cannot reach the tasks through `kedro run "
                    f"--params` (it holds ',' or '{_boundaries.SEPARATOR}'); rename the dataset"
                )
        if persisting and any(g.key == _boundaries.CLEANUP_TASK for g in grouping.groups):
            raise GroupingError(
                f"job '{key}': a task is named '{_boundaries.CLEANUP_TASK}', the key of the "
                "task that removes persisted boundary data; rename its group"
            )
        tasks = []
        for group in grouping.groups:
            pipelines, whole = task_pipelines(
                project, job_config.pipelines, group.nodes, pipeline_option, key, group.key
            )
            compute, settings, sources, requirements = task_settings(
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
                settings={**job_config.api_settings(), **performance_target(config, key, tasks)},
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
        warnings=tuple(unused_entries(project, config, jobs_config, jobs, where)),
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


def _default_job_key(project: ProjectModel) -> str:
    key = project.package_name
    return key if RESOURCE_KEY_PATTERN.match(key) else "kedro_job"


def _pipeline_option(project: ProjectModel) -> str:
    if "--pipelines" in project.run_options:
        return "--pipelines"
    return "--pipeline"


def _target_compute(config: DabConfig) -> set[str]:
    return {t.compute for t in config.targets.values() if t.compute}


def _used_compute(jobs: Sequence[Job]) -> list[str]:
    return sorted({task.compute for job in jobs for task in job.tasks})


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
