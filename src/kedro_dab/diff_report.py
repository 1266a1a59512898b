"""How `kedro dab diff` tells a plan diff: plain text, one fact a line, or Markdown for a pull
request with a Mermaid diagram of each changed job's tasks."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kedro_dab.diff import JobDiff, PlanDiff


def diff_text(diff: PlanDiff) -> str:
    """The change as plain text, one fact a line."""
    if not diff.changed:
        return f"No change to the jobs since {diff.base}.\n"
    lines = [f"Changes to the jobs since {diff.base}:"]
    lines += [f"  job added: {k}" for k in diff.jobs_added]
    lines += [f"  job removed: {k}" for k in diff.jobs_removed]
    for job in diff.jobs:
        if not job.changed:
            continue
        lines.append(f"job {job.key}:")
        lines += [f"  task added: {k}" for k in job.tasks_added]
        lines += [f"  task removed: {k}" for k in job.tasks_removed]
        lines += [f"  task renamed: {o} -> {n}" for o, n in job.tasks_renamed.items()]
        lines += [
            f"  node moved: {m.node}: {m.before} -> {m.after} ({m.why})" for m in job.nodes_moved
        ]
        lines += [f"  node added: {n} (in {t})" for n, t in job.nodes_added.items()]
        lines += [f"  node removed: {n} (was in {t})" for n, t in job.nodes_removed.items()]
        lines += [
            f"  {c.where}: {c.name}: {_show(c.before)} -> {_show(c.after)}" for c in job.settings
        ]
    return "\n".join(lines) + "\n"


def diff_markdown(diff: PlanDiff) -> str:
    """The change as Markdown for a pull request: lists, then a Mermaid diagram of each changed
    job's tasks (added, renamed and changed tasks coloured; removed ones listed)."""
    head = f"### kedro-dab: what this change does to the Databricks jobs (vs `{diff.base}`)\n\n"
    if not diff.changed:
        return head + "No change to the jobs.\n"
    parts = [head]
    if diff.jobs_added:
        parts.append("Jobs added: " + ", ".join(f"`{k}`" for k in diff.jobs_added) + "\n\n")
    if diff.jobs_removed:
        parts.append("Jobs removed: " + ", ".join(f"`{k}`" for k in diff.jobs_removed) + "\n\n")
    head_jobs = {job["key"]: job for job in diff.head_plan.get("jobs", [])}
    for job in diff.jobs:
        if not job.changed:
            continue
        parts.append(f"#### job `{job.key}`\n\n")
        items = [f"- task added: `{k}`" for k in job.tasks_added]
        items += [f"- task removed: `{k}`" for k in job.tasks_removed]
        items += [f"- task renamed: `{o}` → `{n}`" for o, n in job.tasks_renamed.items()]
        items += [
            f"- node moved: `{m.node}`: `{m.before}` → `{m.after}` ({_md(m.why)})"
            for m in job.nodes_moved
        ]
        items += [f"- node added: `{n}` in `{t}`" for n, t in job.nodes_added.items()]
        items += [f"- node removed: `{n}` (was in `{t}`)" for n, t in job.nodes_removed.items()]
        items += [
            f"- {c.where}: `{c.name}`: `{_show(c.before)}` → `{_show(c.after)}`"
            for c in job.settings
        ]
        parts.append("\n".join(items) + "\n\n")
        if job.key in head_jobs:
            parts.append("```mermaid\n" + _mermaid(head_jobs[job.key], job) + "```\n\n")
    return "".join(parts)


def _mermaid(job: Mapping[str, Any], change: JobDiff) -> str:
    ids = {task["key"]: f"t{i}" for i, task in enumerate(job["tasks"])}
    changed = {c.where.removeprefix("task ") for c in change.settings if c.where != "job"}
    moved_into = {m.after for m in change.nodes_moved} | set(change.nodes_added.values())
    lines = ["flowchart LR"]
    for task in job["tasks"]:
        key = task["key"]
        note = ""
        if key in change.tasks_added:
            note = " (added)"
        elif key in change.tasks_renamed.values():
            old = next(o for o, n in change.tasks_renamed.items() if n == key)
            note = f" (was {old})"
        lines.append(f'  {ids[key]}["{_quote(key + note)}<br/>{len(task["nodes"])} node(s)"]')
    flows: dict[tuple[str, str], list[str]] = {}
    for crossing in job.get("boundary_datasets", []):
        for consumer in crossing["consumers"]:
            flows.setdefault((crossing["producer"], consumer), []).append(crossing["dataset"])
    for task in job["tasks"]:
        for dep in task["depends_on"]:
            if (dep, task["key"]) not in flows:
                lines.append(f"  {ids[dep]} -.-> {ids[task['key']]}")
    for (producer, consumer), names in flows.items():
        label = ", ".join(names[:3]) + (" …" if len(names) > 3 else "")
        lines.append(f"  {ids[producer]} -->|{_quote(label)}| {ids[consumer]}")
    styles = (
        ("added", change.tasks_added, "fill:#e6ffec,stroke:#2da44e"),
        ("renamed", list(change.tasks_renamed.values()), "fill:#ddf4ff,stroke:#0969da"),
        (
            "changed",
            sorted((changed | moved_into) - set(change.tasks_added)),
            "fill:#fff8c5,stroke:#bf8700",
        ),
    )
    for name, keys, style in styles:
        shown = [ids[k] for k in keys if k in ids]
        if shown:
            lines.append(f"  classDef {name} {style}")
            lines.append(f"  class {','.join(shown)} {name}")
    return "\n".join(lines) + "\n"


def _show(value: Any) -> str:
    if value is None:
        return "unset"
    return json.dumps(value, sort_keys=True) if not isinstance(value, str) else value


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _quote(text: str) -> str:
    return (
        text.replace('"', "#quot;").replace("|", "#124;").replace("<", "#lt;").replace(">", "#gt;")
    )
