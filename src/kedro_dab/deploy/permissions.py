"""A job's access control list, as the CLI computes it from the job's and the bundle's
permissions (`job_permissions`), and as the Jobs API takes it (`acl_requests`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kedro_dab.deploy.context import is_service_principal
from kedro_dab.deploy.references import resolve
from kedro_dab.deploy.target import Target
from kedro_dab.errors import ConfigError

_BUNDLE_LEVELS = {"CAN_MANAGE": "CAN_MANAGE", "CAN_VIEW": "CAN_VIEW", "CAN_RUN": "CAN_MANAGE_RUN"}
_LEVEL_ORDER = {"CAN_VIEW": 2, "CAN_MANAGE_RUN": 14, "CAN_MANAGE": 17, "IS_OWNER": 18}
_PRINCIPALS = ("user_name", "service_principal_name", "group_name")


def job_permissions(target: Target, key: str, context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The job's ACL as the CLI computes it: the job's own permissions, then the bundle's
    (top level and target, combined) for principals the job does not name; when there are any,
    the deploying user becomes IS_OWNER (their CAN_MANAGE upgraded) unless someone already
    is, and each principal keeps one level, its highest."""
    where = f"permissions of job '{key}'"
    own = list(resolve(target.jobs[key].get("permissions") or [], context, where))
    entries = [*own]
    for entry in resolve(target.permissions, context, "permissions"):
        level = str(entry.get("level"))
        if level not in _BUNDLE_LEVELS:
            raise ConfigError(
                f"permissions: invalid permission level: {level}, allowed values: "
                f"[{', '.join(_BUNDLE_LEVELS)}]"
            )
        if any(entry.get(p) and entry.get(p) == mine.get(p) for mine in own for p in _PRINCIPALS):
            continue
        who = {p: entry[p] for p in _PRINCIPALS if entry.get(p)}
        entries.append({"level": _BUNDLE_LEVELS[level], **who})
    if not entries:
        return []
    user = str(context["workspace.current_user.userName"])
    _ensure_owner(entries, user)
    levels: dict[tuple[str, str], str] = {}
    for entry in entries:
        level = str(entry.get("level") or "")
        principal = next(((p, str(entry[p])) for p in _PRINCIPALS if entry.get(p)), None)
        if not level or principal is None:
            continue
        before = levels.get(principal, "")
        if _LEVEL_ORDER.get(level, 0) >= _LEVEL_ORDER.get(before, -1):
            levels[principal] = level
    return [{"level": level, kind: name} for (kind, name), level in levels.items()]


def _ensure_owner(entries: list[dict[str, Any]], user: str) -> None:
    def who(entry: Mapping[str, Any]) -> Any:
        return entry.get("user_name") or entry.get("service_principal_name")

    owners = [e for e in entries if e.get("level") == "IS_OWNER"]
    if any(who(e) == user for e in owners):
        return
    manage = next((e for e in entries if who(e) == user and e.get("level") == "CAN_MANAGE"), None)
    if not owners:
        if manage is not None:
            manage["level"] = "IS_OWNER"
        else:
            kind = "service_principal_name" if is_service_principal(user) else "user_name"
            entries.append({"level": "IS_OWNER", kind: user})
    elif manage is None:
        kind = "service_principal_name" if is_service_principal(user) else "user_name"
        entries.append({"level": "CAN_MANAGE", kind: user})


def acl_requests(entries: list[dict[str, Any]]) -> list[Any]:
    from databricks.sdk.service.jobs import JobAccessControlRequest, JobPermissionLevel

    out = []
    for index, entry in enumerate(entries):
        level = str(entry.get("level"))
        if level not in _LEVEL_ORDER:
            raise ConfigError(
                f"permissions[{index}].level '{level}' is not a job permission level "
                f"({', '.join(_LEVEL_ORDER)})"
            )
        who = {k: entry[k] for k in _PRINCIPALS if k in entry}
        out.append(JobAccessControlRequest(permission_level=JobPermissionLevel(level), **who))
    return out
