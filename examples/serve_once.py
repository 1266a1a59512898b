"""Start `kedro dab serve` in a project, send real HTTP requests, print the answers, stop.

    python ../serve_once.py ENDPOINT BODY.json [BODY.json ...] [-- SERVE-OPTIONS...]

Run from the project folder (`make example` does, for examples/spaceflights). Each answer is
printed as one JSON line; the exit code is 1 if the server does not get ready or any request
is not answered with 200. Only the standard library, so it needs nothing but the server's
own extra.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except (urllib.error.URLError, ConnectionError):
        return 0


def _post(url: str, body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()


def main(argv: list[str]) -> int:
    own, serve_options = argv, []
    if "--" in argv:
        own, serve_options = argv[: argv.index("--")], argv[argv.index("--") + 1 :]
    if len(own) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    endpoint, bodies = own[0], [Path(p) for p in own[1:]]
    port = _free_port()
    kedro = Path(sys.executable).with_name("kedro")
    command = [str(kedro), "dab", "serve", endpoint, "--port", str(port), *serve_options]
    server = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    failed = False
    try:
        deadline = time.monotonic() + 120
        while _get(f"{base}/ready") != 200:
            if server.poll() is not None or time.monotonic() > deadline:
                print("serve_once: the server did not get ready", file=sys.stderr)
                return 1
            time.sleep(0.2)
        for body in bodies:
            status, text = _post(
                f"{base}/serving-endpoints/{endpoint}/invocations", body.read_bytes()
            )
            print(json.dumps({"request": body.name, "status": status, "answer": json.loads(text)}))
            failed = failed or status != 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
