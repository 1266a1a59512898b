"""How the SDK engine finds what it deployed: the state file it writes after each deploy, the
tags every job it creates carries, and the fingerprint that tells an unchanged job."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from typing import Any

from kedro_dab.deploy.context import target_paths
from kedro_dab.deploy.metadata import METADATA_FILE
from kedro_dab.deploy.target import Target
from kedro_dab.deploy.workspace import Workspace

STATE_FILE = "kedro-dab-state.json"
STATE_VERSION = 1
TAG_BUNDLE, TAG_TARGET, TAG_KEY = "kedro_dab_bundle", "kedro_dab_target", "kedro_dab_job"


def read_state(workspace: Workspace, target: Target) -> dict[str, Any]:
    """The deployment state of a target, or {} before its first deploy.

    It is the JSON file `<workspace.state_path>/kedro-dab-state.json`, written at the end of each
    successful deploy::

        {
          "version": 1,
          "bundle": "<bundle name>", "target": "<target name>",
          "jobs": {"<resource key>": <job id>, ...},
          "fingerprints": {"<resource key>": "<hash of the settings and permissions sent>"},
          "wheel": {"name": "<wheel file name>", "sha256": "<hex>"} (null: none built),
          "files": {"<path relative to the project>": "<sha256 hex>", ...},
          "apps": {"<resource key>": {"name": "<app name>", "fingerprint": "<hash>",
                                      "deployment": "<deployment id>"}}
        }

    (`apps` only when the target has Databricks Apps; see `kedro_dab.deploy.apps`.)

    The jobs also carry tags (`kedro_dab_bundle`, `kedro_dab_target`, `kedro_dab_job`), so
    `deployed_jobs` finds them when this file is lost."""
    paths = target_paths(target, workspace.user_name())
    return workspace.read_json(f"{paths.state}/{STATE_FILE}") or {}


def deployed_jobs(
    workspace: Workspace, target: Target, known: Collection[int] = ()
) -> dict[str, list[int]]:
    """Job ids by resource key of the jobs this target deployed, from one listing of the
    workspace's jobs (ids ascending: the first is the oldest): tagged with the target's bundle
    and name, and either `known` (in the state) or deployed from this target's state folder
    (their `deployment.metadata_file_path`, one read each). Another user's development copy,
    or another checkout's, carries the same tags but its own state folder; a job cloned in
    the UI carries no deployment."""
    tags = {TAG_BUNDLE: target.bundle_name, TAG_TARGET: target.name}
    ours = f"{target_paths(target, workspace.user_name()).state}/{METADATA_FILE}"
    found: dict[str, list[int]] = {}
    for job_id, job_tags in workspace.jobs_tagged(tags):
        if job_id in known or workspace.job_metadata_path(job_id) == ours:
            found.setdefault(job_tags.get(TAG_KEY, "?"), []).append(job_id)
    return {key: sorted(ids) for key, ids in sorted(found.items())}


def fingerprint(settings: Mapping[str, Any], permissions: list[dict[str, Any]]) -> str:
    """Hash of what was sent for a job, to leave unchanged jobs alone."""
    sent = json.dumps([settings, permissions], sort_keys=True)
    return hashlib.sha256(sent.encode()).hexdigest()[:16]
