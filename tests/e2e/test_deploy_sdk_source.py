"""The SDK engine deploys a `from_source: true` target as `databricks bundle deploy` does: the
bundle's files synced to `${workspace.file_path}` by the CLI's file sync rules, and jobs that run
the synced runner. The expected files come from git (`git ls-files --others --exclude-standard`
in a fresh repository, which reads the project's `.gitignore`), with the bundle's `sync.exclude`
patterns and the CLI's own `.databricks` rule, never from the code under test."""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.deploy_helpers import (
    JOB,
    bundle_root,
    copy_example,
    dab,
    module_workspace,
    output,
    uploaded_paths,
)
from tests.fake_workspace import FakeWorkspace
from tests.support.kedro_projects import run_kedro

pytestmark = pytest.mark.e2e

NODES = "src/spaceflights/pipelines/data_processing/nodes.py"
REMOVED = "notebooks/.gitkeep"
NEVER = [
    "debug.log",  # *.log in the project's .gitignore
    ".env",  # kedro-dab never ships .env files
    "conf/local/credentials.yml",  # conf/local and credentials: sync.exclude and .gitignore
    "data/02_intermediate/extra.csv",  # data/** in sync.exclude
    ".databricks/bundle/dev/sync-snapshots/x.json",  # never synced by the CLI
]


def git_expected(project: Path) -> dict[str, bytes]:
    """The files the CLI's sync uploads, by git: untracked, not ignored, not sync-excluded."""
    bundle = yaml.safe_load((project / "databricks.yml").read_text(encoding="utf-8"))
    patterns = [*bundle["sync"]["exclude"], ".databricks", ".env*"]
    listed = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard", *(f"-x{p}" for p in patterns)],
        cwd=project,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    return {rel: (project / rel).read_bytes() for rel in listed}


def synced(ws: FakeWorkspace) -> dict[str, bytes]:
    prefix = f"{bundle_root(ws)}/files/"
    return {p[len(prefix) :]: data for p, data in ws.files.items() if p.startswith(prefix)}


@dataclass
class SourceDeploys:
    ws: FakeWorkspace
    project: Path
    first: dict[str, bytes]
    first_expected: dict[str, bytes]
    first_uploads: list[str]
    second_uploads: list[str]
    second_expected: dict[str, bytes]
    second_stdout: str
    created: dict[str, Any]


@pytest.fixture(scope="module")
def deploys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SourceDeploys]:
    tmp = tmp_path_factory.mktemp("source")
    with module_workspace(tmp) as ws:
        project = copy_example(tmp)
        result = run_kedro(project, "dab", "init", "--vscode")
        assert result.returncode == 0, output(result)
        with (project / "conf/base/dab.yml").open("a", encoding="utf-8") as file:
            file.write("\ntargets:\n  dev:\n    from_source: true\n")
        subprocess.run(["git", "init", "-q"], cwd=project, check=True)
        for rel in NEVER:
            (project / rel).parent.mkdir(parents=True, exist_ok=True)
            (project / rel).write_text("secret: do-not-ship\n", encoding="utf-8")

        result = dab(project, ws, "deploy", "--engine", "sdk", "-t", "dev")
        assert result.returncode == 0, output(result)
        first, first_expected = synced(ws), git_expected(project)
        first_uploads = uploaded_paths(ws.log)
        (create,) = ws.requests("POST", r"/jobs/create$")
        ws.log.clear()

        nodes = project / NODES
        nodes.write_text(nodes.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
        (project / REMOVED).unlink()
        (project / "conf/local/more-credentials.yml").write_text("k: v\n", encoding="utf-8")
        result = dab(project, ws, "deploy", "--engine", "sdk", "-t", "dev")
        assert result.returncode == 0, output(result)
        yield SourceDeploys(
            ws,
            project,
            first,
            first_expected,
            first_uploads,
            uploaded_paths(ws.log),
            git_expected(project),
            result.stdout,
            create.json,
        )


def test_the_workspace_holds_exactly_the_files_the_clis_sync_uploads(deploys: SourceDeploys):
    assert sorted(deploys.first) == sorted(deploys.first_expected)
    assert deploys.first == deploys.first_expected
    assert {"run_on_databricks.py", NODES, "conf/base/catalog.yml", REMOVED} <= set(deploys.first)


def test_ignored_excluded_and_secret_files_never_arrive(deploys: SourceDeploys):
    sent = [*deploys.first_uploads, *deploys.second_uploads]
    for rel in [*NEVER, "conf/local/more-credentials.yml"]:
        assert not any(path.endswith("/" + rel) for path in sent), rel
    assert not any(
        "do-not-ship" in data.decode(errors="replace") for data in deploys.first.values()
    )


def test_a_source_target_builds_and_uploads_no_wheel(deploys: SourceDeploys):
    assert not (deploys.project / "dist").exists()
    assert not any(path.endswith(".whl") for path in deploys.first_uploads)


def test_a_redeploy_uploads_the_edited_file_and_deletes_the_removed_one(deploys: SourceDeploys):
    root = bundle_root(deploys.ws)
    assert [p for p in deploys.second_uploads if not p.startswith(f"{root}/state/")] == [
        f"{root}/files/{NODES}"
    ]
    assert synced(deploys.ws) == deploys.second_expected
    assert REMOVED not in synced(deploys.ws)
    deleted = [
        r.json["path"]
        for r in deploys.ws.log
        if r.method == "POST" and r.path.endswith("/workspace/delete")
    ]
    assert f"{root}/files/{REMOVED}" in deleted
    assert f"{root}/files/notebooks" not in deploys.ws.directories  # emptied, so removed


def test_the_jobs_run_the_synced_runner_with_the_clis_settings(deploys: SourceDeploys):
    ws, root = deploys.ws, bundle_root(deploys.ws)
    text = (deploys.project / "resources" / "kedro-dab" / f"{JOB}.yml").read_text(encoding="utf-8")
    text = text.replace("${var.kedro_env}", "databricks").replace(
        "${workspace.file_path}", f"{root}/files"
    )
    generated = yaml.safe_load(text)["targets"]["dev"]["resources"]["jobs"][JOB]
    expected: dict[str, Any] = copy.deepcopy(generated)
    for task in expected["tasks"]:
        if "spark_python_task" in task:
            # The CLI translates the path, relative to the resource file, to the synced file.
            assert task["spark_python_task"]["python_file"] == "../../run_on_databricks.py"
            task["spark_python_task"]["python_file"] = f"{root}/files/run_on_databricks.py"
    # The CLI's development mode and per-job defaults (as for the prod target, plus the dev
    # presets: name prefix, dev tag, four concurrent runs, paused triggers).
    short = ws.user_name.split("@")[0].replace(".", "_")
    expected["tasks"] = sorted(expected["tasks"], key=lambda task: task["task_key"])
    expected["name"] = f"[dev {short}] {expected['name']}"
    expected["tags"] = {
        **expected.get("tags", {}),
        "dev": short,
        "kedro_dab_bundle": "spaceflights",
        "kedro_dab_target": "dev",
        "kedro_dab_job": JOB,
    }
    expected["max_concurrent_runs"] = expected.get("max_concurrent_runs") or 4
    expected["schedule"].setdefault("pause_status", "PAUSED")
    expected["queue"] = {"enabled": True}
    expected["edit_mode"] = "UI_LOCKED"
    expected["format"] = "MULTI_TASK"
    expected["deployment"] = {
        "kind": "BUNDLE",
        "metadata_file_path": f"{root}/state/metadata.json",
    }
    assert json.dumps(deploys.created, sort_keys=True, indent=1) == json.dumps(
        expected, sort_keys=True, indent=1
    )
    runner = synced(ws)["run_on_databricks.py"]
    assert runner == (deploys.project / "run_on_databricks.py").read_bytes()


METADATA_CASE = Path(__file__).parents[1] / "conformance/data/resources/jobs/check-metadata"


def recorded_metadata() -> dict[str, Any]:
    """The metadata.json the CLI wrote in its check-metadata acceptance case."""
    text = (METADATA_CASE / "output.txt").read_text(encoding="utf-8")
    start = text.index("\n{", text.index(">>> cat metadata.json")) + 1
    value, _ = json.JSONDecoder().raw_decode(text, start)
    return value


def test_the_deployment_metadata_is_written_where_the_jobs_say_as_the_cli_writes_it(
    deploys: SourceDeploys,
):
    ws, root = deploys.ws, bundle_root(deploys.ws)
    (job_id,) = ws.jobs
    branch = subprocess.run(
        ["git", "symbolic-ref", "--short", "HEAD"],
        cwd=deploys.project,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    expected = recorded_metadata()
    bundle = expected["config"]["bundle"]
    assert bundle["git"] == {"bundle_root_path": "."}  # the case ran outside a repository
    bundle.update(name="spaceflights", target="dev", mode="development")
    bundle["git"] = {"branch": branch, "bundle_root_path": ".", "actual_branch": branch}
    expected["config"]["workspace"]["file_path"] = f"{root}/files"
    expected["config"]["resources"]["jobs"] = {
        JOB: {"id": str(job_id), "relative_path": f"resources/kedro-dab/{JOB}.yml"}
    }
    path = deploys.created["deployment"]["metadata_file_path"]
    assert json.dumps(json.loads(ws.files[path])) == json.dumps(expected)


def test_the_summary_finds_the_deployed_source_target_in_sync(deploys: SourceDeploys):
    from databricks.sdk import WorkspaceClient

    from kedro_dab.deploy.summary import summarize

    client = WorkspaceClient(host=deploys.ws.host, token=deploys.ws.token)
    (job,) = summarize(deploys.project, "dev", client=client).jobs
    assert (job.in_sync, job.wheel) == (True, None), job.drift
