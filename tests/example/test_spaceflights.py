"""The bundled example: its committed bundle is current and valid, and its plan is as documented.

The example pins `kedro_init_version` to the 1.x line, so these tests run under Kedro 1.x only.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.bundle_schema import bundle_file_errors, require_schema
from tests.support.kedro_projects import run_kedro

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "spaceflights"

pytestmark = pytest.mark.skipif(
    not __import__("kedro").__version__.startswith("1."), reason="the example targets Kedro 1.x"
)


def test_committed_bundle_is_what_the_generator_writes_today():
    result = run_kedro(EXAMPLE, "dab", "bundle", "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_committed_bundle_validates_against_the_official_schema():
    require_schema()
    assert bundle_file_errors(EXAMPLE) == []


def test_validate_command_passes_on_the_example():
    result = run_kedro(EXAMPLE, "dab", "validate", "--no-cli")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Bundle is valid." in result.stdout


def test_example_plan_groups_fourteen_nodes_into_the_five_documented_tasks(tmp_path):
    out = tmp_path / "plan.json"
    result = run_kedro(EXAMPLE, "dab", "plan", "--format", "json", "--output", str(out))
    assert result.returncode == 0, result.stderr
    plan = json.loads(out.read_text())
    (job,) = plan["jobs"]
    tasks = {t["key"]: t for t in job["tasks"]}
    assert list(tasks) == [
        "preprocess",
        "create_model_input_table_node",
        "active_modelling_pipeline",
        "candidate_modelling_pipeline",
        "reporting",
    ]
    assert sum(len(t["nodes"]) for t in job["tasks"]) == 14
    assert tasks["reporting"]["depends_on"] == [
        "active_modelling_pipeline",
        "candidate_modelling_pipeline",
    ]
    assert not any(d["in_memory"] for d in job["boundary_datasets"])


def _copy_example(dest: Path) -> Path:
    import shutil

    ignore = shutil.ignore_patterns(".kedro-dab", "__pycache__", "*.pyc")
    shutil.copytree(EXAMPLE, dest, ignore=ignore)
    for folder in (dest / "data").iterdir():
        if folder.name != "01_raw":
            for path in folder.rglob("*"):
                if path.is_file() and path.name != ".gitkeep":
                    path.unlink()
    return dest


def _outputs(project: Path) -> dict[str, bytes]:
    return {
        p.relative_to(project).as_posix(): p.read_bytes()
        for p in sorted((project / "data").rglob("*"))
        if p.is_file() and p.name != ".gitkeep" and "01_raw" not in p.parts
    }


def test_local_simulation_computes_exactly_what_kedro_run_computes(tmp_path):
    plain = _copy_example(tmp_path / "plain")
    grouped = _copy_example(tmp_path / "grouped")
    run = run_kedro(plain, "run", "--env", "base")
    assert run.returncode == 0, run.stdout + run.stderr
    simulated = run_kedro(grouped, "dab", "run", "--local", "--env", "base")
    assert simulated.returncode == 0, simulated.stdout + simulated.stderr
    expected = _outputs(plain)
    assert len(expected) >= 8
    assert _outputs(grouped) == expected


def test_job_parameter_given_to_a_local_run_reaches_the_reporting_node(tmp_path):
    project = _copy_example(tmp_path / "sf")
    result = run_kedro(
        project, "dab", "run", "--local", "--env", "base", "--params", "group_by=engines"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((project / "data/08_reporting/shuttle_price_summary.json").read_text())
    assert summary["group_by"] == "engines"
