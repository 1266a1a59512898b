"""The deployment metadata `databricks bundle deploy` writes beside its state (`metadata.json`),
which the SDK engine writes too: the bundle, its target and git details, and each job's id."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kedro_dab.deploy.context import Paths
from kedro_dab.deploy.target import Target

METADATA_FILE = "metadata.json"
"""The CLI's deployment metadata, which every job's `deployment.metadata_file_path` names."""


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
    from kedro_dab.git_ignore import worktree_root

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
