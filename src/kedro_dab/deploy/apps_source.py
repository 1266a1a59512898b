"""Where each Databricks App's source is: its `source_code_path` as a folder of the bundle,
and the files in those folders."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from kedro_dab.deploy.refusals import USE_CLI, UnsupportedBundle
from kedro_dab.deploy.target import Target
from kedro_dab.deploy.workspace import WorkspaceError

_SKIPPED_PARTS = {"__pycache__", ".ipynb_checkpoints"}


def source_folders(target: Target, root: Path) -> dict[str, str]:
    """Each app's `source_code_path` as a folder relative to the bundle root: relative paths
    are relative to the file that sets them, as the CLI reads them."""
    from kedro_dab.bundle.layout import DATABRICKS_YML

    out = {}
    for key, app in target.app_resources.items():
        where = f"resources.apps.{key}"
        path = app.get("source_code_path") if isinstance(app, Mapping) else None
        if not isinstance(path, str) or not path or "${" in path:
            raise UnsupportedBundle(
                f"{where}: the SDK engine deploys an app from a local source_code_path "
                f"(a folder of the bundle); {USE_CLI}"
            )
        base = target.app_files.get(key, root / DATABRICKS_YML).parent
        folder = (base / path).resolve()
        try:
            rel = folder.relative_to(root.resolve()).as_posix()
        except ValueError:
            raise UnsupportedBundle(
                f"{where}.source_code_path '{path}' is outside the bundle root; move the app's "
                "source into the bundle"
            ) from None
        if not folder.is_dir():
            raise WorkspaceError(
                f"{where}.source_code_path '{path}' is not a folder ({rel}); run "
                "`kedro dab bundle` to write the app's source"
            )
        out[key] = rel
    return out


def source_files(root: Path, folders: Mapping[str, str]) -> list[str]:
    """The files of the apps' source folders, relative to the bundle root, sorted."""
    found = set()
    for rel in folders.values():
        for path in (root / rel).rglob("*"):
            if path.is_file() and not _SKIPPED_PARTS & set(path.relative_to(root).parts):
                found.add(path.relative_to(root).as_posix())
    return sorted(found)
