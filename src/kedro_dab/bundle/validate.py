"""`kedro dab validate`: everything that can be checked without a workspace, plus the
Databricks CLI's own `bundle validate --strict` when a CLI is on the PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kedro_dab.bundle.layout import (
    DATABRICKS_YML,
    OWNED_DIR,
    builds_project_wheel,
    check_bundle_root,
    sync_excludes,
    target_problems,
)
from kedro_dab.bundle.render import job_settings
from kedro_dab.bundle.root import BundleRoot
from kedro_dab.bundle.write import write_owned
from kedro_dab.errors import DabError, first_line
from kedro_dab.plan import Plan

if TYPE_CHECKING:
    from databricks.bundles.jobs import JobDict


@dataclass
class ValidationReport:
    """Problems found (each one line) and the checks that ran."""

    problems: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Checks that did not run, each with the reason."""
    warnings: list[str] = field(default_factory=list)
    """dab.yml entries that had no effect (the plan's warnings)."""

    @property
    def ok(self) -> bool:
        """True when no check found a problem."""
        return not self.problems


def validate_bundle(
    bundle: BundleRoot,
    plan: Plan,
    files: Mapping[str, str],
    run_cli: bool = True,
    task_envs: Sequence[str] = (),
    catalogs: Mapping[str, Mapping[str, Any]] | None = None,
) -> ValidationReport:
    """Check the generated jobs' structure against the `databricks-bundles` models, the
    bundle root's wiring (as this command read it), that the files on disk are current, and
    (with a CLI) the CLI. With `task_envs`, also what the tasks of those envs would meet first
    on Databricks: the console script they call, and catalog credentials that only unshipped
    conf defines (`catalogs`: env -> the catalog configuration the plan was read with)."""
    root = bundle.path
    report = ValidationReport(warnings=list(plan.warnings))
    if task_envs:
        from kedro_dab.project import unshipped_credentials

        report.checks.append(f"console script '{plan.console_script}' starts")
        problem = console_script_problem(root, plan)
        if problem:
            report.problems.append(problem)
        report.checks.append("catalog credentials are available where the tasks run")
        for env in dict.fromkeys(task_envs):
            catalog = (catalogs or {}).get(env)
            report.problems.extend(unshipped_credentials(root, env, catalog))
    report.checks.append("task graph: partition, acyclic, in-memory data, keys, limits")

    report.checks.append("job structure (databricks-bundles models)")
    variants = {(False, None)} | {(t.from_source, t.compute) for t in plan.targets.values()}
    for job in plan.jobs:
        for from_source, compute in sorted(variants, key=str):
            problem = structure_problem(
                job_settings(plan, job, from_source=from_source, compute=compute)
            )
            if problem:
                report.problems.append(f"{OWNED_DIR}/{job.key}.yml: {problem}")

    report.checks.append("databricks.yml: include, kedro_env variable, shipped envs, targets, sync")
    report.checks.append("boundaries: persist has a root outside the synced files")
    report.problems.extend(wiring_problems(bundle, plan))
    excludes = (((bundle.data or {}).get("sync") or {}).get("exclude")) or []
    for entry in sync_excludes(plan.conf_dir) if bundle.data is not None else []:
        if entry not in excludes:
            report.problems.append(
                f"databricks.yml: sync.exclude lacks '{entry}', so local settings or credentials "
                "could be uploaded; add it (or run `kedro dab init`)"
            )

    report.checks.append(f"{OWNED_DIR}/ is current")
    try:
        status = write_owned(root, files, check=True)
    except DabError as exc:
        report.problems.append(str(exc))
    else:
        if status.changed:
            stale = ", ".join(status.written + status.removed)
            report.problems.append(f"out of date: {stale}; run `kedro dab bundle`")

    cli_check = "databricks bundle validate --strict"
    if not run_cli:
        report.skipped.append(f"{cli_check} (--no-cli)")
    elif not shutil.which("databricks"):
        report.skipped.append(f"{cli_check} (no databricks CLI on the PATH)")
    elif not report.ok:
        report.skipped.append(f"{cli_check} (the checks above found problems)")
    else:
        report.checks.append(cli_check)
        report.problems.extend(_cli_validate(root))
    return report


def wiring_problems(bundle: BundleRoot, plan: Plan) -> list[str]:
    """What keeps the bundle root from deploying the plan's jobs, one line each, first found
    first: `databricks.yml` missing or not wired for kedro-dab (include, `kedro_env` variable,
    shipped envs), dab.yml targets it lacks or cannot run, unusable boundaries roots. `bundle`
    and `deploy` stop on the first; `validate` reports them all."""
    from kedro_dab.bundle.scaffold_templates import RUNNER

    try:
        check_bundle_root(bundle, plan.conf_dir)
    except DabError as exc:
        if bundle.data is None:
            return [str(exc)]
        problems = [str(exc)]
    else:
        problems = []
    targets = (bundle.data or {}).get("targets")
    if isinstance(targets, Mapping):
        marked = sorted(
            str(n) for n, t in targets.items() if isinstance(t, Mapping) and t.get("default")
        )
        if len(marked) > 1:
            problems.append(
                f"{DATABRICKS_YML}: targets {', '.join(marked)} are all marked default: true, "
                "which the Databricks CLI refuses; keep default: true on one"
            )
    artifacts = (bundle.data or {}).get("artifacts")
    if not (isinstance(artifacts, Mapping) and any(map(builds_project_wheel, artifacts.values()))):
        installing = [
            name
            for name in bundle.target_names or ["default"]
            if not getattr(plan.targets.get(name), "from_source", False)
        ]
        if installing:
            problems.append(
                f"{DATABRICKS_YML}: no artifact builds this project's wheel from the bundle root "
                f"(type: whl, path: .), which the tasks of target(s) {', '.join(installing)} "
                "install from dist/; run `kedro dab init` to add it"
            )
    problems += _shared_resource_keys(bundle, plan)
    problems += target_problems(bundle, plan.targets, RUNNER)
    problems += boundary_problems(plan, bundle.target_names, bundle.data)
    return problems


def _shared_resource_keys(bundle: BundleRoot, plan: Plan) -> list[str]:
    """A resource of the user's whose key a resource kedro-dab generates also takes: the
    Databricks CLI refuses two resources of one key, of any kinds, in any files."""
    from kedro_dab.bundle.model_serving import MODEL_KEY_SUFFIX, SERVING_KEY_SUFFIX

    generated = {job.key: f"job '{job.key}'" for job in plan.jobs}
    for endpoint in plan.endpoints:
        if endpoint.app:
            generated[endpoint.name] = f"the app of serving.{endpoint.name}"
        if endpoint.model_serving is not None:
            generated[endpoint.name + MODEL_KEY_SUFFIX] = f"the model of serving.{endpoint.name}"
            if endpoint.model_serving.version is not None:
                key = endpoint.name + SERVING_KEY_SUFFIX
                generated[key] = f"the serving endpoint of serving.{endpoint.name}"
    resources = (bundle.data or {}).get("resources")
    problems = []
    for kind, entries in (resources or {}).items() if isinstance(resources, Mapping) else ():
        for key in entries if isinstance(entries, Mapping) else ():
            if key in generated:
                problems.append(
                    f"{DATABRICKS_YML} (or a file it includes): resources.{kind}.{key} takes the "
                    f"key kedro-dab gives {generated[key]}, and the Databricks CLI refuses two "
                    "resources of one key; rename yours"
                )
    return problems


_ENTRY_POINT = (
    "import sys; sys.argv = [{script!r}, '--help']; from {package}.__main__ import main; main()"
)


def console_script_problem(root: Path, plan: Plan, timeout: float = 120) -> str | None:
    """Why the console script a task calls (`<package>.__main__:main`, with the argv Databricks
    gives it) fails to start, tried cheaply with `--help` in a subprocess; None when it works."""
    environ = dict(os.environ)
    environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(root / "src"), environ.get("PYTHONPATH", "")) if p
    )
    code = _ENTRY_POINT.format(script=plan.console_script, package=plan.package_name)
    try:
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=root,
            env=environ,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"console script '{plan.console_script}' did not answer --help in {timeout:.0f}s"
    if result.returncode == 0:
        return None
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    detail = lines[-1] if lines else f"exit code {result.returncode}"
    return (
        f"console script '{plan.console_script}' ({plan.package_name}.__main__:main) fails "
        f"before any task could run: {detail}; fix src/{plan.package_name}/__main__.py or "
        "what it imports"
    )


def structure_problem(settings: JobDict) -> str | None:
    """Why the `databricks-bundles` Job model rejects a job definition, or None."""
    from databricks.bundles.jobs import Job

    try:
        Job.from_dict(settings)
    except (ValueError, TypeError, KeyError) as exc:
        return first_line(exc)
    return None


def _cli_validate(root: Path) -> list[str]:
    result = subprocess.run(
        ["databricks", "bundle", "validate", "--strict"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode == 0:
        return []
    lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    detail = lines[-1] if lines else f"exit code {result.returncode}"
    return [f"databricks bundle validate --strict failed: {detail}"]


_EXAMPLE_ROOT = "/Volumes/<catalog>/<schema>/<volume>/kedro-dab"


def boundary_problems(
    plan: Plan, targets: Sequence[str], databricks_yml: Mapping[str, Any] | None = None
) -> list[str]:
    """Why the boundaries root of a job with `boundaries: persist` is unusable on a target: not
    set, not an absolute path the tasks can write, or inside the bundle's synced files (which
    every deploy rewrites). One line per problem."""
    persisting = [job.key for job in plan.jobs if job.persisted]
    if not persisting:
        return []
    jobs = ", ".join(f"'{key}'" for key in persisting)
    problems = []
    target_names: list[str | None] = [*targets] or [None]
    for target in target_names:
        chosen = plan.targets.get(target) if target else None
        root = (chosen.boundaries_root if chosen else None) or plan.boundaries_root
        key = f"targets.{target}.boundaries_root" if chosen and chosen.boundaries_root else None
        key = key or "boundaries_root"
        on = f" on target '{target}'" if target else ""
        if root is None:
            problems.append(
                f"dab.yml: boundaries_root: job(s) {jobs} persist in-memory datasets between "
                f"tasks (boundaries: persist) but no root is set{on}; add "
                f"`boundaries_root: {_EXAMPLE_ROOT}` (a Unity Catalog volume) to dab.yml"
            )
            continue
        why = _root_problem(root, _synced_folders(databricks_yml or {}, target))
        if why:
            problems.append(f"dab.yml: {key}: '{root}' {why}; use e.g. {_EXAMPLE_ROOT}")
    return problems


def _root_problem(root: str, synced: Sequence[str]) -> str | None:
    if "," in root:
        return "holds a comma, which Kedro's --params cannot carry"
    if root != root.strip():
        return "has spaces at an end, which Kedro's --params strips"
    if "${workspace." in root:
        return "is inside the bundle's workspace folders, which every deploy rewrites"
    if not root.startswith("/"):
        return (
            "is not an absolute path: tasks would write it into their working directory, "
            "the bundle's synced files"
        )
    parts = root.rstrip("/") + "/"
    if parts.startswith("/Workspace/") and "/.bundle/" in parts:
        return "is inside the bundle's synced files (.bundle/), which every deploy rewrites"
    for folder in synced:
        if parts.startswith(folder.rstrip("/") + "/"):
            return f"is inside the bundle's synced files ({folder}), which every deploy rewrites"
    return None


def _synced_folders(data: Mapping[str, Any], target: str | None) -> list[str]:
    """The workspace folders the bundle deploys into, where databricks.yml names them."""
    out = []
    for workspace in (
        data.get("workspace") or {},
        ((data.get("targets") or {}).get(target) or {}).get("workspace") or {} if target else {},
    ):
        for name in ("root_path", "file_path"):
            value = workspace.get(name)
            if isinstance(value, str) and value.startswith("/") and "${" not in value:
                out.append(value)
    return out
