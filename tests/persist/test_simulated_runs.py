"""`boundaries: persist` in `kedro dab run --local`: in-memory datasets cross task boundaries
through run-scoped files, and the outputs equal a plain `kedro run`'s."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.kedro_projects import kedro_environ, kedro_executable, run_kedro

pytestmark = pytest.mark.project

# Three tasks joined only by in-memory datasets (`made`, `doubled`); the last node also takes
# the whole `parameters` dict, so a runtime parameter leaking into it would change `report`.
MEMORY_CHAIN = """
import time
from pathlib import Path

from kedro.pipeline import Pipeline, node


def make(value):
    return {"value": value, "items": (value, value * 2)}


def double(made):
    if Path("data/break_double").exists():
        raise RuntimeError("double is broken")
    return [made["value"] * 2, sorted(made)]


def wait(delay):
    time.sleep(delay)
    return delay


def report(made, doubled, waited, parameters):
    return f"made={made!r} doubled={doubled!r} parameters={sorted(parameters.items())!r}"


def create_pipeline(**kwargs):
    return Pipeline([
        node(make, "params:value", "made", name="make", tags=["task.first"]),
        node(double, "made", "doubled", name="double", tags=["task.second"]),
        node(wait, "params:delay", "waited", name="wait", tags=["task.third"]),
        node(report, ["made", "doubled", "waited", "parameters"], "report", name="report",
             tags=["task.third"]),
    ])
"""

CATALOG = """
report:
  type: text.TextDataset
  filepath: data/report_${runtime_params:value, 7}.txt
"""

PARAMETERS = {"parameters.yml": "value: 7\ndelay: 0\n"}

PERSIST = """
boundaries: persist
boundaries_root: /Volumes/main/default/kedro/boundaries
jobs:
  demo:
    parameters:
      - {name: value, default: 7}
      - {name: delay, default: 0}
"""


def make(project_factory, dab_yml: str = PERSIST) -> Path:
    return project_factory(
        pipelines={"chain": MEMORY_CHAIN},
        catalog=CATALOG,
        dab_yml=dab_yml,
        envs={"base": PARAMETERS},
    )


def store(project: Path) -> Path:
    return project / ".kedro-dab" / "boundaries" / "demo"


def test_a_grouping_refused_today_runs_with_persist_and_equals_kedro_run(project_factory):
    project = make(project_factory, PERSIST.replace("persist", "refuse", 1))
    refused = run_kedro(project, "dab", "plan")
    assert refused.returncode == 2
    assert "in-memory datasets would cross task boundaries" in refused.stderr

    (project / "conf" / "base" / "dab.yml").write_text(PERSIST)
    run_kedro(project, "run", "--pipeline", "chain", check=True)
    expected = (project / "data" / "report_7.txt").read_bytes()
    (project / "data" / "report_7.txt").unlink()

    result = run_kedro(project, "dab", "run", "--local")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All 4 tasks succeeded" in result.stdout
    assert (project / "data" / "report_7.txt").read_bytes() == expected
    assert list(store(project).iterdir()) == [], "a successful run removes its boundary data"


def test_a_failed_run_keeps_its_data_and_a_repair_of_it_succeeds(project_factory):
    project = make(project_factory)
    run_kedro(project, "run", "--pipeline", "chain", check=True)
    expected = (project / "data" / "report_7.txt").read_bytes()
    (project / "data" / "report_7.txt").unlink()

    (project / "data" / "break_double").write_text("")
    failed = run_kedro(project, "dab", "run", "--local")
    assert failed.returncode == 1
    (run_dir,) = store(project).iterdir()
    run_id = run_dir.name
    assert f"--run-id {run_id} --repair" in failed.stdout
    assert (run_dir / "made" / "format").read_text().strip() == "pickle"
    assert not (run_dir / "doubled").exists()

    (project / "data" / "break_double").unlink()
    first_log = project / ".kedro-dab" / "simulate" / "demo" / "runs" / run_id / "logs"
    first_log = first_log / "first.log"
    before = first_log.read_bytes()
    repaired = run_kedro(project, "dab", "run", "--local", "--run-id", run_id, "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert first_log.read_bytes() == before, "the repair reruns only what did not succeed"
    assert (project / "data" / "report_7.txt").read_bytes() == expected
    assert not run_dir.exists()


def test_two_concurrent_runs_do_not_share_boundary_data(project_factory):
    project = make(project_factory)
    command = [str(kedro_executable()), "dab", "run", "--local"]
    slow = subprocess.Popen(
        [*command, "--params", "value=1,delay=4"],
        cwd=project,
        env=kedro_environ(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    fast = subprocess.Popen(
        [*command, "--params", "value=2,delay=0"],
        cwd=project,
        env=kedro_environ(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    outputs = [p.communicate(timeout=600)[0] for p in (slow, fast)]
    assert [slow.returncode, fast.returncode] == [0, 0], outputs
    for value in (1, 2):
        text = (project / "data" / f"report_{value}.txt").read_text()
        assert text.startswith(f"made={{'value': {value}, 'items': ({value}, {value * 2})}}")
        assert f"doubled=[{value * 2}," in text


def test_bundle_without_a_boundaries_root_is_refused_naming_the_key(project_factory):
    project = make(project_factory, PERSIST.replace("boundaries_root:", "# boundaries_root:"))
    run_kedro(project, "dab", "init", check=True)
    result = run_kedro(project, "dab", "bundle")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: dab.yml: boundaries_root: job(s) 'demo' persist")
    assert not (project / "resources" / "kedro-dab" / "demo.yml").exists()


@pytest.mark.parametrize("run_id", ["../../..", "/tmp/elsewhere", "..", ".hidden", "a/b"])
def test_a_run_id_that_is_a_path_is_refused_and_nothing_is_created_or_removed(
    project_factory, tmp_path, run_id
):
    project = make(project_factory)
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "notes.txt").write_text("precious")
    before = sorted(p.relative_to(project) for p in project.rglob("*"))
    chosen = str(keep) if run_id == "/tmp/elsewhere" else run_id

    result = run_kedro(project, "dab", "run", "--local", "--run-id", chosen)

    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: --run-id '{chosen}': a run id is a plain name")
    assert sorted(p.relative_to(project) for p in project.rglob("*")) == before
    assert (keep / "notes.txt").read_text() == "precious"


TRANSCODED_CHAIN = """
from kedro.pipeline import Pipeline, node


def make():
    return (1, 2)


def show(pair):
    return repr(pair)


def create_pipeline(**kwargs):
    return Pipeline([
        node(make, None, "pair@raw", name="make", tags=["task.first"]),
        node(show, "pair@raw", "shown", name="show", tags=["task.second"]),
    ])
"""

SHOWN = """
shown:
  type: text.TextDataset
  filepath: data/shown.txt
"""


def persisting(project_factory, chain: str) -> Path:
    """A project of one pipeline, `chain`, writing `data/shown.txt`, whose job persists."""
    return project_factory(
        pipelines={"chain": chain},
        catalog=SHOWN,
        dab_yml="boundaries: persist\nboundaries_root: /Volumes/main/default/kedro/b\n",
    )


def assert_local_run_equals_kedro_run(project: Path) -> None:
    """`kedro dab run --local` succeeds and writes what a plain `kedro run` wrote (the oracle)."""
    run_kedro(project, "run", check=True)
    expected = (project / "data" / "shown.txt").read_bytes()
    (project / "data" / "shown.txt").unlink()

    result = run_kedro(project, "dab", "run", "--local")

    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / "data" / "shown.txt").read_bytes() == expected


def test_an_in_memory_transcoded_dataset_crossing_tasks_is_persisted_and_equals_kedro_run(
    project_factory,
):
    assert_local_run_equals_kedro_run(persisting(project_factory, TRANSCODED_CHAIN))


def test_a_repair_reruns_with_the_failed_runs_own_parameters(project_factory):
    project = make(project_factory)
    run_kedro(project, "run", "--pipeline", "chain", "--params", "value=1", check=True)
    expected = (project / "data" / "report_1.txt").read_bytes()
    (project / "data" / "report_1.txt").unlink()
    (project / "data" / "break_double").write_text("")
    failed = run_kedro(project, "dab", "run", "--local", "--params", "value=1")
    assert failed.returncode == 1
    (run_dir,) = store(project).iterdir()
    (project / "data" / "break_double").unlink()

    other = run_kedro(project, "dab", "run", "--local", "--run-id", run_dir.name, "--repair",
                      "--params", "value=2")  # fmt: skip
    repaired = run_kedro(project, "dab", "run", "--local", "--run-id", run_dir.name, "--repair")

    assert other.returncode == 2
    assert "a repair reruns with the parameters of run" in other.stderr
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert (project / "data" / "report_1.txt").read_bytes() == expected
    assert not (project / "data" / "report_7.txt").exists()


def test_a_repair_of_a_run_that_succeeded_is_refused(project_factory):
    project = make(project_factory)
    (project / "data").mkdir(exist_ok=True)
    (project / "data" / "break_double").write_text("")
    assert run_kedro(project, "dab", "run", "--local").returncode == 1
    (run_dir,) = store(project).iterdir()
    (project / "data" / "break_double").unlink()
    assert (
        run_kedro(project, "dab", "run", "--local", "--run-id", run_dir.name, "--repair").returncode
        == 0
    )
    record = project / ".kedro-dab" / "simulate" / "demo" / "runs" / run_dir.name

    again = run_kedro(project, "dab", "run", "--local", "--run-id", run_dir.name, "--repair")

    assert again.returncode == 2
    (line,) = again.stderr.strip().splitlines()
    assert line.endswith("succeeded; there is nothing to repair")
    assert (record / "run.json").is_file()


ODD_NAMES_CHAIN = """
from kedro.pipeline import Pipeline, node


def make():
    return [1, 2]


def both(first, second):
    return repr([first, second])


def create_pipeline(**kwargs):
    return Pipeline([
        node(make, None, "007", name="make_a", tags=["task.first"]),
        node(make, None, "it's", name="make_b", tags=["task.first"]),
        node(repr, "007", "as_text", name="as_text", tags=["task.second"]),
        node(both, ["as_text", "it's"], "shown", name="show", tags=["task.third"]),
    ])
"""


def test_persisted_datasets_named_like_numbers_or_with_quotes_reach_the_tasks_intact(
    project_factory,
):
    assert_local_run_equals_kedro_run(persisting(project_factory, ODD_NAMES_CHAIN))


def test_a_persisted_dataset_whose_name_cannot_reach_the_tasks_is_refused_at_plan(
    project_factory,
):
    project = persisting(project_factory, TRANSCODED_CHAIN.replace("pair@raw", "sales;eu"))

    result = run_kedro(project, "dab", "plan")

    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "in-memory dataset 'sales;eu'" in line and line.endswith("rename the dataset")
