"""The graph helpers every module orders by: graphlib's topological sort, lowest rank first."""

from __future__ import annotations

import gc
from graphlib import CycleError, TopologicalSorter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kedro_dab.collector import collector_paused
from kedro_dab.graphs import topological_order, transitive_reduction


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[int], dict[int, set[int]]]:
    """A random DAG over 0..n-1 (edges go from lower to higher numbers), nodes shuffled."""
    n = draw(st.integers(min_value=1, max_value=25))
    edges = draw(st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60))
    successors: dict[int, set[int]] = {}
    for a, b in edges:
        if a < b:
            successors.setdefault(a, set()).add(b)
    nodes = draw(st.permutations(list(range(n))))
    return nodes, successors


def _sorter(nodes: list[int], successors: dict[int, set[int]]) -> TopologicalSorter[int]:
    sorter: TopologicalSorter[int] = TopologicalSorter()
    for node in nodes:
        sorter.add(node)
    for a, targets in successors.items():
        for b in targets:
            sorter.add(b, a)
    return sorter


@settings(max_examples=200, deadline=None)
@given(dags())
def test_the_order_is_topological_and_takes_the_earliest_ready_node(
    case: tuple[list[int], dict[int, set[int]]],
) -> None:
    nodes, successors = case
    order = topological_order(nodes, successors)
    assert sorted(order) == sorted(nodes)
    where = {node: i for i, node in enumerate(order)}
    for a, targets in successors.items():
        for b in targets:
            assert where[a] < where[b], f"{a} -> {b} runs backwards"
    # The oracle: graphlib's own ready sets, taking the earliest given node each time.
    sorter = _sorter(nodes, successors)
    sorter.prepare()
    rank = {node: i for i, node in enumerate(nodes)}
    ready: set[int] = set()
    expected = []
    while sorter.is_active():
        ready.update(sorter.get_ready())
        first = min(ready, key=rank.__getitem__)
        ready.discard(first)
        expected.append(first)
        sorter.done(first)
    assert order == expected


@settings(max_examples=100, deadline=None)
@given(dags())
def test_an_order_that_is_already_topological_is_kept(
    case: tuple[list[int], dict[int, set[int]]],
) -> None:
    nodes, successors = case
    already = list(_sorter(nodes, successors).static_order())
    assert topological_order(already, successors) == already


def test_a_cycle_is_reported_as_the_path_that_closes_it() -> None:
    with pytest.raises(CycleError) as caught:
        topological_order(["a", "b", "c", "d"], {"a": ["b"], "b": ["c"], "c": ["a", "d"]})
    assert caught.value.args[1] == ["a", "b", "c", "a"]


@settings(max_examples=100, deadline=None)
@given(dags())
def test_the_reduction_keeps_exactly_the_edges_no_longer_path_implies(
    case: tuple[list[int], dict[int, set[int]]],
) -> None:
    nodes, successors = case
    order = topological_order(nodes, successors)
    kept = transitive_reduction(order, successors)

    def reachable(start: int, skip: tuple[int, int]) -> set[int]:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            for nxt in successors.get(node, ()):
                if (node, nxt) != skip and nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    for a, targets in successors.items():
        for b in targets:
            implied = b in reachable(a, (a, b))
            assert (a in kept[b]) == (not implied), f"edge {a} -> {b}"


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_left_as_it_was_found(enabled: bool) -> None:
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
