"""Where kedro-dab's own share of `kedro dab plan --format json` goes, step by step.

One generated project (see `make_project.py`), one fresh interpreter, CPU time
(`time.process_time`) of each step in the order the command runs them, after Kedro itself
has loaded its CLI, bootstrapped the project and built its pipelines (what `kedro registry
list` does: the first line, the floor). Nothing is asserted; the figures are printed, and
written as JSON with `--out`.

    .venv/bin/python benchmarks/share.py benchmarks/.work/projects/light_10000 [--env databricks]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

FLOOR = "kedro: its CLI, bootstrap the project, build its pipelines (the floor)"


def measure(project: Path, env: str) -> dict[str, Any]:
    """Seconds of CPU per step, the share of each against the floor, and the grouping's
    microseconds per node plus edge."""
    steps: dict[str, float] = {}

    def step(name: str, func: Callable[[], Any]) -> Any:
        start = time.process_time()
        result = func()
        steps[name] = time.process_time() - start
        return result

    def floor() -> None:
        import kedro.framework.cli.cli  # noqa: F401  (loaded by every `kedro` command)
        from kedro.framework.project import pipelines
        from kedro.framework.startup import bootstrap_project

        bootstrap_project(project)
        dict(pipelines)

    step(FLOOR, floor)
    step("import kedro_dab (api, show)", lambda: __import__("kedro_dab.show") and None)
    from kedro_dab import compat, grouping, kedro_config, plan, show
    from kedro_dab import project as reading

    registered = compat.load_pipelines()
    step("Kedro's topological sort, per pipeline", lambda: [p.nodes for p in registered.values()])
    nodes, _, names = step("nodes -> NodeInfo", lambda: reading.registry_nodes(registered))
    loader = step("config loader", lambda: kedro_config.config_loader(project, env))
    catalog = step("catalog files (YAML)", lambda: kedro_config.catalog_config(loader, env))
    step(
        "in-memory or persisted, per dataset",
        lambda: reading.persisted_families(kedro_config.persisted_datasets(catalog, names), names),
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
    floor = steps[FLOOR]
    ours = sum(v for k, v in steps.items() if k != FLOOR)
    edges = sum(len(n.inputs) for n in nodes.values())
    return {
        "project": str(project),
        "nodes": len(nodes),
        "edges": edges,
        "cpu_s": {k: round(v, 4) for k, v in steps.items()},
        "ours_cpu_s": round(ours, 4),
        "share_of_floor": round(ours / floor, 3) if floor else None,
        "grouping_cpu_s": round(seconds[0], 4),
        "grouping_us_per_node_edge": round(seconds[0] * 1e6 / (len(nodes) + edges), 2),
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--env", default="databricks")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
    import logging

    logging.disable(logging.WARNING)
    result = measure(args.project.resolve(), args.env)
    floor = result["cpu_s"][FLOOR]
    for name, seconds in result["cpu_s"].items():
        share = "" if name == FLOOR else f"  {100 * seconds / floor:5.1f}% of the floor"
        print(f"{seconds * 1000:9.1f} ms  {name}{share}")
    print(
        f"{result['ours_cpu_s'] * 1000:9.1f} ms  kedro-dab in all: "
        f"{100 * result['share_of_floor']:.1f}% of the floor; grouping "
        f"{result['grouping_us_per_node_edge']} µs per node + edge "
        f"({result['nodes']} nodes, {result['edges']} edges)"
    )
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
