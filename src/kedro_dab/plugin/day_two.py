"""`kedro dab diff | summary | open`: what a change does to the jobs, what is deployed to a
target, and where a deployed job is.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from kedro_dab.plugin.common import (
    emit,
    env_option,
    output_option,
    profile_option,
    project_path,
    target_option,
    user_errors,
    verbose_option,
)


@click.command(name="diff")
@click.option(
    "--base",
    default="HEAD",
    show_default=True,
    help="Git revision to compare with (a pull request's base: origin/main).",
)
@env_option
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(["text", "markdown"]),
    default="text",
    show_default=True,
    help="text for a terminal; markdown (with a Mermaid diagram) for a pull request.",
)
@output_option
@verbose_option
@click.pass_obj
@user_errors
def diff_command(metadata: Any, base: str, env: str | None, fmt: str, output: Path | None) -> None:
    """What a change does to the jobs: tasks added, removed or renamed, nodes that moved
    between tasks and why, settings that changed."""
    from kedro_dab import api
    from kedro_dab.diff_report import diff_markdown, diff_text

    result = api.diff(project_path(metadata), base, env)
    text = diff_markdown(result) if fmt == "markdown" else diff_text(result)
    emit(text, output)


@click.command(name="summary")
@target_option
@profile_option
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for tools.",
)
@output_option
@verbose_option
@click.pass_obj
@user_errors
def summary_command(
    metadata: Any, target: str | None, profile: str | None, fmt: str, output: Path | None
) -> None:
    """What is deployed to a target: each job's URL, wheel, deploy time, last run and drift."""
    import json

    from kedro_dab import api
    from kedro_dab.deploy.summary_text import summary_lines

    result = api.summary(project_path(metadata), target, profile=profile)
    if fmt == "json":
        text = json.dumps(result.to_dict(), indent=2) + "\n"
    else:
        text = "".join(f"{line}\n" for line in summary_lines(result))
    emit(text, output)


@click.command(name="open")
@click.argument("job", required=False)
@target_option
@profile_option
@verbose_option
@click.pass_obj
@user_errors
def open_command(metadata: Any, job: str | None, target: str | None, profile: str | None) -> None:
    """Print a deployed job's URL, and open it in a browser when run in a terminal."""
    from kedro_dab import api

    _, url = api.job_url(project_path(metadata), job, target, profile=profile)
    click.echo(url)
    if sys.stdout.isatty():
        import webbrowser

        try:
            webbrowser.get()
        except webbrowser.Error:
            return
        webbrowser.open(url)
