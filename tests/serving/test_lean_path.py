"""Which way the server runs an endpoint's nodes: through Kedro's `Task`, with the hooks, when
the project registers a per-request hook; on plain values when it registers none. kedro-dab's
own boundary hook, inert outside a job task that persists boundaries, does not count."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.serving.conftest import KEDRO_1, serving_project
from tests.serving.test_hooks import _hooked_project
from tests.support.kedro_projects import python_in

pytestmark = pytest.mark.skipif(not KEDRO_1, reason="serving needs Kedro 1.x")

HOOKED_ENDPOINTS = """
import json
import os
from pathlib import Path

from kedro_dab._api.planning import local_plan
from kedro_dab.serve.startup import load_service

root = Path.cwd()
os.environ["HOOK_LOG"] = str(root / "hooks.jsonl")  # where the hooked project's hooks write
plan = local_plan(root, None)
service = load_service(root, plan.env, plan.endpoints)
try:
    print(json.dumps({name: c.hooked for name, c in sorted(service._compiled.items())}))
finally:
    service.close()
"""


def test_a_project_without_hooks_has_its_nodes_run_on_plain_values(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    project = serving_project(tmp_path, tmp_path_factory)

    hooked = python_in(project, HOOKED_ENDPOINTS)

    assert hooked and not any(hooked.values()), hooked


def test_a_project_with_a_per_request_hook_has_its_nodes_run_through_kedros_task(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    project = _hooked_project(tmp_path, tmp_path_factory)

    hooked = python_in(project, HOOKED_ENDPOINTS)

    assert hooked and all(hooked.values()), hooked
