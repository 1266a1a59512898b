"""Listening: whether uvicorn could bind an address (checked before anything loads, so a
taken port or a wrong host is one line, not uvicorn's log and exit code 3), and serving an
ASGI app on it until it is stopped."""

from __future__ import annotations

import os
import sys
from typing import Any

from kedro_dab.serve.errors import ServeError

GRACEFUL_SHUTDOWN_SECONDS = 10
"""How long a stopping server waits for the requests it is answering: a Databricks App must
stop within 15 s of SIGTERM, or it is killed."""


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def check_listen(host: str, port: int) -> None:
    """Raise a one-line `ServeError` naming `--host` or `--port` when uvicorn could not listen
    on `host:port`: bind each address the host resolves to as uvicorn's event loop will (with
    SO_REUSEADDR on POSIX, skipping a family this machine has no sockets for), then close the
    sockets."""
    import errno
    import os
    import socket

    address = _address(host, port)
    bad_host = f"--host '{host}': not an address this machine can listen on; pass e.g. 127.0.0.1"
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        for family, kind, proto, _, sockaddr in infos:
            try:
                sock = socket.socket(family, kind, proto)
            except OSError:
                continue
            with sock:
                if os.name == "posix":
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(sockaddr)
    except socket.gaierror:
        raise ServeError(bad_host) from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ServeError(
                f"--port {port}: {address} is already in use; stop what listens there or pass "
                "another --port"
            ) from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise ServeError(bad_host) from None
        if exc.errno == errno.EACCES and 0 < port < 1024:
            raise ServeError(
                f"--port {port}: not allowed to listen on {address}; pass a --port above 1023"
            ) from None
        raise ServeError(
            f"--host '{host}' --port {port}: cannot listen on {address} "
            f"({exc.strerror or exc}); pass another --host or --port"
        ) from None


def run_server(app: Any, host: str, port: int, *, access_log: bool = True) -> None:
    """Serve `app` with uvicorn until it is stopped (SIGTERM, Ctrl-C), then wait at most
    `GRACEFUL_SHUTDOWN_SECONDS` for the requests it is answering: a request still running
    after that is abandoned, and the process exits without waiting for its thread. When
    uvicorn cannot start (it logs why and exits), raise a `ServeError` instead:
    `check_listen`'s when the address is taken or bad, else one naming the address."""
    import uvicorn

    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            access_log=access_log,
            log_level="info",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )
    except KeyboardInterrupt:
        _exit_if_requests_run(app)
        raise
    except SystemExit as exc:
        if exc.code in (0, None):
            raise
        check_listen(host, port)
        raise ServeError(
            f"could not serve on {_address(host, port)}: uvicorn stopped with exit code "
            f"{exc.code}; its log above says why"
        ) from None
    _exit_if_requests_run(app)


def _exit_if_requests_run(app: Any) -> None:
    """Exit (status 0) now when requests the server gave up on still run in worker threads,
    which the interpreter would otherwise wait for at exit."""
    running = getattr(app, "running", None)
    if running is None or not running.count:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # as an idle server stopped by Ctrl-C exits
