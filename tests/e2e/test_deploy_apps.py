"""The SDK engine deploys the example's Databricks App through the Apps API, as the CLI would.

Every case runs in-process through the real databricks-sdk over real HTTP against a fresh fake
workspace, on one copy of the example (its endpoint opted in with `app: true`) whose wheel is
built once. What the CLI does is the oracle: its recorded acceptance outputs show the app's
source synced under `<workspace.file_path>/<folder>`, `POST /api/2.0/apps`, then (for a running
app) `POST /api/2.0/apps/<name>/deployments` with `mode: SNAPSHOT` and that folder, and
`DELETE /api/2.0/apps/<name>` on destroy.
"""

from __future__ import annotations

import json

import pytest

from kedro_dab.build import build_wheel
from kedro_dab.deploy import engines
from kedro_dab.deploy.target import load_target
from kedro_dab.errors import DabError
from tests.e2e.deploy_helpers import (
    BuiltProject,
    InProcessRun,
    bundle_root,
    copy_example,
    state_path,
)
from tests.fake_workspace import FakeWorkspace

pytestmark = pytest.mark.e2e

APP = "price-shuttle"
FOLDER = "resources/kedro-dab/apps/price-shuttle"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> BuiltProject:
    root = copy_example(tmp_path_factory.mktemp("apps"), app=True)
    wheel = build_wheel(root)
    target = load_target(root, "dev")
    files = engines.synced_files(target, root, "conf", wheel.path, lambda line: None)
    return BuiltProject(root, target, wheel, files)


class Run(InProcessRun[BuiltProject]):
    """One case's workspace, and what the code under test said."""

    def app_writes(self) -> list[str]:
        """`METHOD path` of every Apps API request that is not a read."""
        return [
            f"{r.method} {r.path}"
            for r in self.ws.log
            if r.path.startswith("/api/2.0/apps") and r.method != "GET"
        ]


@pytest.fixture
def run(project: BuiltProject, fake_workspace: FakeWorkspace) -> Run:
    return Run(project, fake_workspace)


def source_path(ws: FakeWorkspace) -> str:
    return f"{bundle_root(ws)}/files/{FOLDER}"


def test_a_deploy_syncs_the_apps_folder_creates_the_app_and_deploys_it_from_there(run: Run):
    report = run.deploy()

    assert [(c.key, c.action) for c in report.apps] == [(APP, "create")]
    assert run.app_writes() == [
        "POST /api/2.0/apps",
        f"POST /api/2.0/apps/{APP}/deployments",
    ]
    [request] = [r for r in run.ws.log if r.path.endswith("/deployments") and r.method == "POST"]
    assert request.json["mode"] == "SNAPSHOT"
    assert request.json["source_code_path"] == source_path(run.ws)
    # The resource's config: the app.yaml command, and the target's Kedro env (the tasks').
    assert request.json["command"] == ["python", "-m", "kedro_dab.serve.apps", APP]
    assert request.json["env_vars"] == [{"name": "KEDRO_ENV", "value": "databricks"}]
    app = run.ws.apps.apps[APP]
    assert app.body["compute_status"]["state"] == "ACTIVE"
    assert app.body["active_deployment"]["status"]["state"] == "SUCCEEDED"
    # The deployment's snapshot is the bundle's app folder, the project wheel inside it.
    local = sorted(
        p.relative_to(run.project.root / FOLDER).as_posix()
        for p in (run.project.root / FOLDER).rglob("*")
        if p.is_file()
    )
    snapshot = app.deployments[0].files
    assert sorted(snapshot) == local
    assert snapshot[f"wheel/{run.project.wheel.path.name}"] == run.project.wheel.path.read_bytes()
    state = json.loads(run.ws.files[state_path(run.ws)])
    assert state["apps"][APP]["name"] == APP
    assert state["apps"][APP]["deployment"] == app.body["active_deployment"]["deployment_id"]


def test_a_second_deploy_with_nothing_changed_leaves_the_app_alone(run: Run):
    run.deploy()
    run.ws.clear_log()

    report = run.deploy()

    assert [(c.key, c.action) for c in report.apps] == [(APP, "unchanged")]
    assert run.app_writes() == []
    assert len(run.ws.apps.apps) == 1
    assert len(run.ws.apps.apps[APP].deployments) == 1


def test_a_changed_source_file_updates_the_app_and_deploys_it_again(run: Run):
    run.deploy()
    run.ws.clear_log()
    endpoint = f"{FOLDER}/endpoint.yml"
    changed = {**run.project.files, endpoint: run.project.files[endpoint] + b"# changed\n"}

    report = run.deploy(files=changed)

    assert [(c.key, c.action) for c in report.apps] == [(APP, "update")]
    assert run.app_writes() == [
        f"PATCH /api/2.0/apps/{APP}",
        f"POST /api/2.0/apps/{APP}/deployments",
    ]
    assert run.ws.apps.apps[APP].deployments[-1].files["endpoint.yml"].endswith(b"# changed\n")


def test_the_dry_run_shows_the_app_changes_and_writes_nothing(run: Run):
    report = run.deploy(dry_run=True)

    assert [(c.key, c.action) for c in report.apps] == [(APP, "create")]
    assert run.app_writes() == []
    assert run.ws.apps.apps == {}

    run.deploy()
    assert [(c.key, c.action) for c in run.deploy(dry_run=True).apps] == [(APP, "unchanged")]


def test_an_app_deleted_in_the_workspace_is_created_again(run: Run):
    run.deploy()
    run.ws.apps.apps.clear()

    report = run.deploy()

    assert [(c.action, c.reason) for c in report.apps] == [("create", "deleted in the workspace")]
    assert list(run.ws.apps.apps) == [APP]
    assert run.ws.apps.apps[APP].body["active_deployment"]["status"]["state"] == "SUCCEEDED"


def test_a_stopped_app_is_started_and_deployed_again(run: Run):
    run.deploy()
    run.ws.apps.stop(APP)

    report = run.deploy()

    assert [c.action for c in report.apps] == ["update"]
    assert f"POST /api/2.0/apps/{APP}/start" in run.app_writes()
    assert run.ws.apps.apps[APP].body["compute_status"]["state"] == "ACTIVE"


def test_a_lost_create_response_converges_to_one_deployed_app(run: Run):
    run.ws.faults.drop_response(r"^/api/2\.0/apps$", method="POST")

    report = run.deploy()

    assert [c.action for c in report.apps] == ["create"]
    assert list(run.ws.apps.apps) == [APP]
    assert run.ws.apps.apps[APP].body["active_deployment"]["status"]["state"] == "SUCCEEDED"
    assert [c.action for c in run.deploy().apps] == ["unchanged"]


def test_a_lost_deployment_response_follows_the_deployment_it_started(run: Run):
    run.ws.faults.drop_response(r"/deployments$", method="POST")

    report = run.deploy()

    assert [c.action for c in report.apps] == ["create"]
    [deployment] = run.ws.apps.apps[APP].deployments
    assert deployment.body["status"]["state"] == "SUCCEEDED"
    assert report.apps[0].deployment_id == deployment.body["deployment_id"]


def test_a_deploy_that_died_after_creating_the_app_is_finished_by_the_next(run: Run):
    run.ws.faults.add("POST", r"/deployments$", status=500, times=50)
    with pytest.raises(DabError):
        run.deploy()
    run.ws.faults.clear()
    assert list(run.ws.apps.apps) == [APP]  # created, never deployed, no state written

    report = run.deploy()

    assert [c.action for c in report.apps] == ["update"]
    assert run.ws.apps.apps[APP].body["active_deployment"]["status"]["state"] == "SUCCEEDED"


def test_an_app_of_the_same_name_that_is_not_this_targets_stops_the_deploy(run: Run):
    run.ws.apps.create({"name": APP}, no_compute=True)
    run.ws.apps.apps[APP].body["creator"] = "someone.else@example.com"

    with pytest.raises(DabError) as caught:
        run.deploy()

    assert f"app '{APP}' already exists" in str(caught.value)
    assert run.ws.apps.apps[APP].deployments == []


def test_a_failed_app_deployment_fails_the_deploy_naming_the_app_and_the_reason(run: Run):
    big = {**run.project.files, f"{FOLDER}/big.bin": b"0" * (10 * 1024 * 1024 + 1)}

    with pytest.raises(DabError) as caught:
        run.deploy(files=big)

    message = str(caught.value)
    assert f"app '{APP}'" in message
    assert "big.bin exceeds" in message


def test_an_endpoint_removed_from_the_configuration_has_its_app_deleted_once_approved(
    run: Run, project: BuiltProject
):
    import dataclasses

    run.deploy()
    without = dataclasses.replace(project.target, apps=[], app_resources={})

    kept = run.deploy(without)
    assert [(c.action, c.reason) for c in kept.apps] == [("keep", "removed from the configuration")]
    assert run.approved == [[f"apps.{APP}"]]
    assert list(run.ws.apps.apps) == [APP]

    deleted = run.deploy(without, approve=True)
    assert [c.action for c in deleted.apps] == ["delete"]
    assert run.ws.apps.apps == {}
    assert "apps" not in json.loads(run.ws.files[state_path(run.ws)])


def test_destroy_deletes_the_app_and_an_app_already_gone_is_no_error(run: Run):
    run.deploy()

    run.destroy()

    assert run.ws.apps.apps == {}
    assert any(line.startswith(f"deleted  app {APP}") for line in run.said)
    assert not any(path.startswith(bundle_root(run.ws)) for path in run.ws.files)

    run.deploy()
    run.ws.faults.drop_response(rf"^/api/2\.0/apps/{APP}$", method="DELETE")
    run.destroy()
    assert run.ws.apps.apps == {}


def test_the_summary_lists_the_app_with_its_address_state_and_deployment(run: Run):
    from kedro_dab.deploy.summary import summarize
    from kedro_dab.deploy.summary_text import summary_lines

    before = summarize(run.project.root, "dev", client=run.workspace().client)
    assert [(a.key, a.url) for a in before.apps] == [(APP, None)]

    run.deploy()
    after = summarize(run.project.root, "dev", client=run.workspace().client)

    [app] = after.apps
    body = run.ws.apps.apps[APP].body
    assert (app.name, app.url, app.compute, app.status) == (APP, body["url"], "ACTIVE", "RUNNING")
    assert app.deployment_id == body["active_deployment"]["deployment_id"]
    assert f"app {APP}  {APP}  {body['url']}" in summary_lines(after)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("git_source", {"branch": "main"}),
        ("lifecycle", {"prevent_destroy": True}),
        ("permissions", [{"group_name": "users", "level": "CAN_USE"}]),
    ],
)
def test_an_app_setting_the_sdk_engine_does_not_deploy_is_refused_before_any_write(
    run: Run, project: BuiltProject, field: str, value: object
):
    import dataclasses

    from kedro_dab.deploy.refusals import UnsupportedBundle

    app = {**project.target.app_resources[APP], field: value}
    target = dataclasses.replace(project.target, app_resources={APP: app})

    with pytest.raises(UnsupportedBundle) as caught:
        run.deploy(target)

    assert f"resources.apps.{APP}" in str(caught.value)
    assert "--engine cli" in str(caught.value)
    assert [r for r in run.ws.log if r.method not in ("GET", "HEAD")] == []


def test_a_renamed_app_is_a_new_app_and_the_old_one_is_deleted_as_the_cli_recreates_it(
    run: Run, project: BuiltProject
):
    import dataclasses

    run.deploy()
    renamed = {**project.target.app_resources[APP], "name": "shuttle-quotes"}
    target = dataclasses.replace(project.target, app_resources={APP: renamed})

    report = run.deploy(target)

    assert [(c.action, c.name) for c in report.apps] == [
        ("create", "shuttle-quotes"),
        ("delete", APP),
    ]
    assert run.approved == []
    assert list(run.ws.apps.apps) == ["shuttle-quotes"]
    assert json.loads(run.ws.files[state_path(run.ws)])["apps"][APP]["name"] == "shuttle-quotes"


def test_the_production_target_deploys_its_app_under_its_own_root(run: Run, project: BuiltProject):
    prod = load_target(project.root, "prod")

    report = run.deploy(prod)

    assert [c.action for c in report.apps] == ["create"]
    deployment = run.ws.apps.apps[APP].body["active_deployment"]
    assert deployment["source_code_path"] == f"{bundle_root(run.ws, 'prod')}/files/{FOLDER}"


def test_a_lost_state_file_finds_the_app_by_its_deployments_source_folder(run: Run):
    run.deploy()
    run.ws.workspace.delete(state_path(run.ws), recursive=False)

    report = run.deploy()

    assert [c.action for c in report.apps] == ["update"]
    assert list(run.ws.apps.apps) == [APP]
    assert json.loads(run.ws.files[state_path(run.ws)])["apps"][APP]["name"] == APP
