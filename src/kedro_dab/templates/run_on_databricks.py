"""Run this Kedro project's pipeline on Databricks from VSCode, or on this machine.

Written once by `kedro dab init --vscode`; yours to edit. With the Databricks extension for
VSCode, open this file and choose "Run File on Databricks" (or "Run File as Workflow"): the
extension syncs the project to the workspace and runs this file there, from its own folder,
with `spark` and `dbutils` defined. Locally: `python run_on_databricks.py`.

What runs comes from, in order of precedence: command-line arguments (the same ones the
project's `kedro run` takes, which is how the tasks of a `from_source: true` target in
conf/base/dab.yml call this file), notebook widgets named pipeline, nodes, env and params,
then the constants below. Command-line arguments count only when this file is the script
being run: under "Run File as Workflow" the extension's notebook wrapper leaves the kernel's
own argv (`-f <kernel.json>`), which is not meant for Kedro.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    import click

PIPELINE = "__default__"
NODES = ""  # comma-separated node names; empty runs the whole pipeline
ENV = "<<env>>"  # the Kedro env; its conf folder must be synced (never conf/local)
PARAMS = ""  # runtime parameters, e.g. "model_options.test_size=0.3,run_date=2024-01-01"


def project_root() -> Path:
    """The Kedro project this file belongs to: the nearest folder with pyproject.toml and conf."""
    start = Path(globals().get("__file__") or os.getcwd()).resolve()
    for folder in (start if start.is_dir() else start.parent, *start.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "conf").is_dir():
            return folder
    raise RuntimeError(f"no Kedro project (pyproject.toml and conf/) above {start}")


def own_arguments() -> list[str]:
    """The command-line arguments, when this file is the script being run (a task, or
    `python run_on_databricks.py ...`); none when another program's argv is in sys.argv."""
    here = globals().get("__file__")
    if not here or not sys.argv or Path(sys.argv[0]).name != Path(here).name:
        return []
    return [arg for arg in sys.argv[1:] if arg]


def arguments(run_options: set[str]) -> list[str]:
    """`kedro run` arguments: the command line if given, else widgets, else the constants."""
    given = own_arguments()
    if given:
        return given
    values = {"pipeline": PIPELINE, "nodes": NODES, "env": ENV, "params": PARAMS}
    widgets = globals().get("dbutils")
    if widgets is not None:
        for name in values:
            try:
                value = widgets.widgets.get(name)
            except Exception:  # no such widget
                continue
            if value:
                values[name] = value
    pipeline_flag = "--pipelines" if "--pipelines" in run_options else "--pipeline"
    args = [pipeline_flag, values["pipeline"], "--env", values["env"]]
    if values["nodes"]:
        args += ["--nodes", values["nodes"]]
    if values["params"]:
        args += ["--params", values["params"]]
    return args


def main() -> None:
    """Bootstrap the project from its source and call its own `run` command, exactly as the
    wheel's entry point does."""
    root = project_root()
    os.chdir(root)
    from kedro.framework.cli.utils import find_run_command
    from kedro.framework.startup import bootstrap_project

    metadata = bootstrap_project(root)
    # Kedro annotates it as any callable; it is the project's `run` click command.
    run = cast("click.Command", find_run_command(metadata.package_name))
    options = {opt for param in run.params for opt in getattr(param, "opts", ())}
    try:
        run.main(args=arguments(options), standalone_mode=False)
    except SystemExit as exit_:
        if exit_.code not in (0, None):
            raise


if __name__ == "__main__":
    main()
