"""`kedro dab deploy | run | destroy`: put a bundle on a target, run its jobs there (or here,
task by task, with --local) and take it down again.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import click

from kedro_dab.plugin.common import (
    EXIT_INTERRUPTED,
    engine_option,
    env_option,
    profile_option,
    project_path,
    target_option,
    user_errors,
    verbose_option,
)


@click.command()
@target_option
@engine_option
@env_option
@profile_option
@click.option("--var", "variables", multiple=True, help="Bundle variable override: name=value.")
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@click.option("--force-lock", is_flag=True, help="Take the deploy lock even if it is held.")
@click.option(
    "--auto-approve",
    is_flag=True,
    help="Delete jobs removed from the configuration without asking.",
)
@verbose_option
@click.pass_obj
@user_errors
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

    try:
        report = api.deploy(
            project_path(metadata),
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
    except KeyboardInterrupt as exc:
        lock_problem = getattr(exc, "lock_problem", None)
        click.echo(
            _deploy_interrupted(project_path(metadata), target, engine, dry_run, lock_problem),
            err=True,
        )
        sys.exit(EXIT_INTERRUPTED)
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


def _deploy_interrupted(
    root: Path, target: str | None, engine: str, dry_run: bool, lock_problem: str | None
) -> str:
    """What a Ctrl-C left of a deploy, and how to finish it."""
    from kedro_dab.bundle.root import BundleRoot
    from kedro_dab.deploy.engines import choose_engine
    from kedro_dab.deploy.target import default_target

    if dry_run:
        return "Interrupted: the dry run changed nothing."
    name = target or default_target(BundleRoot.read(root.resolve()))
    again = f"`kedro dab deploy -t {name}` again finishes it"
    if choose_engine(engine) == "cli":
        return (
            f"Interrupted: the deploy of target '{name}' by the databricks CLI stopped part-way; "
            f"{again} (with --force-lock if the CLI left its deploy lock held)."
        )
    if lock_problem:
        return (
            f"Interrupted: the deploy of target '{name}' stopped part-way and {lock_problem}; "
            f"{again} with --force-lock."
        )
    return (
        f"Interrupted: the deploy of target '{name}' stopped part-way and the deploy lock is "
        f"released; {again}: a deploy converges from whatever an earlier one left."
    )


@click.command(name="run")
@click.argument("job", required=False)
@click.option(
    "--local",
    "local",
    is_flag=True,
    help="Run the job's tasks on this machine, each as Databricks would call it.",
)
@target_option
@env_option
@profile_option
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
@verbose_option
@click.pass_obj
@user_errors
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
    run_id: str | None,
) -> None:
    """Run a job on Databricks and follow it; with --local, simulate it here task by task,
    exactly as Databricks would call each task; with --repair, rerun a failed run's failed
    and skipped tasks."""
    if run_id and not (local or connect):
        raise click.UsageError("--run-id goes with --local")
    if not (local or connect):
        if env is not None:
            raise click.UsageError(
                "--env goes with --local: a job on Databricks runs with the Kedro env its "
                "target was deployed with (`kedro dab deploy -e ENV` changes it)"
            )
        if workers is not None:
            raise click.UsageError("--jobs goes with --local: Databricks schedules the tasks")
        if repair is not None and params is not None:
            raise click.UsageError(
                "--params goes with a new run: a repair runs again with the parameters of the "
                "run it repairs"
            )
    if (cluster_id or serverless) and not connect:
        raise click.UsageError(
            f"{'--cluster-id' if cluster_id else '--serverless'} goes with --connect"
        )
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
        _run_locally(project_path(metadata), job, env, params, workers, run_id, repair is not None)
    else:
        _run_remotely(project_path(metadata), job, target, profile, params, repair)


def _run_locally(
    root: Path,
    job: str | None,
    env: str | None,
    params: str | None,
    workers: int | None,
    run_id: str | None,
    repair: bool,
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
                + (f" --env {env}" if env else "")
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
    repair: str | None,
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
        if started and _confirm(f"Cancel run {started['run_id']} on Databricks?"):
            ended = api.cancel_run(root, started["run_id"], target, profile=profile, wait=True)
            for line in [*show.run_lines(ended), *_task_problems(ended)]:
                console.print(line, markup=False)
            console.print(f"cancelled run {started['run_id']}")
        elif started:
            where = f" ({started['url']})" if started["url"] else ""
            console.print(
                f"run {started['run_id']} goes on in Databricks{where}: follow it there, "
                "or cancel it there",
                markup=False,
            )
        sys.exit(EXIT_INTERRUPTED)
    finally:
        close_progress()
    for line in [*show.run_lines(final), *_task_problems(final)]:
        console.print(line, markup=False)
    console.print(f"run {final.run_id} ended: {final.result}  {final.url}")
    if not final.ok:
        sys.exit(1)


def _confirm(question: str) -> bool:
    """Ask, defaulting to yes; a Ctrl-C or end of input at the prompt answers no."""
    try:
        return click.confirm(question, default=True)
    except click.exceptions.Abort:
        click.echo()
        return False


PROBLEM_CHARACTERS = 200
"""How much of a task's state message the line after a run's final view shows."""


def _task_problems(status: Any) -> list[str]:
    """One line per failed or timed-out task: its state message, on one line, cut short."""
    from kedro_dab.deploy.runs import FAILED_TASK_STATES

    lines = []
    for task in status.task_runs:
        text = " ".join(task.message.split())
        if task.state not in FAILED_TASK_STATES or not text:
            continue
        if len(text) > PROBLEM_CHARACTERS:
            text = text[: PROBLEM_CHARACTERS - 3].rstrip() + "..."
        lines.append(f"task {task.key} {task.state}: {text}")
    return lines


def _run_id(text: str) -> int:
    from kedro_dab.errors import ConfigError

    if not re.fullmatch(r"[0-9]{1,19}", text) or int(text) > RUN_ID_MAX:
        raise ConfigError(
            f"--repair {text}: expected a run id (digits), or no value for the latest"
        )
    return int(text)


RUN_ID_MAX = 2**63 - 1
"""Databricks' run ids are 64-bit signed integers."""


@click.command()
@target_option
@engine_option
@profile_option
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@verbose_option
@click.pass_obj
@user_errors
def destroy(
    metadata: Any, target: str | None, engine: str, profile: str | None, auto_approve: bool
) -> None:
    """Remove the target's jobs and files from the workspace."""
    from kedro_dab import api
    from kedro_dab.bundle.root import BundleRoot
    from kedro_dab.deploy.target import default_target

    source = BundleRoot.read(project_path(metadata).resolve())
    name = target or default_target(source)

    def confirm(items: list[str]) -> bool:
        if auto_approve:
            return True
        what = items[0] if len(items) == 1 else f"these {len(items)} items"
        return click.confirm(f"Delete {what} from target '{name}'?")

    api.destroy(source, name, engine=engine, profile=profile, echo=click.echo, confirm=confirm)
