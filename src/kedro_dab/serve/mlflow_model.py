"""A serving endpoint as an MLflow pyfunc model (the `kedro-dab[mlflow]` extra), for
Databricks Model Serving.

The model wraps the same serving core as `kedro dab serve` (`kedro_dab.serve.runtime`): loading
it starts a `Service` for the one endpoint, and `predict` is one request. What the model holds:

- `artifacts/<wheel>`: the project wheel, listed in the model's pip requirements beside the
  project's own dependencies, the `requirements.txt` lines of the pipelines whose nodes the
  endpoint runs (the rule job tasks follow) and `kedro-dab[mlflow]`, so the serving container
  installs them;
- `artifacts/project/conf/...`: the conf files the bundle ships (never `conf/local` nor
  credentials), from which the catalog is built as in a deployed job;
- `artifacts/preload/<dataset>.pickle`: each `preload` dataset, loaded once at export from the
  project's catalog and pickled, so the model needs no access to where the project keeps it;
- the model config (in `MLmodel`): the package, the Kedro env and the endpoint as planned.

The model input is a DataFrame whose rows feed the endpoint's single input as a list of row
objects, as `dataframe_records` does over HTTP (an endpoint without inputs ignores it). The
endpoint's `params` are the signature's params, with the types and defaults of the project's
parameters. The prediction is what the HTTP endpoint answers under `outputs`: each output
dataset by name, as JSON values.
"""

from __future__ import annotations

import json
import pickle
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kedro_dab.serve.endpoints import Endpoint, endpoint_from_dict, endpoint_to_dict, json_type
from kedro_dab.serve.errors import ServeError

INSTALL_HINT = "exporting a model needs MLflow: pip install 'kedro-dab[mlflow]'"
ENTRY_FILE = Path(__file__).with_name("mlflow_entry.py")
"""The model's code (MLflow's models-from-code): it builds an `EndpointModel`."""
PROJECT_ARTIFACT = "project"
PRELOAD_ARTIFACT = "preload"
WHEEL_ARTIFACT = "wheel"
_PARAM_TYPES = {"boolean": "boolean", "integer": "long", "number": "double", "string": "string"}


def require_extra() -> None:
    """Refuse in one line when MLflow is not installed (without importing it)."""
    import importlib.util

    if importlib.util.find_spec("mlflow") is None:
        raise ServeError(INSTALL_HINT)


def param_schema(endpoint: Endpoint) -> Any:
    """The signature's params: one per endpoint parameter, typed and defaulted from the
    project's parameters. Raises `ServeError` for a parameter MLflow cannot type (objects,
    null, lists of mixed or nested values)."""
    from mlflow.types.schema import ParamSchema, ParamSpec

    specs = []
    for param in endpoint.params:
        where = f"serving.{endpoint.name}.params: parameter '{param.key}'"
        if param.type in _PARAM_TYPES:
            specs.append(ParamSpec(param.key, _PARAM_TYPES[param.type], param.default))
            continue
        if param.type == "array":
            kinds = {_scalar_type(v) for v in param.default}
            kind = kinds.pop() if len(kinds) == 1 else None
            if kind is not None:
                specs.append(ParamSpec(param.key, kind, list(param.default), shape=(-1,)))
                continue
        raise ServeError(
            f"{where} ({param.type}, default {param.default!r}) cannot be an MLflow model "
            "param, which holds a scalar or a list of one scalar type; list its scalar keys "
            "in 'params' instead"[:400]
        )
    return ParamSchema(specs)


def _scalar_type(value: Any) -> str | None:
    return _PARAM_TYPES.get(json_type(value))


def _data_type(value: Any) -> Any:
    """The MLflow type of a JSON value (None: unknown)."""
    from mlflow.types.schema import Array, DataType, Object, Property

    scalar = _scalar_type(value)
    if scalar is not None:
        return DataType[scalar]
    if isinstance(value, list) and value:
        inner = _data_type(value[0])
        return Array(inner) if inner is not None else None
    if isinstance(value, dict) and value:
        properties = []
        for key, item in value.items():
            kind = _data_type(item)
            if kind is None:
                return None
            properties.append(Property(str(key), kind))
        return Object(properties)
    return None


def _schema(columns: Mapping[str, Any]) -> Any:
    """A column schema for column name -> a sample value (AnyType where none is known)."""
    from mlflow.types.schema import AnyType, ColSpec, Schema

    return Schema(
        [ColSpec(_data_type(value) or AnyType(), name) for name, value in columns.items()]
    )


def export_model(
    project_path: Path,
    env: str,
    endpoint: Endpoint,
    package: str,
    conf_dir: str,
    dependencies: Sequence[str],
    output: Path,
    example: Mapping[str, Any] | None = None,
) -> Path:
    """Write `endpoint` as an MLflow pyfunc model folder at `output` (which must not exist).

    `example`, a request body in Model Serving's shapes, is answered once through the serving
    core: its rows become the model's input example and, with the answer, the signature's
    input and output columns (which Unity Catalog requires). Nothing is left at `output` when
    a step fails."""
    require_extra()
    import mlflow.pyfunc
    from mlflow.models import ModelSignature

    from kedro_dab.build import build_wheel
    from kedro_dab.bundle.layout import shipped_conf_files
    from kedro_dab.plan import runtime_requirement
    from kedro_dab.serve.payload import parse_body, to_jsonable
    from kedro_dab.serve.startup import load_service

    if len(endpoint.inputs) > 1:
        raise ServeError(
            f"serving.{endpoint.name}: an MLflow model takes one DataFrame, and this endpoint "
            f"has inputs {', '.join(endpoint.inputs)}; export an endpoint with one input"
        )
    if output.exists():
        raise ServeError(f"{output} already exists; remove it or choose another --output")
    params = param_schema(endpoint)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".kedro-dab-model-", dir=output.parent) as work:
        staging = Path(work)
        service = load_service(project_path, env, [endpoint], [endpoint.name])
        try:
            preload = staging / PRELOAD_ARTIFACT
            preload.mkdir()
            for dataset, data in service.preloaded(endpoint.name).items():
                with (preload / f"{dataset}.pickle").open("wb") as sink:
                    pickle.dump(data, sink, protocol=pickle.HIGHEST_PROTOCOL)
            answered = None
            if example is not None:
                fed, given = parse_body(endpoint, example)
                answered = (fed, given, to_jsonable(service.invoke(endpoint.name, fed, given)))
        finally:
            service.close()
        conf = staging / PROJECT_ARTIFACT / conf_dir
        for rel in shipped_conf_files(project_path / conf_dir, project_path):
            (conf / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(project_path / conf_dir / rel, conf / rel)
        wheel = build_wheel(project_path, staging / "dist", conf_dir).path

        inputs_schema = outputs_schema = input_example = None
        if answered is not None:
            import pandas as pd

            fed, given, answer = answered
            outputs_schema = _schema(answer)
            rows = fed[endpoint.inputs[0]] if endpoint.inputs else []
            if isinstance(rows, list) and rows and isinstance(rows[0], dict):
                frame = pd.DataFrame(rows)
                inputs_schema = _schema(rows[0])
                input_example = frame if not given else (frame, given)
        signature = ModelSignature(inputs=inputs_schema, outputs=outputs_schema, params=params)
        kedro_dab = runtime_requirement().replace("kedro-dab==", "kedro-dab[mlflow]==", 1)
        requirements = [
            f"artifacts/{wheel.name}",
            kedro_dab,
            *dependencies,
            *endpoint.requirements,
        ]
        model = staging / "model"
        mlflow.pyfunc.save_model(
            path=str(model),
            python_model=str(ENTRY_FILE),
            artifacts={
                WHEEL_ARTIFACT: str(wheel),
                PROJECT_ARTIFACT: str(staging / PROJECT_ARTIFACT),
                PRELOAD_ARTIFACT: str(preload),
            },
            model_config={
                "package": package,
                "env": env,
                "conf": conf_dir,
                "endpoint": json.dumps(endpoint_to_dict(endpoint)),
            },
            signature=signature,
            input_example=input_example,
            pip_requirements=list(dict.fromkeys(requirements)),
        )
        model.rename(output)
    return output


def _native(value: Any) -> Any:
    """A param value as plain Python (MLflow hands NumPy scalars and arrays)."""
    return value.tolist() if hasattr(value, "tolist") else value


def _load_class() -> type:
    from mlflow.pyfunc import PythonModel

    class EndpointModel(PythonModel):
        """A kedro-dab serving endpoint as an MLflow pyfunc model."""

        def load_context(self, context: Any) -> None:
            from kedro.framework.project import configure_project

            from kedro_dab.serve.startup import load_service

            config = context.model_config
            self.endpoint = endpoint_from_dict(json.loads(config["endpoint"]))
            preload = Path(context.artifacts[PRELOAD_ARTIFACT])
            data = {}
            for dataset in self.endpoint.preload:
                with (preload / f"{dataset}.pickle").open("rb") as source:
                    data[dataset] = pickle.load(source)
            configure_project(config["package"])
            self.service = load_service(
                Path(context.artifacts[PROJECT_ARTIFACT]),
                config["env"],
                [self.endpoint],
                preloaded={self.endpoint.name: data},
            )

        # `model_input` is left unannotated: MLflow would read a type hint as its schema.
        def predict(self, context: Any, model_input, params: dict[str, Any] | None = None) -> Any:
            from mlflow.exceptions import MlflowException

            from kedro_dab.serve.errors import RequestError
            from kedro_dab.serve.payload import to_jsonable

            inputs: dict[str, Any] = {}
            if self.endpoint.inputs:
                rows = model_input
                if hasattr(model_input, "to_dict"):
                    rows = model_input.to_dict(orient="records")
                inputs[self.endpoint.inputs[0]] = rows
            given = {key: _native(value) for key, value in (params or {}).items()}
            try:
                outputs = self.service.invoke(self.endpoint.name, inputs, given)
            except RequestError as exc:
                raise MlflowException.invalid_parameter_value(exc.message) from None
            return to_jsonable(outputs)

    return EndpointModel


def endpoint_model() -> Any:
    """A fresh `EndpointModel` (MLflow is imported only when a model is built or loaded)."""
    return _load_class()()
