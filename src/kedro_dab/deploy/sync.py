"""Which files of a bundle root `databricks bundle deploy` uploads for a target: those git's
ignore files leave (read as the Databricks CLI reads them, which is not git's own way), plus
those `sync.include` matches, minus those `sync.exclude` matches.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import TYPE_CHECKING

from kedro_dab.git_ignore import GitRules, IgnorePatterns

if TYPE_CHECKING:
    from kedro_dab.deploy.target import Target


def synced(target: Target, root: Path, candidates: list[str]) -> list[str]:
    """The files among `candidates` (paths relative to the bundle root) that the CLI's file
    sync uploads (see `SyncRules`), in the order given."""
    rules = SyncRules(target, root)
    return [rel for rel in candidates if rules(rel)]


def sync_files(target: Target, root: Path) -> list[str]:
    """Every file under the bundle root that `databricks bundle deploy` uploads to
    `${workspace.file_path}`, relative to the root, sorted (see `SyncRules`)."""
    rules = SyncRules(target, root)
    if rules.root_ignored:
        return []
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        base = Path(folder).relative_to(root).as_posix()
        prefix = "" if base == "." else f"{base}/"
        dirs[:] = sorted(d for d in dirs if rules.walks(f"{prefix}{d}"))
        found += [
            f"{prefix}{name}"
            for name in files
            if (Path(folder) / name).is_file() and not (Path(folder) / name).is_symlink()
        ]
    return sorted(rel for rel in found if rules(rel))


class SyncRules:
    """Whether the CLI's file sync uploads a file, by the rules of Databricks CLI v1.13.0:
    the files of the bundle root that git's ignore files leave (`GitRules`), plus those
    `sync.include` matches, minus those `sync.exclude` matches (all matched as
    `IgnorePatterns`). `.databricks/bundle/<target>/.internal/*.*` is always included, as the
    CLI includes it."""

    def __init__(self, target: Target, root: Path) -> None:
        self.git = GitRules(root)
        user_include = [posixpath.normpath(str(p)) for p in target.sync.get("include") or []]
        self.user_include = bool(user_include)
        internal = f".databricks/bundle/{target.name}/.internal/*.*"
        self.include = IgnorePatterns([*user_include, internal])
        self.exclude = IgnorePatterns(
            [posixpath.normpath(str(p)) for p in target.sync.get("exclude") or []]
        )
        self.root_ignored = self.git.root_ignored

    def walks(self, folder: str) -> bool:
        """Whether a walk for synced files must look inside `folder` (bundle-root relative):
        not when git's rules leave it out and no `sync.include` could bring a file back."""
        if self.user_include or folder == ".databricks" or folder.startswith(".databricks/"):
            return True
        return not self.git.folder_ignored(folder)

    def __call__(self, relative: str) -> bool:
        if self.exclude.matches(relative):
            return False
        return not self.git.ignored(relative) or self.include.matches(relative)
