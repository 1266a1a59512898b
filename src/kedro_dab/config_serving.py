"""The `serving` entries of `dab.yml`: HTTP endpoints over registered pipelines, and how an
endpoint is also declared for Databricks Model Serving."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from kedro_dab.config_jobs import Strict

ENDPOINT_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,29}$"
APP_NAME_PATTERN = r"^[a-z][a-z0-9-]{1,29}$"
"""A Databricks app name: 2 to 30 lower-case letters, digits and hyphens, starting with a
letter (the limits the Databricks CLI checks before it calls the Apps API)."""
APP_NAME_RULE = "2 to 30 characters of lower-case letters, digits and '-', starting with a letter"


def app_name(endpoint: str) -> str:
    """The Databricks app name of an endpoint deployed as an app: its name with '_' as '-'."""
    return endpoint.replace("_", "-")


class ModelServing(Strict, kw_only=True, frozen=True):
    """An endpoint on Databricks Model Serving: its exported MLflow model (`kedro dab
    export-model`) registered in Unity Catalog as `<catalog_name>.<schema_name>.<model_name>`,
    and, once a `version` of it is registered, a serving endpoint for that version."""

    catalog_name: Annotated[str, Meta(min_length=1)]
    schema_name: Annotated[str, Meta(min_length=1)]
    model_name: Annotated[str, Meta(min_length=1)] | None = None
    """Default: the endpoint name with '-' as '_'."""
    version: Annotated[int, Meta(ge=1)] | None = None
    """The registered model version to serve; without one, only the model is declared."""
    workload_size: Literal["Small", "Medium", "Large"] = "Small"
    scale_to_zero: bool = True


class ServingEndpoint(Strict, kw_only=True, frozen=True):
    """One serving endpoint: a registered pipeline answering HTTP requests. The request feeds
    `inputs` and may set `params`; `preload` datasets are loaded once at start-up."""

    pipeline: Annotated[str, Meta(min_length=1)]
    """The registered pipeline the endpoint runs."""
    description: str | None = None
    inputs: tuple[str, ...] = ()
    """Free inputs of the pipeline that each request feeds."""
    outputs: tuple[str, ...] | None = None
    """Datasets returned; default: the pipeline's free outputs."""
    params: tuple[str, ...] = ()
    """Parameter keys (dots for nested keys) a request may set; defaults and types come from
    the project's parameters."""
    preload: tuple[str, ...] | None = None
    """Catalog datasets loaded once at start-up; default: every other free input."""
    app: bool = False
    """Also deploy the endpoint as a Databricks App (`resources.apps.<name>` in the bundle)."""
    model_serving: ModelServing | None = None
    """Also declare it for Databricks Model Serving (`resources.registered_models` and
    `resources.model_serving_endpoints` in the bundle)."""

    def __post_init__(self) -> None:
        for key in ("inputs", "outputs", "params", "preload"):
            values = getattr(self, key) or ()
            if len(set(values)) != len(values):
                raise ValueError(f"'{key}' lists a name twice")
