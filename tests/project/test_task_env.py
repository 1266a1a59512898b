"""The env a plan is built with is the env the tasks run with: every target is planned with
the Kedro env its tasks get from `databricks.yml`, and `--env` names exactly that env."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.project.conftest import (
    HANDOVER_CATALOG,
    HANDOVER_PIPELINE,
    dab,
    refusal_line,
    shared_project,
    snapshot,
)

pytestmark = pytest.mark.project

CATALOG = HANDOVER_CATALOG

IN_MEMORY = {"catalog.yml": "handover:\n  type: MemoryDataset\n"}


@pytest.fixture(scope="module")
def two_envs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Target `prod` runs its tasks with env `prodenv`, whose catalog keeps `handover` in
    memory; the default env `databricks` persists it."""
    project = shared_project(
        tmp_path_factory,
        pipelines={"flow": HANDOVER_PIPELINE},
        catalog=CATALOG,
        dab_yml="merge_memory: false\n",
        envs={"prodenv": IN_MEMORY},
    )
    dab(project, "init", check=True)
    bundle_file = project / "databricks.yml"
    text = bundle_file.read_text(encoding="utf-8")
    marker = "  prod:\n    mode: production\n"
    assert marker in text
    bundle_file.write_text(
        text.replace(marker, marker + "    variables:\n      kedro_env: prodenv\n"), "utf-8"
    )
    return project


def test_bundle_plans_each_target_with_the_env_its_tasks_run_with(two_envs: Path) -> None:
    before = snapshot(two_envs)

    line = refusal_line(dab(two_envs, "bundle"))

    assert "'handover'" in line
    assert "in-memory" in line
    assert snapshot(two_envs) == before


def test_plan_with_a_target_env_uses_that_envs_catalog(two_envs: Path) -> None:
    line = refusal_line(dab(two_envs, "plan", "--env", "prodenv"))

    assert "'handover'" in line


@pytest.mark.parametrize("command", ["plan", "bundle", "validate"])
def test_the_local_env_is_refused(two_envs: Path, command: str) -> None:
    line = refusal_line(dab(two_envs, command, "--env", "local"))

    assert "'local'" in line
    assert "never shipped" in line


def test_an_env_that_no_target_runs_with_is_refused_naming_the_targets_envs(
    two_envs: Path,
) -> None:
    line = refusal_line(dab(two_envs, "bundle", "--env", "base"))

    assert "--env base" in line
    assert "prod: 'prodenv'" in line
    assert "dev: 'databricks'" in line
