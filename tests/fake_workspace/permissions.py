"""Job permissions: `PUT` and `GET /api/2.0/permissions/jobs/{job_id}`, as Databricks answers
them. A PUT replaces the job's direct permissions; for each principal the last level given
counts, and the result must name exactly one IS_OWNER ("The job must have exactly one owner.",
as the Databricks CLI's permissions fact-check case records). An ACL given to `jobs/create`
may name at most one owner; without one, the creator owns the job."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from databricks.sdk.service import jobs as sdk_jobs

from .errors import invalid
from .schema import ObjectSchema, method_schema

if TYPE_CHECKING:
    from .server import FakeWorkspace, Request, Response


def _put_schema() -> ObjectSchema:
    schema = method_schema(sdk_jobs.JobsAPI.set_permissions)
    fields = {k: v for k, v in schema.fields.items() if k != "job_id"}
    return dataclasses.replace(schema, fields=fields, required=frozenset())


_PRINCIPALS = ("user_name", "group_name", "service_principal_name")


def checked_acl(
    entries: list[dict[str, Any]], *, creator: str | None = None
) -> list[dict[str, Any]]:
    """The direct permissions an access control list leaves: the last level per principal,
    exactly one owner (with `creator`, for `jobs/create`, the creator when none is named)."""
    levels: dict[tuple[str, str], str] = {}
    for entry in entries:
        principal = next(((k, str(entry[k])) for k in _PRINCIPALS if entry.get(k)), None)
        if principal is None:
            raise invalid("Each access control entry must name a user, group or service principal.")
        levels.pop(principal, None)
        levels[principal] = str(entry.get("permission_level"))
    owners = [p for p, level in levels.items() if level == "IS_OWNER"]
    if not owners and creator is not None:
        levels = {("user_name", creator): "IS_OWNER", **levels}
        owners = [("user_name", creator)]
    if len(owners) != 1:
        raise invalid("The job must have exactly one owner.")
    return [{kind: name, "permission_level": level} for (kind, name), level in levels.items()]


def _listing(workspace: FakeWorkspace, job_id: int) -> dict[str, Any]:
    acl = []
    stored = workspace.job_permissions.get(job_id)
    if stored is None:
        stored = [{"user_name": workspace.user_name, "permission_level": "IS_OWNER"}]
    for entry in stored:
        who = {k: v for k, v in entry.items() if k != "permission_level"}
        level = entry.get("permission_level")
        acl.append({**who, "all_permissions": [{"permission_level": level, "inherited": False}]})
    return {"object_id": f"/jobs/{job_id}", "object_type": "job", "access_control_list": acl}


def put_job_permissions(workspace: FakeWorkspace, request: Request) -> Response:
    """Replace a job's direct permissions."""
    from .server import Response

    job_id = int(request.params["job_id"])
    workspace._job(job_id)
    workspace._check_job_access(job_id, "CAN_MANAGE")
    body = request.json_body(_put_schema())
    entries = list(body.get("access_control_list") or [])
    workspace.job_permissions[job_id] = checked_acl(entries)
    return Response(body=_listing(workspace, job_id))


def get_job_permissions(workspace: FakeWorkspace, request: Request) -> Response:
    """A job's permissions."""
    from .server import Response

    job_id = int(request.params["job_id"])
    workspace._job(job_id)
    return Response(body=_listing(workspace, job_id))
