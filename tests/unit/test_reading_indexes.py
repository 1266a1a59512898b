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
    nodes, order, catalog_names, _ = registry_nodes(pipelines)
    assert order == {"__default__": ("n1", "n2"), "a": ("n2",), "z": ("n1",)}
    assert nodes["n1"].inputs == ("raw",) and nodes["n1"].tags == ("t.a", "t.b")
    assert nodes["n2"].outputs == ("out",) and nodes["n2"].catalog_outputs == ("out@spark",)
    assert nodes["n1"].catalog_outputs == ()
    assert catalog_names == {"raw@pandas", "mid", "out@spark"}


def _kedro_runs_together(*pipelines: Pipeline) -> bool:
    """Kedro's own answer: whether the pipelines can be one run (`kedro run --pipelines a,b`
    adds them)."""
    try:
        sum(pipelines, Pipeline([]))
    except ValueError:
        return False
    return True


def test_another_node_of_a_known_name_is_a_variant_wherever_a_pipeline_holds_it() -> None:
    kept = node(_identity, "x", "y", name="n1", tags=["t"])
    rewired = node(_identity, "x", "z", name="n1", tags=["t"])
    pipelines = {
        "__default__": Pipeline([kept]),
        "again": Pipeline([kept]),
        "rewired": Pipeline([rewired]),
        "rewired_too": Pipeline([rewired]),
    }
    assert registry_nodes(pipelines).variants == {"n1": {"rewired", "rewired_too"}}
    assert _kedro_runs_together(pipelines["__default__"], pipelines["again"])
    assert not _kedro_runs_together(pipelines["__default__"], pipelines["rewired"])


def test_a_node_retagged_under_its_name_is_a_variant_though_kedro_runs_either() -> None:
    kept = node(_identity, "x", "y", name="n1", tags=["t"])
    retagged = node(_identity, "x", "y", name="n1", tags=["t", "u"])  # as pipeline(p, tags=)
    pipelines = {"__default__": Pipeline([kept]), "retagged": Pipeline([retagged])}
    assert registry_nodes(pipelines).variants == {"n1": {"retagged"}}
    # Kedro takes the two for one node, so a run of both keeps either's tags; a task of
    # `retagged` alone has tags t and u, where the node read first has t alone.
    assert _kedro_runs_together(pipelines["__default__"], pipelines["retagged"])
    assert pipelines["retagged"].nodes[0].tags == {"t", "u"}


def _registry() -> dict[str, Pipeline]:
    nodes = [node(_identity, f"d{i}", f"d{i + 1}", name=f"n{9 - i}") for i in range(6)]
    return {
        "__default__": Pipeline(nodes),
        "head": Pipeline(nodes[:3]),
        "tail": Pipeline(nodes[3:]),
    }


def test_each_pipelines_order_is_kedros() -> None:
    pipelines = _registry()
    orders = registry_nodes(pipelines).order
    assert list(orders) == sorted(pipelines)
    for name, pipeline in pipelines.items():
        assert orders[name] == tuple(n.name for n in pipeline.nodes)
