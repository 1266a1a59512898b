"""What `dab.yml` and the project give each task beyond its nodes, and what they gave none.

The pipeline(s) a task's `kedro run` names, its compute, settings and requirements from the
`tasks` entries that match it, the job's `performance_target`, and the dab.yml entries that
changed nothing (warnings).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kedro_dab.config import DabConfig, JobConfig, plain
from kedro_dab.config_compute import TASK_SETTING_NAMES, Selector, ServerlessCompute
from kedro_dab.config_grouping import Rule, TagRule
from kedro_dab.errors import ConfigError, GroupingError
from kedro_dab.project import ProjectModel

if TYPE_CHECKING:
    from kedro_dab.plan import Job, Task


def task_pipelines(
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


def task_settings(
    config: DabConfig,
    job: JobConfig,
    job_key: str,
    group: str,
    nodes: Sequence[str],
    project: ProjectModel,
) -> tuple[str, dict[str, Any], dict[str, str], tuple[str, ...]]:
    """(compute, settings, the dab.yml entry that set each, requirements) of one task: the
    job's default compute, then each matching `tasks` entry in order, then the requirements
    files of the pipelines its nodes come from."""
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
    for pipeline, lines in pipelines_requirements(project, nodes):
        requirements.update(lines)
        origin = f"pipelines/{pipeline}/requirements.txt"
        sources["requirements"] = ", ".join(filter(None, (sources.get("requirements"), origin)))
    ordered = {name: settings[name] for name in TASK_SETTING_NAMES if name in settings}
    return compute, ordered, sources, tuple(sorted(requirements))


def pipelines_requirements(
    project: ProjectModel, nodes: Sequence[str]
) -> list[tuple[str, tuple[str, ...]]]:
    """(pipeline, its `requirements.txt` lines) of every pipeline, by name, that holds one of
    `nodes`: what running those nodes needs installed, in a task or behind an endpoint."""
    return [
        (pipeline, lines)
        for pipeline, lines in sorted(project.requirements.items())
        if lines and not project.pipeline_sets.get(pipeline, frozenset()).isdisjoint(nodes)
    ]


def performance_target(config: DabConfig, job_key: str, tasks: Sequence[Task]) -> dict[str, str]:
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


def unused_entries(
    project: ProjectModel,
    config: DabConfig,
    jobs_config: Mapping[str, JobConfig],
    jobs: Sequence[Job],
    where: str,
) -> list[str]:
    """The dab.yml entries the user wrote that changed nothing, each as one line."""
    out: list[str] = [
        f"{file.relative_to(project.path).as_posix()}: not read: kedro-dab reads dab.yml from "
        f"the base env and the tasks' env ('{project.env}'), never from 'local' (tasks do not "
        "run with it); move these settings to one of them"
        for file in project.unread_dab_files
        if file.is_relative_to(project.path)
    ]
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
        reasons = {r for job in users for task in job.tasks for r in task.placed_by.values()}
        tags = {
            t
            for job in users
            for task in job.tasks
            for n in task.nodes
            for t in project.nodes[n].tags
        }
        for index, rule in enumerate(rules):
            placing = f"grouping[{index}]:"
            if any(r.startswith(placing) for r in reasons):
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
            shown = ", ".join(f"{k}: {v}" for k, v in plain(entry.match, compact=True).items())
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
