"""Answers outside the endpoints' own routes over real HTTP: an unknown path or method gets the
same JSON error object as every other error, `HEAD /health` and `HEAD /ready` answer as `GET`
does, the OpenAPI document is well formed, and a
parameter that is not a finite number is refused as a bad value."""

from __future__ import annotations

import pytest

from tests.serving.conftest import KEDRO_1, Server

pytestmark = pytest.mark.skipif(not KEDRO_1, reason="serving needs Kedro 1.x")


def _error_shape(server: Server) -> set[str]:
    """The keys of the server's own error answers (an unknown endpoint's)."""
    known = server.invoke("nope", {})
    assert known.status_code == 404
    return set(known.json())


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no/such/path", 404),
        ("POST", "/serving-endpoints/trivial", 404),
        ("GET", "/serving-endpoints/trivial/invocations", 405),
        ("POST", "/health", 405),
    ],
    ids=["unknown_path", "unknown_endpoint_path", "get_on_invocations", "post_on_health"],
)
def test_unknown_paths_and_methods_answer_in_the_servers_error_format(
    server: Server, method: str, path: str, status: int
):
    response = server.client.request(method, path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()) == _error_shape(server)
    assert response.json()["message"]


@pytest.mark.parametrize("path", ["/health", "/ready"])
def test_head_answers_as_get_does(server: Server, path: str):
    get = server.client.get(path)
    head = server.client.head(path)
    assert head.status_code == get.status_code == 200
    assert head.content == b""


def test_the_openapi_document_has_one_operation_per_id(server: Server):
    spec = server.client.get("/openapi.json").json()
    ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert "Duplicate Operation ID" not in server.log_text()


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_parameter_that_is_not_a_finite_number_is_a_422_naming_it(server: Server, constant: str):
    body = '{"params": {"trivial.factor": ' + constant + "}}"  # Python json.dumps writes these
    response = server.client.post(
        "/serving-endpoints/trivial/invocations",
        content=body.encode(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert "parameter 'trivial.factor'" in response.json()["message"]
