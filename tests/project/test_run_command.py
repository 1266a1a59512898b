"""The project's `run` command, whose options the plan's argv uses, is the one Kedro's own
`find_run_command` finds: outside the `kedro` CLI, and inside it, where kedro-dab asks the
plugins the CLI loaded at its start instead of every installed distribution again. Kedro's
function is the oracle; each case runs in a fresh interpreter on a real `kedro new` project."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.kedro_projects import python_in

pytestmark = pytest.mark.project

COMPARE = """
import json, sys
from pathlib import Path
import click
import kedro.framework.cli.cli as kedro_cli
import kedro.framework.cli.utils as kedro_utils
from kedro_dab import compat

real = kedro_utils.load_entry_points
plugins = []
for index in range(int(sys.argv[1])):
    @click.group(name=f"plugin{index}")
    def plugin():
        pass

    @plugin.command(name="run")
    @click.option(f"--plugin-option-{index}")
    def run(**kwargs):
        pass

    plugins.append(plugin)


def with_plugins(name):
    return [*real(name), *plugins] if name == "project" else real(name)


kedro_utils.load_entry_points = kedro_cli.load_entry_points = with_plugins
cli = kedro_cli.KedroCLI(Path(".").resolve())
package = cli._metadata.package_name
expected = kedro_utils.find_run_command(package)
outside = compat.run_command(package)
with click.Context(cli):
    asked_cli = compat._cli_project_plugins() is not None
    inside = compat.run_command(package)
    options = sorted(compat.run_options(package))
print(json.dumps({
    "outside": outside is expected,
    "inside": inside is expected,
    "asked_cli": asked_cli,
    "options": options,
}))
"""

PROJECT_CLI = """
import click


@click.group()
def cli():
    pass


@cli.command()
@click.option("--own-option")
def run(own_option):
    pass
"""


def compare(project: Path, plugin_runs: int) -> dict:
    return python_in(project, COMPARE, str(plugin_runs))


@pytest.mark.parametrize(
    ("plugin_runs", "option"),
    [(0, "--pipeline"), (1, "--plugin-option-0"), (2, "--plugin-option-")],
    ids=["Kedro's own run", "one plugin replaces run", "two plugins replace run"],
)
def test_the_run_command_is_the_one_kedro_finds_inside_the_cli_and_out(
    project_factory, plugin_runs: int, option: str
) -> None:
    outcome = compare(project_factory(), plugin_runs)
    assert outcome["outside"] and outcome["inside"]
    assert outcome["asked_cli"]
    assert any(o.startswith(option) for o in outcome["options"])


def test_a_projects_own_cli_run_is_the_one_kedro_finds(project_factory) -> None:
    project = project_factory()
    package = next(p.name for p in (project / "src").iterdir() if (p / "__init__.py").exists())
    (project / "src" / package / "cli.py").write_text(PROJECT_CLI, encoding="utf-8")
    outcome = compare(project, 1)
    assert outcome["outside"] and outcome["inside"]
    assert outcome["options"] == ["--own-option"]
