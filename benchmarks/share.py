"""Where kedro-dab's own share of a command goes, against Kedro's floor.

One generated project (see `make_project.py`). The floor is the median CPU time (user +
system) of `kedro registry list` processes on the project: what Kedro itself spends to start,
load its CLI and plugins, bootstrap the project and build its pipelines. kedro-dab's share is
then measured in one fresh interpreter, after the same Kedro work has been done in-process
(the first step): CPU time (`time.process_time`) of what the command adds.

    .venv/bin/python benchmarks/share.py benchmarks/.work/projects/light_10000 [--env databricks]
    .venv/bin/python benchmarks/share.py PROJECT --command plan     # the whole command
    .venv/bin/python benchmarks/share.py PROJECT --command bundle --via cli

Without `--command`, the steps of `kedro dab plan --format json` one by one. With `--command
plan` or `--command bundle`, the whole command through the public API, from importing
kedro-dab on; with `--via cli` as well, through the Kedro CLI object the first step built, as
`kedro dab plan --format json` (its text printed to the null device) or `kedro dab bundle` run
in a terminal: Kedro's CLI hooks and click's parsing included. `bundle` runs on a scratch
copy of the project that `kedro dab init` set up beforehand in another process, so neither the
copy nor init is counted. Every interpreter runs
with bytecode caching on, as `kedro` runs for a user (caches in `.work/pycache`; this machine
may set PYTHONDONTWRITEBYTECODE, and then every import would compile), and a first, untimed
run fills the caches. Nothing is asserted; the figures are printed, and written as JSON with
`--out`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

KEDRO_STEPS = "kedro in-process: its CLI and plugins, bootstrap, build the pipelines"
PYCACHE = Path(__file__).resolve().parent / ".work" / "pycache"
CHILD = "KEDRO_DAB_SHARE_FLOOR_CPU_S"


class Steps:
    """CPU seconds per named step, in the order they ran."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str, func: Callable[[], Any]) -> Any:
        start = time.process_time()
        result = func()
        self.seconds[name] = time.process_time() - start
        return result


def kedro_in_process(project: Path) -> Any:
    """What `kedro registry list` does before listing, in this interpreter: Kedro's CLI with
    its plugins (kedro-dab's command group among them, as for every `kedro` command), the
    project bootstrapped, its pipelines built."""
    from kedro.framework.cli.cli import KedroCLI, _init_plugins
    from kedro.framework.project import pipelines

    _init_plugins()
    cli = KedroCLI(project_path=project)
    dict(pipelines)
    return cli


def plan_steps(project: Path, env: str, step: Steps) -> dict[str, Any]:
    """The steps of `kedro dab plan --format json`, one by one, and grouping's cost."""
    step("import kedro_dab (api, show)", lambda: __import__("kedro_dab.show") and None)
    from kedro_dab import compat, grouping, kedro_config, plan, registry, show
    from kedro_dab import project as reading

    registered = compat.load_pipelines()
    step("Kedro's topological sort, per pipeline", lambda: [p.nodes for p in registered.values()])
    nodes, _, names, _ = step("nodes -> NodeInfo", lambda: registry.registry_nodes(registered))
    loader = step("config loader", lambda: kedro_config.config_loader(project, env))
    catalog = step("catalog files (YAML)", lambda: kedro_config.catalog_config(loader, env))
    step(
        "in-memory or persisted, per dataset",
        lambda: registry.persisted_families(kedro_config.persisted_datasets(catalog, names), names),
    )
    step("dab.yml", lambda: kedro_config.load_config_key(loader, "dab"))
    model = reading.read_project(project, env)
    seconds = [0.0]
    group_job = grouping.group_job

    def timed_group_job(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return group_job(*args, **kwargs)
        finally:
            seconds[0] += time.process_time() - start

    plan.group_job = timed_group_job  # type: ignore[assignment]
    built = step("build_plan (dab.yml models, grouping, checks)", lambda: plan.build_plan(model))
    step("plan JSON", lambda: show.plan_json(built))
    edges = sum(len(n.inputs) for n in nodes.values())
    return {
        "nodes": len(nodes),
        "edges": edges,
        "grouping_cpu_s": round(seconds[0], 4),
        "grouping_us_per_node_edge": round(seconds[0] * 1e6 / (len(nodes) + edges), 2),
    }


def whole_command(
    project: Path, env: str, command: str, step: Steps, cli: Any = None
) -> dict[str, Any]:
    """One whole kedro-dab command through the public API, or through Kedro's `cli`."""

    def plan() -> None:
        from kedro_dab import api, show

        show.plan_text(api.make_plan(project, env), "json")

    def bundle() -> None:
        from kedro_dab import api

        api.bundle(project, env)

    def through_cli() -> None:
        args = ["dab", "plan", "--format", "json"] if command == "plan" else ["dab", "bundle"]
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            cli.main([*args, "--env", env], standalone_mode=False)

    if command == "bundle":  # each measured bundle writes its files, as after a fresh copy
        shutil.rmtree(project / "resources" / "kedro-dab", ignore_errors=True)
    name = f"kedro dab {command}: import kedro-dab, read, plan, " + (
        "plan JSON" if command == "plan" else "render, write resources/kedro-dab/"
    )
    if cli is not None:
        name = f"`kedro dab {command}` through Kedro's CLI: " + name.split(": ", 1)[1]
    step(name, through_cli if cli is not None else plan if command == "plan" else bundle)
    return {"official_job_models_imported": "databricks.bundles.jobs" in sys.modules}


def measure(
    project: Path, env: str, command: str, floor_s: float, via: str = "api"
) -> dict[str, Any]:
    """kedro-dab's CPU seconds per step and in all, against `floor_s`."""
    step = Steps()
    cli = step(KEDRO_STEPS, lambda: kedro_in_process(project))
    if command == "steps":
        extra = plan_steps(project, env, step)
    else:
        extra = whole_command(project, env, command, step, cli if via == "cli" else None)
    ours = sum(v for k, v in step.seconds.items() if k != KEDRO_STEPS)
    return {
        "project": str(project),
        "command": command,
        "via": via,
        "kedro_registry_list_cpu_s": round(floor_s, 4),
        "cpu_s": {k: round(v, 4) for k, v in step.seconds.items()},
        "ours_cpu_s": round(ours, 4),
        "share_of_floor": round(ours / floor_s, 3),
        **extra,
    }


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPYCACHEPREFIX=str(PYCACHE), KEDRO_DISABLE_TELEMETRY="1", DO_NOT_TRACK="1")
    return env


def registry_list_cpu(project: Path, runs: int = 3) -> float:
    """Median CPU seconds of `kedro registry list` processes on `project` (after one more,
    untimed, that fills the bytecode caches)."""
    kedro = str(Path(sys.executable).with_name("kedro"))
    samples = []
    for index in range(runs + 1):
        process = subprocess.Popen(
            [kedro, "registry", "list"],
            cwd=project,
            env=_environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(process.pid, 0)
        if status:
            raise SystemExit(f"`kedro registry list` failed in {project} (status {status})")
        if index:
            samples.append(usage.ru_utime + usage.ru_stime)
    return statistics.median(samples)


def _bundle_copy(project: Path, env: str) -> Path:
    """A scratch copy of `project` that `kedro dab init` has set up, in another process."""
    copy = Path(tempfile.mkdtemp(prefix="share-")) / project.name
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("resources", "dist"))
    kedro = str(Path(sys.executable).with_name("kedro"))
    subprocess.run([kedro, "dab", "init", "--env", env], cwd=copy, check=True, capture_output=True)
    return copy


def _print(result: dict[str, Any]) -> None:
    floor = result["kedro_registry_list_cpu_s"]
    print(f"{floor * 1000:9.1f} ms  `kedro registry list` process (the floor)")
    for name, seconds in result["cpu_s"].items():
        share = "" if name == KEDRO_STEPS else f"  {100 * seconds / floor:5.1f}% of the floor"
        print(f"{seconds * 1000:9.1f} ms  {name}{share}")
    line = f"{result['ours_cpu_s'] * 1000:9.1f} ms  kedro-dab in all: "
    line += f"{100 * result['share_of_floor']:.1f}% of the floor"
    if "grouping_us_per_node_edge" in result:
        line += (
            f"; grouping {result['grouping_us_per_node_edge']} µs per node + edge "
            f"({result['nodes']} nodes, {result['edges']} edges)"
        )
    if "official_job_models_imported" in result:
        line += f" (official job model classes imported: {result['official_job_models_imported']})"
    print(line)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--env", default="databricks")
    parser.add_argument("--command", choices=("steps", "plan", "bundle"), default="steps")
    parser.add_argument("--via", choices=("api", "cli"), default="api")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    project = args.project.resolve()
    if not os.environ.get(CHILD):
        if args.command == "bundle":
            project = _bundle_copy(project, args.env)
        floor = registry_list_cpu(project)
        child = [sys.executable, __file__, str(project), "--env", args.env]
        child += ["--command", args.command, "--via", args.via]
        env = {**_environment(), CHILD: repr(floor)}
        subprocess.run(child, env=env, check=True, capture_output=True)  # fills the caches
        if args.out:
            child += ["--out", str(args.out.resolve())]
        return subprocess.run(child, env=env, check=False).returncode
    import logging

    logging.disable(logging.WARNING)
    result = measure(project, args.env, args.command, float(os.environ[CHILD]), args.via)
    _print(result)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
