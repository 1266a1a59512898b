"""Grouping invariants on random Kedro pipelines, with Kedro itself as the oracle.

Each draw builds real Kedro `Pipeline`s (transcoded `@` names, namespaces, tags, several
registered pipelines), reads them as kedro-dab reads a registry, and plans one job over some of
them with random rules. An accepted plan must respect every edge of Kedro's own
`Pipeline.node_dependencies`, and claim no task dependency that no node dependency explains. A
refused plan must be refused for a reason that the draw really has: each refusal's evidence is
checked against Kedro's edges and a placement worked out here from the rules' documented
meaning. None of these checks goes through `check_plan` or the grouping's own helpers, so that a
bug shared by the grouping and its checker cannot hide."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kedro.pipeline import Pipeline, node

from kedro_dab import compat
from kedro_dab.config import parse_config
from kedro_dab.errors import GroupingError
from kedro_dab.limits import KEY_PATTERN
from kedro_dab.plan import Plan, build_plan
from kedro_dab.plan_json import plan_to_dict
from kedro_dab.project import ProjectModel
from kedro_dab.registry import registry_nodes
from tests.support.models import project

TAG_CHOICES = ((), ("task.g0",), ("task.g1",), ("task.g2",), ("task.g0", "heavy"))
CLASHING_TAGS = ("task.g0", "task.g1")
NAMESPACES = (None, "n0", "n1", "n0.sub")
FORMS = ("@spark", "@pandas")
PIPELINES = ("__default__", "p0", "p1")
RULES = (
    {"by": "tag", "prefix": "task."},
    {"by": "namespace", "depth": 1},
    {"by": "namespace", "depth": 2},
    {"by": "pipeline"},
    {"by": "pipeline", "pipelines": ["p1"]},
    {"by": "node"},
)
JOB = "job"
pytestmark = pytest.mark.filterwarnings("ignore:Namespace .* is interrupted:UserWarning")
CLASH = ("clash", "")


def work(*args: Any) -> Any:
    return args


@dataclasses.dataclass(frozen=True)
class Case:
    """One draw: the Kedro registry, the catalog's persisted names, and the job's dab.yml."""

    registry: Mapping[str, Pipeline]
    persisted: frozenset[str]
    """Catalog names (with their `@` forms) that the catalog persists."""
    job_pipelines: tuple[str, ...]
    rules: tuple[Mapping[str, Any], ...]
    merge_memory: bool

    @property
    def job_pipeline(self) -> Pipeline:
        total = Pipeline([])
        for name in self.job_pipelines:
            total = total + self.registry[name]
        return total

    def dab(self, **changes: Any) -> dict[str, Any]:
        out = {
            "jobs": {JOB: {"pipelines": list(self.job_pipelines)}},
            "grouping": [dict(r) for r in self.rules],
            "merge_memory": self.merge_memory,
        }
        return {**out, **changes}

    def memory(self, dataset: str) -> bool:
        """In memory unless every `@` form of it that a node names is persisted."""
        forms = {
            d
            for n in self.registry["__default__"].nodes
            for d in (*n.inputs, *n.outputs)
            if compat.strip_transcoding(d) == dataset
        }
        return not forms <= self.persisted


@st.composite
def cases(draw: st.DrawFn) -> Case:
    count = draw(st.integers(min_value=1, max_value=16))
    made: list[str] = []
    transcoded: set[str] = set()
    kedro_nodes = []

    def form(base: str) -> str:
        # Kedro refuses a dataset named both with and without an `@` form
        return f"{base}{draw(st.sampled_from(FORMS))}" if base in transcoded else base

    for i in range(count):
        picks = sorted(set(draw(st.lists(st.sampled_from(made), max_size=3)))) if made else []
        inputs = [form(base) for base in picks]
        if draw(st.booleans()):
            inputs.append(f"raw{i}")
        bases = [f"d{i}_{k}" for k in range(draw(st.integers(min_value=1, max_value=2)))]
        transcoded.update(b for b in bases if draw(st.booleans()))
        outputs = [form(base) for base in bases]
        tags = draw(st.sampled_from((*TAG_CHOICES, *((CLASHING_TAGS,) if i % 7 == 6 else ()))))
        kedro_nodes.append(
            node(
                work,
                inputs or None,
                outputs,
                name=f"node{i}",
                tags=list(tags),
                namespace=draw(st.sampled_from(NAMESPACES)),
            )
        )
        made.extend(bases)
    registry = {"__default__": Pipeline(kedro_nodes)}
    for name in PIPELINES[1:]:
        chosen = draw(st.lists(st.booleans(), min_size=count, max_size=count))
        members = [n for n, keep in zip(kedro_nodes, chosen, strict=True) if keep]
        registry[name] = Pipeline(members or kedro_nodes[-1:])
    names = sorted({d for n in kedro_nodes for d in (*n.inputs, *n.outputs)})
    return Case(
        registry=registry,
        persisted=frozenset(draw(st.sets(st.sampled_from(names)))),
        job_pipelines=tuple(
            draw(st.lists(st.sampled_from(PIPELINES), min_size=1, max_size=3, unique=True))
        ),
        rules=tuple(draw(st.lists(st.sampled_from(RULES), max_size=3, unique_by=str))),
        merge_memory=draw(st.booleans()),
    )


def model_of(case: Case) -> ProjectModel:
    """The registry read as `read_project` reads one; persistence from the catalog names."""
    nodes, order, _, _ = registry_nodes(case.registry)
    base = project(list(nodes.values()))
    families = {compat.strip_transcoding(d) for d in case.persisted}
    persisted = frozenset(f for f in families if not case.memory(f))
    return msgspec.structs.replace(base, pipelines=order, persisted=persisted)


# --- what the rules mean, worked out independently ----------------------------------------------


def expected_group(case: Case, kedro_node: Any, rules: Sequence[Mapping[str, Any]]) -> tuple:
    """The (kind, name) the first matching rule gives a node, or CLASH for two task tags."""
    for rule in rules:
        if rule["by"] == "tag":
            groups = {t[len("task.") :] for t in kedro_node.tags if t.startswith("task.")}
            if len(groups) > 1:
                return CLASH
            if groups:
                return ("tag", groups.pop())
        elif rule["by"] == "namespace":
            if kedro_node.namespace:
                return ("namespace", ".".join(kedro_node.namespace.split(".")[: rule["depth"]]))
        elif rule["by"] == "pipeline":
            for name in rule.get("pipelines") or case.job_pipelines:
                if kedro_node in case.registry[name].nodes:
                    return ("pipeline", name)
        elif rule["by"] == "node":
            return ("node", kedro_node.name)
    return ("node", kedro_node.name)


def label(group: tuple) -> str:
    return f"{group[0]} '{group[1]}'"


def kedro_edges(case: Case) -> list[tuple[str, str, str]]:
    """(parent node, child node, dataset) for each edge of Kedro's `node_dependencies`."""
    out = []
    for child, parents in case.job_pipeline.node_dependencies.items():
        read = {compat.strip_transcoding(d) for d in child.inputs}
        for parent in parents:
            written = {compat.strip_transcoding(d) for d in parent.outputs}
            for dataset in sorted(read & written):
                out.append((parent.name, child.name, dataset))
    return out


def closure(graph: Mapping[str, Sequence[str]]) -> dict[str, set[str]]:
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


# --- checks ---------------------------------------------------------------------------------------


def assert_plan_respects_kedro(plan: Plan, case: Case) -> None:
    (job,) = plan.jobs
    owner: dict[str, str] = {}
    for task in job.tasks:
        assert KEY_PATTERN.match(task.key)
        for name in task.nodes:
            assert name not in owner, f"{name} in two tasks"
            owner[name] = task.key
    assert set(owner) == {n.name for n in case.job_pipeline.nodes}, "not a partition"
    assert len({t.key for t in job.tasks}) == len(job.tasks)

    graph = {task.key: task.depends_on for task in job.tasks}
    reach = closure(graph)  # asserts acyclic
    edges = kedro_edges(case)
    for parent, child, dataset in edges:
        source, target = owner[parent], owner[child]
        if source != target:
            assert not case.memory(dataset), f"in-memory {dataset} crosses {source}->{target}"
            assert source in reach[target], f"{target} reads {dataset} before {source} ends"
    needed = {(owner[p], owner[c]) for p, c, _ in edges if owner[p] != owner[c]}
    needed_reach = closure({k: tuple(s for s, t in needed if t == k) for k in graph})
    for task in job.tasks:
        for dep in task.depends_on:
            others = set(task.depends_on) - {dep}
            assert not any(dep in reach[o] for o in others), f"{task.key}->{dep} is implied"
            assert dep in needed_reach[task.key], f"{task.key} waits for {dep} for no data"


MEMORY = re.compile(r"'([^']+)' \(made in (\w+ '[^']+'), read in ([^)]+)\)")
STEP = re.compile(r"'([^']+)' writes '([^']+)' read by '([^']+)'")
CYCLE = re.compile(r"in a cycle \(([^)]+)\)")
TWO_TAGS = re.compile(r"node '([^']+)' is tagged '([^']+)' and '([^']+)'")


def assert_refusal_is_justified(error: GroupingError, case: Case, merge_memory: bool) -> None:
    """The refusal names facts this draw really has, under Kedro's edges and the rules."""
    message = str(error)
    assert "\n" not in message
    by_name = {n.name: n for n in case.job_pipeline.nodes}
    group = {name: expected_group(case, n, case.rules) for name, n in by_name.items()}
    edges = kedro_edges(case)
    if match := TWO_TAGS.search(message):
        assert group[match.group(1)] == CLASH, message
        assert {match.group(2), match.group(3)} <= set(by_name[match.group(1)].tags), message
        return
    assert CLASH not in group.values(), f"a tag clash went unreported: {message}"
    if "cycle" in message:
        steps = STEP.findall(message)
        cycle = CYCLE.search(message)
        assert steps and cycle, message
        groups = cycle.group(1).split(" -> ")
        assert groups[0] == groups[-1] and len(groups) == len(steps) + 1, message
        for (writer, dataset, reader), here, there in zip(
            steps, groups[:-1], groups[1:], strict=True
        ):
            assert (writer, reader, dataset) in edges, f"no Kedro edge behind: {message}"
            assert label(group[writer]) == here and label(group[reader]) == there, message
        return
    if "in-memory datasets would cross" in message:
        assert not merge_memory, f"refused although merging was allowed: {message}"
        claims = MEMORY.findall(message)
        assert claims, message
        for dataset, made_in, read_in in claims:
            assert case.memory(dataset), f"'{dataset}' is persisted: {message}"
            readers = set(read_in.split(", "))
            for reader_group in readers:
                assert any(
                    d == dataset
                    and label(group[p]) == made_in
                    and label(group[c]) == reader_group
                    and group[p] != group[c]
                    for p, c, d in edges
                ), f"no Kedro edge carries '{dataset}' from {made_in} to {reader_group}"
        return
    raise AssertionError(f"unexpected refusal: {message}")


# --- properties -----------------------------------------------------------------------------------


def plan_or_refusal(case: Case, **changes: Any) -> Plan | GroupingError:
    try:
        return build_plan(model_of(case), parse_config(case.dab(**changes)))
    except GroupingError as error:
        return error


@settings(max_examples=300, deadline=None)
@given(cases())
def test_a_plan_is_accepted_with_kedros_dependencies_or_refused_for_a_real_reason(
    case: Case,
) -> None:
    outcome = plan_or_refusal(case)
    if isinstance(outcome, GroupingError):
        assert_refusal_is_justified(outcome, case, case.merge_memory)
    else:
        assert_plan_respects_kedro(outcome, case)


@settings(max_examples=150, deadline=None)
@given(cases())
def test_merging_memory_accepts_every_grouping_without_a_cycle_or_tag_clash(case: Case) -> None:
    outcome = plan_or_refusal(case, merge_memory=True)
    if isinstance(outcome, GroupingError):
        assert "in-memory" not in str(outcome)
        assert_refusal_is_justified(outcome, case, merge_memory=True)
    else:
        assert_plan_respects_kedro(outcome, case)


@settings(max_examples=100, deadline=None)
@given(cases())
def test_one_task_per_node_is_refused_only_for_a_real_memory_crossing(case: Case) -> None:
    outcome = plan_or_refusal(case, grouping=[{"by": "node"}], merge_memory=False)
    if isinstance(outcome, GroupingError):
        assert "in-memory datasets would cross" in str(outcome)
        per_node = dataclasses.replace(case, rules=({"by": "node"},))
        assert_refusal_is_justified(outcome, per_node, merge_memory=False)
    else:
        assert_plan_respects_kedro(outcome, case)


@settings(max_examples=60, deadline=None)
@given(cases())
def test_the_same_project_gives_the_same_plan(case: Case) -> None:
    first, second = plan_or_refusal(case), plan_or_refusal(case)
    if isinstance(first, GroupingError):
        assert str(second) == str(first)
    else:
        assert not isinstance(second, GroupingError)
        assert plan_to_dict(second) == plan_to_dict(first)
