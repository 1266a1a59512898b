"""Comparing two plans: when a task counts as renamed, and what a move says."""

from __future__ import annotations

from typing import Any

import pytest

from kedro_dab.diff import diff_plans


def plan(tasks: dict[str, list[str]]) -> dict[str, Any]:
    """A plan JSON with one job whose tasks hold the given nodes, each placed by its task."""
    return {
        "jobs": [
            {
                "key": "job",
                "name": "job",
                "pipelines": ["__default__"],
                "settings": {},
                "tasks": [
                    {
                        "key": key,
                        "depends_on": [],
                        "compute": "serverless",
                        "settings": {},
                        "requirements": [],
                        "nodes": [{"name": n, "placed_by": f"tag 'task.{key}'"} for n in nodes],
                    }
                    for key, nodes in tasks.items()
                ],
                "boundary_datasets": [],
            }
        ]
    }


@pytest.mark.parametrize(
    ("before", "after", "renamed", "added", "removed"),
    [
        ({"a": ["x", "y"]}, {"b": ["x", "y"]}, {"a": "b"}, [], []),
        ({"a": ["x", "y", "z"]}, {"b": ["x", "y"], "c": ["z"]}, {"a": "b"}, ["c"], []),
        ({"a": ["x", "y"]}, {"b": ["x"], "c": ["y"]}, {}, ["b", "c"], ["a"]),
        ({"a": ["x"], "b": ["y"]}, {"a": ["x", "y"]}, {}, [], ["b"]),
    ],
)
def test_a_task_is_renamed_when_it_shares_more_than_half_of_the_nodes_of_both(
    before: dict[str, list[str]],
    after: dict[str, list[str]],
    renamed: dict[str, str],
    added: list[str],
    removed: list[str],
) -> None:
    (job,) = diff_plans(plan(before), plan(after), "base").jobs
    assert job.tasks_renamed == renamed
    assert job.tasks_added == added
    assert job.tasks_removed == removed


def test_nodes_of_a_renamed_task_did_not_move_and_a_moved_node_says_why() -> None:
    (job,) = diff_plans(
        plan({"a": ["x", "y", "z"]}), plan({"b": ["x", "y"], "c": ["z"]}), "base"
    ).jobs
    assert [(m.node, m.before, m.after, m.why) for m in job.nodes_moved] == [
        ("z", "a", "c", "tag 'task.c'")
    ]


def test_the_same_plan_is_no_change() -> None:
    same = plan({"a": ["x"], "b": ["y"]})
    assert not diff_plans(same, same, "base").changed
