"""Merging a job's groups that in-memory datasets join, and the messages of the two grouping
errors that name groups: tasks that wait for each other in a cycle, and in-memory datasets that
would cross task boundaries.

`merge_memory` joins the groups linked by in-memory data, then every group that lies between
them, so the task graph stays acyclic. All three are called from `grouping.group_job`'s
grouping pass, on the numbers it gives nodes (their place in the job's order) and groups (the
order of their first node), while it keeps the garbage collector paused.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from kedro_dab.graphs import strongly_connected

if TYPE_CHECKING:
    from kedro_dab.grouping import GroupId, Links

_MAX_LISTED = 5


# --- merging groups joined by in-memory data ----------------------------------------------------


def merge_memory(
    gids: Sequence[GroupId],
    placed: Sequence[int],
    edges: Links,
    memory_edges: Mapping[int, Mapping[int, str]],
    why: list[str],
) -> list[GroupId]:
    """Each node's group once the groups joined by in-memory data, and every group between
    them, are merged; a moved node's reason says into which group and why."""
    parent = list(range(len(gids)))

    def find(g: int) -> int:
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    cause: dict[int, str] = {}
    for source, targets in edges.items():
        held = memory_edges.get(source, {})
        for target in targets:
            dataset = held.get(target)
            if dataset is not None:
                cause.setdefault(source, f"in-memory dataset '{dataset}'")
                cause.setdefault(target, f"in-memory dataset '{dataset}'")
                union(source, target)

    quotient: dict[int, set[int]] = {}
    for source, targets in edges.items():
        for target in targets:
            a, b = find(source), find(target)
            if a != b:
                quotient.setdefault(a, set()).add(b)
    roots = sorted({find(g) for g in range(len(gids))})
    for component in strongly_connected(roots, quotient):
        if len(component) > 1:
            for g in component:
                cause.setdefault(g, "it lies between tasks joined by in-memory data")
            head = min(component)
            for g in component:
                union(head, g)

    counts: dict[int, dict[int, int]] = {}
    for g in placed:
        members = counts.setdefault(find(g), {})
        members[g] = members.get(g, 0) + 1
    named: dict[int, tuple[int, int, int]] = {}
    for root, members in counts.items():
        best = min(members, key=lambda g: (-members[g], g))
        named[root] = (best, members[best], sum(members.values()))
    out: list[GroupId] = []
    for i, original in enumerate(placed):
        chosen, held_nodes, size = named[find(original)]
        out.append(gids[chosen])
        if chosen != original:
            why[i] += (
                f"; merged into {_label(gids[chosen])} (named after the group holding most of "
                f"the task, {held_nodes} of its {size} nodes): {cause[original]}"
            )
    return out


# --- the error messages -------------------------------------------------------------------------


def cycle_message(
    job_key: str, cycle: Sequence[int], edges: Links, gids: Sequence[GroupId], order: Sequence[str]
) -> str:
    """The error for groups in a `cycle` (group numbers, the first repeated at the end): each
    step's node, dataset and reader, and which nodes to move."""
    links = [edges[s][t] for s, t in itertools.pairwise(cycle)]
    steps = [
        f"'{order[made]}' writes '{dataset}' read by '{order[read]}'"
        for dataset, made, read in links
    ]
    names = " -> ".join(_label(gids[g]) for g in cycle)
    movers = sorted({order[read] for _, _, read in links})
    return (
        f"job '{job_key}': the grouping rules make tasks wait for each other in a cycle "
        f"({names}): {'; '.join(steps)}; change the rules so that these nodes do not "
        f"alternate between tasks, for example give one of {', '.join(repr(m) for m in movers)} "
        "another task tag, or group them by a coarser rule"
    )


def _label(gid: GroupId) -> str:
    return f"{gid[0]} '{gid[1]}'"


def memory_message(
    job_key: str, lost: Sequence[tuple[str, int, Sequence[int]]], gids: Sequence[GroupId]
) -> str:
    """The error for in-memory datasets that would cross tasks: `lost` holds each dataset, the
    group making it and the groups reading it; the first few are named."""
    shown = []
    for dataset, source, consumers in lost[:_MAX_LISTED]:
        readers = ", ".join(_label(gids[c]) for c in consumers)
        shown.append(f"'{dataset}' (made in {_label(gids[source])}, read in {readers})")
    more = f" and {len(lost) - _MAX_LISTED} more" if len(lost) > _MAX_LISTED else ""
    return (
        f"job '{job_key}': in-memory datasets would cross task boundaries and be lost at run "
        f"time: {'; '.join(shown)}{more}; declare them in the catalog, group their nodes "
        "into one task, or set boundaries: merge (or boundaries: persist) in dab.yml"
    )
