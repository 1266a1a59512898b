"""Reading the project's Kedro configuration as its own config loader reads it.

The loader for an env (with the `dab` pattern), the files each key reads and in which order,
a key's merged configuration, the catalog configuration (fast path for the stock loader),
and from it which datasets are persisted, judged from configuration alone; simulation's
catalog. Kedro's version differences stay in `compat`.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from kedro_dab import compat
from kedro_dab.collector import collector_paused


def config_loader(project_path: Path, env: str) -> Any:
    """The project's own config loader for `env`, with the `dab` pattern registered."""
    from kedro.framework.project import settings

    conf_source = str(project_path / settings.CONF_SOURCE)
    with _quiet_omegaconf():
        loader = settings.CONFIG_LOADER_CLASS(
            conf_source=conf_source, env=env, **settings.CONFIG_LOADER_ARGS
        )
    loader.config_patterns.setdefault("dab", ["dab*", "dab*/**"])
    return loader


def conf_source_dir(project_path: Path) -> Path:
    """The project's configuration folder (`settings.CONF_SOURCE`, `conf` by default). One
    outside the project is a `ConfigError`: the bundle ships the project folder's files."""
    from kedro.framework.project import PACKAGE_NAME, settings

    source = project_path / settings.CONF_SOURCE
    root = project_path.resolve()
    if not source.resolve().is_relative_to(root):
        import sys

        from kedro_dab.errors import ConfigError

        module = sys.modules.get(f"{PACKAGE_NAME}.settings")
        file = Path(getattr(module, "__file__", None) or "settings.py").resolve()
        shown = file.relative_to(root).as_posix() if file.is_relative_to(root) else str(file)
        raise ConfigError(
            f"{shown}: CONF_SOURCE {str(settings.CONF_SOURCE)!r} is outside the project, so the "
            "bundle cannot ship it with the project's files; move that conf folder inside the "
            "project and point CONF_SOURCE there"
        )
    return source


def load_config_key(loader: Any, key: str) -> dict[str, Any]:
    """`loader[key]`, with "no such files" as an empty mapping."""
    from kedro.config import MissingConfigException

    try:
        with _quiet_omegaconf():
            return dict(loader[key] or {})
    except MissingConfigException:
        return {}


@contextlib.contextmanager
def _quiet_omegaconf() -> Iterator[None]:
    """Some OmegaConf releases deprecate the resolver API that Kedro's loader calls; that
    warning is Kedro's to fix and tells a kedro-dab user nothing."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*register_new_resolver", category=UserWarning)
        yield


def config_files(loader: Any, key: str, env: str) -> list[Path]:
    """The files `loader[key]` reads for the base env and `env`, in merge order."""
    return [path for layer in config_layers(loader, key, env) for path in layer]


def config_layers(loader: Any, key: str, env: str) -> list[list[Path]]:
    """The files `loader[key]` reads, one list for the base env and one for `env` (the same
    folder only once): YAML or JSON files matching the key's patterns, hidden ones skipped
    as the loader skips them."""
    root = Path(loader.conf_source)
    base = getattr(loader, "base_env", "base") or "base"
    skip_hidden = getattr(loader, "ignore_hidden", True)
    layers: list[list[Path]] = []
    for folder in dict.fromkeys((base, env)):
        directory = root / folder
        found = []
        for path in sorted(directory.rglob("*")) if directory.is_dir() else []:
            rel = path.relative_to(directory).as_posix()
            if (
                path.suffix in (".yml", ".yaml", ".json")
                and path.is_file()
                and not (
                    skip_hidden and any(p.startswith(".") for p in path.relative_to(root).parts)
                )
                and matches_config_pattern(rel, loader.config_patterns[key])
            ):
                found.append(path)
        layers.append(found)
    return layers


MEMORY_TYPES = frozenset({"MemoryDataset", "SharedMemoryDataset"})


def dataset_type_is_memory(config: Mapping[str, Any], own_package: str | None = None) -> bool:
    """Whether a catalog entry keeps its data in memory: Kedro's in-memory types by name, and
    a class of the project's own package (`own_package.…`) that subclasses one of them."""
    kind = str(config.get("type", ""))
    short = kind.rsplit(".", 1)[-1]
    if short == "CachedDataset":
        inner = config.get("dataset")
        return isinstance(inner, Mapping) and dataset_type_is_memory(inner, own_package)
    if short in MEMORY_TYPES:
        return True
    return bool(own_package) and kind.startswith(f"{own_package}.") and _memory_class(kind)


@functools.cache
def _memory_class(kind: str) -> bool:
    """Whether the class at dotted path `kind` subclasses one of Kedro's in-memory datasets
    (False when it cannot be imported here: it is then judged by its name, as others are)."""
    import importlib

    from kedro.io import MemoryDataset, SharedMemoryDataset

    module, _, name = kind.rpartition(".")
    try:
        found = getattr(importlib.import_module(module), name)
    except Exception:  # the project's module may need what this machine lacks
        return False
    return isinstance(found, type) and issubclass(found, (MemoryDataset, SharedMemoryDataset))


def make_catalog(
    project_path: Path, conf_source: Path, env: str, runtime_params: Mapping[str, Any]
) -> Any:
    """The data catalog Kedro would build for `env` from `conf_source` in a `kedro run` given
    `runtime_params` (its `--params`), with relative paths resolved against the project as
    `kedro run` resolves them. Used only by simulation."""
    from kedro.framework.context.context import _convert_paths_to_absolute_posix
    from kedro.framework.project import settings

    with _quiet_omegaconf():
        loader = settings.CONFIG_LOADER_CLASS(
            conf_source=str(conf_source),
            env=env,
            runtime_params=dict(runtime_params),
            **settings.CONFIG_LOADER_ARGS,
        )
    catalog = _convert_paths_to_absolute_posix(project_path, load_config_key(loader, "catalog"))
    credentials = load_config_key(loader, "credentials")
    return settings.DATA_CATALOG_CLASS.from_config(catalog, credentials)


def dataset_exists(catalog: Any, name: str) -> bool | None:
    """Whether a persisted dataset has data; None when that cannot be told."""
    try:
        return bool(catalog.exists(name))
    except Exception:  # a dataset may need credentials or a service this machine lacks
        return None


def catalog_config(loader: Any, env: str) -> dict[str, Any]:
    """The catalog configuration of `env`, as `loader["catalog"]` gives it.

    For Kedro's stock `OmegaConfigLoader` on a local folder, the files are parsed as PyYAML's
    C loader reads them (`fast_yaml`), many times faster than OmegaConf on large catalogs;
    only dataset names and types matter here. Any `${...}` in a type, or another loader,
    takes the loader's own path."""
    from kedro.config import OmegaConfigLoader

    if type(loader) is not OmegaConfigLoader or getattr(loader, "_protocol", "file") != "file":
        return load_config_key(loader, "catalog")
    import yaml

    from kedro_dab import fast_yaml
    from kedro_dab.shapes import check_catalog_shape

    root = Path(loader.conf_source)
    layers = []
    for files in config_layers(loader, "catalog", env):
        merged: dict[str, Any] = {}
        for path in files:
            try:
                with collector_paused():
                    loaded = fast_yaml.load(path.read_text(encoding="utf-8"), unique_keys=True)
            except yaml.YAMLError:
                return load_config_key(loader, "catalog")
            if isinstance(loaded, dict) and any(isinstance(k, datetime.date) for k in loaded):
                return load_config_key(loader, "catalog")  # OmegaConf reads `2024-01-01:` as text
            check_catalog_shape(loaded, path.relative_to(root.parent).as_posix())
            if isinstance(loaded, dict):
                if any(not str(name).startswith("_") for name in merged.keys() & loaded.keys()):
                    return load_config_key(loader, "catalog")  # its error names both files
                merged.update(loaded)
        layers.append(merged)
    strategy = (loader.merge_strategy or {}).get("catalog", "destructive")
    out = dict(layers[0])
    for layer in layers[1:]:
        for name, entry in layer.items():
            if strategy == "soft" and isinstance(out.get(name), dict) and isinstance(entry, dict):
                out[name] = {**out[name], **entry}
            else:
                out[name] = entry
    out = {k: v for k, v in out.items() if not str(k).startswith("_")}
    if any(_interpolated_type(entry) for entry in out.values()):
        return load_config_key(loader, "catalog")
    return out


def _interpolated_type(entry: Any) -> bool:
    if not isinstance(entry, Mapping):
        return False
    kind = entry.get("type")
    return (isinstance(kind, str) and "${" in kind) or _interpolated_type(entry.get("dataset"))


def matches_config_pattern(relative: str, patterns: Iterable[str]) -> bool:
    """Whether a path (relative to an env folder) matches a config loader pattern, with the
    glob rules Kedro's loader uses: `*` stays within a folder, `**` spans folders, and a
    leading `**/` may match no folder at all."""
    return any(_pattern_regex(pattern).fullmatch(relative) for pattern in patterns)


@functools.lru_cache(maxsize=64)
def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def persisted_datasets(
    catalog: Mapping[str, Any], datasets: Iterable[str], own_package: str | None = None
) -> set[str]:
    """Names among `datasets` whose catalog entry (explicit, or the first dataset factory
    pattern that matches in Kedro's order of precedence) is not an in-memory dataset (see
    `dataset_type_is_memory`). Undeclared names are in memory; parameters are never
    datasets."""
    import parse

    entries = {
        name: conf
        for name, conf in catalog.items()
        if not name.startswith("_") and (type(conf) is dict or isinstance(conf, Mapping))
    }
    explicit = {name: conf for name, conf in entries.items() if "{" not in name}
    patterns = compat.sort_dataset_patterns({k: v for k, v in entries.items() if "{" in k})
    compiled = [(_factory(parse, pattern), conf) for pattern, conf in patterns.items()]
    is_parameter = compat.is_parameter
    out: set[str] = set()
    for name in datasets:
        if is_parameter(name):
            continue
        conf = explicit.get(name)
        if conf is None:
            conf = next((c for pattern, c in compiled if pattern.parse(name) is not None), None)
        if conf is not None and not dataset_type_is_memory(conf, own_package):
            out.add(name)
    return out


def _factory(parse: Any, pattern: str) -> Any:
    """A dataset factory pattern compiled as Kedro compiles it (the `parse` library), or a
    `ConfigError` naming it when `kedro run` would fail on it too."""
    try:
        return parse.compile(pattern)
    except ValueError as exc:
        from kedro_dab.errors import ConfigError, first_line

        raise ConfigError(
            f"catalog dataset factory '{pattern}': {first_line(exc)} (Kedro's catalog fails on it "
            "too); fix the pattern: placeholders are {name} or {name:format}, as Python's "
            "str.format writes them"
        ) from exc
