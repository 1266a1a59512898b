"""Databricks Apps: the rules the Apps API enforces, and app and deployment state.

What it checks, as Databricks does: an app name is 2 to 30 characters of lowercase letters,
digits and hyphens, starting with a letter (the limits the Databricks CLI applies before it
calls the API) and unique in the workspace (409 RESOURCE_ALREADY_EXISTS, the message the CLI's
recorded outputs show); the name cannot change on update; an unknown app is 404
RESOURCE_DOES_NOT_EXIST. A deployment needs the app's compute ACTIVE, no other deployment in
progress, and a `source_code_path` that is an existing workspace folder; it snapshots that
folder. It fails (state FAILED) when a file of the folder exceeds 10 MB (the Apps limit) or the
folder holds neither an `app.yaml` nor a Python file to run.

Long-running states move one step per read, before answering: compute STARTING -> ACTIVE at a
read of the app, a deployment IN_PROGRESS -> SUCCEEDED or FAILED at a read of the deployment
(or of the list); until then the app shows it as `pending_deployment`. So the SDK's waiters see
the end state on their first poll, while the create/start/deploy responses show the start.
"""

from __future__ import annotations

import datetime
import itertools
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, invalid

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]*$")
NAME_LENGTH = (2, 30)
MAX_FILE_BYTES = 10 * 1024 * 1024
PAGE_SIZE = 100
UPDATABLE = (
    "description",
    "resources",
    "compute_size",
    "budget_policy_id",
    "usage_policy_id",
    "user_api_scopes",
    "git_repository",
    "telemetry_export_destinations",
)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def app_not_found(name: str) -> ApiError:
    """404 for an app that does not exist (or was deleted)."""
    return ApiError(
        404, "RESOURCE_DOES_NOT_EXIST", f"App with name {name} does not exist or is deleted."
    )


def check_name(name: Any) -> str:
    """400 unless `name` is a valid app name."""
    if not isinstance(name, str) or not name:
        raise invalid("Missing required field: name")
    low, high = NAME_LENGTH
    if not low <= len(name) <= high:
        raise invalid(
            f"Invalid app name '{name}': it must be between {low} and {high} characters long."
        )
    if not NAME_PATTERN.match(name):
        raise invalid(
            f"Invalid app name '{name}': it must contain only lowercase letters, numbers and "
            "hyphens, and start with a letter."
        )
    return name


@dataclass
class Deployment:
    """One deployment of an app, and the snapshot of its source folder."""

    body: dict[str, Any]
    files: dict[str, bytes]
    outcome: tuple[str, str]
    """(final state, message) the deployment reaches at its next read."""


@dataclass
class AppRecord:
    """An app as the Apps API returns it, plus its deployments."""

    body: dict[str, Any]
    deployments: list[Deployment] = field(default_factory=list)


class AppStore:
    """Every app of the workspace, by name."""

    def __init__(self, user_name: str, workspace_id: str) -> None:
        self.user_name = user_name
        self.workspace_id = workspace_id
        self.apps: dict[str, AppRecord] = {}
        self._ids: Iterator[int] = itertools.count(1000)
        self._deploy_ids: Iterator[int] = itertools.count(1)

    # ------------------------------------------------------------------ helpers

    def record(self, name: str, *, advance: bool = True) -> AppRecord:
        """The app named `name` (its compute advanced one step, unless told), or 404."""
        found = self.apps.get(name)
        if found is None:
            raise app_not_found(name)
        body = found.body
        if advance and body["compute_status"]["state"] == "STARTING":
            body["compute_status"] = {"state": "ACTIVE", "message": "App compute is active."}
            if body.get("active_deployment"):
                body["app_status"] = {"state": "RUNNING", "message": "App is running."}
        return found

    def _advance(self, app: AppRecord) -> None:
        """Deployments in progress end (read of a deployment or of the list)."""
        body = app.body
        for deployment in app.deployments:
            status = deployment.body["status"]
            if status["state"] == "IN_PROGRESS":
                state, message = deployment.outcome
                deployment.body["status"] = {"state": state, "message": message}
                deployment.body["update_time"] = _now()
                body.pop("pending_deployment", None)
                if state == "SUCCEEDED":
                    body["active_deployment"] = deployment.body
                    body["app_status"] = {"state": "RUNNING", "message": "App is running."}
                else:
                    body["app_status"] = {
                        "state": "CRASHED" if body.get("active_deployment") is None else "RUNNING",
                        "message": message,
                    }

    # ------------------------------------------------------------------ apps

    def create(self, app: Mapping[str, Any], *, no_compute: bool) -> dict[str, Any]:
        name = check_name(app.get("name"))
        if name in self.apps:
            raise ApiError(
                409, "RESOURCE_ALREADY_EXISTS", f"An app with the same name already exists: {name}"
            )
        app_id = next(self._ids)
        body: dict[str, Any] = {
            **{k: v for k, v in app.items() if k in (*UPDATABLE, "name")},
            "id": str(uuid.UUID(int=app_id)),
            "url": f"https://{name}-{self.workspace_id}.aws.databricksapps.com",
            "creator": self.user_name,
            "updater": self.user_name,
            "create_time": _now(),
            "update_time": _now(),
            "compute_size": app.get("compute_size") or "MEDIUM",
            "service_principal_id": app_id,
            "service_principal_client_id": str(uuid.uuid4()),
            "service_principal_name": f"app-{name}",
            "default_source_code_path": f"/Workspace/Users/{self.user_name}/{name}",
        }
        if no_compute:
            body["compute_status"] = {"state": "STOPPED", "message": "App compute is stopped."}
        else:
            body["compute_status"] = {"state": "STARTING", "message": "App compute is starting."}
        body["app_status"] = {"state": "UNAVAILABLE", "message": "App has not been deployed."}
        self.apps[name] = AppRecord(body)
        return dict(body)

    def get(self, name: str) -> dict[str, Any]:
        return dict(self.record(name).body)

    def list(self, page_token: str | None, page_size: int | None) -> dict[str, Any]:
        size = page_size or PAGE_SIZE
        if not 1 <= size <= 1000:
            raise invalid(f"Invalid page_size {size}: it must be between 1 and 1000.")
        names = sorted(self.apps)
        start = int(page_token) if page_token and page_token.isdigit() else 0
        page = names[start : start + size]
        out: dict[str, Any] = {"apps": [self.get(name) for name in page]}
        if start + size < len(names):
            out["next_page_token"] = str(start + size)
        return out

    def update(self, name: str, app: Mapping[str, Any]) -> dict[str, Any]:
        record = self.record(name)
        if app.get("name") not in (None, name):
            raise invalid(
                f"Cannot change the name of app {name} to {app.get('name')}: an app's name is "
                "fixed at creation."
            )
        body = record.body
        for key in UPDATABLE:
            if key in app:
                body[key] = app[key]
            elif key != "compute_size":
                body.pop(key, None)
        body["update_time"] = _now()
        body["updater"] = self.user_name
        return dict(body)

    def delete(self, name: str) -> dict[str, Any]:
        record = self.record(name)
        del self.apps[name]
        return dict(record.body)

    def start(self, name: str) -> dict[str, Any]:
        body = self.record(name).body
        if body["compute_status"]["state"] != "ACTIVE":
            body["compute_status"] = {"state": "STARTING", "message": "App compute is starting."}
        return dict(body)

    def stop(self, name: str) -> dict[str, Any]:
        record = self.record(name)
        body = record.body
        body["compute_status"] = {"state": "STOPPED", "message": "App compute is stopped."}
        body["app_status"] = {"state": "UNAVAILABLE", "message": "App is stopped."}
        body.pop("active_deployment", None)
        body.pop("pending_deployment", None)
        return dict(body)

    # ------------------------------------------------------------------ deployments

    def deploy(
        self, name: str, request: Mapping[str, Any], folder: Mapping[str, bytes] | None
    ) -> dict[str, Any]:
        """Start a deployment; `folder` is the source folder's files by relative path, None
        when the path is not a workspace folder. A deployment still in progress stays so: a
        request retried right after it meets it."""
        record = self.record(name, advance=False)
        body = record.body
        if body["compute_status"]["state"] != "ACTIVE":
            raise invalid(
                f"Cannot deploy app {name}: its compute is {body['compute_status']['state']}; "
                "start the app first."
            )
        if any(d.body["status"]["state"] == "IN_PROGRESS" for d in record.deployments):
            raise invalid(
                f"Cannot deploy app {name}: a deployment is already in progress; wait for it."
            )
        mode = request.get("mode") or "SNAPSHOT"
        if mode not in ("SNAPSHOT", "AUTO_SYNC"):
            raise invalid(f"Invalid deployment mode '{mode}': use SNAPSHOT or AUTO_SYNC.")
        path = request.get("source_code_path")
        if not isinstance(path, str) or not path:
            raise invalid("Missing required field: source_code_path")
        if folder is None:
            raise invalid(
                f"Source code path {path} is not a folder of the workspace; upload the app's "
                "source there first."
            )
        deployment_id = f"01f0{next(self._deploy_ids):028x}"
        deployment: dict[str, Any] = {
            **{k: v for k, v in request.items() if k in ("command", "env_vars", "git_source")},
            "deployment_id": deployment_id,
            "source_code_path": path,
            "mode": mode,
            "creator": self.user_name,
            "create_time": _now(),
            "update_time": _now(),
            "status": {"state": "IN_PROGRESS", "message": "Deployment is in progress."},
            "deployment_artifacts": {
                "source_code_path": f"/Workspace/Users/{body['service_principal_client_id']}"
                f"/src/{deployment_id}"
            },
        }
        record.deployments.append(Deployment(deployment, dict(folder), _outcome(folder)))
        body["pending_deployment"] = deployment
        body["app_status"] = {"state": "DEPLOYING", "message": "App is being deployed."}
        return dict(deployment)

    def deployment(self, name: str, deployment_id: str) -> Deployment:
        record = self.record(name)
        self._advance(record)
        for found in record.deployments:
            if found.body["deployment_id"] == deployment_id:
                return found
        raise ApiError(
            404,
            "RESOURCE_DOES_NOT_EXIST",
            f"Deployment {deployment_id} of app {name} does not exist.",
        )

    def deployments(self, name: str) -> list[dict[str, Any]]:
        record = self.record(name)
        self._advance(record)
        return [d.body for d in reversed(record.deployments)]


def _outcome(files: Mapping[str, bytes]) -> tuple[str, str]:
    big = sorted(rel for rel, data in files.items() if len(data) > MAX_FILE_BYTES)
    if big:
        return "FAILED", f"File {big[0]} exceeds the maximum app file size of 10 MB."
    if (
        "app.yaml" not in files
        and "app.yml" not in files
        and not any("/" not in rel and rel.endswith(".py") for rel in files)
    ):
        return "FAILED", "No app.yaml and no Python file to run in the source code path."
    return "SUCCEEDED", "App started successfully."
