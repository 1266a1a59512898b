"""`kedro dab deploy --dry-run` writes nothing into the project: the wheel whose hash decides
whether it would be uploaded is built elsewhere, so `dist/` stays as it was, with either engine;
the example against the fake workspace (the CLI engine: a stand-in `databricks` on PATH)."""

from __future__ import annotations

import hashlib
import re
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.deploy_helpers import JOB, copy_example, dab, module_workspace, output
from tests.e2e.test_deploy_cli import STAND_IN, StandIn
from tests.fake_workspace import FakeWorkspace

pytestmark = pytest.mark.e2e


def tree(folder: Path) -> dict[str, str]:
    """Every file under `folder` (relative path -> sha256 of its bytes)."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_a_dry_run_of_a_target_never_deployed_writes_nothing_into_the_project(
    fake_workspace: FakeWorkspace, tmp_path: Path
) -> None:
    project = copy_example(tmp_path)
    before = tree(project)

    result = dab(project, fake_workspace, "deploy", "--engine", "sdk", "--dry-run")

    assert result.returncode == 0, output(result)
    assert tree(project) == before
    assert not (project / "dist").exists()


@dataclass
class ChangedCode:
    """A deployed example whose code then changed, and a dry run of it."""

    dist_before: dict[str, str]
    dist_after: dict[str, str]
    stdout: str


@pytest.fixture(scope="module")
def changed_code(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChangedCode]:
    base = tmp_path_factory.mktemp("dry-run")
    project = copy_example(base)
    with module_workspace(base) as ws:
        deployed = dab(project, ws, "deploy", "--engine", "sdk")
        assert deployed.returncode == 0, output(deployed)
        nodes = next((project / "src").rglob("pipelines/reporting/nodes.py"))
        nodes.write_text(nodes.read_text() + "\n# changed\n")
        before = tree(project / "dist")
        result = dab(project, ws, "deploy", "--engine", "sdk", "--dry-run")
        assert result.returncode == 0, output(result)
        yield ChangedCode(before, tree(project / "dist"), result.stdout)


def test_a_dry_run_after_a_code_change_leaves_dist_as_it_was(changed_code: ChangedCode) -> None:
    assert changed_code.dist_after == changed_code.dist_before


def test_a_dry_run_after_a_code_change_counts_the_new_wheel_as_an_upload(
    changed_code: ChangedCode,
) -> None:
    assert re.search(r"files: 1 uploaded", changed_code.stdout), changed_code.stdout


def test_an_sdk_dry_run_of_a_bundle_with_an_app_writes_nothing_into_the_project(
    fake_workspace: FakeWorkspace, tmp_path: Path
) -> None:
    project = copy_example(tmp_path, app=True)
    before = tree(project)

    result = dab(project, fake_workspace, "deploy", "--engine", "sdk", "--dry-run")

    assert result.returncode == 0, output(result)
    assert tree(project) == before


def test_a_dry_run_right_after_deploying_an_app_would_upload_nothing(
    fake_workspace: FakeWorkspace, tmp_path: Path
) -> None:
    """The dry run counts the wheel into the app's folder without copying it there: had it
    counted another file set than the deploy staged and synced, something would differ."""
    project = copy_example(tmp_path, app=True)
    deployed = dab(project, fake_workspace, "deploy", "--engine", "sdk")
    assert deployed.returncode == 0, output(deployed)
    after_deploy = tree(project)

    result = dab(project, fake_workspace, "deploy", "--engine", "sdk", "--dry-run")

    assert result.returncode == 0, output(result)
    assert re.search(r"files: 0 uploaded", result.stdout), result.stdout
    assert tree(project) == after_deploy


def test_a_cli_dry_run_of_a_bundle_with_an_app_writes_nothing_into_the_project(
    tmp_path: Path,
) -> None:
    project = copy_example(tmp_path, app=True)
    before = tree(project)
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "databricks"
    script.write_text(STAND_IN.format(python=sys.executable, jobs=[JOB]), encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    cli = StandIn(folder, tmp_path / "calls.jsonl")

    result = cli.kedro(project, "dab", "deploy", "--engine", "cli", "--dry-run")

    assert result.returncode == 0, output(result)
    assert cli.bundle_calls() == [["bundle", "validate", "-t", "dev", "--strict"]]
    assert tree(project) == before
