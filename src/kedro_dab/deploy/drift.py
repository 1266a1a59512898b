"""Whether a deployed job still has the settings a deploy sends: the live job (`jobs/get`)
against the settings, by the rules the Databricks CLI's direct engine plans with, so that a
job edited in the UI is put back by the next deploy, as the CLI puts it back.

Both sides go through the SDK's `JobSettings` first, so a field neither knows is no difference.
A setting differs unless the two are equal, both empty (absent, `{}`, `[]`, 0, "", false), the
remote value is one Databricks keeps for itself (`IGNORE_REMOTE`), or the settings leave it
out and the remote holds a value the backend fills in (`BACKEND_DEFAULTS`). Lists of tasks,
job clusters, environments, parameters and dependencies are matched by their keys, whatever
their order. Differences are named as the CLI's plan names them: `tags['team']`,
`tasks[task_key='ingest'].max_retries`. A job's direct permissions are compared too when the
bundle sets any (without, the CLI leaves them alone): `permissions[group_name='admins']`.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kedro_dab.deploy.workspace import Workspace

_WEBHOOK_PARENTS = (
    "webhook_notifications",
    "tasks[*].webhook_notifications",
    "tasks[*].for_each_task.task.webhook_notifications",
)
_WEBHOOK_EVENTS = (
    "on_start",
    "on_success",
    "on_failure",
    "on_duration_warning_threshold_exceeded",
    "on_streaming_backlog_exceeded",
)
KEYED: Mapping[str, str] = {
    "tasks": "task_key",
    "parameters": "name",
    "job_clusters": "job_cluster_key",
    "environments": "environment_key",
    "tasks[*].depends_on": "task_key",
    "tasks[*].for_each_task.task.depends_on": "task_key",
    **{f"{parent}.{event}": "id" for parent in _WEBHOOK_PARENTS for event in _WEBHOOK_EVENTS},
}
"""The lists matched element by element through a key field, by the list's path."""

_CLUSTERS = ("tasks[*].new_cluster", "tasks[*].for_each_task.task.new_cluster")
_ALL_CLUSTERS = (*_CLUSTERS, "job_clusters[*].new_cluster")
IGNORE_REMOTE: frozenset[str] = frozenset(
    [
        "deployment.version_id",
        *(f"{c}.{cloud}_attributes" for c in _ALL_CLUSTERS for cloud in ("aws", "azure", "gcp")),
        *(f"{c}.apply_policy_default_values" for c in _ALL_CLUSTERS),
    ]
)
"""Paths whose remote value never counts: managed by Databricks, or never returned."""

_SOURCES = (
    "notebook_task.source",
    "spark_python_task.source",
    "sql_task.file.source",
    "dbt_task.source",
)
BACKEND_DEFAULTS: Mapping[str, tuple[Any, ...] | None] = {
    "format": ("MULTI_TASK", "SINGLE_TASK"),
    "run_as": None,
    "tasks[*].run_if": ("ALL_SUCCESS",),
    "tasks[*].for_each_task.task.run_if": ("ALL_SUCCESS",),
    **{
        f"{c}.{name}": None
        for c in _ALL_CLUSTERS
        for name in (
            "enable_elastic_disk",
            "enable_local_disk_encryption",
            "node_type_id",
            "driver_node_type_id",
            "driver_instance_pool_id",
            "data_security_mode",
        )
    },
    **{
        f"{t}.{source}": None
        for t in ("tasks[*]", "tasks[*].for_each_task.task")
        for source in _SOURCES
    },
}
"""Paths the backend fills in when the settings leave them out, with the values it may fill
(None: any value)."""


EDITED = "changed in the workspace"


def edited_in_workspace(
    workspace: Workspace,
    job_id: int,
    settings: Mapping[str, Any],
    permissions: list[dict[str, Any]],
    *,
    live: Mapping[str, Any] | None = None,
) -> str:
    """Why a job whose state says it is up to date is not (edited in the UI or through the
    API), or "" when its live settings (`live`, read here when not given), and its direct
    permissions when the bundle sets any, are what a deploy sends. A job gone from the
    workspace is "" too: a deploy creates it again, as a deploy's plan says."""
    if live is None:
        live = workspace.job_settings(job_id)
    if live is None:
        return ""
    paths = drifted(settings, live)
    if permissions:
        paths += acl_drifted(permissions, workspace.job_acl(job_id))
    if not paths:
        return ""
    shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    return f"{EDITED}: {shown}"


def acl_drifted(sent: list[dict[str, Any]], live: list[dict[str, Any]]) -> list[str]:
    """The principals whose direct permission on the job differs from `sent` (entries as
    `job_permissions` gives them: a level and one principal), as `permissions[user_name='x']`
    (added or removed) or `permissions[user_name='x'].level`, sorted."""
    ours, theirs = _levels(sent), _levels(live)
    found = []
    for kind, name in sorted(set(ours) | set(theirs)):
        shown = f"permissions[{kind}='{name}']"
        if (kind, name) not in ours or (kind, name) not in theirs:
            found.append(shown)
        elif ours[kind, name] != theirs[kind, name]:
            found.append(f"{shown}.level")
    return found


def _levels(entries: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    out = {}
    for entry in entries:
        for kind in ("user_name", "service_principal_name", "group_name"):
            if entry.get(kind):
                out[kind, str(entry[kind])] = str(entry.get("level"))
    return out


def drifted(sent: Mapping[str, Any], live: Mapping[str, Any]) -> list[str]:
    """The settings where the live job differs from `sent` (job settings as `jobs/reset`
    takes them), named by path, sorted; [] when a deploy would leave the job as it is."""
    from databricks.sdk.service.jobs import JobSettings

    new = JobSettings.from_dict(dict(sent)).as_dict()
    remote = JobSettings.from_dict(dict(live)).as_dict()
    found: list[str] = []
    _compare(new, remote, "", "", JobSettings, found)
    return sorted(found)


def _compare(new: Any, remote: Any, shown: str, rule: str, kind: Any, found: list[str]) -> None:
    """Add to `found` the paths under `shown` where `remote` differs from `new`; `rule` is the
    same path with `[*]` for each list element, as the rules name it; `kind` the SDK type."""
    if new == remote or (_empty(new) and _empty(remote)) or rule in IGNORE_REMOTE:
        return
    if new is None and rule in BACKEND_DEFAULTS:
        allowed = BACKEND_DEFAULTS[rule]
        if allowed is None or remote in allowed:
            return
    if isinstance(new, Mapping) and isinstance(remote, Mapping):
        item = _map_value(kind)
        for name in sorted(set(new) | set(remote), key=str):
            if item is not None:
                _compare(
                    new.get(name),
                    remote.get(name),
                    f"{shown}['{name}']",
                    f"{rule}.{name}",
                    item,
                    found,
                )
            else:
                path = f"{shown}.{name}" if shown else str(name)
                rule_path = f"{rule}.{name}" if rule else str(name)
                _compare(
                    new.get(name), remote.get(name), path, rule_path, _field(kind, name), found
                )
        return
    if isinstance(new, list) and isinstance(remote, list) and rule in KEYED:
        key = KEYED[rule]
        element = _list_item(kind)
        ours = {str(x.get(key)): x for x in new if isinstance(x, Mapping)}
        theirs = {str(x.get(key)): x for x in remote if isinstance(x, Mapping)}
        if len(ours) != len(new) or len(theirs) != len(remote):
            found.append(shown)
            return
        for name in sorted(set(ours) | set(theirs)):
            _compare(
                ours.get(name),
                theirs.get(name),
                f"{shown}[{key}='{name}']",
                f"{rule}[*]",
                element,
                found,
            )
        return
    if isinstance(new, list) and isinstance(remote, list) and len(new) == len(remote):
        element = _list_item(kind)
        for index, (a, b) in enumerate(zip(new, remote, strict=True)):
            _compare(a, b, f"{shown}[{index}]", f"{rule}[*]", element, found)
        return
    found.append(shown)


def _empty(value: Any) -> bool:
    """Absent or a zero value, as Go has them: `{}`, `[]`, 0, "", false."""
    if isinstance(value, (bool, int, float)):
        return not value
    return value is None or value in ({}, [], "")


def _unwrap(kind: Any) -> Any:
    """`Optional[X]` -> X."""
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    return args[0] if typing.get_origin(kind) is typing.Union and len(args) == 1 else kind


def _map_value(kind: Any) -> Any:
    """The value type when `kind` is a `Dict[str, X]`, else None."""
    kind = _unwrap(kind)
    return typing.get_args(kind)[1] if typing.get_origin(kind) is dict else None


def _list_item(kind: Any) -> Any:
    kind = _unwrap(kind)
    return typing.get_args(kind)[0] if typing.get_origin(kind) is list else Any


def _field(kind: Any, name: str) -> Any:
    return _hints(_unwrap(kind)).get(name, Any)


@functools.cache
def _hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls) if dataclasses.is_dataclass(cls) else {}
