"""`kedro dab plan --format html`: the plan as one self-contained page that works offline.

Each job is drawn as an SVG in layers: a task's layer is one more than the deepest task it
depends on. Tasks are boxes listing their nodes and compute; arrows carry the datasets that
pass between tasks (every flow, not only between neighbouring layers), and plain arrows the
order-only dependencies. No script, no font, no stylesheet is loaded from anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from kedro_dab.grouping import BoundaryDataset
from kedro_dab.plan import Job, Plan, Task

MIN_BOX_WIDTH = 240
MAX_BOX_WIDTH = 460
CHAR_WIDTH = 7
LAYER_GAP = 150
ROW_GAP = 28
LINE = 17
HEADER = 46
MARGIN = 24
MAX_NODES_SHOWN = 12

MERGE_MARK = "; merged into "


@dataclass(frozen=True)
class _Box:
    task: Task
    x: int
    y: int
    height: int
    layer: int
    width: int


def merge_reasons(task: Task) -> dict[str, str]:
    """The nodes that a merge moved into `task`, each with the reason the grouping gave."""
    out = {}
    for node, reason in task.placed_by.items():
        if MERGE_MARK in reason:
            out[node] = reason.split(MERGE_MARK, 1)[1]
    return out


def dataset_flows(job: Job) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(producer task, consumer task) -> [(dataset, kind)] for every dataset between tasks;
    kind is `catalog`, `persisted` (an in-memory dataset saved per run at the boundary) or
    `memory` (lost)."""
    flows: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for boundary in job.boundary_datasets:
        kind = dataset_kind(boundary)
        for consumer in boundary.consumers:
            flows.setdefault((boundary.producer, consumer), []).append((boundary.dataset, kind))
    return flows


def dataset_kind(boundary: BoundaryDataset) -> str:
    """How a dataset between tasks is kept: `catalog`, `persisted` or `memory` (lost)."""
    if boundary.persisted:
        return "persisted"
    return "memory" if boundary.in_memory else "catalog"


KEPT_IN = {"catalog": "catalog", "persisted": "persisted per run", "memory": "in memory (lost!)"}


def layers(job: Job) -> dict[str, int]:
    """Each task's layer: 0 without dependencies, else one more than its deepest dependency.
    Tasks come in a topological order, so one pass suffices."""
    out: dict[str, int] = {}
    for task in job.tasks:
        out[task.key] = 1 + max((out[d] for d in task.depends_on), default=-1)
    return out


def plan_html(plan: Plan) -> str:
    """The whole page."""
    sections = "\n".join(_job_section(plan, job) for job in plan.jobs)
    title = f"kedro-dab plan: {plan.project_name}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n"
        f'<p class="meta">Kedro {escape(plan.kedro_version)}, env '
        f"<code>{escape(plan.env)}</code>, package <code>{escape(plan.package_name)}</code>. "
        f"{len(plan.jobs)} job(s).</p>\n"
        f"{_LEGEND}\n{sections}\n</body>\n</html>\n"
    )


def _job_section(plan: Plan, job: Job) -> str:
    boxes = _layout(job)
    width = max((b.x + b.width for b in boxes.values()), default=0) + MARGIN
    bottom = max((b.y + b.height for b in boxes.values()), default=0)
    flows = dataset_flows(job)
    pairs = {(d, t.key) for t in job.tasks for d in t.depends_on} | set(flows)
    # An arrow that skips layers runs below every box, each in a lane of its own.
    lanes = {
        pair: bottom + 22 + 20 * index
        for index, pair in enumerate(
            sorted(p for p in pairs if boxes[p[1]].layer - boxes[p[0]].layer > 1)
        )
    }
    height = max([bottom, *lanes.values()]) + MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="tasks of job {escape(job.key)}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#555"/></marker></defs>',
    ]
    edges = [
        _edge(boxes[pair[0]], boxes[pair[1]], flows.get(pair, []), lanes.get(pair))
        for pair in sorted(pairs)
    ]
    parts += [arrow for arrow, _ in edges]
    parts += [_box(plan, box) for box in boxes.values()]
    parts += [label for _, label in edges]  # above the boxes, never hidden by them
    parts.append("</svg>")
    return (
        f'<section class="job" id="job-{escape(job.key)}">\n'
        f"<h2>job <code>{escape(job.key)}</code> ({escape(job.name)})</h2>\n"
        f'<p class="meta">pipelines {escape(", ".join(job.pipelines))}; {len(job.tasks)} '
        f"tasks, {sum(len(t.nodes) for t in job.tasks)} nodes</p>\n"
        f'<div class="scroll">{"".join(parts)}</div>\n'
        f"{_task_table(plan, job)}\n{_dataset_table(job)}\n{_merge_list(job)}\n"
        "</section>"
    )


def _layout(job: Job) -> dict[str, _Box]:
    longest = max((len(n) for t in job.tasks for n in (t.key, *t.nodes)), default=10)
    width = max(MIN_BOX_WIDTH, min(MAX_BOX_WIDTH, CHAR_WIDTH * longest + 40))
    layer_of = layers(job)
    next_y: dict[int, int] = {}
    boxes = {}
    for task in job.tasks:
        layer = layer_of[task.key]
        shown = min(len(task.nodes), MAX_NODES_SHOWN) + (len(task.nodes) > MAX_NODES_SHOWN)
        height = HEADER + LINE * shown + 10
        y = next_y.get(layer, MARGIN)
        boxes[task.key] = _Box(task, MARGIN + layer * (width + LAYER_GAP), y, height, layer, width)
        next_y[layer] = y + height + ROW_GAP
    return boxes


def _box(plan: Plan, box: _Box) -> str:
    task = box.task
    merged = merge_reasons(task)
    kind = getattr(plan.compute.get(task.compute), "type", "")
    css = "task merged" if merged else "task"
    fits = (box.width - 30) // CHAR_WIDTH + 2
    lines = [
        f'<g class="{css}" data-task="{escape(task.key)}">',
        f"<title>{escape(task.key)}: {len(task.nodes)} node(s), compute {escape(task.compute)}"
        f"{' (merged: ' + escape('; '.join(sorted(set(merged.values())))) + ')' if merged else ''}"
        "</title>",
        f'<rect x="{box.x}" y="{box.y}" width="{box.width}" height="{box.height}" rx="8"/>',
        f'<text class="key" x="{box.x + 10}" y="{box.y + 19}">{escape(_cut(task.key, fits))}'
        f"{' ⊕' if merged else ''}</text>",
        f'<text class="compute" x="{box.x + 10}" y="{box.y + 36}">'
        f"{escape(_cut(f'{task.compute} ({kind})' if kind else task.compute, fits))}</text>",
    ]
    for index, name in enumerate(task.nodes[:MAX_NODES_SHOWN]):
        mark = " ⊕" if name in merged else ""
        lines.append(
            f'<text class="node" data-node="{escape(name)}" x="{box.x + 16}" '
            f'y="{box.y + HEADER + 8 + index * LINE}">{escape(_cut(name, fits - 2))}{mark}</text>'
        )
    if len(task.nodes) > MAX_NODES_SHOWN:
        lines.append(
            f'<text class="node more" x="{box.x + 16}" '
            f'y="{box.y + HEADER + 8 + MAX_NODES_SHOWN * LINE}">… '
            f"{len(task.nodes) - MAX_NODES_SHOWN} more (listed below)</text>"
        )
    lines.append("</g>")
    return "".join(lines)


def _edge(
    source: _Box, target: _Box, data: list[tuple[str, str]], lane: float | None = None
) -> tuple[str, str]:
    """The arrow, and its label (drawn later, on top)."""
    x1, y1 = source.x + source.width, source.y + min(source.height / 2, 40)
    x2, y2 = target.x, target.y + min(target.height / 2, 40)
    bend = max((x2 - x1) / 2, 40)
    path = (
        f"M{x1:.0f},{y1:.0f} C{x1 + bend:.0f},{y1:.0f} {x2 - bend:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
    )
    label_x, label_y = (x1 + x2) / 2, (y1 + y2) / 2 - 5
    if lane is not None:
        gap = LAYER_GAP / 2
        path = (
            f"M{x1:.0f},{y1:.0f} C{x1 + gap:.0f},{y1:.0f} {x1 + gap / 2:.0f},{lane:.0f} "
            f"{x1 + gap:.0f},{lane:.0f} L{x2 - gap:.0f},{lane:.0f} "
            f"C{x2 - gap / 2:.0f},{lane:.0f} {x2 - gap:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
        )
        label_x, label_y = (x1 + x2) / 2, lane - 5
    kinds = {kind for _, kind in data}
    if "memory" in kinds:
        css = "flow memory"
    elif "persisted" in kinds:
        css = "flow persisted"
    else:
        css = "flow" if data else "flow order"
    names = [name for name, _ in data]
    label = ", ".join(names[:2]) + (f" +{len(names) - 2}" if len(names) > 2 else "")
    title = ", ".join(f"{n} ({k})" for n, k in data) or "runs after (no dataset)"
    ends = f'data-from="{escape(source.task.key)}" data-to="{escape(target.task.key)}"'
    room = (LAYER_GAP - 10) // 6 if lane is None else 60
    text = (
        f'<text class="label" {ends} x="{label_x:.0f}" y="{label_y:.0f}">'
        f"<title>{escape(title)}</title>{escape(_cut(label, room))}</text>"
        if label
        else ""
    )
    arrow = (
        f'<g class="{css}" {ends}><title>{escape(title)}</title>'
        f'<path d="{path}" marker-end="url(#arrow)"/></g>'
    )
    return arrow, text


def _task_table(plan: Plan, job: Job) -> str:
    rows = []
    for task in job.tasks:
        profile = plan.compute.get(task.compute)
        settings = ", ".join(f"{k}={v}" for k, v in task.settings.items())
        if task.requirements:
            settings = ", ".join(filter(None, (settings, "+ " + ", ".join(task.requirements))))
        nodes = "".join(
            f'<li data-node="{escape(n)}">{escape(n)} <span class="why">'
            f"{escape(task.placed_by[n])}</span></li>"
            for n in task.nodes
        )
        rows.append(
            f'<tr data-task="{escape(task.key)}"><td><code>{escape(task.key)}</code></td>'
            f"<td>{escape(task.compute)} ({escape(getattr(profile, 'type', '?'))})</td>"
            f"<td>{escape(settings)}</td><td>{escape(', '.join(task.depends_on))}</td>"
            f"<td><ul>{nodes}</ul></td></tr>"
        )
    return (
        "<h3>tasks</h3><table><thead><tr><th>task</th><th>compute</th><th>settings</th>"
        f"<th>after</th><th>nodes (placed by)</th></tr></thead><tbody>{''.join(rows)}"
        "</tbody></table>"
    )


def _dataset_table(job: Job) -> str:
    if not job.boundary_datasets:
        return "<p>No dataset passes between tasks.</p>"
    rows = "".join(
        f"<tr><td><code>{escape(c.dataset)}</code></td><td>{escape(c.producer)}</td>"
        f"<td>{escape(', '.join(c.consumers))}</td>"
        f'<td class="{dataset_kind(c)}">{KEPT_IN[dataset_kind(c)]}</td></tr>'
        for c in job.boundary_datasets
    )
    return (
        "<h3>boundary datasets</h3><table><thead><tr><th>dataset</th><th>written by</th>"
        f"<th>read by</th><th>kept in</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _merge_list(job: Job) -> str:
    items = [
        f"<li><code>{escape(node)}</code> into <code>{escape(task.key)}</code>: "
        f"{escape(reason)}</li>"
        for task in job.tasks
        for node, reason in merge_reasons(task).items()
    ]
    if not items:
        return "<p>No task was merged.</p>"
    return f'<h3>merges ⊕</h3><ul class="merges">{"".join(items)}</ul>'


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


_LEGEND = (
    '<p class="legend"><span class="sw task"></span> task (its nodes listed) '
    '<span class="sw merged"></span> task holding merged nodes ⊕ '
    '<span class="ln"></span> dataset through the catalog '
    '<span class="ln persisted"></span> in-memory dataset persisted per run '
    '<span class="ln memory"></span> in-memory dataset '
    '<span class="ln order"></span> runs after, no dataset</p>'
)

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222}
h1{font-size:20px}h2{font-size:17px;margin-top:28px}h3{font-size:15px}
.meta{color:#555}.scroll{overflow-x:auto;border:1px solid #ddd;border-radius:6px}
svg.graph text{font:12px system-ui,sans-serif}
.task rect{fill:#eef4ff;stroke:#3b6fd8;stroke-width:1.5}
.task.merged rect{fill:#fff4e0;stroke:#d8893b;stroke-width:2}
.task .key{font-weight:bold;font-size:13px}.task .compute{fill:#666}
.task .node{fill:#222}.task .more{fill:#777;font-style:italic}
.flow path{fill:none;stroke:#555;stroke-width:1.5}
.flow.order path{stroke-dasharray:4 4;stroke:#999}
.flow.memory path{stroke:#c0392b;stroke-dasharray:2 3}
.flow.persisted path{stroke:#2e8b57;stroke-dasharray:6 2}
text.label{fill:#1d4e89;font-size:11px;text-anchor:middle;paint-order:stroke;stroke:#fff;
stroke-width:4px;stroke-linejoin:round}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:4px 8px;
vertical-align:top;text-align:left}ul{margin:0;padding-left:18px}.why{color:#777;font-size:12px}
td.memory{color:#c0392b}td.persisted{color:#2e8b57}
.legend span{display:inline-block;vertical-align:middle;margin:0 4px 0 12px}
.sw{width:18px;height:12px;border:1.5px solid #3b6fd8;background:#eef4ff;border-radius:3px}
.sw.merged{border-color:#d8893b;background:#fff4e0}
.ln{width:28px;border-top:2px solid #555}.ln.memory{border-top:2px dotted #c0392b}
.ln.persisted{border-top:2px dashed #2e8b57}
.ln.order{border-top:2px dashed #999}
"""
