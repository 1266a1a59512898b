"""What `kedro dab` prints: machine output alone on stdout, log lines on stderr, a warning
for every dab.yml entry that changed nothing, and a word on each check that was skipped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.project.conftest import dab, shared_project
from tests.project.test_commands import CATALOG, PIPELINES
from tests.support.kedro_projects import ProjectFactory, kedro_environ, run_kedro

pytestmark = pytest.mark.project

# Every log record at DEBUG and up goes to stdout, except the lines Kedro logs while it starts,
# before it loads any plugin (which no plugin can move).
STDOUT_LOGGING = """\
version: 1
disable_existing_loggers: False
handlers:
  console:
    class: logging.StreamHandler
    stream: ext://sys.stdout
  rich:
    class: kedro.logging.RichHandler
loggers:
  kedro.framework.project:
    level: WARNING
  kedro.framework.cli.hooks.manager:
    level: WARNING
root:
  level: DEBUG
  handlers: [console, rich]
"""

UNUSED_DAB_YML = """\
grouping:
  - by: tag
    prefix: "stage."
  - by: namespace
  - by: pipeline
    pipelines: [prep]
tasks:
  - match: {group: prep}
    max_retries: 1
  - match: {group: nowhere}
    max_retries: 3
  - match: {tag: no_such_tag}
    timeout_seconds: 10
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_project(tmp_path_factory, PIPELINES, CATALOG)


def test_plan_json_on_stdout_parses_while_every_log_line_goes_to_stderr(
    project: Path, tmp_path: Path
) -> None:
    logging_yml = tmp_path / "logging.yml"
    logging_yml.write_text(STDOUT_LOGGING, encoding="utf-8")
    result = run_kedro(
        project,
        "dab",
        "plan",
        "--format",
        "json",
        env={"KEDRO_LOGGING_CONFIG": str(logging_yml)},
        check=True,
    )
    document = json.loads(result.stdout)
    assert document["schema"] == "kedro-dab/plan"
    # Kedro did log while the command ran, only not onto stdout.
    assert "DEBUG" in result.stderr


# Kedro's own start-up line included: every record at INFO and up goes to stdout.
EVERYTHING_TO_STDOUT = """\
version: 1
disable_existing_loggers: False
handlers:
  console:
    class: logging.StreamHandler
    stream: ext://sys.stdout
  rich:
    class: kedro.logging.RichHandler
loggers:
  kedro:
    level: INFO
root:
  level: INFO
  handlers: [console, rich]
"""


def _kedro_dab(project: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "kedro-dab"), *args],
        cwd=project,
        env=kedro_environ(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_kedro_starts_by_logging_a_line_onto_stdout_before_any_plugin_runs(
    project: Path, tmp_path: Path
) -> None:
    # Why `kedro-dab` exists: no plugin can move this line, so `kedro dab ... | jq` breaks.
    logging_yml = tmp_path / "logging.yml"
    logging_yml.write_text(EVERYTHING_TO_STDOUT, encoding="utf-8")
    result = run_kedro(
        project, "dab", "plan", "--format", "json", env={"KEDRO_LOGGING_CONFIG": str(logging_yml)}
    )
    assert result.returncode == 0, result.stderr
    assert "as logging configuration" in result.stdout.splitlines()[0]


@pytest.mark.parametrize("logging", ["Kedro's default", "everything to stdout"])
def test_kedro_dab_program_prints_only_the_plan_json_on_stdout(
    project: Path, tmp_path: Path, logging: str
) -> None:
    env: dict[str, str] = {}
    if logging == "everything to stdout":
        logging_yml = tmp_path / "logging.yml"
        logging_yml.write_text(EVERYTHING_TO_STDOUT, encoding="utf-8")
        env["KEDRO_LOGGING_CONFIG"] = str(logging_yml)
    result = _kedro_dab(project, "plan", "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["schema"] == "kedro-dab/plan"
    assert "as logging configuration" in result.stderr


def test_kedro_dab_program_refuses_bad_input_as_kedro_dab_does(project: Path) -> None:
    result = _kedro_dab(project, "plan", "--env", "local", env={})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("Error: --env: Kedro env 'local'")
    assert result.stdout == ""


def test_mermaid_on_stdout_is_only_the_diagram(project: Path, tmp_path: Path) -> None:
    logging_yml = tmp_path / "logging.yml"
    logging_yml.write_text(STDOUT_LOGGING, encoding="utf-8")
    result = run_kedro(
        project,
        "dab",
        "plan",
        "--format",
        "mermaid",
        env={"KEDRO_LOGGING_CONFIG": str(logging_yml)},
        check=True,
    )
    assert result.stdout.startswith("flowchart")


def test_entries_that_match_nothing_are_warnings_on_stderr(
    project_factory: ProjectFactory,
) -> None:
    root = project_factory(pipelines=PIPELINES, catalog=CATALOG, dab_yml=UNUSED_DAB_YML)
    result = dab(root, "plan", check=True)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert any("grouping[0]" in w and "'stage.'" in w for w in warnings), result.stderr
    assert any("tasks[1]" in w and "nowhere" in w for w in warnings), result.stderr
    assert any("tasks[2]" in w and "no_such_tag" in w for w in warnings), result.stderr
    # The entries that did something are not warned about.
    assert not any("grouping[1]" in w or "grouping[2]" in w for w in warnings), warnings
    assert not any("tasks[0]" in w for w in warnings), warnings
    assert "Warning" not in result.stdout


def test_a_rule_that_earlier_rules_leave_nothing_for_is_a_warning(
    project_factory: ProjectFactory,
) -> None:
    dab_yml = "grouping:\n  - by: node\n  - by: namespace\n"
    root = project_factory(pipelines=PIPELINES, catalog=CATALOG, dab_yml=dab_yml)
    result = dab(root, "plan", check=True)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1, result.stderr
    assert "grouping[1]" in warnings[0] and "places no node" in warnings[0]


def test_a_dab_yml_in_conf_local_is_a_warning_that_it_is_not_read(
    project_factory: ProjectFactory,
) -> None:
    root = project_factory(
        pipelines=PIPELINES,
        catalog=CATALOG,
        envs={"local": {"dab.yml": "grouping:\n  - by: node\n"}},
    )
    result = dab(root, "plan", "--format", "json", "--output", "plan.json", check=True)
    plan = json.loads((root / "plan.json").read_text(encoding="utf-8"))
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert warnings == [
        "Warning: conf/local/dab.yml: not read: kedro-dab reads dab.yml from the base env and "
        f"the tasks' env ('{plan['project']['env']}'), never from 'local' (tasks do not run "
        "with it); move these settings to one of them"
    ], result.stderr
    placed = {n["placed_by"] for job in plan["jobs"] for t in job["tasks"] for n in t["nodes"]}
    assert not any(r.startswith("grouping[0]: one task per node") for r in placed), placed
    assert any(r.startswith("grouping[0]: tag ") for r in placed), placed  # the defaults


def test_validate_says_the_cli_step_was_skipped_and_why(project: Path) -> None:
    dab(project, "init", check=True)
    dab(project, "bundle", check=True)
    without_cli = dab(project, "validate", check=True)
    assert "skipped  databricks bundle validate --strict (no databricks CLI" in without_cli.stdout
    asked = dab(project, "validate", "--no-cli", check=True)
    assert "skipped  databricks bundle validate --strict (--no-cli)" in asked.stdout
