"""`bundle` and `validate` share one check of dab.yml's targets against `databricks.yml`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.project.conftest import HANDOVER_PIPELINE, dab, refusal_line, shared_project

pytestmark = pytest.mark.project

MISSING_TARGET = (
    "Error: dab.yml: targets.staging: not a target of databricks.yml (targets: dev, prod)"
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundled project whose dab.yml then renames its target `dev` to `staging`, which
    `databricks.yml` lacks (the generated files stay current: neither target changes them)."""
    root = shared_project(tmp_path_factory, pipelines={"flow": HANDOVER_PIPELINE})
    dab(root, "init", check=True)
    dab_yml = root / "conf" / "base" / "dab.yml"
    text = dab_yml.read_text(encoding="utf-8")
    dab_yml.write_text(text + "targets:\n  dev:\n    from_source: false\n", encoding="utf-8")
    dab(root, "bundle", check=True)
    dab_yml.write_text(text + "targets:\n  staging:\n    from_source: false\n", encoding="utf-8")
    return root


@pytest.mark.parametrize("command", [("bundle",), ("validate", "--no-cli")], ids=" ".join)
def test_a_dab_yml_target_missing_from_databricks_yml_is_one_error(
    project: Path, command: tuple[str, ...]
) -> None:
    assert refusal_line(dab(project, *command)) == MISSING_TARGET
