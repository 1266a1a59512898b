"""`kedro dab init --ci github`: a valid workflow that calls commands that exist."""

from __future__ import annotations

import json
import shlex
import shutil
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from tests.support.kedro_projects import run_kedro

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "spaceflights"
WORKFLOW = ".github/workflows/kedro-dab.yml"
pytestmark = pytest.mark.skipif(
    not __import__("kedro").__version__.startswith("1."), reason="the example targets Kedro 1.x"
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("gha") / "spaceflights"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(".kedro-dab", "dist"))
    result = run_kedro(dest, "dab", "init", "--ci", "github")
    assert result.returncode == 0, result.stdout + result.stderr
    return dest


def load_workflow(project: Path) -> dict:
    """Parse as GitHub does (YAML 1.2: `on` stays a key, not a boolean)."""
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load((project / WORKFLOW).read_text())


def workflow_schema() -> dict:
    schemas = resources.files("check_jsonschema") / "builtin_schemas" / "vendor"
    return json.loads((schemas / "github-workflows.json").read_text(encoding="utf-8"))


def test_workflow_validates_against_the_github_workflow_schema(project: Path):
    document = load_workflow(project)
    jsonschema.validate(document, workflow_schema())


def test_workflow_uses_oidc_a_pinned_cli_and_a_concurrency_group(project: Path):
    text = (project / WORKFLOW).read_text()
    document = load_workflow(project)
    assert document["permissions"]["id-token"] == "write"
    assert document["env"]["DATABRICKS_AUTH_TYPE"] == "github-oidc"
    assert "DATABRICKS_TOKEN: ${{ secrets.DATABRICKS_TOKEN }}" in text
    uses = [s.get("uses", "") for job in document["jobs"].values() for s in job["steps"]]
    assert all(
        u.split("@")[1][1:].replace(".", "").isdigit()
        for u in uses
        if u.startswith("databricks/setup-cli@")
    )
    assert document["jobs"]["deploy"]["concurrency"]["cancel-in-progress"] is False


def test_pull_requests_validate_every_target_and_main_deploys_prod(project: Path):
    document = load_workflow(project)
    assert document["jobs"]["validate"]["strategy"]["matrix"]["target"] == ["dev", "prod"]
    deploy = document["jobs"]["deploy"]
    assert "refs/heads/main" in deploy["if"]
    assert any("kedro dab deploy --engine cli -t prod" in s.get("run", "") for s in deploy["steps"])


def test_every_kedro_dab_command_in_the_workflow_exists_with_those_options(project: Path):
    from kedro_dab.plugin import dab

    document = load_workflow(project)
    runs = [s["run"] for job in document["jobs"].values() for s in job["steps"] if "run" in s]
    calls = [
        shlex.split(line)
        for run in runs
        for line in run.splitlines()
        if line.strip().startswith("kedro dab ")
    ]
    assert calls
    for argv in calls:
        command = dab.commands[argv[2]]
        known = {opt for param in command.params for opt in param.opts}
        options = [a for a in argv[3:] if a.startswith("-")]
        assert set(options) <= known, (argv, known)


def test_running_init_again_keeps_an_edited_workflow(project: Path):
    path = project / WORKFLOW
    edited = path.read_text() + "# my own step\n"
    path.write_text(edited)
    result = run_kedro(project, "dab", "init", "--ci", "github")
    assert result.returncode == 0, result.stderr
    assert path.read_text() == edited


def test_every_pull_request_gets_the_diff_as_its_job_summary_without_extra_permission(
    project: Path,
):
    document = load_workflow(project)
    diff = document["jobs"]["diff"]
    assert diff["if"] == "github.event_name == 'pull_request'"
    checkout = next(s for s in diff["steps"] if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0  # the base branch must be there to plan it
    run = next(s["run"] for s in diff["steps"] if "kedro dab diff" in s.get("run", ""))
    assert '--base "origin/${{ github.base_ref }}"' in run
    assert '>> "$GITHUB_STEP_SUMMARY"' in run
    assert document["permissions"] == {"contents": "read", "id-token": "write"}
    assert all("permissions" not in job for job in document["jobs"].values())


def test_every_job_pins_kedro_dab_installs_the_project_and_caches_pip(project: Path):
    from importlib.metadata import version

    document = load_workflow(project)
    for name, job in document["jobs"].items():
        installs = [s["run"] for s in job["steps"] if s.get("run", "").startswith("pip install")]
        assert installs, name
        argv = shlex.split(installs[0])
        assert f"kedro-dab=={version('kedro-dab')}" in argv, name
        assert argv[argv.index("-e") + 1] == ".", name
        python = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-py"))
        assert python["with"]["cache"] == "pip", name


def test_fork_pull_requests_skip_only_the_step_that_needs_a_workspace(project: Path):
    text = (project / WORKFLOW).read_text()
    steps = load_workflow(project)["jobs"]["validate"]["steps"]
    guarded = [s for s in steps if "if" in s]
    assert [s["run"].split()[0] for s in guarded] == ["databricks"]
    assert "head.repo.full_name == github.repository" in guarded[0]["if"]
    assert "forks" in text
