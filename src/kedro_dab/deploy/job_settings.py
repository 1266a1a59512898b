"""The Jobs API settings the SDK engine sends for one job, computed as `databricks bundle deploy`
computes them: references resolved, lists merged by key, values typed as the Jobs API model
types them, presets and per-job defaults applied, cluster fix-ups, local files mapped to where
they are uploaded. What the SDK engine cannot deploy as the CLI would is refused with
`UnsupportedBundle`."""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kedro_dab.build import BUILD_DIR, Artifact
from kedro_dab.deploy.context import target_presets
from kedro_dab.deploy.metadata import METADATA_FILE
from kedro_dab.deploy.references import go_string as _go_string
from kedro_dab.deploy.references import resolve
from kedro_dab.deploy.refusals import USE_CLI, UnsupportedBundle
from kedro_dab.deploy.state import TAG_BUNDLE, TAG_KEY, TAG_TARGET
from kedro_dab.deploy.target import Target, merge_by_key
from kedro_dab.errors import ConfigError

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
    presets = target_presets(target, context, short)
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
        if isinstance(python, dict) and is_local(python.get("python_file")):
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
        "metadata_file_path": f"{context['workspace.state_path']}/{METADATA_FILE}",
    }
    job["edit_mode"] = "UI_LOCKED"
    job["format"] = "MULTI_TASK"
    return job


def is_local(value: Any) -> bool:
    """Whether a value is a local path: a string neither absolute nor a URL."""
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


def _normalized(value: Any, model: Any, where: str) -> Any:
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
    """Map a local wheel path (relative to the resource file) to its uploaded location: a
    path that names the project wheel, or its place in `dist/` (a dry run builds it aside)."""
    if value.startswith(("/", "dbfs:")) or "://" in value or not value.endswith(".whl"):
        return value
    matches = [m.resolve() for m in source.parent.glob(value)]
    if wheel is not None:
        pattern = source.parent / value
        in_dist = root / BUILD_DIR / wheel.path.name
        if wheel.path.resolve() in matches or (
            pattern.parent.resolve() == in_dist.parent.resolve()
            and fnmatch.fnmatchcase(in_dist.name, pattern.name)
        ):
            return remote
    raise UnsupportedBundle(
        f"{where}: '{value}' names a wheel other than the project's own; {USE_CLI}"
    )


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
