"""A bundle target in the workspace (`kedro dab deploy`, `destroy`, `summary`, `open`): deployed
with the Databricks CLI or databricks-sdk after the bundle is regenerated and validated,
removed, and read back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kedro_dab._api.bundling import bundle_for
from kedro_dab.bundle.root import BundleRoot

if TYPE_CHECKING:
    from kedro_dab.deploy.sdk import DeployReport
    from kedro_dab.deploy.summary import TargetSummary


def deploy(
    project_path: Path | str = ".",
    target: str | None = None,
    *,
    engine: str = "auto",
    env: str | None = None,
    profile: str | None = None,
    variables: Sequence[str] = (),
    dry_run: bool = False,
    force_lock: bool = False,
    auto_approve: bool = False,
    confirm_delete: Callable[[list[str]], bool] | None = None,
    echo: Callable[[str], None] = lambda line: None,
    client: Any = None,
) -> DeployReport:
    """`kedro dab deploy`: regenerate and validate the bundle, then deploy one target with the
    Databricks CLI (`engine="cli"`) or in pure Python through databricks-sdk (`"sdk"`);
    `"auto"` picks the CLI when it is on the PATH. A `dry_run` builds its wheel in a temporary
    folder, never in `dist/`. Jobs removed from the configuration are
    deleted only when `auto_approve` or `confirm_delete(keys)` says so."""
    import contextlib

    from kedro_dab.build import wheels_aside
    from kedro_dab.bundle.layout import ENV_VARIABLE
    from kedro_dab.bundle.validate import validate_bundle
    from kedro_dab.deploy import engines
    from kedro_dab.deploy.target import default_target
    from kedro_dab.errors import BundleError

    root = Path(project_path).resolve()
    chosen = engines.choose_engine(engine)
    source = BundleRoot.read(root)
    target_name = target or default_target(source)
    override = _env_override(variables)
    result, tasks_env = bundle_for(source, env, target_name, override, dry_run)
    if env is not None and override is None:
        variables = (*variables, f"{ENV_VARIABLE}={tasks_env}")
    if dry_run and result.files.changed:
        raise BundleError(
            "the bundle files are out of date; run `kedro dab bundle` before a "
            "dry run (a dry run writes nothing)"
        )
    report = validate_bundle(source, result.plan, result.rendered, run_cli=False)
    if not report.ok:
        raise BundleError("; ".join(report.problems))
    with wheels_aside() if dry_run else contextlib.nullcontext():
        if chosen == "cli":
            return engines.deploy_with_cli(
                root,
                target_name,
                profile=profile,
                variables=variables,
                dry_run=dry_run,
                force_lock=force_lock,
                auto_approve=auto_approve,
                echo=echo,
            )
        approve = (lambda keys: True) if auto_approve else (confirm_delete or (lambda keys: False))
        return engines.deploy_with_sdk(
            source.with_owned(result.rendered),
            target_name,
            conf_dir=result.plan.conf_dir,
            profile=profile,
            variables=variables,
            dry_run=dry_run,
            force_lock=force_lock,
            confirm_delete=approve,
            echo=echo,
            client=client,
        )


def _env_override(variables: Sequence[str]) -> str | None:
    """The env a deploy's `--var kedro_env=...` gives the tasks, if any."""
    from kedro_dab.bundle.layout import ENV_VARIABLE

    found = None
    for item in variables:
        name, sep, value = item.partition("=")
        if sep and name.strip() == ENV_VARIABLE:
            found = value.strip()
    return found


def destroy(
    project_path: Path | str | BundleRoot = ".",
    target: str | None = None,
    *,
    engine: str = "auto",
    profile: str | None = None,
    echo: Callable[[str], None] = lambda line: None,
    client: Any = None,
    confirm: Callable[[list[str]], bool] = lambda items: True,
) -> None:
    """`kedro dab destroy`: remove the target's jobs and workspace files. Everything it will
    delete is echoed first (one line per job and folder with the SDK engine), then
    `confirm(lines)` decides; the default approves. `project_path` may be the bundle root
    already read."""
    from kedro_dab.deploy import cli, engines
    from kedro_dab.deploy.target import default_target

    source = (
        project_path
        if isinstance(project_path, BundleRoot)
        else BundleRoot.read(Path(project_path).resolve())
    )
    target_name = target or default_target(source)
    root = source.path
    if engines.choose_engine(engine) == "cli":
        everything = "everything the databricks CLI deployed"
        if not confirm([everything]):
            echo("Nothing deleted.")
            return
        executable = cli.require_cli()
        cli.run_cli(
            executable,
            cli.bundle_args("destroy", target_name, profile=profile, extra=["--auto-approve"]),
            root,
            echo,
        )
        return
    engines.destroy_with_sdk(
        source, target_name, profile=profile, echo=echo, client=client, confirm=confirm
    )


def summary(
    project_path: Path | str = ".",
    target: str | None = None,
    *,
    profile: str | None = None,
    client: Any = None,
) -> TargetSummary:
    """`kedro dab summary`: each job of the target with its URL, the deployed wheel, when it
    was deployed, its last run, and whether the deployed settings equal the local bundle.
    Reads the workspace; changes nothing."""
    from kedro_dab.deploy.summary import summarize

    return summarize(Path(project_path).resolve(), target, profile=profile, client=client)


def job_url(
    project_path: Path | str = ".",
    job: str | None = None,
    target: str | None = None,
    *,
    profile: str | None = None,
    client: Any = None,
) -> tuple[str, str]:
    """`kedro dab open`: (job key, URL) of a deployed job (`job` may be left out when the
    target has one)."""
    from kedro_dab.deploy.summary import job_url as find_url

    return find_url(Path(project_path).resolve(), target, job, profile=profile, client=client)
