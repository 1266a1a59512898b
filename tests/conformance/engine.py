"""What the SDK engine reads from a bundle, computed offline (no workspace needed).

`engine_view` runs the same functions `kedro dab deploy --engine sdk` runs to decide a job's
settings and ACL, with a given user, so tests can compare them with the Databricks CLI's."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kedro_dab.deploy.context import references, short_name, target_paths
from kedro_dab.deploy.job_settings import bundle_settings
from kedro_dab.deploy.permissions import job_permissions
from kedro_dab.deploy.refusals import USE_CLI, UnsupportedBundle
from kedro_dab.deploy.target import load_target

USER = "tester@databricks.com"
HOST = "https://workspace.test"


def _no_local_wheels(value: str) -> str:
    if value.endswith(".whl") and not value.startswith(("/", "dbfs:")) and "://" not in value:
        raise UnsupportedBundle(f"the local wheel '{value}' is not the project's; {USE_CLI}")
    return value


def engine_view(
    root: Path,
    target: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    variables: Mapping[str, str] | None = None,
    user: str = USER,
    local_artifact: Callable[[str], str] = _no_local_wheels,
) -> dict[str, Any]:
    """`{"target": name, "jobs": {key: settings, with "permissions" as the CLI shows them},
    "variables": {name: resolved value}, "workspace": {the paths, and the profile if set}}`."""
    loaded = load_target(root, target, variables or {}, environ or {})
    short = short_name(user)
    paths = target_paths(loaded, user)
    context = references(loaded, user, short, paths, HOST)
    jobs: dict[str, Any] = {}
    for key in sorted(loaded.jobs):
        settings = bundle_settings(loaded, key, root, context, short, local_artifact)
        acl = job_permissions(loaded, key, context)
        if acl:
            settings["permissions"] = acl
        jobs[key] = settings
    values = {name: context[f"var.{name}"] for name in loaded.variables}
    workspace = {
        "root_path": paths.root,
        "file_path": paths.files,
        "artifact_path": paths.artifacts,
        "state_path": paths.state,
        "resource_path": paths.resources,
    }
    if loaded.profile:
        workspace["profile"] = loaded.profile
    return {"target": loaded.name, "jobs": jobs, "variables": values, "workspace": workspace}
