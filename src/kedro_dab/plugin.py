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
    """The command boundary: any error a user can cause ends as one `Error:` line on stderr
    naming the file (and key or line) and what to do, with exit code 2. With --verbose or
    KEDRO_DAB_VERBOSE=1 the traceback comes first; the line and the exit code stay.

    Click's own usage errors and aborts, exits and Ctrl-C pass through untouched."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verbose = kwargs.pop("verbose", False) or os.environ.get("KEDRO_DAB_VERBOSE") == "1"
        from kedro_dab.errors import DabError, describe_unexpected

        try:
            _check_kedro()
            return func(*args, **kwargs)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            if isinstance(exc, DabError):
                message = str(exc)
            else:
                root = _project_path(args[0]) if args else None
                command = click.get_current_context(silent=True)
                name = command.info_name if command is not None else func.__name__
                message = describe_unexpected(exc, str(name), root)
            if verbose:
                import traceback

                traceback.print_exc()
            click.secho(f"Error: {' '.join(message.split())}", fg="red", err=True)
            sys.exit(EXIT_USER_ERROR)

    return wrapper  # type: ignore[return-value]


def _check_kedro() -> None:
    from kedro_dab.gate import check_kedro_version

    check_kedro_version()


def _warn(lines: Any) -> None:
    """dab.yml entries that had no effect, one `Warning:` line each on stderr."""
    for line in lines:
        click.secho(f"Warning: {line}", fg="yellow", err=True)


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


_env_option = click.option(
    "--env",
    "-e",
    default=None,
    help="Kedro env the Databricks tasks run with. "
    "[default: databricks.yml's kedro_env variable, else 'databricks']",
)
_output_option = click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file instead of stdout.",
)


def _emit(text: str, output: Path | None) -> None:
    """Machine output: to stdout, or written whole to `output` (never half a file)."""
    if output is None:
        click.echo(text, nl=False)
        return
    from kedro_dab.bundle.write import atomic_write

    atomic_write(output, text)
    click.echo(f"wrote    {output}")


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
@_verbose_option
@click.pass_obj
@_user_errors
def init(
    metadata: Any, env: str | None, host: str | None, force: bool, ci: str | None, vscode: bool
) -> None:
    """Create databricks.yml, conf/base/dab.yml and the env folder, or add what is missing.

    Works offline: no Databricks CLI and no workspace needed. Running it twice changes nothing.
    """
    from kedro_dab import api

    report = api.init(_project_path(metadata), env, host=host, force=force, ci=ci, vscode=vscode)
    for path in report.created:
        click.echo(f"created  {path}")
    for path in report.updated:
        click.echo(f"updated  {path}")
    for note in report.notes:
        click.echo(f"note     {note}")
    if not report.changed and not report.notes:
        click.echo("Nothing to do: the project is already set up for kedro-dab.")


@dab.command()
@_env_option
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
@_verbose_option
@click.pass_obj
@_user_errors
def plan(metadata: Any, env: str | None, fmt: str, output: Path | None, explain: bool) -> None:
    """Show the jobs, their tasks and why each node landed where it did."""
    from kedro_dab import api, show

    result = api.make_plan(_project_path(metadata), env)
    _warn(result.warnings)
    if fmt in ("json", "mermaid", "html"):
        text = show.plan_text(result, fmt)
        _emit(text, output)
    else:
        from rich.console import Console

        show.print_plan(result, Console(highlight=False, soft_wrap=True), explain=explain)


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
    _warn(result.plan.warnings)
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
    _warn(report.warnings)
    for check in report.checks:
        click.echo(f"checked  {check}")
    for check in report.skipped:
        click.echo(f"skipped  {check}")
    if not report.ok:
        raise BundleError("; ".join(report.problems))
    click.echo("Bundle is valid.")


@dab.command()
@_verbose_option
@click.pass_obj
@_user_errors
def build(metadata: Any) -> None:
    """Build the project wheel and the conf archive into dist/, with sizes and hashes."""
    from kedro_dab import api

    root = _project_path(metadata)
    for artifact in api.build(root):
        shown = (
            artifact.path.relative_to(root) if artifact.path.is_relative_to(root) else artifact.path
        )
        click.echo(f"built    {shown}  {artifact.size:,} bytes  sha256 {artifact.sha256}")


_target_option = click.option(
    "--target", "-t", default=None, help="Bundle target.  [default: the target marked default]"
)
_profile_option = click.option(
    "--profile", "-p", default=None, help="Profile in ~/.databrickscfg (databricks-sdk auth)."
)
_engine_option = click.option(
    "--engine",
    type=click.Choice(["auto", "cli", "sdk"]),
    default="auto",
    show_default=True,
    help="cli: the databricks CLI; sdk: pure Python; auto: cli when it is on the PATH.",
)


@dab.command()
@_target_option
@_engine_option
@_env_option
@_profile_option
@click.option("--var", "variables", multiple=True, help="Bundle variable override: name=value.")
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@click.option("--force-lock", is_flag=True, help="Take the deploy lock even if it is held.")
@click.option(
    "--auto-approve",
    is_flag=True,
    help="Delete jobs removed from the configuration without asking.",
)
@_verbose_option
@click.pass_obj
@_user_errors
def deploy(
    metadata: Any,
    target: str | None,
    engine: str,
    env: str | None,
    profile: str | None,
    variables: tuple[str, ...],
    dry_run: bool,
    force_lock: bool,
    auto_approve: bool,
) -> None:
    """Regenerate, validate and deploy the bundle: wheel, conf and jobs."""
    from kedro_dab import api

    def confirm(keys: list[str]) -> bool:
        if not sys.stdin.isatty():
            click.echo(
                f"kept     jobs removed from dab.yml: {', '.join(keys)} "
                "(pass --auto-approve to delete them)"
            )
            return False
        return click.confirm(f"Delete jobs removed from the configuration: {', '.join(keys)}?")

    report = api.deploy(
        _project_path(metadata),
        target,
        engine=engine,
        env=env,
        profile=profile,
        variables=variables,
        dry_run=dry_run,
        force_lock=force_lock,
        auto_approve=auto_approve,
        confirm_delete=confirm,
        echo=click.echo,
    )
    if report.engine == "cli":
        click.echo(
            f"Deployed target '{report.target}' with the databricks CLI."
            if not dry_run
            else f"Validated target '{report.target}' (dry run)."
        )
        return
    for problem in report.problems:
        click.echo(f"Warning: {problem}", err=True)
    verb = "Would" if dry_run else "Did"
    click.echo(f"{verb} deploy target '{report.target}' to {report.root_path}:")
    for change in report.jobs:
        why = f"({change.reason})" if change.reason else ""
        click.echo(f"  {change.action:9} {change.key}  {change.url or ''} {why}".rstrip())
    for app in report.apps:
        why = f"({app.reason})" if app.reason else ""
        click.echo(f"  {app.action:9} app {app.key}  {app.url or ''} {why}".rstrip())
    click.echo(
        f"  files: {len(report.uploaded)} uploaded, {report.unchanged_files} unchanged, "
        f"{len(report.deleted_files)} deleted"
    )


@dab.command(name="run")
@click.argument("job", required=False)
@click.option(
    "--local",
    "local",
    is_flag=True,
    help="Run the job's tasks on this machine, each as Databricks would call it.",
)
@_target_option
@_env_option
@_profile_option
@click.option("--params", default=None, help="Job parameter values for this run: name=value,...")
@click.option(
    "--connect",
    is_flag=True,
    help="With --local: run Spark work on Databricks through Databricks Connect.",
)
@click.option("--cluster-id", default=None, help="With --connect: the cluster to use.")
@click.option("--serverless", is_flag=True, help="With --connect: use serverless compute.")
@click.option(
    "--repair",
    "repair",
    is_flag=False,
    flag_value="latest",
    default=None,
    metavar="[RUN_ID]",
    help="Run the failed and skipped tasks of the job's latest failed run (or of RUN_ID) "
    "again, inside that run, and follow it. With --local: rerun what did not succeed in the "
    "local run RUN_ID (or --run-id) of a job with boundaries: persist.",
)
@click.option(
    "--jobs",
    "-j",
    "workers",
    type=click.IntRange(min=1),
    default=None,
    help="Tasks run at once with --local.  [default: the number of cores]",
)
@click.option(
    "--run-id",
    default=None,
    help="With --local, for a job with boundaries: persist: the run's id (new by default).",
)
@_verbose_option
@click.pass_obj
@_user_errors
def run_job(
    metadata: Any,
    job: str | None,
    local: bool,
    target: str | None,
    env: str | None,
    profile: str | None,
    params: str | None,
    connect: bool,
    cluster_id: str | None,
    serverless: bool,
    repair: str | None,
    workers: int | None,
    run_id: str | None = None,
) -> None:
    """Run a job on Databricks and follow it; with --local, simulate it here task by task,
    exactly as Databricks would call each task; with --repair, rerun a failed run's failed
    and skipped tasks."""
    if run_id and not (local or connect):
        raise click.UsageError("--run-id goes with --local")
    if connect:
        from kedro_dab.connect import ENV_VAR, ConnectSettings, check_environment

        check_environment()
        settings = ConnectSettings(profile=profile, cluster_id=cluster_id, serverless=serverless)
        os.environ[ENV_VAR] = settings.to_env()
        local = True
    if local:
        if repair is not None:
            run_id = run_id if repair == "latest" else repair
            if not run_id:
                raise click.UsageError("--local --repair needs the local run's id: --repair RUN_ID")
        _run_locally(_project_path(metadata), job, env, params, workers, run_id, repair is not None)
    else:
        _run_remotely(_project_path(metadata), job, target, profile, params, repair)


def _run_locally(
    root: Path,
    job: str | None,
    env: str | None,
    params: str | None,
    workers: int | None,
    run_id: str | None = None,
    repair: bool = False,
) -> None:
    from rich.console import Console

    from kedro_dab import api, show
    from kedro_dab.simulate import pick_job

    plan = api.local_plan(root, env)
    chosen = pick_job(plan, job)
    console = Console(highlight=False, soft_wrap=True)
    keys = [t.key for t in chosen.tasks] + ([chosen.cleanup_task] if chosen.cleanup_task else [])
    with show.TaskProgress(console, keys, f"job {chosen.key} (local)") as progress:
        result = api.simulate(
            root,
            chosen.key,
            env,
            params=params,
            workers=workers,
            plan=plan,
            listener=lambda r: progress.update(r.key, r.state, r.seconds),
            run_id=run_id,
            repair=repair,
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
    unverified = [note for task in result.tasks for note in task.unverified]
    for note in unverified:
        console.print(f"[yellow]unchecked[/] {note}", markup=True)
    if not result.ok:
        if result.run_id:
            console.print(
                f"run {result.run_id} keeps its boundary data for a repair: kedro dab run "
                f"--local {chosen.key} --run-id {result.run_id} --repair"
            )
        sys.exit(1)
    tail = f"; {len(unverified)} boundary dataset(s) unchecked" if unverified else ""
    console.print(f"All {len(result.tasks)} tasks succeeded in {result.seconds:.1f}s{tail}.")


def _run_remotely(
    root: Path,
    job: str | None,
    target: str | None,
    profile: str | None,
    params: str | None,
    repair: str | None = None,
) -> None:
    from rich.console import Console

    from kedro_dab import api, show

    console = Console(highlight=False, soft_wrap=True)
    started: dict[str, Any] = {}
    holder: dict[str, Any] = {}

    def on_start(run_id: int, url: str) -> None:
        started.update(run_id=run_id, url=url)
        console.print(f"run {run_id}: {url}")

    def on_change(status: Any) -> None:
        progress = holder.get("progress")
        if progress is None:
            keys = [t.key for t in status.task_runs]
            progress = show.TaskProgress(console, keys, f"run {status.run_id}")
            holder["progress"] = progress.__enter__()
        for task in status.task_runs:
            if progress.states.get(task.key, ("", ""))[0] != task.state:
                ended = task.state not in ("pending", "running")
                progress.update(task.key, task.state, task.seconds if ended else None, task.url)

    def close_progress() -> None:
        if holder.get("progress") is not None:
            holder.pop("progress").__exit__(None, None, None)

    try:
        if repair is not None:
            final = api.repair_run(
                root,
                job,
                target,
                run_id=None if repair == "latest" else _run_id(repair),
                profile=profile,
                on_change=on_change,
                on_start=on_start,
            )
        else:
            final = api.run(
                root,
                job,
                target,
                profile=profile,
                params=params,
                on_change=on_change,
                on_start=on_start,
            )
    except KeyboardInterrupt:
        close_progress()
        if started and click.confirm(
            f"Cancel run {started['run_id']} on Databricks?", default=True
        ):
            ended = api.cancel_run(root, started["run_id"], target, profile=profile, wait=True)
            for line in show.run_lines(ended):
                console.print(line, markup=False)
            console.print(f"cancelled run {started['run_id']}")
        sys.exit(130)
    finally:
        close_progress()
    for line in show.run_lines(final):
        console.print(line, markup=False)
    console.print(f"run {final.run_id} ended: {final.result}  {final.url}")
    if not final.ok:
        sys.exit(1)


def _run_id(text: str) -> int:
    from kedro_dab.errors import ConfigError

    if not text.isdigit():
        raise ConfigError(
            f"--repair {text}: expected a run id (digits), or no value for the latest"
        )
    return int(text)


@dab.command()
@_target_option
@_engine_option
@_profile_option
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@_verbose_option
@click.pass_obj
@_user_errors
def destroy(
    metadata: Any, target: str | None, engine: str, profile: str | None, auto_approve: bool
) -> None:
    """Remove the target's jobs and files from the workspace."""
    from kedro_dab import api
    from kedro_dab.bundle.root import BundleRoot
    from kedro_dab.deploy.target import default_target

    source = BundleRoot.read(_project_path(metadata).resolve())
    name = target or default_target(source)

    def confirm(items: list[str]) -> bool:
        if auto_approve:
            return True
        what = items[0] if len(items) == 1 else f"these {len(items)} items"
        return click.confirm(f"Delete {what} from target '{name}'?")

    api.destroy(source, name, engine=engine, profile=profile, echo=click.echo, confirm=confirm)


@dab.command(name="diff")
@click.option(
    "--base",
    default="HEAD",
    show_default=True,
    help="Git revision to compare with (a pull request's base: origin/main).",
)
@_env_option
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(["text", "markdown"]),
    default="text",
    show_default=True,
    help="text for a terminal; markdown (with a Mermaid diagram) for a pull request.",
)
@_output_option
@_verbose_option
@click.pass_obj
@_user_errors
def diff_command(metadata: Any, base: str, env: str | None, fmt: str, output: Path | None) -> None:
    """What a change does to the jobs: tasks added, removed or renamed, nodes that moved
    between tasks and why, settings that changed."""
    from kedro_dab import api
    from kedro_dab.diff import diff_markdown, diff_text

    result = api.diff(_project_path(metadata), base, env)
    text = diff_markdown(result) if fmt == "markdown" else diff_text(result)
    _emit(text, output)


@dab.command(name="summary")
@_target_option
@_profile_option
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for tools.",
)
@_output_option
@_verbose_option
@click.pass_obj
@_user_errors
def summary_command(
    metadata: Any, target: str | None, profile: str | None, fmt: str, output: Path | None
) -> None:
    """What is deployed to a target: each job's URL, wheel, deploy time, last run and drift."""
    import json

    from kedro_dab import api
    from kedro_dab.deploy.summary import summary_lines

    result = api.summary(_project_path(metadata), target, profile=profile)
    if fmt == "json":
        text = json.dumps(result.to_dict(), indent=2) + "\n"
    else:
        text = "".join(f"{line}\n" for line in summary_lines(result))
    _emit(text, output)


@dab.command(name="open")
@click.argument("job", required=False)
@_target_option
@_profile_option
@_verbose_option
@click.pass_obj
@_user_errors
def open_command(metadata: Any, job: str | None, target: str | None, profile: str | None) -> None:
    """Print a deployed job's URL, and open it in a browser when run in a terminal."""
    from kedro_dab import api

    _, url = api.job_url(_project_path(metadata), job, target, profile=profile)
    click.echo(url)
    if sys.stdout.isatty():
        import webbrowser

        try:
            webbrowser.get()
        except webbrowser.Error:
            return
        webbrowser.open(url)


@dab.command()
@click.argument("endpoints", nargs=-1)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@_env_option
@click.option(
    "--access-log/--no-access-log", default=True, show_default=True, help="Log each request."
)
@_verbose_option
@click.pass_obj
@_user_errors
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

    api.serve(
        _project_path(metadata), endpoints, host=host, port=port, env=env, access_log=access_log
    )


@dab.command("export-model")
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
@_env_option
@_verbose_option
@click.pass_obj
@_user_errors
def export_model(
    metadata: Any, endpoint: str, output: Path, example: Path | None, env: str | None
) -> None:
    """Write serving ENDPOINT as an MLflow pyfunc model folder, for Databricks Model Serving."""
    from kedro_dab import api

    written = api.export_model(_project_path(metadata), endpoint, output, env=env, example=example)
    click.echo(f"Wrote MLflow model {written}")
