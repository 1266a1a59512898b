# ruff: noqa: E501  (tables of cases read best one case a line)
"""`kedro dab serve` over real HTTP: a real uvicorn server on 127.0.0.1, a real httpx client,
a real `kedro new` project; answers checked against a plain `kedro run` of the same pipeline."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.serving.conftest import KEDRO_1, TOKEN, Server, free_port, kedro_run_oracle
from tests.support.kedro_projects import kedro_environ, kedro_executable

pytestmark = pytest.mark.skipif(not KEDRO_1, reason="serving needs Kedro 1.x")

ROWS = [{"width": 3, "height": 4, "depth": 1}, {"width": -1, "height": 10, "depth": 0.5}]


def test_answer_equals_a_plain_kedro_run_of_the_pipeline(server: Server, served_project: Path):
    expected = kedro_run_oracle(served_project, ROWS, "score.offset=2.5,score.scale=3")
    response = server.invoke(
        "score", {"dataframe_records": ROWS, "params": {"score.offset": 2.5, "score.scale": 3}}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"outputs": {"scores": expected}}


def test_default_parameters_are_the_projects(server: Server, served_project: Path):
    expected = kedro_run_oracle(served_project, ROWS, "")
    response = server.invoke("score", {"dataframe_records": ROWS})
    assert response.json() == {"outputs": {"scores": expected}}


def test_params_change_the_result(server: Server):
    plain = server.invoke("trivial", {"params": {}}).json()
    changed = server.invoke("trivial", {"params": {"trivial.a": 10, "trivial.label": "x"}}).json()
    # trivial: (a + b) * factor with a=1, b=2, factor=1.5 in parameters.yml
    assert plain == {"outputs": {"answer": {"label": "plain", "value": 4.5}}}
    assert changed == {"outputs": {"answer": {"label": "x", "value": 18.0}}}


@pytest.mark.parametrize(
    "body",
    [
        {"dataframe_records": ROWS},
        {"dataframe_split": {"columns": ["width", "height", "depth"], "data": [[3, 4, 1], [-1, 10, 0.5]]}},
        {"dataframe_split": {"columns": ["width", "height", "depth"], "index": [0, 1], "data": [[3, 4, 1], [-1, 10, 0.5]]}},
        {"inputs": ROWS},
        {"inputs": {"rows": ROWS}},
        {"instances": ROWS},
        {"instances": {"rows": ROWS}},
    ],
    ids=["dataframe_records", "dataframe_split", "dataframe_split_with_index", "inputs", "inputs_by_name", "instances", "instances_by_name"],
)  # fmt: skip
def test_every_model_serving_request_shape_gives_the_same_answer(server: Server, body):
    expected = server.invoke("score", {"dataframe_records": ROWS}).json()
    response = server.invoke("score", body)
    assert response.status_code == 200, response.text
    assert response.json() == expected


def test_preloaded_data_is_read_once_and_catalog_inputs_on_each_request(
    server: Server, served_project: Path
):
    weights = served_project / "data" / "01_raw" / "weights.json"
    before = {
        name: server.invoke(name, {"inputs": ROWS}).json() for name in ("score", "score-fresh")
    }
    original = weights.read_text()
    try:
        weights.write_text(json.dumps({"width": 100.0}))
        after = {
            name: server.invoke(name, {"inputs": ROWS}).json() for name in ("score", "score-fresh")
        }
    finally:
        weights.write_text(original)
    assert before["score"] == before["score-fresh"]
    assert after["score"] == before["score"]
    assert after["score-fresh"] == {"outputs": {"scores": [{"score": 300.0}, {"score": -100.0}]}}


def test_concurrent_requests_never_see_each_others_data(server: Server):
    def body(i: int) -> dict[str, object]:
        rows = [{"width": i, "height": 2 * i, "depth": i % 3}]
        return {"dataframe_records": rows, "params": {"score.offset": float(i), "score.scale": i}}

    expected = {i: server.invoke("score", body(i)).json() for i in range(8)}

    def client_loop(worker: int) -> list[tuple[int, object]]:
        with httpx.Client(base_url=server.url, headers=server.client.headers) as client:
            out = []
            for n in range(8):
                i = (worker + n) % 8
                answer = client.post("/serving-endpoints/score/invocations", json=body(i))
                out.append((i, answer.json()))
            return out

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [pair for chunk in pool.map(client_loop, range(8)) for pair in chunk]
    assert len(results) == 64
    assert all(answer == expected[i] for i, answer in results)
    assert len({str(v) for v in expected.values()}) == 8


def test_a_small_load_answers_every_request_correctly(server: Server):
    expected = server.invoke("trivial", {"params": {"trivial.b": 5}}).json()
    lock = threading.Lock()
    statuses: list[int] = []

    def client_loop(_: int) -> None:
        with httpx.Client(base_url=server.url, headers=server.client.headers) as client:
            for _ in range(50):
                answer = client.post(
                    "/serving-endpoints/trivial/invocations", json={"params": {"trivial.b": 5}}
                )
                with lock:
                    statuses.append(answer.status_code if answer.json() == expected else -1)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(client_loop, range(4)))
    assert statuses == [200] * 200


BAD_REQUESTS = [
    ("missing_input", "score", {"params": {}}, 422, "missing input 'rows'"),
    ("unknown_input", "score", {"inputs": {"rows": ROWS, "extra": 1}}, 422, "unknown input 'extra'"),
    ("unknown_parameter", "score", {"inputs": ROWS, "params": {"score.nope": 1}}, 422, "unknown parameter 'score.nope'"),
    ("wrong_type_integer", "score", {"inputs": ROWS, "params": {"score.scale": 1.5}}, 422, "parameter 'score.scale' must be an integer"),
    ("wrong_type_number", "trivial", {"params": {"trivial.factor": "2"}}, 422, "parameter 'trivial.factor' must be a number"),
    ("wrong_type_string", "trivial", {"params": {"trivial.label": 3}}, 422, "parameter 'trivial.label' must be a string"),
    ("inputs_to_a_params_only_endpoint", "trivial", {"inputs": [1]}, 422, "endpoint 'trivial' takes no inputs"),
    ("unknown_body_key", "score", {"instancez": ROWS}, 422, "unknown key 'instancez'"),
    ("records_not_rows", "score", {"dataframe_records": [1, 2]}, 422, "'dataframe_records' must be a list of row objects"),
    ("split_row_too_short", "score", {"dataframe_split": {"columns": ["a", "b"], "data": [[1]]}}, 422, "'dataframe_split.data[0]' must be a list of 2 values"),
    ("split_column_twice", "score", {"dataframe_split": {"columns": ["a", "a"], "data": [[1, 2]]}}, 422, "'dataframe_split.columns' names 'a' twice"),
    ("split_column_a_list", "score", {"dataframe_split": {"columns": [["a"]], "data": [[1]]}}, 422, "'dataframe_split.columns[0]' must be a column name"),
    ("split_index_too_short", "score", {"dataframe_split": {"columns": ["a"], "data": [[1], [2]], "index": [0]}}, 422, "'dataframe_split.index' must be a list of 2 labels"),
    ("two_shapes", "score", {"inputs": ROWS, "dataframe_records": ROWS}, 422, "send one of"),
    ("params_a_list", "trivial", {"params": [1]}, 422, "'params' must be an object"),
    ("params_a_list_of_pairs", "trivial", {"params": [["trivial.a", 10]]}, 422, "'params' must be an object"),
    ("params_text", "score", {"inputs": ROWS, "params": "x"}, 422, "'params' must be an object"),
    ("unknown_endpoint", "nope", {"params": {}}, 404, "no endpoint 'nope'; endpoints: score, score-fresh, trivial"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("endpoint", "body", "status", "message"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_bad_request_gets_its_status_and_a_message_naming_the_fault(
    server: Server, endpoint, body, status, message
):
    response = server.invoke(endpoint, body)
    assert response.status_code == status, response.text
    assert message in response.json()["message"]


def test_a_body_that_is_not_json_is_a_400(server: Server):
    response = server.client.post("/serving-endpoints/score/invocations", content=b"{nope")
    assert response.status_code == 400
    assert response.json()["message"] == "the request body is not valid JSON"


def test_failing_node_is_a_500_naming_it_with_the_traceback_only_in_the_log(server: Server):
    response = server.invoke("score", {"dataframe_records": [{"width": 1, "explode": True}]})
    assert response.status_code == 500
    assert "node 'check_rows_node' failed (ValueError)" in response.json()["message"]
    assert "Traceback" not in response.text
    assert "row asks to explode" not in response.text
    assert "row asks to explode" in server.log_text()


def test_a_body_nested_too_deeply_to_read_is_a_400_not_a_crash(server: Server):
    body = b'{"inputs": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = server.client.post("/serving-endpoints/score/invocations", content=body)
    assert response.status_code == 400, response.text
    assert response.json() == {
        "error_code": "BAD_REQUEST",
        "message": "the request body nests arrays and objects too deeply",
    }
    assert server.invoke("score", {"inputs": ROWS}).status_code == 200


def test_a_body_over_the_limit_is_a_413(server: Server):
    response = server.client.post(
        "/serving-endpoints/score/invocations",
        content=b'{"inputs": "' + b"x" * (16 * 1024 * 1024) + b'"}',
    )
    assert response.status_code == 413
    assert "over the limit" in response.json()["message"]


def test_a_streamed_body_over_the_limit_is_a_413(server: Server):
    def chunks():  # no Content-Length: the server learns the size only as it reads
        yield b'{"inputs": "'
        for _ in range(17):
            yield b"x" * (1024 * 1024)
        yield b'"}'

    response = server.client.post("/serving-endpoints/score/invocations", content=chunks())
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"


def test_invocations_need_the_bearer_token_when_one_is_set(server: Server):
    with httpx.Client(base_url=server.url) as anonymous:
        refused = anonymous.post("/serving-endpoints/trivial/invocations", json={})
        wrong = anonymous.post(
            "/serving-endpoints/trivial/invocations",
            json={},
            headers={"Authorization": f"Bearer {TOKEN}x"},
        )
        health = anonymous.get("/health")
    assert refused.status_code == 401
    assert wrong.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert health.json() == {"status": "ok"}


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_the_bearer_scheme_is_read_in_any_case_as_http_reads_schemes(server: Server, scheme: str):
    with httpx.Client(base_url=server.url) as client:
        answer = client.post(
            "/serving-endpoints/trivial/invocations",
            json={},
            headers={"Authorization": f"{scheme} {TOKEN}"},
        )
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("path", ["/health", "/ready", "/docs", "/redoc", "/openapi.json"])
def test_health_readiness_and_the_api_documentation_stay_open_when_a_token_is_set(
    server: Server, path: str
):
    with httpx.Client(base_url=server.url) as anonymous:
        assert anonymous.get(path).status_code == 200


def test_ready_lists_the_endpoints(server: Server):
    assert server.client.get("/ready").json() == {
        "status": "ready",
        "endpoints": ["score", "score-fresh", "trivial"],
    }


def test_openapi_lists_each_endpoints_inputs_and_params(server: Server):
    spec = server.client.get("/openapi.json").json()
    score = spec["paths"]["/serving-endpoints/score/invocations"]["post"]
    schema = score["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["params"]["properties"] == {
        "score.offset": {"type": "number", "default": 0.0},
        "score.scale": {"type": "integer", "default": 1},
    }
    assert {"dataframe_records", "dataframe_split", "inputs", "instances"} <= set(
        schema["properties"]
    )
    assert "Inputs: rows." in score["description"]
    trivial = spec["paths"]["/serving-endpoints/trivial/invocations"]["post"]
    params = trivial["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert set(params) == {"params"}
    assert server.client.get("/docs").status_code == 200


def test_openapi_lists_every_answer_an_invocation_can_give_and_the_bearer_scheme(server: Server):
    spec = server.client.get("/openapi.json").json()
    invocation = spec["paths"]["/serving-endpoints/score/invocations"]["post"]
    assert set(invocation["responses"]) == {"200", "400", "401", "413", "422", "500", "503"}
    refused = server.invoke("score", {"params": {}})
    error = invocation["responses"]["422"]["content"]["application/json"]["schema"]
    assert set(error["required"]) == set(refused.json())
    assert invocation["security"] == [{"bearer": []}]
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert "503" in spec["paths"]["/ready"]["get"]["responses"]


ASGI_SERVER = """\
import sys

import uvicorn

from kedro_dab import api

app = api.serving_app(sys.argv[1], ["trivial"], token=sys.argv[3])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def test_the_public_serving_app_runs_under_a_plain_asgi_server_and_answers_as_serve_does(
    served_project: Path, server: Server
):
    port = free_port()
    command = [sys.executable, "-c", ASGI_SERVER, str(served_project), str(port), TOKEN]
    process = subprocess.Popen(
        command, cwd=served_project, env=kedro_environ(), stdout=subprocess.DEVNULL
    )
    body = {"params": {"trivial.a": 5}}
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {TOKEN}"}
        ) as client:
            deadline = time.monotonic() + 90
            while True:
                assert process.poll() is None, "the ASGI server exited"
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/ready").status_code == 200:
                        break
                assert time.monotonic() < deadline, "the ASGI server did not get ready"
                time.sleep(0.1)
            ready = client.get("/ready").json()
            answer = client.post("/serving-endpoints/trivial/invocations", json=body)
            unchosen = client.post("/serving-endpoints/score/invocations", json={})
    finally:
        process.terminate()
        process.wait(timeout=15)
    assert ready == {"status": "ready", "endpoints": ["trivial"]}
    assert answer.status_code == 200, answer.text
    assert answer.json() == server.invoke("trivial", body).json()
    assert unchosen.status_code == 404


KEDRO_PER_DATASET_AND_NODE_LINES = ("Loading data from", "Saving data to", "Running node")
"""What Kedro logs at INFO for each dataset and node of a run."""


def test_the_server_log_holds_none_of_kedros_per_dataset_and_per_node_info_lines(
    served_project: Path, server: Server
):
    ran = subprocess.run(
        [str(kedro_executable()), "run", "--pipelines", "trivial"],
        cwd=served_project,
        env=kedro_environ(),
        capture_output=True,
        text=True,
        check=True,
    )
    kedro_lines = " ".join((ran.stdout + ran.stderr).split())
    assert all(line in kedro_lines for line in KEDRO_PER_DATASET_AND_NODE_LINES), kedro_lines
    assert server.invoke("trivial", {}).status_code == 200
    log = " ".join(server.log_text().split())
    assert [line for line in KEDRO_PER_DATASET_AND_NODE_LINES if line in log] == []


def test_server_binds_the_loopback_address_by_default(server: Server):
    assert server.url.startswith("http://127.0.0.1:")
    assert "Uvicorn running on http://127.0.0.1:" in server.log_text()
