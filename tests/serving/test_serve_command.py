"""`kedro dab serve` with a host or port it cannot listen on: one `Error:` line naming the
option, exit code 2, before the project's session and endpoints are loaded; and uvicorn's own
start-up failure (the port taken after that check) as the same error, not its exit code 3."""

from __future__ import annotations

import contextlib
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kedro_dab.serve.errors import ServeError
from kedro_dab.serve.listen import run_server
from tests.serving.conftest import KEDRO_1
from tests.support.kedro_projects import run_kedro

pytestmark = pytest.mark.skipif(not KEDRO_1, reason="serving needs Kedro 1.x")

TIMEOUT = 60.0


def serve(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`kedro dab serve *args`, failing the test if it is still running after TIMEOUT or if it
    wrote or removed a file in the project."""
    before = sorted(project.rglob("*"))
    try:
        completed = run_kedro(project, "dab", "serve", *args, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"`kedro dab serve {' '.join(args)}` kept running") from exc
    assert sorted(project.rglob("*")) == before
    return completed


def one_error_line(completed: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a refused serve, after checking its exit code and that the
    server never started."""
    assert completed.returncode == 2, completed.stderr
    output = completed.stdout + completed.stderr
    assert "Started server process" not in output
    assert "Traceback" not in output
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


@contextlib.contextmanager
def listening_socket() -> Iterator[int]:
    """A socket listening on a free port of 127.0.0.1, for as long as the block runs."""
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_a_port_in_use_is_refused_before_the_endpoints_load(served_project: Path):
    with listening_socket() as port:
        completed = serve(served_project, "--port", str(port))
    line = one_error_line(completed)
    assert f"--port {port}:" in line
    assert "already in use" in line


README_DEFAULT_PORT = 8000
"""The README: `kedro dab serve` "binds 127.0.0.1:8000"."""


def test_serve_listens_on_port_8000_unless_told(served_project: Path):
    with contextlib.closing(socket.socket()) as sock:  # taken here, so serve must refuse it
        try:
            sock.bind(("127.0.0.1", README_DEFAULT_PORT))
        except OSError:
            pytest.skip(f"port {README_DEFAULT_PORT} is in use on this machine")
        sock.listen()
        completed = serve(served_project)
    line = one_error_line(completed)
    assert f"--port {README_DEFAULT_PORT}:" in line
    assert "already in use" in line


@pytest.mark.parametrize("host", ["no-such-host.invalid", "192.0.2.1"])
def test_a_host_this_machine_cannot_listen_on_is_refused(served_project: Path, host: str):
    completed = serve(served_project, "--host", host, "--port", "0")
    line = one_error_line(completed)
    assert f"--host '{host}':" in line


@pytest.mark.parametrize("port", ["80800", "-1", "65536"])
def test_a_port_out_of_range_is_a_usage_error(served_project: Path, port: str):
    completed = serve(served_project, "--port", port)
    assert completed.returncode == 2, completed.stderr
    assert "Invalid value for '--port'" in completed.stderr
    assert port in completed.stderr
    assert "Started server process" not in completed.stdout + completed.stderr


async def _asgi_app(scope: dict[str, object], receive: object, send: object) -> None:
    """An ASGI app that uvicorn starts but never gets to answer with."""


def test_a_port_taken_after_the_check_is_the_same_error_not_uvicorns_exit():
    with listening_socket() as port, pytest.raises(ServeError) as caught:
        run_server(_asgi_app, "127.0.0.1", port, access_log=False)
    assert str(caught.value).startswith(f"--port {port}: 127.0.0.1:{port} is already in use;")
