"""The public Python API. Every `kedro dab` command is a thin wrapper of one function here,
so CI scripts and tests can do the same without the command line.

Each function takes the project folder and, where it matters, the Kedro env the Databricks
tasks run with (default: the `kedro_env` variable of `databricks.yml`, else `databricks`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kedro_dab.bundle.layout import env_from_databricks_yml
from kedro_dab.bundle.scaffold import InitReport
from kedro_dab.bundle.validate import ValidationReport
from kedro_dab.bundle.write import WriteReport
from kedro_dab.plan import Plan
from kedro_dab.project import ProjectModel
from kedro_dab.simulate import SimulationResult, TaskRun

if TYPE_CHECKING:
    from kedro_dab.build import Artifact
    from kedro_dab.deploy.runs import RunStatus
    from kedro_dab.deploy.sdk import DeployReport

__all__ = [
    "BundleResult",
    "DeployReport",
    "InitReport",
    "Plan",
    "ProjectModel",
    "RunStatus",
    "SimulationResult",
    "ValidationReport",
    "WriteReport",
    "build",
    "bundle",
    "cancel_run",
    "deploy",
    "destroy",
    "init",
    "make_plan",
    "read",
    "resolve_env",
    "run",
    "simulate",
    "validate",
]


def __getattr__(name: str) -> Any:
    """Deploy types load on first use: reading and planning never pay for databricks-sdk."""
    if name == "RunStatus":
        from kedro_dab.deploy.runs import RunStatus

        return RunStatus
    if name == "DeployReport":
        from kedro_dab.deploy.sdk import DeployReport

        return DeployReport
    raise AttributeError(name)


def resolve_env(project_path: Path | str, env: str | None = None) -> str:
    """The Kedro env to use: `env` if given, else `databricks.yml`'s default, else `databricks`."""
    return env or env_from_databricks_yml(Path(project_path))


def read(project_path: Path | str = ".", env: str | None = None) -> ProjectModel:
    """Read the project once (pipelines, catalog, dab.yml) for the given env."""
    from kedro_dab.project import read_project

    return read_project(project_path, resolve_env(project_path, env))


def make_plan(project_path: Path | str = ".", env: str | None = None) -> Plan:
    """`kedro dab plan`: group the project's jobs into tasks and prove the grouping safe."""
    from kedro_dab.plan import build_plan

    return build_plan(read(project_path, env))


@dataclass(frozen=True)
class BundleResult:
    """The plan that was rendered and what happened to the files."""

    plan: Plan
    files: WriteReport
    rendered: Mapping[str, str]
    """File name in resources/kedro-dab/ -> the text kedro-dab generates for it."""


def bundle(
    project_path: Path | str = ".",
    env: str | None = None,
    *,
    check: bool = False,
    force: bool = False,
) -> BundleResult:
    """`kedro dab bundle`: write one resource file per job into `resources/kedro-dab/`.
    With `check`, write nothing and report whether the files on disk are current."""
    from kedro_dab.bundle.render import render_plan
    from kedro_dab.bundle.write import write_owned

    root = Path(project_path).resolve()
    plan = make_plan(root, env)
    rendered = render_plan(plan, bundle_targets(root, plan))
    report = write_owned(root, rendered, check=check, force=force)
    return BundleResult(plan, report, rendered)


def bundle_targets(root: Path, plan: Plan) -> list[str]:
    """Check the bundle root is wired for kedro-dab; the names of its targets."""
    from kedro_dab.bundle.layout import check_bundle_root, check_target_settings, target_names
    from kedro_dab.bundle.scaffold import RUNNER

    data = check_bundle_root(root, plan.conf_dir)
    check_target_settings(root, data, plan.targets, RUNNER)
    return target_names(data)


def init(
    project_path: Path | str = ".",
    env: str | None = None,
    *,
    host: str | None = None,
    force: bool = False,
    ci: str | None = None,
    vscode: bool = False,
) -> InitReport:
    """`kedro dab init`: create or complete databricks.yml, conf/base/dab.yml, the env folder
    and .gitignore entries. Offline; never overwrites a user's file unless `force`."""
    from kedro_dab import compat
    from kedro_dab.bundle.layout import DEFAULT_ENV
    from kedro_dab.bundle.scaffold import init_project
    from kedro_dab.errors import ConfigError

    root = Path(project_path).resolve()
    metadata = compat.bootstrap(root)
    try:
        chosen = resolve_env(root, env)
    except ConfigError:  # a broken databricks.yml: init names it, or --force replaces it
        chosen = env or DEFAULT_ENV
    return init_project(
        root,
        project_name=metadata.project_name,
        package_name=metadata.package_name,
        conf_dir=compat.conf_source_dir(root).relative_to(root).as_posix(),
        env=chosen,
        host=host,
        force=force,
        ci=ci,
        vscode=vscode,
    )


def validate(
    project_path: Path | str = ".", env: str | None = None, *, run_cli: bool = True
) -> ValidationReport:
    """`kedro dab validate`: the plan's invariants, the jobs' structure, the bundle root's
    wiring, the generated files being current, and the Databricks CLI's strict validation
    when a CLI is on the PATH."""
    from kedro_dab.bundle.layout import read_databricks_yml, target_names
    from kedro_dab.bundle.render import render_plan
    from kedro_dab.bundle.validate import validate_bundle

    root = Path(project_path).resolve()
    plan = make_plan(root, env)
    targets = target_names(read_databricks_yml(root) or {})
    return validate_bundle(root, plan, render_plan(plan, targets), run_cli=run_cli)


def simulate(
    project_path: Path | str = ".",
    job: str | None = None,
    env: str | None = None,
    *,
    params: str | None = None,
    workers: int | None = None,
    listener: Callable[[TaskRun], None] | None = None,
    plan: Plan | None = None,
) -> SimulationResult:
    """`kedro dab run --local`: run a job's tasks on this machine as Databricks would, each in
    its own process, in dependency order. `env` is the Kedro env the tasks run with (default:
    the bundle's); `plan` may be given to simulate a plan built elsewhere."""
    from kedro_dab.simulate import simulate as run_locally

    root = Path(project_path).resolve()
    if plan is None:
        plan = make_plan(root, env)
    return run_locally(root, plan, job, env=env, params=params, workers=workers, listener=listener)


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
    `"auto"` picks the CLI when it is on the PATH. Jobs removed from the configuration are
    deleted only when `auto_approve` or `confirm_delete(keys)` says so."""
    from kedro_dab.bundle.validate import validate_bundle
    from kedro_dab.deploy import engines
    from kedro_dab.deploy.target import default_target
    from kedro_dab.errors import BundleError

    root = Path(project_path).resolve()
    chosen = engines.choose_engine(engine)
    result = bundle(root, env, check=dry_run)
    if dry_run and result.files.changed:
        raise BundleError(
            "the bundle files are out of date; run `kedro dab bundle` before a "
            "dry run (a dry run writes nothing)"
        )
    report = validate_bundle(root, result.plan, result.rendered, run_cli=False)
    if not report.ok:
        raise BundleError("; ".join(report.problems))
    target_name = target or default_target(root)
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
        root,
        target_name,
        package=result.plan.package_name,
        conf_dir=result.plan.conf_dir,
        profile=profile,
        variables=variables,
        dry_run=dry_run,
        force_lock=force_lock,
        confirm_delete=approve,
        echo=echo,
        client=client,
    )


def run(
    project_path: Path | str = ".",
    job: str | None = None,
    target: str | None = None,
    *,
    profile: str | None = None,
    params: str | None = None,
    on_change: Callable[[RunStatus], None] = lambda status: None,
    on_start: Callable[[int, str], None] = lambda run_id, url: None,
    client: Any = None,
) -> RunStatus:
    """`kedro dab run`: start a deployed job (run-now) with `params` (`name=value,...`) as
    its job parameters, and follow it until it ends."""
    from kedro_dab.deploy import runs
    from kedro_dab.deploy.engines import job_id_for, job_parameters

    root = Path(project_path).resolve()
    workspace, key, job_id = job_id_for(root, target, job, profile=profile, client=client)
    values = job_parameters(root, target, key, params)
    run_id = runs.start(workspace, job_id, values)
    first = runs.status(workspace, run_id)
    on_start(run_id, first.url)
    return runs.follow(workspace, run_id, on_change)


def cancel_run(
    project_path: Path | str,
    run_id: int,
    target: str | None = None,
    *,
    profile: str | None = None,
    client: Any = None,
) -> None:
    """Cancel a run started by `run`."""
    from kedro_dab.deploy import runs
    from kedro_dab.deploy.target import load_target
    from kedro_dab.deploy.workspace import Workspace, connect

    loaded = load_target(Path(project_path).resolve(), target)
    runs.cancel(Workspace(client or connect(loaded.host, profile)), run_id)


def destroy(
    project_path: Path | str = ".",
    target: str | None = None,
    *,
    engine: str = "auto",
    profile: str | None = None,
    echo: Callable[[str], None] = lambda line: None,
    client: Any = None,
) -> None:
    """`kedro dab destroy`: remove the target's jobs and workspace files (ask first: this
    function does not)."""
    from kedro_dab.deploy import cli, engines
    from kedro_dab.deploy.target import default_target

    root = Path(project_path).resolve()
    target_name = target or default_target(root)
    if engines.choose_engine(engine) == "cli":
        executable = cli.require_cli()
        cli.run_cli(
            executable,
            cli.bundle_args("destroy", target_name, profile=profile, extra=["--auto-approve"]),
            root,
            echo,
        )
        return
    engines.destroy_with_sdk(root, target_name, profile=profile, echo=echo, client=client)


def build(project_path: Path | str = ".") -> list[Artifact]:
    """`kedro dab build`: the project wheel (version stamped with a content hash) and the conf
    archive (`dist/conf-<package>.tar.gz`, never conf/local or credentials)."""
    from kedro_dab import compat
    from kedro_dab.build import build_conf_archive, build_wheel

    root = Path(project_path).resolve()
    metadata = compat.bootstrap(root)
    conf_dir = compat.conf_source_dir(root).relative_to(root).as_posix()
    return [build_wheel(root), build_conf_archive(root, conf_dir, metadata.package_name)]
