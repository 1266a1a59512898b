"""Measure what grouping saves: one task per node against grouped tasks, run locally.

Every Databricks task is its own process: it starts Python, bootstraps the project (imports it,
builds its pipelines), creates the catalog, and only then runs its nodes. ``kedro dab`` groups
nodes into tasks (by tag, namespace, pipeline) to pay that once per group instead of once per
node. This script measures the difference with ``kedro dab run --local``'s engine
(``kedro_dab.api.simulate``), from the simulation's own per-task timings:

1. generate a synthetic project of ``--nodes`` nodes with ``make_project.py --persist-all``
   (every dataset persisted, so that one task per node is a valid plan);
2. run the job on two fresh copies of it: ``per_node`` (``conf/base/dab.yml`` replaced by
   ``grouping: [{by: node}]``, ``merge_memory: false``) and ``grouped`` (the generator's
   tag + namespace grouping, one task per chunk of 20-40 nodes);
3. each simulation runs in its own interpreter (``--one``), so the project is imported there
   and nowhere else; it reports the number of tasks, the wall time, and the sum, minimum,
   median and maximum of the task times, for each ``--workers`` setting.

The sums (``workers=1`` gives the cleanest: tasks never compete for a core) are the total
process start and project-load time each plan pays, plus the nodes' own (trivial) work; the
median task time of ``per_node`` is the floor a one-node task costs.

Usage::

    .venv/bin/python benchmarks/simulation.py               # 200 nodes, workers default,1, 3 rounds
    .venv/bin/python benchmarks/simulation.py --nodes 200 --workers 1 --repeat 1 --out /tmp/s.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
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
WORK = HERE / ".work" / "simulation"
DEFAULT_OUT = HERE / "results-simulation.json"
RESULT_PREFIX = "bench-simulation: "
RESULTS_SCHEMA = 1
DEFAULT_NODES = 200
PER_NODE = "per_node"
GROUPED = "grouped"
VARIANTS = (PER_NODE, GROUPED)

PER_NODE_DAB_YML = """\
# One task per node: every node pays its own process start and project load.
grouping:
  - by: node
merge_memory: false
"""


# --------------------------------------------------------------------------- projects


def ensure_base(nodes: int, seed: int, regenerate: bool) -> tuple[Path, dict[str, Any]]:
    """Generate the ``--persist-all`` project, or reuse it if it is current."""
    path = WORK / f"base_{nodes}"
    manifest_path = path / make_project.MANIFEST_NAME
    if manifest_path.exists() and not regenerate:
        manifest: dict[str, Any] = json.loads(manifest_path.read_text())
        if (
            manifest.get("generator_sha256") == make_project._generator_digest()
            and manifest.get("kedro_version") == make_project._kedro_version()
            and manifest.get("seed") == seed
            and manifest.get("nodes") == nodes
            and manifest.get("persist_all") is True
        ):
            return path, manifest
    print(f"generating {path.relative_to(HERE.parent)} ...", file=sys.stderr, flush=True)
    made = make_project.make_project(nodes, path, seed=seed, force=True, persist_all=True)
    return path, dict(made)


def fresh_variant(base: Path, variant: str, env: dict[str, str]) -> Path:
    """A fresh copy of ``base`` for ``variant`` (no data, no previous run), always at the same
    path so the bytecode cache stays valid; warmed up with one untimed ``kedro registry list``.
    """
    target = WORK / variant
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(base, target, symlinks=True)
    if variant == PER_NODE:
        (target / "conf" / "base" / "dab.yml").write_text(PER_NODE_DAB_YML)
    subprocess.run(
        [sys.executable, "-m", "kedro", "registry", "list"],
        cwd=target,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=True,
    )
    return target


# --------------------------------------------------------------------------- one simulation


def summarize(seconds: list[float]) -> dict[str, float | None]:
    """Sum, minimum, median and maximum of task times (``None`` when there are none)."""
    if not seconds:
        return {"sum_task_s": None, "min_task_s": None, "median_task_s": None, "max_task_s": None}
    return {
        "sum_task_s": round(sum(seconds), 3),
        "min_task_s": round(min(seconds), 3),
        "median_task_s": round(statistics.median(seconds), 3),
        "max_task_s": round(max(seconds), 3),
    }


def simulate_one(project: Path, workers: int | None) -> dict[str, Any]:
    """Plan and simulate the project's only job in this interpreter; return the figures.

    Meant to run in a fresh interpreter (``--one``): planning imports the project.
    """
    from kedro_dab import api

    started = time.monotonic()
    plan = api.make_plan(project)
    plan_s = time.monotonic() - started
    (job,) = plan.jobs
    node_counts = {task.key: len(task.nodes) for task in job.tasks}
    result = api.simulate(project, workers=workers, plan=plan)
    times = [t.seconds for t in result.tasks if t.seconds is not None]
    failed = [t for t in result.tasks if t.state != "done"]
    single = [t.seconds for t in result.tasks if t.seconds is not None and node_counts[t.key] == 1]
    return {
        "ok": result.ok,
        "tasks": len(result.tasks),
        "nodes": sum(node_counts.values()),
        "workers": workers or os.cpu_count() or 1,
        "plan_s": round(plan_s, 3),
        "wall_s": round(result.seconds, 3),
        **summarize(times),
        "single_node_tasks": len(single),
        "median_single_node_task_s": round(statistics.median(single), 3) if single else None,
        "failed": [
            {"key": t.key, "state": t.state, "problems": t.problems, "log_tail": t.log_tail(10)}
            for t in failed[:3]
        ],
        "task_times": [
            {"key": t.key, "nodes": node_counts[t.key], "state": t.state, "seconds": _r(t.seconds)}
            for t in result.tasks
        ],
    }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _one_main(project: Path, workers: int) -> int:
    figures = simulate_one(project, workers or None)
    print(RESULT_PREFIX + json.dumps(figures))
    return 0 if figures["ok"] else 1


def run_variant(
    project: Path, workers: int | None, env: dict[str, str], timeout: float
) -> dict[str, Any]:
    """Simulate ``project`` in a child interpreter; its figures, or the failure."""
    log = WORK / "logs" / f"{project.name}_w{workers or 0}"
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(Path(__file__).resolve()), "--one", str(project)]
    command += ["--one-workers", str(workers or 0)]
    proc = subprocess.run(
        command,
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    log.with_suffix(".out").write_text(proc.stdout)
    log.with_suffix(".err").write_text(proc.stderr)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_PREFIX)), None)
    if line is None:
        return {"ok": False, "returncode": proc.returncode, "stderr_tail": proc.stderr[-2000:]}
    figures: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
    return figures


# --------------------------------------------------------------------------- the benchmark


def compare(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per workers setting: medians over repeats, what the grouped plan saves, and the floor."""
    out = []
    for workers in sorted(
        {r["workers_requested"] for r in runs}, key=lambda w: (w is not None, w or 0)
    ):

        def med(variant: str, key: str, w: int | None = workers) -> float | None:
            values = [
                r[key]
                for r in runs
                if r["variant"] == variant and r["workers_requested"] == w and r.get("ok")
            ]
            return round(statistics.median(values), 3) if values else None

        sum_a, sum_b = med(PER_NODE, "sum_task_s"), med(GROUPED, "sum_task_s")
        wall_a, wall_b = med(PER_NODE, "wall_s"), med(GROUPED, "wall_s")
        tasks_a, tasks_b = med(PER_NODE, "tasks"), med(GROUPED, "tasks")
        out.append(
            {
                "workers_requested": workers,
                "workers": med(PER_NODE, "workers"),
                "tasks_per_node": tasks_a,
                "tasks_grouped": tasks_b,
                "floor_task_s": med(PER_NODE, "median_single_node_task_s"),
                "median_task_s_grouped": med(GROUPED, "median_task_s"),
                "sum_task_s_per_node": sum_a,
                "sum_task_s_grouped": sum_b,
                "saved_task_s": round(sum_a - sum_b, 3) if sum_a and sum_b else None,
                "sum_ratio": round(sum_a / sum_b, 2) if sum_a and sum_b else None,
                "saved_per_avoided_task_s": _per_task(sum_a, sum_b, tasks_a, tasks_b),
                "wall_s_per_node": wall_a,
                "wall_s_grouped": wall_b,
                "wall_ratio": round(wall_a / wall_b, 2) if wall_a and wall_b else None,
            }
        )
    return out


def _per_task(
    sum_a: float | None, sum_b: float | None, tasks_a: float | None, tasks_b: float | None
) -> float | None:
    """Task time saved per task the grouped plan does not start."""
    if sum_a is None or sum_b is None or not tasks_a or not tasks_b or tasks_a == tasks_b:
        return None
    return round((sum_a - sum_b) / (tasks_a - tasks_b), 3)


def run_benchmark(
    nodes: int,
    seed: int,
    workers: list[int | None],
    repeat: int,
    regenerate: bool,
    timeout: float,
) -> dict[str, Any]:
    """Generate the project, simulate both variants for each workers setting, return results."""
    env = bench_run.child_env()
    base, manifest = ensure_base(nodes, seed, regenerate)
    machine = bench_run.machine_info()
    runs: list[dict[str, Any]] = []
    for r in range(repeat):
        for w in workers:
            for variant in VARIANTS:
                project = fresh_variant(base, variant, env)
                load = os.getloadavg()[0]
                figures = run_variant(project, w, env, timeout)
                figures.update(variant=variant, workers_requested=w, round=r + 1, load_1m=load)
                runs.append(figures)
                status = "ok" if figures.get("ok") else "FAILED"
                print(
                    f"  [{r + 1}/{repeat}] {variant:<8} workers={w or 'default':<7} "
                    f"{figures.get('tasks', '?'):>4} tasks  wall {_fmt(figures.get('wall_s'))} s"
                    f"  sum {_fmt(figures.get('sum_task_s'))} s  {status}",
                    file=sys.stderr,
                    flush=True,
                )
    return {
        "schema": RESULTS_SCHEMA,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine,
        "config": {"nodes": nodes, "seed": seed, "workers": workers, "repeat": repeat},
        "project": manifest,
        "comparison": compare(runs),
        "runs": runs,
    }


def _fmt(value: Any, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else "-"


def _cells(row: tuple[str, ...], widths: list[int]) -> list[str]:
    """The first cell left-aligned, the others right-aligned."""
    return [
        c.ljust(w) if i == 0 else c.rjust(w)
        for i, (c, w) in enumerate(zip(row, widths, strict=True))
    ]


def format_table(results: dict[str, Any]) -> str:
    """The runs as a table, then one line per workers setting on what grouping saves."""
    head = ("variant", "workers", "tasks", "wall s", "sum task s", "min", "median", "max")
    rows = [head]
    for r in results["runs"]:
        rows.append(
            (
                r["variant"] + ("" if r.get("ok") else " (FAILED)"),
                str(r.get("workers", r["workers_requested"])),
                str(r.get("tasks", "-")),
                _fmt(r.get("wall_s")),
                _fmt(r.get("sum_task_s")),
                _fmt(r.get("min_task_s")),
                _fmt(r.get("median_task_s")),
                _fmt(r.get("max_task_s")),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(_cells(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for c in results["comparison"]:
        lines.append(
            f"workers={_fmt(c['workers'], 0)}: {_fmt(c['tasks_per_node'], 0)} per-node tasks "
            f"sum {_fmt(c['sum_task_s_per_node'])} s, {_fmt(c['tasks_grouped'], 0)} grouped tasks "
            f"sum {_fmt(c['sum_task_s_grouped'])} s: {_fmt(c['saved_task_s'])} s saved "
            f"({_fmt(c['sum_ratio'])}x, {_fmt(c['saved_per_avoided_task_s'])} s per task "
            f"not started); wall {_fmt(c['wall_s_per_node'])} s vs "
            f"{_fmt(c['wall_s_grouped'])} s; a one-node task takes {_fmt(c['floor_task_s'])} s "
            "(median)"
        )
    return "\n".join(lines)


def _workers(text: str) -> list[int | None]:
    out: list[int | None] = []
    for item in text.split(","):
        item = item.strip()
        if item in ("", "0", "default"):
            out.append(None)
        elif item.isdigit():
            out.append(int(item))
        else:
            raise argparse.ArgumentTypeError(f"workers: integers or 'default', got {item!r}")
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=DEFAULT_NODES)
    parser.add_argument("--seed", type=int, default=make_project.DEFAULT_SEED)
    parser.add_argument(
        "--workers",
        type=_workers,
        default=[None, 1],
        help="comma-separated workers settings; 'default' (or 0) is the number of cores "
        "(default: default,1)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="rounds of every simulation")
    parser.add_argument("--regenerate", action="store_true", help="regenerate the project")
    parser.add_argument("--timeout", type=float, default=3600.0, help="per simulation, seconds")
    parser.add_argument("--out", type=Path, help=f"results file (default {DEFAULT_OUT.name})")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--one-workers", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        return _one_main(args.one.resolve(), args.one_workers)
    if args.nodes < make_project.MIN_NODES or args.repeat < 1:
        parser.error(f"--nodes must be >= {make_project.MIN_NODES} and --repeat >= 1")
    results = run_benchmark(
        args.nodes, args.seed, args.workers, args.repeat, args.regenerate, args.timeout
    )
    print(format_table(results))
    out = args.out or DEFAULT_OUT
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {out}", file=sys.stderr)
    return 0 if all(r.get("ok") for r in results["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
