"""The SDK engine: deploy a bundle target in pure Python, no Databricks CLI needed.

Order, as the CLI does it: take the deploy lock (a file created with overwrite=false), decide the
changes, upload the wheel and the shipped conf, create or reset each job, apply permissions,
write the deployment state, release the lock. Every job carries tags naming its bundle, target
and resource key, so a lost state file never produces a duplicate job.

One function, `decide` (in `kedro_dab.deploy.changes`), turns what is deployed and what is
wanted into a `Changes` value; `--dry-run` prints it and a deploy applies it here, so the two
never disagree. Deploys converge: whatever an earlier deploy left behind (a lost response, a job
deleted in the UI, a twin from a retried create, a file already gone), the next one ends with one
job per resource key and the lock free.

What a job's settings are is `kedro_dab.deploy.job_settings`, its ACL
`kedro_dab.deploy.permissions`, the files shipped `kedro_dab.deploy.files`, and what `destroy`
deletes `kedro_dab.deploy.teardown`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kedro_dab.build import Artifact
from kedro_dab.deploy import apps as app_deploy
from kedro_dab.deploy.changes import Changes, Deployment, JobChange, decide, job_url
from kedro_dab.deploy.context import references, short_name, target_paths
from kedro_dab.deploy.files import emptied_folders, upload_progress
from kedro_dab.deploy.job_settings import desired_settings
from kedro_dab.deploy.lock import LOCK_FILE, DeployLock
from kedro_dab.deploy.metadata import METADATA_FILE, metadata
from kedro_dab.deploy.permissions import acl_requests, job_permissions
from kedro_dab.deploy.state import STATE_FILE, STATE_VERSION, deployed_jobs, fingerprint
from kedro_dab.deploy.target import Target
from kedro_dab.deploy.workspace import Workspace, WorkspaceError
from kedro_dab.errors import DabError


@dataclass
class DeployReport:
    """The outcome of a deploy: job changes, uploads, and where things went."""

    target: str
    engine: str
    dry_run: bool
    root_path: str = ""
    jobs: list[JobChange] = field(default_factory=list)
    uploaded: list[str] = field(default_factory=list)
    unchanged_files: int = 0
    deleted_files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """What went wrong after the deploy itself succeeded (a lock that could not be released)."""
    apps: list[app_deploy.AppChange] = field(default_factory=list)


def deploy_target(
    workspace: Workspace,
    target: Target,
    root: Path,
    wheel: Artifact | None,
    conf_files: Mapping[str, bytes],
    *,
    dry_run: bool = False,
    force_lock: bool = False,
    confirm_delete: Callable[[list[str]], bool] = lambda keys: False,
    echo: Callable[[str], None] = lambda line: None,
) -> DeployReport:
    """Deploy `target`: `conf_files` maps paths relative to the project (`conf/base/x.yml`)
    to their bytes (for a target whose tasks run the synced source, every file the CLI's
    file sync uploads: see `kedro_dab.deploy.files.source_files`); `wheel` is the stamped
    project wheel, None when no job of the target installs it."""
    user = workspace.user_name()
    short = short_name(user)
    paths = target_paths(target, user)
    context = references(target, user, short, paths, workspace.host)
    wheel_remote = f"{paths.artifacts}/.internal/{wheel.path.name}" if wheel else ""
    desired = {
        key: desired_settings(target, key, root, context, wheel, wheel_remote, short)
        for key in sorted(target.jobs)
    }
    permissions = {key: job_permissions(target, key, context) for key in desired}
    report = DeployReport(target.name, "sdk", dry_run, paths.root)
    deployment = Deployment(
        workspace,
        target,
        desired,
        permissions,
        paths,
        wheel,
        wheel_remote,
        conf_files,
        apps=app_deploy.wanted_apps(target, root, context, paths.files, user),
        user=user,
    )
    if dry_run:
        _report_dry_run(decide(deployment), report, workspace.host)
        return report

    lock = DeployLock(workspace, f"{paths.state}/{LOCK_FILE}", user, force_lock)
    lock.acquire()
    try:
        changes = decide(deployment)
        new_state = _apply(deployment, changes, report, confirm_delete, echo)
        workspace.write(
            f"{paths.state}/{METADATA_FILE}",
            json.dumps(metadata(target, root, paths, new_state["jobs"]), indent=2).encode(),
            overwrite=True,
        )
        workspace.write(
            f"{paths.state}/{STATE_FILE}", json.dumps(new_state, indent=2, sort_keys=True).encode()
        )
    except BaseException as exc:
        problem = lock.release()
        if problem and isinstance(exc, DabError):
            raise WorkspaceError(f"{exc}; and {problem}") from None
        if problem and isinstance(exc, KeyboardInterrupt):
            raise DeployInterrupted(problem) from None
        raise
    problem = lock.release()
    if problem:
        report.problems.append(problem)
    return report


class DeployInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a deploy and its lock could not be released: `lock_problem` says so."""

    def __init__(self, lock_problem: str) -> None:
        super().__init__(lock_problem)
        self.lock_problem = lock_problem


def _report_dry_run(changes: Changes, report: DeployReport, host: str) -> None:
    """Fill a dry run's report: what the deploy would do."""
    report.jobs += [
        JobChange(
            c.key, c.action, c.job_id, job_url(host, c.job_id) if c.job_id else None, c.reason
        )
        for c in [*changes.jobs, *changes.duplicates, *changes.removed]
    ]
    report.uploaded += changes.uploads
    report.unchanged_files = changes.unchanged_files
    report.deleted_files += changes.deletes
    report.apps += changes.apps.all()


def _upload_all(
    d: Deployment, changes: Changes, report: DeployReport, echo: Callable[[str], None]
) -> None:
    prefix = f"{d.paths.files}/"
    sources = {d.wheel_remote: d.wheel.path.read_bytes()} if d.wheel is not None else {}
    sources.update({f"{prefix}{rel}": data for rel, data in d.conf_files.items()})
    total = sum(len(sources[remote]) for remote in changes.uploads)
    done = 0
    for remote in changes.uploads:
        data = sources[remote]
        name = remote[len(prefix) :] if remote.startswith(prefix) else remote.rsplit("/", 1)[-1]
        d.workspace.write(remote, data, progress=upload_progress(name, done, total, echo))
        done += len(data)
        report.uploaded.append(remote)


def _apply(
    deployment: Deployment,
    changes: Changes,
    report: DeployReport,
    confirm_delete: Callable[[list[str]], bool],
    echo: Callable[[str], None],
) -> dict[str, Any]:
    """Carry out `changes` (decided by `decide`) and return the new state."""
    from databricks.sdk.service.jobs import JobSettings

    d = deployment
    host = d.workspace.host
    _upload_all(d, changes, report, echo)
    for remote in changes.deletes:
        d.workspace.delete(remote)
        report.deleted_files.append(remote)
    for folder in emptied_folders(d.paths.files, changes.deletes, d.conf_files):
        # As the CLI's sync removes the folders it empties; one holding something else stays.
        with contextlib.suppress(DabError):
            d.workspace.delete(folder)
    report.unchanged_files = changes.unchanged_files

    for twin in changes.duplicates:
        assert twin.job_id is not None
        d.workspace.delete_job(twin.key, twin.job_id)
        report.jobs.append(twin)
        echo(f"{'delete':9} job {twin.key} ({twin.job_id}, a duplicate)")

    jobs: dict[str, int] = {}
    prints: dict[str, str] = {}
    created: dict[str, int] = {}
    for change in changes.jobs:
        key, settings = change.key, d.desired[change.key]
        acl = acl_requests(d.permissions[key])
        if change.action == "create":
            job_id = d.workspace.create_job(key, JobSettings.from_dict(settings), acl or None)
            created[key] = job_id
        else:
            assert change.job_id is not None
            job_id = change.job_id
            if change.action == "update":
                d.workspace.reset_job(key, job_id, JobSettings.from_dict(settings))
                if acl:
                    d.workspace.set_permissions(key, job_id, acl)
        jobs[key] = job_id
        prints[key] = fingerprint(settings, d.permissions[key])
        report.jobs.append(
            JobChange(key, change.action, job_id, job_url(host, job_id), change.reason)
        )
        why = f" ({change.reason})" if change.reason else ""
        echo(f"{change.action:9} job {key} -> {job_url(host, job_id)}{why}")
    if created:
        # A create retried by the SDK after its response was lost leaves a twin behind: one more
        # listing (only when something was created) finds and deletes it.
        for key, ids in deployed_jobs(d.workspace, d.target, set(jobs.values())).items():
            for twin_id in ids:
                if key in created and twin_id != created[key]:
                    d.workspace.delete_job(key, twin_id)
                    report.jobs.append(JobChange(key, "delete", twin_id, reason="duplicate"))
                    echo(f"{'delete':9} job {key} ({twin_id}, a duplicate)")

    removed = sorted({change.key for change in changes.removed})
    if removed and confirm_delete(removed):
        for change in changes.removed:
            assert change.job_id is not None
            d.workspace.delete_job(change.key, change.job_id)
            report.jobs.append(JobChange(change.key, "delete", change.job_id, reason=change.reason))
    else:
        for change in changes.removed:
            assert change.job_id is not None
            jobs.setdefault(change.key, change.job_id)
            prints[change.key] = (changes.state.get("fingerprints") or {}).get(change.key, "")
            report.jobs.append(
                JobChange(change.key, "keep", change.job_id, job_url(host, change.job_id))
            )
    apps = app_deploy.apply_apps(
        d.workspace, d.apps, changes.apps, changes.state, d.user, confirm_delete, echo, report.apps
    )
    return {
        "version": STATE_VERSION,
        "bundle": d.target.bundle_name,
        "target": d.target.name,
        "jobs": dict(sorted(jobs.items())),
        "fingerprints": dict(sorted(prints.items())),
        "wheel": {"name": d.wheel.path.name, "sha256": d.wheel.sha256} if d.wheel else None,
        "files": changes.file_hashes,
        **({"apps": apps} if apps else {}),
    }
