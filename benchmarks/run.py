"""Measure ``kedro dab`` side by side with plain Kedro on synthetic projects.

For each project size this runs, interleaved round by round: ``kedro registry list`` (the
baseline: import the project and build its pipelines), ``kedro dab plan --format json`` and
``kedro dab bundle`` (each time in a fresh scratch copy of the project on which
``kedro dab init`` ran once, untimed: see ``--bundle-setup``). In the smallest
project it also runs ``kedro --help`` and ``kedro dab --help``. Each command runs once to warm
up, then ``--repeat`` times; the table shows the median wall time and the peak resident memory
of the child process tree (``ru_maxrss`` from ``os.wait4``), with ratios to the baseline.

A command that fails (for example while the plugin does not have it yet) is recorded with the
tail of its stderr, and the run goes on.

``--steps`` instead times kedro-dab's grouping and validation steps in-process, one fresh
interpreter per size; see ``time_steps``.

Usage::

    .venv/bin/python benchmarks/run.py --sizes 100,1000,10000 --repeat 5
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import ModuleType
from typing import Any

import make_project

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
PROJECTS = WORK / "projects"
SCRATCH = WORK / "scratch"
LOGS = WORK / "logs"
PYCACHE = WORK / "pycache"
DEFAULT_OUT = HERE / "results.json"
DEFAULT_STEPS_OUT = HERE / "results-steps.json"
STEPS_PREFIX = "bench-steps: "
RESULTS_SCHEMA = 1
# `kedro dab bundle` needs the databricks.yml that `kedro dab init` writes (once per project).
DEFAULT_BUNDLE_SETUP = ["dab init"]

BASELINE = "kedro registry list"
HELP_BASELINE = "kedro --help"
# Targets per command against its baseline: (smallest size it applies to, max time ratio, max
# memory ratio), the first whose size the project reaches applies. Time: kedro-dab's own share
# at most 10% of Kedro's floor at 1,000 nodes and 5% at 10,000.
TARGETS: dict[str, tuple[tuple[int, float, float | None], ...]] = {
    "kedro dab plan": ((10000, 1.05, 1.5), (1000, 1.10, 1.5)),
    "kedro dab bundle": ((10000, 1.05, 1.5), (1000, 1.10, 1.5)),
    "kedro dab --help": ((0, 1.1, None),),
}
SHAPES = ("bench", "light")
"""`bench`: the generator's default project (half the chunks namespaced, which Kedro's own
checks make slow to build); `light`: the same DAG and groups with every chunk tagged, as light
as Kedro builds a project of that many nodes (`make_project.py --tags-only`)."""


@dataclass(frozen=True)
class Bench:
    """One command to measure in one project."""

    name: str
    args: tuple[str, ...]
    size: int
    baseline: str | None = None
    scratch: bool = False


@dataclass
class Sample:
    """One run of one command."""

    wall_s: float
    cpu_s: float
    maxrss_kib: int
    returncode: int
    stderr_tail: str = ""
    stdout_path: str = ""


@dataclass
class Series:
    """All runs of one command in one project."""

    bench: Bench
    warmup: Sample | None = None
    samples: list[Sample] = field(default_factory=list)
    failure: Sample | None = None
    plan_tasks: int | None = None

    @property
    def ok(self) -> bool:
        """Whether every run so far succeeded."""
        return self.failure is None and bool(self.samples)

    def median_s(self) -> float | None:
        """Median wall time of the measured runs."""
        return statistics.median(s.wall_s for s in self.samples) if self.ok else None

    def median_cpu_s(self) -> float | None:
        """Median CPU time (user + system, the process tree) of the measured runs: steadier
        than wall time on a shared machine."""
        return statistics.median(s.cpu_s for s in self.samples) if self.ok else None

    def peak_mib(self) -> float | None:
        """Median over the measured runs of each run's peak RSS, in MiB."""
        return statistics.median(s.maxrss_kib for s in self.samples) / 1024 if self.ok else None


# --------------------------------------------------------------------------- environment


def child_env() -> dict[str, str]:
    """Environment for the measured commands.

    Telemetry off; bytecode caching on (this machine may set ``PYTHONDONTWRITEBYTECODE``,
    which would make every run recompile Kedro) with the caches kept under
    ``benchmarks/.work/pycache`` so nothing is written into the virtualenv or the projects.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        KEDRO_DISABLE_TELEMETRY="1",
        DO_NOT_TRACK="1",
        PYTHONPYCACHEPREFIX=str(PYCACHE),
    )
    return env


def _read_meminfo_kib(key: str) -> int | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _dist_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    """Facts about this machine and environment, for the results file."""
    mem = _read_meminfo_kib("MemTotal")
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": round(mem / 1024 / 1024, 1) if mem else None,
        "load_average": list(os.getloadavg()),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "kedro": _dist_version("kedro"),
        "kedro_dab": _dist_version("kedro-dab"),
    }


# --------------------------------------------------------------------------- projects


def ensure_project(
    size: int, seed: int, regenerate: bool, shape: str = "bench"
) -> tuple[Path, dict[str, Any]]:
    """Generate the project of ``size`` nodes and ``shape``, or reuse it if it is current."""
    path = PROJECTS / f"{shape}_{size}"
    manifest_path = path / make_project.MANIFEST_NAME
    if manifest_path.exists() and not regenerate:
        manifest = json.loads(manifest_path.read_text())
        current = (
            manifest.get("generator_sha256") == make_project._generator_digest()
            and manifest.get("kedro_version") == make_project._kedro_version()
            and manifest.get("seed") == seed
            and manifest.get("nodes") == size
            and manifest.get("namespaces") is (shape == "bench")
        )
        if current:
            return path, manifest
    print(f"generating {path.relative_to(HERE.parent)} ...", file=sys.stderr, flush=True)
    manifest = make_project.make_project(
        size, path, seed=seed, force=True, namespaces=shape == "bench"
    )
    return path, manifest


def fresh_copy(source: Path, name: str) -> Path:
    """Copy ``source`` to ``scratch/<name>`` (always the same path, so bytecode stays valid)."""
    target = SCRATCH / name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, symlinks=True)
    return target


def bundle_base(
    project: Path, setup: list[str], kedro: Path, env: dict[str, str], timeout: float
) -> tuple[Path, Sample | None]:
    """A copy of ``project`` on which the ``--bundle-setup`` commands ran once (untimed).

    Each ``kedro dab bundle`` run then starts from a fresh copy of it. Returns the folder and
    the failed setup run, if any.
    """
    base = WORK / "bundle-base" / project.name
    if base.exists():
        shutil.rmtree(base)
    base.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(project, base, symlinks=True)
    for i, args in enumerate(a for a in setup if a.strip()):
        log = LOGS / f"{project.name}_bundle_setup_{i}"
        sample = measure([str(kedro), *shlex.split(args)], base, env, log, timeout)
        if sample.returncode != 0:
            sample.stderr_tail = f"setup `kedro {args}` failed:\n{sample.stderr_tail}"
            return base, sample
    return base, None


# --------------------------------------------------------------------------- measuring


def measure(argv: list[str], cwd: Path, env: dict[str, str], log: Path, timeout: float) -> Sample:
    """Run ``argv`` once; return wall time, CPU time and peak RSS of its process tree.

    ``os.wait4`` gives the rusage of the child and of the descendants it waited for;
    ``ru_maxrss`` is the largest resident set among them, in KiB on Linux.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    out_path = log.with_suffix(".out")
    err_path = log.with_suffix(".err")
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        timer = threading.Timer(timeout, _kill_group, args=(proc.pid,))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    tail = ""
    if proc.returncode != 0:
        text = (
            err_path.read_text(errors="replace").strip()
            or out_path.read_text(errors="replace").strip()
        )
        tail = "\n".join(text.splitlines()[-15:])[-2000:]
        if proc.returncode < 0:
            tail = f"killed by signal {-proc.returncode} (timeout {timeout:g} s?)\n{tail}"
    return Sample(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        maxrss_kib=usage.ru_maxrss,
        returncode=proc.returncode,
        stderr_tail=tail,
        stdout_path=str(out_path),
    )


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def count_plan_tasks(stdout_path: str) -> int | None:
    """Best effort: number of tasks in ``kedro dab plan --format json`` output.

    Kedro's log handler writes to stdout too, so the JSON document is looked for from the first
    line that starts with ``{``.
    """
    try:
        text = Path(stdout_path).read_text()
    except OSError:
        return None
    start = 0 if text.startswith("{") else text.find("\n{") + 1
    if start == 0 and not text.startswith("{"):
        return None
    try:
        data, _ = json.JSONDecoder().raw_decode(text[start:])
    except ValueError:
        return None

    def walk(value: Any) -> int:
        if isinstance(value, dict):
            total = 0
            for key, item in value.items():
                if key == "tasks" and isinstance(item, list | dict):
                    total += len(item)
                else:
                    total += walk(item)
            return total
        if isinstance(value, list):
            return sum(walk(item) for item in value)
        return 0

    return walk(data)


def benches(sizes: list[int]) -> list[Bench]:
    """The commands to measure, in the order they run within a round."""
    items: list[Bench] = []
    for size in sizes:
        items += [
            Bench(BASELINE, ("registry", "list"), size),
            Bench("kedro dab plan", ("dab", "plan", "--format", "json"), size, BASELINE),
            Bench("kedro dab bundle", ("dab", "bundle"), size, BASELINE, scratch=True),
        ]
    smallest = min(sizes)
    items += [
        Bench(HELP_BASELINE, ("--help",), smallest),
        Bench("kedro dab --help", ("dab", "--help"), smallest, HELP_BASELINE),
    ]
    return items


def run_benchmarks(
    sizes: list[int],
    repeat: int,
    seed: int,
    kedro: Path,
    timeout: float,
    regenerate: bool,
    bundle_setup: list[str],
    shape: str = "bench",
) -> dict[str, Any]:
    """Generate the projects, run every command interleaved, and return the results."""
    projects: dict[int, Path] = {}
    manifests: dict[int, dict[str, Any]] = {}
    for size in sizes:
        projects[size], manifests[size] = ensure_project(size, seed, regenerate, shape)
    env = child_env()
    items = benches(sizes)
    series = {(b.size, b.name): Series(b) for b in items}
    bases: dict[int, Path] = {}
    for b in items:
        if b.scratch and b.size not in bases:
            bases[b.size], failed = bundle_base(projects[b.size], bundle_setup, kedro, env, timeout)
            if failed is not None:
                series[(b.size, b.name)].failure = failed

    def one(bench: Bench, round_name: str) -> None:
        s = series[(bench.size, bench.name)]
        if s.failure is not None:
            return
        cwd = projects[bench.size]
        slug = f"{bench.size}_{bench.name.replace(' ', '_').replace('-', '')}"
        if bench.scratch:
            cwd = fresh_copy(bases[bench.size], cwd.name)
        sample = measure([str(kedro), *bench.args], cwd, env, LOGS / slug, timeout)
        status = "ok" if sample.returncode == 0 else f"FAILED ({sample.returncode})"
        print(
            f"  [{round_name}] {bench.size:>6} {bench.name:<20} "
            f"{sample.wall_s:7.2f} s {sample.maxrss_kib / 1024:8.1f} MiB  {status}",
            file=sys.stderr,
            flush=True,
        )
        if sample.returncode != 0:
            s.failure = sample
        elif round_name == "warm-up":
            s.warmup = sample
        else:
            s.samples.append(sample)
            if bench.name == "kedro dab plan" and s.plan_tasks is None:
                s.plan_tasks = count_plan_tasks(sample.stdout_path)

    for item in items:
        one(item, "warm-up")
    for r in range(repeat):
        for item in items:
            one(item, f"{r + 1}/{repeat}")

    return {
        "schema": RESULTS_SCHEMA,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "config": {
            "sizes": sizes,
            "repeat": repeat,
            "seed": seed,
            "kedro": str(kedro),
            "timeout_s": timeout,
            "bundle_setup": bundle_setup,
            "shape": shape,
        },
        "projects": {str(size): manifests[size] for size in sizes},
        "results": [_result_row(s, series, manifests) for s in series.values()],
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _result_row(
    s: Series, series: dict[tuple[int, str], Series], manifests: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    bench = s.bench
    base = series.get((bench.size, bench.baseline)) if bench.baseline else None
    time_ratio = _ratio(s.median_s(), base.median_s()) if base else None
    cpu_ratio = _ratio(s.median_cpu_s(), base.median_cpu_s()) if base else None
    mem_ratio = _ratio(s.peak_mib(), base.peak_mib()) if base else None
    target = next((t for t in TARGETS.get(bench.name, ()) if bench.size >= t[0]), None)
    meets: bool | None = None
    target_info: dict[str, Any] | None = None
    if target:
        _, max_time, max_mem = target
        target_info = {"time_ratio_max": max_time, "memory_ratio_max": max_mem}
        if time_ratio is not None:
            meets = time_ratio <= max_time and (
                max_mem is None or (mem_ratio is not None and mem_ratio <= max_mem)
            )
        elif s.failure is not None:
            meets = False
    row: dict[str, Any] = {
        "size": bench.size,
        "command": bench.name,
        "argv": ["kedro", *bench.args],
        "ok": s.ok,
        "runs": len(s.samples),
        "median_s": _round(s.median_s()),
        "times_s": [round(x.wall_s, 4) for x in s.samples],
        "cpu_s_median": _round(statistics.median(x.cpu_s for x in s.samples))
        if s.samples
        else None,
        "peak_rss_mib": _round(s.peak_mib()),
        "peak_rss_mib_max": _round(max(x.maxrss_kib for x in s.samples) / 1024)
        if s.samples
        else None,
        "warmup_s": _round(s.warmup.wall_s) if s.warmup else None,
        "baseline": bench.baseline,
        "time_ratio": time_ratio,
        "cpu_ratio": cpu_ratio,
        "memory_ratio": mem_ratio,
        "target": target_info,
        "meets_target": meets,
        "error": None,
    }
    if bench.name == "kedro dab plan":
        row["plan_tasks"] = s.plan_tasks
        row["expected_tasks"] = manifests[bench.size].get("expected_tasks")
    if s.failure is not None:
        row["error"] = {"returncode": s.failure.returncode, "stderr_tail": s.failure.stderr_tail}
    return row


def _round(value: float | None, digits: int = 4) -> float | None:
    return round(value, digits) if value is not None else None


def format_table(results: dict[str, Any]) -> str:
    """Plain-text table of a results dictionary."""
    header = [
        "size",
        "command",
        "median s",
        "cpu s",
        "peak MiB",
        "time x",
        "cpu x",
        "mem x",
        "target",
        "status",
    ]
    rows = [header]
    for r in results["results"]:
        target = r["target"]
        target_text = ""
        if target:
            target_text = f"<={target['time_ratio_max']}"
            if target["memory_ratio_max"] is not None:
                target_text += f" / <={target['memory_ratio_max']}"
        if r["error"]:
            first = next(
                (ln for ln in reversed(r["error"]["stderr_tail"].splitlines()) if ln.strip()), ""
            )
            status = f"FAILED ({r['error']['returncode']}): {first.strip()[:60]}"
        elif r["meets_target"] is True:
            status = "meets target"
        elif r["meets_target"] is False:
            status = "MISSES target"
        else:
            status = "ok"
        if r.get("plan_tasks") is not None:
            status += f"; {r['plan_tasks']} tasks (expected {r['expected_tasks']})"
        rows.append(
            [
                str(r["size"]),
                r["command"],
                _fmt(r["median_s"], 3),
                _fmt(r["cpu_s_median"], 3),
                _fmt(r["peak_rss_mib"], 1),
                _fmt(r["time_ratio"], 3),
                _fmt(r.get("cpu_ratio"), 3),
                _fmt(r["memory_ratio"], 3),
                target_text,
                status,
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = []
    for i, row in enumerate(rows):
        cells = [
            cell.rjust(w) if j in (0, 2, 3, 4, 5, 6, 7) else cell.ljust(w)
            for j, (cell, w) in enumerate(zip(row[:-1], widths, strict=True))
        ]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in [*widths, len(header[-1])]))
    return "\n".join(lines)


def _fmt(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


# --------------------------------------------------------------------------- steps mode


class StepsUnavailableError(RuntimeError):
    """kedro_dab's Python API is not there (yet) in the shape ``time_steps`` expects."""


@contextlib.contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = round(time.perf_counter() - start, 4)


def _api_function(api: ModuleType, *names: str) -> Callable[..., Any]:
    for name in names:
        func = getattr(api, name, None)
        if callable(func):
            return func  # type: ignore[no-any-return]
    public = sorted(n for n in dir(api) if not n.startswith("_"))
    raise StepsUnavailableError(
        f"kedro_dab.api has none of {', '.join(names)}; it has: {', '.join(public) or 'nothing'}. "
        "Adapt time_steps() in benchmarks/run.py to the API."
    )


def time_steps(project_path: Path) -> dict[str, float]:
    """Time kedro-dab's own steps on one project, in this process. Returns seconds per step.

    ADAPT THIS FUNCTION when ``kedro_dab``'s API changes; it is written against ``api.read``,
    ``plan.build_plan`` and ``plan_checks.check_plan``. The steps timed:

    * ``read_project``: the project model. It bootstraps the project itself, so it includes
      what ``kedro registry list`` does (import the project, build its pipelines) plus reading
      the catalog and ``dab.yml`` config; compare it with that command's time;
    * ``build_plan``: rules -> groups -> tasks, including the plan's own checks;
    * ``check_plan``: the plan invariants alone (partition, acyclic, data flow, limits), run
      again on the built plan; ``grouping`` is ``build_plan - check_plan``.

    Raises ``StepsUnavailableError`` with a clear message when the API is not there.
    """
    try:
        api = importlib.import_module("kedro_dab.api")
        plan_module = importlib.import_module("kedro_dab.plan")
        checks_module = importlib.import_module("kedro_dab.plan_checks")
    except ImportError as exc:
        raise StepsUnavailableError(
            f"cannot import kedro_dab.api / .plan / .plan_checks ({exc}); install kedro-dab in "
            "this environment (pip install -e .) once the API exists."
        ) from exc
    read_project = _api_function(api, "read", "read_project")
    build_plan = _api_function(plan_module, "build_plan")
    check_plan = _api_function(checks_module, "check_plan")

    timings: dict[str, float] = {}
    with _timed(timings, "read_project"):
        model = read_project(project_path)
    with _timed(timings, "build_plan"):
        plan = build_plan(model)
    with _timed(timings, "check_plan"):
        check_plan(plan, model)
    timings["grouping"] = round(max(0.0, timings["build_plan"] - timings["check_plan"]), 4)
    timings["tasks"] = sum(len(job.tasks) for job in getattr(plan, "jobs", ()))
    return timings


def _steps_one(project: Path) -> int:
    """Child side of ``--steps``: time one project, print one JSON line."""
    import resource

    try:
        timings: dict[str, Any] = dict(time_steps(project))
    except StepsUnavailableError as exc:
        print(STEPS_PREFIX + json.dumps({"error": str(exc)}))
        return 3
    timings["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(STEPS_PREFIX + json.dumps(timings))
    return 0


def run_steps(
    sizes: list[int], seed: int, regenerate: bool, timeout: float, shape: str = "bench"
) -> dict[str, Any]:
    """Time the plugin's steps in a fresh interpreter per size; return the results."""
    env = child_env()
    rows: dict[str, Any] = {}
    for size in sizes:
        project, _ = ensure_project(size, seed, regenerate, shape)
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--steps-one", str(project)],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        line = next(
            (ln for ln in reversed(proc.stdout.splitlines()) if ln.startswith(STEPS_PREFIX)), None
        )
        if line is None:
            rows[str(size)] = {"error": (proc.stderr or proc.stdout)[-2000:]}
        else:
            rows[str(size)] = json.loads(line[len(STEPS_PREFIX) :])
        print(f"{size:>6}: {rows[str(size)]}", flush=True)
    return {
        "schema": RESULTS_SCHEMA,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "steps": rows,
    }


# --------------------------------------------------------------------------- CLI


def _sizes(text: str) -> list[int]:
    sizes = sorted({int(x) for x in text.split(",") if x.strip()})
    if not sizes or sizes[0] < make_project.MIN_NODES:
        raise argparse.ArgumentTypeError(f"sizes must be integers >= {make_project.MIN_NODES}")
    return sizes


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=_sizes, default=[100, 1000, 10000])
    parser.add_argument("--repeat", type=int, default=5, help="measured runs after one warm-up")
    parser.add_argument("--out", type=Path, help=f"results file (default {DEFAULT_OUT.name})")
    parser.add_argument("--seed", type=int, default=make_project.DEFAULT_SEED)
    parser.add_argument(
        "--kedro",
        type=Path,
        default=Path(sys.executable).parent / "kedro",
        help="kedro executable (default: the one beside this Python)",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="per command, seconds")
    parser.add_argument("--regenerate", action="store_true", help="regenerate the projects")
    parser.add_argument(
        "--shape",
        choices=SHAPES,
        default="bench",
        help="bench: the default project; light: every chunk tagged, no namespaces",
    )
    parser.add_argument(
        "--bundle-setup",
        action="append",
        metavar="ARGS",
        help="kedro arguments run once (untimed) on the copy each `kedro dab bundle` run starts "
        f"from; repeatable (default: {' and '.join(DEFAULT_BUNDLE_SETUP)!r})",
    )
    parser.add_argument(
        "--steps", action="store_true", help="time the plugin's steps in-process instead"
    )
    parser.add_argument("--steps-one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.steps_one:
        return _steps_one(args.steps_one.resolve())
    if args.steps:
        results = run_steps(args.sizes, args.seed, args.regenerate, args.timeout, args.shape)
        out = args.out or DEFAULT_STEPS_OUT
    else:
        if args.repeat < 1:
            parser.error("--repeat must be at least 1")
        results = run_benchmarks(
            args.sizes,
            args.repeat,
            args.seed,
            args.kedro,
            args.timeout,
            args.regenerate,
            DEFAULT_BUNDLE_SETUP if args.bundle_setup is None else args.bundle_setup,
            args.shape,
        )
        out = args.out or DEFAULT_OUT
        print(format_table(results))
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
