"""Which file of a bundle root wrote each part of a target that the merge keeps: each job (for
messages, and the CLI's rule that a resource key is defined in one file only), each app's
`source_code_path` and each task's `spark_python_task.python_file` (a relative path is
relative to the file that wrote it, as the CLI translates it).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kedro_dab.bundle.layout import DATABRICKS_YML
from kedro_dab.errors import ConfigError


def written_in(root: Path, path: Path | None) -> str:
    """`path` relative to the bundle root, as a message names it (databricks.yml if unknown)."""
    return (path or root / DATABRICKS_YML).relative_to(root).as_posix()


def job_files(path: Path, data: Mapping[str, Any], known: dict[str, Path]) -> dict[str, Path]:
    """Where each job is defined; the CLI refuses a resource key defined in two files."""
    out = dict(known)
    resources = data.get("resources") or {}
    if not isinstance(resources, Mapping):
        raise ConfigError(f"{path.name}: resources must be a mapping")
    for key in resources.get("jobs") or {}:
        if key in out and out[key] != path:
            raise ConfigError(
                f"{path.name}: job '{key}' is also defined in {out[key].name}; "
                "resource keys must be unique"
            )
        out[key] = path
    return out


def target_job_files(
    root: Path, sources: Mapping[str, Mapping[str, Any]], name: str, files: dict[str, Path]
) -> None:
    """Jobs defined only inside the target: attributed to the file whose target defines them."""
    for rel, source in sources.items():
        per_target = ((source.get("targets") or {}).get(name) or {}).get("resources") or {}
        for key in per_target.get("jobs") or {}:
            files.setdefault(key, root / rel)


def app_files(root: Path, sources: Mapping[str, Mapping[str, Any]], name: str) -> dict[str, Path]:
    """Where each app's `source_code_path` was last set, in the CLI's merge order: the
    top-level resources of each file in load order, then the target's."""
    out: dict[str, Path] = {}
    for in_target in (False, True):
        for rel, source in sources.items():
            data: Any = source
            if in_target:
                data = (source.get("targets") or {}).get(name) or {}
            apps = ((data.get("resources") or {}) if isinstance(data, Mapping) else {}).get("apps")
            for key, app in (apps or {}).items() if isinstance(apps, Mapping) else ():
                if isinstance(app, Mapping) and "source_code_path" in app:
                    out[str(key)] = root / rel
    return out


def python_files(
    root: Path, sources: Mapping[str, Mapping[str, Any]], name: str
) -> dict[tuple[str, str], Path]:
    """Where each task's `spark_python_task.python_file` was last set, in the CLI's merge
    order: the top-level resources of each file in load order, then the target's."""
    out: dict[tuple[str, str], Path] = {}
    for in_target in (False, True):
        for rel, source in sources.items():
            data: Any = source
            if in_target:
                data = (source.get("targets") or {}).get(name) or {}
            jobs = ((data.get("resources") or {}) if isinstance(data, Mapping) else {}).get("jobs")
            for key, job in (jobs or {}).items() if isinstance(jobs, Mapping) else ():
                tasks = job.get("tasks") if isinstance(job, Mapping) else None
                for task in tasks if isinstance(tasks, list) else ():
                    python = task.get("spark_python_task") if isinstance(task, Mapping) else None
                    if isinstance(python, Mapping) and "python_file" in python:
                        out[(str(key), str(task.get("task_key") or ""))] = root / rel
    return out
