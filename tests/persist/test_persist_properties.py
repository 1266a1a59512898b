"""Grouping with `boundaries: persist` on random DAGs: the rules' partition is kept, the task
graph stays acyclic with dependencies that follow the data, and exactly the in-memory datasets
that cross tasks are persisted. Checked from scratch against the Plan."""

from __future__ import annotations

from hypothesis import given, settings

from kedro_dab.config import parse_config
from kedro_dab.errors import GroupingError
from kedro_dab.plan import build_plan
from kedro_dab.project import ProjectModel
from tests.unit.test_grouping_properties import closure, data_edges, projects


@settings(max_examples=100, deadline=None)
@given(projects())
def test_persist_keeps_the_rules_partition_and_persists_exactly_the_memory_crossings(
    case: tuple[ProjectModel, dict],
) -> None:
    model, dab = case
    dab = {"grouping": dab["grouping"], "boundaries": "persist"}
    try:
        plan = build_plan(model, parse_config(dab))
    except GroupingError as error:
        assert "in-memory" not in str(error), "persist never refuses in-memory data"
        return
    (job,) = plan.jobs
    owner = {name: task.key for task in job.tasks for name in task.nodes}
    assert set(owner) == set(model.nodes)
    refused = {**dab, "boundaries": "refuse"}
    try:
        same_rules = build_plan(model, parse_config(refused))
    except GroupingError:
        same_rules = None
    if same_rules is not None:
        assert [t.nodes for t in same_rules.jobs[0].tasks] == [t.nodes for t in job.tasks]

    reach = closure({task.key: task.depends_on for task in job.tasks})  # asserts acyclic
    crossing_memory: dict[str, set[str]] = {}
    for made_by, read_by, dataset in data_edges(model):
        source, target = owner[made_by], owner[read_by]
        if source == target:
            continue
        assert source in reach[target], f"{target} reads {dataset} before {source} wrote it"
        if dataset not in model.persisted:
            crossing_memory.setdefault(dataset, set()).add(target)
    persisted = {c.dataset: set(c.consumers) for c in job.persisted}
    assert persisted == crossing_memory
