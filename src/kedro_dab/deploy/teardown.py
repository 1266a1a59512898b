"""What `destroy` deletes with the SDK engine, decided from reads only: the target's jobs (from
the state file and by tags), its apps and its folders."""

from __future__ import annotations

from dataclasses import dataclass, field

from kedro_dab.deploy import apps as app_deploy
from kedro_dab.deploy.changes import JobChange, job_url
from kedro_dab.deploy.context import target_paths
from kedro_dab.deploy.state import deployed_jobs, read_state
from kedro_dab.deploy.target import Target
from kedro_dab.deploy.workspace import Workspace


@dataclass
class Teardown:
    """What `destroy` deletes: the target's jobs (from the state and by tags) and its folders."""

    jobs: list[JobChange]
    paths: list[str]
    apps: list[app_deploy.AppChange] = field(default_factory=list)

    def lines(self) -> list[str]:
        """One line per job, app and path, for the user to review before approving."""
        return (
            [f"job {c.key} ({c.job_id})  {c.url}" for c in self.jobs]
            + [f"app {c.key} ({c.name})  {c.url}" for c in self.apps]
            + [f"folder {path}" for path in self.paths]
        )


def plan_destroy(workspace: Workspace, target: Target) -> Teardown:
    """Everything `destroy` would delete, from reads only."""
    paths = target_paths(target, workspace.user_name())
    state = read_state(workspace, target)
    from_state = {int(job_id): key for key, job_id in (state.get("jobs") or {}).items()}
    deployed = deployed_jobs(workspace, target, set(from_state))
    listed = {job_id: key for key, ids in deployed.items() for job_id in ids}
    ids = {
        **{job_id: key for job_id, key in from_state.items() if job_id not in listed},
        **listed,
    }
    host = workspace.host
    jobs = [
        JobChange(key, "delete", job_id, job_url(host, job_id))
        for job_id, key in sorted(ids.items(), key=lambda item: (item[1], item[0]))
        if job_id in listed or workspace.job_exists(job_id)
    ]
    folders = [paths.root] + [
        p
        for p in (paths.files, paths.artifacts, paths.state)
        if not p.startswith(paths.root + "/") and not p.startswith("/Volumes/")
    ]
    wheel = (state.get("wheel") or {}).get("name")
    if wheel and paths.artifacts.startswith("/Volumes/"):
        folders.append(f"{paths.artifacts}/.internal/{wheel}")
    apps = app_deploy.destroy_plan(workspace, target, state, paths.files)
    return Teardown(jobs, [p for p in dict.fromkeys(folders) if workspace.exists(p)], apps)
