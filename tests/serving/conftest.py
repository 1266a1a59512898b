"""A real `kedro new` project with serving endpoints, and real `kedro dab serve` servers on
127.0.0.1 driven over HTTP by httpx."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.kedro_projects import (
    kedro_environ,
    kedro_executable,
    make_project,
    project_template,
    unique_package,
)

KEDRO_1 = __import__("kedro").__version__.startswith("1.")

# Three nodes driven only by parameters (also the benchmark's trivial pipeline).
TRIVIAL_PIPELINE = """\
from kedro.pipeline import Pipeline, node, pipeline


def add(a, b):
    return a + b


def scale(total, factor):
    return total * factor


def report(value, label):
    return {"label": label, "value": value}


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(add, ["params:trivial.a", "params:trivial.b"], "total", name="add_node"),
            node(scale, ["total", "params:trivial.factor"], "scaled", name="scale_node"),
            node(report, ["scaled", "params:trivial.label"], "answer", name="report_node"),
        ]
    )
"""

# Rows from the request, weights from the catalog (preloaded), parameters under `score`.
SCORE_PIPELINE = """\
from kedro.pipeline import Pipeline, node, pipeline


def check_rows(rows):
    for row in rows:
        if row.get("explode"):
            raise ValueError("row asks to explode")
    return rows


def weigh(rows, weights):
    return [sum(weights[k] * v for k, v in row.items() if k in weights) for row in rows]


def finish(weighted, score):
    return [{"score": round(w * score["scale"] + score["offset"], 6)} for w in weighted]


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(check_rows, "rows", "checked_rows", name="check_rows_node"),
            node(weigh, ["checked_rows", "weights"], "weighted", name="weigh_node"),
            node(finish, ["weighted", "params:score"], "scores", name="finish_node"),
        ]
    )
"""

PARAMETERS = """\
trivial:
  a: 1
  b: 2
  factor: 1.5
  label: plain
score:
  offset: 0.0
  scale: 1
"""

CATALOG = """\
weights:
  type: json.JSONDataset
  filepath: data/01_raw/weights.json
"""

WEIGHTS = {"width": 2.0, "height": 0.5, "depth": -1.0}

# The oracle env: the same pipeline through a plain `kedro run`, the request's rows and the
# scores in files.
ORACLE_CATALOG = """\
rows:
  type: json.JSONDataset
  filepath: data/rows.json
scores:
  type: json.JSONDataset
  filepath: data/scores.json
"""

DAB_YML = """\
serving:
  trivial:
    pipeline: trivial
    params: [trivial.a, trivial.b, trivial.factor, trivial.label]
  score:
    pipeline: score
    description: Score rows with the catalog's weights.
    inputs: [rows]
    params: [score.offset, score.scale]
  score-fresh:
    pipeline: score
    inputs: [rows]
    preload: []
"""

TOKEN = "test-token-0123"


def serving_project(
    parent: Path, tmp_path_factory: pytest.TempPathFactory, package: str | None = None
) -> Path:
    """A `kedro new` project with the `trivial` and `score` endpoints."""
    project = make_project(
        parent,
        package or unique_package("kdab_serve"),
        {"trivial": TRIVIAL_PIPELINE, "score": SCORE_PIPELINE},
        CATALOG,
        DAB_YML,
        {"oracle": {"catalog.yml": ORACLE_CATALOG}},
        template=project_template(tmp_path_factory),
    )
    (project / "conf" / "base" / "parameters.yml").write_text(PARAMETERS, encoding="utf-8")
    weights = project / "data" / "01_raw" / "weights.json"
    weights.parent.mkdir(parents=True, exist_ok=True)
    weights.write_text(json.dumps(WEIGHTS), encoding="utf-8")
    return project


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running `kedro dab serve` and a client for it."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    client: httpx.Client

    def invoke(self, endpoint: str, body: object, **kwargs: object) -> httpx.Response:
        return self.client.post(f"/serving-endpoints/{endpoint}/invocations", json=body, **kwargs)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextlib.contextmanager
def running_server(
    project: Path,
    *args: str,
    token: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 90.0,
    wait_for: str = "/ready",
) -> Iterator[Server]:
    """Start `kedro dab serve` in `project` on a free port; wait until it listens there and
    `wait_for` answers 200. A port another process took between choosing and binding it is
    chosen again."""
    environ = dict(extra_env or {})
    if token:
        environ["KEDRO_DAB_SERVE_TOKEN"] = token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for _ in range(5):
        port = free_port()
        log = project / f"serve-{port}.log"
        command = [str(kedro_executable()), "dab", "serve", *args, "--port", str(port)]
        with log.open("wb") as sink:
            process = subprocess.Popen(
                command,
                cwd=project,
                env=kedro_environ(environ),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        client = httpx.Client(base_url=url, headers=headers, timeout=30.0)
        try:
            if _ready(process, log, port, client, wait_for, timeout):
                break
        except BaseException:
            client.close()
            process.kill()
            process.wait()
            raise
        client.close()
    else:
        raise AssertionError(f"no free port could be bound:\n{log.read_text()}")
    try:
        yield Server(url, process, log, client)
    finally:
        client.close()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _ready(
    process: subprocess.Popen[bytes],
    log: Path,
    port: int,
    client: httpx.Client,
    wait_for: str,
    timeout: float,
) -> bool:
    """Wait until the server listens on `port` (its own log says so: an answer from another
    process on that port does not count) and `wait_for` answers 200; False when the port was
    taken before the server could bind it."""
    deadline = time.monotonic() + timeout
    while True:
        text = log.read_text(encoding="utf-8", errors="replace")
        if process.poll() is not None:
            if f"--port {port}:" in text and "already in use" in text:
                return False
            raise AssertionError(f"the server exited early:\n{text}")
        if "Uvicorn running on http://" in text and f":{port} " in text:
            with contextlib.suppress(httpx.TransportError):
                if client.get(wait_for).status_code == 200:
                    return True
        if time.monotonic() > deadline:
            raise AssertionError(f"the server did not get ready:\n{text}")
        time.sleep(0.1)


def kedro_run_oracle(
    project: Path,
    rows: list[dict[str, object]],
    params: str | None,
    *,
    pipeline: str = "score",
    env: str = "oracle",
    output: str = "scores",
) -> object:
    """A pipeline's answer from a plain `kedro run` in an env whose catalog reads the rows
    from `data/rows.json` and writes `output` to `data/<output>.json` (by default the `score`
    pipeline's)."""
    (project / "data" / "rows.json").write_text(json.dumps(rows), encoding="utf-8")
    command = [str(kedro_executable()), "run", "--pipelines", pipeline, "--env", env]
    if params:
        command += ["--params", params]
    subprocess.run(
        command, cwd=project, env=kedro_environ(), check=True, capture_output=True, timeout=300
    )
    return json.loads((project / "data" / f"{output}.json").read_text(encoding="utf-8"))


WITH_A_NODE_HOOK = """
from kedro.framework.hooks import hook_impl


class NodeHook:
    @hook_impl
    def before_node_run(self, node):
        pass


HOOKS = (NodeHook(),)
"""
"""A project hook that runs per request, so the server runs the nodes through Kedro's `Task`
(without one it runs them on plain values, its lean path)."""


@pytest.fixture(scope="module")
def served_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return serving_project(tmp_path_factory.mktemp("serving"), tmp_path_factory)


@pytest.fixture(scope="module")
def server(served_project: Path) -> Iterator[Server]:
    with running_server(served_project, token=TOKEN) as running:
        yield running


__all__ = [
    "KEDRO_1",
    "TOKEN",
    "WEIGHTS",
    "WITH_A_NODE_HOOK",
    "Server",
    "kedro_run_oracle",
    "running_server",
    "serving_project",
]
