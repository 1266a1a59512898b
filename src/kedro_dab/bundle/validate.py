"""`kedro dab validate`: everything that can be checked without a workspace, plus the
Databricks CLI's own `bundle validate --strict` when a CLI is on the PATH."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kedro_dab.bundle.layout import check_bundle_root, read_databricks_yml, sync_excludes
from kedro_dab.bundle.render import OWNED_DIR, job_settings
from kedro_dab.bundle.write import write_owned
from kedro_dab.errors import DabError, first_line
from kedro_dab.plan import Plan


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
    root: Path, plan: Plan, files: Mapping[str, str], run_cli: bool = True
) -> ValidationReport:
    """Check the generated jobs' structure against the `databricks-bundles` models, the
    bundle root's wiring, that the files on disk are current, and (with a CLI) the CLI."""
    report = ValidationReport(warnings=list(plan.warnings))
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

    report.checks.append("databricks.yml: include, kedro_env variable, shipped envs, sync")
    try:
        check_bundle_root(root, plan.conf_dir)
    except DabError as exc:
        report.problems.append(str(exc))
    data = read_databricks_yml(root) or {}
    excludes = ((data.get("sync") or {}).get("exclude")) or []
    for entry in sync_excludes(plan.conf_dir):
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


def structure_problem(settings: dict[str, Any]) -> str | None:
    """Why the `databricks-bundles` Job model rejects a job definition, or None."""
    from databricks.bundles.jobs import Job

    try:
        Job.from_dict(settings)  # type: ignore[arg-type]
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
