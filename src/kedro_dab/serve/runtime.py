"""The serving runtime: each request to a loaded endpoint run in isolation.

Each request gets a catalog of its own: the shared preloaded and catalog datasets, plus fresh
in-memory datasets for the request's inputs, its parameters and everything the pipeline
produces. Concurrent requests never share data, and serving never writes to the project's
catalog.

Per request, the project's hooks run as in `kedro run`: `before_pipeline_run`, then for each
node `before_dataset_loaded`/`after_dataset_loaded`, `before_node_run`, `after_node_run` (or
`on_node_error`), `before_dataset_saved`/`after_dataset_saved`, then `after_pipeline_run` (or
`on_pipeline_error`), with nodes run by Kedro's own `Task`. When the project registers none of
these hooks, nothing can observe a catalog, so the nodes run on plain values instead (same
data, same copies, a fraction of the cost). Preloaded data is shared by every request as is
(nodes must not change it); request inputs and parameters are each request's own.

`kedro_dab.serve.startup.load_service` builds the `Service`.
"""

from __future__ import annotations

import copy
import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kedro_dab.serve.endpoints import Endpoint
from kedro_dab.serve.errors import NodeFailed, RequestError
from kedro_dab.serve.payload import check_params

if TYPE_CHECKING:
    from kedro.io.core import TCopyMode


def copy_mode_of(data: Any) -> TCopyMode:
    """Kedro's copy rule for in-memory data (DataFrames and arrays copied, Spark and ibis tables
    assigned, anything else deep-copied), told from the type without import attempts."""
    kind = type(data)
    module = kind.__module__.split(".", 1)[0]
    if module in ("pandas", "numpy") and kind.__name__ in ("DataFrame", "ndarray"):
        return "copy"
    if kind.__name__ == "DataFrame" or (module == "ibis" and kind.__name__ == "Table"):
        return "assign"
    return "deepcopy"


def _set_key(tree: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value


def _get_key(tree: Mapping[str, Any], dotted: str) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        node = node[part]
    return node


@dataclass
class CompiledEndpoint:
    """An endpoint as compiled at start-up: what every request to it needs."""

    endpoint: Endpoint
    pipeline: Any
    nodes: Sequence[Any]
    shared: dict[str, Any]
    """Dataset name -> dataset object shared by every request (preloaded, catalog inputs)."""
    preloaded: dict[str, Any]
    """Dataset name -> the data loaded at start-up."""
    param_datasets: dict[str, tuple[str, ...]]
    """Parameter dataset the pipeline reads -> request parameter keys that change it."""
    produced: tuple[str, ...]
    hooked: bool
    """Whether the project registers a pipeline, node or dataset hook."""

    @functools.cached_property
    def produced_set(self) -> frozenset[str]:
        return frozenset(self.produced)


class Service:
    """A project's endpoints, ready to answer requests. Build it with `load_service`."""

    def __init__(
        self,
        project_path: Path,
        env: str,
        endpoints: Mapping[str, CompiledEndpoint],
        parameters: Mapping[str, Any],
        hook_manager: Any,
        session: Any,
    ) -> None:
        self.project_path = project_path
        self.env = env
        self._compiled = dict(endpoints)
        self._parameters = parameters
        self._hooks = hook_manager
        self._session = session
        from kedro import __version__
        from kedro.io import DataCatalog, MemoryDataset
        from kedro.runner.task import Task

        self._kedro_version = __version__
        self._catalog_class = DataCatalog
        self._memory = MemoryDataset
        self._task = Task
        self._request_dataset = request_dataset_class()

    @property
    def endpoints(self) -> dict[str, Endpoint]:
        """The endpoints this service answers, by name."""
        return {name: c.endpoint for name, c in self._compiled.items()}

    def preloaded(self, name: str) -> dict[str, Any]:
        """The data endpoint `name` loaded at start-up, by dataset name (shared, not copied)."""
        return dict(self._compiled[name].preloaded)

    def close(self) -> None:
        """Close the Kedro session opened at start-up."""
        self._session.close()

    def invoke(
        self, name: str, inputs: Mapping[str, Any], params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Run endpoint `name` on `inputs` (dataset name -> data) with `params` (dotted key ->
        value); return its outputs by dataset name. Raises `RequestError` for a missing or
        unknown input or parameter, `NodeFailed` when a node raises."""
        compiled = self._compiled[name]
        endpoint = compiled.endpoint
        given = check_params(endpoint, dict(params) if isinstance(params, Mapping) else params)
        for dataset in endpoint.inputs:
            if dataset not in inputs:
                raise RequestError(f"missing input '{dataset}' for endpoint '{endpoint.name}'")
        for dataset in inputs:
            if dataset not in endpoint.inputs:
                allowed = ", ".join(endpoint.inputs) or "none"
                raise RequestError(
                    f"unknown input '{dataset}' for endpoint '{endpoint.name}'; it takes: {allowed}"
                )
        values = {
            dataset: self._param_value(dataset, keys, given)
            for dataset, keys in compiled.param_datasets.items()
        }
        for dataset in endpoint.inputs:
            values[dataset] = inputs[dataset]
        if compiled.hooked:
            return self._run_with_hooks(compiled, values, given)
        return _run_lean(compiled, values)

    def _run_with_hooks(
        self, compiled: CompiledEndpoint, values: dict[str, Any], given: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Kedro's own node execution (`kedro.runner.task.Task`) on a catalog of the request's
        own, with every pipeline, node and dataset hook the project registers."""
        endpoint = compiled.endpoint
        memory = self._memory
        request_dataset = self._request_dataset
        datasets = dict(compiled.shared)
        for dataset, value in values.items():
            datasets[dataset] = memory(value, copy_mode="assign")
        for dataset in compiled.produced:
            datasets[dataset] = request_dataset()
        catalog = self._catalog_class(datasets=datasets)
        run_params: dict[str, Any] = {
            "run_id": uuid.uuid4().hex,
            "project_path": str(self.project_path),
            "env": self.env,
            "kedro_version": self._kedro_version,
            "tags": None,
            "from_nodes": None,
            "to_nodes": None,
            "node_names": None,
            "from_inputs": None,
            "to_outputs": None,
            "load_versions": None,
            "runtime_params": dict(given),
            "pipeline_names": [endpoint.pipeline],
            "namespaces": None,
            "runner": "kedro_dab.serve",
            "only_missing_outputs": False,
        }
        hook = self._hooks.hook
        hook.before_pipeline_run(run_params=run_params, pipeline=compiled.pipeline, catalog=catalog)
        for node in compiled.nodes:
            try:
                self._task(node, catalog, False, self._hooks, run_params["run_id"]).execute()
            except Exception as exc:
                hook.on_pipeline_error(
                    error=exc, run_params=run_params, pipeline=compiled.pipeline, catalog=catalog
                )
                raise NodeFailed(endpoint.name, node.name, exc) from exc
        result = {dataset: datasets[dataset].load() for dataset in endpoint.outputs}
        hook.after_pipeline_run(
            run_params=run_params, run_result=result, pipeline=compiled.pipeline, catalog=catalog
        )
        return result

    def _param_value(self, dataset: str, keys: Sequence[str], given: Mapping[str, Any]) -> Any:
        """A fresh copy of a parameter dataset's value, with the request's values set."""
        root = "" if dataset == "parameters" else dataset.removeprefix("params:")
        value: Any = copy.deepcopy(
            self._parameters if not root else _get_key(self._parameters, root)
        )
        for key in keys:
            if key not in given:
                continue
            if key == root:
                value = copy.deepcopy(given[key])
            elif root and root.startswith(key + "."):
                value = copy.deepcopy(_get_key(given[key], root[len(key) + 1 :]))
            else:
                _set_key(value, key[len(root) + 1 :] if root else key, copy.deepcopy(given[key]))
        return value


def _run_lean(compiled: CompiledEndpoint, values: dict[str, Any]) -> dict[str, Any]:
    """The nodes in order on plain values, when the project registers no pipeline, node or
    dataset hook (nothing could observe a catalog): data passed between nodes is copied by
    Kedro's `MemoryDataset` rule on save and on load, as in `kedro run`."""
    from kedro.io.memory_dataset import _copy_with_mode

    produced = compiled.produced_set
    for node in compiled.nodes:
        inputs = {}
        for name in node.inputs:
            if name in values:
                value = values[name]
                inputs[name] = (
                    _copy_with_mode(value, copy_mode_of(value)) if name in produced else value
                )
            elif name in compiled.preloaded:
                inputs[name] = compiled.preloaded[name]
            else:
                inputs[name] = compiled.shared[name].load()
        try:
            outputs = node.run(inputs)
        except Exception as exc:
            raise NodeFailed(compiled.endpoint.name, node.name, exc) from exc
        for name, value in outputs.items():
            values[name] = _copy_with_mode(value, copy_mode_of(value))
    return {dataset: values[dataset] for dataset in compiled.endpoint.outputs}


@functools.cache
def request_dataset_class() -> type:
    """Kedro's `MemoryDataset`, choosing its copy mode from the first data saved."""
    from kedro.io import MemoryDataset

    class RequestDataset(MemoryDataset):
        """An in-memory dataset of one request, copying data by Kedro's rule."""

        def save(self, data: Any) -> None:
            if self._copy_mode is None:
                self._copy_mode = copy_mode_of(data)
            MemoryDataset.save.__wrapped__(self, data)  # type: ignore[attr-defined]

    return RequestDataset
