"""The SDK engine: deploy a bundle target in pure Python, no Databricks CLI needed.

Order, as the CLI does it: take the deploy lock (a file created with overwrite=false), upload
the wheel and the shipped conf, create or reset each job, apply permissions, write the
deployment state, release the lock. Every job carries tags naming its bundle, target and
resource key, so a lost state file never produces a duplicate job.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kedro_dab.build import Artifact
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
from kedro_dab.deploy.workspace import Workspace, WorkspaceError
from kedro_dab.errors import ConfigError

STATE_FILE = "kedro-dab-state.json"
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


@dataclass(frozen=True)
class Paths:
    """Where a target's files live in the workspace."""

    root: str
    files: str
    artifacts: str
    state: str


def deploy_target(
    workspace: Workspace,
    target: Target,
    root: Path,
    wheel: Artifact,
    conf_files: Mapping[str, bytes],
    *,
    dry_run: bool = False,
    force_lock: bool = False,
    confirm_delete: Callable[[list[str]], bool] = lambda keys: False,
    echo: Callable[[str], None] = lambda line: None,
) -> DeployReport:
    """Deploy `target`: `conf_files` maps paths relative to the project (`conf/base/x.yml`)
    to their bytes; `wheel` is the stamped project wheel."""
    user = workspace.user_name()
    short = short_name(user)
    paths = target_paths(target, user)
    context = references(target, user, short, paths, workspace.host)
    wheel_remote = f"{paths.artifacts}/.internal/{wheel.path.name}"
    desired = {
        key: desired_settings(target, key, root, context, wheel, wheel_remote, short)
        for key in sorted(target.jobs)
    }
    permissions = {key: job_permissions(target, key, context) for key in desired}
    report = DeployReport(target.name, "sdk", dry_run, paths.root)
    state_path = f"{paths.state}/{STATE_FILE}"
    state = workspace.read_json(state_path) or {}
    deployment = _Deployment(
        workspace,
        target,
        desired,
        permissions,
        state,
        paths,
        wheel,
        wheel_remote,
        conf_files,
        report,
    )
    if dry_run:
        _plan_changes(deployment)
        return report

    lock = _Lock(workspace, f"{paths.state}/{LOCK_FILE}", user, force_lock)
    lock.acquire()
    try:
        new_state = _apply(deployment, confirm_delete, echo)
        workspace.write(state_path, json.dumps(new_state, indent=2, sort_keys=True).encode())
    finally:
        lock.release()
    return report


# --- paths and references ------------------------------------------------------------------


def short_name(user: str) -> str:
    """The CLI's short user name: the part before '@', other characters made '_'."""
    local = user.split("@", 1)[0]
    return re.sub(r"[^A-Za-z0-9]", "_", local).lower()


def _absolute(path: str, user: str) -> str:
    if path.startswith("~"):
        path = f"/Workspace/Users/{user}" + path[1:]
    if path.startswith("/Users/"):
        path = "/Workspace" + path
    return path.rstrip("/")


def target_paths(target: Target, user: str) -> Paths:
    """root/files/artifacts/state paths for the target, defaults as the CLI's."""
    base_context = {
        "bundle.name": target.bundle_name,
        "bundle.target": target.name,
        "workspace.current_user.userName": user,
        "workspace.current_user.short_name": short_name(user),
    }
    raw_root = target.root_path or f"~/.bundle/{target.bundle_name}/{target.name}"
    root = _absolute(resolve(raw_root, base_context, "workspace.root_path"), user)
    context = {**base_context, "workspace.root_path": root}

    def pick(value: str | None, default: str, name: str) -> str:
        return _absolute(resolve(value, context, name), user) if value else default

    return Paths(
        root=root,
        files=pick(target.file_path, f"{root}/files", "workspace.file_path"),
        artifacts=pick(target.artifact_path, f"{root}/artifacts", "workspace.artifact_path"),
        state=pick(target.state_path, f"{root}/state", "workspace.state_path"),
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
    wheel: Artifact,
    wheel_remote: str,
    short: str,
) -> dict[str, Any]:
    """The exact Jobs API settings for one job of the target: the CLI's settings for it
    (`bundle_settings`), the project wheel mapped to its upload, and the tags that find the job
    again. Tasks other than wheel tasks are refused (they run synced source)."""
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
        if "python_wheel_task" not in task:
            kind = next((k for k in task if k.endswith("_task")), "a non-wheel task")
            raise UnsupportedBundle(
                f"{where}: task '{task.get('task_key')}' is a {kind} (from_source targets run "
                f"the synced source, which the SDK engine does not sync); {USE_CLI}"
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
    value: str, source: Path, root: Path, wheel: Artifact, remote: str, where: str
) -> str:
    """Map a local wheel path (relative to the resource file) to its uploaded location."""
    if value.startswith(("/", "dbfs:")) or "://" in value or not value.endswith(".whl"):
        return value
    matches = sorted((source.parent).glob(value))
    if wheel.path.resolve() in [m.resolve() for m in matches]:
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
    def __init__(self, workspace: Workspace, path: str, user: str, force: bool) -> None:
        self.workspace, self.path, self.user, self.force = workspace, path, user, force
        self.token = uuid.uuid4().hex
        self.held = False

    def acquire(self) -> None:
        body = json.dumps(
            {
                "id": self.token,
                "user": self.user,
                "acquired_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        )
        if self.workspace.create_exclusive(self.path, body.encode()):
            self.held = True
            return
        holder = self.workspace.read_json(self.path) or {}
        if not self.force and holder.get("id") != self.token:
            raise WorkspaceError(
                f"the deploy lock {self.path} is held by {holder.get('user', 'someone')} since "
                f"{holder.get('acquired_at', 'an unknown time')}; wait for that deploy to end, "
                "or pass --force-lock if it died"
            )
        self.workspace.write(self.path, body.encode(), overwrite=True)
        self.held = True

    def release(self) -> None:
        if not self.held:
            return
        current = self.workspace.read_json(self.path) or {}
        if current.get("id") == self.token:
            self.workspace.delete(self.path)
        self.held = False


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
    """Everything one deploy decides from, gathered once."""

    workspace: Workspace
    target: Target
    desired: Mapping[str, dict[str, Any]]
    permissions: Mapping[str, list[dict[str, Any]]]
    state: Mapping[str, Any]
    paths: Paths
    wheel: Artifact
    wheel_remote: str
    conf_files: Mapping[str, bytes]
    report: DeployReport


def _plan_changes(deployment: _Deployment) -> None:
    d = deployment
    if (d.state.get("wheel") or {}).get("sha256") != d.wheel.sha256:
        d.report.uploaded.append(d.wheel_remote)
    _, changed, removed = _conf_changes(d.conf_files, d.state)
    d.report.uploaded += [f"{d.paths.files}/{rel}" for rel in changed]
    d.report.unchanged_files = len(d.conf_files) - len(changed)
    d.report.deleted_files = [f"{d.paths.files}/{rel}" for rel in removed]
    known = dict(d.state.get("jobs") or {})
    prints = d.state.get("fingerprints") or {}
    for key, settings in d.desired.items():
        job_id = known.get(key)
        if job_id is None:
            found = _find_by_tags(d.workspace, d.target, key)
            job_id = found[0] if found else None
        if job_id is None:
            d.report.jobs.append(JobChange(key, "create"))
        elif prints.get(key) == fingerprint(settings, d.permissions[key]):
            d.report.jobs.append(JobChange(key, "unchanged", job_id, _url(d.workspace, job_id)))
        else:
            d.report.jobs.append(JobChange(key, "update", job_id, _url(d.workspace, job_id)))
    for key in sorted(set(known) - set(d.desired)):
        d.report.jobs.append(JobChange(key, "delete", known[key], _url(d.workspace, known[key])))


def _apply(
    deployment: _Deployment,
    confirm_delete: Callable[[list[str]], bool],
    echo: Callable[[str], None],
) -> dict[str, Any]:
    from databricks.sdk.service.jobs import JobSettings

    d = deployment

    uploaded_wheel = d.state.get("wheel") or {}
    if uploaded_wheel.get("sha256") != d.wheel.sha256 or not d.workspace.exists(d.wheel_remote):
        echo(f"uploading {d.wheel.path.name} ({d.wheel.size:,} bytes)")
        d.workspace.write(d.wheel_remote, d.wheel.path.read_bytes())
        d.report.uploaded.append(d.wheel_remote)

    hashes, changed, removed = _conf_changes(d.conf_files, d.state)
    for rel in changed:
        d.workspace.write(f"{d.paths.files}/{rel}", d.conf_files[rel])
        d.report.uploaded.append(f"{d.paths.files}/{rel}")
    for rel in removed:
        d.workspace.delete(f"{d.paths.files}/{rel}")
        d.report.deleted_files.append(f"{d.paths.files}/{rel}")
    d.report.unchanged_files = len(d.conf_files) - len(changed)

    jobs: dict[str, int] = {k: int(v) for k, v in (d.state.get("jobs") or {}).items()}
    prints: dict[str, str] = dict(d.state.get("fingerprints") or {})
    for key, settings in d.desired.items():
        acl = _acl(d.permissions[key])
        job_id = jobs.get(key)
        if job_id is not None and not d.workspace.job_exists(job_id):
            job_id = None
        if job_id is None:
            found = _find_by_tags(d.workspace, d.target, key)
            job_id = found[0] if found else None
            for duplicate in found[1:]:
                d.workspace.delete_job(key, duplicate)
        new_print = fingerprint(settings, d.permissions[key])
        if job_id is None:
            job_id = d.workspace.create_job(key, JobSettings.from_dict(settings), acl or None)
            for duplicate in _find_by_tags(d.workspace, d.target, key):
                if duplicate != job_id:
                    # A create retried after a lost response left a twin behind.
                    d.workspace.delete_job(key, duplicate)
            action = "create"
        elif prints.get(key) == new_print:
            action = "unchanged"
        else:
            d.workspace.reset_job(key, job_id, JobSettings.from_dict(settings))
            if acl:
                d.workspace.set_permissions(key, job_id, acl)
            action = "update"
        jobs[key] = job_id
        prints[key] = new_print
        d.report.jobs.append(JobChange(key, action, job_id, _url(d.workspace, job_id)))
        echo(f"{action:9} job {key} -> {_url(d.workspace, job_id)}")

    removed_jobs = sorted(set(jobs) - set(d.desired))
    if removed_jobs:
        if confirm_delete(removed_jobs):
            for key in removed_jobs:
                d.workspace.delete_job(key, jobs.pop(key))
                prints.pop(key, None)
                d.report.jobs.append(JobChange(key, "delete"))
        else:
            d.report.jobs += [
                JobChange(key, "keep", jobs[key], _url(d.workspace, jobs[key]))
                for key in removed_jobs
            ]
    return {
        "version": STATE_VERSION,
        "bundle": d.target.bundle_name,
        "target": d.target.name,
        "jobs": jobs,
        "fingerprints": prints,
        "wheel": {"name": d.wheel.path.name, "sha256": d.wheel.sha256},
        "files": hashes,
    }


def _find_by_tags(workspace: Workspace, target: Target, key: str) -> list[int]:
    tags = {TAG_BUNDLE: target.bundle_name, TAG_TARGET: target.name, TAG_KEY: key}
    return [job_id for job_id, _ in workspace.jobs_tagged(tags)]


def _url(workspace: Workspace, job_id: int) -> str:
    return f"{workspace.host}/jobs/{job_id}"


def read_state(workspace: Workspace, target: Target) -> dict[str, Any]:
    """The deployment state of a target (job ids by resource key), or {}."""
    paths = target_paths(target, workspace.user_name())
    return workspace.read_json(f"{paths.state}/{STATE_FILE}") or {}
