"""The SDK engine's Databricks Apps: what `databricks bundle deploy` does for `resources.apps`
when the app is to be running (the CLI's `lifecycle.started: true`, or a deploy followed by
`databricks bundle run <app>`), through the Apps API.

The app's source folder is synced with the bundle's files, so it lands where the CLI puts it:
`<workspace.file_path>/<folder relative to the bundle root>`. Then each app is created (or
updated in place: an app's name is fixed, so a new name is a new app), its compute started when
it is not running, and a deployment started from that folder (mode SNAPSHOT, the resource's
`config` as the deployment's command and environment, as the CLI sends it) and followed until
it succeeds.

Apps carry no tags, and their names are unique in the workspace: the deployment state names the
app of each resource key, and an app the state does not name is this target's only when its
deployment came from this target's source folder, or when this user created it and it was never
deployed (a create whose response was lost). Any other app of that name is someone else's: the
deploy stops, as the CLI's does (409 RESOURCE_ALREADY_EXISTS). `decide_apps` is the one decision
for the dry run and the deploy.

The Apps API calls are in `apps_api`; where each app's source folder is, in `apps_source`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kedro_dab.deploy.apps_api import Apps, fresh
from kedro_dab.deploy.apps_source import source_folders
from kedro_dab.deploy.references import resolve
from kedro_dab.deploy.refusals import USE_CLI, UnsupportedBundle
from kedro_dab.deploy.target import Target
from kedro_dab.deploy.workspace import Workspace, WorkspaceError

SENT_FIELDS = ("description", "compute_size", "resources", "user_api_scopes", "budget_policy_id")
"""The fields of an app resource the Apps API create/update call carries besides `name`."""
_HANDLED = {"name", "source_code_path", "config", "permissions", *SENT_FIELDS}


@dataclass(frozen=True)
class WantedApp:
    """One app of the configuration, as the SDK engine deploys it."""

    key: str
    name: str
    settings: dict[str, Any]
    """The App body of the create/update call."""
    source: str
    """The source folder relative to the bundle root."""
    remote: str
    """Where the source folder is synced in the workspace."""
    config: dict[str, Any] = field(default_factory=dict)

    def deployment(self) -> dict[str, Any]:
        """The AppDeployment body: the synced folder, and the config's command and env."""
        body: dict[str, Any] = {"mode": "SNAPSHOT", "source_code_path": self.remote}
        if self.config.get("command"):
            body["command"] = list(self.config["command"])
        if self.config.get("env"):
            body["env_vars"] = [dict(item) for item in self.config["env"]]
        return body


@dataclass
class AppChange:
    """What a deploy did (or would do) to one app."""

    key: str
    action: str
    """create, update, unchanged, delete, or keep (removal not confirmed)."""
    name: str
    url: str | None = None
    reason: str = ""
    deployment_id: str | None = None


@dataclass
class AppChanges:
    """The decided app changes: one per configured app, plus the deployed apps to remove."""

    apps: list[AppChange] = field(default_factory=list)
    removed: list[AppChange] = field(default_factory=list)
    fingerprints: dict[str, str] = field(default_factory=dict)

    def all(self) -> list[AppChange]:
        return [*self.apps, *self.removed]


# --- reading the configuration ----------------------------------------------------------------


def wanted_apps(
    target: Target,
    root: Path,
    context: Mapping[str, Any],
    files_path: str,
    user: str,
) -> dict[str, WantedApp]:
    """The target's apps as the SDK engine deploys them; what it cannot deploy is refused."""
    if not target.app_resources:
        return {}
    folders = source_folders(target, root)
    out: dict[str, WantedApp] = {}
    names: dict[str, str] = {}
    for key, raw in sorted(target.app_resources.items()):
        where = f"resources.apps.{key}"
        app = resolve(raw, context, where)
        unknown = sorted(set(app) - _HANDLED)
        if unknown:
            raise UnsupportedBundle(
                f"{where}.{unknown[0]}: the SDK engine does not deploy this app field; {USE_CLI}"
            )
        granted = resolve(target.permissions, context, "permissions")
        others = [
            entry
            for entry in [*granted, *(app.get("permissions") or [])]
            if entry.get("user_name") != user or entry.get("level") != "CAN_MANAGE"
        ]
        if others:
            raise UnsupportedBundle(
                f"{where}: the SDK engine does not set app permissions beyond its creator's "
                f"CAN_MANAGE; {USE_CLI}"
            )
        name = app.get("name")
        if not isinstance(name, str) or not name:
            raise WorkspaceError(f"{where}.name is missing; name the app")
        if name in names:
            raise WorkspaceError(
                f"resources.apps.{names[name]} and {where} are both app '{name}'; app names are "
                "unique in a workspace"
            )
        names[name] = key
        settings = {
            "name": name,
            **{k: app[k] for k in SENT_FIELDS if app.get(k) not in (None, "")},
        }
        config = app.get("config") or {}
        out[key] = WantedApp(
            key, name, settings, folders[key], f"{files_path}/{folders[key]}", dict(config)
        )
    return out


def fingerprint(app: WantedApp, file_hashes: Mapping[str, str]) -> str:
    """A hash of what a deploy sends for the app: its settings, its deployment request and the
    contents of its source folder."""
    prefix = app.source + "/"
    files = {rel: digest for rel, digest in file_hashes.items() if rel.startswith(prefix)}
    blob = json.dumps([app.settings, app.deployment(), files], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# --- deciding and applying -----------------------------------------------------------------------


RENAMED = "renamed"
DEPLOY_TIMEOUT = 20 * 60.0
"""How long a deploy waits for an app's compute and for its deployment (the CLI's 20 minutes)."""


def _ours(found: Mapping[str, Any], app: WantedApp, known: bool, user: str) -> bool:
    if known:
        return True
    sources = {
        (found.get(kind) or {}).get("source_code_path")
        for kind in ("active_deployment", "pending_deployment")
    }
    return app.remote in sources or fresh(found, user)


def _running_from(found: Mapping[str, Any], app: WantedApp) -> bool:
    active = found.get("active_deployment") or {}
    return (
        (found.get("compute_status") or {}).get("state") == "ACTIVE"
        and active.get("source_code_path") == app.remote
        and (active.get("status") or {}).get("state") == "SUCCEEDED"
    )


def decide_apps(
    workspace: Workspace,
    wanted: Mapping[str, WantedApp],
    state: Mapping[str, Any],
    file_hashes: Mapping[str, str],
    user: str,
) -> AppChanges:
    """The app changes, from the state, one read per app and the local files (reads only)."""
    known = _state_apps(state)
    if not wanted and not known:
        return AppChanges()
    api = Apps(workspace)
    changes = AppChanges()
    host = workspace.host
    for key, app in wanted.items():
        previous = known.get(key) or {}
        found = api.get(app.name)
        changes.fingerprints[key] = fingerprint(app, file_hashes)
        if found is None:
            reason = "deleted in the workspace" if previous.get("name") == app.name else ""
            changes.apps.append(AppChange(key, "create", app.name, reason=reason))
            continue
        if not _ours(found, app, previous.get("name") == app.name, user):
            raise WorkspaceError(
                f"resources.apps.{key}: app '{app.name}' already exists in the workspace and "
                "was not deployed by this target (app names are unique in a workspace); delete "
                "it, or give the endpoint's app another name"
            )
        same = previous.get("fingerprint") == changes.fingerprints[key] and _running_from(
            found, app
        )
        changes.apps.append(
            AppChange(key, "unchanged" if same else "update", app.name, _url(host, app.name))
        )
    for key, previous in sorted(known.items()):
        name = previous.get("name")
        if not name or (key in wanted and wanted[key].name == name):
            continue
        reason = RENAMED if key in wanted else "removed from the configuration"
        changes.removed.append(AppChange(key, "delete", name, _url(host, name), reason))
    return changes


def apply_apps(
    workspace: Workspace,
    wanted: Mapping[str, WantedApp],
    changes: AppChanges,
    state: Mapping[str, Any],
    user: str,
    confirm_delete: Callable[[list[str]], bool],
    echo: Callable[[str], None],
    report: list[AppChange],
    timeout: float = DEPLOY_TIMEOUT,
) -> dict[str, Any]:
    """Carry out `changes` (decided by `decide_apps`, the source already uploaded); the apps'
    entry of the new deployment state."""
    api = Apps(workspace)
    host = workspace.host
    out: dict[str, Any] = {}
    for change in changes.apps:
        app = wanted[change.key]
        deployment_id = (_state_apps(state).get(change.key) or {}).get("deployment")
        if change.action != "unchanged":
            if change.action == "create":
                found = api.create(app.settings, user)
            else:
                api.update(app.settings)
                found = api.get(app.name) or {}
            api.ensure_running(app.name, found, timeout)
            deployment_id = api.deploy(app, timeout)
        out[change.key] = {
            "name": app.name,
            "fingerprint": changes.fingerprints[change.key],
            "deployment": deployment_id,
        }
        done = AppChange(change.key, change.action, app.name, _url(host, app.name), change.reason)
        done.deployment_id = deployment_id
        report.append(done)
        echo(f"{change.action:9} app {change.key} -> {done.url}")
    # A new name is a new app: the old one goes without asking, as the CLI recreates an app.
    for change in [c for c in changes.removed if c.reason == RENAMED]:
        api.delete(change.name)
        report.append(change)
        echo(f"{'delete':9} app {change.key} ({change.name}, {change.reason})")
    removed = [c for c in changes.removed if c.reason != RENAMED]
    labels = sorted({f"apps.{change.key}" for change in removed})
    if labels and confirm_delete(labels):
        for change in removed:
            api.delete(change.name)
            report.append(change)
            echo(f"{'delete':9} app {change.key} ({change.name}, {change.reason})")
    else:
        previous = _state_apps(state)
        for change in removed:
            out[change.key] = previous[change.key]
            report.append(AppChange(change.key, "keep", change.name, change.url, change.reason))
    return dict(sorted(out.items()))


def destroy_plan(
    workspace: Workspace, target: Target, state: Mapping[str, Any], files_path: str
) -> list[AppChange]:
    """The apps `destroy` deletes, if they still exist: those the state names, and the
    configured ones (by their literal name) whose deployment came from this target's files."""
    known = _state_apps(state)
    names = {str(e["name"]): key for key, e in known.items() if e.get("name")}
    configured = {
        str(app["name"]): key
        for key, app in target.app_resources.items()
        if isinstance(app, Mapping) and isinstance(app.get("name"), str) and "${" not in app["name"]
    }
    if not names and not configured:
        return []
    api = Apps(workspace)
    out = []
    for name, key in sorted({**configured, **names}.items(), key=lambda kv: (kv[1], kv[0])):
        found = api.get(name)
        if found is None:
            continue
        if name not in names and not any(
            str((found.get(kind) or {}).get("source_code_path") or "").startswith(files_path + "/")
            for kind in ("active_deployment", "pending_deployment")
        ):
            continue
        out.append(AppChange(key, "delete", name, _url(workspace.host, name)))
    return out


def _state_apps(state: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    apps = state.get("apps") or {}
    return {str(k): dict(v) for k, v in apps.items() if isinstance(v, Mapping)}


def _url(host: str, name: str) -> str:
    return f"{host}/apps/{name}"
