"""`kedro dab init --vscode`: a runner the VSCode Databricks extension can run as-is, and
dev targets that run the synced source through it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.bundle_schema import bundle_file_errors, require_schema
from tests.support.kedro_projects import kedro_environ, run_kedro

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "spaceflights"
REPORT = "data/08_reporting/shuttle_price_summary.json"
pytestmark = pytest.mark.skipif(
    not __import__("kedro").__version__.startswith("1."), reason="the example targets Kedro 1.x"
)

# What the extension does with "Run File on Databricks": change into the file's folder, put
# the sync root on sys.path, define `spark` and `dbutils`, and execute the file with runpy.
EXTENSION = """
import os, runpy, sys
runner, sync_root, widgets = sys.argv[1], sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:])

class Widgets:
    def get(self, name):
        if name not in widgets:
            raise ValueError(f"no widget {name}")
        return widgets[name]

class DBUtils:
    widgets = Widgets()

os.chdir(os.path.dirname(runner))
sys.path.insert(0, sync_root)
sys.argv = [runner]
runpy.run_path(runner, init_globals={"spark": object(), "dbutils": DBUtils()}, run_name="__main__")
"""


# What "Run File as Workflow" does: a notebook wrapper executes the file's code in a notebook
# kernel, whose own argv (`ipykernel_launcher.py -f <kernel.json>`) is still in sys.argv.
NOTEBOOK_WRAPPER = EXTENSION.replace(
    "sys.argv = [runner]",
    "sys.argv = ['/databricks/python/lib/ipykernel_launcher.py', '-f', '/tmp/kernel-1.json']",
).replace(
    'runpy.run_path(runner, init_globals={"spark": object(), "dbutils": DBUtils()}, '
    'run_name="__main__")',
    "code = compile(open(runner).read(), runner, 'exec')\n"
    "exec(code, {'__name__': '__main__', '__file__': runner, 'spark': object(), "
    "'dbutils': DBUtils()})",
)


def copy_example(dest: Path) -> Path:
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(".kedro-dab", "dist"))
    for path in (dest / "data").rglob("*"):
        if path.is_file() and "01_raw" not in path.parts and path.name != ".gitkeep":
            path.unlink()
    result = run_kedro(dest, "dab", "init", "--vscode")
    assert result.returncode == 0, result.stdout + result.stderr
    return dest


def run_like_the_extension(
    project: Path, *widgets: str, harness: str = EXTENSION
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            harness,
            str(project / "run_on_databricks.py"),
            str(project),
            *widgets,
        ],
        capture_output=True,
        text=True,
        env=kedro_environ(),
        timeout=300,
        check=False,
    )


def test_runner_runs_the_pipeline_the_way_the_extension_calls_it(tmp_path: Path):
    project = copy_example(tmp_path / "sf")
    result = run_like_the_extension(project, "env=base")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((project / REPORT).read_text())["group_by"] == "shuttle_type"


def test_runner_ignores_the_kernels_argv_under_the_notebook_wrapper(tmp_path: Path):
    project = copy_example(tmp_path / "sf")
    result = run_like_the_extension(
        project, "env=base", "pipeline=data_processing", harness=NOTEBOOK_WRAPPER
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / "data/03_primary/model_input_table.json").exists()


def test_runner_takes_nodes_and_params_from_widgets(tmp_path: Path):
    project = copy_example(tmp_path / "sf")
    result = run_like_the_extension(
        project,
        "env=base",
        "pipeline=data_processing",
        "nodes=parse_companies_node,"
        "preprocess_companies_node,preprocess_shuttles_node,preprocess_reviews_node",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    written = [p.name for p in (project / "data/02_intermediate").iterdir() if p.name != ".gitkeep"]
    assert written
    assert not (project / "data/03_primary/model_input_table.json").exists()


def test_runner_runs_locally_with_the_arguments_a_source_task_passes(tmp_path: Path):
    project = copy_example(tmp_path / "sf")
    result = subprocess.run(
        [
            sys.executable,
            "run_on_databricks.py",
            "--pipeline",
            "__default__",
            "--env",
            "base",
            "--params",
            "reporting.group_by=engines",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        env=kedro_environ(),
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((project / REPORT).read_text())["group_by"] == "engines"


def test_a_from_source_target_gives_a_dev_target_running_the_runner_that_validates(tmp_path: Path):
    project = copy_example(tmp_path / "sf")
    with (project / "conf/base/dab.yml").open("a") as dab:
        dab.write("\ntargets:\n  dev:\n    from_source: true\n")
    result = run_kedro(project, "dab", "bundle")
    assert result.returncode == 0, result.stdout + result.stderr
    require_schema()
    assert bundle_file_errors(project) == []
    import yaml

    generated = project / "resources/kedro-dab/spaceflights.yml"
    targets = yaml.safe_load(generated.read_text())["targets"]
    dev_task = targets["dev"]["resources"]["jobs"]["spaceflights"]["tasks"][0]
    prod_task = targets["prod"]["resources"]["jobs"]["spaceflights"]["tasks"][0]
    assert dev_task["spark_python_task"]["python_file"] == "../../run_on_databricks.py"
    assert "python_wheel_task" in prod_task
    assert (
        dev_task["spark_python_task"]["parameters"] == prod_task["python_wheel_task"]["parameters"]
    )


def test_a_from_source_target_without_the_runner_is_an_error(tmp_path: Path):
    project = copy_example(tmp_path / "sf")
    (project / "run_on_databricks.py").unlink()
    with (project / "conf/base/dab.yml").open("a") as dab:
        dab.write("\ntargets:\n  dev:\n    from_source: true\n")
    result = run_kedro(project, "dab", "bundle")
    assert result.returncode == 2
    assert "kedro dab init --vscode" in result.stderr
