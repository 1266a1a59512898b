"""Human views of a Plan: a table per job, and a Mermaid diagram."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from kedro_dab.boundaries import RUN_ID_REFERENCE, dataset_location
from kedro_dab.config_compute import ServerlessCompute
from kedro_dab.plan import Plan
from kedro_dab.plan_json import plan_to_dict


def plan_json(plan: Plan) -> str:
    """The versioned JSON form, pretty-printed with a final newline."""
    return indented_json(plan_to_dict(plan)) + "\n"


def indented_json(value: Any) -> str:
    """`json.dumps(value, indent=2)`, byte for byte, in a fraction of the time on large values.

    `json.dumps` with an indent runs the pure-Python encoder; this runs the C encoder without
    one, then lets msgspec indent that text (it keeps every string, escape and number as it
    finds them). What it cannot reformat (`Infinity`, `NaN`), and anything the C encoder
    refuses (a value that contains itself among them: it is not looked for first), goes
    through `json.dumps` itself, which answers in its own words."""
    try:
        compact = json.dumps(value, separators=(",", ":"), check_circular=False)
        return msgspec.json.format(compact, indent=2)
    except (TypeError, ValueError, RecursionError, msgspec.DecodeError):
        return json.dumps(value, indent=2)


def plan_text(plan: Plan, fmt: str) -> str:
    """The plan in a machine or picture format: `json`, `mermaid` or `html`."""
    if fmt == "json":
        return plan_json(plan)
    if fmt == "mermaid":
        return plan_mermaid(plan)
    from kedro_dab.html import plan_html

    return plan_html(plan)


def plan_mermaid(plan: Plan) -> str:
    """A Mermaid flowchart: one box per task (its nodes listed), an arrow for every dataset
    that passes between two tasks (labelled with the datasets, whether or not the tasks are
    neighbours), a dotted arrow for an order-only dependency, and merged tasks marked."""
    from kedro_dab.html import dataset_flows, merge_reasons

    lines = ["flowchart TD"]
    merged_ids: list[str] = []
    for j, job in enumerate(plan.jobs):
        ids = {task.key: f"j{j}t{i}" for i, task in enumerate(job.tasks)}
        lines.append(f'  subgraph job{j}["job: {_escape(job.name)}"]')
        for task in job.tasks:
            merged = merge_reasons(task)
            shown = "<br/>".join(_escape(n) + (" ⊕" if n in merged else "") for n in task.nodes[:8])
            more = f"<br/>… {len(task.nodes) - 8} more" if len(task.nodes) > 8 else ""
            why = ""
            if merged:
                merged_ids.append(ids[task.key])
                causes = sorted(set(merged.values()))
                why = f"<br/><i>⊕ merged: {_escape(_cut('; '.join(causes), 120))}</i>"
            lines.append(
                f'    {ids[task.key]}["<b>{_escape(task.key)}</b><br/>{shown}{more}{why}"]'
            )
        lines.append("  end")
        flows = dataset_flows(job)
        for task in job.tasks:
            for dep in task.depends_on:
                if (dep, task.key) not in flows:
                    lines.append(f"  {ids[dep]} -.-> {ids[task.key]}")
        for (producer, consumer), data in flows.items():
            names = [name + (" (persisted)" if kind == "persisted" else "") for name, kind in data]
            label = ", ".join(names[:3]) + (" …" if len(names) > 3 else "")
            lines.append(f"  {ids[producer]} -->|{_escape(label)}| {ids[consumer]}")
    if merged_ids:
        lines.append("  classDef merged fill:#fff4e0,stroke:#d8893b,stroke-width:2px")
        lines.append(f"  class {','.join(merged_ids)} merged")
    return "\n".join(lines) + "\n"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _escape(text: str) -> str:
    return (
        text.replace('"', "#quot;").replace("|", "#124;").replace("<", "#lt;").replace(">", "#gt;")
    )


def print_plan(plan: Plan, console: Any, explain: bool = False) -> None:
    """Print each job as a tree: tasks with their compute, settings and dependencies, each
    node with the rule that placed it, then the datasets that cross task boundaries."""
    from rich.markup import escape

    from kedro_dab.bundle.render import environment_key

    for job in plan.jobs:
        node_count = sum(len(t.nodes) for t in job.tasks)
        console.print(
            f"[bold]job {escape(job.key)}[/bold] ({escape(job.name)}): pipelines "
            f"{escape(', '.join(job.pipelines))}; {len(job.tasks)} tasks, {node_count} nodes; "
            f"Kedro env '{escape(plan.env)}'"
        )
        for t_index, task in enumerate(job.tasks):
            last_task = t_index == len(job.tasks) - 1
            branch, stem = ("└── ", "    ") if last_task else ("├── ", "│   ")
            settings = "".join(f", {k}={v}" for k, v in task.settings.items())
            if task.requirements:
                where = (
                    f"environment {environment_key(task)}"
                    if isinstance(plan.compute[task.compute], ServerlessCompute)
                    else "libraries"
                )
                settings += f", {where}: {', '.join(task.requirements)}"
            after = f"  after {', '.join(task.depends_on)}" if task.depends_on else ""
            console.print(
                f"{branch}[bold cyan]{escape(task.key)}[/bold cyan]  "
                f"{escape(f'[{task.compute}{settings}]')}{escape(after)}"
            )
            if explain:
                for line in explain_task(task):
                    console.print(f"{stem}[magenta]{escape(line)}[/magenta]")
            for n_index, name in enumerate(task.nodes):
                twig = "└── " if n_index == len(task.nodes) - 1 else "├── "
                console.print(
                    f"{stem}{twig}{escape(name)}  [dim]<- {escape(task.placed_by[name])}[/dim]"
                )
        if job.boundary_datasets:
            console.print("boundary datasets:")
            for boundary in job.boundary_datasets:
                kept = "[red]memory (lost!)[/red]" if boundary.in_memory else "catalog"
                if boundary.persisted:
                    where = dataset_location(
                        plan.boundary_store(job), RUN_ID_REFERENCE, boundary.dataset
                    )
                    kept = f"persisted per run to {escape(where)}"
                console.print(
                    f"  {escape(boundary.dataset)}: {escape(boundary.producer)} -> "
                    f"{escape(', '.join(boundary.consumers))} ({kept})"
                )
        if job.cleanup_task:
            console.print(
                f"task {escape(job.cleanup_task)} removes a successful run's boundary data "
                f"(failed runs keep it {plan.boundaries_retention_days:g} days for a repair)"
            )
        console.print()


def explain_task(task: Any) -> list[str]:
    """Each setting of a task with the dab.yml entry that set it."""
    sources = task.settings_source
    lines = [f"compute = {task.compute}  <- {sources.get('compute', 'default_compute')}"]
    for name, value in task.settings.items():
        lines.append(f"{name} = {value}  <- {sources.get(name, '?')}")
    if task.requirements:
        lines.append(
            f"requirements = {', '.join(task.requirements)}  <- {sources.get('requirements', '?')}"
        )
    return lines


_STATE_STYLE = {
    "pending": "dim",
    "running": "yellow",
    "done": "green",
    "failed": "bold red",
    "timed out": "bold red",
    "skipped": "magenta",
    "excluded": "magenta",
    "disabled": "dim",
    "cancelled": "magenta",
}


class TaskProgress:
    """Task states as they change: a live table on a terminal, one line per change elsewhere."""

    def __init__(self, console: Any, keys: list[str], title: str) -> None:
        self.console = console
        self.keys = keys
        self.title = title
        self.states: dict[str, tuple[str, str]] = {k: ("pending", "") for k in keys}
        self.live: Any = None

    def __enter__(self) -> TaskProgress:
        if self.console.is_terminal:
            from rich.live import Live

            self.live = Live(self._table(), console=self.console, refresh_per_second=4)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.update(self._table())
            self.live.__exit__(*exc)

    def update(
        self, key: str, state: str, seconds: float | None = None, url: str | None = None
    ) -> None:
        """Record a task's new state (and its wall time once it ended)."""
        if key not in self.states:
            self.keys.append(key)
        timing = f"{seconds:.1f}s" if seconds is not None else ""
        self.states[key] = (state, timing)
        if self.live is not None:
            self.live.update(self._table())
        else:
            suffix = f" ({timing})" if timing else ""
            where = f"  {url}" if url and state != "pending" else ""
            self.console.print(f"{key}: {state}{suffix}{where}", highlight=False)

    def _table(self) -> Any:
        from rich.table import Table
        from rich.text import Text

        table = Table(title=self.title)
        table.add_column("task")
        table.add_column("state")
        table.add_column("time", justify="right")
        for key in self.keys:
            state, timing = self.states[key]
            table.add_row(key, Text(state, style=_STATE_STYLE.get(state, "")), timing)
        return table

    def summary(self) -> Any:
        """The final table."""
        return self._table()


def run_lines(status: Any) -> list[str]:
    """The final view of a run on Databricks: every task in dependency order with its state,
    start (UTC), duration and page, then a total."""
    from datetime import datetime, timezone

    def clock(millis: int | None) -> str:
        if not millis:
            return "-"
        return datetime.fromtimestamp(millis / 1000, tz=timezone.utc).strftime("%H:%M:%S")

    rows = [("task", "state", "start", "time", "url")]
    for task in status.task_runs:
        took = f"{task.seconds:.1f}s" if task.seconds is not None else "-"
        rows.append((task.key, task.state, clock(task.start_ms), took, task.url or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row)).rstrip()
        for row in rows
    ]
    counts: dict[str, int] = {}
    for task in status.task_runs:
        counts[task.state] = counts.get(task.state, 0) + 1
    tally = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    took = f" in {status.seconds:.1f}s" if status.seconds is not None else ""
    lines.append(f"total: {len(status.task_runs)} tasks ({tally}){took}")
    return lines
