"""Rules -> groups of nodes, proven safe to run as separate Databricks tasks.

Each node is placed by the first rule that matches it (one task per node when none does).
Groups joined by in-memory datasets can be merged, together with every group that lies
between them, so the result stays acyclic. Unsafe results are errors that say what to change.
"""

from __future__ import annotations

import fnmatch
import heapq
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from kedro_dab.config import (
    Boundaries,
    NamespaceRule,
    NodeRule,
    PipelineRule,
    Rule,
    TagRule,
    suggest,
)
from kedro_dab.errors import ConfigError, GroupingError
from kedro_dab.limits import KEY_PATTERN, MAX_TASKS_PER_JOB, clean_key, with_hash
from kedro_dab.project import ProjectModel

GroupId = tuple[str, str]
"""(rule, name): the rule kind keeps a tag group `x` apart from a node named `x`."""

_MAX_LISTED = 5


@dataclass(frozen=True)
class Group:
    """Nodes that run together as one Databricks task."""

    rule: str
    """The kind of rule that formed the group: tag, namespace, pipeline or node."""
    name: str
    key: str
    nodes: tuple[str, ...]
    placed_by: Mapping[str, str]
    """Why each node is here: the rule that placed it, and any merge that moved it."""
    depends_on: tuple[str, ...]
    """Keys of the groups this one needs first; minimal (no edge implied by others)."""


@dataclass(frozen=True)
class BoundaryDataset:
    """A dataset that one task writes and later tasks read."""

    dataset: str
    producer: str
    consumers: tuple[str, ...]
    in_memory: bool
    written_as: str = ""
    """The catalog entry the producer writes the dataset through when it is transcoded
    (`df@spark` for `df`); empty otherwise."""
    persisted: bool = False
    """An in-memory dataset the producer saves per run for its consumers (`boundaries:
    persist`); catalog datasets persist themselves and are never marked."""


@dataclass(frozen=True)
class _GroupBoundary:
    dataset: str
    producer: GroupId
    consumers: tuple[GroupId, ...]
    in_memory: bool
    written_as: str = ""


@dataclass(frozen=True)
class Grouping:
    """The tasks of one job and the datasets that pass between them."""

    nodes: tuple[str, ...]
    """All nodes of the job, in a topological order."""
    groups: tuple[Group, ...]
    """In a topological order of the task graph."""
    boundary_datasets: tuple[BoundaryDataset, ...]


def group_job(
    project: ProjectModel,
    job_key: str,
    pipelines: Sequence[str],
    rules: Sequence[Rule],
    boundaries: Boundaries | bool,
    where: str = "dab.yml",
) -> Grouping:
    """Group the nodes of `pipelines` into tasks by `rules`; raise if the result is unsafe.
    `boundaries` says what happens to in-memory datasets between tasks (`merge`, `persist`,
    `refuse`; True and False stand for `merge` and `refuse`)."""
    if isinstance(boundaries, bool):
        boundaries = "merge" if boundaries else "refuse"
    for pipeline in pipelines:
        _check_pipeline(project, pipeline, f"{where}: jobs.{job_key}.pipelines")
    for index, rule in enumerate(rules):
        if isinstance(rule, PipelineRule):
            for pipeline in rule.pipelines or ():
                _check_pipeline(project, pipeline, f"{where}: grouping[{index}].pipelines")

    order = _job_order(project, pipelines)
    if not order:
        names = ", ".join(f"'{p}'" for p in pipelines)
        raise ConfigError(
            f"{where}: jobs.{job_key}: its pipelines {names} have no nodes, so the job would "
            "have no tasks; register nodes in them or remove the job"
        )
    position = {name: i for i, name in enumerate(order)}
    producer: dict[str, str] = {}
    for name in order:
        for dataset in project.nodes[name].outputs:
            producer[dataset] = name

    membership = {p: project.pipeline_sets[p] for p in _pipeline_rule_names(rules, pipelines)}
    placed: dict[str, GroupId] = {}
    placed_by: dict[str, str] = {}
    for name in order:
        gid, why = _place(project, name, rules, pipelines, membership)
        placed[name] = gid
        placed_by[name] = why

    edges = _group_edges(project, order, producer, placed)
    cycle = _find_cycle(edges, _first_seen(order, placed))
    if cycle:
        raise GroupingError(_cycle_message(job_key, cycle, edges, project, producer, placed))

    if boundaries == "merge":
        placed = _merge_memory(project, order, producer, placed, edges, placed_by, position)
        edges = _group_edges(project, order, producer, placed)

    between = _boundary_datasets(project, order, producer, placed)
    lost = [c for c in between if c.in_memory and boundaries != "persist"]
    if lost:
        raise GroupingError(_memory_message(job_key, lost))

    members: dict[GroupId, list[str]] = {}
    for name in order:
        members.setdefault(placed[name], []).append(name)
    if len(members) > MAX_TASKS_PER_JOB:
        raise GroupingError(
            f"job '{job_key}' would have {len(members)} tasks, more than the "
            f"{MAX_TASKS_PER_JOB} Databricks allows in one job; group nodes into tasks with "
            "tags (grouping: - by: tag, prefix: 'task.'), namespaces (- by: namespace) "
            "or whole pipelines (- by: pipeline) in dab.yml"
        )

    group_order = _topological(list(members), edges, _first_seen(order, placed))
    if len(group_order) != len(members):
        raise GroupingError(f"job '{job_key}': merging tasks left a cycle; please report this")
    keys = _task_keys(group_order)
    depends = _minimal_dependencies(group_order, edges)
    groups = tuple(
        Group(
            rule=gid[0],
            name=gid[1],
            key=keys[gid],
            nodes=tuple(members[gid]),
            placed_by={n: placed_by[n] for n in members[gid]},
            depends_on=tuple(keys[d] for d in depends[gid]),
        )
        for gid in group_order
    )
    named = tuple(
        BoundaryDataset(
            c.dataset,
            keys[c.producer],
            tuple(keys[x] for x in c.consumers),
            c.in_memory,
            c.written_as,
            persisted=c.in_memory and boundaries == "persist",
        )
        for c in between
    )
    return Grouping(nodes=tuple(order), groups=groups, boundary_datasets=named)


# --- placing nodes ------------------------------------------------------------------------------


def _check_pipeline(project: ProjectModel, pipeline: str, where: str) -> None:
    if pipeline not in project.pipelines:
        known = sorted(project.pipelines)
        raise ConfigError(
            f"{where}: unknown pipeline '{pipeline}'{suggest(pipeline, known, 'registered')}"
        )


def _pipeline_rule_names(rules: Sequence[Rule], job_pipelines: Sequence[str]) -> set[str]:
    names: set[str] = set()
    for rule in rules:
        if isinstance(rule, PipelineRule):
            names.update(rule.pipelines or job_pipelines)
    return names


def _place(
    project: ProjectModel,
    name: str,
    rules: Sequence[Rule],
    job_pipelines: Sequence[str],
    membership: Mapping[str, frozenset[str]],
) -> tuple[GroupId, str]:
    node = project.nodes[name]
    for index, rule in enumerate(rules):
        where = f"grouping[{index}]"
        if isinstance(rule, TagRule):
            if rule.prefix is not None:
                found = [t for t in node.tags if t.startswith(rule.prefix)]
                groups = sorted({t[len(rule.prefix) :] for t in found})
            else:
                found = [t for t in (rule.tags or ()) if t in node.tags]
                groups = sorted(set(found))
            if len(groups) > 1:
                tags = " and ".join(f"'{t}'" for t in sorted(found))
                raise GroupingError(
                    f"node '{name}' is tagged {tags}, which {where} maps to different tasks; "
                    "a node runs in one task: keep only one of these tags"
                )
            if groups:
                if not groups[0]:
                    raise GroupingError(
                        f"node '{name}' has the tag '{rule.prefix}', which names no task; "
                        f"add the task name after the prefix (e.g. '{rule.prefix}prepare')"
                    )
                return ("tag", groups[0]), f"{where}: tag '{found[0]}'"
        elif isinstance(rule, NamespaceRule):
            if node.namespace is None:
                continue
            if rule.namespaces and not any(
                fnmatch.fnmatchcase(node.namespace, p) for p in rule.namespaces
            ):
                continue
            group = ".".join(node.namespace.split(".")[: rule.depth])
            return ("namespace", group), f"{where}: namespace '{group}'"
        elif isinstance(rule, PipelineRule):
            for pipeline in rule.pipelines or job_pipelines:
                if name in membership[pipeline]:
                    return ("pipeline", pipeline), f"{where}: pipeline '{pipeline}'"
        elif isinstance(rule, NodeRule):
            return ("node", name), f"{where}: one task per node"
    return ("node", name), "no rule matched: one task per node"


# --- graph helpers ------------------------------------------------------------------------------


def _job_order(project: ProjectModel, pipelines: Sequence[str]) -> list[str]:
    """Nodes of all `pipelines` in a topological order that keeps Kedro's own order."""
    if len(pipelines) == 1:
        return list(project.pipelines[pipelines[0]])
    rank: dict[str, int] = {}
    for pipeline in pipelines:
        for name in project.pipelines[pipeline]:
            rank.setdefault(name, len(rank))
    producer = {d: n for n in rank for d in project.nodes[n].outputs}
    waiting = {n: 0 for n in rank}
    successors: dict[str, list[str]] = {n: [] for n in rank}
    for name in rank:
        for dataset in project.nodes[name].inputs:
            source = producer.get(dataset)
            if source is not None and source != name:
                waiting[name] += 1
                successors[source].append(name)
    ready = [(rank[n], n) for n, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    out: list[str] = []
    while ready:
        _, name = heapq.heappop(ready)
        out.append(name)
        for nxt in successors[name]:
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                heapq.heappush(ready, (rank[nxt], nxt))
    return out


Edges = dict[GroupId, dict[GroupId, list[tuple[str, str, str]]]]
"""source group -> target group -> [(dataset, producer node, consumer node)]."""


def _group_edges(
    project: ProjectModel,
    order: Sequence[str],
    producer: Mapping[str, str],
    placed: Mapping[str, GroupId],
) -> Edges:
    edges: Edges = {}
    for name in order:
        target = placed[name]
        for dataset in project.nodes[name].inputs:
            source_node = producer.get(dataset)
            if source_node is None:
                continue
            source = placed[source_node]
            if source != target:
                edges.setdefault(source, {}).setdefault(target, []).append(
                    (dataset, source_node, name)
                )
    return edges


def _first_seen(order: Sequence[str], placed: Mapping[str, GroupId]) -> dict[GroupId, int]:
    seen: dict[GroupId, int] = {}
    for i, name in enumerate(order):
        seen.setdefault(placed[name], i)
    return seen


def _topological(
    groups: Sequence[GroupId], edges: Edges, rank: Mapping[GroupId, int]
) -> list[GroupId]:
    waiting = dict.fromkeys(groups, 0)
    for targets in edges.values():
        for target in targets:
            waiting[target] += 1
    ready = [(rank[g], g) for g, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    out: list[GroupId] = []
    while ready:
        _, gid = heapq.heappop(ready)
        out.append(gid)
        for target in edges.get(gid, {}):
            waiting[target] -= 1
            if waiting[target] == 0:
                heapq.heappush(ready, (rank[target], target))
    return out


def _find_cycle(edges: Edges, rank: Mapping[GroupId, int]) -> list[GroupId] | None:
    """One cycle of the group graph (first group repeated at the end), or None."""
    state: dict[GroupId, int] = {}
    for start in sorted(rank, key=rank.__getitem__):
        if state.get(start):
            continue
        stack: list[tuple[GroupId, list[GroupId]]] = [
            (start, sorted(edges.get(start, {}), key=rank.__getitem__))
        ]
        path = [start]
        state[start] = 1
        while stack:
            gid, pending = stack[-1]
            if not pending:
                stack.pop()
                path.pop()
                state[gid] = 2
                continue
            nxt = pending.pop(0)
            mark = state.get(nxt, 0)
            if mark == 1:
                return [*path[path.index(nxt) :], nxt]
            if mark == 0:
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, sorted(edges.get(nxt, {}), key=rank.__getitem__)))
    return None


def _cycle_message(
    job_key: str,
    cycle: Sequence[GroupId],
    edges: Edges,
    project: ProjectModel,
    producer: Mapping[str, str],
    placed: Mapping[str, GroupId],
) -> str:
    steps = []
    for source, target in itertools.pairwise(cycle):
        dataset, made_by, read_by = edges[source][target][0]
        steps.append(f"'{made_by}' writes '{dataset}' read by '{read_by}'")
    names = " -> ".join(_label(g) for g in cycle)
    movers = sorted({edges[s][t][0][2] for s, t in itertools.pairwise(cycle)})
    return (
        f"job '{job_key}': the grouping rules make tasks wait for each other in a cycle "
        f"({names}): {'; '.join(steps)}; change the rules so that these nodes do not "
        f"alternate between tasks, for example give one of {', '.join(repr(m) for m in movers)} "
        "another task tag, or group them by a coarser rule"
    )


def _label(gid: GroupId) -> str:
    return f"{gid[0]} '{gid[1]}'"


def _boundary_datasets(
    project: ProjectModel,
    order: Sequence[str],
    producer: Mapping[str, str],
    placed: Mapping[str, GroupId],
) -> list[_GroupBoundary]:
    readers: dict[str, set[GroupId]] = {}
    for name in order:
        for dataset in project.nodes[name].inputs:
            source = producer.get(dataset)
            if source is not None and placed[source] != placed[name]:
                readers.setdefault(dataset, set()).add(placed[name])
    out = []
    for dataset in sorted(readers):
        source = placed[producer[dataset]]
        written = project.nodes[producer[dataset]].catalog_name(dataset)
        out.append(
            _GroupBoundary(
                dataset,
                source,
                tuple(sorted(readers[dataset])),
                project.is_memory(dataset),
                written if written != dataset else "",
            )
        )
    return out


def _memory_message(job_key: str, lost: Sequence[_GroupBoundary]) -> str:
    shown = []
    for lost_one in lost[:_MAX_LISTED]:
        readers = ", ".join(_label(c) for c in lost_one.consumers)
        shown.append(
            f"'{lost_one.dataset}' (made in {_label(lost_one.producer)}, read in {readers})"
        )
    more = f" and {len(lost) - _MAX_LISTED} more" if len(lost) > _MAX_LISTED else ""
    return (
        f"job '{job_key}': in-memory datasets would cross task boundaries and be lost at run "
        f"time: {'; '.join(shown)}{more}; declare them in the catalog, group their nodes "
        "into one task, or set boundaries: merge (or boundaries: persist) in dab.yml"
    )


# --- merging groups joined by in-memory data ----------------------------------------------------


def _merge_memory(
    project: ProjectModel,
    order: Sequence[str],
    producer: Mapping[str, str],
    placed: dict[str, GroupId],
    edges: Edges,
    placed_by: dict[str, str],
    position: Mapping[str, int],
) -> dict[str, GroupId]:
    rank = _first_seen(order, placed)
    parent: dict[GroupId, GroupId] = {g: g for g in rank}

    def find(g: GroupId) -> GroupId:
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    def union(a: GroupId, b: GroupId) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            keep, drop = (ra, rb) if rank[ra] <= rank[rb] else (rb, ra)
            parent[drop] = keep

    cause: dict[GroupId, str] = {}
    for source, targets in edges.items():
        for target, links in targets.items():
            for dataset, _, _ in links:
                if project.is_memory(dataset):
                    cause.setdefault(source, f"in-memory dataset '{dataset}'")
                    cause.setdefault(target, f"in-memory dataset '{dataset}'")
                    union(source, target)
                    break
    if not cause:
        return placed

    quotient: dict[GroupId, set[GroupId]] = {}
    for source, targets in edges.items():
        for target in targets:
            a, b = find(source), find(target)
            if a != b:
                quotient.setdefault(a, set()).add(b)
    roots = sorted({find(g) for g in rank}, key=rank.__getitem__)
    for component in _strongly_connected(roots, quotient):
        if len(component) > 1:
            for gid in component:
                cause.setdefault(gid, "it lies between tasks joined by in-memory data")
            head = min(component, key=rank.__getitem__)
            for gid in component:
                union(head, gid)

    named = _merged_names(order, placed, find, rank)
    sizes = {root: sum(1 for n in order if find(placed[n]) == root) for root in named}
    merged: dict[str, GroupId] = {}
    for name in order:
        original = placed[name]
        root = find(original)
        chosen, held = named[root]
        merged[name] = chosen
        if chosen != original:
            placed_by[name] += (
                f"; merged into {_label(chosen)} (named after the group holding most of the "
                f"task, {held} of its {sizes[root]} nodes): {cause[original]}"
            )
    return merged


def _merged_names(
    order: Sequence[str],
    placed: Mapping[str, GroupId],
    find: Callable[[GroupId], GroupId],
    rank: Mapping[GroupId, int],
) -> dict[GroupId, tuple[GroupId, int]]:
    """For each merged task (by its union-find root): the group that holds most of its nodes
    (the earliest on a tie) and how many it holds."""
    counts: dict[GroupId, dict[GroupId, int]] = {}
    for name in order:
        members = counts.setdefault(find(placed[name]), {})
        members[placed[name]] = members.get(placed[name], 0) + 1
    out = {}
    for root, members in counts.items():
        best = min(members, key=lambda g: (-members[g], rank[g]))
        out[root] = (best, members[best])
    return out


def _strongly_connected(
    roots: Sequence[GroupId], graph: Mapping[GroupId, set[GroupId]]
) -> list[list[GroupId]]:
    """Tarjan's algorithm, iterative, in a deterministic order."""
    index: dict[GroupId, int] = {}
    low: dict[GroupId, int] = {}
    on_stack: set[GroupId] = set()
    stack: list[GroupId] = []
    out: list[list[GroupId]] = []
    counter = 0
    order = {g: i for i, g in enumerate(roots)}
    for root in roots:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()), key=order.__getitem__)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ()), key=order.__getitem__))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                out.append(component)
    return out


# --- keys and dependencies ----------------------------------------------------------------------


def _task_keys(groups: Sequence[GroupId]) -> dict[GroupId, str]:
    """Stable, unique, valid task keys. Names that clean to the same key all get a short hash
    of their kind and name, so no group silently takes another's key."""
    cleaned = {gid: clean_key(gid[1]) for gid in groups}
    claims: dict[str, list[GroupId]] = {}
    for gid, key in cleaned.items():
        claims.setdefault(key, []).append(gid)
    keys = {}
    for key, owners in claims.items():
        for gid in owners:
            keys[gid] = key if len(owners) == 1 else with_hash(key, f"{gid[0]}:{gid[1]}")
    if len(set(keys.values())) != len(keys) or not all(KEY_PATTERN.match(k) for k in keys.values()):
        raise GroupingError("task keys could not be made unique; rename the colliding groups")
    return keys


def _minimal_dependencies(groups: Sequence[GroupId], edges: Edges) -> dict[GroupId, list[GroupId]]:
    """Transitive reduction of the task graph: keep an edge only if no longer path implies it."""
    position = {g: i for i, g in enumerate(groups)}
    reach: dict[GroupId, int] = {}
    kept: dict[GroupId, list[GroupId]] = {g: [] for g in groups}
    for gid in reversed(groups):
        covered = 0
        total = 0
        for target in sorted(edges.get(gid, {}), key=position.__getitem__):
            bit = 1 << position[target]
            if not covered & bit:
                kept[target].append(gid)
                covered |= reach[target] | bit
            total |= reach[target] | bit
        reach[gid] = total
    return {g: sorted(kept[g], key=position.__getitem__) for g in groups}
