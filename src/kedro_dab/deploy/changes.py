"""What a deploy will do, decided before it does any of it: `decide` turns what is deployed (the
state file, one listing of the target's tagged jobs, the live settings of the jobs the state
calls up to date) and what is wanted (a `Deployment`) into `Changes`. Only reads the workspace;
the dry run prints the changes and a deploy applies them. A job edited in the workspace since
its deploy is updated back to the bundle's settings, as the Databricks CLI does
(`kedro_dab.deploy.drift`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kedro_dab.build import Artifact
from kedro_dab.deploy import apps as app_deploy
from kedro_dab.deploy.context import Paths
from kedro_dab.deploy.drift import edited_in_workspace
from kedro_dab.deploy.files import file_changes
from kedro_dab.deploy.state import STATE_FILE, deployed_jobs, fingerprint
from kedro_dab.deploy.target import Target
from kedro_dab.deploy.workspace import Workspace


@dataclass
class JobChange:
    """What a deploy did (or would do) to one job."""

    key: str
    action: str
    """create, update, unchanged, delete, or keep (removal not confirmed)."""
    job_id: int | None = None
    url: str | None = None
    reason: str = ""
    """Why, when it is not plain: "removed from the configuration", "duplicate", "changed in
    the workspace: name, tags['team']"."""


def job_url(host: str, job_id: int) -> str:
    """The job's page in the workspace."""
    return f"{host}/jobs/{job_id}"


@dataclass
class Deployment:
    """What one deploy wants, gathered once."""

    workspace: Workspace
    target: Target
    desired: Mapping[str, dict[str, Any]]
    permissions: Mapping[str, list[dict[str, Any]]]
    paths: Paths
    wheel: Artifact | None
    wheel_remote: str
    conf_files: Mapping[str, bytes]
    apps: Mapping[str, app_deploy.WantedApp]
    user: str


@dataclass
class Changes:
    """Everything a deploy will do, decided before it does any of it.

    `jobs` holds one entry per job of the configuration (create, update or unchanged, with the
    job id for the last two); `removed` the deployed jobs no longer configured (deleted when
    approved, else kept); `duplicates` the extra jobs carrying a configured key's tags (always
    deleted). `uploads` are remote paths (wheel first, then conf files), `deletes` remote conf
    files that are no longer shipped."""

    state: Mapping[str, Any]
    jobs: list[JobChange] = field(default_factory=list)
    removed: list[JobChange] = field(default_factory=list)
    duplicates: list[JobChange] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    unchanged_files: int = 0
    file_hashes: dict[str, str] = field(default_factory=dict)
    apps: app_deploy.AppChanges = field(default_factory=app_deploy.AppChanges)


def decide(deployment: Deployment) -> Changes:
    """The deploy's changes, from the state file, one listing of the tagged jobs, the live
    settings of each job the state says is up to date, and the local files. Only reads the
    workspace; the dry run and the deploy both call it."""
    d = deployment
    state = d.workspace.read_json(f"{d.paths.state}/{STATE_FILE}") or {}
    known = {key: int(job_id) for key, job_id in (state.get("jobs") or {}).items()}
    listed = deployed_jobs(d.workspace, d.target, set(known.values()))
    prints = state.get("fingerprints") or {}
    changes = Changes(state)

    def alive(key: str) -> tuple[int | None, list[int]]:
        """(the job to keep for `key`, the other jobs carrying its tags)."""
        ids = listed.get(key, [])
        kept = known.get(key)
        if kept is not None and kept not in ids and not d.workspace.job_exists(kept):
            kept = None  # deleted in the UI
        if kept is None and ids:
            kept = ids[0]
        return kept, [job_id for job_id in ids if job_id != kept]

    for key, settings in d.desired.items():
        job_id, twins = alive(key)
        changes.duplicates += [JobChange(key, "delete", twin, reason="duplicate") for twin in twins]
        if job_id is None:
            changes.jobs.append(JobChange(key, "create"))
            continue
        same = (
            known.get(key) == job_id
            and job_id in listed.get(key, [])
            and prints.get(key) == fingerprint(settings, d.permissions[key])
        )
        edited = (
            edited_in_workspace(d.workspace, job_id, settings, d.permissions[key]) if same else ""
        )
        action = "unchanged" if same and not edited else "update"
        changes.jobs.append(JobChange(key, action, job_id, reason=edited))
    for key in sorted((set(known) | set(listed)) - set(d.desired)):
        job_id, twins = alive(key)
        for gone in [job_id, *twins] if job_id is not None else []:
            changes.removed.append(
                JobChange(key, "delete", gone, reason="removed from the configuration")
            )

    uploaded_wheel = state.get("wheel") or {}
    if d.wheel is not None and (
        uploaded_wheel.get("sha256") != d.wheel.sha256 or not d.workspace.exists(d.wheel_remote)
    ):
        changes.uploads.append(d.wheel_remote)
    hashes, changed, removed = file_changes(d.conf_files, state)
    changes.uploads += [f"{d.paths.files}/{rel}" for rel in changed]
    changes.deletes = [f"{d.paths.files}/{rel}" for rel in removed]
    changes.unchanged_files = len(d.conf_files) - len(changed)
    changes.file_hashes = hashes
    changes.apps = app_deploy.decide_apps(d.workspace, d.apps, state, hashes, d.user)
    return changes
