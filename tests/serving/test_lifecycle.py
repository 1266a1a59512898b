"""A server's life around its requests: `/ready` answers 503 while an endpoint's catalog input
has no data (its requests would fail), and a stopping server gives up on a request that never
ends within the 15 seconds a Databricks App gets between SIGTERM and SIGKILL, after letting one
that ends soon finish."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.serving.conftest import (
    KEDRO_1,
    SCORE_PIPELINE,
    WEIGHTS,
    Server,
    running_server,
)
from tests.support.kedro_projects import make_project, project_template, unique_package

pytestmark = pytest.mark.skipif(not KEDRO_1, reason="serving needs Kedro 1.x")

APPS_GRACE_SECONDS = 15
"""Databricks Apps: an app must stop within 15 s of SIGTERM, or it is killed."""

HANG_PIPELINE = """\
import time
from pathlib import Path

from kedro.pipeline import Pipeline, node, pipeline


def hang(hang):
    Path(hang["marker"]).write_text("started", encoding="utf-8")
    time.sleep(hang["seconds"])
    return hang["seconds"]


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline([node(hang, "params:hang", "slept", name="hang_node")])
"""

PARAMETERS = """\
score:
  offset: 0.0
  scale: 1
hang:
  seconds: 0
  marker: hang-started
"""

CATALOG = """\
weights:
  type: json.JSONDataset
  filepath: data/01_raw/weights.json
"""

DAB_YML = """\
serving:
  score-fresh:
    pipeline: score
    inputs: [rows]
    preload: []
  hang:
    pipeline: hang
    params: [hang.seconds, hang.marker]
"""


@pytest.fixture
def project(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `kedro new` project whose `score-fresh` endpoint reads `weights` from the catalog on
    each request (the file is not written yet), and a `hang` endpoint that sleeps."""
    made = make_project(
        tmp_path,
        unique_package("kdab_life"),
        {"score": SCORE_PIPELINE, "hang": HANG_PIPELINE},
        CATALOG,
        DAB_YML,
        template=project_template(tmp_path_factory),
    )
    (made / "conf" / "base" / "parameters.yml").write_text(PARAMETERS, encoding="utf-8")
    return made


ROWS = [{"width": 3, "height": 4, "depth": 1}]


def test_ready_is_503_naming_catalog_inputs_without_data_until_they_have_it(project: Path):
    weights = project / "data" / "01_raw" / "weights.json"
    with running_server(project, wait_for="/health") as server:
        waiting = server.client.get("/ready")
        failing = server.invoke("score-fresh", {"inputs": ROWS})
        weights.parent.mkdir(parents=True, exist_ok=True)
        weights.write_text(json.dumps(WEIGHTS), encoding="utf-8")
        ready = server.client.get("/ready")
        answered = server.invoke("score-fresh", {"inputs": ROWS})
        log = server.log_text()
    assert waiting.status_code == 503
    assert waiting.json() == {
        "status": "not ready",
        "endpoints": ["hang", "score-fresh"],
        "missing": {"score-fresh": ["weights"]},
    }
    assert failing.status_code == 500
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "endpoints": ["hang", "score-fresh"]}
    assert answered.status_code == 200, answered.text
    assert "endpoint 'score-fresh': catalog input(s) 'weights' have no data yet" in log


def _write_weights(project: Path) -> None:
    weights = project / "data" / "01_raw" / "weights.json"
    weights.parent.mkdir(parents=True, exist_ok=True)
    weights.write_text(json.dumps(WEIGHTS), encoding="utf-8")


def _hang_a_request(
    server: Server, project: Path, answers: list[httpx.Response], seconds: int
) -> threading.Thread:
    """Send a request whose node sleeps for `seconds`, its answer to go in `answers`; return
    once the node has started."""
    marker = project / "hang-started"

    def send() -> None:
        with httpx.Client(base_url=server.url, timeout=APPS_GRACE_SECONDS * 4) as client:
            answers.append(
                client.post(
                    "/serving-endpoints/hang/invocations",
                    json={"params": {"hang.seconds": seconds, "hang.marker": str(marker)}},
                )
            )

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline, server.log_text()
        time.sleep(0.05)
    return sender


def _stop_during_a_request(
    project: Path, stop: signal.Signals, seconds: int
) -> tuple[list[httpx.Response], str]:
    """Send a request whose node sleeps for `seconds`, stop the server with `stop` once the
    node has started, and wait for it to exit: the request's answers and the server's log."""
    _write_weights(project)
    answers: list[httpx.Response] = []
    with running_server(project) as server:
        sender = _hang_a_request(server, project, answers, seconds)
        server.process.send_signal(stop)
        try:
            server.process.wait(timeout=APPS_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {APPS_GRACE_SECONDS} s after {stop.name}")
        sender.join(timeout=5)
        return answers, server.log_text()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl_c"])
def test_a_stopping_server_gives_up_on_a_request_that_never_ends(
    project: Path, stop: signal.Signals
):
    answers, log = _stop_during_a_request(project, stop, seconds=600)
    assert "Traceback" not in log
    assert "1 request was still running as the server stops" in log
    assert [answer.status_code for answer in answers] == [503]
    assert answers[0].json()["error_code"] == "TEMPORARILY_UNAVAILABLE"


def test_a_stopping_server_lets_a_request_that_ends_soon_finish(project: Path):
    answers, log = _stop_during_a_request(project, signal.SIGTERM, seconds=2)
    assert "Traceback" not in log
    assert [answer.status_code for answer in answers] == [200], log
    assert answers[0].json() == {"outputs": {"slept": 2}}
