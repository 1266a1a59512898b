"""Preloaded datasets of a Databricks App: fetched from Unity Catalog volumes at start-up.

An app runs in its own container with its source folder and nothing else: the project's local
`data/` folder is not there, and Unity Catalog volumes are not mounted (`/Volumes/...` is no
local path in an app, unlike on Databricks compute); an app reads a volume through the Files
API with its service principal. So, when the app starts, each preloaded dataset whose catalog
entry (in the app's Kedro env) points into a volume is downloaded once through the Files API
into a local cache in the app folder, and its catalog entry is replaced by the same dataset
reading the copy. A preloaded dataset that is a local file the app does not have stops the app
with one line naming it and the fix; one behind another protocol (`s3://`, `abfss://`...) is
left to its dataset, with the credentials the env gives it.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from kedro_dab.errors import DabError, first_line

VOLUMES = "/Volumes/"
CACHE_DIR = ".kedro-dab/preload"
"""Inside the app folder: where volume files are copied."""


class PreloadError(DabError):
    """A preloaded dataset the app cannot reach."""


def preload_source(catalog: Any, name: str) -> dict[str, Any]:
    """The catalog entry of `name` as Kedro resolves it (an explicit entry, else the dataset
    factory that matches it), credentials left out."""
    resolver = catalog.config_resolver
    config = resolver.config.get(name) or resolver.resolve_pattern(name)
    return dict(config or {})


def fetch_preloaded(
    catalog: Any,
    names: Sequence[str],
    folder: Path,
    env: str | None,
    client: Callable[[], Any],
    echo: Callable[[str], None] = lambda line: None,
) -> list[str]:
    """Make every dataset of `names` loadable inside the app folder `folder`: volume files are
    downloaded (through `client()`, a databricks-sdk `WorkspaceClient`, made only when needed)
    into `folder/.kedro-dab/preload/` and the catalog entry repointed. Returns the datasets
    fetched; raises `PreloadError` for one the app cannot reach."""
    from kedro.io import AbstractDataset

    fetched = []
    made: list[Any] = []
    for name in names:
        config = preload_source(catalog, name)
        filepath = config.get("filepath") or config.get("path")
        if not isinstance(filepath, str):
            continue
        where = f"preloaded dataset '{name}' (env '{env or 'base'}')"
        if filepath.startswith(VOLUMES):
            if config.get("versioned"):
                raise PreloadError(
                    f"{where} is versioned ({filepath}); a Databricks App copies one file from "
                    "the volume: drop `versioned` in the app's env, or point it at a fixed file"
                )
            if not made:
                made.append(client())
            local = folder / CACHE_DIR / filepath.removeprefix("/")
            _download(made[0], filepath, local, where)
            key = "filepath" if "filepath" in config else "path"
            catalog[name] = AbstractDataset.from_config(name, {**config, key: local.as_posix()})
            fetched.append(name)
            echo(f"fetched {name} from {filepath}")
            continue
        if "://" in filepath:
            continue
        path = Path(filepath) if posixpath.isabs(filepath) else folder / filepath
        if not path.exists():
            raise PreloadError(
                f"{where} is the local file {filepath}, which a Databricks App does not have "
                "(it gets its source folder only); point it at a Unity Catalog volume "
                f"(/Volumes/<catalog>/<schema>/<volume>/...) in conf/{env or 'base'}/catalog.yml"
            )
    return fetched


def _download(client: Any, remote: str, local: Path, where: str) -> None:
    """A volume file, or every file of a volume folder, to `local`."""
    from databricks.sdk.errors import NotFound, PermissionDenied

    try:
        try:
            files = {remote: local}
            response = client.files.download(remote)
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(response.contents.read())
            return
        except NotFound:
            files = {}
            for entry in client.files.list_directory_contents(remote):
                if entry.is_directory:
                    _download(client, str(entry.path), local / str(entry.name), where)
                else:
                    files[str(entry.path)] = local / PurePosixPath(str(entry.path)).name
            if not files:
                raise
        for source, target in files.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(client.files.download(source).contents.read())
    except PermissionDenied as exc:
        raise PreloadError(
            f"{where}: the app may not read {remote} ({first_line(exc)}); grant the app's "
            "service principal READ VOLUME on the volume (an app resource of type volume)"
        ) from None
    except NotFound:
        raise PreloadError(
            f"{where}: {remote} is not in the volume; run the job that writes it first"
        ) from None
