"""Serving endpoints from this machine (`kedro dab serve`, `export-model`): the plan's endpoints
as an ASGI app answered over HTTP, or one endpoint written as an MLflow pyfunc model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kedro_dab._api.planning import local_plan

SERVE_TOKEN_VARIABLE = "KEDRO_DAB_SERVE_TOKEN"


def serving_app(
    project_path: Path | str = ".",
    endpoints: Sequence[str] = (),
    env: str | None = None,
    *,
    token: str | None = None,
    max_body_bytes: int | None = None,
) -> Any:
    """The ASGI app `kedro dab serve` runs: the plan's serving endpoints (`endpoints` picks
    some by name; default all), with the project's catalog built and `preload` datasets loaded
    once. `token`, when given, is required as a bearer token on every invocation."""
    from kedro_dab.serve.app import DEFAULT_MAX_BODY_BYTES, create_app, require_extra
    from kedro_dab.serve.startup import load_service, require_kedro_1

    require_extra()
    require_kedro_1()
    root = Path(project_path).resolve()
    plan = local_plan(root, env)
    service = load_service(root, plan.env, plan.endpoints, endpoints)
    return create_app(service, token=token, max_body_bytes=max_body_bytes or DEFAULT_MAX_BODY_BYTES)


def serve(
    project_path: Path | str = ".",
    endpoints: Sequence[str] = (),
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    env: str | None = None,
    token: str | None = None,
    access_log: bool = True,
) -> None:
    """`kedro dab serve`: answer the serving endpoints over HTTP until interrupted. Binds
    127.0.0.1 unless `host` says otherwise; the bearer token defaults to the
    `KEDRO_DAB_SERVE_TOKEN` environment variable (none: no token needed)."""
    import os

    from kedro_dab.serve.listen import run_server

    chosen = token if token is not None else os.environ.get(SERVE_TOKEN_VARIABLE) or None
    app = serving_app(project_path, endpoints, env, token=chosen)
    if chosen is None and host not in ("127.0.0.1", "localhost", "::1"):
        import logging

        logging.getLogger("kedro_dab.serve").warning(
            "Serving on %s without a token: anyone who reaches this address can call the "
            "endpoints; set %s to require one",
            host,
            SERVE_TOKEN_VARIABLE,
        )
    run_server(app, host, port, access_log=access_log)


def export_model(
    project_path: Path | str,
    endpoint: str,
    output: Path | str,
    env: str | None = None,
    example: Path | str | None = None,
) -> Path:
    """`kedro dab export-model`: write serving endpoint `endpoint` as an MLflow pyfunc model
    folder at `output` (which must not exist), wrapping the same serving core as
    `kedro dab serve`. `example`, a JSON request body file in Model Serving's shapes, gives the
    model its input example and signature columns. Needs the `mlflow` extra and Kedro 1.x."""
    import json

    from kedro_dab.errors import ConfigError
    from kedro_dab.serve.errors import ServeError
    from kedro_dab.serve.mlflow_model import export_model as export
    from kedro_dab.serve.mlflow_model import require_extra
    from kedro_dab.serve.startup import require_kedro_1

    require_extra()
    require_kedro_1()
    root = Path(project_path).resolve()
    target = Path(output).resolve()
    if target.exists():
        raise ServeError(f"{target} already exists; remove it or choose another --output")
    body = None
    if example is not None:
        try:
            body = json.loads(Path(example).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{example}: cannot read a JSON request body: {exc}") from None
    plan = local_plan(root, env)
    by_name = {e.name: e for e in plan.endpoints}
    if endpoint not in by_name:
        known = ", ".join(sorted(by_name)) or "none"
        raise ServeError(f"no serving endpoint '{endpoint}' in dab.yml; endpoints: {known}")
    return export(
        root,
        plan.env,
        by_name[endpoint],
        plan.package_name,
        plan.conf_dir,
        plan.dependencies,
        target,
        body,
    )
