"""The CLI engine: `kedro dab` driving a stand-in `databricks` executable placed first on PATH.

The stand-in answers `--version`, records every call (argv and working folder) as a JSON line,
and for `bundle validate` / `bundle deploy` checks it runs in a bundle root holding the generated
job files, printing a few lines the way the real CLI does.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kedro_dab.deploy.cli import MIN_VERSION
from tests.e2e.deploy_helpers import (
    JOB,
    bytecode_env,
    copy_example,
    dab,
    error_lines,
    only_job,
    output,
)
from tests.fake_workspace import FakeWorkspace
from tests.support.kedro_projects import run_kedro

pytestmark = pytest.mark.e2e

MINIMUM = ".".join(map(str, MIN_VERSION))

STAND_IN = '''#!{python}
"""A stand-in for the Databricks CLI, for tests."""
import json
import os
import sys
from pathlib import Path

JOBS = {jobs!r}
args = sys.argv[1:]
with open(os.environ["STANDIN_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps({{"argv": args, "cwd": os.getcwd()}}) + "\\n")

if args == ["--version"]:
    print(os.environ.get("STANDIN_VERSION", "Databricks CLI v0.260.0"))
    sys.exit(0)
if args[:1] != ["bundle"] or len(args) < 2:
    print(f"Error: unknown command {{args}}", file=sys.stderr)
    sys.exit(1)
action = args[1]
target = args[args.index("-t") + 1] if "-t" in args else "dev"
if action in ("validate", "deploy", "destroy"):
    root = Path.cwd()
    needed = ["databricks.yml", *(f"resources/kedro-dab/{{job}}.yml" for job in JOBS)]
    needed += os.environ.get("STANDIN_NEEDS", "").split()
    missing = [name for name in needed if not list(root.glob(name))]
    if missing:
        print(f"Error: not a bundle root: {{', '.join(missing)}} missing", file=sys.stderr)
        sys.exit(1)
if action == os.environ.get("STANDIN_FAIL"):
    print(f"Error: {{action}} failed: terraform apply: job spaceflights: INVALID_PARAMETER_VALUE")
    sys.exit(1)
if action == "validate":
    print("Name: spaceflights")
    print(f"Target: {{target}}")
    print("Validation OK!")
elif action == "deploy":
    print(f"Uploading bundle files to /Workspace/Users/me/.bundle/spaceflights/{{target}}/files...")
    print("Deploying resources...")
    print("Deployment complete!")
elif action == "destroy":
    print("Destroy complete!")
elif action == "run":
    print("You can access the app at https://app.example.com")
else:
    print(f"Error: unknown bundle command {{action}}", file=sys.stderr)
    sys.exit(1)
'''


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example, shared: these tests only read it (the CLI engine builds nothing)."""
    return copy_example(tmp_path_factory.mktemp("cli-project"))


@pytest.fixture(scope="module")
def stand_in_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding only the stand-in `databricks` executable."""
    folder = tmp_path_factory.mktemp("bin")
    script = folder / "databricks"
    script.write_text(STAND_IN.format(python=sys.executable, jobs=[JOB]), encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return folder


def path_without_databricks() -> list[str]:
    """The PATH's folders, the interpreter's first, none holding a `databricks` executable."""
    folders = [str(Path(sys.executable).parent), *os.environ.get("PATH", "").split(os.pathsep)]
    return [f for f in folders if f and not (Path(f) / "databricks").exists()]


class StandIn:
    """Runs `kedro` with the stand-in CLI on PATH (or none) and reads back its calls."""

    def __init__(self, bin_dir: Path, log: Path) -> None:
        self.bin_dir = bin_dir
        self.log = log
        self.log.touch()

    def env(self, *, on_path: bool = True, **extra: str) -> dict[str, str]:
        folders = path_without_databricks()
        if on_path:
            folders.insert(0, str(self.bin_dir))
        return {
            **bytecode_env(),
            "PATH": os.pathsep.join(folders),
            "STANDIN_LOG": str(self.log),
            **extra,
        }

    def kedro(
        self, project: Path, *args: str, on_path: bool = True, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        return run_kedro(project, *args, env=self.env(on_path=on_path, **extra))

    def calls(self) -> list[dict[str, Any]]:
        lines = self.log.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def bundle_calls(self) -> list[list[str]]:
        return [call["argv"] for call in self.calls() if call["argv"][:1] == ["bundle"]]


@pytest.fixture
def cli(stand_in_bin: Path, tmp_path: Path) -> StandIn:
    return StandIn(stand_in_bin, tmp_path / "calls.jsonl")


# --- deploy ---------------------------------------------------------------------------------------


def test_deploy_validates_strictly_then_deploys_in_the_bundle_root_streaming_output(
    project: Path, cli: StandIn
) -> None:
    result = cli.kedro(project, "dab", "deploy", "--engine", "cli", "-t", "dev")

    assert result.returncode == 0, output(result)
    assert cli.bundle_calls() == [
        ["bundle", "validate", "-t", "dev", "--strict"],
        ["bundle", "deploy", "-t", "dev"],
    ]
    assert [c["cwd"] for c in cli.calls() if c["argv"][:1] == ["bundle"]] == [
        str(project.resolve())
    ] * 2
    lines = result.stdout.splitlines()
    for printed in ("Validation OK!", "Deployment complete!"):
        assert printed in lines
    assert lines.index("Validation OK!") < lines.index("Deployment complete!")
    assert "Deployed target 'dev' with the databricks CLI." in result.stdout


def test_deploy_options_map_to_the_cli_arguments(project: Path, cli: StandIn) -> None:
    result = cli.kedro(
        project,
        "dab",
        "deploy",
        "--engine",
        "cli",
        "-t",
        "dev",
        "--force-lock",
        "--auto-approve",
        "--var",
        "a=b",
        "--profile",
        "p",
    )

    assert result.returncode == 0, output(result)
    common = ["-t", "dev", "--profile", "p", "--var", "a=b"]
    assert cli.bundle_calls() == [
        ["bundle", "validate", *common, "--strict"],
        ["bundle", "deploy", *common, "--force-lock", "--auto-approve"],
    ]


def test_engine_auto_uses_the_cli_when_it_is_on_the_path(project: Path, cli: StandIn) -> None:
    result = cli.kedro(project, "dab", "deploy", "--engine", "auto")

    assert result.returncode == 0, output(result)
    assert cli.bundle_calls() == [
        ["bundle", "validate", "-t", "dev", "--strict"],
        ["bundle", "deploy", "-t", "dev"],
    ]


def test_engine_auto_deploys_with_the_sdk_when_no_cli_is_on_the_path(
    tmp_path: Path, cli: StandIn, fake_workspace: FakeWorkspace
) -> None:
    example = copy_example(tmp_path)

    result = dab(example, fake_workspace, "deploy", "--engine", "auto", env=cli.env(on_path=False))

    assert result.returncode == 0, output(result)
    assert cli.calls() == []
    assert only_job(fake_workspace)["settings"]["tags"]["kedro_dab_job"] == JOB


def test_the_cli_engine_deploys_the_app_with_its_source_folder_and_the_wheel_in_place(
    tmp_path: Path, cli: StandIn
) -> None:
    example = copy_example(tmp_path, app=True)
    folder = "resources/kedro-dab/apps/price-shuttle"
    needs = f"resources/kedro-dab/serving.apps.yml {folder}/app.yaml {folder}/requirements.txt"
    needs += f" {folder}/conf/base/catalog.yml {folder}/wheel/spaceflights-*.whl"

    result = cli.kedro(example, "dab", "deploy", "--engine", "cli", STANDIN_NEEDS=needs)

    assert result.returncode == 0, output(result)
    assert cli.bundle_calls() == [
        ["bundle", "validate", "-t", "dev", "--strict"],
        ["bundle", "deploy", "-t", "dev"],
        ["bundle", "run", "-t", "dev", "price-shuttle"],
    ]


def test_the_sdk_engine_deploys_and_destroys_a_bundle_with_an_app_without_the_cli(
    tmp_path: Path, cli: StandIn, fake_workspace: FakeWorkspace
) -> None:
    example = copy_example(tmp_path, app=True)

    result = dab(example, fake_workspace, "deploy", "--engine", "sdk", env=cli.env(on_path=False))

    assert result.returncode == 0, output(result)
    assert "create    app price-shuttle" in result.stdout
    assert cli.calls() == []
    app = fake_workspace.apps.apps["price-shuttle"].body
    assert app["active_deployment"]["status"]["state"] == "SUCCEEDED"

    destroyed = dab(example, fake_workspace, "destroy", "--engine", "sdk", "--auto-approve")
    assert destroyed.returncode == 0, output(destroyed)
    assert "app price-shuttle (price-shuttle)" in destroyed.stdout
    assert fake_workspace.apps.apps == {}
    assert fake_workspace.jobs == {}


def test_the_cli_engine_destroys_a_bundle_with_an_app_through_bundle_destroy(
    tmp_path: Path, cli: StandIn
) -> None:
    example = copy_example(tmp_path, app=True)
    needs = "resources/kedro-dab/serving.apps.yml"

    result = cli.kedro(
        example, "dab", "destroy", "--engine", "cli", "--auto-approve", STANDIN_NEEDS=needs
    )

    assert result.returncode == 0, output(result)
    assert cli.bundle_calls() == [["bundle", "destroy", "-t", "dev", "--auto-approve"]]


def test_a_missing_cli_exits_2_naming_the_minimum_version(project: Path, cli: StandIn) -> None:
    result = cli.kedro(project, "dab", "deploy", "--engine", "cli", on_path=False)

    assert result.returncode == 2, output(result)
    (line,) = error_lines(result)
    assert f"v{MINIMUM}" in line
    assert "not on PATH" in line
    assert "Traceback" not in result.stderr


def test_a_too_old_cli_exits_2_naming_found_and_minimum_versions(
    project: Path, cli: StandIn
) -> None:
    result = cli.kedro(
        project,
        "dab",
        "deploy",
        "--engine",
        "cli",
        STANDIN_VERSION="Databricks CLI v0.200.0",
    )

    assert result.returncode == 2, output(result)
    (line,) = error_lines(result)
    assert "v0.200.0" in line
    assert f"v{MINIMUM}" in line
    assert cli.bundle_calls() == []


def test_a_failing_cli_deploy_exits_2_naming_the_failing_command(
    project: Path, cli: StandIn
) -> None:
    result = cli.kedro(project, "dab", "deploy", "--engine", "cli", STANDIN_FAIL="deploy")

    assert result.returncode == 2, output(result)
    (line,) = error_lines(result)
    assert "`databricks bundle deploy -t dev` failed (exit code 1)" in line
    assert "INVALID_PARAMETER_VALUE" in line
    assert "Traceback" not in result.stderr
    assert [argv[1] for argv in cli.bundle_calls()] == ["validate", "deploy"]


# --- validate and destroy -------------------------------------------------------------------------


def test_validate_runs_the_cli_strict_validation_when_a_cli_is_on_the_path(
    project: Path, cli: StandIn
) -> None:
    result = cli.kedro(project, "dab", "validate")

    assert result.returncode == 0, output(result)
    assert cli.bundle_calls() == [["bundle", "validate", "--strict"]]
    (call,) = [c for c in cli.calls() if c["argv"][:1] == ["bundle"]]
    assert call["cwd"] == str(project.resolve())
    assert "checked  databricks bundle validate --strict" in result.stdout
    assert "Bundle is valid." in result.stdout


def test_validate_with_no_cli_does_not_call_the_cli(project: Path, cli: StandIn) -> None:
    result = cli.kedro(project, "dab", "validate", "--no-cli")

    assert result.returncode == 0, output(result)
    assert cli.calls() == []
    assert "Bundle is valid." in result.stdout


def test_destroy_with_the_cli_engine_passes_target_and_auto_approve(
    project: Path, cli: StandIn
) -> None:
    result = cli.kedro(project, "dab", "destroy", "--engine", "cli", "--auto-approve")

    assert result.returncode == 0, output(result)
    assert cli.bundle_calls() == [["bundle", "destroy", "-t", "dev", "--auto-approve"]]
    assert "Destroy complete!" in result.stdout
