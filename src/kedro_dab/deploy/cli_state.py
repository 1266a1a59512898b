"""The jobs of a target the Databricks CLI deployed (the `cli` engine), read from the state the
CLI keeps in the workspace, as `databricks bundle summary` reads it: `resources.json` (the
CLI's direct engine) or `terraform.tfstate`."""

from __future__ import annotations

from typing import Any

from kedro_dab.deploy.workspace import Workspace

CLI_STATE_FILES = ("resources.json", "terraform.tfstate")
"""The Databricks CLI's deployment state files in `workspace.state_path`: its direct engine's,
then its Terraform engine's."""


def cli_deployed_jobs(workspace: Workspace, state_path: str) -> tuple[dict[str, int], str | None]:
    """The job ids by resource key that the Databricks CLI's deployment state records, and the
    state file they come from; ({}, None) when the CLI has not deployed the target. Of the two
    state files, the one with the higher `serial` is the CLI's current one (a tie: direct)."""
    found: list[tuple[int, int, dict[str, int], str]] = []
    for rank, name in enumerate(CLI_STATE_FILES):
        path = f"{state_path}/{name}"
        data = workspace.read_json(path)
        if not isinstance(data, dict):
            continue
        jobs = _direct_jobs(data) if name == "resources.json" else _terraform_jobs(data)
        serial = data.get("serial")
        found.append((serial if isinstance(serial, int) else 0, -rank, jobs, path))
    if not found:
        return {}, None
    _, _, jobs, path = max(found, key=lambda f: (f[0], f[1]))
    return jobs, path


def _direct_jobs(data: dict[str, Any]) -> dict[str, int]:
    prefix = "resources.jobs."
    out = {}
    for name, entry in (data.get("state") or {}).items():
        if (
            name.startswith(prefix)
            and isinstance(entry, dict)
            and str(entry.get("__id__", "")).isdigit()
        ):
            out[name[len(prefix) :]] = int(entry["__id__"])
    return out


def _terraform_jobs(data: dict[str, Any]) -> dict[str, int]:
    out = {}
    for resource in data.get("resources") or []:
        if not isinstance(resource, dict) or resource.get("type") != "databricks_job":
            continue
        if resource.get("mode", "managed") != "managed":
            continue
        for instance in resource.get("instances") or []:
            job_id = str((instance.get("attributes") or {}).get("id", ""))
            if job_id.isdigit():
                out[str(resource.get("name"))] = int(job_id)
    return out
