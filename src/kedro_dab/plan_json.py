"""The documented, versioned JSON form of a Plan (`kedro dab plan --format json`): what each
job, task, boundary dataset and endpoint is, with the argv each task runs."""

from __future__ import annotations

from typing import Any

from kedro_dab import boundaries as _boundaries
from kedro_dab.collector import collector_paused
from kedro_dab.config import plain
from kedro_dab.plan import Job, Plan, cleanup_args, kedro_run_args
from kedro_dab.serve.endpoints import endpoint_to_dict

PLAN_SCHEMA = "kedro-dab/plan"
PLAN_VERSION = 1


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
        "compute": {name: plain(profile) for name, profile in sorted(plan.compute.items())},
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
