"""What a node does to the data it loads stays its own, as in `kedro run`: a request's inputs
and parameters are copied on each load (Kedro's `MemoryDataset` rule), so a node changing
them is not seen by the next node, nor by the next request. And request parameters merge into
an env's own parameters as `kedro run --params` merges them. Each answer equals a plain
`kedro run` of the same pipeline (the oracle)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving.conftest import (
    KEDRO_1,
    WITH_A_NODE_HOOK,
    Server,
    kedro_run_oracle,
    running_server,
)
from tests.support.kedro_projects import (
    make_project,
    project_template,
    unique_package,
)

pytestmark = pytest.mark.skipif(not KEDRO_1, reason="serving needs Kedro 1.x")

PIPELINE = """\
from kedro.pipeline import Pipeline, node, pipeline


def change(rows, cfg):
    for row in rows:
        row["a"] *= 100
    cfg["items"].append("changed")
    return len(rows)


def report(rows, cfg, count, model):
    return {"rows": rows, "cfg": cfg, "count": count, "model": model}


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(change, ["rows", "params:cfg"], "count", name="change_node"),
            node(report, ["rows", "params:cfg", "count", "params:model"], "seen", name="report"),
        ]
    )
"""

PARAMETERS = """\
cfg:
  items: [a]
  n: 0
model:
  a: 1
  b: 2
"""

ORACLE_CATALOG = """\
rows:
  type: json.JSONDataset
  filepath: data/rows.json
seen:
  type: json.JSONDataset
  filepath: data/seen.json
"""

DAB_YML = """\
serving:
  seen:
    pipeline: copies
    inputs: [rows]
    params: [cfg.n, model.a]
"""

ROWS = [{"a": 1}, {"a": 2}]


@pytest.fixture(scope="module", params=["kedro_task", "lean"])
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose first node changes the rows and parameters it loads; `alt` is an env
    with a parameters file of its own."""
    package = unique_package("kdab_copies")
    made = make_project(
        tmp_path_factory.mktemp("serving-copies"),
        package,
        {"copies": PIPELINE},
        None,
        DAB_YML,
        {
            "oracle": {"catalog.yml": ORACLE_CATALOG},
            "alt": {"parameters.yml": "other: 5\n"},
            "alt_oracle": {"catalog.yml": ORACLE_CATALOG, "parameters.yml": "other: 5\n"},
        },
        template=project_template(tmp_path_factory),
    )
    (made / "conf" / "base" / "parameters.yml").write_text(PARAMETERS, encoding="utf-8")
    if request.param == "kedro_task":
        with (made / "src" / package / "settings.py").open("a", encoding="utf-8") as settings:
            settings.write(WITH_A_NODE_HOOK)
    (made / "data").mkdir(exist_ok=True)
    return made


def kedro_run(project: Path, env: str, params: str | None) -> object:
    return kedro_run_oracle(project, ROWS, params, pipeline="copies", env=env, output="seen")


@pytest.fixture(scope="module")
def server(project: Path) -> Iterator[Server]:
    with running_server(project, "--env", "base") as running:
        yield running


@pytest.mark.parametrize(
    ("params", "cli_params"),
    [({}, None), ({"cfg.n": 1}, "cfg.n=1")],
    ids=["configured", "given"],
)
def test_a_node_changing_what_it_loaded_changes_nothing_another_node_or_request_loads(
    server: Server, project: Path, params: dict[str, object], cli_params: str | None
):
    expected = kedro_run(project, "oracle", cli_params)
    answers = [server.invoke("seen", {"dataframe_records": ROWS, "params": params}) for _ in "ab"]
    assert [a.status_code for a in answers] == [200, 200], answers[0].text
    assert [a.json() for a in answers] == [{"outputs": {"seen": expected}}] * 2


def test_request_parameters_merge_into_an_envs_own_parameters_as_kedro_run_merges_them(
    project: Path,
):
    expected = kedro_run(project, "alt_oracle", "model.a=9")
    with running_server(project, "--env", "alt") as server:
        answer = server.invoke("seen", {"dataframe_records": ROWS, "params": {"model.a": 9}})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"outputs": {"seen": expected}}
