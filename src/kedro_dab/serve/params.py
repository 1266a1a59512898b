"""A request's parameters applied as Kedro applies runtime parameters (`kedro run --params`).

The request's values (dotted keys, objects) become one nested runtime-params mapping, which
the project's own config loader merges into the configured parameters (a deep merge) and
resolves, so `${...}` interpolations and `${runtime_params:...}` see the request's values
(base parameters files alone and without any interpolation get the same deep merge done in
Python). The
result is validated against the endpoint pipeline's type hints by Kedro's own
`ParameterValidator` (a node input typed as a dataclass or pydantic model gets that model,
as in `kedro run --pipelines <pipeline>`), and each parameter dataset the pipeline reads
(`parameters`, `params:<key>`) is taken from it as Kedro's context does.

Strings a request sends are never interpolated: `${` in them is escaped, so a caller cannot
make the config loader run a resolver. The config loader's resolver registration is
process-wide, so resolving is serialised by a lock.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from kedro_dab.serve.errors import RequestError

_RESOLVE_LOCK = threading.Lock()
_INTERPOLATION = re.compile(r"(\\*)\$\{")


def escape(value: Any) -> Any:
    """`value` with every string's `${` escaped for OmegaConf (taken literally, not resolved)."""
    if isinstance(value, str):
        return _INTERPOLATION.sub(lambda m: m.group(1) * 2 + "\\${", value)
    if isinstance(value, Mapping):
        return {k: escape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [escape(v) for v in value]
    return value


def _merge(tree: dict[str, Any], key: str, value: Any) -> None:
    """Set `value` at `key` in `tree`, deep-merging objects into objects already there."""
    node = tree
    for part in key.split("."):
        if not isinstance(node.get(part), dict):
            node[part] = {}
        parent, node = node, node[part]
    if isinstance(value, Mapping):
        for name, item in value.items():
            _merge(node, str(name), item)
    else:
        parent[part] = value


def runtime_params(
    base: Mapping[str, Any], given: Mapping[str, Any], *, escaped: bool = True
) -> dict[str, Any]:
    """The runtime parameters of a request: `base` (the session's) with the request's values
    (dotted key -> value, in order) merged in, as `--params a.b=1` nests them; strings
    `escape`d unless `escaped` is false."""
    tree: dict[str, Any] = copy.deepcopy(dict(base))
    for key, value in given.items():
        _merge(tree, key, escape(value) if escaped else value)
    return tree


def deep_merge(tree: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """`update` merged into `tree` as OmegaConf merges plain values (objects into objects, any
    other value replacing); `tree` is not changed, and shares what `update` leaves alone."""
    merged = dict(tree)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _interpolates(configs: Sequence[Mapping[Any, Any]]) -> bool:
    """Whether any of the raw (unresolved) parameter configs holds a `${...}`."""
    from omegaconf import OmegaConf

    def found(value: Any) -> bool:
        if isinstance(value, str):
            return "${" in value
        if isinstance(value, dict):
            return any(found(k) or found(v) for k, v in value.items())
        if isinstance(value, list):
            return any(found(v) for v in value)
        return False

    return any(
        found(OmegaConf.to_container(config, resolve=False))
        for files in configs
        for config in files.values()
    )


def _missing_marker(value: Any) -> bool:
    """Whether `value` holds OmegaConf's missing-value marker `???`, which its merge skips."""
    if isinstance(value, str):
        return value == "???"
    if isinstance(value, Mapping):
        return any(_missing_marker(v) for v in value.values())
    if isinstance(value, list):
        return any(_missing_marker(v) for v in value)
    return False


class ParameterResolver:
    """The project's parameters resolved by its config loader with a request's values.

    When the base env's parameters files are the only ones and hold no interpolation,
    resolving again would give the configured values with the request's merged in, so that
    merge is done in Python (the same result at a fraction of the cost)."""

    def __init__(self, config_loader: Any) -> None:
        self._loader = config_loader
        self._base = dict(getattr(config_loader, "runtime_params", None) or {})
        cached = hasattr(config_loader, "_read_raw_config") and hasattr(
            config_loader, "_resolve_from_raw_config"
        )
        self._raw = config_loader._read_raw_config("parameters") if cached else None
        # Kedro merges runtime parameters into each env's layer before merging the layers
        # (destructively by default), so the Python merge stands in only for a base layer alone.
        self._plain = (
            self._raw is not None and not self._raw[1] and not _interpolates(self._raw[:1])
        )
        self.configured = self._resolve({})
        """The parameters without request values."""

    def resolve(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters as a `kedro run --params` with the request's values would see them,
        before type validation (not to be changed: they share values with `configured`)."""
        if not given:
            return self.configured
        if self._plain and not _missing_marker(given):
            return deep_merge(self.configured, runtime_params({}, given, escaped=False))
        return self._resolve(given)

    def _resolve(self, given: Mapping[str, Any]) -> dict[str, Any]:
        from kedro.config import MissingConfigException

        loader = self._loader
        runtime = runtime_params(self._base, given)
        with _RESOLVE_LOCK:
            before = loader.runtime_params
            loader.runtime_params = runtime
            if hasattr(loader, "_runtime_params_oc"):
                loader._runtime_params_oc = None
            try:
                if self._raw is None:
                    return dict(loader["parameters"])
                base, env, *where = self._raw  # merging changes the first config: copy
                loader._register_runtime_params_resolver()
                fresh = (copy.deepcopy(base), copy.deepcopy(env), *where)
                return dict(loader._resolve_from_raw_config("parameters", *fresh))
            except MissingConfigException:  # no parameters files: Kedro's context does this
                return runtime
            finally:
                loader.runtime_params = before
                if hasattr(loader, "_runtime_params_oc"):
                    loader._runtime_params_oc = None


class PipelineParameters:
    """The parameter datasets one pipeline reads, typed by its nodes' hints as Kedro does."""

    def __init__(self, name: str, pipeline: Any, datasets: Sequence[str]) -> None:
        self.datasets = tuple(datasets)
        self._validator: Any = None
        self._requirements: dict[str, Any] = {}
        try:
            from kedro.validation.parameter_validator import ParameterValidator
        except ImportError:  # Kedro before typed parameters: values as the loader gives them
            return
        self._validator = ParameterValidator({name: pipeline})
        self._requirements = self._validator.type_extractor.extract_types_from_pipelines()

    def values(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """Parameter dataset name -> value, from resolved `parameters` (not copied). Raises
        `RequestError` when a typed parameter rejects its value."""
        if self._requirements:
            from kedro.validation.exceptions import ParameterValidationError

            try:
                parameters = self._validator._apply_validation(parameters, self._requirements)
            except ParameterValidationError as exc:
                message = "; ".join(
                    line.strip().removeprefix("- ") for line in str(exc).splitlines()[1:]
                )
                raise RequestError((message or str(exc))[:500]) from None
        values = {}
        for name in self.datasets:
            try:
                values[name] = _dataset_value(parameters, name)
            except (KeyError, TypeError):
                raise RequestError(
                    f"the parameters have no '{name.removeprefix('params:')}', which the "
                    "pipeline reads"
                ) from None
        return values


def _dataset_value(parameters: dict[str, Any], dataset: str) -> Any:
    """A parameter dataset's value as Kedro's context registers it: `parameters` is all of
    them, `params:a.b` walks mappings and typed models' fields."""
    if dataset == "parameters":
        return parameters
    node: Any = parameters
    for part in dataset.removeprefix("params:").split("."):
        fields = node if isinstance(node, dict) else _typed_fields(node)
        node = fields[part]
    return node


def _typed_fields(value: Any) -> Any:
    try:
        from kedro.validation.utils import get_typed_fields
    except ImportError:  # Kedro before typed parameters
        return value
    return get_typed_fields(value)
