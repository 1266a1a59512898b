"""Grouping with `boundaries: persist` on random Kedro pipelines, with Kedro as the oracle: the
tasks are exactly the groups the rules give (nothing is merged), task dependencies follow every
edge of Kedro's `Pipeline.node_dependencies`, and exactly the in-memory datasets that cross
tasks are persisted. A refusal must be justified, and never be about in-memory data."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from kedro_dab.config import parse_config
from kedro_dab.errors import GroupingError
from kedro_dab.plan import build_plan
from tests.unit.test_grouping_properties import (
    Case,
    assert_refusal_is_justified,
    cases,
    closure,
    expected_group,
    kedro_edges,
    model_of,
)

pytestmark = pytest.mark.filterwarnings("ignore:Namespace .* is interrupted:UserWarning")


def persisting(case: Case) -> dict:
    dab = {k: v for k, v in case.dab().items() if k != "merge_memory"}
    return {**dab, "boundaries": "persist", "boundaries_root": "/Volumes/main/default/kedro"}


@settings(max_examples=150, deadline=None)
@given(cases())
def test_persist_keeps_the_rules_groups_and_persists_exactly_the_in_memory_boundary_datasets(
    case: Case,
) -> None:
    try:
        plan = build_plan(model_of(case), parse_config(persisting(case)))
    except GroupingError as error:
        assert "in-memory" not in str(error), "persist never refuses in-memory data"
        assert_refusal_is_justified(error, case, merge_memory=True)
        return
    (job,) = plan.jobs
    owner = {name: task.key for task in job.tasks for name in task.nodes}
    nodes = {n.name: n for n in case.job_pipeline.nodes}
    assert set(owner) == set(nodes), "not a partition of the job's nodes"
    group = {name: expected_group(case, n, case.rules) for name, n in nodes.items()}
    for a in nodes:
        for b in nodes:
            assert (owner[a] == owner[b]) == (group[a] == group[b]), f"{a}, {b} regrouped"

    reach = closure({task.key: task.depends_on for task in job.tasks})  # asserts acyclic
    in_memory_between: dict[str, set[str]] = {}
    for parent, child, dataset in kedro_edges(case):
        source, target = owner[parent], owner[child]
        if source == target:
            continue
        assert source in reach[target], f"{target} reads {dataset} before {source} ends"
        if case.memory(dataset):
            in_memory_between.setdefault(dataset, set()).add(target)
    persisted = {c.dataset: set(c.consumers) for c in job.persisted}
    assert persisted == in_memory_between
