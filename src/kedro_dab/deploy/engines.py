"""Choose an engine and deploy, run or destroy a target with it.

Both engines deploy the same generated bundle; neither regenerates nor re-groups anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kedro_dab.bundle.root import BundleRoot, as_bundle_root
from kedro_dab.deploy import cli
from kedro_dab.deploy.apps_api import Apps
from kedro_dab.deploy.changes import JobChange
from kedro_dab.deploy.files import runs_source, source_files, uses_wheel
from kedro_dab.deploy.sdk import DeployReport, deploy_target
from kedro_dab.deploy.state import read_state
from kedro_dab.deploy.sync import synced
from kedro_dab.deploy.target import Target, load_target
from kedro_dab.deploy.teardown import plan_destroy
from kedro_dab.deploy.workspace import Workspace, WorkspaceError, connect
from kedro_dab.errors import ConfigError

ENGINES = ("auto", "cli", "sdk")


def choose_engine(engine: str) -> str:
    """`auto` is `cli` when a `databricks` CLI is on the PATH, else `sdk`."""
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine '{engine}'; use one of {', '.join(ENGINES)}")
    if engine == "auto":
        return "cli" if cli.find_cli() else "sdk"
    return engine


def parse_vars(assignments: Sequence[str]) -> dict[str, str]:
    """`--var k=v` options as a mapping."""
    out = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--var {item}: expected name=value")
        out[key] = value
    return out


def deploy_with_cli(
    root: Path,
    target: str,
    *,
    profile: str | None,
    variables: Sequence[str],
    dry_run: bool,
    force_lock: bool,
    auto_approve: bool,
    echo: Callable[[str], None],
) -> DeployReport:
    """`databricks bundle validate --strict`, then `databricks bundle deploy` (unless dry run)."""
    executable = cli.require_cli()
    if not dry_run:
        _stage_app_wheel(root, echo)
    cli.run_cli(
        executable,
        cli.bundle_args(
            "validate", target, profile=profile, variables=variables, extra=["--strict"]
        ),
        root,
        echo,
    )
    if not dry_run:
        extra = [
            flag
            for flag, on in (("--force-lock", force_lock), ("--auto-approve", auto_approve))
            if on
        ]
        cli.run_cli(
            executable,
            cli.bundle_args("deploy", target, profile=profile, variables=variables, extra=extra),
            root,
            echo,
        )
        for key in _generated_app_keys(root):
            # `bundle deploy` creates an app without compute; `bundle run` starts it and
            # deploys its source, so the endpoint answers (what the SDK engine does too).
            cli.run_cli(
                executable,
                cli.bundle_args("run", target, profile=profile, variables=variables, extra=[key]),
                root,
                echo,
            )
    return DeployReport(target, "cli", dry_run)


def _generated_app_keys(root: Path) -> list[str]:
    """The keys of the apps kedro-dab renders (its `serving.apps.yml`), sorted."""
    from kedro_dab.bundle import cli_yaml
    from kedro_dab.bundle.apps import APPS_FILE
    from kedro_dab.bundle.layout import OWNED_DIR

    path = root / OWNED_DIR / APPS_FILE
    if not path.is_file():
        return []
    data = cli_yaml.load(path.read_text(encoding="utf-8")) or {}
    return sorted((data.get("resources") or {}).get("apps") or {})


def _stage_app_wheel(root: Path, echo: Callable[[str], None]) -> None:
    """Bundles with Databricks Apps carry the project wheel in each app's source folder: the
    app's container cannot read the bundle's artifact path."""
    from kedro_dab.build import build_wheel
    from kedro_dab.bundle.apps import app_folders, stage_wheel

    if not app_folders(root):
        return
    echo("building the project wheel for the app(s)")
    wheel = build_wheel(root)
    for path in stage_wheel(root, wheel.path):
        echo(f"staged {path.relative_to(root).as_posix()}")


def deploy_with_sdk(
    root: Path | BundleRoot,
    target_name: str | None,
    *,
    conf_dir: str,
    profile: str | None,
    variables: Sequence[str],
    dry_run: bool,
    force_lock: bool,
    confirm_delete: Callable[[list[str]], bool],
    echo: Callable[[str], None],
    client: Any = None,
) -> DeployReport:
    """Build the target from the bundle root (as the command read it, or read from the folder
    `root`) and read the conf, check the host and credentials, build the wheel, then deploy
    through databricks-sdk. Local inputs are checked before the workspace is contacted, and the
    workspace before the (slow) wheel build."""
    from kedro_dab.build import build_wheel
    from kedro_dab.deploy.apps_source import source_folders

    bundle = as_bundle_root(root)
    root = bundle.path
    target = load_target(bundle, target_name, parse_vars(variables))
    apps = source_folders(target, root)  # an app's missing source folder stops the deploy here
    source = source_files(target, root, conf_dir) if runs_source(target) else None
    workspace = Workspace(client or connect(target.host, profile, bundle_profile=target.profile))
    echo(f"deploying as {workspace.user_name()} to {workspace.host}")
    wheel = None
    if uses_wheel(target) or apps:
        echo("building the project wheel")
        wheel = build_wheel(root, conf_dir=conf_dir)
        echo(f"built {wheel.path.name} ({wheel.size:,} bytes, sha256 {wheel.sha256[:12]})")
    conf_files = synced_files(
        target,
        root,
        conf_dir,
        wheel.path if wheel else None,
        echo,
        source=source,
        stage=not dry_run,
    )
    return deploy_target(
        workspace,
        target,
        root,
        wheel,
        conf_files,
        dry_run=dry_run,
        force_lock=force_lock,
        confirm_delete=confirm_delete,
        echo=echo,
    )


def synced_files(
    target: Any,
    root: Path,
    conf_dir: str,
    wheel: Path | None,
    echo: Callable[[str], None],
    *,
    source: Mapping[str, bytes] | None = None,
    stage: bool = True,
) -> dict[str, bytes]:
    """The files the SDK engine syncs (path relative to the bundle root -> bytes), by the
    CLI's sync rules: the shipped conf (or, for a from_source target, `source`: what the CLI's
    file sync uploads) and, for a bundle with apps, each app's source folder with the project
    `wheel` staged in it (copied there, or with `stage=False`, as a dry run needs, only
    counted as if it were)."""
    from kedro_dab.bundle.apps import stage_wheel, staged_files
    from kedro_dab.bundle.layout import shipped_conf_files
    from kedro_dab.deploy.apps_source import source_files as app_files
    from kedro_dab.deploy.apps_source import source_folders

    folders = source_folders(target, root)
    aside: dict[str, bytes] = {}
    if folders and wheel is not None and stage:
        for path in stage_wheel(root, wheel):
            echo(f"staged {path.relative_to(root).as_posix()}")
    elif folders and wheel is not None:
        aside = {
            path.relative_to(root).as_posix(): data
            for path, data in staged_files(root, wheel).items()
        }
    in_apps = app_files(root, folders) if folders else []
    if aside:
        replaced = {Path(rel).parent for rel in aside}
        in_apps = [rel for rel in in_apps if not _replaced_wheel(Path(rel), replaced)]
    if source is not None:
        return {**source, **{rel: (root / rel).read_bytes() for rel in in_apps}, **aside}
    shipped = [f"{conf_dir}/{rel.as_posix()}" for rel in shipped_conf_files(root / conf_dir)]
    shipped += in_apps + list(aside)
    return {
        rel: aside[rel] if rel in aside else (root / rel).read_bytes()
        for rel in synced(target, root, shipped)
    }


def _replaced_wheel(rel: Path, staging: set[Path]) -> bool:
    """Whether `rel` is an older wheel that staging the new one would remove."""
    return rel.parent in staging and rel.suffix == ".whl"


def job_id_for(
    root: Path, target: Target, key: str | None, *, profile: str | None, client: Any = None
) -> tuple[Workspace, str, int]:
    """(workspace, job key, job id) of a deployed job of `target` (read from the bundle root
    `root`): from kedro-dab's deployment state, else from the CLI's `bundle summary`."""
    keys = sorted(target.jobs)
    if key is None:
        if len(keys) != 1:
            raise ConfigError(f"the bundle has jobs {', '.join(keys)}; name the one to run")
        key = keys[0]
    elif key not in target.jobs:
        raise ConfigError(f"no job '{key}' in the bundle (jobs: {', '.join(keys)})")
    workspace = Workspace(client or connect(target.host, profile, bundle_profile=target.profile))
    ids = {k: int(v) for k, v in (read_state(workspace, target).get("jobs") or {}).items()}
    if key not in ids and cli.find_cli():
        ids.update(cli.summary_job_ids(cli.require_cli(), root, target.name, profile))
    if key not in ids:
        raise WorkspaceError(
            f"job '{key}' is not deployed to target '{target.name}'; run "
            f"`kedro dab deploy -t {target.name}` first"
        )
    return workspace, key, ids[key]


def destroy_with_sdk(
    root: Path | BundleRoot,
    target_name: str | None,
    *,
    profile: str | None,
    echo: Callable[[str], None],
    client: Any = None,
    confirm: Callable[[list[str]], bool] = lambda items: True,
) -> list[JobChange]:
    """List the target's jobs (by state and by tags) and folders, ask `confirm` with those
    lines, then delete them. Anything already gone counts as deleted."""
    target = load_target(root, target_name)
    workspace = Workspace(client or connect(target.host, profile, bundle_profile=target.profile))
    teardown = plan_destroy(workspace, target)
    lines = teardown.lines()
    if not lines:
        echo(f"Nothing is deployed to target '{target.name}'.")
        return []
    echo(f"destroy of target '{target.name}' deletes:")
    for line in lines:
        echo(f"  {line}")
    if not confirm(lines):
        echo("Nothing deleted.")
        return []
    for change in teardown.jobs:
        assert change.job_id is not None
        workspace.delete_job(change.key, change.job_id)
        echo(f"deleted  job {change.key} ({change.job_id})")
    for app in teardown.apps:
        Apps(workspace).delete(app.name)
        echo(f"deleted  app {app.key} ({app.name})")
    for path in teardown.paths:
        workspace.delete(path, recursive=True)
        echo(f"deleted  {path}")
    return teardown.jobs


def job_parameters(target: Target, key: str, params: str | None) -> dict[str, str]:
    """`name=value,...` checked against the parameters the bundle declares for the job."""
    if not params:
        return {}
    declared = [p.get("name") for p in target.jobs[key].get("parameters") or []]
    out = {}
    for item in params.split(","):
        name, sep, value = item.partition("=")
        if not sep or name.strip() not in declared:
            raise ConfigError(
                f"--params {item}: not a parameter of job '{key}' (declared: "
                f"{', '.join(map(str, declared)) or 'none'}); declare it under "
                f"jobs.{key}.parameters in dab.yml"
            )
        out[name.strip()] = value
    return out
