"""The public Python API. Every `kedro dab` command is a thin wrapper of one function here,
so CI scripts and tests can do the same without the command line.

Each function takes the project folder and, where it matters, the Kedro env the Databricks
tasks run with (default: the `kedro_env` variable of `databricks.yml`, else `databricks`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kedro_dab.bundle.layout import env_from_databricks_yml
from kedro_dab.bundle.scaffold import InitReport
from kedro_dab.bundle.validate import ValidationReport
from kedro_dab.bundle.write import WriteReport
from kedro_dab.plan import Plan
from kedro_dab.project import ProjectModel
from kedro_dab.simulate import SimulationResult, TaskRun

__all__ = [
    "BundleResult",
    "InitReport",
    "Plan",
    "ProjectModel",
    "SimulationResult",
    "ValidationReport",
    "WriteReport",
    "bundle",
    "init",
    "make_plan",
    "read",
    "resolve_env",
    "simulate",
    "validate",
]


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


def bundle(
    project_path: Path | str = ".",
    env: str | None = None,
    *,
    check: bool = False,
    force: bool = False,
) -> BundleResult:
    """`kedro dab bundle`: write one resource file per job into `resources/kedro-dab/`.
    With `check`, write nothing and report whether the files on disk are current."""
    from kedro_dab.bundle.layout import check_bundle_root
    from kedro_dab.bundle.render import render_plan
    from kedro_dab.bundle.write import write_owned

    root = Path(project_path).resolve()
    plan = make_plan(root, env)
    check_bundle_root(root, plan.conf_dir)
    report = write_owned(root, render_plan(plan), check=check, force=force)
    return BundleResult(plan, report)


def init(
    project_path: Path | str = ".",
    env: str | None = None,
    *,
    host: str | None = None,
    force: bool = False,
) -> InitReport:
    """`kedro dab init`: create or complete databricks.yml, conf/base/dab.yml, the env folder
    and .gitignore entries. Offline; never overwrites a user's file unless `force`."""
    from kedro_dab import compat
    from kedro_dab.bundle.scaffold import init_project

    root = Path(project_path).resolve()
    metadata = compat.bootstrap(root)
    return init_project(
        root,
        project_name=metadata.project_name,
        package_name=metadata.package_name,
        conf_dir=compat.conf_source_dir(root).relative_to(root).as_posix(),
        env=resolve_env(root, env),
        host=host,
        force=force,
    )


def validate(
    project_path: Path | str = ".", env: str | None = None, *, run_cli: bool = True
) -> ValidationReport:
    """`kedro dab validate`: the plan's invariants, the jobs' structure, the bundle root's
    wiring, the generated files being current, and the Databricks CLI's strict validation
    when a CLI is on the PATH."""
    from kedro_dab.bundle.render import render_plan
    from kedro_dab.bundle.validate import validate_bundle

    root = Path(project_path).resolve()
    plan = make_plan(root, env)
    return validate_bundle(root, plan, render_plan(plan), run_cli=run_cli)


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
