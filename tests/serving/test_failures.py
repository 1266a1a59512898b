"""A node or an output that fails in ways a plain exception does not: `sys.exit()` or
KeyboardInterrupt raised in a node, an output JSON cannot hold (an integer too long for text,
an object whose text fails, a table with two columns of one name). Each is a 500 in the JSON
error format naming the node or output, and the server goes on answering."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.serving.conftest import KEDRO_1, Server, running_server
from tests.support.kedro_projects import make_project, project_template, unique_package

pytestmark = pytest.mark.skipif(not KEDRO_1, reason="serving needs Kedro 1.x")

PIPELINE = """\
import sys

import pandas as pd
from kedro.pipeline import Pipeline, node, pipeline


class Unprintable:
    def __str__(self):
        raise RuntimeError("no text for this")


def fail(how):
    if how == "exit":
        sys.exit(3)
    if how == "interrupt":
        raise KeyboardInterrupt
    if how == "huge":
        return 10**5000
    if how == "unprintable":
        return {"value": Unprintable()}
    if how == "columns_named_alike":
        return pd.DataFrame([[1, 2]], columns=["a", "a"])
    return {"fine": True}


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline([node(fail, "params:how", "result", name="fail_node")])
"""

DAB_YML = """\
serving:
  fragile:
    pipeline: fragile
    params: [how]
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    project = make_project(
        tmp_path_factory.mktemp("serving-failures"),
        unique_package("kdab_fragile"),
        {"fragile": PIPELINE},
        None,
        DAB_YML,
        template=project_template(tmp_path_factory),
    )
    (project / "conf" / "base" / "parameters.yml").write_text("how: fine\n", encoding="utf-8")
    with running_server(project, "--env", "base") as running:
        yield running


@pytest.mark.parametrize(
    ("how", "named"),
    [
        ("exit", "node 'fail_node' failed (SystemExit)"),
        ("interrupt", "node 'fail_node' failed (KeyboardInterrupt)"),
        ("huge", "output 'result' cannot be written as JSON: ValueError"),
        ("unprintable", "output 'result' cannot be written as JSON: RuntimeError"),
        ("columns_named_alike", "output 'result' cannot be written as JSON: ValueError: has "),
    ],
)
def test_a_failure_beyond_a_plain_exception_is_a_json_500_naming_the_node_or_output(
    server: Server, how: str, named: str
):
    answer = server.invoke("fragile", {"params": {"how": how}})
    assert answer.status_code == 500, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["error_code"] == "INTERNAL_ERROR"
    assert answer.json()["message"].startswith(named), answer.json()
    assert server.invoke("fragile", {}).json() == {"outputs": {"result": {"fine": True}}}
