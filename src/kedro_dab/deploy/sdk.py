"""The SDK engine: deploy a bundle target in pure Python, no Databricks CLI needed.

Order, as the CLI does it: take the deploy lock (a file created with overwrite=false), decide the
changes, upload the wheel and the shipped conf, create or reset each job, apply permissions,
write the deployment state, release the lock. Every job carries tags naming its bundle, target
and resource key, so a lost state file never produces a duplicate job.

One function, `decide`, turns what is deployed (the state file, one listing of the target's
tagged jobs) and what is wanted into a `Changes` value; `--dry-run` prints it and a deploy
applies it, so the two never disagree. Deploys converge: whatever an earlier deploy left behind
(a lost response, a job deleted in the UI, a twin from a retried create, a file already gone),
the next one ends with one job per resource key and the lock free.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import posixpath
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kedro_dab.build import Artifact
from kedro_dab.deploy import apps as app_deploy
from kedro_dab.deploy.target import (
    USE_CLI,
    Target,
    UnsupportedBundle,
    merge_by_key,
    resolve,
)
from kedro_dab.deploy.target import (
    go_string as _go_string,
)
from kedro_dab.deploy.workspace import Progress, Workspace, WorkspaceError
from kedro_dab.errors import ConfigError, DabError

STATE_FILE = "kedro-dab-state.json"
METADATA_FILE = "metadata.json"
"""The CLI's deployment metadata, which every job's `deployment.metadata_file_path` names."""
LOCK_FILE = "deploy.lock"
STATE_VERSION = 1
TAG_BUNDLE, TAG_TARGET, TAG_KEY = "kedro_dab_bundle", "kedro_dab_target", "kedro_dab_job"
_DEV_CONCURRENT_RUNS = 4
_SUPPORTED_PRESETS = {
    "name_prefix",
    "tags",
    "jobs_max_concurrent_runs",
    "trigger_pause_status",
    "artifacts_dynamic_version",
    "pipelines_development",
}


@dataclass
class JobChange:
    """What a deploy did (or would do) to one job."""

    key: str
    action: str
    """create, update, unchanged, delete, or keep (removal not confirmed)."""
    job_id: int | None = None
    url: str | None = None
    reason: str = ""
    """Why, when it is not plain: "removed from the configuration", "duplicate"."""


@dataclass
class DeployReport:
    """The outcome of a deploy: job changes, uploads, and where things went."""

    target: str
    engine: str
    dry_run: bool
    root_path: str = ""
    jobs: list[JobChange] = field(default_factory=list)
    uploaded: list[str] = field(default_factory=list)
    unchanged_files: int = 0
    deleted_files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """What went wrong after the deploy itself succeeded (a lock that could not be released)."""
    apps: list[app_deploy.AppChange] = field(default_factory=list)


@dataclass(frozen=True)
class Paths:
    """Where a target's files live in the workspace."""

    root: str
    files: str
    artifacts: str
    state: str
    resources: str = ""


def deploy_target(
    workspace: Workspace,
    target: Target,
    root: Path,
    wheel: Artifact | None,
    conf_files: Mapping[str, bytes],
    *,
    dry_run: bool = False,
    force_lock: bool = False,
    confirm_delete: Callable[[list[str]], bool] = lambda keys: False,
    echo: Callable[[str], None] = lambda line: None,
) -> DeployReport:
    """Deploy `target`: `conf_files` maps paths relative to the project (`conf/base/x.yml`)
    to their bytes (for a target whose tasks run the synced source, every file the CLI's
    file sync uploads: see `source_files`); `wheel` is the stamped project wheel, None when
    no job of the target installs it."""
    user = workspace.user_name()
    short = short_name(user)
    paths = target_paths(target, user)
    context = references(target, user, short, paths, workspace.host)
    wheel_remote = f"{paths.artifacts}/.internal/{wheel.path.name}" if wheel else ""
    desired = {
        key: desired_settings(target, key, root, context, wheel, wheel_remote, short)
        for key in sorted(target.jobs)
    }
    permissions = {key: job_permissions(target, key, context) for key in desired}
    report = DeployReport(target.name, "sdk", dry_run, paths.root)
    deployment = _Deployment(
        workspace, target, desired, permissions, paths, wheel, wheel_remote, conf_files
    )
    deployment.apps = app_deploy.wanted_apps(target, root, context, paths.files, user)
    deployment.user = user
    if dry_run:
        decide(deployment).report_into(report, workspace.host)
        return report

    lock = _Lock(workspace, f"{paths.state}/{LOCK_FILE}", user, force_lock)
    lock.acquire()
    try:
        changes = decide(deployment)
        new_state = _apply(deployment, changes, report, confirm_delete, echo)
        workspace.write(
            f"{paths.state}/{METADATA_FILE}",
            json.dumps(metadata(target, root, paths, new_state["jobs"]), indent=2).encode(),
            overwrite=True,
        )
        workspace.write(
            f"{paths.state}/{STATE_FILE}", json.dumps(new_state, indent=2, sort_keys=True).encode()
        )
    except BaseException as exc:
        problem = lock.release()
        if problem and isinstance(exc, DabError):
            raise WorkspaceError(f"{exc}; and {problem}") from None
        raise
    problem = lock.release()
    if problem:
        report.problems.append(problem)
    return report


# --- paths and references ------------------------------------------------------------------


def short_name(user: str) -> str:
    """The CLI's short user name: the part before '@', other characters made '_'."""
    local = user.split("@", 1)[0]
    return re.sub(r"[^A-Za-z0-9]", "_", local).lower()


def _absolute(path: str, user: str) -> str:
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
        **{f"workspace.{name}": _absolute(value, user) for name, value in raw.items()},
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
    _presets(target, context, short)
    return context


# --- job settings --------------------------------------------------------------------------------

_KEYED_LISTS = (("job_clusters", "job_cluster_key", False), ("parameters", "name", False))
_TRIGGERS = ("schedule", "trigger", "continuous")
_DEFAULT_QUEUE = {"enabled": True}


def desired_settings(
    target: Target,
    key: str,
    root: Path,
    context: Mapping[str, Any],
    wheel: Artifact | None,
    wheel_remote: str,
    short: str,
) -> dict[str, Any]:
    """The exact Jobs API settings for one job of the target: the CLI's settings for it
    (`bundle_settings`), the project wheel mapped to its upload, and the tags that find the job
    again. Tasks other than wheel tasks and Python file tasks are refused."""
    source = target.job_files[key]
    where = f"{source.relative_to(root).as_posix()}: resources.jobs.{key}"
    job = bundle_settings(
        target,
        key,
        root,
        context,
        short,
        lambda value: _artifact(value, source, root, wheel, wheel_remote, where),
    )
    for task in job.get("tasks", []):
        if "python_wheel_task" not in task and "spark_python_task" not in task:
            kind = next((k for k in task if k.endswith("_task")), "a task of no known kind")
            raise UnsupportedBundle(
                f"{where}: task '{task.get('task_key')}' is a {kind} (the SDK engine deploys "
                f"python_wheel_task and spark_python_task tasks); {USE_CLI}"
            )
    job["tags"] = {
        **job.get("tags", {}),
        TAG_BUNDLE: target.bundle_name,
        TAG_TARGET: target.name,
        TAG_KEY: key,
    }
    return _checked(job, where)


_LOCAL_PATHS = (
    ("notebook_task", "notebook_path"),
    ("spark_python_task", "python_file"),
    ("sql_task", "file", "path"),
    ("dbt_task", "project_directory"),
)


def bundle_settings(
    target: Target,
    key: str,
    root: Path,
    context: Mapping[str, Any],
    short: str,
    local_artifact: Callable[[str], str],
) -> dict[str, Any]:
    """The job's settings as `databricks bundle deploy` computes them, in the CLI's order:
    references resolved, list elements merged by key (tasks sorted by key), empty strings
    dropped, the target mode's presets and the presets applied, the CLI's per-job defaults,
    cluster fix-ups, and the deployment metadata. `local_artifact` maps a local wheel path of a
    library or environment dependency to where it is uploaded."""
    from databricks.sdk.service.jobs import JobSettings

    source = target.job_files[key]
    where = f"{source.relative_to(root).as_posix()}: resources.jobs.{key}"
    presets = _presets(target, context, short)
    job = resolve(target.jobs[key], context, where)
    if not isinstance(job, dict):
        raise ConfigError(f"{where} must be a mapping")
    job.pop("permissions", None)
    for name, ident, sort in (*_KEYED_LISTS, ("tasks", "task_key", True)):
        if name in job:
            if not isinstance(job[name], list):
                raise ConfigError(f"{where}.{name} must be a list, not {type(job[name]).__name__}")
            job[name] = merge_by_key(job[name], ident, sort=sort)
    job = _normalized(job, JobSettings, where)
    for task in job.get("tasks", []):
        python = task.get("spark_python_task")
        if isinstance(python, dict) and _is_local(python.get("python_file")):
            written = target.python_files.get((key, str(task.get("task_key", ""))), source)
            python["python_file"] = _synced_path(
                python["python_file"], written, root, context, f"{where}: task '{task['task_key']}'"
            )
        for kind, *path in _LOCAL_PATHS:
            value: Any = task.get(kind)
            for step in path:
                value = value.get(step) if isinstance(value, Mapping) else None
            if isinstance(value, str) and not value.startswith("/") and "://" not in value:
                raise UnsupportedBundle(
                    f"{where}: task '{task.get('task_key')}' {kind} names the local path "
                    f"'{value}' (the CLI translates and uploads it); {USE_CLI}"
                )
        for library in task.get("libraries", []):
            for kind in ("jar", "requirements", "egg"):
                if kind in library and not str(library[kind]).startswith(("/", "dbfs:")):
                    raise UnsupportedBundle(
                        f"{where}: task '{task.get('task_key')}' library {kind} "
                        f"'{library[kind]}' is a local file; {USE_CLI}"
                    )
            if "whl" in library:
                library["whl"] = local_artifact(library["whl"])
    for env in job.get("environments", []):
        spec = env.get("spec", {})
        spec["dependencies"] = [local_artifact(dep) for dep in spec.get("dependencies", [])]
    _apply_mode(job, presets)
    _cluster_fixups(job)
    job["deployment"] = {
        "kind": "BUNDLE",
        "metadata_file_path": f"{context['workspace.state_path']}/metadata.json",
    }
    job["edit_mode"] = "UI_LOCKED"
    job["format"] = "MULTI_TASK"
    return job


def _is_local(value: Any) -> bool:
    return isinstance(value, str) and not value.startswith("/") and "://" not in value


def _synced_path(
    value: str, source: Path, root: Path, context: Mapping[str, Any], where: str
) -> str:
    """A local file a task runs (relative to the file defining the job), where the CLI's file
    sync puts it: `${workspace.file_path}/<path relative to the bundle root>`."""
    import os

    local = Path(os.path.normpath(source.parent / value))
    try:
        relative = local.relative_to(root).as_posix()
    except ValueError:
        raise UnsupportedBundle(
            f"{where}: '{value}' is outside the bundle root, which the file sync uploads; {USE_CLI}"
        ) from None
    if not local.is_file():
        raise ConfigError(f"{where}: file {value} not found (looked for {relative}); fix the path")
    return f"{context['workspace.file_path']}/{relative}"


def runs_source(target: Target) -> bool:
    """Whether a job of the target runs a file of the bundle (a `spark_python_task` with a
    local `python_file`, as a `from_source: true` target's tasks do): then the SDK engine
    syncs the bundle's files as the CLI does, not only the shipped conf."""
    return any(
        _is_local((task.get("spark_python_task") or {}).get("python_file"))
        and not str(task["spark_python_task"]["python_file"]).startswith("${")
        for job in target.jobs.values()
        for task in job.get("tasks") or []
        if isinstance(task, Mapping)
    )


def uses_wheel(target: Target) -> bool:
    """Whether a job of the target names a local wheel (the project's), so it must be built."""

    def local_wheels(value: Any) -> bool:
        if isinstance(value, Mapping):
            return any(local_wheels(v) for v in value.values())
        if isinstance(value, list):
            return any(local_wheels(v) for v in value)
        return _is_local(value) and str(value).endswith(".whl") and not value.startswith("dbfs:")

    return local_wheels(target.jobs)


def source_files(target: Target, root: Path, conf_dir: str) -> dict[str, bytes]:
    """What the SDK engine uploads to `${workspace.file_path}` for a target that runs the
    synced source: every file the CLI's file sync uploads (`sync_files`: git's ignore rules,
    `sync.include`, `sync.exclude`), except what kedro-dab never ships whatever the bundle
    says: of the conf folder only the files `shipped_conf_files` lists (never `conf/local`
    nor credentials), and no `.env*` file anywhere."""
    from kedro_dab.bundle.layout import shipped_conf_files
    from kedro_dab.deploy.target import sync_files

    shipped = {f"{conf_dir}/{rel.as_posix()}" for rel in shipped_conf_files(root / conf_dir, root)}
    out = {}
    for rel in sync_files(target, root):
        if rel.startswith(f"{conf_dir}/") and rel not in shipped:
            continue
        if any(part.startswith(".env") for part in rel.split("/")):
            continue
        out[rel] = data = (root / rel).read_bytes()
        if _is_notebook(rel, data):
            raise UnsupportedBundle(
                f"{rel} is a notebook, which the CLI's file sync imports as a notebook and the "
                f"SDK engine does not; add it to sync.exclude, or {USE_CLI}"
            )
    return out


_NOTEBOOK_HEADERS = {
    ".py": b"# Databricks notebook source",
    ".r": b"# Databricks notebook source",
    ".scala": b"// Databricks notebook source",
    ".sql": b"-- Databricks notebook source",
}


def _is_notebook(rel: str, data: bytes) -> bool:
    """Whether the CLI's sync would import the file as a notebook: a Jupyter notebook, or a
    source file whose first line is the Databricks notebook header."""
    suffix = Path(rel).suffix.lower()
    if suffix == ".ipynb":
        return True
    header = _NOTEBOOK_HEADERS.get(suffix)
    return header is not None and data.split(b"\n", 1)[0].rstrip(b"\r") == header


def metadata(target: Target, root: Path, paths: Paths, jobs: Mapping[str, int]) -> dict[str, Any]:
    """The deployment metadata `databricks bundle deploy` writes to
    `${workspace.state_path}/metadata.json` (version 1): the bundle's name, target, mode and
    git details, the file path, each job's id and the file defining it."""
    bundle: dict[str, Any] = {"name": target.bundle_name, "target": target.name}
    if target.mode:
        bundle["mode"] = target.mode
    bundle["git"] = _git_details(root)
    return {
        "version": 1,
        "config": {
            "bundle": bundle,
            "workspace": {"file_path": paths.files},
            "resources": {
                "jobs": {
                    key: {
                        "id": str(job_id),
                        "relative_path": target.job_files[key].relative_to(root).as_posix(),
                    }
                    for key, job_id in sorted(jobs.items())
                    if key in target.job_files
                }
            }
            if jobs
            else {},
            "presets": {"source_linked_deployment": False},
        },
        "extra": {},
    }


def _git_details(root: Path) -> dict[str, str]:
    """branch, origin_url, commit, bundle_root_path and actual_branch, as the CLI reads them
    from the git repository holding the bundle root (only bundle_root_path without one)."""
    from kedro_dab.deploy.target import worktree_root

    found = worktree_root(root.resolve())
    if not (found / ".git").exists():
        return {"bundle_root_path": "."}
    git_dir = found / ".git"
    if git_dir.is_file():
        text = git_dir.read_text(encoding="utf-8").strip()
        git_dir = (found / text.removeprefix("gitdir:").strip()).resolve()
    common = git_dir
    if (git_dir / "commondir").is_file():
        common = (git_dir / (git_dir / "commondir").read_text(encoding="utf-8").strip()).resolve()
    head = _read(git_dir / "HEAD")
    branch, commit = "", head
    if head.startswith("ref:"):
        ref = head[4:].strip()
        branch = ref.removeprefix("refs/heads/")
        commit = _read(common / ref)  # the CLI reads no packed-refs
    origin = ""
    section = ""
    for line in _read(common / "config").splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section.replace(" ", "") == '[remote"origin"]' and line.split("=")[0].strip() == "url":
            origin = _without_credentials(line.split("=", 1)[1].strip())
    relative = root.resolve().relative_to(found).as_posix()
    out = {"branch": branch, "origin_url": origin, "commit": commit}
    out["bundle_root_path"] = relative
    out["actual_branch"] = branch
    return {k: v for k, v in out.items() if v}


def _without_credentials(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def _normalized(value: Any, model: Any = None, where: str = "") -> Any:
    """The job as the CLI's typed configuration holds it: empty strings dropped from optional
    fields (those with a default in the Jobs API model; a required field keeps its empty
    string), and a text value of a boolean or number field (from `--var` or `BUNDLE_VAR_`)
    turned into that type. A field the model does not have is an error (the CLI drops it with
    a warning)."""
    import dataclasses
    import typing

    if isinstance(value, Mapping) and typing.get_origin(model) is dict:
        args = typing.get_args(model)
        inner = args[1] if len(args) == 2 else None
        return {k: _normalized(v, inner, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, Mapping):
        hints = _hints(model)
        known = isinstance(model, type) and dataclasses.is_dataclass(model)
        out = {}
        for key, item in value.items():
            if known and key not in hints:
                raise ConfigError(
                    f"{where}: unknown field {key} (the CLI ignores it with a warning); remove it"
                )
            inner, optional = hints.get(key, (None, True))
            if item == "" and optional:
                continue
            out[key] = _normalized(item, inner, f"{where}.{key}")
        return out
    if isinstance(value, list):
        args = typing.get_args(model)
        inner = args[0] if args else None
        return [_normalized(item, inner, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, str) and model in (bool, int, float):
        return _typed(value, model)
    if model is str and isinstance(value, bool | int | float):
        return _go_string(value)
    return value


_GO_BOOLS = {
    **dict.fromkeys(("1", "t", "T", "TRUE", "true", "True"), True),
    **dict.fromkeys(("0", "f", "F", "FALSE", "false", "False"), False),
}


def _typed(text: str, model: type) -> Any:
    if model is bool and text in _GO_BOOLS:
        return _GO_BOOLS[text]
    try:
        return int(text) if model is int else float(text) if model is float else text
    except ValueError:
        return text


@functools.cache
def _hints(model: Any) -> dict[str, tuple[Any, bool]]:
    """A Jobs API dataclass's fields: name -> (type without Optional, whether optional)."""
    import dataclasses
    import types
    import typing

    if not (isinstance(model, type) and dataclasses.is_dataclass(model)):
        return {}
    hints = typing.get_type_hints(model)
    out = {}
    for item in dataclasses.fields(model):
        hint = hints.get(item.name)
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            hint = next((a for a in typing.get_args(hint) if a is not type(None)), None)
        optional = (
            item.default is not dataclasses.MISSING
            or item.default_factory is not dataclasses.MISSING
        )
        out[item.name] = (hint, optional)
    return out


def _artifact(
    value: str, source: Path, root: Path, wheel: Artifact | None, remote: str, where: str
) -> str:
    """Map a local wheel path (relative to the resource file) to its uploaded location."""
    if value.startswith(("/", "dbfs:")) or "://" in value or not value.endswith(".whl"):
        return value
    matches = sorted((source.parent).glob(value))
    if wheel is not None and wheel.path.resolve() in [m.resolve() for m in matches]:
        return remote
    raise UnsupportedBundle(
        f"{where}: '{value}' names a wheel other than the project's own; {USE_CLI}"
    )


def _presets(target: Target, context: Mapping[str, Any], short: str) -> dict[str, Any]:
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
        and not _is_service_principal(user)
    ):
        raise ConfigError(
            "targets." + target.name + ".workspace.root_path: a target with 'mode: "
            "production' must set 'workspace.root_path' to make sure only one copy is "
            "deployed, e.g. /Workspace/Users/" + user + "/.bundle/${bundle.name}/${bundle.target}"
        )
    return presets


def _is_service_principal(user: str) -> bool:
    try:
        uuid.UUID(user)
    except ValueError:
        return False
    return True


def _apply_mode(job: dict[str, Any], presets: Mapping[str, Any]) -> None:
    """The CLI's presets, then its per-job defaults (presets win where both set a field)."""
    job["name"] = str(presets.get("name_prefix") or "") + str(job.get("name", ""))
    tags = presets.get("tags") or {}
    if tags:
        job_tags = job.setdefault("tags", {})
        for name in sorted(tags):
            if not job_tags.get(name):
                job_tags[name] = tags[name]
    if not job.get("max_concurrent_runs"):
        runs = presets.get("jobs_max_concurrent_runs")
        if runs:
            job["max_concurrent_runs"] = runs
    pause = presets.get("trigger_pause_status")
    for trigger in _TRIGGERS:
        if trigger in job and pause and not job[trigger].get("pause_status"):
            job[trigger]["pause_status"] = "UNPAUSED" if pause == "UNPAUSED" else "PAUSED"
    if not job["name"]:
        job["name"] = "Untitled"
    job.setdefault("max_concurrent_runs", 1)
    for trigger in _TRIGGERS:
        if trigger in job:
            job[trigger].setdefault("pause_status", "UNPAUSED")
    job.setdefault("queue", dict(_DEFAULT_QUEUE))


_POOL_DROPPED = ("node_type_id", "driver_node_type_id", "enable_elastic_disk")


def _cluster_fixups(job: dict[str, Any]) -> None:
    """The CLI's cluster fix-ups: a cluster on an instance pool sends no node types (nor the
    cloud attributes the pool decides), a cluster without a pool no driver pool, and a job
    cluster without autoscale always sends `num_workers` (0 when unset)."""
    clusters = [t["new_cluster"] for t in job.get("tasks", []) if "new_cluster" in t]
    job_clusters = [c["new_cluster"] for c in job.get("job_clusters", []) if "new_cluster" in c]
    for cluster in job_clusters:
        if "autoscale" not in cluster and not cluster.get("num_workers"):
            cluster["num_workers"] = 0
    for cluster in clusters + job_clusters:
        if not cluster.get("instance_pool_id"):
            cluster.pop("driver_instance_pool_id", None)
            continue
        for name in _POOL_DROPPED:
            cluster.pop(name, None)
        if "aws_attributes" in cluster:
            kept = cluster["aws_attributes"].get("instance_profile_arn")
            cluster["aws_attributes"] = {"instance_profile_arn": kept} if kept else {}
        if "azure_attributes" in cluster:
            cluster["azure_attributes"] = {}
        if "gcp_attributes" in cluster:
            kept = cluster["gcp_attributes"].get("google_service_account")
            cluster["gcp_attributes"] = {"google_service_account": kept} if kept else {}


def _checked(job: dict[str, Any], where: str) -> dict[str, Any]:
    """Settings the SDK sends exactly as given (its `from_dict` drops unknown keys silently)."""
    from databricks.sdk.service.jobs import JobSettings

    sent = JobSettings.from_dict(job).as_dict()
    missing = _first_difference(job, sent)
    if missing:
        raise UnsupportedBundle(
            f"{where}.{missing}: databricks-sdk would drop this field; {USE_CLI}"
        )
    return job


def _first_difference(given: Any, sent: Any, path: str = "") -> str | None:
    if isinstance(given, Mapping):
        for key, value in given.items():
            if not isinstance(sent, Mapping) or key not in sent:
                return f"{path}.{key}".lstrip(".")
            inner = _first_difference(value, sent[key], f"{path}.{key}")
            if inner:
                return inner
    elif isinstance(given, list):
        for index, value in enumerate(given):
            if not isinstance(sent, list) or index >= len(sent):
                return f"{path}[{index}]"
            inner = _first_difference(value, sent[index], f"{path}[{index}]")
            if inner:
                return inner
    return None


def fingerprint(settings: Mapping[str, Any], permissions: list[dict[str, Any]]) -> str:
    """Hash of what was sent for a job, to leave unchanged jobs alone."""
    sent = json.dumps([settings, permissions], sort_keys=True)
    return hashlib.sha256(sent.encode()).hexdigest()[:16]


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
            kind = "service_principal_name" if _is_service_principal(user) else "user_name"
            entries.append({"level": "IS_OWNER", kind: user})
    elif manage is None:
        kind = "service_principal_name" if _is_service_principal(user) else "user_name"
        entries.append({"level": "CAN_MANAGE", kind: user})


def _acl(entries: list[dict[str, Any]]) -> list[Any]:
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


# --- applying ------------------------------------------------------------------------------------


class _Lock:
    """The deploy lock: a JSON file `{"id", "user", "acquired_at"}` created with overwrite=false.

    Releasing never raises: it is retried, and what still fails is returned as a problem, so that
    it is reported beside the deploy's own result and never instead of it."""

    RELEASE_ATTEMPTS = 3

    def __init__(self, workspace: Workspace, path: str, user: str, force: bool) -> None:
        self.workspace, self.path, self.user, self.force = workspace, path, user, force
        self.token = uuid.uuid4().hex
        self.held = False

    def _holder(self) -> tuple[bool, dict[str, Any] | None]:
        """(exists, holder); holder None when the file is not a JSON object."""
        raw = self.workspace.read(self.path)
        if raw is None:
            return False, None
        try:
            holder = json.loads(raw)
        except ValueError:
            return True, None
        return True, holder if isinstance(holder, dict) else None

    def acquire(self) -> None:
        body = json.dumps(
            {
                "id": self.token,
                "user": self.user,
                "acquired_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        ).encode()
        for _ in range(2):
            if self.workspace.create_exclusive(self.path, body):
                self.held = True
                return
            exists, holder = self._holder()
            if exists:
                break
        # A create retried after its response was lost finds our own lock.
        if holder is not None and holder.get("id") == self.token:
            self.held = True
            return
        if not self.force:
            if holder is None:
                raise WorkspaceError(
                    f"the deploy lock {self.path} is not valid JSON (a deploy died while "
                    "writing it?); pass --force-lock to clear it"
                )
            raise WorkspaceError(
                f"the deploy lock {self.path} is held by {holder.get('user', 'someone')} since "
                f"{holder.get('acquired_at', 'an unknown time')}; wait for that deploy to end, "
                "or pass --force-lock if it died"
            )
        self.workspace.write(self.path, body, overwrite=True)
        self.held = True

    def release(self) -> str | None:
        """Delete the lock if it is still ours; a problem to report when that keeps failing."""
        if not self.held:
            return None
        failure: Exception | None = None
        for attempt in range(self.RELEASE_ATTEMPTS):
            if attempt:
                time.sleep(0.2 * attempt)
            try:
                exists, holder = self._holder()
                if exists and (holder is None or holder.get("id") == self.token):
                    self.workspace.delete(self.path)
                self.held = False
                return None
            except DabError as exc:
                failure = exc
        return (
            f"the deploy lock {self.path} could not be released ({failure}); the next deploy "
            "needs --force-lock"
        )


def _conf_changes(
    conf_files: Mapping[str, bytes], state: Mapping[str, Any]
) -> tuple[dict[str, str], list[str], list[str]]:
    hashes = {rel: hashlib.sha256(data).hexdigest() for rel, data in conf_files.items()}
    before = state.get("files") or {}
    changed = [rel for rel in sorted(hashes) if before.get(rel) != hashes[rel]]
    removed = sorted(set(before) - set(hashes))
    return hashes, changed, removed


@dataclass
class _Deployment:
    """What one deploy wants, gathered once."""

    workspace: Workspace
    target: Target
    desired: Mapping[str, dict[str, Any]]
    permissions: Mapping[str, list[dict[str, Any]]]
    paths: Paths
    wheel: Artifact | None
    wheel_remote: str
    conf_files: Mapping[str, bytes]
    apps: Mapping[str, app_deploy.WantedApp] = field(default_factory=dict)
    user: str = ""


@dataclass
class Changes:
    """Everything a deploy will do, decided before it does any of it.

    `jobs` holds one entry per job of the configuration (create, update or unchanged, with the
    job id for the last two); `removed` the deployed jobs no longer configured (deleted when
    approved, else kept); `duplicates` the extra jobs carrying a configured key's tags (always
    deleted). `uploads` are remote paths (wheel first, then conf files), `deletes` remote conf
    files that are no longer shipped."""

    state: Mapping[str, Any]
    jobs: list[JobChange] = field(default_factory=list)
    removed: list[JobChange] = field(default_factory=list)
    duplicates: list[JobChange] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    unchanged_files: int = 0
    file_hashes: dict[str, str] = field(default_factory=dict)
    apps: app_deploy.AppChanges = field(default_factory=app_deploy.AppChanges)

    def report_into(self, report: DeployReport, host: str) -> None:
        """Fill a dry run's report: what the deploy would do."""
        report.jobs += [
            JobChange(c.key, c.action, c.job_id, _url(host, c.job_id) if c.job_id else None)
            for c in [*self.jobs, *self.duplicates, *self.removed]
        ]
        report.uploaded += self.uploads
        report.unchanged_files = self.unchanged_files
        report.deleted_files += self.deletes
        report.apps += self.apps.all()


def deployed_jobs(workspace: Workspace, target: Target) -> dict[str, list[int]]:
    """Job ids by resource key of every job tagged with the target's bundle and name, from one
    listing of the workspace's jobs (ids ascending: the first is the oldest)."""
    tags = {TAG_BUNDLE: target.bundle_name, TAG_TARGET: target.name}
    found: dict[str, list[int]] = {}
    for job_id, job_tags in workspace.jobs_tagged(tags):
        found.setdefault(job_tags.get(TAG_KEY, "?"), []).append(job_id)
    return {key: sorted(ids) for key, ids in sorted(found.items())}


def decide(deployment: _Deployment) -> Changes:
    """The deploy's changes, from the state file, one listing of the tagged jobs and the local
    files. Only reads the workspace; the dry run and the deploy both call it."""
    d = deployment
    state = d.workspace.read_json(f"{d.paths.state}/{STATE_FILE}") or {}
    listed = deployed_jobs(d.workspace, d.target)
    known = {key: int(job_id) for key, job_id in (state.get("jobs") or {}).items()}
    prints = state.get("fingerprints") or {}
    changes = Changes(state)

    def alive(key: str) -> tuple[int | None, list[int]]:
        """(the job to keep for `key`, the other jobs carrying its tags)."""
        ids = listed.get(key, [])
        kept = known.get(key)
        if kept is not None and kept not in ids and not d.workspace.job_exists(kept):
            kept = None  # deleted in the UI
        if kept is None and ids:
            kept = ids[0]
        return kept, [job_id for job_id in ids if job_id != kept]

    for key, settings in d.desired.items():
        job_id, twins = alive(key)
        changes.duplicates += [JobChange(key, "delete", twin, reason="duplicate") for twin in twins]
        if job_id is None:
            changes.jobs.append(JobChange(key, "create"))
            continue
        same = (
            known.get(key) == job_id
            and job_id in listed.get(key, [])
            and prints.get(key) == fingerprint(settings, d.permissions[key])
        )
        changes.jobs.append(JobChange(key, "unchanged" if same else "update", job_id))
    for key in sorted((set(known) | set(listed)) - set(d.desired)):
        job_id, twins = alive(key)
        for gone in [job_id, *twins] if job_id is not None else []:
            changes.removed.append(
                JobChange(key, "delete", gone, reason="removed from the configuration")
            )

    uploaded_wheel = state.get("wheel") or {}
    if d.wheel is not None and (
        uploaded_wheel.get("sha256") != d.wheel.sha256 or not d.workspace.exists(d.wheel_remote)
    ):
        changes.uploads.append(d.wheel_remote)
    hashes, changed, removed = _conf_changes(d.conf_files, state)
    changes.uploads += [f"{d.paths.files}/{rel}" for rel in changed]
    changes.deletes = [f"{d.paths.files}/{rel}" for rel in removed]
    changes.unchanged_files = len(d.conf_files) - len(changed)
    changes.file_hashes = hashes
    changes.apps = app_deploy.decide_apps(d.workspace, d.apps, state, hashes, d.user)
    return changes


def _upload_all(
    d: _Deployment, changes: Changes, report: DeployReport, echo: Callable[[str], None]
) -> None:
    prefix = f"{d.paths.files}/"
    sources = {d.wheel_remote: d.wheel.path.read_bytes()} if d.wheel is not None else {}
    sources.update({f"{prefix}{rel}": data for rel, data in d.conf_files.items()})
    total = sum(len(sources[remote]) for remote in changes.uploads)
    done = 0
    for remote in changes.uploads:
        data = sources[remote]
        name = remote[len(prefix) :] if remote.startswith(prefix) else remote.rsplit("/", 1)[-1]
        d.workspace.write(remote, data, progress=_progress(name, done, total, echo))
        done += len(data)
        report.uploaded.append(remote)


def _emptied_folders(files: str, deleted: list[str], kept: Mapping[str, bytes]) -> list[str]:
    """Folders below `files` that held deleted files and hold no kept one, deepest first."""
    prefix = f"{files}/"

    def folders(rel: str) -> list[str]:
        parts = rel.split("/")[:-1]
        return ["/".join(parts[: n + 1]) for n in range(len(parts))]

    alive = {folder for rel in kept for folder in folders(rel)}
    gone = {
        folder
        for remote in deleted
        if remote.startswith(prefix)
        for folder in folders(remote[len(prefix) :])
    }
    return [prefix + f for f in sorted(gone - alive, key=lambda f: (-f.count("/"), f))]


def _progress(name: str, before: int, total: int, echo: Callable[[str], None]) -> Progress:
    """Echo an upload's bytes: at each quarter of a file over 1 MiB, else when it is sent."""
    marks: set[int] = set()

    def heard(sent: int, size: int) -> None:
        quarter = 4 * sent // size if size else 4
        if quarter in marks or (quarter < 4 and size < 1 << 20):
            return
        marks.add(quarter)
        echo(f"uploaded  {name}  {sent:,}/{size:,} bytes  ({before + sent:,}/{total:,} in all)")

    return heard


def _apply(
    deployment: _Deployment,
    changes: Changes,
    report: DeployReport,
    confirm_delete: Callable[[list[str]], bool],
    echo: Callable[[str], None],
) -> dict[str, Any]:
    """Carry out `changes` (decided by `decide`) and return the new state."""
    from databricks.sdk.service.jobs import JobSettings

    d = deployment
    host = d.workspace.host
    _upload_all(d, changes, report, echo)
    for remote in changes.deletes:
        d.workspace.delete(remote)
        report.deleted_files.append(remote)
    for folder in _emptied_folders(d.paths.files, changes.deletes, d.conf_files):
        # As the CLI's sync removes the folders it empties; one holding something else stays.
        with contextlib.suppress(DabError):
            d.workspace.delete(folder)
    report.unchanged_files = changes.unchanged_files

    for twin in changes.duplicates:
        assert twin.job_id is not None
        d.workspace.delete_job(twin.key, twin.job_id)
        report.jobs.append(twin)
        echo(f"{'delete':9} job {twin.key} ({twin.job_id}, a duplicate)")

    jobs: dict[str, int] = {}
    prints: dict[str, str] = {}
    created: dict[str, int] = {}
    for change in changes.jobs:
        key, settings = change.key, d.desired[change.key]
        acl = _acl(d.permissions[key])
        if change.action == "create":
            job_id = d.workspace.create_job(key, JobSettings.from_dict(settings), acl or None)
            created[key] = job_id
        else:
            assert change.job_id is not None
            job_id = change.job_id
            if change.action == "update":
                d.workspace.reset_job(key, job_id, JobSettings.from_dict(settings))
                if acl:
                    d.workspace.set_permissions(key, job_id, acl)
        jobs[key] = job_id
        prints[key] = fingerprint(settings, d.permissions[key])
        report.jobs.append(JobChange(key, change.action, job_id, _url(host, job_id)))
        echo(f"{change.action:9} job {key} -> {_url(host, job_id)}")
    if created:
        # A create retried by the SDK after its response was lost leaves a twin behind: one more
        # listing (only when something was created) finds and deletes it.
        for key, ids in deployed_jobs(d.workspace, d.target).items():
            for twin in ids:
                if key in created and twin != created[key]:
                    d.workspace.delete_job(key, twin)
                    report.jobs.append(JobChange(key, "delete", twin, reason="duplicate"))
                    echo(f"{'delete':9} job {key} ({twin}, a duplicate)")

    removed = sorted({change.key for change in changes.removed})
    if removed and confirm_delete(removed):
        for change in changes.removed:
            assert change.job_id is not None
            d.workspace.delete_job(change.key, change.job_id)
            report.jobs.append(JobChange(change.key, "delete", change.job_id, reason=change.reason))
    else:
        for change in changes.removed:
            assert change.job_id is not None
            jobs.setdefault(change.key, change.job_id)
            prints[change.key] = (changes.state.get("fingerprints") or {}).get(change.key, "")
            report.jobs.append(
                JobChange(change.key, "keep", change.job_id, _url(host, change.job_id))
            )
    apps = app_deploy.apply_apps(
        d.workspace, d.apps, changes.apps, changes.state, d.user, confirm_delete, echo, report.apps
    )
    return {
        "version": STATE_VERSION,
        "bundle": d.target.bundle_name,
        "target": d.target.name,
        "jobs": dict(sorted(jobs.items())),
        "fingerprints": dict(sorted(prints.items())),
        "wheel": {"name": d.wheel.path.name, "sha256": d.wheel.sha256} if d.wheel else None,
        "files": changes.file_hashes,
        **({"apps": apps} if apps else {}),
    }


def _url(host: str, job_id: int) -> str:
    return f"{host}/jobs/{job_id}"


def read_state(workspace: Workspace, target: Target) -> dict[str, Any]:
    """The deployment state of a target, or {} before its first deploy.

    It is the JSON file `<workspace.state_path>/kedro-dab-state.json`, written at the end of each
    successful deploy::

        {
          "version": 1,
          "bundle": "<bundle name>", "target": "<target name>",
          "jobs": {"<resource key>": <job id>, ...},
          "fingerprints": {"<resource key>": "<hash of the settings and permissions sent>"},
          "wheel": {"name": "<wheel file name>", "sha256": "<hex>"} (null: none built),
          "files": {"<path relative to the project>": "<sha256 hex>", ...},
          "apps": {"<resource key>": {"name": "<app name>", "fingerprint": "<hash>",
                                      "deployment": "<deployment id>"}}
        }

    (`apps` only when the target has Databricks Apps; see `kedro_dab.deploy.apps`.)

    The jobs also carry tags (`kedro_dab_bundle`, `kedro_dab_target`, `kedro_dab_job`), so
    `deployed_jobs` finds them when this file is lost."""
    paths = target_paths(target, workspace.user_name())
    return workspace.read_json(f"{paths.state}/{STATE_FILE}") or {}


@dataclass
class Teardown:
    """What `destroy` deletes: the target's jobs (from the state and by tags) and its folders."""

    jobs: list[JobChange]
    paths: list[str]
    apps: list[app_deploy.AppChange] = field(default_factory=list)

    def lines(self) -> list[str]:
        """One line per job, app and path, for the user to review before approving."""
        return (
            [f"job {c.key} ({c.job_id})  {c.url}" for c in self.jobs]
            + [f"app {c.key} ({c.name})  {c.url}" for c in self.apps]
            + [f"folder {path}" for path in self.paths]
        )


def plan_destroy(workspace: Workspace, target: Target) -> Teardown:
    """Everything `destroy` would delete, from reads only."""
    paths = target_paths(target, workspace.user_name())
    state = read_state(workspace, target)
    deployed = deployed_jobs(workspace, target)
    listed = {job_id: key for key, ids in deployed.items() for job_id in ids}
    from_state = {int(job_id): key for key, job_id in (state.get("jobs") or {}).items()}
    ids = {
        **{job_id: key for job_id, key in from_state.items() if job_id not in listed},
        **listed,
    }
    host = workspace.host
    jobs = [
        JobChange(key, "delete", job_id, _url(host, job_id))
        for job_id, key in sorted(ids.items(), key=lambda item: (item[1], item[0]))
        if job_id in listed or workspace.job_exists(job_id)
    ]
    folders = [paths.root] + [
        p
        for p in (paths.files, paths.artifacts, paths.state)
        if not p.startswith(paths.root + "/") and not p.startswith("/Volumes/")
    ]
    wheel = (state.get("wheel") or {}).get("name")
    if wheel and paths.artifacts.startswith("/Volumes/"):
        folders.append(f"{paths.artifacts}/.internal/{wheel}")
    apps = app_deploy.destroy_plan(workspace, target, state, paths.files)
    return Teardown(jobs, [p for p in dict.fromkeys(folders) if workspace.exists(p)], apps)
