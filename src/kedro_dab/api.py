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

from kedro_dab.bundle.root import BundleRoot
from kedro_dab.plan import Plan
from kedro_dab.project import ProjectModel

if TYPE_CHECKING:
    from kedro_dab.build import Artifact
    from kedro_dab.bundle.scaffold import InitReport
    from kedro_dab.bundle.validate import ValidationReport
    from kedro_dab.bundle.write import WriteReport
    from kedro_dab.deploy.runs import RunStatus
    from kedro_dab.deploy.sdk import DeployReport
    from kedro_dab.deploy.summary import TargetSummary
    from kedro_dab.diff import PlanDiff
    from kedro_dab.simulate import SimulationResult, TaskRun

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
    "diff",
    "export_model",
    "init",
    "job_url",
    "local_plan",
    "make_plan",
    "read",
    "repair_run",
    "resolve_env",
    "run",
    "simulate",
    "summary",
    "validate",
]


_LAZY_TYPES = {
    "RunStatus": "kedro_dab.deploy.runs",
    "DeployReport": "kedro_dab.deploy.sdk",
    "InitReport": "kedro_dab.bundle.scaffold",
    "ValidationReport": "kedro_dab.bundle.validate",
    "WriteReport": "kedro_dab.bundle.write",
    "SimulationResult": "kedro_dab.simulate",
    "TaskRun": "kedro_dab.simulate",
}


def __getattr__(name: str) -> Any:
    """Result types load on first use: planning never pays for databricks-sdk, the bundle
    writer, the scaffold or the simulator."""
    if name in _LAZY_TYPES:
        import importlib

        return getattr(importlib.import_module(_LAZY_TYPES[name]), name)
    raise AttributeError(name)


def resolve_env(project_path: Path | str, env: str | None = None) -> str:
    """The Kedro env to use: `env` if given, else `databricks.yml`'s default, else `databricks`."""
    return env or BundleRoot.read(Path(project_path)).default_env


def read(project_path: Path | str = ".", env: str | None = None) -> ProjectModel:
    """Read the project once (pipelines, catalog, dab.yml) for the given env."""
    from kedro_dab.project import read_project

    return read_project(project_path, resolve_env(project_path, env))


def make_plan(project_path: Path | str = ".", env: str | None = None) -> Plan:
    """`kedro dab plan`: group the project's jobs into tasks and prove the grouping safe, for
    `env` (default: the env the default target's tasks run with; never `local`)."""
    from kedro_dab.bundle.layout import default_env, task_envs
    from kedro_dab.plan import build_plan
    from kedro_dab.project import read_project

    data = BundleRoot.read(Path(project_path)).data if env is None else None
    chosen = default_env(data, task_envs(data, env))
    return build_plan(read_project(project_path, chosen))


def local_plan(project_path: Path | str = ".", env: str | None = None) -> Plan:
    """The plan a local command (`run --local`, `serve`) runs: built with exactly `env`, the
    env the local process uses, which need not be one a bundle target deploys (default: the
    default target's)."""
    from kedro_dab.plan import build_plan
    from kedro_dab.project import read_project

    if env is None:
        return make_plan(project_path, None)
    return build_plan(read_project(project_path, env))


@dataclass(frozen=True)
class _Planned:
    """Every target planned with the env its tasks run with."""

    plan: Plan
    """The plan to show (and the one whose files are written)."""
    rendered: dict[str, str]
    envs: dict[str, str]
    """Target -> the env its tasks run with."""
    catalogs: dict[str, Mapping[str, Any]]
    """Env -> its catalog configuration, as read for the plan."""


def _target_plans(
    bundle: BundleRoot,
    env: str | None = None,
    target: str | None = None,
    override: str | None = None,
) -> _Planned:
    """Plan every target (or `target`) with the env its tasks run with; the rendered files must
    be the same for all, since the targets share them."""
    from kedro_dab.bundle.apps import render_apps
    from kedro_dab.bundle.layout import default_env, task_envs
    from kedro_dab.bundle.model_serving import render_model_serving
    from kedro_dab.bundle.render import render_plan
    from kedro_dab.errors import BundleError
    from kedro_dab.plan import build_plan
    from kedro_dab.project import read_project

    root, data = bundle.path, bundle.data
    envs = task_envs(data, env, target, override)
    every = task_envs(data) if data is not None else {}
    names = bundle.target_names
    shown = env or override or default_env(data, envs)
    plans: dict[str, Plan] = {}
    catalogs: dict[str, Mapping[str, Any]] = {}
    rendered: dict[str, dict[str, str]] = {}
    for name in dict.fromkeys([shown, *envs.values(), *every.values()]):
        model = read_project(root, name)
        catalogs[name] = model.catalog
        plans[name] = build_plan(model)
        rendered[name] = render_plan(plans[name], names)
        rendered[name].update(render_apps(plans[name], root))
        rendered[name].update(render_model_serving(plans[name]))
    for name, files in rendered.items():
        if files != rendered[shown]:
            users = ", ".join(t for t, e in {**every, **envs}.items() if e == name)
            raise BundleError(
                f"targets run their tasks with Kedro envs '{shown}' and '{name}' ({users}), "
                "whose catalogs give different jobs, but the targets share one set of job "
                "files; make the envs agree on which datasets are persisted, or give the "
                "targets one env"
            )
    return _Planned(plans[shown], rendered[shown], envs, catalogs)


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
    from kedro_dab.bundle.write import write_owned

    source = BundleRoot.read(Path(project_path).resolve())
    planned = _target_plans(source, env)
    _check_wiring(source, planned.plan)
    report = write_owned(source.path, planned.rendered, check=check, force=force)
    return BundleResult(planned.plan, report, planned.rendered)


def _bundle_for(
    bundle: BundleRoot, env: str | None, target: str, override: str | None, check: bool
) -> tuple[BundleResult, str]:
    """`bundle` for a deploy of `target`: also planned with the env that target's tasks will
    get; returns the result and that env."""
    from kedro_dab.bundle.layout import check_env_shipped
    from kedro_dab.bundle.write import write_owned

    planned = _target_plans(bundle, env, target, override)
    plan, envs = planned.plan, planned.envs
    _check_wiring(bundle, plan)
    check_env_shipped(bundle.path / plan.conf_dir, envs[target], plan.conf_dir, target)
    report = write_owned(bundle.path, planned.rendered, check=check)
    return BundleResult(plan, report, planned.rendered), envs[target]


def _check_wiring(bundle: BundleRoot, plan: Plan) -> None:
    """Stop on the first problem `validate` would report about the bundle root's wiring."""
    from kedro_dab.bundle.validate import wiring_problems
    from kedro_dab.errors import BundleError

    problems = wiring_problems(bundle, plan)
    if problems:
        raise BundleError(problems[0])


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
    from kedro_dab import compat, kedro_config
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
        conf_dir=kedro_config.conf_source_dir(root).relative_to(root).as_posix(),
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
    from kedro_dab.bundle.validate import validate_bundle

    source = BundleRoot.read(Path(project_path).resolve())
    planned = _target_plans(source, env)
    return validate_bundle(
        source,
        planned.plan,
        planned.rendered,
        run_cli=run_cli,
        task_envs=list(planned.envs.values()),
        catalogs=planned.catalogs,
    )


def simulate(
    project_path: Path | str = ".",
    job: str | None = None,
    env: str | None = None,
    *,
    params: str | None = None,
    workers: int | None = None,
    listener: Callable[[TaskRun], None] | None = None,
    plan: Plan | None = None,
    run_id: str | None = None,
    repair: bool = False,
) -> SimulationResult:
    """`kedro dab run --local`: run a job's tasks on this machine as Databricks would, each in
    its own process, in dependency order. `env` is the Kedro env the tasks run with (default:
    the bundle's); `plan` may be given to simulate a plan built elsewhere. A job that persists
    boundary datasets runs under `run_id` (new by default); `repair` reruns what did not
    succeed in that run."""
    from kedro_dab.simulate import simulate as run_locally

    root = Path(project_path).resolve()
    if plan is None:
        plan = local_plan(root, env)
    return run_locally(
        root,
        plan,
        job,
        env=env,
        params=params,
        workers=workers,
        listener=listener,
        run_id=run_id,
        repair=repair,
    )


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
    result, tasks_env = _bundle_for(source, env, target_name, override, dry_run)
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
    from kedro_dab.deploy.target import load_target

    root = Path(project_path).resolve()
    loaded = load_target(root, target)
    workspace, key, job_id = job_id_for(root, loaded, job, profile=profile, client=client)
    values = job_parameters(loaded, key, params)
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
    wait: bool = False,
) -> RunStatus | None:
    """Cancel a run started by `run`; with `wait`, follow it until it has ended (so that no
    task is left running) and return its final state."""
    from kedro_dab.deploy import runs
    from kedro_dab.deploy.target import load_target
    from kedro_dab.deploy.workspace import Workspace, connect

    loaded = load_target(Path(project_path).resolve(), target)
    workspace = Workspace(client or connect(loaded.host, profile))
    runs.cancel(workspace, run_id)
    if not wait:
        return None
    return runs.follow(workspace, run_id, lambda status: None)


def repair_run(
    project_path: Path | str = ".",
    job: str | None = None,
    target: str | None = None,
    *,
    run_id: int | None = None,
    profile: str | None = None,
    on_change: Callable[[RunStatus], None] = lambda status: None,
    on_start: Callable[[int, str], None] = lambda run_id, url: None,
    client: Any = None,
) -> RunStatus:
    """`kedro dab run --repair [RUN_ID]`: run the failed, cancelled and skipped tasks of the
    job's latest unsuccessful run (or of `run_id`) again inside that run (Jobs API
    `runs/repair`), and follow it until it ends."""
    from kedro_dab.deploy import runs
    from kedro_dab.deploy.engines import job_id_for
    from kedro_dab.deploy.target import load_target

    root = Path(project_path).resolve()
    loaded = load_target(root, target)
    workspace, key, job_id = job_id_for(root, loaded, job, profile=profile, client=client)
    if run_id is None:
        run_id = runs.latest_unsuccessful_run(workspace, job_id, key)
    runs.repair(workspace, run_id)
    on_start(run_id, runs.status(workspace, run_id).url)
    return runs.follow(workspace, run_id, on_change)


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


def build(project_path: Path | str = ".") -> list[Artifact]:
    """`kedro dab build`: the project wheel (version stamped with a content hash) and the conf
    archive (`dist/conf-<package>.tar.gz`, never conf/local or credentials)."""
    from kedro_dab import compat, kedro_config
    from kedro_dab.build import build_conf_archive, build_wheel

    root = Path(project_path).resolve()
    metadata = compat.bootstrap(root)
    conf_dir = kedro_config.conf_source_dir(root).relative_to(root).as_posix()
    wheel = build_wheel(root)
    from kedro_dab.bundle.apps import stage_wheel

    stage_wheel(root, wheel.path)
    return [wheel, build_conf_archive(root, conf_dir, metadata.package_name)]


def diff(project_path: Path | str = ".", base: str = "HEAD", env: str | None = None) -> PlanDiff:
    """`kedro dab diff`: what the project as it is now does to the jobs, compared with the
    project at git revision `base` (planned from a clean export of that revision, in a
    subprocess with the same Python and Kedro)."""
    from kedro_dab.diff import base_plan, diff_plans
    from kedro_dab.plan import plan_to_dict

    root = Path(project_path).resolve()
    before = base_plan(root, base, env)
    return diff_plans(before, plan_to_dict(make_plan(root, env)), base)


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


def serving_app(
    project_path: Path | str = ".",
    endpoints: Sequence[str] = (),
    env: str | None = None,
    *,
    token: str | None = None,
    max_body_bytes: int | None = None,
) -> Any:
    """The ASGI app `kedro dab serve` runs: the plan's serving endpoints (`endpoints` picks
    some by name; default all), with the project's catalog built and `preload` datasets loaded
    once. `token`, when given, is required as a bearer token on every invocation."""
    from kedro_dab.serve.app import DEFAULT_MAX_BODY_BYTES, create_app, require_extra
    from kedro_dab.serve.startup import load_service, require_kedro_1

    require_extra()
    require_kedro_1()
    root = Path(project_path).resolve()
    plan = local_plan(root, env)
    service = load_service(root, plan.env, plan.endpoints, endpoints)
    return create_app(service, token=token, max_body_bytes=max_body_bytes or DEFAULT_MAX_BODY_BYTES)


SERVE_TOKEN_VARIABLE = "KEDRO_DAB_SERVE_TOKEN"


def serve(
    project_path: Path | str = ".",
    endpoints: Sequence[str] = (),
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    env: str | None = None,
    token: str | None = None,
    access_log: bool = True,
) -> None:
    """`kedro dab serve`: answer the serving endpoints over HTTP until interrupted. Binds
    127.0.0.1 unless `host` says otherwise; the bearer token defaults to the
    `KEDRO_DAB_SERVE_TOKEN` environment variable (none: no token needed)."""
    import os

    from kedro_dab.serve.app import run_server

    chosen = token if token is not None else os.environ.get(SERVE_TOKEN_VARIABLE) or None
    app = serving_app(project_path, endpoints, env, token=chosen)
    if chosen is None and host not in ("127.0.0.1", "localhost", "::1"):
        import logging

        logging.getLogger("kedro_dab.serve").warning(
            "Serving on %s without a token: anyone who reaches this address can call the "
            "endpoints; set %s to require one",
            host,
            SERVE_TOKEN_VARIABLE,
        )
    run_server(app, host, port, access_log=access_log)


def export_model(
    project_path: Path | str,
    endpoint: str,
    output: Path | str,
    env: str | None = None,
    example: Path | str | None = None,
) -> Path:
    """`kedro dab export-model`: write serving endpoint `endpoint` as an MLflow pyfunc model
    folder at `output` (which must not exist), wrapping the same serving core as
    `kedro dab serve`. `example`, a JSON request body file in Model Serving's shapes, gives the
    model its input example and signature columns. Needs the `mlflow` extra and Kedro 1.x."""
    import json

    from kedro_dab.errors import ConfigError
    from kedro_dab.serve.errors import ServeError
    from kedro_dab.serve.mlflow_model import export_model as export
    from kedro_dab.serve.mlflow_model import require_extra
    from kedro_dab.serve.startup import require_kedro_1

    require_extra()
    require_kedro_1()
    root = Path(project_path).resolve()
    target = Path(output).resolve()
    if target.exists():
        raise ServeError(f"{target} already exists; remove it or choose another --output")
    body = None
    if example is not None:
        try:
            body = json.loads(Path(example).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{example}: cannot read a JSON request body: {exc}") from None
    plan = local_plan(root, env)
    by_name = {e.name: e for e in plan.endpoints}
    if endpoint not in by_name:
        known = ", ".join(sorted(by_name)) or "none"
        raise ServeError(f"no serving endpoint '{endpoint}' in dab.yml; endpoints: {known}")
    return export(
        root,
        plan.env,
        by_name[endpoint],
        plan.package_name,
        plan.conf_dir,
        plan.dependencies,
        target,
        body,
    )
