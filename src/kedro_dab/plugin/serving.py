"""`kedro dab serve | export-model`: serve the `serving:` endpoints of dab.yml over HTTP, or
write one as an MLflow model for Databricks Model Serving.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from kedro_dab.plugin.common import env_option, project_path, user_errors, verbose_option


@click.command()
@click.argument("endpoints", nargs=-1)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free port).",
)
@env_option
@click.option(
    "--access-log/--no-access-log", default=True, show_default=True, help="Log each request."
)
@verbose_option
@click.pass_obj
@user_errors
def serve(
    metadata: Any,
    endpoints: tuple[str, ...],
    host: str,
    port: int,
    env: str | None,
    access_log: bool,
) -> None:
    """Serve the `serving:` endpoints of dab.yml over HTTP (all, or the ENDPOINTs named).

    POST /serving-endpoints/<name>/invocations takes Databricks Model Serving's request shapes;
    set KEDRO_DAB_SERVE_TOKEN to require it as a bearer token."""
    from kedro_dab import api
    from kedro_dab.serve.listen import check_listen

    check_listen(host, port)
    api.serve(
        project_path(metadata), endpoints, host=host, port=port, env=env, access_log=access_log
    )


@click.command("export-model")
@click.argument("endpoint")
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The model folder to write (must not exist).",
)
@click.option(
    "--example",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="A JSON request body (Model Serving's shapes): the model's input example and "
    "signature columns, which Unity Catalog requires.",
)
@env_option
@verbose_option
@click.pass_obj
@user_errors
def export_model(
    metadata: Any, endpoint: str, output: Path, example: Path | None, env: str | None
) -> None:
    """Write serving ENDPOINT as an MLflow pyfunc model folder, for Databricks Model Serving."""
    from kedro_dab import api

    written = api.export_model(project_path(metadata), endpoint, output, env=env, example=example)
    click.echo(f"Wrote MLflow model {written}")
