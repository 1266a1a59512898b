"""Serving endpoints in the plan: what each endpoint feeds, returns, preloads and lets a request
set, checked against the project at `plan`/`bundle` time.

Plain data only (no web framework), so planning stays light; the runtime in
`kedro_dab.serve.runtime` and the HTTP app read these values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from kedro_dab.config import plain
from kedro_dab.config_serving import (
    APP_NAME_PATTERN,
    APP_NAME_RULE,
    ModelServing,
    ServingEndpoint,
    app_name,
)
from kedro_dab.errors import ConfigError, suggest
from kedro_dab.grouping import check_node_names
from kedro_dab.project import ProjectModel
from kedro_dab.task_settings import pipelines_requirements


class EndpointParam(msgspec.Struct, frozen=True):
    """A parameter a request may set: its dotted key, default and JSON type."""

    key: str
    type: str
    default: Any


class Endpoint(msgspec.Struct, frozen=True):
    """One serving endpoint of the plan."""

    name: str
    pipeline: str
    description: str
    inputs: tuple[str, ...]
    """Fed by each request."""
    outputs: tuple[str, ...]
    """Returned to the caller."""
    params: tuple[EndpointParam, ...]
    preload: tuple[str, ...]
    """Loaded once at start-up."""
    catalog_inputs: tuple[str, ...]
    """Other free inputs, loaded from the catalog on each request."""
    app: bool = False
    """Deployed as a Databricks App too."""
    model_serving: ModelServing | None = None
    """Declared for Databricks Model Serving too."""
    requirements: tuple[str, ...] = ()
    """The lines of the pipeline `requirements.txt` files a task running the endpoint's nodes
    installs (sorted, once each): what its app and MLflow model install beside the project's
    dependencies. Not part of the plan JSON nor of `endpoint.yml`."""


def json_type(value: Any) -> str:
    """The JSON Schema type of a parameter default."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return "any"


def free_inputs(project: ProjectModel, pipeline: str) -> list[str]:
    """The pipeline's inputs that none of its nodes produces, parameters included, in the order
    its nodes first read them."""
    nodes = [project.nodes[n] for n in project.pipelines[pipeline]]
    produced = {d for node in nodes for d in node.outputs}
    return list(dict.fromkeys(d for node in nodes for d in node.inputs if d not in produced))


def free_outputs(project: ProjectModel, pipeline: str) -> list[str]:
    """The pipeline's outputs that none of its nodes reads, in node order."""
    nodes = [project.nodes[n] for n in project.pipelines[pipeline]]
    consumed = {d for node in nodes for d in node.inputs}
    return list(dict.fromkeys(d for node in nodes for d in node.outputs if d not in consumed))


def _lookup(parameters: Mapping[str, Any], key: str) -> tuple[bool, Any]:
    node: Any = parameters
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _reads_param(param_inputs: Sequence[str], key: str) -> bool:
    """Whether a pipeline reading these parameter datasets sees parameter `key`."""
    for name in param_inputs:
        if name == "parameters":
            return True
        read = name.removeprefix("params:")
        if key == read or key.startswith(read + ".") or read.startswith(key + "."):
            return True
    return False


def build_endpoints(
    project: ProjectModel, serving: Mapping[str, ServingEndpoint], where: str
) -> tuple[Endpoint, ...]:
    """Check every endpoint against the project and resolve its defaults. Raises
    `ConfigError` naming the endpoint, key and dataset or parameter at fault."""
    out = []
    for name in sorted(serving):
        out.append(_build(project, name, serving[name], f"{where}: serving.{name}"))
    return tuple(out)


def _build(project: ProjectModel, name: str, spec: ServingEndpoint, where: str) -> Endpoint:
    if spec.pipeline not in project.pipelines:
        raise ConfigError(
            f"{where}.pipeline: no registered pipeline '{spec.pipeline}'"
            f"{suggest(spec.pipeline, sorted(project.pipelines), 'registered pipelines')}"
        )
    if not project.pipelines[spec.pipeline]:
        raise ConfigError(f"{where}.pipeline: pipeline '{spec.pipeline}' has no nodes")
    check_node_names(project, [spec.pipeline], f"{where}.pipeline")
    if spec.app and not re.match(APP_NAME_PATTERN, app_name(name)):
        raise ConfigError(
            f"{where}: with 'app: true' the endpoint becomes Databricks app "
            f"'{app_name(name)}', and an app name must be {APP_NAME_RULE}; rename the endpoint"
        )
    free = free_inputs(project, spec.pipeline)
    data_inputs = [d for d in free if not _is_param(d)]
    param_inputs = [d for d in free if _is_param(d)]
    for dataset in spec.inputs:
        if dataset not in data_inputs:
            raise ConfigError(
                f"{where}.inputs: '{dataset}' is not a free input of pipeline "
                f"'{spec.pipeline}'{suggest(dataset, data_inputs, 'its free inputs')}"
            )
    produced = [d for n in project.pipelines[spec.pipeline] for d in project.nodes[n].outputs]
    outputs = spec.outputs
    if outputs is None:
        outputs = tuple(free_outputs(project, spec.pipeline))
    for dataset in outputs:
        if dataset not in produced:
            raise ConfigError(
                f"{where}.outputs: pipeline '{spec.pipeline}' does not produce '{dataset}'"
                f"{suggest(dataset, produced, 'its outputs')}"
            )
    if not outputs:
        raise ConfigError(f"{where}.outputs: the endpoint returns nothing; list its outputs")
    fed = set(spec.inputs)
    others = [d for d in data_inputs if d not in fed]
    if spec.preload is None:
        preload = tuple(d for d in others if d in project.persisted)
    else:
        preload = spec.preload
        for dataset in preload:
            if dataset in fed:
                raise ConfigError(
                    f"{where}.preload: '{dataset}' is also in 'inputs'; a dataset is either fed "
                    "by each request or loaded once"
                )
            if dataset not in others:
                raise ConfigError(
                    f"{where}.preload: '{dataset}' is not a free input of pipeline "
                    f"'{spec.pipeline}'{suggest(dataset, others, 'its other free inputs')}"
                )
    for dataset in others:
        if dataset not in project.persisted:
            raise ConfigError(
                f"{where}: pipeline '{spec.pipeline}' needs '{dataset}', which is neither fed "
                "(inputs), preloaded (preload) nor in the catalog; add it to 'inputs' or "
                "declare it in the catalog"
            )
    params = []
    for key in spec.params:
        found, default = _lookup(project.parameters, key)
        if not found:
            raise ConfigError(
                f"{where}.params: no parameter '{key}' in the project's parameters"
                f"{suggest(key, sorted(_flat_keys(project.parameters)), 'parameters')}"
            )
        if not _reads_param(param_inputs, key):
            raise ConfigError(
                f"{where}.params: pipeline '{spec.pipeline}' never reads parameter '{key}'"
            )
        params.append(EndpointParam(key=key, type=json_type(default), default=default))
    return Endpoint(
        name=name,
        pipeline=spec.pipeline,
        description=spec.description or f"Runs pipeline '{spec.pipeline}'.",
        inputs=spec.inputs,
        outputs=tuple(outputs),
        params=tuple(params),
        preload=tuple(preload),
        catalog_inputs=tuple(d for d in others if d not in preload),
        app=spec.app,
        model_serving=spec.model_serving,
        requirements=pipeline_requirements(project, project.pipelines[spec.pipeline]),
    )


def pipeline_requirements(project: ProjectModel, nodes: Sequence[str]) -> tuple[str, ...]:
    """The pipeline `requirements.txt` lines a job task running `nodes` gets (sorted, once
    each); a `tasks` entry of dab.yml sets task settings, not the code's needs."""
    return tuple(
        sorted({line for _, lines in pipelines_requirements(project, nodes) for line in lines})
    )


def _is_param(dataset: str) -> bool:
    return dataset == "parameters" or dataset.startswith("params:")


def _flat_keys(parameters: Mapping[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key, value in parameters.items():
        out.append(prefix + str(key))
        if isinstance(value, Mapping):
            out.extend(_flat_keys(value, f"{prefix}{key}."))
    return out


def endpoint_to_dict(endpoint: Endpoint) -> dict[str, Any]:
    """An endpoint in the plan's JSON form."""
    return {
        "name": endpoint.name,
        "pipeline": endpoint.pipeline,
        "description": endpoint.description,
        "inputs": list(endpoint.inputs),
        "outputs": list(endpoint.outputs),
        "params": [{"key": p.key, "type": p.type, "default": p.default} for p in endpoint.params],
        "preload": list(endpoint.preload),
        "catalog_inputs": list(endpoint.catalog_inputs),
        **({"app": True} if endpoint.app else {}),
        **({"model_serving": plain(endpoint.model_serving)} if endpoint.model_serving else {}),
    }


def endpoint_from_dict(data: Mapping[str, Any]) -> Endpoint:
    """The endpoint from its plan JSON form (`endpoint_to_dict`; `model_serving` is not read
    back)."""
    return Endpoint(
        name=data["name"],
        pipeline=data["pipeline"],
        description=data["description"],
        inputs=tuple(data["inputs"]),
        outputs=tuple(data["outputs"]),
        params=tuple(EndpointParam(**p) for p in data["params"]),
        preload=tuple(data["preload"]),
        catalog_inputs=tuple(data["catalog_inputs"]),
        app=bool(data.get("app", False)),
    )
