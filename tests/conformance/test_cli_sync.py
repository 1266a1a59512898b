"""Conformance of the file sync: the files the SDK engine syncs for a bundle are those the
Databricks CLI's `bundle sync` uploads in its own acceptance cases.

`data/sync/` is copied unmodified from `acceptance/bundle/sync/` of github.com/databricks/cli at
v1.13.0 (see `test_cli_cases.py` and `data/README.md`). Each case's `script` makes a few files
and a `.gitignore` before it runs `bundle sync`; the test makes the same ones, then compares the
engine's listing with the `Action: PUT:` line the CLI recorded in `output.txt`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from kedro_dab.deploy.sync import sync_files
from kedro_dab.deploy.target import Target

DATA = Path(__file__).parent / "data" / "sync"


def run_script_setup(root: Path) -> None:
    """The files both cases' `script` creates before `bundle sync`."""
    script = (root / "script").read_text(encoding="utf-8")
    assert 'touch "ignored-folder/script.py" "ignored-folder/folder1/script.py"' in script
    for folder in ("project-folder", "ignored-folder/folder1"):
        (root / folder).mkdir(parents=True)
    for name in ("project-folder/app.yaml", "project-folder/app.py", "project-folder/query.sql"):
        (root / name).touch()
    for name in ("ignored-folder/script.py", "ignored-folder/folder1/script.py"):
        (root / name).touch()
    (root / ".gitignore").write_text("ignored-folder/\nscript\noutput.txt\n", encoding="utf-8")


def recorded_puts(root: Path) -> list[str]:
    for line in (root / "output.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("Action: PUT: "):
            return line.removeprefix("Action: PUT: ").split(", ")
    raise AssertionError("no PUT line recorded")


def as_target(root: Path) -> Target:
    """The bundle's name and sync settings (the cases' dashboards are not the SDK engine's)."""
    data = yaml.safe_load((root / "databricks.yml").read_text(encoding="utf-8"))
    return Target(
        name="default",
        bundle_name=data["bundle"]["name"],
        mode=None,
        host=None,
        root_path=None,
        variables={},
        jobs={},
        job_files={},
        sync=data.get("sync") or {},
    )


@pytest.mark.parametrize("case", ["sync", "sync/dryrun"])
def test_the_synced_files_are_those_the_cli_uploads(case: str, tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    # The CLI's test runner copies the case's folder, nested cases' files included, but not
    # the case's own runner settings (`out.test.toml`).
    shutil.copytree(DATA.parent / case, root)
    (root / "out.test.toml").unlink(missing_ok=True)
    run_script_setup(root)
    assert sync_files(as_target(root), root) == sorted(recorded_puts(root))
