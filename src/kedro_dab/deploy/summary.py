"""`kedro dab summary` and `kedro dab open`: what is deployed to a target, read back from the
workspace (kedro-dab's deployment state, the jobs and their runs); nothing is changed.

Drift compares what the last deploy sent for each job (its fingerprint in the deployment
state) with what the local bundle files would send now, against the same uploaded wheel: a
change to dab.yml or the bundle that was not deployed shows, a rebuilt wheel does not. A job
whose fingerprint matches is then compared with its live settings, so an edit made in the
workspace shows too, named as a deploy names it (`kedro_dab.deploy.drift`).

A target deployed by the Databricks CLI (the `cli` engine) has no kedro-dab deployment state;
its jobs are read from the state the CLI keeps beside it (cli_state.py). Its drift is unknown
here: `databricks bundle plan` tells. The text form of a summary is in summary_text.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kedro_dab.deploy.cli_state import cli_deployed_jobs
from kedro_dab.deploy.drift import edited_in_workspace
from kedro_dab.deploy.target import Target, load_target
from kedro_dab.deploy.workspace import Workspace, WorkspaceError, about, connect
from kedro_dab.errors import ConfigError

_WHEEL_VERSION = re.compile(r"^[^-]+-(?P<version>[^-]+)-")

DELETED = "deleted in the workspace since the last deploy"


@dataclass(frozen=True)
class LastRun:
    """A job's most recent run."""

    run_id: int
    state: str
    """The result (SUCCESS, FAILED, CANCELED, ...) once it ended, else the life cycle state."""
    start: str | None
    """ISO 8601, UTC."""
    duration_seconds: float | None
    url: str


@dataclass(frozen=True)
class JobSummary:
    """One job of the target as the workspace has it."""

    key: str
    job_id: int | None
    url: str | None
    wheel: str | None
    """The project wheel the last deploy uploaded (file name)."""
    wheel_version: str | None
    deployed_at: str | None
    """When the last deploy wrote the deployment state, ISO 8601, UTC."""
    last_run: LastRun | None
    in_sync: bool | None
    """True when the deployed settings equal the local bundle's; None when unknown."""
    drift: str
    """In words: in sync, drifted (and why), not deployed, or why it is unknown."""


@dataclass
class AppSummary:
    """One Databricks App of the target as the workspace has it."""

    key: str
    name: str
    url: str | None
    """The app's own address (None when it is not deployed)."""
    compute: str | None
    """The app's compute state (ACTIVE, STOPPED...), None when it is not deployed."""
    status: str | None
    """The application's state (RUNNING, CRASHED...)."""
    deployment_id: str | None
    """The active deployment, if any."""


@dataclass
class TargetSummary:
    """Every job of one target."""

    target: str
    host: str
    root_path: str
    jobs: list[JobSummary] = field(default_factory=list)
    apps: list[AppSummary] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (`kedro dab summary --format json`)."""
        return asdict(self)


def summarize(
    root: Path, target_name: str | None, *, profile: str | None = None, client: Any = None
) -> TargetSummary:
    """Read back what is deployed to the target."""
    from kedro_dab.deploy.context import target_paths
    from kedro_dab.deploy.state import STATE_FILE, read_state

    target = load_target(root, target_name)
    workspace = Workspace(client or connect(target.host, profile, bundle_profile=target.profile))
    user = workspace.user_name()
    paths = target_paths(target, user)
    state = read_state(workspace, target)
    ids = {k: int(v) for k, v in (state.get("jobs") or {}).items()}
    wheel = (state.get("wheel") or {}).get("name")
    deployed_at = _modified_at(workspace, f"{paths.state}/{STATE_FILE}") if state else None
    local = _local_fingerprints(root, target, workspace, user, paths, wheel)
    if not state:
        ids, cli_state = cli_deployed_jobs(workspace, paths.state)
        if cli_state is not None:
            deployed_at = _modified_at(workspace, cli_state)
            wheel = next(
                (w for w in map(lambda i: _wheel_of(workspace, i), ids.values()) if w), None
            )
            local = (
                "unknown: deployed with the Databricks CLI; "
                f"`databricks bundle plan -t {target.name}` shows what a deploy would change"
            )
    prints = state.get("fingerprints") or {}
    out = TargetSummary(target.name, workspace.host, paths.root)
    for key in sorted(set(target.jobs) | set(ids)):
        job_id = ids.get(key)
        if job_id is None:
            out.jobs.append(
                JobSummary(key, None, None, None, None, None, None, None, "not deployed")
            )
            continue
        live = workspace.job_settings(job_id)
        if live is None:
            out.jobs.append(
                JobSummary(
                    key,
                    job_id,
                    None,
                    wheel,
                    _version_of(wheel),
                    deployed_at,
                    None,
                    False,
                    f"{DELETED}; `kedro dab deploy -t {target.name}` creates it again",
                )
            )
            continue
        if key not in target.jobs:
            in_sync, drift = False, "drifted: deployed, but no longer in the local bundle"
        elif isinstance(local, str):
            in_sync, drift = None, local
        elif prints.get(key) == local[key][0]:
            edited = edited_in_workspace(workspace, job_id, *local[key][1:], live=live)
            in_sync = not edited
            drift = (
                f"drifted: {edited}; a deploy puts it back"
                if edited
                else "in sync: the deployed settings equal the local bundle"
            )
        else:
            in_sync, drift = False, "drifted: the local bundle differs from what was deployed"
        out.jobs.append(
            JobSummary(
                key=key,
                job_id=job_id,
                url=f"{workspace.host}/jobs/{job_id}",
                wheel=wheel,
                wheel_version=_version_of(wheel),
                deployed_at=deployed_at,
                last_run=_last_run(workspace, job_id),
                in_sync=in_sync,
                drift=drift,
            )
        )
    out.apps = _apps(workspace, target, state)
    return out


def _apps(workspace: Workspace, target: Target, state: Mapping[str, Any]) -> list[AppSummary]:
    """The configured apps and those the state names, read from the Apps API; an app of that
    name that this user neither deployed nor created is not this target's."""
    from kedro_dab.deploy.apps_api import Apps

    known = {str(k): v.get("name") for k, v in (state.get("apps") or {}).items()}
    names = {
        key: str(app.get("name") or key)
        for key, app in target.app_resources.items()
        if isinstance(app, Mapping)
    }
    names.update({k: str(v) for k, v in known.items() if v})
    out = []
    for key, name in sorted(names.items()):
        found = Apps(workspace).get(name) if "${" not in name else None
        if found is None or (key not in known and found.get("creator") != workspace.user_name()):
            out.append(AppSummary(key, name, None, None, None, None))
            continue
        out.append(
            AppSummary(
                key,
                name,
                found.get("url"),
                (found.get("compute_status") or {}).get("state"),
                (found.get("app_status") or {}).get("state"),
                (found.get("active_deployment") or {}).get("deployment_id"),
            )
        )
    return out


def job_url(
    root: Path,
    target_name: str | None,
    key: str | None,
    *,
    profile: str | None = None,
    client: Any = None,
) -> tuple[str, str]:
    """(job key, URL) of a deployed job; `key` may be left out when the bundle has one job."""
    summary = summarize(root, target_name, profile=profile, client=client)
    if key is None:
        deployed = [j for j in summary.jobs if j.job_id is not None]
        if not deployed:
            raise WorkspaceError(
                f"nothing is deployed to target '{summary.target}'; run "
                f"`kedro dab deploy -t {summary.target}` first"
            )
        if len(deployed) > 1:
            names = ", ".join(j.key for j in deployed)
            raise ConfigError(f"target '{summary.target}' has jobs {names}; name the one to open")
        key = deployed[0].key
    for job in summary.jobs:
        if job.key == key:
            if job.job_id is not None and job.url is None:
                raise WorkspaceError(
                    f"job '{key}' ({job.job_id}) no longer exists in the workspace "
                    f"({DELETED}?); run `kedro dab deploy -t {summary.target}` again to create it"
                )
            if job.url is None:
                raise WorkspaceError(
                    f"job '{key}' is not deployed to target '{summary.target}'; run "
                    f"`kedro dab deploy -t {summary.target}` first"
                )
            return key, job.url
    known = ", ".join(j.key for j in summary.jobs)
    raise ConfigError(f"no job '{key}' in target '{summary.target}' (jobs: {known})")


def _local_fingerprints(
    root: Path, target: Target, workspace: Workspace, user: str, paths: Any, wheel: str | None
) -> dict[str, tuple[str, dict[str, Any], list[dict[str, Any]]]] | str:
    """What a deploy of the local bundle would send for each job, against the deployed wheel
    (its fingerprint, settings and permissions), or why that cannot be known."""
    from kedro_dab.build import Artifact
    from kedro_dab.deploy.context import references, short_name
    from kedro_dab.deploy.files import uses_wheel
    from kedro_dab.deploy.job_settings import desired_settings
    from kedro_dab.deploy.permissions import job_permissions
    from kedro_dab.deploy.state import fingerprint

    stand_in: Artifact | None = None
    remote = ""
    if uses_wheel(target):  # a from_source target's jobs install no wheel
        if wheel is None:
            return "unknown: no kedro-dab deployment state for this target"
        built = sorted((root / "dist").glob("*.whl"))
        if not built:
            return "unknown: no wheel in dist/ to compare with; run `kedro dab build`"
        stand_in = Artifact(built[0], 0, "")
        remote = f"{paths.artifacts}/.internal/{wheel}"
    short = short_name(user)
    context = references(target, user, short, paths, workspace.host)
    out = {}
    for key in target.jobs:
        settings = desired_settings(target, key, root, context, stand_in, remote, short)
        acl = job_permissions(target, key, context)
        out[key] = (fingerprint(settings, acl), settings, acl)
    return out


def _wheel_of(workspace: Workspace, job_id: int) -> str | None:
    """The file name of the first wheel a deployed job's tasks install (None, too, for a job
    gone from the workspace)."""
    settings = workspace.job_settings(job_id) or {}
    for task in settings.get("tasks") or []:
        for library in task.get("libraries") or []:
            if library.get("whl"):
                return str(library["whl"]).rsplit("/", 1)[-1]
    return None


def _modified_at(workspace: Workspace, path: str) -> str | None:
    with about(path):
        info = workspace.client.workspace.get_status(path)
    return _iso(getattr(info, "modified_at", None))


def _last_run(workspace: Workspace, job_id: int) -> LastRun | None:
    with about(f"runs of job {job_id}"):
        run = next(iter(workspace.client.jobs.list_runs(job_id=job_id, limit=1)), None)
    if run is None:
        return None
    state = run.state
    result = getattr(state.result_state, "value", None) if state else None
    life = getattr(state.life_cycle_state, "value", None) if state else None
    duration = run.run_duration
    if not duration and run.start_time and run.end_time:
        duration = run.end_time - run.start_time
    return LastRun(
        run_id=int(run.run_id or 0),
        state=str(result or life or "UNKNOWN"),
        start=_iso(run.start_time),
        duration_seconds=round(duration / 1000, 1) if duration else None,
        url=str(run.run_page_url or ""),
    )


def _iso(millis: int | None) -> str | None:
    if not millis:
        return None
    moment = datetime.fromtimestamp(millis / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _version_of(wheel: str | None) -> str | None:
    match = _WHEEL_VERSION.match(wheel or "")
    return match.group("version") if match else None
