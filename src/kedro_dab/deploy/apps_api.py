"""The Apps API calls the SDK engine's deploy and destroy make (get, create, update, start,
deploy, delete), each error in one line naming the app."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kedro_dab.deploy.workspace import Workspace, WorkspaceError, _gone, about, deleting

if TYPE_CHECKING:
    from kedro_dab.deploy.apps import WantedApp


class Apps:
    """The Apps API calls a deploy and a destroy make, errors in one line naming the app."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.client = workspace.client

    def get(self, name: str) -> dict[str, Any] | None:
        """The app as the API returns it, or None when there is none of that name."""
        try:
            return dict(self.client.apps.get(name).as_dict())
        except Exception as exc:
            if _gone(exc):
                return None
            with about(f"app '{name}'"):
                raise exc
        return None  # pragma: no cover - about() always raises

    def create(self, settings: Mapping[str, Any], user: str) -> dict[str, Any]:
        """Create the app (compute started). A create retried by the SDK after its response
        was lost meets the app it made: one this user created and never deployed is taken."""
        from databricks.sdk.errors import ResourceAlreadyExists
        from databricks.sdk.service.apps import App

        name = settings["name"]
        try:
            with_compute = self.client.apps.create(App.from_dict(dict(settings)))
            return dict(with_compute.response.as_dict())
        except ResourceAlreadyExists:
            found = self.get(name)
            if found is not None and fresh(found, user):
                return found
            raise WorkspaceError(
                f"app '{name}' already exists in the workspace and was not deployed by this "
                "target; delete it, or give the endpoint's app another name"
            ) from None
        except Exception as exc:
            with about(f"app '{name}' (apps/create)"):
                raise exc
        raise AssertionError("unreachable")  # pragma: no cover

    def update(self, settings: Mapping[str, Any]) -> None:
        from databricks.sdk.service.apps import App

        name = settings["name"]
        with about(f"app '{name}' (apps/update)"):
            self.client.apps.update(name, App.from_dict(dict(settings)))

    def ensure_running(self, name: str, found: Mapping[str, Any], timeout: float) -> None:
        """Start the app's compute unless it is active, and wait until it is."""
        import datetime

        state = (found.get("compute_status") or {}).get("state")
        with about(f"app '{name}' (start)"):
            if state in ("STOPPED", "ERROR", None):
                self.client.apps.start(name)
            if state != "ACTIVE":
                self.client.apps.wait_get_app_active(
                    name, timeout=datetime.timedelta(seconds=timeout)
                )

    def deploy(self, app: WantedApp, timeout: float) -> str:
        """Start a deployment of the synced source and follow it; its id."""
        import datetime

        from databricks.sdk.errors import DatabricksError, OperationFailed
        from databricks.sdk.service.apps import AppDeployment

        where = f"app '{app.name}' (resources.apps.{app.key}) deployment"
        try:
            with about(where):
                try:
                    started = self.client.apps.deploy(
                        app.name, AppDeployment.from_dict(app.deployment())
                    )
                    deployment_id = str(started.response.deployment_id)
                except DatabricksError:
                    # A deploy retried by the SDK after its response was lost finds its own
                    # deployment in progress: follow that one.
                    pending = (self.get(app.name) or {}).get("pending_deployment") or {}
                    if pending.get("source_code_path") != app.remote:
                        raise
                    deployment_id = str(pending["deployment_id"])
                self.client.apps.wait_get_deployment_app_succeeded(
                    app.name, deployment_id, timeout=datetime.timedelta(seconds=timeout)
                )
        except OperationFailed as exc:
            raise WorkspaceError(
                f"{where} from {app.remote} failed: {exc}; fix the app's source and deploy again"
            ) from None
        return deployment_id

    def delete(self, name: str) -> None:
        """Delete an app; one that is already gone is deleted."""
        with deleting(f"app '{name}' (apps/delete)"):
            self.client.apps.delete(name)


def fresh(found: Mapping[str, Any], user: str) -> bool:
    """Created by `user` and never deployed: what a create whose response was lost leaves."""
    return (
        found.get("creator") == user
        and not found.get("active_deployment")
        and not found.get("pending_deployment")
    )
