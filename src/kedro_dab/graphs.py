"""Graph algorithms over hashable nodes, deterministic in the order they are given: the one
topological order every module uses (graphlib's, lowest rank first), strongly connected
components, and the transitive reduction of an acyclic graph.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterable, Mapping, Sequence
from graphlib import TopologicalSorter
from typing import TypeVar

T = TypeVar("T", bound=Hashable)


def topological_order(nodes: Iterable[T], successors: Mapping[T, Iterable[T]]) -> list[T]:
    """`nodes` in a topological order of the graph `successors` (node -> the nodes that need
    it) that takes, of the nodes ready at each step, the one that comes first in `nodes`: an
    order that is already topological is kept. On a cycle, raises `graphlib.CycleError` whose
    `args[1]` is the first cycle a depth-first search in that same order meets (its first
    node repeated at the end)."""
    ranked = list(nodes)
    rank = {node: i for i, node in enumerate(ranked)}
    sorter: TopologicalSorter[T] = TopologicalSorter()
    for node in ranked:
        sorter.add(node)
    for node in ranked:
        for nxt in sorted(successors.get(node, ()), key=rank.__getitem__):
            sorter.add(nxt, node)
    sorter.prepare()
    ready: list[tuple[int, T]] = []
    out: list[T] = []
    while sorter.is_active():
        for node in sorter.get_ready():
            heapq.heappush(ready, (rank[node], node))
        _, node = heapq.heappop(ready)
        out.append(node)
        sorter.done(node)
    return out


def strongly_connected(roots: Sequence[T], graph: Mapping[T, Iterable[T]]) -> list[list[T]]:
    """The strongly connected components of `graph` over the nodes `roots` (Tarjan's
    algorithm, iterative), in a deterministic order: children visited in the order of
    `roots`."""
    index: dict[T, int] = {}
    low: dict[T, int] = {}
    on_stack: set[T] = set()
    stack: list[T] = []
    out: list[list[T]] = []
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


def transitive_reduction(
    order: Sequence[T], successors: Mapping[T, Iterable[T]]
) -> dict[T, list[T]]:
    """Each node's predecessors in the transitive reduction of the acyclic graph `successors`
    (an edge is kept only if no longer path implies it), in the order of `order`, which must
    be topological."""
    position = {g: i for i, g in enumerate(order)}
    reach: dict[T, int] = {}
    kept: dict[T, list[T]] = {g: [] for g in order}
    for g in reversed(order):
        covered = 0
        total = 0
        for target in sorted(successors.get(g, ()), key=position.__getitem__):
            bit = 1 << position[target]
            if not covered & bit:
                kept[target].append(g)
                covered |= reach[target] | bit
            total |= reach[target] | bit
        reach[g] = total
    return {g: sorted(kept[g], key=position.__getitem__) for g in order}
