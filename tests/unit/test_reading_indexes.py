"""The indexes reading and planning keep give what a plain scan gives: each node of the
registry read once however many pipelines share it, and each task's persisted datasets."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from kedro.pipeline import Pipeline, node

from kedro_dab.grouping import BoundaryDataset
from kedro_dab.plan import Job
from kedro_dab.registry import registry_nodes

_KEYS = st.sampled_from(["a", "b", "c", "d"])


@given(
    st.lists(
        st.tuples(_KEYS, st.lists(_KEYS, max_size=4), st.booleans()),
        max_size=8,
    )
)
def test_boundary_io_is_the_scan_over_the_persisted_datasets(
    boundaries: list[tuple[str, list[str], bool]],
) -> None:
    job = Job(
        key="job",
        name="job",
        pipelines=("__default__",),
        tasks=(),
        boundary_datasets=tuple(
            BoundaryDataset(f"d{i}", producer, tuple(consumers), persisted, persisted=persisted)
            for i, (producer, consumers, persisted) in enumerate(boundaries)
        ),
    )
    for key in ["a", "b", "c", "d", "e"]:
        load = tuple(c.dataset for c in job.persisted if key in c.consumers)
        save = tuple(c.dataset for c in job.persisted if c.producer == key)
        assert job.boundary_io(key) == (load, save)


def _identity(x: object) -> object:
    return x


def test_nodes_shared_by_pipelines_are_read_once_and_the_first_of_a_name_wins() -> None:
    first = node(_identity, "raw@pandas", "mid", name="n1", tags=["t.b", "t.a"])
    second = node(_identity, "mid", "out@spark", name="n2")
    other_n1 = node(_identity, "x", "y", name="n1")  # a different node object, the same name
    pipelines = {
        "__default__": Pipeline([first, second]),
        "a": Pipeline([second]),
        "z": Pipeline([other_n1]),
    }
    nodes, order, catalog_names = registry_nodes(pipelines)
    assert order == {"__default__": ("n1", "n2"), "a": ("n2",), "z": ("n1",)}
    assert nodes["n1"].inputs == ("raw",) and nodes["n1"].tags == ("t.a", "t.b")
    assert nodes["n2"].outputs == ("out",) and nodes["n2"].catalog_outputs == ("out@spark",)
    assert nodes["n1"].catalog_outputs == ()
    assert catalog_names == {"raw@pandas", "mid", "out@spark"}


def _registry() -> dict[str, Pipeline]:
    nodes = [node(_identity, f"d{i}", f"d{i + 1}", name=f"n{9 - i}") for i in range(6)]
    return {
        "__default__": Pipeline(nodes),
        "head": Pipeline(nodes[:3]),
        "tail": Pipeline(nodes[3:]),
    }


def test_each_pipelines_order_is_kedros() -> None:
    pipelines = _registry()
    _, orders, _ = registry_nodes(pipelines)
    assert list(orders) == sorted(pipelines)
    for name, pipeline in pipelines.items():
        assert orders[name] == tuple(n.name for n in pipeline.nodes)
