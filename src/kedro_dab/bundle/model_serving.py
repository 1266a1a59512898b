"""Serving endpoints on Databricks Model Serving: the bundle resources of every endpoint that
opts in (`serving.<name>.model_serving`).

- `registered_models.<endpoint>-model`: the Unity Catalog model
  `<catalog_name>.<schema_name>.<model_name>` that versions of the endpoint's exported MLflow
  model (`kedro dab export-model`) are registered under;
- `model_serving_endpoints.<endpoint>-serving`, once `version` names a registered version: a Model
  Serving endpoint named like the endpoint, serving that version. Model Serving takes the same
  request shapes as `kedro dab serve`, at the same path.

A model version is made outside the bundle (logging and registering the exported model needs
a workspace), so a first deploy declares the model only; setting `version` and deploying again
adds the endpoint.
"""

from __future__ import annotations

from typing import Any

from kedro_dab.bundle.render import to_yaml
from kedro_dab.errors import BundleError
from kedro_dab.plan import Plan
from kedro_dab.serve.endpoints import Endpoint

MODEL_SERVING_FILE = "serving.model_serving.yml"
"""The resource file, in the owned folder (no job key holds a dot)."""
MODEL_KEY_SUFFIX = "-model"
SERVING_KEY_SUFFIX = "-serving"
"""Resource keys are unique across kinds (an app already takes the endpoint's name): the
registered model is `<endpoint>-model`, the serving endpoint `<endpoint>-serving`."""


def model_name(endpoint: Endpoint) -> str:
    """The Unity Catalog model name of an endpoint (`model_name`, else its name with '_')."""
    spec = endpoint.model_serving
    assert spec is not None
    return spec.model_name or endpoint.name.replace("-", "_")


def full_name(endpoint: Endpoint) -> str:
    """`<catalog>.<schema>.<model>`, the registered model's Unity Catalog name."""
    spec = endpoint.model_serving
    assert spec is not None
    return f"{spec.catalog_name}.{spec.schema_name}.{model_name(endpoint)}"


def model_serving_endpoints(plan: Plan) -> list[Endpoint]:
    """The endpoints declared for Model Serving, by name."""
    return sorted((e for e in plan.endpoints if e.model_serving), key=lambda e: e.name)


def render_model_serving(plan: Plan) -> dict[str, str]:
    """File name (inside the owned folder) -> text: the resource file, or nothing when no
    endpoint opts in."""
    chosen = model_serving_endpoints(plan)
    if not chosen:
        return {}
    seen: dict[str, str] = {}
    for endpoint in chosen:
        name = full_name(endpoint)
        if name in seen:
            raise BundleError(
                f"dab.yml: serving.{seen[name]} and serving.{endpoint.name} both register "
                f"model '{name}'; give one of them another model_serving.model_name"
            )
        seen[name] = endpoint.name
        jobs = {job.key for job in plan.jobs}
        for key in (endpoint.name + MODEL_KEY_SUFFIX, endpoint.name + SERVING_KEY_SUFFIX):
            if key in jobs:
                raise BundleError(
                    f"dab.yml: jobs.{key} takes the bundle resource key that "
                    f"serving.{endpoint.name}.model_serving needs; rename the job or the endpoint"
                )
    models: dict[str, Any] = {}
    serving: dict[str, Any] = {}
    for endpoint in chosen:
        spec = endpoint.model_serving
        assert spec is not None
        models[endpoint.name + MODEL_KEY_SUFFIX] = {
            "catalog_name": spec.catalog_name,
            "schema_name": spec.schema_name,
            "name": model_name(endpoint),
            "comment": endpoint.description,
        }
        if spec.version is None:
            continue
        serving[endpoint.name + SERVING_KEY_SUFFIX] = {
            "name": endpoint.name,
            "description": endpoint.description,
            "config": {
                "served_entities": [
                    {
                        "name": model_name(endpoint).replace("_", "-"),
                        "entity_name": full_name(endpoint),
                        "entity_version": str(spec.version),
                        "workload_size": spec.workload_size,
                        "scale_to_zero_enabled": spec.scale_to_zero,
                    }
                ]
            },
        }
    resources: dict[str, Any] = {"registered_models": models}
    if serving:
        resources["model_serving_endpoints"] = serving
    return {MODEL_SERVING_FILE: to_yaml({"resources": resources})}
