"""Read a bundle for one target the way `databricks bundle deploy` reads it.

`databricks.yml` plus its `include` files, the target's overrides (mode, workspace, variables,
resources, permissions), and the `${...}` references the SDK engine can resolve. What it cannot
honour is an error that recommends the CLI engine, never a silent difference.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kedro_dab.bundle.layout import DATABRICKS_YML, read_databricks_yml
from kedro_dab.config import check_bundle_shape
from kedro_dab.errors import ConfigError, DabError, first_line, read_text

USE_CLI = "use the CLI engine (--engine cli) for this bundle"
SUPPORTED_TOP_LEVEL = {
    "bundle",
    "include",
    "artifacts",
    "sync",
    "variables",
    "targets",
    "resources",
    "workspace",
    "permissions",
    "presets",
    "run_as",
}
_REFERENCE = re.compile(r"\$\{([^}]+)\}")


class UnsupportedBundle(DabError):
    """The bundle uses something the SDK engine does not do; the CLI engine does."""


@dataclass
class Target:
    """One target of a bundle, merged and ready to deploy by the SDK engine."""

    name: str
    bundle_name: str
    mode: str | None
    host: str | None
    root_path: str | None
    variables: dict[str, Any]
    jobs: dict[str, dict[str, Any]]
    job_files: dict[str, Path]
    permissions: list[dict[str, Any]] = field(default_factory=list)
    presets: dict[str, Any] = field(default_factory=dict)
    artifact_path: str | None = None
    file_path: str | None = None
    state_path: str | None = None


def load_target(
    root: Path, target: str | None, overrides: Mapping[str, str] | None = None
) -> Target:
    """Merge `databricks.yml`, its includes and one target (default: the target marked
    `default: true`, else the only one)."""
    data = read_databricks_yml(root)
    if data is None:
        raise ConfigError(f"{DATABRICKS_YML} not found in {root}; run `kedro dab init`")
    unknown = sorted(set(data) - SUPPORTED_TOP_LEVEL)
    if unknown:
        raise UnsupportedBundle(
            f"{DATABRICKS_YML}: top-level '{unknown[0]}' is not supported "
            f"by the SDK engine; {USE_CLI}"
        )
    bundle_name = str((data.get("bundle") or {}).get("name") or "")
    if not bundle_name:
        raise ConfigError(f"{DATABRICKS_YML}: bundle.name is missing")

    jobs: dict[str, dict[str, Any]] = {}
    job_files: dict[str, Path] = {}
    targets = data.get("targets") or {}
    name = _pick_target(targets, target)
    chosen = targets.get(name) or {}
    _collect_resources(root / DATABRICKS_YML, data, jobs, job_files)
    for pattern in data.get("include") or []:
        for path in sorted(root.glob(str(pattern))):
            included = _read_yaml(path, root)
            _collect_resources(path, included, jobs, job_files)
            per_target = ((included.get("targets") or {}).get(name) or {}).get("resources") or {}
            _collect_resources(path, per_target and {"resources": per_target}, jobs, job_files)
    for key in chosen:
        if key not in {
            "mode",
            "default",
            "workspace",
            "variables",
            "resources",
            "permissions",
            "presets",
            "run_as",
        }:
            raise UnsupportedBundle(
                f"{DATABRICKS_YML}: targets.{name}.{key} is not supported by "
                f"the SDK engine; {USE_CLI}"
            )
    mode = chosen.get("mode")
    if mode not in (None, "development", "production"):
        raise ConfigError(
            f"{DATABRICKS_YML}: targets.{name}.mode must be development or production"
        )
    for key, job in ((chosen.get("resources") or {}).get("jobs") or {}).items():
        if key not in jobs:
            raise ConfigError(
                f"{DATABRICKS_YML}: targets.{name}.resources.jobs.{key} overrides "
                "a job that no resource file defines"
            )
        jobs[key] = _merge_job(jobs[key], job)
    for kind in chosen.get("resources") or {}:
        if kind != "jobs":
            raise UnsupportedBundle(
                f"{DATABRICKS_YML}: targets.{name}.resources.{kind} is not "
                f"supported by the SDK engine; {USE_CLI}"
            )
    if data.get("run_as") or chosen.get("run_as"):
        raise UnsupportedBundle(
            f"{DATABRICKS_YML}: run_as is not supported by the SDK engine; {USE_CLI}"
        )

    workspace = {**(data.get("workspace") or {}), **(chosen.get("workspace") or {})}
    for key in workspace:
        if key not in {"host", "root_path", "artifact_path", "file_path", "state_path", "profile"}:
            raise UnsupportedBundle(
                f"{DATABRICKS_YML}: workspace.{key} is not supported by the SDK engine; {USE_CLI}"
            )
    variables = _variables(data, chosen, name, overrides or {})
    return Target(
        name=name,
        bundle_name=bundle_name,
        mode=mode,
        host=workspace.get("host"),
        root_path=workspace.get("root_path"),
        artifact_path=workspace.get("artifact_path"),
        file_path=workspace.get("file_path"),
        state_path=workspace.get("state_path"),
        variables=variables,
        jobs=jobs,
        job_files=job_files,
        permissions=list(chosen.get("permissions") or data.get("permissions") or []),
        presets={**(data.get("presets") or {}), **(chosen.get("presets") or {})},
    )


def _read_yaml(path: Path, root: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(read_text(path, root)) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.relative_to(root)}: invalid YAML: {first_line(exc)}") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path.relative_to(root)}: expected a mapping at the top level")
    check_bundle_shape(loaded, path.relative_to(root).as_posix())
    return loaded


def _collect_resources(
    path: Path, data: Mapping[str, Any], jobs: dict[str, dict[str, Any]], job_files: dict[str, Path]
) -> None:
    resources = data.get("resources") or {}
    for kind in resources:
        if kind != "jobs":
            raise UnsupportedBundle(
                f"{path.name}: resources.{kind} is not supported by the SDK "
                f"engine (it deploys jobs); {USE_CLI}"
            )
    for key, job in (resources.get("jobs") or {}).items():
        if key in jobs:
            raise ConfigError(
                f"{path.name}: job '{key}' is also defined in "
                f"{job_files[key].name}; resource keys must be unique"
            )
        jobs[key] = copy.deepcopy(job)
        job_files[key] = path


def _pick_target(targets: Mapping[str, Any], wanted: str | None) -> str:
    if wanted is not None:
        if wanted not in targets:
            known = ", ".join(sorted(targets)) or "none"
            raise ConfigError(f"{DATABRICKS_YML}: no target '{wanted}' (targets: {known})")
        return wanted
    defaults = [n for n, t in targets.items() if (t or {}).get("default")]
    if len(defaults) == 1:
        return str(defaults[0])
    if len(targets) == 1:
        return str(next(iter(targets)))
    raise ConfigError(
        f"{DATABRICKS_YML}: choose a target with -t (targets: {', '.join(sorted(targets))})"
    )


def _merge_job(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """The CLI's target merge: mappings merge deeply, tasks and job clusters merge by key."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if key in ("tasks", "job_clusters", "environments") and isinstance(value, list):
            ident = {
                "tasks": "task_key",
                "job_clusters": "job_cluster_key",
                "environments": "environment_key",
            }[key]
            items = {item.get(ident): item for item in out.get(key, [])}
            for item in value:
                existing = items.get(item.get(ident))
                if existing is None:
                    out.setdefault(key, []).append(copy.deepcopy(item))
                else:
                    existing.update(_merge_job(existing, item))
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge_job(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _variables(
    data: Mapping[str, Any], target: Mapping[str, Any], name: str, overrides: Mapping[str, str]
) -> dict[str, Any]:
    declared = data.get("variables") or {}
    values: dict[str, Any] = {}
    for key, spec in declared.items():
        spec = spec if isinstance(spec, Mapping) else {"default": spec}
        if "lookup" in spec:
            raise UnsupportedBundle(
                f"{DATABRICKS_YML}: variables.{key}.lookup is not supported "
                f"by the SDK engine; {USE_CLI}"
            )
        if "default" in spec:
            values[key] = spec["default"]
    for key, value in (target.get("variables") or {}).items():
        if key not in declared:
            raise ConfigError(
                f"{DATABRICKS_YML}: targets.{name}.variables.{key} is not declared under variables"
            )
        if isinstance(value, Mapping):
            if "lookup" in value:
                raise UnsupportedBundle(
                    f"{DATABRICKS_YML}: targets.{name}.variables.{key}.lookup"
                    f" is not supported by the SDK engine; {USE_CLI}"
                )
            value = value.get("default")
        values[key] = value
    for key, value in overrides.items():
        if key not in declared:
            raise ConfigError(f"--var {key}: not declared under variables in {DATABRICKS_YML}")
        values[key] = value
    missing = sorted(set(declared) - set(values))
    if missing:
        raise ConfigError(
            f"{DATABRICKS_YML}: variable '{missing[0]}' has no value for target "
            f"'{name}'; give it a default or pass --var {missing[0]}=..."
        )
    return values


def resolve(value: Any, context: Mapping[str, Any], where: str) -> Any:
    """Replace `${...}` references in strings (deeply). Unknown references are errors."""
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            path = match.group(1)
            if path not in context:
                raise UnsupportedBundle(
                    f"{where}: the reference ${{{path}}} cannot be resolved "
                    f"by the SDK engine; {USE_CLI}"
                )
            return str(context[path])

        return _REFERENCE.sub(substitute, value)
    if isinstance(value, list):
        return [resolve(item, context, where) for item in value]
    if isinstance(value, Mapping):
        return {key: resolve(item, context, f"{where}.{key}") for key, item in value.items()}
    return value


def default_target(root: Path) -> str:
    """The target a command uses without -t: the one marked `default: true`, else the only one."""
    data = read_databricks_yml(root)
    if data is None:
        raise ConfigError(f"{DATABRICKS_YML} not found in {root}; run `kedro dab init`")
    return _pick_target(data.get("targets") or {}, None)
