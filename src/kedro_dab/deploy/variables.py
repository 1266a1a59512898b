"""Each variable's value for one target, by the Databricks CLI's precedence: `--var`,
`BUNDLE_VAR_<name>`, `.databricks/bundle/<target>/variable-overrides.json`, the target's
default, the variable's default. A value may still hold `${...}` references; they resolve with
everything else (`kedro_dab.deploy.references.resolve`).
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kedro_dab.bundle.layout import DATABRICKS_YML
from kedro_dab.deploy.refusals import check_keys, unsupported
from kedro_dab.errors import ConfigError, first_line

_FULL_OVERRIDES = [
    {"default", "type", "description"},
    {"default", "type"},
    {"default", "description"},
    {"lookup", "description"},
    {"default"},
    {"lookup"},
]
"""The shapes of a target's variable entry that are a definition; any other value (a scalar,
a list, another map) is the variable's new default, as the CLI rewrites it."""
_VARIABLE_KEYS = {"default", "description", "type", "lookup", "value"}


def variable_values(
    root: Path,
    data: Mapping[str, Any],
    target: Mapping[str, Any],
    name: str,
    overrides: Mapping[str, str],
    environ: Mapping[str, str] | None,
) -> dict[str, Any]:
    """Each variable's value, by the CLI's precedence: `--var`, `BUNDLE_VAR_<name>`,
    `.databricks/bundle/<target>/variable-overrides.json`, the target's default, the default."""
    environ = os.environ if environ is None else environ
    declared = data.get("variables") or {}
    if not isinstance(declared, Mapping):
        raise ConfigError(f"{DATABRICKS_YML}: variables must be a mapping of variable names")
    specs: dict[str, dict[str, Any]] = {}
    for key, spec in declared.items():
        if spec is None:
            spec = {}
        if not isinstance(spec, Mapping):
            raise ConfigError(
                f"{DATABRICKS_YML}: variables.{key} must be a mapping (write `default: {spec}`)"
            )
        check_keys(spec, _VARIABLE_KEYS, f"variables.{key}.")
        if spec.get("type") not in (None, "complex"):
            raise ConfigError(
                f"{DATABRICKS_YML}: variables.{key}.type '{spec['type']}' is not a variable "
                "type (the only one is complex)"
            )
        specs[str(key)] = dict(spec)
    for key, value in (target.get("variables") or {}).items():
        if key not in specs:
            raise ConfigError(
                f"{DATABRICKS_YML}: targets.{name}.variables.{key}: variable {key} is not "
                "defined but is assigned a value; declare it under variables"
            )
        if not (isinstance(value, Mapping) and set(value) in _FULL_OVERRIDES):
            value = {"default": value}
        if "default" in value:
            specs[key]["default"] = value["default"]
            specs[key].pop("lookup", None)
        if "lookup" in value:
            specs[key]["lookup"] = value["lookup"]
            specs[key].pop("default", None)
    for key in overrides:
        if key not in specs:
            raise ConfigError(f"--var {key}: not declared under variables in {DATABRICKS_YML}")
    file_values = _override_file(root, name)
    values: dict[str, Any] = {}
    for key, spec in specs.items():
        complex_type = spec.get("type") == "complex"
        env_name = f"BUNDLE_VAR_{key}"
        if spec.get("value") is not None:
            if key in overrides:
                raise ConfigError(
                    f"--var {key}: variable {key} has already been assigned a value in "
                    f"{DATABRICKS_YML}"
                )
            values[key] = copy.deepcopy(spec["value"])
        elif key in overrides:
            if complex_type:
                raise unsupported(f"--var {key}: setting a complex variable on the command line")
            values[key] = overrides[key]
        elif env_name in environ:
            if complex_type:
                raise ConfigError(
                    f"{env_name}: setting via environment variables is not supported for "
                    f"complex variable {key}; set it in {DATABRICKS_YML}"
                )
            values[key] = environ[env_name]
        elif spec.get("lookup") is not None:
            raise unsupported(f"{DATABRICKS_YML}: variables.{key}.lookup")
        elif file_values.get(key) is not None:
            if complex_type != isinstance(file_values[key], Mapping | list):
                raise ConfigError(
                    f".databricks/bundle/{name}/variable-overrides.json: the value of {key} "
                    f"does not match its type ({'complex' if complex_type else 'not complex'})"
                )
            values[key] = file_values[key]
        elif spec.get("default") is not None:
            values[key] = copy.deepcopy(spec["default"])
        else:
            raise ConfigError(
                f"{DATABRICKS_YML}: no value assigned to required variable {key} for target "
                f"'{name}'; give it a default, or pass --var {key}=... or {env_name}"
            )
    return values


def _override_file(root: Path, target: str) -> dict[str, Any]:
    path = root / ".databricks" / "bundle" / target / "variable-overrides.json"
    if not path.exists():
        return {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ConfigError(f"{path.relative_to(root)}: invalid JSON: {first_line(exc)}") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path.relative_to(root)}: must be a JSON object of variable values")
    return loaded
