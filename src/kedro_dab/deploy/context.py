"""A target's deploy context, as the CLI computes it: where its files live in the workspace
(`Paths`), everything `${...}` may name (`references`), and its presets, checked and with the
target mode's defaults filled in (`target_presets`)."""

from __future__ import annotations

import posixpath
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kedro_dab.deploy.references import resolve
from kedro_dab.deploy.refusals import USE_CLI, UnsupportedBundle
from kedro_dab.deploy.target import Target
from kedro_dab.errors import ConfigError

_DEV_CONCURRENT_RUNS = 4
_SUPPORTED_PRESETS = {
    "name_prefix",
    "tags",
    "jobs_max_concurrent_runs",
    "trigger_pause_status",
    "artifacts_dynamic_version",
    "pipelines_development",
}


@dataclass(frozen=True)
class Paths:
    """Where a target's files live in the workspace."""

    root: str
    files: str
    artifacts: str
    state: str
    resources: str


def short_name(user: str) -> str:
    """The CLI's short user name: the part before '@', other characters made '_'."""
    local = user.split("@", 1)[0]
    return re.sub(r"[^A-Za-z0-9]", "_", local).lower()


def _absolute(path: str) -> str:
    """A workspace path as the CLI rewrites it before resolving references: `/Workspace` is
    prepended to a path that starts with `/` but not with `/Workspace/` or `/Volumes/` (a path
    starting with a reference is left as it is). Only `root_path` has `~/` expanded first."""
    if path.startswith("/") and not path.startswith(("/Workspace/", "/Volumes/")):
        path = "/Workspace" + path
    return path


def target_paths(target: Target, user: str) -> Paths:
    """root/files/artifacts/state paths for the target, as the CLI defines them: the default
    root `~/.bundle/<bundle>/<target>`, the other paths below the root unless set, each
    rewritten by `_absolute`, then references (`${bundle.name}`, `${var.x}`, another
    `${workspace.*_path}`, ...) resolved."""
    raw_root = target.root_path or f"~/.bundle/{target.bundle_name}/{target.name}"
    if raw_root.startswith("~/"):
        raw_root = posixpath.normpath(f"/Workspace/Users/{user}/{raw_root[2:]}")
    raw = {
        "root_path": raw_root,
        "file_path": target.file_path or posixpath.join(raw_root, "files"),
        "artifact_path": target.artifact_path or posixpath.join(raw_root, "artifacts"),
        "state_path": target.state_path or posixpath.join(raw_root, "state"),
        "resource_path": posixpath.join(raw_root, "resources"),
    }
    context: dict[str, Any] = {
        "bundle.name": target.bundle_name,
        "bundle.target": target.name,
        "workspace.current_user.userName": user,
        "workspace.current_user.short_name": short_name(user),
        **{f"workspace.{name}": _absolute(value) for name, value in raw.items()},
        **{f"var.{name}": value for name, value in target.variables.items()},
    }
    done = {
        name: resolve(context[f"workspace.{name}"], context, f"workspace.{name}") for name in raw
    }
    for name, value in done.items():
        if not isinstance(value, str):
            raise ConfigError(f"workspace.{name} must be a string, not {type(value).__name__}")
    return Paths(
        root=done["root_path"],
        files=done["file_path"],
        artifacts=done["artifact_path"],
        state=done["state_path"],
        resources=done["resource_path"],
    )


def references(target: Target, user: str, short: str, paths: Paths, host: str) -> dict[str, Any]:
    """Everything `${...}` may name in this target, the variables' values resolved (a cycle
    between them is an error even when no job uses them, as in the CLI), and the target's
    presets checked as the CLI checks them. A deploy stops here on what the SDK engine cannot
    deploy."""
    if target.refusals:
        raise UnsupportedBundle(target.refusals[0])
    context: dict[str, Any] = {
        "bundle.name": target.bundle_name,
        "bundle.target": target.name,
        "workspace.host": host,
        "workspace.root_path": paths.root,
        "workspace.file_path": paths.files,
        "workspace.artifact_path": paths.artifacts,
        "workspace.state_path": paths.state,
        "workspace.resource_path": paths.resources,
        "workspace.current_user.userName": user,
        "workspace.current_user.short_name": short,
    }
    for name, value in target.variables.items():
        context[f"var.{name}"] = value
    for name in target.variables:
        resolved = resolve(context[f"var.{name}"], context, f"variables.{name}")
        context[f"var.{name}"] = context[f"variables.{name}.value"] = resolved
    target_presets(target, context, short)
    return context


def target_presets(target: Target, context: Mapping[str, Any], short: str) -> dict[str, Any]:
    """The target's presets, references resolved, with the development mode's defaults filled
    in where a preset is unset (as the CLI does before it applies presets), and checked as the
    CLI checks them."""
    unknown = sorted(set(target.presets) - _SUPPORTED_PRESETS)
    if unknown:
        raise UnsupportedBundle(
            f"presets.{unknown[0]} is not supported by the SDK engine; {USE_CLI}"
        )
    presets = dict(resolve(target.presets, context, "presets"))
    pause = presets.get("trigger_pause_status") or ""
    if pause not in ("", "PAUSED", "UNPAUSED"):
        raise ConfigError(
            f"presets.trigger_pause_status '{pause}': invalid value, should be PAUSED or UNPAUSED"
        )
    user = str(context["workspace.current_user.userName"])
    if target.mode == "development":
        if pause == "UNPAUSED":
            raise ConfigError(
                "presets.trigger_pause_status: a target with 'mode: development' cannot set "
                "trigger pause status to UNPAUSED by default; remove the preset"
            )
        prefix = str(presets.get("name_prefix") or "")
        if prefix and user not in prefix and short not in prefix:
            raise ConfigError(
                f"presets.name_prefix '{prefix}': the prefix should contain the current username "
                "or ${workspace.current_user.short_name} to ensure uniqueness when using "
                "'mode: development'"
            )
        for name in ("root_path", "file_path", "artifact_path", "state_path"):
            path = str(context[f"workspace.{name}"])
            if user in path or short in path:
                continue
            if name == "artifact_path" and path.startswith("/Volumes"):
                raise ConfigError(
                    f"workspace.{name} should contain the current username or "
                    "${workspace.current_user.short_name} to ensure uniqueness when using "
                    "'mode: development'"
                )
            raise ConfigError(
                f"workspace.{name} must start with '~/' or contain the current username to "
                "ensure uniqueness when using 'mode: development'"
            )
        presets["name_prefix"] = prefix or f"[dev {short}] "
        tags = dict(presets.get("tags") or {})
        tags.setdefault("dev", short)
        presets["tags"] = tags
        presets["jobs_max_concurrent_runs"] = (
            presets.get("jobs_max_concurrent_runs") or _DEV_CONCURRENT_RUNS
        )
        presets["trigger_pause_status"] = pause or "PAUSED"
    elif (
        target.mode == "production"
        and not target.explicit_root_path
        and not is_service_principal(user)
    ):
        raise ConfigError(
            "targets." + target.name + ".workspace.root_path: a target with 'mode: "
            "production' must set 'workspace.root_path' to make sure only one copy is "
            "deployed, e.g. /Workspace/Users/" + user + "/.bundle/${bundle.name}/${bundle.target}"
        )
    return presets


def is_service_principal(user: str) -> bool:
    try:
        uuid.UUID(user)
    except ValueError:
        return False
    return True
