"""The user's bundle root read once per command: `databricks.yml` and its includes.

`BundleRoot.read` parses `databricks.yml`, resolves its `include` globs as the Databricks CLI
does (Go's `filepath.Glob`: each `*`, `?` and `[...]` stays within one path segment, so `**` is
`*`), and parses every included file the user wrote. The files kedro-dab generates into
`resources/kedro-dab/` are parsed only when a target is built from the bundle (deploy, run,
summary, destroy); a deploy parses the text it just rendered (`with_owned`) instead of reading
back what it wrote. The user's files
merge with the CLI's rules (maps merge deeply, lists concatenate) into `data`, the view that
plan, bundle and validate use (targets, the `kedro_env` variable, sync, artifacts, workspace);
deploy builds its `Target` from `sources` (`kedro_dab.deploy.target.load_target`).
"""

from __future__ import annotations

import copy
import fnmatch
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
import yaml

from kedro_dab.bundle import cli_yaml
from kedro_dab.bundle.layout import DATABRICKS_YML, DEFAULT_ENV, ENV_VARIABLE, OWNED_DIR
from kedro_dab.errors import ConfigError, first_line, read_text
from kedro_dab.shapes import check_bundle_shape

_GLOB_CHARS = "*?["
_ROOT_FILES = {DATABRICKS_YML, "databricks.yaml", "bundle.yml", "bundle.yaml"}


class BundleRoot(msgspec.Struct, frozen=True):
    """`databricks.yml` and its includes, parsed once; `data` is None without a
    `databricks.yml` (plan and bundle then use the defaults)."""

    path: Path
    data: Mapping[str, Any] | None
    """`databricks.yml` merged with the user's include files (not kedro-dab's own)."""
    includes: tuple[str, ...] = ()
    """The include files, relative to `path`, in the CLI's order."""
    _parsed: dict[str, Mapping[str, Any]] = msgspec.field(default_factory=dict)
    _owned: Mapping[str, str] = msgspec.field(default_factory=dict)

    def __repr__(self) -> str:  # the parsed files are `data`'s sources: not shown again
        return f"BundleRoot(path={self.path!r}, data={self.data!r}, includes={self.includes!r})"

    @classmethod
    def read(cls, path: Path) -> BundleRoot:
        """Parse `path/databricks.yml` and the user's include files."""
        path = Path(path)
        top = read_databricks_yml(path)
        if top is None:
            return cls(path, None)
        includes = tuple(include_files(path, top))
        parsed: dict[str, Mapping[str, Any]] = {DATABRICKS_YML: top}
        merged: Any = top
        for rel in includes:
            if not is_owned(rel):
                parsed[rel] = read_bundle_file(path / rel, path)
                merged = merge(merged, {k: v for k, v in parsed[rel].items() if k != "include"})
        return cls(path, merged, includes, parsed)

    def with_owned(self, files: Mapping[str, str]) -> BundleRoot:
        """This root after `files` (name in `resources/kedro-dab/` -> text) were written there:
        the include globs matched again, the generated files parsed from `files`."""
        if self.data is None:
            return self
        owned = {f"{OWNED_DIR}/{name}": text for name, text in files.items()}
        includes = tuple(include_files(self.path, self.top))
        parsed = {rel: data for rel, data in self._parsed.items() if not is_owned(rel)}
        return BundleRoot(self.path, self.data, includes, parsed, owned)

    @property
    def top(self) -> Mapping[str, Any]:
        """`databricks.yml` itself, as parsed."""
        return self._parsed.get(DATABRICKS_YML) or {}

    def sources(self) -> dict[str, Mapping[str, Any]]:
        """Every file of the bundle, parsed: `databricks.yml` first, then the includes in the
        CLI's order, kedro-dab's generated files among them."""
        if self.data is None:
            return {}
        for rel in self.includes:
            if rel not in self._parsed:
                text = self._owned.get(rel)
                self._parsed[rel] = read_bundle_file(self.path / rel, self.path, text)
        return {rel: self._parsed[rel] for rel in (DATABRICKS_YML, *self.includes)}

    @property
    def target_names(self) -> list[str]:
        """The bundle's targets, in file order."""
        return [str(name) for name in ((self.data or {}).get("targets") or {})]

    @property
    def default_env(self) -> str:
        """The Kedro env tasks run with by default: the `kedro_env` variable's default."""
        variable = ((self.data or {}).get("variables") or {}).get(ENV_VARIABLE)
        if isinstance(variable, Mapping) and isinstance(variable.get("default"), str):
            return str(variable["default"])
        return DEFAULT_ENV


def as_bundle_root(source: Path | BundleRoot) -> BundleRoot:
    """`source` itself, or the bundle root read from the folder `source`."""
    return source if isinstance(source, BundleRoot) else BundleRoot.read(Path(source))


def is_owned(rel: str) -> bool:
    """Whether a path (relative to the bundle root) is one of kedro-dab's generated files."""
    return rel.startswith(f"{OWNED_DIR}/")


def check_root_file_name(root: Path) -> None:
    """Refuse a bundle root file under another name the Databricks CLI takes
    (`databricks.yaml`, `bundle.yml`, `bundle.yaml`): kedro-dab reads and writes
    `databricks.yml`, and the CLI refuses a folder holding two root files."""
    others = sorted(name for name in _ROOT_FILES - {DATABRICKS_YML} if (root / name).exists())
    if others:
        raise ConfigError(
            f"{others[0]}: kedro-dab reads and writes the bundle's root file as "
            f"{DATABRICKS_YML}, and the Databricks CLI refuses a folder holding two root files; "
            f"rename {others[0]} to {DATABRICKS_YML} (or remove it)"
        )


def read_databricks_yml(root: Path) -> dict[str, Any] | None:
    """The parsed `databricks.yml`, or None when the project has none (see
    `check_root_file_name` for the other names the CLI takes)."""
    check_root_file_name(root)
    path = root / DATABRICKS_YML
    if not path.exists():
        return None
    try:
        data = cli_yaml.load(read_text(path, root))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{DATABRICKS_YML}: invalid YAML{line}: {first_line(exc)}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{DATABRICKS_YML}: expected a mapping at the top level")
    check_bundle_shape(data)
    return data


def read_bundle_file(path: Path, root: Path, text: str | None = None) -> dict[str, Any]:
    """One included file (YAML, or JSON by its suffix), parsed; `text` when given instead of
    the file's content."""
    rel = path.relative_to(root).as_posix()
    try:
        text = read_text(path, root) if text is None else text
        loaded = json.loads(text) if path.suffix == ".json" else cli_yaml.load(text)
    except (yaml.YAMLError, ValueError) as exc:
        raise ConfigError(f"{rel}: invalid YAML: {first_line(exc)}") from exc
    loaded = loaded or {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{rel}: expected a mapping at the top level")
    check_bundle_shape(loaded, rel)
    return loaded


# --- include globs ---------------------------------------------------------------------------


def go_glob(root: Path, pattern: str) -> list[Path]:
    """Files matching `pattern` under `root` with Go's `filepath.Glob` rules: each `*`, `?` and
    `[...]` matches within one path segment (so `**` is `*`), hidden names included; sorted."""
    parts = [p for p in pattern.replace("\\", "/").split("/") if p not in ("", ".")]
    current = [root]
    for part in parts:
        following: list[Path] = []
        for folder in current:
            if not any(c in part for c in _GLOB_CHARS):
                if (folder / part).exists():
                    following.append(folder / part)
                continue
            if not folder.is_dir():
                continue
            translated = part.replace("[^", "[!")
            following += [
                folder / name
                for name in sorted(os.listdir(folder))
                if fnmatch.fnmatchcase(name, translated)
            ]
        current = following
    return sorted(p for p in current if p.is_file())


def include_files(root: Path, data: Mapping[str, Any]) -> list[str]:
    """The include files, relative to the root, in the CLI's order (first glob first, each
    glob's matches sorted, a file matched twice loaded once)."""
    seen = set(_ROOT_FILES)
    files: list[str] = []
    for entry in data.get("include") or []:
        entry = str(entry)
        if entry.startswith("/"):
            raise ConfigError(
                f"{DATABRICKS_YML}: include '{entry}': includes must be relative paths"
            )
        matches = go_glob(root, entry)
        if not matches and not any(c in entry for c in _GLOB_CHARS):
            raise ConfigError(
                f"{DATABRICKS_YML}: include '{entry}' does not match any files; fix the path"
            )
        found = []
        for match in matches:
            rel = match.relative_to(root).as_posix()
            if rel in seen:
                continue
            seen.add(rel)
            if match.suffix not in (".yml", ".yaml", ".json"):
                raise ConfigError(
                    f"{DATABRICKS_YML}: include '{entry}' matches {rel}, which is not a YAML or "
                    "JSON file; list files to sync under sync.include instead"
                )
            found.append(rel)
        files += sorted(found)
    return files


# --- merging ---------------------------------------------------------------------------------


def merge(base: Any, override: Any, where: str = "") -> Any:
    """The CLI's merge: null yields the other side, maps merge key by key (the override wins),
    lists concatenate, and any other value is replaced by the override."""
    if base is None:
        return copy.deepcopy(override)
    if override is None:
        return copy.deepcopy(base)
    if isinstance(base, Mapping):
        if not isinstance(override, Mapping):
            raise ConfigError(
                f"{DATABRICKS_YML}: {where or 'the bundle'}: cannot merge a map with "
                f"{_kind(override)}"
            )
        out = {key: copy.deepcopy(value) for key, value in base.items()}
        for key, value in override.items():
            out[key] = (
                merge(out[key], value, f"{where}.{key}".lstrip("."))
                if key in out
                else copy.deepcopy(value)
            )
        return out
    if isinstance(base, list):
        if not isinstance(override, list):
            raise ConfigError(
                f"{DATABRICKS_YML}: {where}: cannot merge a sequence with {_kind(override)}"
            )
        return copy.deepcopy(base) + copy.deepcopy(override)
    if isinstance(override, Mapping | list):
        raise ConfigError(
            f"{DATABRICKS_YML}: {where}: cannot merge {_kind(base)} with {_kind(override)}"
        )
    return copy.deepcopy(override)


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a map"
    if isinstance(value, list):
        return "a sequence"
    return "a scalar"
