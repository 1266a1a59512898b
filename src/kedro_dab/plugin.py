"""`kedro dab ...`: parse options, call the API, print. No logic lives here.

Only click is imported at module level, so `kedro --help` pays nothing for this plugin.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

EXIT_USER_ERROR = 2
EXIT_OUT_OF_DATE = 1


def _project_path(metadata: Any) -> Path:
    return Path(getattr(metadata, "project_path", None) or os.getcwd())


def _user_errors(func: F) -> F:
    """Turn a `DabError` into one line on stderr and exit code 2 (a traceback only with
    --verbose or KEDRO_DAB_VERBOSE=1)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verbose = kwargs.pop("verbose", False) or os.environ.get("KEDRO_DAB_VERBOSE") == "1"
        from kedro_dab.errors import DabError

        try:
            return func(*args, **kwargs)
        except DabError as exc:
            if verbose:
                raise
            click.secho(f"Error: {exc}", fg="red", err=True)
            sys.exit(EXIT_USER_ERROR)

    return wrapper  # type: ignore[return-value]


_env_option = click.option(
    "--env",
    "-e",
    default=None,
    help="Kedro env the Databricks tasks run with. "
    "[default: databricks.yml's kedro_env variable, else 'databricks']",
)
_verbose_option = click.option("--verbose", "-v", is_flag=True, help="Show tracebacks of errors.")


@click.group(name="Kedro-DAB")
def commands() -> None:
    """Kedro-DAB: deploy Kedro projects to Databricks with Asset Bundles."""


@commands.group(name="dab")
def dab() -> None:
    """Group nodes into Databricks job tasks and write, check and deploy bundle files."""


@dab.command()
@_env_option
@click.option("--host", default=None, help="Workspace URL to write into the targets.")
@click.option("--force", is_flag=True, help="Overwrite databricks.yml and conf/base/dab.yml.")
@_verbose_option
@click.pass_obj
@_user_errors
def init(metadata: Any, env: str | None, host: str | None, force: bool) -> None:
    """Create databricks.yml, conf/base/dab.yml and the env folder, or add what is missing.

    Works offline: no Databricks CLI and no workspace needed. Running it twice changes nothing.
    """
    from kedro_dab import api

    report = api.init(_project_path(metadata), env, host=host, force=force)
    for path in report.created:
        click.echo(f"created  {path}")
    for path in report.updated:
        click.echo(f"updated  {path}")
    if not report.changed:
        click.echo("Nothing to do: the project is already set up for kedro-dab.")


@dab.command()
@_env_option
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(["table", "json", "mermaid"]),
    default="table",
    show_default=True,
    help="table for people, json for tools (versioned), mermaid for diagrams.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the json or mermaid output to this file instead of stdout "
    "(Kedro's own log lines also go to stdout).",
)
@_verbose_option
@click.pass_obj
@_user_errors
def plan(metadata: Any, env: str | None, fmt: str, output: Path | None) -> None:
    """Show the jobs, their tasks and why each node landed where it did."""
    from kedro_dab import api, show

    result = api.make_plan(_project_path(metadata), env)
    if fmt in ("json", "mermaid"):
        text = show.plan_json(result) if fmt == "json" else show.plan_mermaid(result)
        if output is None:
            click.echo(text, nl=False)
        else:
            from kedro_dab.bundle.write import atomic_write

            atomic_write(output, text)
            click.echo(f"wrote    {output}")
    else:
        from rich.console import Console

        show.print_plan(result, Console(highlight=False, soft_wrap=True))


@dab.command()
@_env_option
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 if the files on disk are out of date (for CI).",
)
@click.option("--force", is_flag=True, help="Replace generated files that were edited by hand.")
@_verbose_option
@click.pass_obj
@_user_errors
def bundle(metadata: Any, env: str | None, check: bool, force: bool) -> None:
    """Write one resource file per job into resources/kedro-dab/."""
    from kedro_dab import api

    result = api.bundle(_project_path(metadata), env, check=check, force=force)
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


@dab.command()
@_env_option
@click.option(
    "--no-cli",
    is_flag=True,
    help="Skip `databricks bundle validate --strict` even when a CLI is on the PATH.",
)
@_verbose_option
@click.pass_obj
@_user_errors
def validate(metadata: Any, env: str | None, no_cli: bool) -> None:
    """Check the plan, the jobs' structure and the bundle files, offline."""
    from kedro_dab import api
    from kedro_dab.errors import BundleError

    report = api.validate(_project_path(metadata), env, run_cli=not no_cli)
    for check in report.checks:
        click.echo(f"checked  {check}")
    if not report.ok:
        raise BundleError("; ".join(report.problems))
    click.echo("Bundle is valid.")


@dab.command(name="run")
@click.argument("job", required=False)
@click.option(
    "--local",
    "local",
    is_flag=True,
    help="Run the job's tasks on this machine, each as Databricks would call it.",
)
@_env_option
@click.option("--params", default=None, help="Runtime parameters for every task: k=v,a.b=v.")
@click.option(
    "--jobs",
    "-j",
    "workers",
    type=click.IntRange(min=1),
    default=None,
    help="Tasks run at once.  [default: the number of cores]",
)
@_verbose_option
@click.pass_obj
@_user_errors
def run_job(
    metadata: Any,
    job: str | None,
    local: bool,
    env: str | None,
    params: str | None,
    workers: int | None,
) -> None:
    """Run a job: with --local, simulate it here task by task, exactly as Databricks would."""
    from kedro_dab.errors import DabError

    if not local:
        raise DabError("running on Databricks is not available yet; use --local to simulate")
    from rich.console import Console

    from kedro_dab import api, show
    from kedro_dab.simulate import pick_job

    root = _project_path(metadata)
    plan = api.make_plan(root, env)
    chosen = pick_job(plan, job)
    console = Console(highlight=False, soft_wrap=True)
    keys = [t.key for t in chosen.tasks]
    with show.TaskProgress(console, keys, f"job {chosen.key} (local)") as progress:
        result = api.simulate(
            root,
            chosen.key,
            env,
            params=params,
            workers=workers,
            plan=plan,
            listener=lambda r: progress.update(r.key, r.state, r.seconds),
        )
    if not console.is_terminal:
        console.print(progress.summary())
    for task in result.tasks:
        if task.state == "failed":
            console.print(f"[bold red]task {task.key} failed[/]: {'; '.join(task.problems)}")
            tail = task.log_tail()
            if tail:
                console.print(tail, markup=False)
            console.print(f"full log: {task.log_path}")
    if not result.ok:
        sys.exit(1)
    console.print(f"All {len(result.tasks)} tasks succeeded in {result.seconds:.1f}s.")
