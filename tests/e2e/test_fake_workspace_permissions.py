"""The fake workspace's job permissions behave as Databricks' (recorded by the Databricks CLI's
`acceptance/bundle/resources/permissions/factcheck` case), through the real databricks-sdk."""

from __future__ import annotations

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.config import Config
from databricks.sdk.errors import InvalidParameterValue
from databricks.sdk.service import compute, jobs

from tests.fake_workspace import FakeWorkspace

pytestmark = pytest.mark.e2e

OTHER = "someone@example.com"


@pytest.fixture
def w(fake_workspace: FakeWorkspace) -> WorkspaceClient:
    return WorkspaceClient(
        config=Config(host=fake_workspace.host, token=fake_workspace.token, retry_timeout_seconds=5)
    )


@pytest.fixture
def job_id(w: WorkspaceClient) -> int:
    task = jobs.Task(
        task_key="t",
        environment_key="default",
        python_wheel_task=jobs.PythonWheelTask(package_name="demo", entry_point="demo"),
    )
    env = jobs.JobEnvironment(
        environment_key="default", spec=compute.Environment(environment_version="4")
    )
    created = w.jobs.create(name="j", tasks=[task], environments=[env])
    assert created.job_id is not None
    return created.job_id


def acl(*entries: tuple[str, str]) -> list[jobs.JobAccessControlRequest]:
    return [
        jobs.JobAccessControlRequest(user_name=who, permission_level=jobs.JobPermissionLevel(level))
        for who, level in entries
    ]


def levels(w: WorkspaceClient, job_id: int, user: str) -> list[str]:
    listing = w.jobs.get_permissions(str(job_id)).access_control_list or []
    return [
        str(p.permission_level.value)
        for entry in listing
        if entry.user_name == user
        for p in entry.all_permissions or []
        if p.permission_level is not None
    ]


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (["CAN_VIEW", "CAN_MANAGE_RUN"], "CAN_MANAGE_RUN"),
        (["CAN_MANAGE_RUN", "CAN_VIEW"], "CAN_VIEW"),
        (["CAN_MANAGE", "CAN_MANAGE_RUN"], "CAN_MANAGE_RUN"),
    ],
)
def test_the_last_level_given_for_a_principal_is_the_one_kept(
    w: WorkspaceClient, fake_workspace: FakeWorkspace, job_id: int, given: list[str], kept: str
) -> None:
    owner = (fake_workspace.user_name, "IS_OWNER")
    w.jobs.set_permissions(
        str(job_id), access_control_list=acl(owner, *((OTHER, g) for g in given))
    )
    assert levels(w, job_id, OTHER) == [kept]


def test_an_acl_whose_last_owner_level_is_overridden_is_refused(
    w: WorkspaceClient, fake_workspace: FakeWorkspace, job_id: int
) -> None:
    me = fake_workspace.user_name
    with pytest.raises(InvalidParameterValue, match=r"The job must have exactly one owner\."):
        w.jobs.set_permissions(
            str(job_id), access_control_list=acl((me, "IS_OWNER"), (me, "CAN_MANAGE"))
        )
    assert levels(w, job_id, me) == ["IS_OWNER"]


def test_an_acl_without_an_owner_is_refused(w: WorkspaceClient, job_id: int) -> None:
    with pytest.raises(InvalidParameterValue, match="exactly one owner"):
        w.jobs.set_permissions(str(job_id), access_control_list=acl((OTHER, "CAN_VIEW")))


def test_the_deploying_user_can_make_themselves_owner(
    w: WorkspaceClient, fake_workspace: FakeWorkspace, job_id: int
) -> None:
    me = fake_workspace.user_name
    w.jobs.set_permissions(
        str(job_id), access_control_list=acl((me, "CAN_MANAGE"), (me, "IS_OWNER"))
    )
    assert levels(w, job_id, me) == ["IS_OWNER"]
