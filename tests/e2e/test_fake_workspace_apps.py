"""The fake workspace's Apps API is as strict as Databricks: driven through the real
databricks-sdk, it refuses what the Apps API refuses, in Databricks' error format."""

from __future__ import annotations

import pytest
from databricks.sdk.errors import (
    InvalidParameterValue,
    OperationFailed,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
)
from databricks.sdk.service.apps import App, AppDeployment

from tests.fake_workspace import FakeWorkspace

pytestmark = pytest.mark.e2e

HOME = "/Workspace/Users/fake.user@example.com"


@pytest.mark.parametrize(
    "name",
    ["My-App", "my_app", "1app", "a", "a" * 31, "app.name", "app name", ""],
)
def test_an_app_name_databricks_refuses_is_refused(fake_workspace: FakeWorkspace, name: str):
    client = fake_workspace.client()

    with pytest.raises(InvalidParameterValue):
        client.apps.create(App(name=name), no_compute=True)

    assert fake_workspace.apps.apps == {}


@pytest.mark.parametrize("name", ["ab", "price-shuttle", "a" * 30, "app-2"])
def test_a_valid_app_name_is_accepted(fake_workspace: FakeWorkspace, name: str):
    created = fake_workspace.client().apps.create(App(name=name), no_compute=True).response

    assert created.name == name
    assert created.compute_status.state.value == "STOPPED"


def test_app_names_are_unique_in_the_workspace(fake_workspace: FakeWorkspace):
    client = fake_workspace.client()
    client.apps.create(App(name="scorer"), no_compute=True)

    with pytest.raises(ResourceAlreadyExists, match="already exists: scorer"):
        client.apps.create(App(name="scorer"), no_compute=True)


def test_an_unknown_app_is_404_resource_does_not_exist(fake_workspace: FakeWorkspace):
    client = fake_workspace.client()

    for call in (
        lambda: client.apps.get("nobody"),
        lambda: client.apps.delete("nobody"),
        lambda: client.apps.update("nobody", App(name="nobody")),
        lambda: client.apps.deploy("nobody", AppDeployment(source_code_path=HOME)),
    ):
        with pytest.raises(ResourceDoesNotExist, match="nobody does not exist"):
            call()


def test_an_apps_name_cannot_change_on_update(fake_workspace: FakeWorkspace):
    client = fake_workspace.client()
    client.apps.create(App(name="scorer"), no_compute=True)

    with pytest.raises(InvalidParameterValue, match="name"):
        client.apps.update("scorer", App(name="other"))


def test_a_deployment_needs_active_compute_and_an_existing_workspace_folder(
    fake_workspace: FakeWorkspace,
):
    client = fake_workspace.client()
    client.apps.create(App(name="scorer"), no_compute=True)
    fake_workspace.put_workspace_file(f"{HOME}/src/app.yaml", b"command: [python, app.py]\n")

    with pytest.raises(InvalidParameterValue, match="compute is STOPPED"):
        client.apps.deploy("scorer", AppDeployment(source_code_path=f"{HOME}/src"))
    client.apps.start("scorer").result()
    for missing in (f"{HOME}/nowhere", f"{HOME}/src/app.yaml"):
        with pytest.raises(InvalidParameterValue, match="is not a folder of the workspace"):
            client.apps.deploy("scorer", AppDeployment(source_code_path=missing))

    done = client.apps.deploy("scorer", AppDeployment(source_code_path=f"{HOME}/src")).result()
    assert done.status.state.value == "SUCCEEDED"
    app = client.apps.get("scorer")
    assert app.active_deployment.deployment_id == done.deployment_id
    assert app.app_status.state.value == "RUNNING"
    assert [d.deployment_id for d in client.apps.list_deployments("scorer")] == [done.deployment_id]


def test_a_source_folder_with_a_file_over_10_mb_fails_its_deployment(
    fake_workspace: FakeWorkspace,
):
    client = fake_workspace.client()
    client.apps.create(App(name="scorer")).result()
    fake_workspace.put_workspace_file(f"{HOME}/src/app.py", b"print('hi')\n")
    fake_workspace.put_workspace_file(f"{HOME}/src/model.bin", b"0" * (10 * 1024 * 1024 + 1))

    with pytest.raises(OperationFailed, match=r"model\.bin exceeds the maximum app file size"):
        client.apps.deploy("scorer", AppDeployment(source_code_path=f"{HOME}/src")).result()


def test_apps_are_listed_by_page(fake_workspace: FakeWorkspace):
    client = fake_workspace.client()
    for index in range(5):
        client.apps.create(App(name=f"app-{index}"), no_compute=True)

    listed = [app.name for app in client.apps.list(page_size=2)]

    assert listed == [f"app-{index}" for index in range(5)]
    assert len(fake_workspace.requests("GET", r"^/api/2\.0/apps$")) == 3
