"""The files a target ships besides its jobs: whether it needs the project wheel
(`uses_wheel`) or runs the synced source (`runs_source`), which files the SDK engine uploads to
`${workspace.file_path}` then (`source_files`), which of them changed since the last deploy
(`file_changes`), the folders removing files empties, and the progress lines of an upload."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kedro_dab.deploy.job_settings import is_local
from kedro_dab.deploy.refusals import USE_CLI, UnsupportedBundle
from kedro_dab.deploy.target import Target
from kedro_dab.deploy.workspace import Progress


def runs_source(target: Target) -> bool:
    """Whether a job of the target runs a file of the bundle (a `spark_python_task` with a
    local `python_file`, as a `from_source: true` target's tasks do): then the SDK engine
    syncs the bundle's files as the CLI does, not only the shipped conf."""
    return any(
        is_local((task.get("spark_python_task") or {}).get("python_file"))
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
        return is_local(value) and str(value).endswith(".whl") and not value.startswith("dbfs:")

    return local_wheels(target.jobs)


def source_files(target: Target, root: Path, conf_dir: str) -> dict[str, bytes]:
    """What the SDK engine uploads to `${workspace.file_path}` for a target that runs the
    synced source: every file the CLI's file sync uploads (`sync_files`: git's ignore rules,
    `sync.include`, `sync.exclude`), except what kedro-dab never ships whatever the bundle
    says: of the conf folder only the files `shipped_conf_files` lists (never `conf/local`
    nor credentials), and no `.env*` file anywhere."""
    from kedro_dab.bundle.layout import shipped_conf_files
    from kedro_dab.deploy.sync import sync_files

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


def file_changes(
    conf_files: Mapping[str, bytes], state: Mapping[str, Any]
) -> tuple[dict[str, str], list[str], list[str]]:
    """(each file's sha256, the files changed since the deploy `state` records, the files it
    records that are gone), the last two sorted."""
    hashes = {rel: hashlib.sha256(data).hexdigest() for rel, data in conf_files.items()}
    before = state.get("files") or {}
    changed = [rel for rel in sorted(hashes) if before.get(rel) != hashes[rel]]
    removed = sorted(set(before) - set(hashes))
    return hashes, changed, removed


def emptied_folders(files: str, deleted: list[str], kept: Mapping[str, bytes]) -> list[str]:
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


def upload_progress(name: str, before: int, total: int, echo: Callable[[str], None]) -> Progress:
    """Echo an upload's bytes: at each quarter of a file over 1 MiB, else when it is sent."""
    marks: set[int] = set()

    def heard(sent: int, size: int) -> None:
        quarter = 4 * sent // size if size else 4
        if quarter in marks or (quarter < 4 and size < 1 << 20):
            return
        marks.add(quarter)
        echo(f"uploaded  {name}  {sent:,}/{size:,} bytes  ({before + sent:,}/{total:,} in all)")

    return heard
