"""Conformance of drift: what the SDK engine counts as a job changed in the workspace is what the
Databricks CLI's direct engine plans as an update, in the CLI's own acceptance cases.

`data/resources/jobs/<case>/` is copied unmodified from `acceptance/bundle/resources/jobs/` of
github.com/databricks/cli at v1.13.0 (see `data/README.md`). Each `out.plan*.direct.json` is a
`bundle plan -o json` the CLI recorded after deploying: per job, the settings it would send
(`new_state.value`), the job as `jobs/get` returned it (`remote_state`) and every difference,
each with the action the CLI took (`update`, or `skip` with its reason: empty, a backend
default...). A plan that updates nothing records no `new_state`; the settings sent are then the
remote state with each recorded difference's `new` value put at its path. The recorded
placeholders (`[USERNAME]`, `[NUMID]`) stand for the same value on
both sides; a bare placeholder where JSON wants a value is read as null."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from kedro_dab.deploy.drift import acl_drifted, drifted

DATA = Path(__file__).parent / "data" / "resources" / "jobs"
PERMISSIONS = Path(__file__).parent / "data" / "resources" / "permissions" / "jobs"
ACL_PLANS = [
    "added_remotely/out.plan.direct.json",
    "deleted_remotely/out.plan_restore.direct.json",
    "update/out.plan_delete_one.direct.json",
    "update/out.plan_update.direct.json",
]
PLANS = [
    "remote_add_tag/out.plan_post_update.direct.json",
    "remote_matches_config/out.plan.direct.json",
    "update/out.plan_skip.direct.json",
    "update/out.plan_update.direct.json",
    "update_single_node/out.plan_skip.direct.json",
    "update_single_node/out.plan_update.direct.json",
    "delete_task/out.plan_update.direct.json",
]
_BARE_PLACEHOLDER = re.compile(r"(?<=: )\[[A-Z][A-Z0-9_]*\](?=,?\n)")


def recorded_plan(path: Path) -> dict[str, Any]:
    text = _BARE_PLACEHOLDER.sub("null", path.read_text(encoding="utf-8"))
    return dict(json.loads(text)["plan"])


def recorded_jobs(name: str) -> list[tuple[str, dict[str, Any]]]:
    plan = recorded_plan(DATA / name)
    return [
        (key, entry)
        for key, entry in plan.items()
        if key.startswith("resources.jobs.") and not key.endswith(".permissions")
    ]


_STEP = re.compile(r"\.?([a-z_]+)(?:\[([a-z_]+)='([^']*)'\]|\['([^']*)'\]|\[(\d+)\])?")


def put(settings: dict[str, Any], path: str, change: dict[str, Any]) -> None:
    """Set (or, when the change has no `new`, remove) the value at a CLI plan path."""
    steps = [m.groups() for m in _STEP.finditer(path)]
    node: Any = settings
    for index, (name, key, value, map_key, position) in enumerate(steps):
        last = index == len(steps) - 1
        if key is not None:
            node = next(x for x in node[name] if x[key] == value)
            if last:
                raise AssertionError(f"a whole list element at {path}")
            continue
        leaf, parent = (map_key, node[name]) if map_key is not None else (name, node)
        if position is not None:
            leaf, parent = int(position), node[name]
        if not last:
            node = parent[leaf]
        elif "new" in change:
            parent[leaf] = change["new"]
        else:
            del parent[leaf]


def sent_settings(entry: dict[str, Any]) -> dict[str, Any]:
    if "new_state" in entry:
        return dict(entry["new_state"]["value"])
    settings = copy.deepcopy(entry["remote_state"])
    for path, change in entry["changes"].items():
        put(settings, path, change)
    return dict(settings)


def test_every_recorded_plan_has_a_job_compared_with_its_remote_state() -> None:
    for name in PLANS:
        jobs = recorded_jobs(name)
        assert jobs, name
        assert all("remote_state" in entry and entry.get("changes") for _, entry in jobs), name


@pytest.mark.parametrize("name", PLANS)
def test_the_settings_that_differ_are_those_the_cli_plans_to_update(name: str) -> None:
    for key, entry in recorded_jobs(name):
        updates = sorted(
            path for path, change in entry["changes"].items() if change.get("action") == "update"
        )
        assert drifted(sent_settings(entry), entry["remote_state"]) == updates, key


def test_a_tag_added_in_the_workspace_is_the_only_difference_the_cli_records() -> None:
    ((_, entry),) = recorded_jobs("remote_add_tag/out.plan_post_update.direct.json")
    assert drifted(entry["new_state"]["value"], entry["remote_state"]) == ["tags['new_tag']"]


def test_the_skip_plans_record_skips_for_backend_defaults_and_managed_fields() -> None:
    reasons = {
        change.get("reason")
        for name in PLANS
        for _, entry in recorded_jobs(name)
        if "new_state" not in entry
        for change in entry["changes"].values()
    }
    assert {"backend_default", "empty", "managed"} <= reasons


@pytest.mark.parametrize("name", ACL_PLANS)
def test_the_permissions_that_differ_are_those_the_cli_plans_to_update(name: str) -> None:
    ((key, entry),) = [
        (k, v) for k, v in recorded_plan(PERMISSIONS / name).items() if k.endswith(".permissions")
    ]
    assert entry["action"] == "update"
    updates = sorted(
        f"permissions{path}"
        for path, change in entry["changes"].items()
        if change.get("action") == "update"
    )
    sent, live = entry["new_state"]["value"]["__embed__"], entry["remote_state"]["__embed__"]
    assert acl_drifted(sent, live) == updates, key
    assert acl_drifted(sent, sent) == []
