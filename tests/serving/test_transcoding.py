"""Transcoded datasets (`name@form`) served: the request feeds each form of the transcoded free
input the nodes read, a transcoded catalog input is preloaded, and the transcoded free output
is returned; each answer equals a plain `kedro run` of the same pipeline (the oracle)."""

from __future__ import annotations

import json
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


def check(rows):
    return [row for row in rows if row["v"] >= 0]


def summarize(rows, weights, given):
    total = sum(weights["scale"] * row["v"] for row in rows)
    return {"n": len(rows), "of": len(given), "total": total}


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(check, "rows@records", "checked@records", name="check_node"),
            node(
                summarize,
                ["checked@json", "weights@json", "rows@json"],
                "summary@json",
                name="sum_node",
            ),
        ]
    )
"""

CATALOG = """\
weights@json:
  type: json.JSONDataset
  filepath: data/weights.json
"""

ORACLE_CATALOG = """\
rows@records:
  type: json.JSONDataset
  filepath: data/rows.json
rows@json:
  type: json.JSONDataset
  filepath: data/rows.json
checked@records:
  type: json.JSONDataset
  filepath: data/checked.json
checked@json:
  type: json.JSONDataset
  filepath: data/checked.json
summary@json:
  type: json.JSONDataset
  filepath: data/summary.json
"""

DAB_YML = """\
serving:
  summary:
    pipeline: transcoded
    inputs: [rows]
  summary-fresh:
    pipeline: transcoded
    inputs: [rows]
    preload: []
"""

ROWS = [{"v": 3}, {"v": -1}, {"v": 4.5}]


@pytest.fixture(scope="module", params=["kedro_task", "lean"])
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    package = unique_package("kdab_transcoded")
    made = make_project(
        tmp_path_factory.mktemp("serving-transcoded"),
        package,
        {"transcoded": PIPELINE},
        CATALOG,
        DAB_YML,
        {"oracle": {"catalog.yml": ORACLE_CATALOG}},
        template=project_template(tmp_path_factory),
    )
    if request.param == "kedro_task":
        with (made / "src" / package / "settings.py").open("a", encoding="utf-8") as settings:
            settings.write(WITH_A_NODE_HOOK)
    (made / "data").mkdir(exist_ok=True)
    (made / "data" / "weights.json").write_text(json.dumps({"scale": 2}), encoding="utf-8")
    return made


@pytest.fixture(scope="module")
def server(project: Path) -> Iterator[Server]:
    with running_server(project) as running:
        yield running


def kedro_run(project: Path, rows: list[dict[str, object]]) -> object:
    return kedro_run_oracle(project, rows, None, pipeline="transcoded", output="summary")


@pytest.mark.parametrize("endpoint", ["summary", "summary-fresh"], ids=["preloaded", "catalog"])
def test_a_transcoded_input_and_output_are_served_as_kedro_run_computes_them(
    server: Server, project: Path, endpoint: str
):
    expected = kedro_run(project, ROWS)
    response = server.invoke(endpoint, {"dataframe_records": ROWS})
    assert response.status_code == 200, response.text
    assert response.json() == {"outputs": {"summary": expected}}
