"""Job permissions: `PUT` and `GET /api/2.0/permissions/jobs/{job_id}`, as Databricks answers
them (a PUT replaces the job's direct permissions; the owner keeps IS_OWNER)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from databricks.sdk.service import jobs as sdk_jobs

from .schema import ObjectSchema, method_schema

if TYPE_CHECKING:
    from .server import FakeWorkspace, Request, Response


def _put_schema() -> ObjectSchema:
    schema = method_schema(sdk_jobs.JobsAPI.set_permissions)
    fields = {k: v for k, v in schema.fields.items() if k != "job_id"}
    return dataclasses.replace(schema, fields=fields, required=frozenset())


def _listing(workspace: FakeWorkspace, job_id: int) -> dict[str, Any]:
    acl = [
        {
            "user_name": workspace.user_name,
            "all_permissions": [{"permission_level": "IS_OWNER", "inherited": False}],
        }
    ]
    for entry in workspace.job_permissions.get(job_id, []):
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
    workspace.job_permissions[job_id] = [
        e for e in entries if e.get("permission_level") != "IS_OWNER"
    ]
    return Response(body=_listing(workspace, job_id))


def get_job_permissions(workspace: FakeWorkspace, request: Request) -> Response:
    """A job's permissions."""
    from .server import Response

    job_id = int(request.params["job_id"])
    workspace._job(job_id)
    return Response(body=_listing(workspace, job_id))
