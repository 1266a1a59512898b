"""Read a bundle for one target the way `databricks bundle deploy` reads it.

From the bundle root as the command read it (`kedro_dab.bundle.root`: `databricks.yml` plus its
`include` files, matched with Go's `filepath.Glob` rules as the CLI does), merged with the CLI's
rules (maps merge deeply, lists concatenate), then one target's overrides (`bundle`, `workspace`,
`artifacts`, `resources`, `sync`, `permissions` and `presets` merged; `variables`, `mode` and
`run_as` replaced) and the variables' values from all their sources (`deploy/variables.py`);
its `${...}` references resolve to a fixed point later (`deploy/references.py`). What the SDK
engine cannot honour is an error that recommends the CLI engine (`deploy/refusals.py`), never a
silent difference. Which file wrote each job, app and python file is `deploy/origins.py`; which
files the target's file sync uploads, `deploy/sync.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kedro_dab.bundle.layout import DATABRICKS_YML
from kedro_dab.bundle.root import BundleRoot, as_bundle_root, merge
from kedro_dab.deploy import origins
from kedro_dab.deploy.refusals import UnsupportedBundle, check_keys, unsupported
from kedro_dab.deploy.variables import variable_values
from kedro_dab.errors import ConfigError

CLI_VERSION = "v1.13.0"
"""The Databricks CLI release whose reading of a bundle the SDK engine implements."""
DEFAULT_TARGET = "default"
"""The target the CLI defines when a bundle has no `targets`."""
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
}
_TARGET_KEYS = {
    "mode",
    "default",
    "bundle",
    "workspace",
    "variables",
    "resources",
    "permissions",
    "presets",
    "artifacts",
    "sync",
}
_MERGED_TARGET_FIELDS = (
    "bundle",
    "workspace",
    "artifacts",
    "resources",
    "sync",
    "permissions",
    "presets",
)
_WORKSPACE_KEYS = {"host", "root_path", "artifact_path", "file_path", "state_path", "profile"}
_BUNDLE_KEYS = {"name", "databricks_cli_version", "uuid"}
_SYNC_KEYS = {"include", "exclude"}
_ARTIFACT_KEYS = {"type", "build", "path", "dynamic_version"}


@dataclass
class Target:
    """One target of a bundle, merged and ready to deploy by the SDK engine.

    `jobs` and `permissions` are as merged, with `${...}` references still in them; the values
    of `variables` are final (from `--var`, `BUNDLE_VAR_<name>`, the variable-overrides file or
    the default), references inside them included, and resolve with everything else."""

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
    profile: str | None = None
    sync: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, Any] = field(default_factory=dict)
    includes: list[str] = field(default_factory=list)
    explicit_root_path: bool = False
    """Whether the target itself sets `workspace.root_path` (the CLI's production-mode rule)."""
    apps: list[str] = field(default_factory=list)
    """Keys of `resources.apps`."""
    app_resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    """`resources.apps` as merged, `${...}` references still in them (see deploy/apps.py)."""
    app_files: dict[str, Path] = field(default_factory=dict)
    """App key -> the file whose `source_code_path` the merge kept (a relative path is
    relative to that file, as the CLI reads it)."""
    python_files: dict[tuple[str, str], Path] = field(default_factory=dict)
    """(job key, task key) -> the file whose `spark_python_task.python_file` the merge kept:
    a local path is relative to the file that wrote it (a reference included), as the CLI
    translates it."""
    refusals: list[str] = field(default_factory=list)
    """What the SDK engine cannot deploy although reading the jobs is fine (`run` and
    `destroy` of a bundle deployed by the CLI still work); a deploy stops on the first."""


# --- merging ---------------------------------------------------------------------------------


def merge_by_key(items: list[Any], key: str, *, sort: bool = False) -> list[Any]:
    """The CLI's merge of list elements sharing `key` (tasks by `task_key`, job clusters by
    `job_cluster_key`, parameters by `name`): later ones merge into the first, in order."""
    seen: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, Mapping):
            raise ConfigError(f"each element of a list merged by {key} must be a mapping")
        ident = item.get(key)
        ident = "" if ident is None else ident
        if not isinstance(ident, str):
            raise ConfigError(f"{key} '{ident}' must be a string")
        seen[ident] = merge(seen[ident], item) if ident in seen else item
    keys = sorted(seen) if sort else list(seen)
    return [{**seen[k], key: k} for k in keys]


# --- loading ---------------------------------------------------------------------------------


def load_target(
    root: Path | BundleRoot,
    target: str | None,
    overrides: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Target:
    """Merge `databricks.yml`, its includes and one target (default: the target marked
    `default: true`, else the only one; `default` when the bundle has no `targets`).
    `root` is the bundle root as this command read it (or its folder, read now).
    `environ` (default: the process environment) gives `BUNDLE_VAR_<name>` values."""
    bundle = as_bundle_root(root)
    root = bundle.path
    if bundle.data is None:
        raise ConfigError(f"{DATABRICKS_YML} not found in {root}; run `kedro dab init`")
    sources = bundle.sources()
    data: Any = sources[DATABRICKS_YML]
    check_keys(data, SUPPORTED_TOP_LEVEL, "top-level ")
    includes = list(bundle.includes)
    job_files = origins.job_files(root / DATABRICKS_YML, data, {})
    for rel in includes:
        included = sources[rel]
        check_keys(included, SUPPORTED_TOP_LEVEL, "top-level ", rel)
        job_files = origins.job_files(root / rel, included, job_files)
        data = merge(data, {k: v for k, v in included.items() if k != "include"})

    targets = data.get("targets")
    if not targets:
        targets = {DEFAULT_TARGET: {}}
    if not isinstance(targets, Mapping):
        raise ConfigError(f"{DATABRICKS_YML}: targets must be a mapping of target names")
    name = _pick_target(targets, target)
    chosen = targets.get(name) or {}
    if not isinstance(chosen, Mapping):
        raise ConfigError(f"{DATABRICKS_YML}: targets.{name} must be a mapping")
    check_keys(chosen, _TARGET_KEYS, f"targets.{name}.")
    origins.target_job_files(root, sources, name, job_files)

    merged = {k: v for k, v in data.items() if k != "targets"}
    for key in _MERGED_TARGET_FIELDS:
        if key in chosen:
            merged[key] = merge(merged.get(key), chosen[key], key)
    if merged.get("run_as") or chosen.get("run_as"):
        raise unsupported(f"{DATABRICKS_YML}: run_as")
    mode = chosen.get("mode")
    if mode not in (None, "development", "production"):
        raise ConfigError(
            f"{DATABRICKS_YML}: targets.{name}.mode: unsupported value '{mode}': must be "
            "either 'development' or 'production'"
        )

    bundle_section = merged.get("bundle") or {}
    bundle_name = str(bundle_section.get("name") or "")
    if not bundle_name:
        raise ConfigError(f"{DATABRICKS_YML}: bundle.name is missing")
    workspace = merged.get("workspace") or {}
    check_keys(workspace, _WORKSPACE_KEYS, "workspace.")
    sync = merged.get("sync") or {}
    artifacts = merged.get("artifacts") or {}
    refusals = []
    for check in (
        lambda: check_keys(bundle_section, _BUNDLE_KEYS, "bundle."),
        lambda: check_keys(sync, _SYNC_KEYS, "sync."),
        lambda: _check_artifacts(root, artifacts),
    ):
        try:
            check()
        except UnsupportedBundle as refusal:
            refusals.append(str(refusal))
    if "${" in bundle_name:
        refusals.append(str(unsupported(f"{DATABRICKS_YML}: a reference in bundle.name")))

    resources = merged.get("resources") or {}
    for kind in resources:
        if kind == "apps":
            continue  # deploy/apps.py deploys them
        if kind != "jobs":
            raise unsupported(f"{DATABRICKS_YML}: resources.{kind} (the SDK engine deploys jobs)")
    jobs: dict[str, dict[str, Any]] = {}
    for key, job in (resources.get("jobs") or {}).items():
        if job is None:
            raise ConfigError(
                f"{origins.written_in(root, job_files.get(key))}: resources.jobs.{key} is "
                "empty; define the job (at least its name and tasks) or remove the key"
            )
        if not isinstance(job, Mapping):
            raise ConfigError(
                f"{origins.written_in(root, job_files.get(key))}: resources.jobs.{key} must be "
                "a mapping"
            )
        jobs[key] = _without_nulls(job)

    variables = variable_values(root, merged, chosen, name, overrides or {}, environ)
    permissions = merged.get("permissions") or []
    if not isinstance(permissions, list):
        raise ConfigError(f"{DATABRICKS_YML}: permissions must be a list")
    return Target(
        name=name,
        bundle_name=bundle_name,
        mode=mode,
        host=workspace.get("host"),
        root_path=workspace.get("root_path"),
        artifact_path=workspace.get("artifact_path"),
        file_path=workspace.get("file_path"),
        state_path=workspace.get("state_path"),
        profile=workspace.get("profile"),
        variables=variables,
        jobs=jobs,
        job_files={key: job_files.get(key, root / DATABRICKS_YML) for key in jobs},
        permissions=list(permissions),
        presets=dict(merged.get("presets") or {}),
        sync=dict(sync),
        artifacts=dict(artifacts),
        includes=includes,
        explicit_root_path=bool((chosen.get("workspace") or {}).get("root_path")),
        refusals=refusals,
        apps=sorted(resources.get("apps") or {}),
        app_resources={
            str(key): _without_nulls(app) if isinstance(app, Mapping) else app
            for key, app in sorted((resources.get("apps") or {}).items())
        },
        app_files=origins.app_files(root, sources, name),
        python_files=origins.python_files(root, sources, name),
    )


def _check_artifacts(root: Path, artifacts: Mapping[str, Any]) -> None:
    """The SDK engine builds one wheel, the project's own, from the bundle root (with its own
    content-hash version in place of the artifact's build command)."""
    if len(artifacts) > 1:
        raise unsupported(f"{DATABRICKS_YML}: more than one artifact ({', '.join(artifacts)})")
    for key, artifact in artifacts.items():
        artifact = artifact or {}
        check_keys(artifact, _ARTIFACT_KEYS, f"artifacts.{key}.")
        if artifact.get("type", "whl") != "whl":
            raise unsupported(f"{DATABRICKS_YML}: artifacts.{key}.type '{artifact['type']}'")
        if (root / str(artifact.get("path", "."))).resolve() != root.resolve():
            raise unsupported(
                f"{DATABRICKS_YML}: artifacts.{key}.path '{artifact['path']}' (a wheel built "
                "from another folder than the project)"
            )


def _without_nulls(value: Any) -> Any:
    """A resource with its null fields dropped, as the CLI's typed configuration drops them."""
    if isinstance(value, Mapping):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _pick_target(targets: Mapping[str, Any], wanted: str | None) -> str:
    if wanted is not None:
        if wanted not in targets:
            known = ", ".join(sorted(targets)) or "none"
            raise ConfigError(f"{DATABRICKS_YML}: no target '{wanted}' (targets: {known})")
        return wanted
    if len(targets) == 1:
        return str(next(iter(targets)))
    defaults = [n for n, t in targets.items() if isinstance(t, Mapping) and t.get("default")]
    if len(defaults) == 1:
        return str(defaults[0])
    if len(defaults) > 1:
        raise ConfigError(
            f"{DATABRICKS_YML}: targets {', '.join(sorted(defaults))} are all marked "
            "default: true; mark one"
        )
    raise ConfigError(
        f"{DATABRICKS_YML}: choose a target with -t (targets: {', '.join(sorted(targets))})"
    )


def default_target(root: Path | BundleRoot) -> str:
    """The target a command uses without -t: the only one, else the one marked
    `default: true`; `default` when the bundle has no targets."""
    bundle = as_bundle_root(root)
    if bundle.data is None:
        raise ConfigError(f"{DATABRICKS_YML} not found in {bundle.path}; run `kedro dab init`")
    return _pick_target(bundle.data.get("targets") or {DEFAULT_TARGET: {}}, None)
