"""Serving speed, side by side: `kedro dab serve` against its floor and Kedro's own anchors.

    .venv/bin/python benchmarks/serving.py [--duration 10] [--out benchmarks/results-serving.json]

Two pipelines: a 3-node one driven only by parameters (made with `kedro new`), and the
example's `inference` pipeline (the spaceflights example, trained first). For each:

- floor: the pipeline's node functions called directly in a loop;
- core: `Service.invoke` in-process (kedro-dab's runtime without HTTP);
- `kedro dab serve` over loopback HTTP, driven by `wrk` (a separate C load generator) with 1 and
  with 4 concurrent connections: median and p99 latency, requests per second;
- resident memory of the server before and after every measured request (over 10,000);
- anchors where the installed Kedro has them (3-node pipeline only, as neither takes input
  data): `KedroServiceSession.run` in a loop, and `kedro server start`'s `POST /run` under wrk.

- kedro-boot (with `--kedro-boot VENV`, a virtualenv holding `kedro-boot[fastapi]` beside a
  Kedro it supports): its own server, `kedro boot fastapi`, on the 3-node pipeline under the
  same wrk runs. Its FastAPI mapping passes request parameters as query strings, which stay
  strings, so a request sets only the string parameter `trivial.label`; the others come from
  the catalog. `--only trivial` skips the example (e.g. to measure the anchor alone).

Needs `wrk` on the PATH (`apt-get install wrk`). Nothing here is a test; figures are written
down in benchmarks/README.md, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work" / "serving"
sys.path.insert(0, str(ROOT))

TRIVIAL_BODY = {"params": {"trivial.a": 2, "trivial.label": "bench"}}
EXAMPLE_BODY = json.loads((ROOT / "examples/spaceflights/requests/price-shuttle.json").read_text())


def _kedro() -> str:
    return str(Path(sys.executable).with_name("kedro"))


def _environ() -> dict[str, str]:
    from tests.support.kedro_projects import kedro_environ

    return kedro_environ()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- projects -----------------------------------------------------------------------------------


def make_projects(with_example: bool = True) -> tuple[Path, Path]:
    """The 3-node project (`kedro new`) and a trained copy of the example (unless told not:
    then its folder is returned unmade)."""
    from tests.serving.conftest import (
        CATALOG,
        DAB_YML,
        PARAMETERS,
        SCORE_PIPELINE,
        TRIVIAL_PIPELINE,
        WEIGHTS,
    )
    from tests.support.kedro_projects import kedro_new, make_project

    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    template = kedro_new(WORK / "template", "kdab-template")
    trivial = make_project(
        WORK,
        "bench_serving",
        {"trivial": TRIVIAL_PIPELINE, "score": SCORE_PIPELINE},
        CATALOG,
        DAB_YML,
        template=template,
    )
    (trivial / "conf/base/parameters.yml").write_text(PARAMETERS)
    (trivial / "data/01_raw").mkdir(parents=True, exist_ok=True)
    (trivial / "data/01_raw/weights.json").write_text(json.dumps(WEIGHTS))
    example = WORK / "spaceflights"
    if not with_example:
        return trivial, example
    ignore = shutil.ignore_patterns(".kedro-dab", "__pycache__", "*.pickle", "0[2-8]_*")
    shutil.copytree(ROOT / "examples/spaceflights", example, ignore=ignore)
    subprocess.run(
        [_kedro(), "run", "--env", "base"],
        cwd=example,
        env=_environ(),
        check=True,
        capture_output=True,
    )
    return trivial, example


# --- in-process measurements (each in a child process of its own) ------------------------------

CHILD_FLOOR_TRIVIAL = """
import json, sys, time
sys.path.insert(0, "src")
from bench_serving.pipelines.trivial.pipeline import add, scale, report
def once():
    return report(scale(add(2, 2), 1.5), "bench")
"""

CHILD_FLOOR_EXAMPLE = """
import json, pickle, sys, time
sys.path.insert(0, "src")
from spaceflights.pipelines.inference.nodes import price_shuttles, shuttle_features
model = pickle.load(open("data/06_models/active_modelling_pipeline_regressor.pickle", "rb"))
rows = json.loads(open("requests/price-shuttle.json").read())["dataframe_records"]
pricing = {"discount": 0.1, "decimals": 2}
def once():
    return price_shuttles(model, shuttle_features(rows, model), pricing)
"""

CHILD_CORE = """
import json, sys, time
from kedro_dab import api
from kedro_dab.serve.payload import parse_body
from kedro_dab.serve.startup import load_service
plan = api.make_plan(".", ENV)
service = load_service(".", plan.env, plan.endpoints, [NAME])
endpoint = service.endpoints[NAME]
body = json.loads(BODY)
def once():
    inputs, params = parse_body(endpoint, body)
    return service.invoke(NAME, inputs, params)
"""

CHILD_SERVICE_SESSION = """
import json, sys, time
from pathlib import Path
from kedro.framework.session import KedroServiceSession
from kedro.framework.startup import bootstrap_project
bootstrap_project(Path.cwd())
session = KedroServiceSession.create(project_path=Path.cwd())
t = time.perf_counter()
session.run(pipeline_names=["trivial"], runtime_params={"trivial.a": 2})
first = time.perf_counter() - t
def once():
    return session.run(pipeline_names=["trivial"], runtime_params={"trivial.a": 2})
"""

TIMING = """
import logging
logging.disable(logging.INFO)
for _ in range(WARMUP):
    once()
samples = []
for _ in range(BATCHES):
    t = time.perf_counter()
    for _ in range(PER_BATCH):
        once()
    samples.append((time.perf_counter() - t) / PER_BATCH)
samples.sort()
out = {"median_s": samples[len(samples) // 2], "calls": BATCHES * PER_BATCH}
if "first" in globals():
    out["first_s"] = first
print("RESULT " + json.dumps(out))
"""


def child(project: Path, code: str, batches: int, per_batch: int, **names: str) -> dict[str, Any]:
    """Run `code` then the timing loop in a fresh interpreter in `project`."""
    source = code
    for key, value in names.items():
        source = source.replace(key, value)
    timing = TIMING.replace("WARMUP", str(max(1, per_batch))).replace("BATCHES", str(batches))
    timing = timing.replace("PER_BATCH", str(per_batch))
    done = subprocess.run(
        [sys.executable, "-c", source + timing],
        cwd=project,
        env=_environ(),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    line = [s for s in done.stdout.splitlines() if s.startswith("RESULT ")]
    if done.returncode != 0 or not line:
        raise RuntimeError(f"child failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(line[-1].removeprefix("RESULT "))


# --- HTTP measurements ---------------------------------------------------------------------------

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _seconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(text)
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(url: str, body: dict[str, Any], connections: int, duration: int) -> dict[str, Any]:
    """`wrk` POSTing `body` to `url` over `connections` keep-alive connections."""
    script = WORK / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(json.dumps(body))}\n"
    )
    done = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "30s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    out = done.stdout
    percentiles = dict(re.findall(r"^\s+(50|99)(?:\.0+)?%\s+(\S+)\s*$", out, flags=re.M))
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if not (rate and total and "50" in percentiles):
        raise RuntimeError(out)
    return {
        "connections": connections,
        "median_s": _seconds(percentiles["50"]),
        "p99_s": _seconds(percentiles["99"]) if "99" in percentiles else None,
        "wrk_output": out if "99" not in percentiles else None,
        "requests_per_s": float(rate.group(1)),
        "requests": int(total.group(1)),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def _rss_kib(pid: int) -> int:
    """Resident memory of the server process and its children (kedro's CLI may fork)."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def _post_once(url: str, body: dict[str, Any]) -> tuple[int, str]:
    import httpx

    answer = httpx.post(url, json=body, timeout=60)
    return answer.status_code, answer.text


def served(
    command: list[str], project: Path, url_path: str, body: dict[str, Any], duration: int
) -> dict[str, Any]:
    """Start a server, check one answer, measure with 1 and 4 connections, track RSS."""
    import httpx

    port = _free_port()
    log = (WORK / f"server-{port}.log").open("wb")
    started = time.perf_counter()
    server = subprocess.Popen(
        [*command, "--port", str(port)], cwd=project, env=_environ(), stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None:
                raise RuntimeError(f"server exited: {command}")
            time.sleep(0.05)
        ready_s = time.perf_counter() - started
        first = time.perf_counter()
        status, text = _post_once(base + url_path, body)
        first_s = time.perf_counter() - first
        if status != 200:
            raise RuntimeError(f"{command}: {status} {text}")
        wrk(base + url_path, body, 4, 2)  # warm-up
        rss_before = _rss_kib(server.pid)
        runs = [wrk(base + url_path, body, c, duration) for c in (1, 4)]
        rss_after = _rss_kib(server.pid)
        return {
            "start_to_health_s": ready_s,
            "first_request_s": first_s,
            "answer": json.loads(text),
            "runs": runs,
            "rss_kib_before": rss_before,
            "rss_kib_after": rss_after,
            "requests_between_rss": sum(r["requests"] for r in runs),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


KEDRO_BOOT_APP = """\
from fastapi import FastAPI, Query
from kedro_boot.app.fastapi.session import KedroFastApi
from pydantic import BaseModel

app = FastAPI()


class Answer(BaseModel):
    label: str
    value: float


@app.get("/health")
def health() -> dict:
    return {"status": "ok"}


# kedro-boot maps the function name to the pipeline output and the query parameters to
# the parameters a request sets.
@app.post("/answer")
def answer(run: KedroFastApi, label: str = Query(alias="trivial.label")) -> Answer:
    return run
"""


def kedro_boot(venv: Path, project: Path, duration: int) -> dict[str, Any]:
    """`kedro boot fastapi` (kedro-boot's own gunicorn + uvicorn server) from `venv`."""
    package = project / "src" / "bench_serving"
    (package / "kedro_boot_app.py").write_text(KEDRO_BOOT_APP)
    versions = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "from importlib.metadata import version as v; "
            "print(v('kedro-boot'), v('kedro'), v('fastapi'), v('uvicorn'), v('gunicorn'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    command = [str(venv / "bin" / "kedro"), "boot", "fastapi"]
    command += ["--app", "bench_serving.kedro_boot_app.app", "--pipeline", "trivial"]
    result = served(command, project, "/answer?trivial.label=bench", {}, duration)
    names = ("kedro_boot", "kedro", "fastapi", "uvicorn", "gunicorn")
    result["versions"] = dict(zip(names, versions, strict=True))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results-serving.json")
    parser.add_argument(
        "--kedro-boot",
        type=Path,
        default=None,
        metavar="VENV",
        help="a virtualenv with kedro-boot[fastapi]: measure `kedro boot fastapi` too",
    )
    parser.add_argument(
        "--only", choices=("trivial",), default=None, help="measure the 3-node pipeline only"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("benchmarks/serving.py needs wrk on the PATH (apt-get install wrk)", file=sys.stderr)
        return 2
    import kedro

    trivial, example = make_projects(with_example=args.only != "trivial")
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "kedro": kedro.__version__,
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "duration_s": args.duration,
    }
    serve = [_kedro(), "dab", "serve", "--no-access-log"]
    trivial_body = json.dumps(TRIVIAL_BODY)
    results["trivial"] = {
        "floor": child(trivial, CHILD_FLOOR_TRIVIAL, 51, 20000),
        "core": child(
            trivial,
            CHILD_CORE,
            51,
            500,
            ENV='"databricks"',
            NAME='"trivial"',
            BODY=repr(trivial_body),
        ),
        "serve": served(
            serve, trivial, "/serving-endpoints/trivial/invocations", TRIVIAL_BODY, args.duration
        ),
    }
    save(args.out, results)
    if args.only != "trivial":
        results["example"] = example_results(example, serve, args.duration)
    save(args.out, results)
    anchors(results, trivial, args)
    save(args.out, results)
    print(table(results))
    return 0


def example_results(example: Path, serve: list[str], duration: int) -> dict[str, Any]:
    """The example's inference pipeline: floor, core and `kedro dab serve`."""
    example_body = json.dumps(EXAMPLE_BODY)
    return {
        "floor": child(example, CHILD_FLOOR_EXAMPLE, 51, 5000),
        "core": child(
            example,
            CHILD_CORE,
            51,
            500,
            ENV='"base"',
            NAME='"price-shuttle"',
            BODY=repr(example_body),
        ),
        "serve": served(
            [*serve, "--env", "base"],
            example,
            "/serving-endpoints/price-shuttle/invocations",
            EXAMPLE_BODY,
            duration,
        ),
    }


def anchors(results: dict[str, Any], trivial: Path, args: argparse.Namespace) -> None:
    """Kedro's own anchors and kedro-boot, on the 3-node pipeline."""
    try:
        from kedro.framework.session import KedroServiceSession  # noqa: F401

        results["trivial"]["kedro_service_session"] = child(trivial, CHILD_SERVICE_SESSION, 11, 5)
    except ImportError:
        results["trivial"]["kedro_service_session"] = None
    try:
        import kedro.server  # noqa: F401

        run_body = {"pipeline_names": ["trivial"], "params": {"trivial.a": 2}}
        results["trivial"]["kedro_server_run"] = served(
            [_kedro(), "server", "start"], trivial, "/run", run_body, args.duration
        )
    except ImportError:
        results["trivial"]["kedro_server_run"] = None
    if args.kedro_boot is not None:
        results["trivial"]["kedro_boot"] = kedro_boot(args.kedro_boot, trivial, args.duration)


def save(out: Path, results: dict[str, Any]) -> None:
    out.write_text(json.dumps(results, indent=2) + "\n")


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1e3:.3f}" if seconds < 0.01 else f"{seconds * 1e3:.1f}"


def table(results: dict[str, Any]) -> str:
    """The results as a Markdown table (milliseconds; requests per second)."""
    lines = [
        "| pipeline | what | median ms (1 client) | p99 ms (1) | req/s (1) | median ms (4) "
        "| p99 ms (4) | req/s (4) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in ("trivial", "example"):
        if name not in results:
            continue
        part = results[name]
        for label, key in (("node functions (floor)", "floor"), ("Service.invoke", "core")):
            lines.append(f"| {name} | {label} | {_ms(part[key]['median_s'])} | | | | | |")
        if part.get("kedro_service_session"):
            m = part["kedro_service_session"]
            lines.append(f"| {name} | KedroServiceSession.run | {_ms(m['median_s'])} | | | | | |")
        rows = (
            ("kedro dab serve", "serve"),
            ("kedro server /run", "kedro_server_run"),
            ("kedro boot fastapi", "kedro_boot"),
        )
        for label, key in rows:
            m = part.get(key)
            if not m:
                continue
            one, four = m["runs"]
            lines.append(
                f"| {name} | {label} | {_ms(one['median_s'])} | {_ms(one['p99_s'])} "
                f"| {one['requests_per_s']:.0f} | {_ms(four['median_s'])} | {_ms(four['p99_s'])} "
                f"| {four['requests_per_s']:.0f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
