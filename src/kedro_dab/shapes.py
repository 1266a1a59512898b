"""The shapes kedro-dab reads from `databricks.yml` and the catalog files, and the config files
behind a loader error that names none: each problem as one line naming the file and key."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kedro_dab.errors import ConfigError


def relative(path: Path, root: Path | None) -> str:
    """`path` relative to `root` as the user knows it (POSIX), or as given when outside."""
    try:
        return path.relative_to(root).as_posix() if root else path.as_posix()
    except ValueError:
        return path.as_posix()


# --- databricks.yml: the shape kedro-dab reads --------------------------------------------------

_BUNDLE_SHAPE: dict[str, tuple[type, str]] = {
    "bundle": (dict, "a mapping such as `bundle: {name: my_project}`"),
    "include": (list, "a list of globs such as `include: [resources/*.yml]`"),
    "artifacts": (dict, "a mapping of artifact name to its settings"),
    "sync": (dict, "a mapping such as `sync: {exclude: [data/**]}`"),
    "variables": (dict, "a mapping of variable name to its settings"),
    "targets": (dict, "a mapping of target name to its settings, such as `targets: {dev: {}}`"),
    "resources": (dict, "a mapping such as `resources: {jobs: {...}}`"),
    "workspace": (dict, "a mapping such as `workspace: {host: https://...}`"),
    "permissions": (list, "a list of `{level: ..., user_name: ...}` entries"),
    "presets": (dict, "a mapping of preset name to value"),
}


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "text" if isinstance(value, str) else type(value).__name__


def bundle_shape_problem(data: Mapping[str, Any], where: str = "databricks.yml") -> str | None:
    """Where `databricks.yml` (or a resource file of the bundle) has a key of the wrong YAML
    type for what kedro-dab reads from it, with the shape it must have; None when fine.
    Nulls are allowed everywhere (an empty key)."""
    for key, (kind, shape) in _BUNDLE_SHAPE.items():
        value = data.get(key)
        if value is not None and not isinstance(value, kind):
            return f"{where}: {key} is {_kind(value)}, but must be {shape}"
    for key in ("artifacts", "variables", "targets"):
        for name, value in (data.get(key) or {}).items():
            if not isinstance(name, str):
                return f"{where}: {key}: the name {name!r} must be text; quote it"
            if value is not None and not isinstance(value, Mapping):
                if key == "variables" and not isinstance(value, list):
                    continue  # a variable may be given by its bare default value
                return f"{where}: {key}.{name} is {_kind(value)}, but must be a mapping"
    for index, entry in enumerate(data.get("include") or []):
        if not isinstance(entry, str):
            return f"{where}: include[{index}] is {_kind(entry)}, but must be a glob (text)"
    name = (data.get("bundle") or {}).get("name")
    if name is not None and not isinstance(name, str):
        return f"{where}: bundle.name is {_kind(name)}, but must be text; quote it"
    sync = data.get("sync") or {}
    for key in ("include", "exclude", "paths"):
        value = sync.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            return f"{where}: sync.{key} must be a list of globs (text)"
    for target, settings in (data.get("targets") or {}).items():
        for key in ("variables", "workspace", "resources", "presets"):
            value = (settings or {}).get(key)
            if value is not None and not isinstance(value, Mapping):
                return f"{where}: targets.{target}.{key} is {_kind(value)}, but must be a mapping"
    return None


def check_bundle_shape(data: Mapping[str, Any], where: str = "databricks.yml") -> None:
    """Raise a `ConfigError` for the first key of `bundle_shape_problem`."""
    problem = bundle_shape_problem(data, where)
    if problem:
        raise ConfigError(f"{problem}; fix it (see the Databricks bundle settings reference)")


# --- catalog: the shape kedro-dab reads -----------------------------------------------------------


def catalog_shape_problem(loaded: Any, where: str) -> str | None:
    """Why one parsed catalog file cannot be a Kedro catalog, or None. Keys starting with `_`
    are YAML anchors and templates, which Kedro ignores, so they may hold anything."""
    if loaded is None:
        return None
    if not isinstance(loaded, Mapping):
        return (
            f"{where}: the catalog is {_kind(loaded)} at the top level, but must be a mapping "
            "of dataset name to its settings (`name: {type: ..., filepath: ...}`)"
        )
    for name, entry in loaded.items():
        if not isinstance(name, str):
            return (
                f"{where}: dataset name {name!r} is {_kind(name)}; dataset names are text: "
                f"quote it ('{name}') or rename the dataset"
            )
        if name.startswith("_"):
            continue
        if not isinstance(entry, Mapping):
            return (
                f"{where}: {name}: a catalog entry must be a mapping with a 'type' (such as "
                f"`{name}: {{type: pandas.CSVDataset, filepath: ...}}`), not {_kind(entry)}"
            )
    return None


def check_catalog_shape(loaded: Any, where: str) -> None:
    """Raise a `ConfigError` when `catalog_shape_problem` finds one."""
    problem = catalog_shape_problem(loaded, where)
    if problem:
        raise ConfigError(problem)


# --- configuration files the loader could not read ------------------------------------------------

_DUPLICATE = re.compile(r"Duplicate keys found in (.+?) and (.+?): (.+)$")
_RESOLVER = re.compile(r"\$\{\s*([A-Za-z_][\w.]*)\s*:")


def describe_load_failure(key: str, files: Sequence[Path], root: Path, message: str) -> str | None:
    """Name the file (and line) of a config key's files behind a loader error that names none
    (a file whose top level is not a mapping, a `${resolver:...}` the loader does not know),
    or say how to mend one the loader names (a key defined in two files of one env).
    None when no file explains `message`."""
    import yaml

    duplicate = _DUPLICATE.match(message)
    if duplicate:
        first, second, names = duplicate.groups()
        return (
            f"{first} and {second} both define {names}: Kedro refuses a {key} key defined in "
            "two files of one env; keep it in one of them (another env's file may override it)"
        )
    for path in files:
        rel = relative(path, root)
        try:
            text = path.read_text(encoding="utf-8")
            loaded = yaml.safe_load(text)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if loaded is not None and not isinstance(loaded, Mapping):
            return (
                f"{rel}: the top level is {_kind(loaded)}, but a {key} file must be a mapping "
                "of settings (`key: value` lines); rewrite it as one"
            )
        for number, line in enumerate(text.splitlines(), start=1):
            for match in _RESOLVER.finditer(line):
                if f"interpolation type {match.group(1)}" in message:
                    return (
                        f"{rel}:{number}: the resolver '{match.group(1)}' in "
                        f"'{match.group(0)}...}}' is not registered for this project; write the "
                        "value itself, refer to another key with ${key}, or register the "
                        "resolver in settings.py (CONFIG_LOADER_ARGS custom_resolvers)"
                    )
    return None
