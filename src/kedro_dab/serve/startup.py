"""Serving start-up: a project's endpoints loaded once into a `Service`.

One Kedro session loads the project's context and catalog (the project's
`after_context_created` and `after_catalog_created` hooks run once), every endpoint's `preload`
datasets are loaded once, and each endpoint's pipeline is compiled into what a request needs:
the datasets every request shares, the parameter datasets it reads (with their values without
request parameters, typed as `kedro run --pipelines <pipeline>` types them), the datasets the
pipeline produces, the transcoded forms its nodes name datasets by, and whether the project
registers a hook that runs per request. Kedro's per-dataset and per-node INFO log lines are
turned down to WARNING in a serving process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kedro_dab.errors import first_line
from kedro_dab.serve.endpoints import Endpoint
from kedro_dab.serve.errors import RequestError, ServeError
from kedro_dab.serve.params import ParameterResolver, PipelineParameters
from kedro_dab.serve.runtime import CompiledEndpoint, Service, family

logger = logging.getLogger("kedro_dab.serve")

QUIET_LOGGERS = ("kedro.io.data_catalog", "kedro.pipeline.node", "kedro.io.core")


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
        parameters = ParameterResolver(context.config_loader)
        hook_manager = session._hook_manager
        compiled = {}
        for endpoint in chosen:
            compiled[endpoint.name] = _compile(
                endpoint,
                pipelines[endpoint.pipeline],
                catalog,
                hooked(hook_manager),
                (preloaded or {}).get(endpoint.name, {}),
                parameters.configured,
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
    service = Service(root, env, compiled, parameters, hook_manager, session)
    for name, absent in service.missing().items():
        logger.warning(
            "endpoint '%s': catalog input(s) %s have no data yet; its requests fail and /ready "
            "answers 503 until they have",
            name,
            ", ".join(f"'{dataset}'" for dataset in absent),
        )
    return service


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
    """Whether any of the per-request hooks has an implementation that does something:
    kedro-dab's own boundary hook does nothing outside a job task that persists boundaries."""
    from kedro_dab.boundary_hooks import hooks as boundary_hooks

    return any(
        impl.plugin is not boundary_hooks or boundary_hooks.settings is not None
        for name in REQUEST_HOOKS
        for impl in getattr(hook_manager.hook, name).get_hookimpls()
    )


def _compile(
    endpoint: Endpoint,
    pipeline: Any,
    catalog: Any,
    hooks: bool,
    given: Mapping[str, Any],
    configured: dict[str, Any],
) -> CompiledEndpoint:
    from kedro.io import MemoryDataset

    forms: dict[str, list[str]] = {}
    for node in pipeline.nodes:
        for name in (*node.inputs, *node.outputs):
            named = forms.setdefault(family(name), [])
            if name not in named:
                named.append(name)
    free = pipeline.inputs()
    shared: dict[str, Any] = {}
    preloaded: dict[str, Any] = {}
    preloaded_forms: dict[str, Any] = {}
    for dataset in endpoint.preload:
        for form in _read_forms(forms, free, dataset):
            try:
                data = given[dataset] if dataset in given else catalog.load(form)
            except Exception as exc:
                raise ServeError(
                    f"endpoint '{endpoint.name}': cannot preload '{form}': {first_line(exc)}; "
                    "run the pipeline that makes it first, or check its catalog entry"
                ) from exc
            preloaded.setdefault(dataset, data)
            preloaded_forms[form] = data
            shared[form] = MemoryDataset(data, copy_mode="assign")
    for dataset in endpoint.catalog_inputs:
        for form in _read_forms(forms, free, dataset):
            shared[form] = catalog.get(form) if hasattr(catalog, "get") else catalog[form]
    parameters = PipelineParameters(
        endpoint.pipeline,
        pipeline,
        sorted(d for d in free if d == "parameters" or d.startswith("params:")),
    )
    try:
        defaults = parameters.values(configured)
    except RequestError as exc:
        raise ServeError(f"endpoint '{endpoint.name}': {exc.message}") from None
    produced = tuple(sorted({family(d) for d in pipeline.all_outputs()}))
    return CompiledEndpoint(
        endpoint=endpoint,
        pipeline=pipeline,
        nodes=tuple(pipeline.nodes),
        shared=shared,
        preloaded=preloaded,
        parameters=parameters,
        defaults=defaults,
        produced=produced,
        forms={name: tuple(named) for name, named in forms.items()},
        preloaded_forms=preloaded_forms,
        hooked=hooks,
    )


def _read_forms(forms: Mapping[str, list[str]], free: set[str], dataset: str) -> list[str]:
    """The names the pipeline's nodes read free input `dataset` by (`dataset` itself, or its
    transcoded forms such as `dataset@pandas`)."""
    return [form for form in forms.get(dataset, [dataset]) if form in free] or [dataset]
