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
(nodes must not change it); request inputs and parameters are each request's own. Request
parameters are applied as Kedro applies runtime parameters (`kedro_dab.serve.params`).

The endpoint names datasets as Kedro links nodes by them, transcoding stripped (`rows` for
`rows@pandas`): a request input feeds every transcoded form of it the nodes read, and data a
node saves under one form (`df@pandas`) is what a node reading another (`df@spark`) gets, the
same in-memory object, since serving writes nothing to the catalog.

`kedro_dab.serve.startup.load_service` builds the `Service`.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kedro_dab.serve.endpoints import Endpoint
from kedro_dab.serve.errors import NodeFailed, RequestError
from kedro_dab.serve.params import ParameterResolver, PipelineParameters, runtime_params
from kedro_dab.serve.payload import check_params

if TYPE_CHECKING:
    from kedro.io.core import TCopyMode


NODE_ERRORS = (Exception, SystemExit, KeyboardInterrupt)
"""What a node may raise that fails its request, not the server (`sys.exit()` in a node too;
signals reach the main thread only, so a KeyboardInterrupt here is the node's own)."""


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


def family(dataset: str) -> str:
    """The dataset Kedro links nodes by: `df@pandas` is `df` (parameters have no forms)."""
    if "@" not in dataset or dataset.startswith("params:"):
        return dataset
    from kedro_dab.compat import strip_transcoding

    return strip_transcoding(dataset)


@dataclass
class CompiledEndpoint:
    """An endpoint as compiled at start-up: what every request to it needs."""

    endpoint: Endpoint
    pipeline: Any
    nodes: Sequence[Any]
    shared: dict[str, Any]
    """Name a node reads a dataset by -> the dataset object every request shares (preloaded,
    catalog inputs)."""
    preloaded: dict[str, Any]
    """Preloaded dataset (as the endpoint names it) -> the data loaded at start-up."""
    parameters: PipelineParameters
    """The parameter datasets the pipeline reads, and how Kedro types them."""
    defaults: dict[str, Any]
    """Parameter dataset -> its value without request parameters (copied as each node loads it)."""
    produced: tuple[str, ...]
    """What the pipeline's nodes save, transcoding stripped."""
    forms: dict[str, tuple[str, ...]]
    """Dataset (transcoding stripped) -> the names the nodes read or save it by."""
    preloaded_forms: dict[str, Any]
    """Name a node reads a preloaded dataset by -> the data loaded at start-up."""
    hooked: bool
    """Whether the project registers a pipeline, node or dataset hook."""


class Service:
    """A project's endpoints, ready to answer requests. Build it with `load_service`."""

    def __init__(
        self,
        project_path: Path,
        env: str,
        endpoints: Mapping[str, CompiledEndpoint],
        parameters: ParameterResolver,
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

    def missing(self) -> dict[str, list[str]]:
        """Endpoint name -> its catalog inputs (loaded on each request) that have no data now,
        so a request to it would fail; endpoints missing nothing are left out. A dataset whose
        existence cannot be told (its type does not say, or asking fails) is not listed."""
        missing = {}
        for name, compiled in self._compiled.items():
            absent = [
                dataset
                for dataset in compiled.endpoint.catalog_inputs
                if any(
                    has_data(compiled.shared[form]) is False
                    for form in compiled.forms.get(dataset, (dataset,))
                    if form in compiled.shared
                )
            ]
            if absent:
                missing[name] = absent
        return missing

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
        params = (
            compiled.parameters.values(self._parameters.resolve(given))
            if given
            else compiled.defaults
        )
        values = dict(params)  # shared with other requests: copied as each node loads them
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
        forms = compiled.forms
        for dataset, value in values.items():  # copied on every load, as Kedro's are
            fed = memory(value, copy_mode=copy_mode_of(value))
            for form in forms.get(dataset, (dataset,)):
                datasets[form] = fed
        for dataset in compiled.produced:
            made = request_dataset()
            for form in forms[dataset]:
                datasets[form] = made
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
            "runtime_params": runtime_params({}, given, escaped=False),
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
            except NODE_ERRORS as exc:
                hook.on_pipeline_error(
                    error=exc, run_params=run_params, pipeline=compiled.pipeline, catalog=catalog
                )
                raise NodeFailed(endpoint.name, node.name, exc) from exc
        result = {dataset: datasets[forms[dataset][0]].load() for dataset in endpoint.outputs}
        hook.after_pipeline_run(
            run_params=run_params, run_result=result, pipeline=compiled.pipeline, catalog=catalog
        )
        return result


def has_data(dataset: Any) -> bool | None:
    """Whether a catalog dataset has data to load; None when that cannot be told (its type has
    no `exists` of its own, where Kedro would only warn and answer False, or asking fails)."""
    from kedro.io.core import AbstractDataset

    if type(dataset)._exists is AbstractDataset._exists:
        return None
    try:
        return bool(dataset.exists())
    except Exception:  # credentials or a service this machine cannot reach
        return None


def _run_lean(compiled: CompiledEndpoint, values: dict[str, Any]) -> dict[str, Any]:
    """The nodes in order on plain values, when the project registers no pipeline, node or
    dataset hook (nothing could observe a catalog): a request's inputs and parameters are
    copied by Kedro's `MemoryDataset` rule on each load, and data passed between nodes on
    save and on load, as in `kedro run`."""
    from kedro.io.memory_dataset import _copy_with_mode

    for node in compiled.nodes:
        inputs = {}
        for name in node.inputs:
            key = family(name)
            if key in values:
                value = values[key]
                inputs[name] = _copy_with_mode(value, copy_mode_of(value))
            elif name in compiled.preloaded_forms:
                inputs[name] = compiled.preloaded_forms[name]
            else:
                inputs[name] = compiled.shared[name].load()
        try:
            outputs = node.run(inputs)
        except NODE_ERRORS as exc:
            raise NodeFailed(compiled.endpoint.name, node.name, exc) from exc
        for name, value in outputs.items():
            values[family(name)] = _copy_with_mode(value, copy_mode_of(value))
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
