"""The serving runtime: a project's endpoints loaded once, each request run in isolation.

At start-up, one Kedro session loads the project's context and catalog (the project's
`after_context_created` and `after_catalog_created` hooks run once), and every endpoint's
`preload` datasets are loaded once. Each request then gets a catalog of its own: the shared
preloaded and catalog datasets, plus fresh in-memory datasets for the request's inputs, its
parameters and everything the pipeline produces. Concurrent requests never share data, and
serving never writes to the project's catalog.

Per request, the project's hooks run as in `kedro run`: `before_pipeline_run`, then for each
node `before_dataset_loaded`/`after_dataset_loaded`, `before_node_run`, `after_node_run` (or
`on_node_error`), `before_dataset_saved`/`after_dataset_saved`, then `after_pipeline_run` (or
`on_pipeline_error`), with nodes run by Kedro's own `Task`. When the project registers none of
these hooks, nothing can observe a catalog, so the nodes run on plain values instead (same
data, same copies, a fraction of the cost). Preloaded data is shared by every request as is
(nodes must not change it); request inputs and parameters are each request's own. Kedro's
per-dataset and per-node INFO log lines are turned down to WARNING in a serving process.
"""

from __future__ import annotations

import copy
import functools
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kedro_dab.errors import DabError, first_line
from kedro_dab.serve.endpoints import Endpoint

logger = logging.getLogger("kedro_dab.serve")

QUIET_LOGGERS = ("kedro.io.data_catalog", "kedro.pipeline.node", "kedro.io.core")


class ServeError(DabError):
    """Serving cannot start: an unknown endpoint, a missing extra, an unsupported Kedro."""


class RequestError(Exception):
    """A request that cannot be run as sent (HTTP 422): the message names the input or
    parameter at fault."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NodeFailed(Exception):
    """A node raised while answering a request (HTTP 500)."""

    def __init__(self, endpoint: str, node: str, error: BaseException) -> None:
        super().__init__(f"node '{node}' of endpoint '{endpoint}' failed: {first_line(error)}")
        self.endpoint = endpoint
        self.node = node
        self.error = error


def copy_mode_of(data: Any) -> str:
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


_TYPE_CHECKS: dict[str, Any] = {
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "any": lambda v: True,
}
_TYPE_WORDS = {
    "boolean": "a boolean",
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "array": "an array",
    "object": "an object",
}


def check_params(endpoint: Endpoint, params: Any) -> dict[str, Any]:
    """The request's parameters, checked against the endpoint's (name and JSON type)."""
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise RequestError("'params' must be an object of parameter values")
    known = {p.key: p for p in endpoint.params}
    for key, value in params.items():
        param = known.get(key)
        if param is None:
            allowed = ", ".join(known) or "none"
            raise RequestError(
                f"unknown parameter '{key}' for endpoint '{endpoint.name}'; it accepts: {allowed}"
            )
        if not _TYPE_CHECKS[param.type](value):
            raise RequestError(
                f"parameter '{key}' must be {_TYPE_WORDS[param.type]}, "
                f"got {type(value).__name__} {value!r}"[:300]
            )
    return params


@dataclass
class _Compiled:
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
        endpoints: Mapping[str, _Compiled],
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
        given = check_params(endpoint, dict(params or {}))
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
        self, compiled: _Compiled, values: dict[str, Any], given: Mapping[str, Any]
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
        run_params = {
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
        value = copy.deepcopy(self._parameters if not root else _get_key(self._parameters, root))
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


def _run_lean(compiled: _Compiled, values: dict[str, Any]) -> dict[str, Any]:
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
                self._copy_mode = copy_mode_of(data)  # type: ignore[assignment]
            MemoryDataset.save.__wrapped__(self, data)  # type: ignore[attr-defined]

    return RequestDataset


def require_kedro_1() -> None:
    """Serving needs Kedro 1.x: refuse older Kedro in one line."""
    import kedro

    if not str(kedro.__version__).startswith("1."):
        raise ServeError(
            f"kedro dab serve needs Kedro 1.x (this project runs Kedro {kedro.__version__}); "
            "upgrade Kedro to serve endpoints"
        )


def load_service(
    project_path: Path | str,
    env: str,
    endpoints: Sequence[Endpoint],
    names: Sequence[str] = (),
    preloaded: Mapping[str, Mapping[str, Any]] | None = None,
    prepare: Callable[[Any], None] | None = None,
) -> Service:
    """Start a Kedro session for `env`, build its catalog once and preload every endpoint's
    `preload` datasets. `names` picks endpoints (default: all). `preloaded` (endpoint name ->
    dataset name -> data) gives preload data already in hand (an exported model's), which
    is then not loaded from the catalog; `prepare(catalog)` runs before the preloads (a
    Databricks App fetches them from volumes there)."""
    require_kedro_1()
    by_name = {e.name: e for e in endpoints}
    if not by_name:
        raise ServeError(
            "dab.yml declares no serving endpoints; add one under 'serving:' (pipeline, inputs)"
        )
    for name in names:
        if name not in by_name:
            raise ServeError(
                f"no serving endpoint '{name}' in dab.yml; endpoints: {', '.join(sorted(by_name))}"
            )
    chosen = [by_name[n] for n in (names or sorted(by_name))]
    from kedro.framework.project import pipelines
    from kedro.framework.session import KedroSession

    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    root = Path(project_path).resolve()
    session = KedroSession.create(root, env=env)
    started = time.perf_counter()
    try:
        context = session.load_context()
        catalog = context.catalog
        if prepare is not None:
            prepare(catalog)
        parameters = context.params
        hook_manager = session._hook_manager
        compiled = {}
        for endpoint in chosen:
            compiled[endpoint.name] = _compile(
                endpoint,
                pipelines[endpoint.pipeline],
                catalog,
                hooked(hook_manager),
                (preloaded or {}).get(endpoint.name, {}),
            )
    except Exception:
        session.close()
        raise
    logger.info(
        "Loaded %d endpoint(s) in %.2f s: %s",
        len(compiled),
        time.perf_counter() - started,
        ", ".join(compiled),
    )
    return Service(root, env, compiled, parameters, hook_manager, session)


REQUEST_HOOKS = (
    "before_pipeline_run",
    "after_pipeline_run",
    "on_pipeline_error",
    "before_node_run",
    "after_node_run",
    "on_node_error",
    "before_dataset_loaded",
    "after_dataset_loaded",
    "before_dataset_saved",
    "after_dataset_saved",
)
"""The hooks that run on each request (the start-up ones run once)."""


def hooked(hook_manager: Any) -> bool:
    """Whether any of the per-request hooks has an implementation."""
    return any(getattr(hook_manager.hook, name).get_hookimpls() for name in REQUEST_HOOKS)


def _compile(
    endpoint: Endpoint, pipeline: Any, catalog: Any, hooks: bool, given: Mapping[str, Any]
) -> _Compiled:
    from kedro.io import MemoryDataset

    shared: dict[str, Any] = {}
    preloaded: dict[str, Any] = {}
    for dataset in endpoint.preload:
        try:
            data = given[dataset] if dataset in given else catalog.load(dataset)
        except Exception as exc:
            raise ServeError(
                f"endpoint '{endpoint.name}': cannot preload '{dataset}': {first_line(exc)}; "
                "run the pipeline that makes it first, or check its catalog entry"
            ) from exc
        preloaded[dataset] = data
        shared[dataset] = MemoryDataset(data, copy_mode="assign")
    for dataset in endpoint.catalog_inputs:
        shared[dataset] = catalog.get(dataset) if hasattr(catalog, "get") else catalog[dataset]
    free = pipeline.inputs()
    keys = [p.key for p in endpoint.params]
    param_datasets = {}
    for dataset in sorted(free):
        if dataset == "parameters" or dataset.startswith("params:"):
            root = dataset.removeprefix("params:") if dataset != "parameters" else ""
            param_datasets[dataset] = tuple(
                k
                for k in keys
                if not root or k == root or k.startswith(root + ".") or root.startswith(k + ".")
            )
    produced = tuple(sorted(pipeline.all_outputs()))
    return _Compiled(
        endpoint=endpoint,
        pipeline=pipeline,
        nodes=tuple(pipeline.nodes),
        shared=shared,
        preloaded=preloaded,
        param_datasets=param_datasets,
        produced=produced,
        hooked=hooks,
    )


DATA_KEYS = ("dataframe_records", "dataframe_split", "inputs")
"""The request shapes Databricks Model Serving accepts for tabular data, besides `params`."""


def parse_body(endpoint: Endpoint, body: Any) -> tuple[dict[str, Any], Any]:
    """A request body in one of Model Serving's shapes -> (inputs by dataset name, params).

    `dataframe_records` (a list of row objects) and `dataframe_split` (`columns` and `data`)
    feed an endpoint's single input as a list of row objects. `inputs` holds an object with
    every input by name; an endpoint with one input also takes its value as is, unless that
    value is an object holding a key named after the input."""
    if not isinstance(body, dict):
        raise RequestError("the request body must be a JSON object")
    for key in body:
        if key not in (*DATA_KEYS, "params"):
            raise RequestError(
                f"unknown key '{key}' in the request body; use one of "
                f"{', '.join(DATA_KEYS)} and params"
            )
    given = [k for k in DATA_KEYS if k in body]
    names = endpoint.inputs
    if not names:
        if given:
            raise RequestError(f"endpoint '{endpoint.name}' takes no inputs; send only 'params'")
        return {}, body.get("params")
    if len(given) > 1:
        raise RequestError(f"send one of {', '.join(given)}, not several")
    if not given:
        raise RequestError(
            f"missing input '{names[0]}' for endpoint '{endpoint.name}'; send it as "
            "dataframe_records, dataframe_split or inputs"
        )
    key = given[0]
    value = body[key]
    if key == "inputs":
        by_name = isinstance(value, dict) and (len(names) > 1 or names[0] in value)
        if by_name:
            return dict(value), body.get("params")
        if len(names) > 1:
            raise RequestError(
                f"endpoint '{endpoint.name}' has inputs {', '.join(names)}: send 'inputs' as an "
                "object holding each of them by name"
            )
        return {names[0]: value}, body.get("params")
    if len(names) > 1:
        raise RequestError(
            f"endpoint '{endpoint.name}' has inputs {', '.join(names)}: '{key}' feeds a single "
            "input; send 'inputs' as an object holding each of them by name"
        )
    if key == "dataframe_records":
        if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
            raise RequestError("'dataframe_records' must be a list of row objects")
        return {names[0]: value}, body.get("params")
    return {names[0]: _split_to_records(value)}, body.get("params")


def _split_to_records(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, dict) or not isinstance(value.get("columns"), list):
        raise RequestError("'dataframe_split' must be an object with 'columns' and 'data'")
    unknown = set(value) - {"columns", "data", "index"}
    if unknown:
        raise RequestError(f"unknown key '{sorted(unknown)[0]}' in 'dataframe_split'")
    columns = value["columns"]
    data = value.get("data")
    if not isinstance(data, list):
        raise RequestError("'dataframe_split.data' must be a list of rows")
    records = []
    for number, row in enumerate(data):
        if not isinstance(row, list) or len(row) != len(columns):
            raise RequestError(
                f"'dataframe_split.data[{number}]' must be a list of {len(columns)} values, "
                "one per column"
            )
        records.append(dict(zip(columns, row, strict=True)))
    return records


def to_jsonable(value: Any) -> Any:
    """Output data as JSON values: DataFrames as lists of records, arrays and series as lists,
    NumPy scalars as numbers, NaN and infinities as null."""
    if isinstance(value, (str, bool, int)) or value is None:
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    kind = type(value).__name__
    if kind == "DataFrame" and hasattr(value, "to_dict"):
        return to_jsonable(value.to_dict(orient="records"))
    if hasattr(value, "tolist"):
        return to_jsonable(value.tolist())
    if hasattr(value, "item"):
        return to_jsonable(value.item())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
