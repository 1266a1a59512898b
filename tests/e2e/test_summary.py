"""`kedro dab summary` and `kedro dab open`: what is deployed, read back from the fake
workspace after a real deploy and run of the example."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from tests.e2e.deploy_helpers import (
    JOB,
    bundle_root,
    copy_example,
    dab,
    deploy_example,
    error_lines,
    local_wheel,
    module_workspace,
    only_job,
    output,
    writes,
)
from tests.fake_workspace import FakeWorkspace

pytestmark = pytest.mark.e2e


@dataclass
class Deployed:
    project: Path
    ws: FakeWorkspace
    started: float


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    base = tmp_path_factory.mktemp("summary")
    project = copy_example(base)
    with module_workspace(base) as ws:
        started = time.time()
        for args in (("deploy", "--engine", "sdk"), ("run",)):
            result = dab(project, ws, *args)
            assert result.returncode == 0, output(result)
        yield Deployed(project, ws, started)


def summary_json(deployed: Deployed) -> dict:
    """The JSON summary, through --output: Kedro logs a line on stdout before any plugin
    loads."""
    target = deployed.project / "summary.json"
    result = dab(deployed.project, deployed.ws, "summary", "--format", "json", "-o", str(target))
    assert result.returncode == 0, output(result)
    return json.loads(target.read_text(encoding="utf-8"))


def test_summary_json_names_each_job_its_url_wheel_deploy_time_and_last_run(
    deployed: Deployed,
) -> None:
    ws = deployed.ws
    job = only_job(ws)
    (run,) = ws.runs.values()
    document = summary_json(deployed)
    assert document["target"] == "dev"
    (entry,) = document["jobs"]
    assert entry["key"] == JOB
    assert entry["job_id"] == job["job_id"]
    assert entry["url"] == f"{ws.host}/jobs/{job['job_id']}"
    wheel = local_wheel(deployed.project)
    assert entry["wheel"] == wheel.name
    assert wheel.name.startswith(f"spaceflights-{entry['wheel_version']}-")
    deployed_at = datetime.strptime(entry["deployed_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert deployed_at.replace(tzinfo=timezone.utc).timestamp() >= int(deployed.started) - 1
    last = entry["last_run"]
    assert last["run_id"] == run.run_id
    assert last["state"] == "SUCCESS"
    assert last["url"] == run.run_page_url(ws.host, ws.workspace_id)
    # shown in tenths of a second
    assert last["duration_seconds"] == pytest.approx(
        (run.end_time - run.start_time) / 1000, abs=0.05
    )
    assert entry["in_sync"] is True


def test_summary_text_shows_the_same_facts_for_people(deployed: Deployed) -> None:
    result = dab(deployed.project, deployed.ws, "summary")
    assert result.returncode == 0, output(result)
    job = only_job(deployed.ws)
    assert f"job {JOB}  {deployed.ws.host}/jobs/{job['job_id']}" in result.stdout
    assert "  last run  " in result.stdout and " SUCCESS " in result.stdout
    assert "  drift     in sync" in result.stdout


def test_open_prints_the_job_url(deployed: Deployed) -> None:
    result = dab(deployed.project, deployed.ws, "open")
    assert result.returncode == 0, output(result)
    job = only_job(deployed.ws)
    assert result.stdout.splitlines()[-1] == f"{deployed.ws.host}/jobs/{job['job_id']}"


def test_open_of_an_unknown_job_is_refused_naming_the_jobs(deployed: Deployed) -> None:
    result = dab(deployed.project, deployed.ws, "open", "nosuch")
    assert result.returncode == 2, output(result)
    assert error_lines(result) == [f"Error: no job 'nosuch' in target 'dev' (jobs: {JOB})"]


def test_an_undeployed_change_to_the_bundle_is_drift(deployed: Deployed) -> None:
    dab_yml = deployed.project / "conf" / "base" / "dab.yml"
    before = dab_yml.read_text(encoding="utf-8")
    changed = yaml.safe_load(before)
    changed["tasks"].append({"match": {"group": "reporting"}, "max_retries": 5})
    dab_yml.write_text(yaml.safe_dump(changed, sort_keys=False), encoding="utf-8")
    try:
        assert dab(deployed.project, deployed.ws, "bundle").returncode == 0
        (entry,) = summary_json(deployed)["jobs"]
        assert entry["in_sync"] is False
        assert entry["drift"].startswith("drifted")
    finally:
        dab_yml.write_text(before, encoding="utf-8")
        assert dab(deployed.project, deployed.ws, "bundle").returncode == 0
    (entry,) = summary_json(deployed)["jobs"]
    assert entry["in_sync"] is True


CLI_CASE = Path(__file__).parents[1] / "conformance" / "data" / "migrate" / "basic"
"""The Databricks CLI's own recording of the state files it keeps in the workspace."""


def cli_state(recorded: str, ws: FakeWorkspace, job_id: int) -> bytes:
    """A state file as the CLI wrote it in its acceptance case, for the example's job."""
    text = (CLI_CASE / recorded).read_text(encoding="utf-8")
    text = text.replace("[NUMID]", str(job_id)).replace("[USERNAME]", ws.user_name)
    # The recording's other placeholders stand for numbers where they are not quoted.
    text = re.sub(r'(?<!")\[[A-Z_]+\](?!")', "0", text)
    return text.replace("test_job", JOB).encode()


def cli_deployed_job(ws: FakeWorkspace) -> int:
    """A job as `databricks bundle deploy` of the example would leave it (the parts read here)."""
    from databricks.sdk.service.compute import Library
    from databricks.sdk.service.jobs import PythonWheelTask, Task

    wheel = f"{bundle_root(ws)}/artifacts/.internal/spaceflights-0.1-py3-none-any.whl"
    created = ws.client().jobs.create(
        name="[dev] spaceflights",
        tasks=[
            Task(
                task_key="t",
                existing_cluster_id="0101-000000-abcdefgh",
                python_wheel_task=PythonWheelTask(
                    package_name="spaceflights", entry_point="spaceflights"
                ),
                libraries=[Library(whl=wheel)],
            )
        ],
    )
    return int(created.job_id or 0)


@pytest.mark.parametrize(
    ("recorded", "name"),
    [("out.new_state.json", "resources.json"), ("out.original_state.json", "terraform.tfstate")],
    ids=["direct engine", "terraform engine"],
)
def test_a_target_the_databricks_cli_deployed_is_summarised_from_the_cli_state(
    tmp_path: Path, recorded: str, name: str
) -> None:
    project = copy_example(tmp_path)
    with module_workspace(tmp_path) as ws:
        job_id = cli_deployed_job(ws)
        ws.put_workspace_file(f"{bundle_root(ws)}/state/{name}", cli_state(recorded, ws, job_id))
        (entry,) = summary_json(Deployed(project, ws, time.time()))["jobs"]
        url = f"{ws.host}/jobs/{job_id}"
    assert entry["key"] == JOB
    assert entry["job_id"] == job_id
    assert entry["url"] == url
    assert entry["wheel"] == "spaceflights-0.1-py3-none-any.whl"
    assert entry["wheel_version"] == "0.1"
    assert entry["deployed_at"] is not None
    assert entry["last_run"] is None
    assert entry["in_sync"] is None
    assert "Databricks CLI" in entry["drift"] and "databricks bundle plan -t dev" in entry["drift"]


def test_the_newer_of_the_two_cli_state_files_names_the_jobs(tmp_path: Path) -> None:
    # After `bundle deployment migrate` both files may exist: the one with the higher serial
    # (the direct engine's here, serial 6 against 4) is the CLI's current state.
    project = copy_example(tmp_path)
    with module_workspace(tmp_path) as ws:
        old, current = cli_deployed_job(ws), cli_deployed_job(ws)
        state = f"{bundle_root(ws)}/state"
        ws.put_workspace_file(
            f"{state}/terraform.tfstate", cli_state("out.original_state.json", ws, old)
        )
        ws.put_workspace_file(
            f"{state}/resources.json", cli_state("out.new_state.json", ws, current)
        )
        (entry,) = summary_json(Deployed(project, ws, time.time()))["jobs"]
    assert entry["job_id"] == current


def test_a_job_deleted_in_the_workspace_is_shown_as_deleted_and_open_says_to_deploy_again(
    fake_workspace: FakeWorkspace, tmp_path: Path
) -> None:
    ws = fake_workspace
    project, job_id = deploy_example(ws, tmp_path)
    ws.client().jobs.delete(job_id)
    before = writes(ws)

    (entry,) = summary_json(Deployed(project, ws, time.time()))["jobs"]
    opened = dab(project, ws, "open")

    assert (entry["job_id"], entry["url"], entry["in_sync"]) == (job_id, None, False)
    assert entry["drift"] == (
        "deleted in the workspace since the last deploy; `kedro dab deploy -t dev` creates it again"
    )
    assert entry["last_run"] is None
    assert opened.returncode == 2, output(opened)
    (line,) = error_lines(opened)
    assert f"job '{JOB}' ({job_id}) no longer exists in the workspace" in line, line
    assert "`kedro dab deploy -t dev`" in line, line
    assert writes(ws) == before


def test_open_before_any_deploy_says_to_deploy_first(fake_workspace: FakeWorkspace, tmp_path: Path):
    project = copy_example(tmp_path)

    result = dab(project, fake_workspace, "open")

    assert result.returncode == 2, output(result)
    assert error_lines(result) == [
        "Error: nothing is deployed to target 'dev'; run `kedro dab deploy -t dev` first"
    ]
    assert writes(fake_workspace) == []
