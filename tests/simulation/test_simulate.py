"""`kedro dab run --local`: each task runs as Databricks would call it; failures show up here."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.project.conftest import plan_json
from tests.support.kedro_projects import (
    kedro_environ,
    kedro_executable,
    python_in,
    run_kedro,
    unique_package,
)

pytestmark = pytest.mark.project

CHAIN = """
from kedro.pipeline import Pipeline, node


def make(value):
    return f"made {value}"


def double(text):
    return text + " | " + text


def shout(text):
    return text.upper()


def create_pipeline(**kwargs):
    return Pipeline([
        node(make, "params:value", "raw_text", name="make", tags=["task.first"]),
        node(double, "raw_text", "doubled", name="double", tags=["task.first"]),
        node(shout, "doubled", "final", name="shout", tags=["task.second"]),
    ])
"""

CHAIN_CATALOG = """
doubled:
  type: text.TextDataset
  filepath: data/doubled.txt
final:
  type: text.TextDataset
  filepath: data/final.txt
"""

FAILING = """
from kedro.pipeline import Pipeline, node


def first():
    return "ok"


def broken(value):
    raise RuntimeError("the wheel fell off")


def last(value):
    return value


def create_pipeline(**kwargs):
    return Pipeline([
        node(first, None, "a", name="first", tags=["task.one"]),
        node(broken, "a", "b", name="broken", tags=["task.two"]),
        node(last, "b", "c", name="last", tags=["task.three"]),
    ])
"""

FAILING_CATALOG = """
a:
  type: text.TextDataset
  filepath: data/a.txt
b:
  type: text.TextDataset
  filepath: data/b.txt
"""


def test_tasks_run_in_order_and_persisted_data_passes_between_them(project_factory):
    project = project_factory(
        pipelines={"chain": CHAIN},
        catalog=CHAIN_CATALOG,
        envs={"base": {"parameters.yml": "value: 7\n"}},
    )
    result = run_kedro(project, "dab", "run", "--local")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All 2 tasks succeeded" in result.stdout
    assert (project / "data" / "final.txt").read_text() == "MADE 7 | MADE 7"


PARAMETERS = """
jobs:
  demo:
    parameters:
      - name: value
        default: 5
"""


def test_job_parameter_default_reaches_the_nodes_as_a_kedro_param(project_factory):
    project = project_factory(
        pipelines={"chain": CHAIN},
        catalog=CHAIN_CATALOG,
        dab_yml=PARAMETERS,
        envs={"base": {"parameters.yml": "value: 7\n"}},
    )
    result = run_kedro(project, "dab", "run", "--local")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / "data" / "final.txt").read_text() == "MADE 5 | MADE 5"


def test_run_params_override_job_parameters_in_every_task(project_factory):
    project = project_factory(
        pipelines={"chain": CHAIN},
        catalog=CHAIN_CATALOG,
        dab_yml=PARAMETERS,
        envs={"base": {"parameters.yml": "value: 7\n"}},
    )
    result = run_kedro(project, "dab", "run", "--local", "--params", "value=42")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / "data" / "final.txt").read_text() == "MADE 42 | MADE 42"


RUNTIME_PARAMS_CATALOG = """
doubled:
  type: text.TextDataset
  filepath: data/${runtime_params:folder}/doubled.txt
final:
  type: text.TextDataset
  filepath: data/${runtime_params:folder}/final.txt
"""

FOLDER_PARAMETER = """
jobs:
  demo:
    parameters:
      - name: value
        default: 5
      - name: folder
        default: first
"""


@pytest.mark.parametrize(
    ("run_params", "folder"),
    [((), "first"), (("--params", "folder=second"), "second")],
    ids=["default", "given"],
)
def test_a_catalog_path_from_runtime_params_is_checked_where_the_task_wrote_it(
    project_factory, run_params, folder
):
    project = project_factory(
        pipelines={"chain": CHAIN},
        catalog=RUNTIME_PARAMS_CATALOG,
        dab_yml=FOLDER_PARAMETER,
        envs={"base": {"parameters.yml": "value: 7\n"}},
    )
    run_kedro(project, "run", "--params", f"value=5,folder={folder}", check=True)
    expected = (project / "data" / folder / "final.txt").read_text()
    for written in (project / "data" / folder).iterdir():
        written.unlink()

    result = run_kedro(project, "dab", "run", "--local", *run_params)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert (project / "data" / folder / "final.txt").read_text() == expected


SCRATCH_MEMORY = """
from kedro.io import MemoryDataset


class ScratchMemory(MemoryDataset):
    \"\"\"The project's own in-memory dataset.\"\"\"
"""


def test_a_projects_own_memory_dataset_class_crossing_tasks_is_merged_and_runs_as_kedro_run(
    project_factory, tmp_path
):
    package = unique_package()
    catalog = CHAIN_CATALOG.replace(
        "doubled:\n  type: text.TextDataset\n  filepath: data/doubled.txt",
        f"doubled:\n  type: {package}.scratch.ScratchMemory",
    )
    assert f"{package}.scratch.ScratchMemory" in catalog
    project = project_factory(
        package=package,
        pipelines={"chain": CHAIN},
        catalog=catalog,
        envs={"base": {"parameters.yml": "value: 7\n"}},
    )
    (project / "src" / package / "scratch.py").write_text(SCRATCH_MEMORY, encoding="utf-8")
    run_kedro(project, "run", check=True)
    expected = (project / "data" / "final.txt").read_text()
    (project / "data" / "final.txt").unlink()

    plan = plan_json(project, tmp_path / "plans")
    result = run_kedro(project, "dab", "run", "--local")

    [job] = plan["jobs"]
    assert [[n["name"] for n in task["nodes"]] for task in job["tasks"]] == [
        ["make", "double", "shout"]
    ]
    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / "data" / "final.txt").read_text() == expected


def test_run_params_must_name_a_declared_job_parameter(project_factory):
    project = project_factory(
        pipelines={"chain": CHAIN},
        catalog=CHAIN_CATALOG,
        dab_yml=PARAMETERS,
        envs={"base": {"parameters.yml": "value: 7\n"}},
    )
    result = run_kedro(project, "dab", "run", "--local", "--params", "valeu=42")
    assert result.returncode == 2
    assert "--params valeu=42: not a parameter of job 'demo' (declared: value)" in result.stderr


def test_tasks_receive_the_bundle_argv_but_a_local_conf_source(project_factory):
    project = project_factory(
        pipelines={"chain": CHAIN},
        catalog=CHAIN_CATALOG,
        envs={"base": {"parameters.yml": "value: 7\n"}},
    )
    run_kedro(project, "dab", "init", check=True)
    run_kedro(project, "dab", "bundle", check=True)
    (bundle_file,) = (project / "resources" / "kedro-dab").glob("*.yml")
    job = next(iter(yaml.safe_load(bundle_file.read_text())["resources"]["jobs"].values()))
    bundle_argv = {t["task_key"]: t["python_wheel_task"]["parameters"] for t in job["tasks"]}
    runs = python_in(
        project,
        (
            "import json; from kedro_dab import api\n"
            "r = api.simulate('.')\n"
            "print(json.dumps({t.key: t.argv for t in r.tasks}))"
        ),
    )
    assert set(runs) == set(bundle_argv)
    for key, argv in runs.items():
        expected = list(bundle_argv[key])
        expected[expected.index("${var.kedro_env}")] = "databricks"
        conf_at = expected.index("--conf-source") + 1
        assert argv[:conf_at] == expected[:conf_at]
        assert Path(argv[conf_at]).is_relative_to(project / ".kedro-dab")


def test_conf_source_holds_exactly_what_the_bundle_ships(project_factory):
    project = project_factory(
        pipelines={"chain": CHAIN},
        catalog=CHAIN_CATALOG,
        envs={
            "base": {"parameters.yml": "value: 7\n", "nested/catalog_extra.yaml": "{}\n"},
            "local": {"secret.yml": "token: x\n"},
        },
    )
    (project / "conf" / "base" / "credentials.yml").write_text("db: {password: x}\n")
    run_kedro(project, "dab", "run", "--local", check=True)
    copied = project / ".kedro-dab" / "simulate"
    (conf,) = list(copied.glob("*/conf"))
    files = {p.relative_to(conf).as_posix() for p in conf.rglob("*") if p.is_file()}
    assert "base/nested/catalog_extra.yaml" in files
    assert "databricks/.gitkeep" in files
    assert not any(f.startswith("local/") for f in files)
    assert not any("credentials" in f for f in files)


def test_failed_task_skips_its_dependants_and_shows_its_log(project_factory):
    project = project_factory(pipelines={"failing": FAILING}, catalog=FAILING_CATALOG)
    result = run_kedro(project, "dab", "run", "--local")
    out = result.stdout + result.stderr
    assert result.returncode == 1
    assert "task two failed" in out
    assert "the wheel fell off" in out
    assert "full log:" in out
    assert "three: skipped" in out


def test_persisted_dataset_missing_after_its_task_is_reported_with_both_tasks(project_factory):
    pipeline = (
        CHAIN
        + '''

from kedro.io import AbstractDataset


class ForgetfulDataset(AbstractDataset):
    """Claims to save, keeps nothing."""

    def __init__(self, **kwargs):
        pass

    def _save(self, data):
        pass

    def _load(self):
        raise RuntimeError("nothing was kept")

    def _exists(self):
        return False

    def _describe(self):
        return {}
'''
    )
    project = project_factory(
        pipelines={"chain": pipeline},
        envs={"base": {"parameters.yml": "value: 7\n"}},
    )
    package = next((project / "src").iterdir()).name
    (project / "conf" / "base" / "catalog.yml").write_text(
        f"doubled:\n  type: {package}.pipelines.chain.pipeline.ForgetfulDataset\n"
    )
    result = run_kedro(project, "dab", "run", "--local")
    out = result.stdout + result.stderr
    assert result.returncode == 1
    assert "dataset 'doubled' does not exist after task 'first' finished" in out
    assert "'second'" in out


def test_in_memory_dataset_lost_between_hand_built_tasks_fails_naming_it(project_factory):
    project = project_factory(
        pipelines={"chain": CHAIN},
        catalog=CHAIN_CATALOG,
        envs={"base": {"parameters.yml": "value: 7\n"}},
    )
    # `raw_text` is in memory inside task `first`; split that task in two by hand, past
    # the generation check, and let the simulation find the loss.
    outcome = python_in(
        project,
        (
            "import json\n"
            "from msgspec.structs import replace\n"
            "from kedro_dab import api\n"
            "from kedro_dab.grouping import BoundaryDataset\n"
            "plan = api.make_plan('.')\n"
            "job = plan.jobs[0]\n"
            "first, second = job.tasks\n"
            "make = replace(first, key='make_only', nodes=('make',))\n"
            "rest = replace(first, nodes=('double',), depends_on=('make_only',))\n"
            "lost = BoundaryDataset('raw_text', 'make_only', ('first',), True)\n"
            "job = replace(job, tasks=(make, rest, second),"
            " boundary_datasets=(lost, *job.boundary_datasets))\n"
            "plan = replace(plan, jobs=(job,))\n"
            "r = api.simulate('.', plan=plan)\n"
            "print(json.dumps({t.key: [t.state, t.problems] for t in r.tasks}))"
        ),
    )
    state, problems = outcome["make_only"]
    assert state == "failed"
    assert "in-memory dataset 'raw_text' made by task 'make_only' is lost" in problems[0]
    assert outcome["first"][0] == "skipped"
    assert outcome["second"][0] == "skipped"


SLOW = """
import time

from kedro.pipeline import Pipeline, node


def slow():
    time.sleep(60)
    return "late"


def create_pipeline(**kwargs):
    return Pipeline([node(slow, None, "out", name="slow")])
"""


@pytest.mark.parametrize(
    ("signum", "to_group", "exit_code"),
    [
        pytest.param(signal.SIGINT, True, 130, id="ctrl-c-in-the-terminal"),
        pytest.param(signal.SIGTERM, False, 128 + signal.SIGTERM, id="sigterm-to-the-command"),
        pytest.param(signal.SIGHUP, False, 128 + signal.SIGHUP, id="sighup-to-the-command"),
    ],
)
def test_a_stopped_command_stops_its_running_tasks(project_factory, signum, to_group, exit_code):
    project = project_factory(pipelines={"slow": SLOW})
    process = subprocess.Popen(
        [str(kedro_executable()), "dab", "run", "--local"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=kedro_environ(),
        start_new_session=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    for line in process.stdout:
        if "slow: running" in line or time.monotonic() > deadline:
            break
    package = next((project / "src").iterdir()).name
    assert _task_processes(package, project), "the task process should be running before Ctrl-C"
    started = time.monotonic()
    (os.killpg if to_group else os.kill)(process.pid, signum)
    process.wait(timeout=30)
    assert time.monotonic() - started < 20
    assert process.returncode == exit_code
    assert _task_processes(package, project) == []


def _task_processes(package: str, project: Path) -> list[str]:
    """This project's task processes (another test, in another worker, may run a project of
    the same package name: its conf source is elsewhere)."""
    pattern = f"-m {package} .*--conf-source {re.escape(str(project))}/"
    found = subprocess.run(
        ["pgrep", "-f", "--", pattern], capture_output=True, text=True, check=False
    )
    assert found.returncode in (0, 1), found.stderr
    return found.stdout.split()


def test_a_dataset_whose_existence_cannot_be_told_is_reported_as_unchecked(project_factory):
    pipeline = (
        CHAIN
        + '''

from kedro_datasets.text import TextDataset


class RemoteTextDataset(TextDataset):
    """Keeps its data, but cannot say whether it exists (as a remote store without access)."""

    def _exists(self):
        raise ConnectionError("no route to the store")
'''
    )
    project = project_factory(
        pipelines={"chain": pipeline},
        envs={"base": {"parameters.yml": "value: 7\n"}},
    )
    package = next((project / "src").iterdir()).name
    (project / "conf" / "base" / "catalog.yml").write_text(
        f"doubled:\n  type: {package}.pipelines.chain.pipeline.RemoteTextDataset\n"
        "  filepath: data/doubled.txt\n"
    )
    result = run_kedro(project, "dab", "run", "--local")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "cannot tell whether dataset 'doubled' exists after task 'first'" in out
    assert "1 boundary dataset(s) unchecked" in out
