"""`kedro dab init | plan | bundle | validate | build`: set a project up, show its plan, write
and check its bundle files, and build its artifacts, all offline.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from kedro_dab.plugin.common import (
    EXIT_OUT_OF_DATE,
    emit,
    env_option,
    project_path,
    user_errors,
    verbose_option,
    warn,
)


@click.command()
@env_option
@click.option("--host", default=None, help="Workspace URL to write into the targets.")
@click.option(
    "--force",
    is_flag=True,
    help="Replace databricks.yml and conf/base/dab.yml with the templates, keeping each old "
    "file as <name>.bak and the bundle's name.",
)
@click.option(
    "--ci",
    type=click.Choice(["github"]),
    default=None,
    help="Also write a CI workflow: validate on pull requests, deploy from main.",
)
@click.option(
    "--vscode",
    is_flag=True,
    help="Also write run_on_databricks.py for the VSCode Databricks extension.",
)
@verbose_option
@click.pass_obj
@user_errors
def init(
    metadata: Any, env: str | None, host: str | None, force: bool, ci: str | None, vscode: bool
) -> None:
    """Create databricks.yml, conf/base/dab.yml and the env folder, or add what is missing.

    Works offline: no Databricks CLI and no workspace needed. Running it twice changes nothing.
    """
    from kedro_dab import api

    report = api.init(project_path(metadata), env, host=host, force=force, ci=ci, vscode=vscode)
    for path in report.created:
        click.echo(f"created  {path}")
    for path in report.updated:
        click.echo(f"updated  {path}")
    for note in report.notes:
        click.echo(f"note     {note}")
    if not report.changed and not report.notes:
        click.echo("Nothing to do: the project is already set up for kedro-dab.")


@click.command()
@env_option
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(["table", "json", "mermaid", "html"]),
    default="table",
    show_default=True,
    help="table for people, json for tools (versioned), mermaid for diagrams, html for one "
    "self-contained page that works offline.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the json, mermaid or html output to this file instead of stdout.",
)
@click.option(
    "--explain", is_flag=True, help="Show, for every task, which dab.yml entry set each setting."
)
@verbose_option
@click.pass_obj
@user_errors
def plan(metadata: Any, env: str | None, fmt: str, output: Path | None, explain: bool) -> None:
    """Show the jobs, their tasks and why each node landed where it did."""
    from kedro_dab import api, show

    result = api.make_plan(project_path(metadata), env)
    warn(result.warnings)
    if fmt in ("json", "mermaid", "html"):
        text = show.plan_text(result, fmt)
        emit(text, output)
    else:
        from rich.console import Console

        show.print_plan(result, Console(highlight=False, soft_wrap=True), explain=explain)


@click.command()
@env_option
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 if the files on disk are out of date (for CI).",
)
@click.option("--force", is_flag=True, help="Replace generated files that were edited by hand.")
@verbose_option
@click.pass_obj
@user_errors
def bundle(metadata: Any, env: str | None, check: bool, force: bool) -> None:
    """Write one resource file per job into resources/kedro-dab/."""
    from kedro_dab import api

    result = api.bundle(project_path(metadata), env, check=check, force=force)
    warn(result.plan.warnings)
    files = result.files
    if check:
        if files.changed:
            for path in files.written:
                click.echo(f"out of date  {path}")
            for path in files.removed:
                click.echo(f"stale        {path}")
            click.echo("Run `kedro dab bundle` to regenerate.", err=True)
            sys.exit(EXIT_OUT_OF_DATE)
        click.echo(f"Up to date: {len(files.unchanged)} file(s).")
        return
    for path in files.written:
        click.echo(f"wrote    {path}")
    for path in files.removed:
        click.echo(f"removed  {path}")
    if not files.changed:
        click.echo(f"Up to date: {len(files.unchanged)} file(s).")


@click.command()
@env_option
@click.option(
    "--no-cli",
    is_flag=True,
    help="Skip `databricks bundle validate --strict` even when a CLI is on the PATH.",
)
@verbose_option
@click.pass_obj
@user_errors
def validate(metadata: Any, env: str | None, no_cli: bool) -> None:
    """Check the plan, the jobs' structure and the bundle files, offline."""
    from kedro_dab import api
    from kedro_dab.errors import BundleError

    report = api.validate(project_path(metadata), env, run_cli=not no_cli)
    warn(report.warnings)
    for check in report.checks:
        click.echo(f"checked  {check}")
    for check in report.skipped:
        click.echo(f"skipped  {check}")
    if not report.ok:
        raise BundleError("; ".join(report.problems))
    click.echo("Bundle is valid.")


@click.command()
@verbose_option
@click.pass_obj
@user_errors
def build(metadata: Any) -> None:
    """Build the project wheel and the conf archive into dist/, with sizes and hashes."""
    from kedro_dab import api

    root = project_path(metadata)
    for artifact in api.build(root):
        shown = (
            artifact.path.relative_to(root) if artifact.path.is_relative_to(root) else artifact.path
        )
        click.echo(f"built    {shown}  {artifact.size:,} bytes  sha256 {artifact.sha256}")
