"""The entry point of a serving endpoint deployed as a Databricks App.

`app.yaml` runs `python -m kedro_dab.serve.apps <endpoint>` in the app's source folder (see
`kedro_dab.bundle.apps`): the project package comes from the installed wheel, the conf from
the folder's `conf/`, the endpoint from its `endpoint.yml`. It serves the same app as
`kedro dab serve`, on `0.0.0.0` and the port Databricks Apps gives in `DATABRICKS_APP_PORT`.
No bearer token: Databricks Apps put their own OAuth in front of the app.

The Kedro env is `KEDRO_ENV`, which the bundle's app resource sets to its target's `kedro_env`
(as the tasks get `--env`). Preloaded datasets that live in a Unity Catalog volume are fetched
through the Files API at start-up (see `kedro_dab.serve.volumes`), with the credentials Apps
give the app's service principal.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

PORT_VARIABLE = "DATABRICKS_APP_PORT"
DEFAULT_PORT = 8000


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the endpoint whose app folder is the current directory (or `--folder`)."""
    parser = argparse.ArgumentParser(prog="python -m kedro_dab.serve.apps")
    parser.add_argument("endpoint")
    parser.add_argument("--folder", type=Path, default=Path.cwd())
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--env", default=os.environ.get("KEDRO_ENV") or None)
    args = parser.parse_args(argv)
    port = int(os.environ.get(PORT_VARIABLE) or DEFAULT_PORT)

    from kedro.framework.project import configure_project

    from kedro_dab.bundle.apps import read_endpoint
    from kedro_dab.serve.app import DEFAULT_MAX_BODY_BYTES, create_app, require_extra
    from kedro_dab.serve.listen import run_server
    from kedro_dab.serve.startup import load_service

    require_extra()
    folder = args.folder.resolve()
    package, endpoint = read_endpoint(folder)
    if endpoint.name != args.endpoint:
        print(
            f"Error: {folder}/endpoint.yml describes endpoint '{endpoint.name}', not "
            f"'{args.endpoint}'; run `kedro dab bundle` again",
            file=sys.stderr,
        )
        return 2
    from kedro_dab.serve.volumes import PreloadError, fetch_preloaded

    configure_project(package)

    def prepare(catalog: object) -> None:
        from databricks.sdk import WorkspaceClient

        fetch_preloaded(catalog, endpoint.preload, folder, args.env, WorkspaceClient, print)

    try:
        service = load_service(folder, args.env, [endpoint], prepare=prepare)
    except PreloadError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    app = create_app(service, token=None, max_body_bytes=DEFAULT_MAX_BODY_BYTES)
    run_server(app, args.host, port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
