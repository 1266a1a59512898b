"""`kedro dab`: the command group Kedro loads through this package's `kedro.project_commands`
entry point (`commands`), holding the commands of each family: authoring, deployment, day two
and serving.

Only click is imported at module level, so `kedro --help` pays nothing for this plugin.
"""

from __future__ import annotations

import sys

import click

from kedro_dab.plugin import authoring, day_two, deployment, serving


def _logs_to_stderr() -> None:
    """Move Kedro's log handlers that write to stdout onto stderr, so that what a `kedro dab`
    command prints on stdout is its own output only (`plan --format json | jq .`)."""
    import logging

    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", ()):
            console = getattr(handler, "console", None)
            if console is not None and getattr(console, "_file", None) in (None, sys.stdout):
                from rich.console import Console

                handler.console = Console(stderr=True)
            elif isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
                handler.setStream(sys.stderr)


if sys.argv[1:2] == ["dab"]:
    _logs_to_stderr()


@click.group(name="Kedro-DAB")
def commands() -> None:
    """Kedro-DAB: deploy Kedro projects to Databricks with Asset Bundles."""


@commands.group(name="dab")
def dab() -> None:
    """Group nodes into Databricks job tasks and write, check and deploy bundle files."""


for _command in (
    authoring.init,
    authoring.plan,
    authoring.bundle,
    authoring.validate,
    authoring.build,
    deployment.deploy,
    deployment.run_job,
    deployment.destroy,
    day_two.diff_command,
    day_two.summary_command,
    day_two.open_command,
    serving.serve,
    serving.export_model,
):
    dab.add_command(_command)
