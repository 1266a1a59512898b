"""The text form of `kedro dab summary`: what is deployed to a target, one fact a line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kedro_dab.deploy.summary import TargetSummary


def summary_lines(summary: TargetSummary) -> Sequence[str]:
    """The summary for people, one fact a line."""
    lines = [f"target {summary.target}: {summary.host}  {summary.root_path}"]
    for job in summary.jobs:
        lines.append(f"job {job.key}  {job.url or '(not deployed)'}")
        if job.job_id is None:
            continue
        lines.append(f"  wheel     {job.wheel or '?'}  (version {job.wheel_version or '?'})")
        lines.append(f"  deployed  {job.deployed_at or '?'}")
        run = job.last_run
        if run is None:
            lines.append("  last run  none yet")
        else:
            took = f"{run.duration_seconds:.1f}s" if run.duration_seconds is not None else "?"
            lines.append(
                f"  last run  {run.run_id} {run.state}  started {run.start or '?'}  took {took}  "
                f"{run.url}"
            )
        lines.append(f"  drift     {job.drift}")
    for app in summary.apps:
        lines.append(f"app {app.key}  {app.name}  {app.url or '(not deployed)'}")
        if app.url:
            lines.append(f"  compute   {app.compute or '?'}  app {app.status or '?'}")
            lines.append(f"  deployed  {app.deployment_id or 'never'}")
    return lines
