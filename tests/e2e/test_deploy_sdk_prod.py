"""The SDK engine deploys the example's `prod` target with the job settings and ACL that
`databricks bundle deploy -t prod` (Databricks CLI v1.13.0) sends: the generated job, its
references resolved, plus what the CLI adds to every job."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from tests.e2e.deploy_helpers import JOB, bundle_root, copy_example, dab, output
from tests.fake_workspace import FakeWorkspace

pytestmark = pytest.mark.e2e


def test_the_prod_target_is_created_with_the_clis_settings_and_acl(
    fake_workspace: FakeWorkspace, tmp_path: Path
) -> None:
    ws = fake_workspace
    project = copy_example(tmp_path)
    result = dab(project, ws, "deploy", "--engine", "sdk", "-t", "prod")
    assert result.returncode == 0, output(result)

    root = bundle_root(ws, "prod")
    (wheel,) = [p for p in ws.files if p.startswith(f"{root}/artifacts/.internal/")]
    text = (project / "resources" / "kedro-dab" / f"{JOB}.yml").read_text(encoding="utf-8")
    text = (
        text.replace("${var.kedro_env}", "databricks")
        .replace("${workspace.file_path}", f"{root}/files")
        .replace("../../dist/*.whl", wheel)
    )
    generated = yaml.safe_load(text)["resources"]["jobs"][JOB]
    expected = copy.deepcopy(generated)
    # What the CLI adds to every job (its ProcessStaticResources defaults, FixPermissions and
    # metadata.AnnotateJobs), and its order of tasks (MergeJobTasks sorts them by task_key).
    expected["tasks"] = sorted(expected["tasks"], key=lambda task: task["task_key"])
    expected["schedule"]["pause_status"] = "UNPAUSED"
    expected["queue"] = {"enabled": True}
    expected["edit_mode"] = "UI_LOCKED"
    expected["format"] = "MULTI_TASK"
    expected["deployment"] = {
        "kind": "BUNDLE",
        "metadata_file_path": f"{root}/state/metadata.json",
    }
    # The SDK engine's own tags, which find the job again without state.
    expected["tags"] |= {
        "kedro_dab_bundle": "spaceflights",
        "kedro_dab_target": "prod",
        "kedro_dab_job": JOB,
    }
    # The target's CAN_MANAGE for the deploying user becomes IS_OWNER, as the CLI makes it.
    expected["access_control_list"] = [{"user_name": ws.user_name, "permission_level": "IS_OWNER"}]

    (create,) = ws.requests("POST", r"/jobs/create$")
    sent = create.json
    assert json.dumps(sent, sort_keys=True, indent=1) == json.dumps(
        expected, sort_keys=True, indent=1
    )
    (job_id,) = ws.jobs
    assert ws.job_permissions[job_id] == expected["access_control_list"]
