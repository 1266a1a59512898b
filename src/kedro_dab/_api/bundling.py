"""The bundle root's own files (`kedro dab init`, `bundle`, `validate`, `build`): every target
planned with the env its tasks run with, the job files rendered once for all of them, written
or checked, and the artifacts the jobs install."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from kedro_dab._api.planning import resolve_env
from kedro_dab.bundle.root import BundleRoot
from kedro_dab.plan import Plan

if TYPE_CHECKING:
    from kedro_dab.build import Artifact
    from kedro_dab.bundle.scaffold import InitReport
    from kedro_dab.bundle.validate import ValidationReport
    from kedro_dab.bundle.write import WriteReport


class TargetPlans(msgspec.Struct, frozen=True):
    """Every target planned with the env its tasks run with."""

    plan: Plan
    """The plan to show (and the one whose files are written)."""
    rendered: dict[str, str]
    envs: dict[str, str]
    """Target -> the env its tasks run with."""
    catalogs: dict[str, Mapping[str, Any]]
    """Env -> its catalog configuration, as read for the plan."""


def target_plans(
    bundle: BundleRoot,
    env: str | None = None,
    target: str | None = None,
    override: str | None = None,
) -> TargetPlans:
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
    return TargetPlans(plans[shown], rendered[shown], envs, catalogs)


class BundleResult(msgspec.Struct, frozen=True):
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
    planned = target_plans(source, env)
    _check_wiring(source, planned.plan)
    report = write_owned(source.path, planned.rendered, check=check, force=force)
    return BundleResult(planned.plan, report, planned.rendered)


def bundle_for(
    bundle: BundleRoot, env: str | None, target: str, override: str | None, check: bool
) -> tuple[BundleResult, str]:
    """`bundle` for a deploy of `target`: also planned with the env that target's tasks will
    get; returns the result and that env."""
    from kedro_dab.bundle.layout import check_env_shipped
    from kedro_dab.bundle.write import write_owned

    planned = target_plans(bundle, env, target, override)
    plan, envs = planned.plan, planned.envs
    _check_wiring(bundle, plan)
    check_env_shipped(bundle.path / plan.conf_dir, envs[target], plan.conf_dir, target, bundle.path)
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
    planned = target_plans(source, env)
    return validate_bundle(
        source,
        planned.plan,
        planned.rendered,
        run_cli=run_cli,
        task_envs=list(planned.envs.values()),
        catalogs=planned.catalogs,
    )


def build(project_path: Path | str = ".") -> list[Artifact]:
    """`kedro dab build`: the project wheel (version stamped with a content hash) and the conf
    archive (`dist/conf-<package>.tar.gz`, never conf/local or credentials)."""
    from kedro_dab import compat, kedro_config
    from kedro_dab.build import build_conf_archive, build_wheel
    from kedro_dab.bundle.apps import stage_wheel
    from kedro_dab.bundle.layout import DEFAULT_ENV
    from kedro_dab.bundle.root import check_root_file_name
    from kedro_dab.project import refuse_shipped_credentials

    root = Path(project_path).resolve()
    check_root_file_name(root)
    metadata = compat.bootstrap(root)
    conf_path = kedro_config.conf_source_dir(root)
    refuse_shipped_credentials(kedro_config.config_loader(root, DEFAULT_ENV), root, conf_path)
    conf_dir = conf_path.relative_to(root).as_posix()
    wheel = build_wheel(root, conf_dir=conf_dir)
    stage_wheel(root, wheel.path)
    return [wheel, build_conf_archive(root, conf_dir, metadata.package_name)]
