"""Measure what `boundaries: persist` costs: the save and load of each boundary dataset beside
the task start that splitting the work adds.

On the synthetic project of ``--nodes`` nodes (``make_project.py``, *without* ``--persist-all``:
datasets inside a chunk stay in memory), grouped one task per node, two plans are simulated
with ``kedro dab run --local``'s engine:

- ``per_node_persist``: ``grouping: [{by: node}]``, ``boundaries: persist``: every in-memory
  dataset between two nodes is saved by its producer's task and loaded by each reader's task;
- ``merged``: the same rule with ``boundaries: merge``: nodes joined by in-memory data are
  merged back into one task, so those datasets never leave memory.

Each save and load logs one line (``kedro_dab.boundary_hooks``, turned on here through
``KEDRO_LOGGING_CONFIG``); this script reads them from the task logs and reports, per boundary
dataset, its format, size, save time and load time(s), next to the task-start cost: the median
time of a one-node task of the ``merged`` plan, and the task time per extra task
(``(sum per_node_persist - sum merged) / (tasks per_node_persist - tasks merged)``).

Usage::

    .venv/bin/python benchmarks/persist.py                  # 200 nodes, default workers, 1 round
    .venv/bin/python benchmarks/persist.py --nodes 60 --out /tmp/p.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import make_project
import run as bench_run

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "persist"
DEFAULT_OUT = HERE / "results-persist.json"
RESULT_PREFIX = "bench-persist: "
PERSIST, MERGED = "per_node_persist", "merged"
DAB_YML = {
    PERSIST: (
        "grouping:\n  - by: node\nboundaries: persist\n"
        "boundaries_root: /Volumes/main/default/kedro/boundaries\n"
    ),
    MERGED: "grouping:\n  - by: node\nboundaries: merge\n",
}
LOGGING_YML = """\
version: 1
disable_existing_loggers: false
formatters:
  plain: {format: "%(name)s %(levelname)s %(message)s"}
handlers:
  console: {class: logging.StreamHandler, formatter: plain, stream: ext://sys.stdout}
loggers:
  kedro_dab: {level: INFO}
root: {handlers: [console], level: WARNING}
"""
TIMING = re.compile(
    r"boundary dataset (?P<name>\S+): (?P<verb>saved|loaded) (?P<kind>\S+), "
    r"(?P<bytes>\d+) bytes, in (?P<seconds>[0-9.]+) s"
)


def make_variant(base: Path, variant: str, env: dict[str, str]) -> Path:
    """A fresh copy of the project with the variant's dab.yml, warmed up once."""
    target = WORK / variant
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(base, target, symlinks=True)
    (target / "conf" / "base" / "dab.yml").write_text(DAB_YML[variant])
    subprocess.run(
        [sys.executable, "-m", "kedro", "registry", "list"],
        cwd=target,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=True,
    )
    return target


def simulate_one(project: Path, workers: int | None) -> dict[str, Any]:
    """Plan and simulate the project's job here; return task times and boundary timings."""
    from kedro_dab import api

    plan = api.make_plan(project)
    (job,) = plan.jobs
    nodes = {task.key: len(task.nodes) for task in job.tasks}
    result = api.simulate(project, workers=workers, plan=plan)
    datasets: dict[str, dict[str, Any]] = {}
    for task in result.tasks:
        text = task.log_path.read_text(errors="replace") if task.log_path else ""
        for match in TIMING.finditer(text):
            entry = datasets.setdefault(
                match["name"], {"format": match["kind"], "bytes": 0, "save_s": 0.0, "load_s": []}
            )
            if match["verb"] == "saved":
                entry.update(bytes=int(match["bytes"]), save_s=float(match["seconds"]))
            else:
                entry["load_s"].append(float(match["seconds"]))
    node_tasks = [t for t in result.tasks if t.key in nodes]
    one_node = [t.seconds for t in node_tasks if t.seconds is not None and nodes[t.key] == 1]
    cleanup = [t.seconds for t in result.tasks if t.key not in nodes and t.seconds is not None]
    return {
        "ok": result.ok,
        "failed": [(t.key, t.problems, t.log_tail(5)) for t in result.tasks if t.state != "done"],
        "tasks": len(node_tasks),
        "persisted_datasets": len(job.persisted),
        "wall_s": round(result.seconds, 3),
        "sum_task_s": round(sum(t.seconds or 0 for t in node_tasks), 3),
        "median_one_node_task_s": round(statistics.median(one_node), 3) if one_node else None,
        "cleanup_task_s": round(cleanup[0], 3) if cleanup else None,
        "boundary_datasets": dict(sorted(datasets.items())),
    }


def run_variant(project: Path, workers: int | None, env: dict[str, str]) -> dict[str, Any]:
    """Simulate in a child interpreter (so the project is imported there only)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--one", str(project)]
    command += ["--one-workers", str(workers or 0)]
    proc = subprocess.run(
        command, cwd=project, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_PREFIX)), None)
    if line is None:
        return {"ok": False, "returncode": proc.returncode, "stderr_tail": proc.stderr[-2000:]}
    figures: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
    return figures


def summarize(persist: dict[str, Any], merged: dict[str, Any]) -> dict[str, Any]:
    """Per boundary dataset save+load against the cost of one task start."""
    per = persist.get("boundary_datasets", {})
    costs = [d["save_s"] + sum(d["load_s"]) for d in per.values()]
    extra_tasks = persist["tasks"] - merged["tasks"]
    per_extra = (
        round((persist["sum_task_s"] - merged["sum_task_s"]) / extra_tasks, 3)
        if extra_tasks > 0
        else None
    )
    return {
        "boundary_datasets": len(per),
        "formats": sorted({d["format"] for d in per.values()}),
        "median_bytes": statistics.median(d["bytes"] for d in per.values()) if per else None,
        "save_load_s_median": round(statistics.median(costs), 4) if costs else None,
        "save_load_s_max": round(max(costs), 4) if costs else None,
        "save_load_s_sum": round(sum(costs), 3),
        "task_start_s_median_one_node": merged.get("median_one_node_task_s")
        or persist.get("median_one_node_task_s"),
        "task_s_per_extra_task": per_extra,
        "extra_tasks": extra_tasks,
    }


def format_costs() -> list[dict[str, Any]]:
    """Save + load of larger objects than the generator's, in this interpreter, per format."""
    import tempfile

    from kedro_dab.boundaries import load_data, save_data

    samples: list[tuple[str, Any]] = [
        (f"list of {n:,} floats", [float(i) for i in range(n)]) for n in (10_000, 1_000_000)
    ]
    try:
        import pandas as pd

        for rows in (10_000, 1_000_000):
            frame = pd.DataFrame({f"c{i}": range(rows) for i in range(4)}, dtype="float64")
            samples.append((f"pandas {rows:,} x 4 floats", frame))
    except ImportError:
        pass
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, value in samples:
            folder = Path(tmp) / label.replace(" ", "_")
            began = time.perf_counter()
            kind = save_data(value, folder)
            saved = time.perf_counter()
            load_data(folder)
            loaded = time.perf_counter()
            size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
            out.append(
                {
                    "object": label,
                    "format": kind,
                    "bytes": size,
                    "save_s": round(saved - began, 4),
                    "load_s": round(loaded - saved, 4),
                }
            )
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=make_project.DEFAULT_SEED)
    parser.add_argument("--workers", type=int, default=0, help="0: the number of cores")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--one-workers", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--formats-only", action="store_true", help="only the format costs")
    args = parser.parse_args(argv)
    if args.formats_only:
        print(json.dumps(format_costs(), indent=2))
        return 0
    if args.one:
        figures = simulate_one(args.one.resolve(), args.one_workers or None)
        print(RESULT_PREFIX + json.dumps(figures))
        return 0 if figures["ok"] else 1

    env = bench_run.child_env()
    WORK.mkdir(parents=True, exist_ok=True)
    logging_yml = WORK / "logging.yml"
    logging_yml.write_text(LOGGING_YML)
    env["KEDRO_LOGGING_CONFIG"] = str(logging_yml)
    base = WORK / f"base_{args.nodes}"
    print(f"generating {base} ...", file=sys.stderr, flush=True)
    manifest = make_project.make_project(args.nodes, base, seed=args.seed, force=True)
    results: dict[str, Any] = {}
    for variant in (PERSIST, MERGED):
        project = make_variant(base, variant, env)
        started = time.monotonic()
        results[variant] = run_variant(project, args.workers or None, env)
        print(
            f"  {variant}: {results[variant].get('tasks')} tasks, "
            f"{time.monotonic() - started:.1f} s, ok={results[variant].get('ok')}",
            file=sys.stderr,
            flush=True,
        )
    out = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": bench_run.machine_info(),
        "config": {"nodes": args.nodes, "seed": args.seed, "workers": args.workers or None},
        "project": manifest,
        "summary": summarize(results[PERSIST], results[MERGED]),
        "format_costs": format_costs(),
        "runs": results,
    }
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out["summary"], indent=2))
    print({k: {x: v.get(x) for x in ("tasks", "wall_s", "sum_task_s")} for k, v in results.items()})
    return 0 if all(r.get("ok") for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
