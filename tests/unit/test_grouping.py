"""How rules place nodes into tasks, and which groupings are refused."""

from __future__ import annotations

import re

import pytest

from kedro_dab.config import parse_config
from kedro_dab.errors import ConfigError, GroupingError
from kedro_dab.limits import KEY_PATTERN, MAX_TASKS_PER_JOB
from kedro_dab.plan import Plan, build_plan
from tests.support.models import node, project


def plan_of(nodes, dab=None, persisted=(), pipelines=None) -> Plan:
    model = project(nodes, persisted=persisted, pipelines=pipelines)
    return build_plan(model, parse_config(dab or {}))


def tasks_of(plan: Plan) -> dict[str, tuple[str, ...]]:
    return {task.key: task.nodes for task in plan.jobs[0].tasks}


def deps_of(plan: Plan) -> dict[str, tuple[str, ...]]:
    return {task.key: task.depends_on for task in plan.jobs[0].tasks}


TAGS = {"grouping": [{"by": "tag", "prefix": "task."}], "merge_memory": False}


def test_tag_prefix_names_the_task():
    plan = plan_of(
        [node("a", [], ["x"], ["task.prep"]), node("b", ["x"], ["y"], ["task.prep"])], TAGS
    )
    assert tasks_of(plan) == {"prep": ("a", "b")}


def test_tag_list_rule_uses_the_tag_as_task_name():
    dab = {"grouping": [{"by": "tag", "tags": ["etl"]}]}
    plan = plan_of([node("a", [], ["x"], ["etl"]), node("b", ["x"], ["y"], ["etl"])], dab)
    assert tasks_of(plan) == {"etl": ("a", "b")}


def test_namespace_rule_cuts_to_depth():
    dab = {"grouping": [{"by": "namespace", "depth": 1}]}
    plan = plan_of([node("ds.m1.a", [], ["x"]), node("ds.m2.b", ["x"], ["y"])], dab)
    assert tasks_of(plan) == {"ds": ("ds.m1.a", "ds.m2.b")}


def test_namespace_rule_at_depth_two_splits_subnamespaces():
    dab = {"grouping": [{"by": "namespace", "depth": 2}], "merge_memory": False}
    plan = plan_of(
        [node("ds.m1.a", [], ["x"]), node("ds.m2.b", ["x"], ["y"])], dab, persisted={"x"}
    )
    assert set(tasks_of(plan)) == {"ds_m1", "ds_m2"}


def test_namespace_rule_filter_only_groups_matching_namespaces():
    dab = {"grouping": [{"by": "namespace", "namespaces": ["keep*"]}], "merge_memory": False}
    plan = plan_of([node("keep.a", [], ["x"]), node("other.b", ["x"], ["y"])], dab, persisted={"x"})
    assert tasks_of(plan) == {"keep": ("keep.a",), "other_b": ("other.b",)}


def test_pipeline_rule_puts_a_whole_pipeline_in_one_task():
    dab = {"grouping": [{"by": "pipeline", "pipelines": ["etl"]}], "merge_memory": False}
    plan = plan_of(
        [node("a", [], ["x"]), node("b", ["x"], ["y"]), node("c", ["y"], ["z"])],
        dab,
        persisted={"y"},
        pipelines={"etl": ["a", "b"]},
    )
    assert tasks_of(plan) == {"etl": ("a", "b"), "c": ("c",)}


def test_first_matching_rule_wins():
    dab = {"grouping": [{"by": "tag", "prefix": "task."}, {"by": "namespace"}]}
    plan = plan_of(
        [node("ns.a", [], ["x"], ["task.t"]), node("ns.b", ["x"], ["y"])],
        dab | {"merge_memory": False},
        persisted={"x"},
    )
    reasons = {n: r for t in plan.jobs[0].tasks for n, r in t.placed_by.items()}
    assert tasks_of(plan) == {"t": ("ns.a",), "ns": ("ns.b",)}
    assert reasons["ns.a"].startswith("grouping[0]: tag 'task.t'")
    assert reasons["ns.b"].startswith("grouping[1]: namespace 'ns'")


def test_nodes_no_rule_matches_get_one_task_each():
    plan = plan_of([node("a", [], ["x"]), node("b", ["x"], ["y"])], TAGS, persisted={"x"})
    assert tasks_of(plan) == {"a": ("a",), "b": ("b",)}
    assert plan.jobs[0].tasks[0].placed_by["a"] == "no rule matched: one task per node"


def test_two_group_tags_on_one_node_is_an_error():
    with pytest.raises(GroupingError, match=r"node 'a' is tagged 'task.x' and 'task.y'"):
        plan_of([node("a", [], ["x"], ["task.x", "task.y"])], TAGS)


def test_tag_that_is_only_the_prefix_is_an_error():
    with pytest.raises(GroupingError, match="names no task"):
        plan_of([node("a", [], ["x"], ["task."])], TAGS)


def test_in_memory_dataset_across_tasks_is_an_error_naming_it_and_both_tasks():
    nodes = [node("a", [], ["mem"], ["task.one"]), node("b", ["mem"], ["out"], ["task.two"])]
    with pytest.raises(GroupingError) as error:
        plan_of(nodes, TAGS)
    message = str(error.value)
    assert "'mem' (made in tag 'one', read in tag 'two')" in message
    assert "declare them in the catalog" in message
    assert "boundaries: merge" in message


def test_free_inputs_and_final_outputs_may_stay_undeclared():
    nodes = [node("a", ["raw"], ["mid"], ["task.one"]), node("b", ["mid"], ["final"], ["task.two"])]
    plan = plan_of(nodes, TAGS, persisted={"mid"})
    assert list(tasks_of(plan)) == ["one", "two"]


def test_parameters_never_count_as_boundary_datasets():
    nodes = [
        node("a", ["params:x"], ["mid"], ["task.one"]),
        node("b", ["mid", "parameters"], ["out"], ["task.two"]),
    ]
    plan = plan_of(nodes, TAGS, persisted={"mid"})
    assert [c.dataset for c in plan.jobs[0].boundary_datasets] == ["mid"]


def test_merge_memory_joins_groups_and_pulls_in_the_group_between_them():
    # A -(memory)-> B and A -> C -> B: merging only A and B would make {A,B} and C wait
    # for each other; C must join them.
    nodes = [
        node("a", [], ["mem", "p1"], ["task.A"]),
        node("c", ["p1"], ["p2"], ["task.C"]),
        node("b", ["mem", "p2"], ["out"], ["task.B"]),
    ]
    dab = {"grouping": [{"by": "tag", "prefix": "task."}], "merge_memory": True}
    plan = plan_of(nodes, dab, persisted={"p1", "p2"})
    assert tasks_of(plan) == {"A": ("a", "c", "b")}
    reasons = plan.jobs[0].tasks[0].placed_by
    assert "in-memory dataset 'mem'" in reasons["b"]
    assert "lies between tasks joined by in-memory data" in reasons["c"]


def test_merge_memory_leaves_groups_joined_only_by_persisted_data_apart():
    nodes = [node("a", [], ["p"], ["task.A"]), node("b", ["p"], ["out"], ["task.B"])]
    plan = plan_of(nodes, {**TAGS, "merge_memory": True}, persisted={"p"})
    assert tasks_of(plan) == {"A": ("a",), "B": ("b",)}


def test_interrupted_namespace_is_a_cycle_error_naming_tasks_nodes_and_datasets():
    nodes = [
        node("a.x", [], ["d1"]),
        node("b.y", ["d1"], ["d2"]),
        node("a.z", ["d2"], ["d3"]),
    ]
    dab = {"grouping": [{"by": "namespace"}], "merge_memory": False}
    with pytest.raises(GroupingError) as error:
        plan_of(nodes, dab, persisted={"d1", "d2"})
    message = str(error.value)
    assert "cycle (namespace 'a' -> namespace 'b' -> namespace 'a')" in message
    assert "'a.x' writes 'd1' read by 'b.y'" in message
    assert "'b.y' writes 'd2' read by 'a.z'" in message


def test_dependencies_are_minimal():
    nodes = [
        node("a", [], ["p1"], ["task.A"]),
        node("b", ["p1"], ["p2"], ["task.B"]),
        node("c", ["p1", "p2"], ["out"], ["task.C"]),
    ]
    plan = plan_of(nodes, TAGS, persisted={"p1", "p2"})
    assert deps_of(plan) == {"A": (), "B": ("A",), "C": ("B",)}


def test_namespaced_node_names_become_valid_task_keys():
    plan = plan_of([node("ns.inner.a", [], ["x"])], TAGS)
    (key,) = tasks_of(plan)
    assert key == "ns_inner_a"
    assert KEY_PATTERN.match(key)


def test_names_that_clean_to_the_same_key_get_distinct_hashed_keys():
    nodes = [node("a.b_c", [], ["x"]), node("a_b.c", [], ["y"])]
    plan = plan_of(nodes, TAGS)
    keys = list(tasks_of(plan))
    assert len(set(keys)) == 2
    assert all(re.fullmatch(r"a_b_c_[0-9a-f]{6}", key) for key in keys)


def test_a_tag_group_never_merges_with_a_node_of_the_same_name():
    nodes = [node("prep", [], ["x"]), node("b", ["x"], ["y"], ["task.prep"])]
    plan = plan_of(nodes, TAGS, persisted={"x"})
    tasks = plan.jobs[0].tasks
    assert len(tasks) == 2
    assert {t.rule for t in tasks} == {"node", "tag"}
    assert tasks[0].key != tasks[1].key


def test_long_names_are_cut_to_the_key_limit_with_a_hash():
    long_a, long_b = "x" * 150 + "a", "x" * 150 + "b"
    plan = plan_of([node(long_a, [], ["p"]), node(long_b, [], ["q"])], TAGS)
    keys = list(tasks_of(plan))
    assert all(len(k) == 100 and KEY_PATTERN.match(k) for k in keys)
    assert keys[0] != keys[1]


def test_task_keys_are_stable_across_runs():
    nodes = [node("ns.a", [], ["x"]), node("n.s_a", ["x"], ["y"])]
    first = plan_of(nodes, TAGS, persisted={"x"})
    second = plan_of(list(nodes), TAGS, persisted={"x"})
    assert tasks_of(first) == tasks_of(second)


def test_more_tasks_than_databricks_allows_is_an_error_proposing_grouping():
    nodes = [node(f"n{i}", [], [f"o{i}"]) for i in range(MAX_TASKS_PER_JOB + 1)]
    with pytest.raises(GroupingError, match=r"1001 tasks, more than the 1000.*by: tag"):
        plan_of(nodes, {"grouping": [{"by": "node"}]})


def test_exactly_the_limit_is_accepted():
    nodes = [node(f"n{i}", [], [f"o{i}"]) for i in range(MAX_TASKS_PER_JOB)]
    assert len(plan_of(nodes, {"grouping": [{"by": "node"}]}).jobs[0].tasks) == 1000


def test_unknown_pipeline_in_a_job_is_an_error_with_a_suggestion():
    with pytest.raises(
        ConfigError,
        match=r"jobs.j.pipelines: unknown pipeline 'trainng'.*"
        r"did you mean 'training'",
    ):
        plan_of(
            [node("a", [], ["x"])],
            {"jobs": {"j": {"pipelines": ["trainng"]}}},
            pipelines={"training": ["a"]},
        )


def test_default_job_is_named_after_the_project_and_runs_default():
    plan = plan_of([node("a", [], ["x"])])
    (job,) = plan.jobs
    assert (job.key, job.pipelines) == ("demo", ("__default__",))


def test_task_of_a_whole_pipeline_passes_no_nodes_filter():
    dab = {"grouping": [{"by": "pipeline"}]}
    plan = plan_of([node("a", [], ["x"]), node("b", ["x"], ["y"])], dab)
    (task,) = plan.jobs[0].tasks
    assert task.whole_pipeline
    assert task.pipelines == ("__default__",)


def test_task_names_a_pipeline_that_holds_all_its_nodes():
    dab = {
        "jobs": {"j": {"pipelines": ["p1", "p2"]}},
        "grouping": [{"by": "node"}],
        "merge_memory": False,
    }
    plan = plan_of(
        [node("a", [], ["x"]), node("b", ["x"], ["y"])],
        dab,
        persisted={"x"},
        pipelines={"p1": ["a"], "p2": ["b"]},
    )
    assert {t.key: t.pipelines for t in plan.jobs[0].tasks} == {"a": ("p1",), "b": ("p2",)}


def test_task_spanning_pipelines_without_a_pipelines_option_is_an_error():
    model = project(
        [node("a", [], ["x"], ["task.t"]), node("b", ["x"], ["y"], ["task.t"])],
        pipelines={"p1": ["a"], "p2": ["b"]},
        run_options=("--pipeline", "--nodes"),
    )
    config = parse_config({"jobs": {"j": {"pipelines": ["p1", "p2"]}}})
    with pytest.raises(GroupingError, match="accepts only one --pipeline"):
        build_plan(model, config)


def test_a_job_whose_pipelines_have_no_nodes_is_an_error_naming_job_and_pipelines():
    dab = {"jobs": {"nightly": {"pipelines": ["empty", "blank"]}}}
    with pytest.raises(ConfigError) as error:
        plan_of([node("a", [], ["x"])], dab, pipelines={"empty": (), "blank": ()})

    message = str(error.value)
    assert "jobs.nightly" in message
    assert "'empty', 'blank'" in message
    assert "no nodes" in message


def test_a_merged_task_is_named_after_the_group_holding_most_of_its_nodes():
    nodes = [
        node("split_data", [], ["split"], ["task.split"]),
        node("train", ["split"], ["model"], ["task.train_evaluation"]),
        node("score", ["model"], ["scores"], ["task.train_evaluation"]),
        node("report", ["scores"], ["summary"], ["task.train_evaluation"]),
    ]
    plan = plan_of(nodes, {**TAGS, "merge_memory": True})

    (task,) = plan.jobs[0].tasks
    assert task.key == "train_evaluation"
    assert task.nodes == ("split_data", "train", "score", "report")
    assert "merged into tag 'train_evaluation'" in task.placed_by["split_data"]
    assert "3 of its 4 nodes" in task.placed_by["split_data"]
    assert "merged" not in task.placed_by["train"]
