"""Planning a project for a Kedro env (`kedro dab plan`, `kedro dab diff`): the env to use, the
project read once, its plan, and that plan compared with the plan at a git revision."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kedro_dab.bundle.root import BundleRoot
from kedro_dab.plan import Plan
from kedro_dab.project import ProjectModel

if TYPE_CHECKING:
    from kedro_dab.diff import PlanDiff


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


def diff(project_path: Path | str = ".", base: str = "HEAD", env: str | None = None) -> PlanDiff:
    """`kedro dab diff`: what the project as it is now does to the jobs, compared with the
    project at git revision `base` (planned from a clean export of that revision, in a
    subprocess with the same Python and Kedro)."""
    from kedro_dab.bundle.root import check_root_file_name
    from kedro_dab.diff import base_plan, diff_plans
    from kedro_dab.plan_json import plan_to_dict

    root = Path(project_path).resolve()
    check_root_file_name(root)  # before the (slow) base plan, as `plan` would refuse it
    before = base_plan(root, base, env)
    return diff_plans(before, plan_to_dict(make_plan(root, env)), base)
