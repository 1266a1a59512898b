"""Validate Databricks Asset Bundle configuration against the official JSON schema.

The schema is the one ``databricks bundle schema`` prints (draft 2020-12). It is found through
the ``KEDRO_DAB_BUNDLE_SCHEMA`` environment variable, or produced by a ``databricks`` CLI on the
PATH. Tests that need it skip when neither is available.
"""

from __future__ import annotations

import atexit
import functools
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import regex
import yaml
from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.protocols import Validator

SCHEMA_ENV_VAR = "KEDRO_DAB_BUNDLE_SCHEMA"
SKIP_REASON = (
    "bundle schema not available: set KEDRO_DAB_BUNDLE_SCHEMA to .../bundle_schema.json "
    "or put the databricks CLI on PATH"
)

# The CLI accepts any of these as the bundle root file, and only one of them at a time.
ROOT_FILE_NAMES = ("databricks.yml", "databricks.yaml", "bundle.yml", "bundle.yaml")
INCLUDE_SUFFIXES = (".yml", ".yaml", ".json")
_GLOB_CHARACTERS = "*?["
_MESSAGE_LIMIT = 240


class BundleLoadError(ValueError):
    """A bundle whose files the Databricks CLI would refuse to load or merge."""


# --------------------------------------------------------------------------------------------
# Locating and loading the schema


def schema_path() -> Path | None:
    """Return the bundle schema file, or None when it cannot be had.

    ``KEDRO_DAB_BUNDLE_SCHEMA`` wins; a value that names no file raises ``FileNotFoundError``
    so that a misconfigured run fails instead of skipping. Otherwise a ``databricks`` CLI on
    the PATH is asked once per process for ``databricks bundle schema``.
    """
    configured = os.environ.get(SCHEMA_ENV_VAR)
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"{SCHEMA_ENV_VAR}={configured!r} does not name a file")
        return path.resolve()
    cli = shutil.which("databricks")
    if cli is None:
        return None
    return _schema_from_cli(cli)


@functools.cache
def _schema_from_cli(cli: str) -> Path | None:
    try:
        completed = subprocess.run(
            [cli, "bundle", "schema"],
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if completed.returncode != 0:
        return None
    try:
        json.loads(completed.stdout)
    except ValueError:
        return None
    fd, name = tempfile.mkstemp(prefix="kedro-dab-bundle-schema-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(completed.stdout)
    path = Path(name)
    atexit.register(path.unlink, missing_ok=True)
    return path


def require_schema() -> Path:
    """Return the schema path, or skip the calling test when no schema is available."""
    path = schema_path()
    if path is None:
        pytest.skip(SKIP_REASON)
    return path


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern)


def _regex_pattern(
    validator: Validator, pattern: str, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    # Same as jsonschema's own ``pattern`` keyword, with ``regex`` so that \p{L} compiles.
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


BundleValidator = validators.extend(Draft202012Validator, {"pattern": _regex_pattern})


def load_validator() -> Validator:
    """Return the (per process, per schema file) cached validator for the bundle schema.

    It is a draft 2020-12 validator whose ``pattern`` keyword uses the ``regex`` module and
    which does not assert ``format``, as the CLI does not. Skips the calling test when no
    schema is available.
    """
    return _validator_for(require_schema())


@functools.cache
def _validator_for(path: Path) -> Validator:
    schema = json.loads(path.read_text(encoding="utf-8"))
    return BundleValidator(schema, format_checker=None)


# --------------------------------------------------------------------------------------------
# Rendering errors


def bundle_errors(config: Mapping[str, Any]) -> list[str]:
    """Validate one merged bundle configuration and return readable messages.

    Each message reads ``path.to.key: message``. Errors under a ``oneOf`` are followed down to
    the deepest relevant cause, leaving out the ``${...}`` interpolation alternatives. An empty
    list means the configuration is valid.
    """
    validator = load_validator()
    messages: list[str] = []
    for error in validator.iter_errors(config):
        for leaf in _leaves(error):
            message = f"{_render_path(leaf.absolute_path)}: {_message(leaf)}"
            if message not in messages:
                messages.append(message)
    return sorted(messages)


def _is_interpolation_branch(branch: Any) -> bool:
    return (
        isinstance(branch, Mapping)
        and branch.get("type") == "string"
        and "enum" not in branch
        and str(branch.get("pattern", "")).startswith(r"\$\{")
    )


def _leaves(error: ValidationError) -> list[ValidationError]:
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        return [error]
    branches: list[Any] = list(error.validator_value)
    by_branch: dict[int, list[ValidationError]] = {}
    for sub in error.context:
        index = sub.relative_schema_path[0]
        if isinstance(index, int):
            by_branch.setdefault(index, []).append(sub)
    real = {
        index: subs
        for index, subs in by_branch.items()
        if not _is_interpolation_branch(branches[index])
    }
    if not real:
        return [error]
    if len(real) > 1:
        # Prefer the branches whose type fits the value: their errors are about its content.
        fitting = {
            index: subs
            for index, subs in real.items()
            if not any(sub.validator == "type" and not sub.relative_path for sub in subs)
        }
        real = fitting or real
    return [leaf for subs in real.values() for sub in subs for leaf in _leaves(sub)]


def _message(error: ValidationError) -> str:
    message = error.message
    if error.validator == "type" and isinstance(error.instance, str) and "${" in error.instance:
        roots = _interpolation_roots(error)
        if roots:
            message += f" nor a ${{...}} reference to one of: {', '.join(roots)}"
    if len(message) > _MESSAGE_LIMIT:
        message = message[: _MESSAGE_LIMIT - 1] + "…"
    return message


def _interpolation_roots(error: ValidationError) -> list[str]:
    parent = error.parent
    if parent is None or parent.validator not in ("oneOf", "anyOf"):
        return []
    roots: set[str] = set()
    for branch in parent.validator_value:
        if _is_interpolation_branch(branch):
            match = re.match(r"\\\$\\\{\((\w+)", branch["pattern"])
            if match:
                roots.add(match.group(1))
    return sorted(roots)


def _render_path(path: Iterable[str | int]) -> str:
    rendered = ""
    for part in path:
        if isinstance(part, int):
            rendered += f"[{part}]"
        else:
            rendered += f".{part}" if rendered else str(part)
    return rendered or "<root>"


# --------------------------------------------------------------------------------------------
# Reading bundle files


class _Yaml12Loader(yaml.SafeLoader):
    """Safe loader that reads booleans and timestamps as YAML 1.2 (and the CLI) does."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [
        (tag, pattern)
        for tag, pattern in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def read_bundle_file(path: Path) -> dict[str, Any]:
    """Parse one bundle YAML (or JSON) file; an empty file is an empty mapping."""
    loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=_Yaml12Loader)
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise BundleLoadError(f"{path}: top level is {type(loaded).__name__}, not a mapping")
    return loaded


def root_file(root: Path) -> Path:
    """Return the bundle's root configuration file (normally ``databricks.yml``)."""
    found = [root / name for name in ROOT_FILE_NAMES if (root / name).is_file()]
    if not found:
        raise BundleLoadError(f"{root}: no {' / '.join(ROOT_FILE_NAMES)} found")
    if len(found) > 1:
        names = ", ".join(path.name for path in found)
        raise BundleLoadError(f"{root}: multiple bundle root files found: {names}")
    return found[0]


def included_files(root: Path, config: Mapping[str, Any] | None = None) -> list[Path]:
    """Expand the root file's ``include`` globs as the CLI does, in the CLI's order.

    Globs are relative to ``root``; as with Go's ``filepath.Glob``, ``*`` and ``**`` match
    within one path segment. Matches of each entry are sorted, and a file matched by an earlier
    entry is not repeated.
    """
    if config is None:
        config = read_bundle_file(root_file(root))
    entries = config.get("include") or []
    if not isinstance(entries, list) or not all(isinstance(entry, str) for entry in entries):
        raise BundleLoadError(f"{root}: include must be a list of strings")
    seen = {Path(name) for name in ROOT_FILE_NAMES}
    files: list[Path] = []
    for entry in entries:
        if os.path.isabs(entry):
            raise BundleLoadError(f"{entry}: includes must be relative paths")
        matches = sorted(Path(match) for match in glob.glob(entry, root_dir=root))
        if not matches and not any(char in entry for char in _GLOB_CHARACTERS):
            raise BundleLoadError(f"{entry} defined in 'include' section does not match any files")
        for relative in matches:
            if relative in seen or not (root / relative).is_file():
                continue
            seen.add(relative)
            if relative.suffix not in INCLUDE_SUFFIXES:
                raise BundleLoadError(f"{relative}: included files must be YAML or JSON files")
            files.append(root / relative)
    return files


def merge_config(base: Any, override: Any, where: str = "") -> Any:
    """Merge two configuration values with the CLI's rules.

    Mappings merge key by key (``override`` wins), sequences concatenate, scalars are replaced,
    ``None`` yields the other side, and values of different kinds cannot be merged.
    """
    if base is None:
        return override
    if override is None:
        return base
    if isinstance(base, dict):
        if not isinstance(override, dict):
            raise BundleLoadError(f"{where or '<root>'}: cannot merge a mapping with {override!r}")
        merged = dict(base)
        for key, value in override.items():
            child = f"{where}.{key}" if where else str(key)
            merged[key] = merge_config(merged[key], value, child) if key in merged else value
        return merged
    if isinstance(base, list):
        if not isinstance(override, list):
            raise BundleLoadError(f"{where or '<root>'}: cannot merge a sequence with {override!r}")
        return [*base, *override]
    if isinstance(override, (dict, list)):
        raise BundleLoadError(f"{where or '<root>'}: cannot merge {base!r} with {override!r}")
    return override


def load_bundle(root: Path) -> dict[str, Any]:
    """Read ``root/databricks.yml`` and merge the files its ``include`` globs select.

    Returns the merged configuration as the CLI builds it before target overrides. An
    ``include`` inside an included file is ignored, as the CLI does. Raises
    ``BundleLoadError`` for files the CLI would refuse to load or merge.
    """
    config = read_bundle_file(root_file(root))
    merged: dict[str, Any] = config
    for path in included_files(root, config):
        part = read_bundle_file(path)
        part.pop("include", None)
        merged = merge_config(merged, part)
    return merged


def duplicate_resource_keys(root: Path) -> list[str]:
    """Report resource keys defined more than once under top-level ``resources``.

    The CLI requires each resource key to be unique across resource types and files; the
    schema cannot see this, and a plain merge would silently combine the definitions.
    """
    owners: dict[str, list[str]] = {}
    root_path = root_file(root)
    for path in [root_path, *included_files(root)]:
        resources = read_bundle_file(path).get("resources")
        if not isinstance(resources, dict):
            continue
        for kind, entries in resources.items():
            if isinstance(entries, dict):
                for key in entries:
                    where = f"{kind}.{key} in {path.relative_to(root).as_posix()}"
                    owners.setdefault(str(key), []).append(where)
    return [
        f"resources: multiple resources have been defined with the same key: {key} "
        f"({', '.join(places)})"
        for key, places in sorted(owners.items())
        if len(places) > 1
    ]


def bundle_file_errors(root: Path) -> list[str]:
    """Validate a bundle folder: the merged configuration and each included file alone.

    Messages are prefixed with ``<merged>`` or with the included file's path relative to
    ``root``. Load and merge failures and duplicate resource keys are reported as messages
    too. An empty list means the bundle is valid as far as these checks can tell.
    """
    try:
        merged = load_bundle(root)
        includes = included_files(root)
    except BundleLoadError as error:
        return [f"<load>: {error}"]
    messages = [f"<merged>: {message}" for message in bundle_errors(merged)]
    for path in includes:
        name = path.relative_to(root).as_posix()
        messages.extend(f"{name}: {message}" for message in bundle_errors(read_bundle_file(path)))
    messages.extend(duplicate_resource_keys(root))
    return messages
