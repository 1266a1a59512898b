"""Grouping invariants on random DAGs with random tags, namespaces and rules.

The checks here are written from scratch against the Plan, not through `check_plan`, so that
a bug shared by the grouping and its own checker cannot hide."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kedro_dab.config import parse_config
from kedro_dab.errors import GroupingError
from kedro_dab.limits import KEY_PATTERN
from kedro_dab.plan import Plan, build_plan, plan_to_dict
from kedro_dab.project import NodeInfo, ProjectModel
from tests.support.models import node, project

TAG_CHOICES = ((), ("task.g0",), ("task.g1",), ("task.g2",), ("task.g0", "heavy"))
NAMESPACES = (None, "n0", "n1", "n0.sub")
RULES = (
    {"by": "tag", "prefix": "task."},
    {"by": "namespace", "depth": 1},
    {"by": "namespace", "depth": 2},
    {"by": "node"},
)


@st.composite
def projects(draw: st.DrawFn) -> tuple[ProjectModel, dict]:
    count = draw(st.integers(min_value=1, max_value=18))
    nodes: list[NodeInfo] = []
    outputs: list[str] = []
    for i in range(count):
        inputs = (
            sorted(set(draw(st.lists(st.sampled_from(outputs), max_size=3)))) if outputs else []
        )
        if draw(st.booleans()):
            inputs.append(f"raw{i}")
        made = [f"d{i}_{k}" for k in range(draw(st.integers(min_value=1, max_value=2)))]
        namespace = draw(st.sampled_from(NAMESPACES))
        name = f"{namespace}.node{i}" if namespace else f"node{i}"
        nodes.append(node(name, inputs, made, draw(st.sampled_from(TAG_CHOICES)), namespace))
        outputs.extend(made)
    persisted = draw(st.sets(st.sampled_from(outputs))) if outputs else set()
    rules = draw(st.lists(st.sampled_from(RULES), max_size=3, unique_by=lambda r: str(r)))
    dab = {"grouping": rules, "merge_memory": draw(st.booleans())}
    return project(nodes, persisted=persisted), dab


def data_edges(model: ProjectModel) -> list[tuple[str, str, str]]:
    producer = {d: n.name for n in model.nodes.values() for d in n.outputs}
    return [
        (producer[d], n.name, d) for n in model.nodes.values() for d in n.inputs if d in producer
    ]


def closure(graph: dict[str, tuple[str, ...]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}

    def visit(key: str, trail: frozenset[str]) -> set[str]:
        assert key not in trail, f"cycle through {key}"
        if key not in out:
            reach: set[str] = set()
            for dep in graph[key]:
                reach |= {dep} | visit(dep, trail | {key})
            out[key] = reach
        return out[key]

    for key in graph:
        visit(key, frozenset())
    return out


def assert_invariants(plan: Plan, model: ProjectModel) -> None:
    (job,) = plan.jobs
    owner: dict[str, str] = {}
    for task in job.tasks:
        assert KEY_PATTERN.match(task.key)
        for name in task.nodes:
            assert name not in owner, f"{name} in two tasks"
            owner[name] = task.key
    assert set(owner) == set(model.nodes), "not a partition of the job's nodes"
    assert len({t.key for t in job.tasks}) == len(job.tasks)

    graph = {task.key: task.depends_on for task in job.tasks}
    reach = closure(graph)  # asserts acyclic
    for made_by, read_by, dataset in data_edges(model):
        source, target = owner[made_by], owner[read_by]
        if source != target:
            assert dataset in model.persisted, f"in-memory {dataset} crosses {source}->{target}"
            assert source in reach[target], f"{target} reads {dataset} without waiting for {source}"
    needed = {(owner[a], owner[b]) for a, b, _ in data_edges(model) if owner[a] != owner[b]}
    needed_reach = closure({k: tuple(s for s, t in needed if t == k) for k in graph})
    for task in job.tasks:
        for dep in task.depends_on:
            others = set(task.depends_on) - {dep}
            assert not any(dep in reach[o] for o in others), f"{task.key}->{dep} is implied"
            assert dep in needed_reach[task.key], f"{task.key} waits for {dep} for no data"


@settings(max_examples=300, deadline=None)
@given(projects())
def test_any_accepted_plan_satisfies_every_invariant(case: tuple[ProjectModel, dict]) -> None:
    model, dab = case
    try:
        plan = build_plan(model, parse_config(dab))
    except GroupingError as error:
        assert "\n" not in str(error)
        return
    assert_invariants(plan, model)


@settings(max_examples=200, deadline=None)
@given(projects())
def test_merging_memory_never_leaves_an_in_memory_dataset_between_tasks(
    case: tuple[ProjectModel, dict],
) -> None:
    model, dab = case
    try:
        build_plan(model, parse_config({**dab, "merge_memory": True}))
    except GroupingError as error:
        assert "in-memory datasets would cross" not in str(error)


@settings(max_examples=100, deadline=None)
@given(projects())
def test_the_same_project_gives_the_same_plan(case: tuple[ProjectModel, dict]) -> None:
    model, dab = case
    try:
        first = plan_to_dict(build_plan(model, parse_config(dab)))
    except GroupingError as error:
        second_error = None
        try:
            build_plan(model, parse_config(dab))
        except GroupingError as again:
            second_error = str(again)
        assert second_error == str(error)
        return
    assert plan_to_dict(build_plan(model, parse_config(dab))) == first


@settings(max_examples=100, deadline=None)
@given(projects())
def test_one_task_per_node_is_refused_only_for_memory_crossings(
    case: tuple[ProjectModel, dict],
) -> None:
    model, _ = case
    try:
        build_plan(model, parse_config({"grouping": [{"by": "node"}], "merge_memory": False}))
    except GroupingError as error:
        assert "in-memory datasets would cross" in str(error)
