"""Fixtures and helpers for the tests that run `kedro dab` on real Kedro projects."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.support.kedro_projects import (
    make_project,
    project_factory,
    project_template,
    run_kedro,
    unique_package,
)

__all__ = [
    "Snapshot",
    "dab",
    "expected_pipeline_option",
    "generated_job",
    "plan_json",
    "project_factory",
    "refusal_line",
    "shared_project",
    "snapshot",
]

OWNED_DIR = Path("resources") / "kedro-dab"

# Two tasks joined by one dataset, `handover`: persisted or in memory as the catalog says.
HANDOVER_CATALOG = """\
raw_rows:
  type: pickle.PickleDataset
  filepath: data/01_raw/rows.pkl
handover:
  type: pickle.PickleDataset
  filepath: data/02_intermediate/handover.pkl
"""
"""The catalog of `HANDOVER_PIPELINE`: its input and the dataset between its two nodes persisted."""


HANDOVER_PIPELINE = """\
from kedro.pipeline import Pipeline, node, pipeline


def extract(rows):
    return rows


def summarise(rows):
    return len(rows)


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(extract, "raw_rows", "handover", name="extract_rows", tags=["task.extract"]),
            node(summarise, "handover", "row_count", name="count_rows", tags=["task.report"]),
        ]
    )
"""

Snapshot = dict[str, tuple[bytes, int] | None]


def shared_project(
    tmp_path_factory: pytest.TempPathFactory,
    pipelines: Mapping[str, str] | None = None,
    catalog: str | None = None,
    dab_yml: str | None = None,
    envs: Mapping[str, Mapping[str, str]] | None = None,
) -> Path:
    """A project for a module-scoped fixture, in a folder of its own."""
    return make_project(
        tmp_path_factory.mktemp("shared"),
        unique_package(),
        pipelines,
        catalog,
        dab_yml,
        envs,
        template=project_template(tmp_path_factory),
    )


def dab(
    project: Path, *args: str, check: bool = False, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`kedro dab <args>` run in `cwd` (default: the project folder)."""
    return run_kedro(cwd or project, "dab", *args, check=check)


def snapshot(root: Path) -> Snapshot:
    """Every folder (None) and file (content, mtime) under `root`, Python's bytecode caches
    aside: equal snapshots mean nothing was written, rewritten, created or removed."""
    out: Snapshot = {}
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.relative_to(root).parts:
            continue
        key = path.relative_to(root).as_posix()
        if path.is_dir():
            out[key] = None
        else:
            out[key] = (path.read_bytes(), path.stat().st_mtime_ns)
    return out


def refusal_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one-line error of a command refused as a user error (exit code 2, no traceback).

    Kedro's own log lines go to stdout, and an older Kedro may print warnings on stderr, so
    the error is the one stderr line starting with `Error:`, and the last non-empty line
    there: nothing of its message spills onto further lines."""
    output = f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    assert result.returncode == 2, output
    assert "Traceback" not in result.stdout + result.stderr, output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1, output
    assert lines[-1] == errors[0], output
    assert errors[0].removeprefix("Error:").strip(), output
    return errors[0]


def plan_json(project: Path, out_dir: Path, *args: str, cwd: Path | None = None) -> Any:
    """The plan as `kedro dab plan --format json` writes it, through --output so that
    Kedro's log lines on stdout stay out of the document."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"plan-{len(list(out_dir.iterdir()))}.json"
    dab(project, "plan", "--format", "json", "--output", str(target), *args, check=True, cwd=cwd)
    return json.loads(target.read_text(encoding="utf-8"))


def generated_job(project: Path, job_key: str) -> dict[str, Any]:
    """The job definition in `resources/kedro-dab/<job_key>.yml`."""
    import yaml

    data = yaml.safe_load((project / OWNED_DIR / f"{job_key}.yml").read_text(encoding="utf-8"))
    return data["resources"]["jobs"][job_key]


def expected_pipeline_option() -> str:
    """`kedro run` takes `--pipelines` from Kedro 1.2 on, only `--pipeline` before."""
    import kedro
    from packaging.version import Version

    return "--pipelines" if Version(kedro.__version__) >= Version("1.2") else "--pipeline"
