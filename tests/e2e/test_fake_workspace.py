"""The fake workspace behaves like Databricks, seen through the real databricks-sdk over HTTP."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.config import Config
from databricks.sdk.errors import (
    DatabricksError,
    InvalidParameterValue,
    NotFound,
    PermissionDenied,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
    Unauthenticated,
)
from databricks.sdk.service import compute, jobs
from databricks.sdk.service.workspace import ImportFormat, ObjectType

from tests.fake_workspace import FakeWorkspace

pytestmark = pytest.mark.e2e

HOME = "/Workspace/Users/fake.user@example.com"


@pytest.fixture
def w(fake_workspace: FakeWorkspace) -> WorkspaceClient:
    """A real SDK client for the fake, with a short retry budget."""
    return WorkspaceClient(
        config=Config(
            host=fake_workspace.host,
            token=fake_workspace.token,
            retry_timeout_seconds=10,
            http_timeout_seconds=5,
        )
    )


def wheel_task(key: str, *deps: str, env: str = "default") -> jobs.Task:
    """A serverless python_wheel_task depending on ``deps``."""
    return jobs.Task(
        task_key=key,
        depends_on=[jobs.TaskDependency(task_key=d) for d in deps] or None,
        environment_key=env,
        python_wheel_task=jobs.PythonWheelTask(
            package_name="demo", entry_point="demo", parameters=["--nodes", key]
        ),
    )


ENVIRONMENTS = [
    jobs.JobEnvironment(
        environment_key="default",
        spec=compute.Environment(environment_version="4", dependencies=["../dist/*.whl"]),
    )
]


def wheel_task_dict(key: str, *deps: str) -> dict[str, Any]:
    """The JSON of :func:`wheel_task`."""
    return wheel_task(key, *deps).as_dict()


def create_raw(w: WorkspaceClient, settings: dict[str, Any]) -> Any:
    """POST jobs/create with a hand-written body (the SDK's typed API cannot send bad fields)."""
    return w.api_client.do("POST", "/api/2.2/jobs/create", body=settings)


def statuses(ws: FakeWorkspace, path_regex: str) -> list[int | None]:
    """The statuses the fake answered for requests whose path matches."""
    return [r.status for r in ws.requests(path_regex=path_regex)]


def poll(w: WorkspaceClient, run_id: int, limit: int = 40) -> Iterator[jobs.Run]:
    """Polls runs/get until the run is over, yielding every observed run."""
    for _ in range(limit):
        run = w.jobs.get_run(run_id)
        yield run
        assert run.state is not None
        if run.state.life_cycle_state in (
            jobs.RunLifeCycleState.TERMINATED,
            jobs.RunLifeCycleState.SKIPPED,
        ):
            return
    raise AssertionError(f"run {run_id} did not finish in {limit} polls")


def final_tasks(run: jobs.Run) -> dict[str, jobs.RunTask]:
    """The run's tasks by key."""
    return {t.task_key: t for t in run.tasks or []}


# ------------------------------------------------------------------ strictness


def test_unknown_field_in_job_settings_is_rejected_with_its_path(
    w: WorkspaceClient, fake_workspace: FakeWorkspace
) -> None:
    task = wheel_task_dict("a")
    task["python_wheel_task"]["entrypoint"] = task["python_wheel_task"].pop("entry_point")
    settings = {"name": "j", "environments": [e.as_dict() for e in ENVIRONMENTS], "tasks": [task]}
    with pytest.raises(InvalidParameterValue, match=r"tasks\[0\]\.python_wheel_task\.entrypoint"):
        create_raw(w, settings)
    assert statuses(fake_workspace, "jobs/create") == [400]
    assert fake_workspace.jobs == {}


def test_mistyped_field_in_job_settings_is_rejected_with_its_path(w: WorkspaceClient) -> None:
    task = wheel_task_dict("a")
    task["max_retries"] = "3"
    settings = {"name": "j", "environments": [e.as_dict() for e in ENVIRONMENTS], "tasks": [task]}
    with pytest.raises(InvalidParameterValue, match=r"tasks\[0\]\.max_retries.*expected integer"):
        create_raw(w, settings)


def test_enum_value_outside_the_enum_is_rejected(w: WorkspaceClient) -> None:
    task = wheel_task_dict("b", "a")
    task["run_if"] = "SOMETIMES"
    settings = {
        "environments": [e.as_dict() for e in ENVIRONMENTS],
        "tasks": [wheel_task_dict("a"), task],
    }
    with pytest.raises(InvalidParameterValue, match=r"tasks\[1\]\.run_if"):
        create_raw(w, settings)


def test_task_key_with_a_dot_is_rejected(w: WorkspaceClient) -> None:
    with pytest.raises(InvalidParameterValue, match=r"Task key 'ns\.node'.*invalid character"):
        w.jobs.create(name="j", environments=ENVIRONMENTS, tasks=[wheel_task("ns.node")])


def test_dependency_cycle_is_rejected(w: WorkspaceClient) -> None:
    tasks = [wheel_task("a", "c"), wheel_task("b", "a"), wheel_task("c", "b")]
    with pytest.raises(InvalidParameterValue, match=r"cycle: (a|b|c) -> .* -> \1"):
        w.jobs.create(name="j", environments=ENVIRONMENTS, tasks=tasks)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        pytest.param(
            {"tasks": [wheel_task_dict("a"), wheel_task_dict("a")]},
            r"Duplicate task key 'a'",
            id="duplicate-task-key",
        ),
        pytest.param(
            {"tasks": [wheel_task_dict("b", "missing")]},
            r"depends on task 'missing'",
            id="depends-on-unknown-task",
        ),
        pytest.param(
            {"tasks": [wheel_task_dict(f"t{i}") for i in range(1001)]},
            r"at most 1000 tasks",
            id="more-than-1000-tasks",
        ),
        pytest.param(
            {"tasks": [{**wheel_task_dict("a"), "environment_key": "gpu"}]},
            r"environment 'gpu', which is not in environments",
            id="unknown-environment-key",
        ),
        pytest.param(
            {
                "tasks": [
                    {
                        "task_key": "a",
                        "job_cluster_key": "main",
                        "python_wheel_task": {"package_name": "demo", "entry_point": "demo"},
                    }
                ]
            },
            r"job cluster 'main', which is not in job_clusters",
            id="unknown-job-cluster-key",
        ),
        pytest.param(
            {
                "tasks": [
                    {
                        "task_key": "a",
                        "environment_key": "default",
                        "python_wheel_task": {"package_name": "demo"},
                    }
                ]
            },
            r"Missing required field: tasks\[0\]\.python_wheel_task\.entry_point",
            id="wheel-task-without-entry-point",
        ),
        pytest.param(
            {"tasks": [{**wheel_task_dict("a"), "libraries": [{"whl": "dist/demo.whl"}]}]},
            r"serverless.*cannot have libraries",
            id="serverless-task-with-libraries",
        ),
    ],
)
def test_job_graph_rules_are_enforced(
    w: WorkspaceClient, settings: dict[str, Any], message: str
) -> None:
    body = {"name": "j", "environments": [e.as_dict() for e in ENVIRONMENTS], **settings}
    with pytest.raises(InvalidParameterValue, match=message):
        create_raw(w, body)


def test_unknown_field_in_a_workspace_body_is_rejected(w: WorkspaceClient) -> None:
    body = {"path": f"{HOME}/x", "parents": True}
    with pytest.raises(InvalidParameterValue, match="Unknown field 'parents'"):
        w.api_client.do("POST", "/api/2.0/workspace/mkdirs", body=body)


def test_relative_workspace_path_is_rejected(w: WorkspaceClient) -> None:
    with pytest.raises(InvalidParameterValue, match="not absolute"):
        w.workspace.mkdirs("Users/fake.user@example.com/x")


# ------------------------------------------------------------------------ jobs


def test_job_create_get_reset_list_delete_round_trip(
    w: WorkspaceClient, fake_workspace: FakeWorkspace
) -> None:
    job_id = w.jobs.create(
        name="[dev] demo", environments=ENVIRONMENTS, tasks=[wheel_task("a")]
    ).job_id
    assert job_id is not None
    got = w.jobs.get(job_id)
    assert got.settings is not None
    assert got.settings.name == "[dev] demo"
    assert [t.task_key for t in got.settings.tasks or []] == ["a"]
    assert got.creator_user_name == "fake.user@example.com"

    new = jobs.JobSettings(
        name="[dev] demo", environments=ENVIRONMENTS, tasks=[wheel_task("a"), wheel_task("b", "a")]
    )
    w.jobs.reset(job_id, new)
    assert [t["task_key"] for t in fake_workspace.jobs[job_id]["settings"]["tasks"]] == ["a", "b"]

    listed = list(w.jobs.list(name="[DEV] DEMO"))
    assert [j.job_id for j in listed] == [job_id]
    assert listed[0].settings is not None and listed[0].settings.tasks == []

    w.jobs.delete(job_id)
    assert job_id not in fake_workspace.jobs
    with pytest.raises(ResourceDoesNotExist, match=f"Job {job_id} does not exist"):
        w.jobs.get(job_id)


def test_a_partial_job_update_replaces_fields_merges_tasks_by_key_and_removes_named_ones(
    w: WorkspaceClient, fake_workspace: FakeWorkspace
) -> None:
    job_id = w.jobs.create(
        name="demo", environments=ENVIRONMENTS, tasks=[wheel_task("a"), wheel_task("b", "a")]
    ).job_id
    assert job_id is not None
    changed = wheel_task("a")
    changed.max_retries = 2
    w.jobs.update(
        job_id,
        new_settings=jobs.JobSettings(name="renamed", tasks=[changed, wheel_task("c")]),
        fields_to_remove=["tasks/b"],
    )
    settings = fake_workspace.jobs[job_id]["settings"]
    assert settings["name"] == "renamed"
    assert [t["task_key"] for t in settings["tasks"]] == ["a", "c"]
    assert settings["tasks"][0]["max_retries"] == 2
    assert settings["environments"], "fields the update leaves out are kept"


def test_a_partial_job_update_that_breaks_the_job_is_refused(w: WorkspaceClient) -> None:
    job_id = w.jobs.create(
        name="demo", environments=ENVIRONMENTS, tasks=[wheel_task("a"), wheel_task("b", "a")]
    ).job_id
    assert job_id is not None
    with pytest.raises(InvalidParameterValue):
        w.jobs.update(job_id, fields_to_remove=["tasks/a"])


def test_jobs_list_pages_through_every_job(w: WorkspaceClient) -> None:
    ids = {
        w.jobs.create(name=f"job-{i}", environments=ENVIRONMENTS, tasks=[wheel_task("a")]).job_id
        for i in range(5)
    }
    assert {j.job_id for j in w.jobs.list(limit=2)} == ids


def test_jobs_get_returns_all_250_tasks_across_pages(
    w: WorkspaceClient, fake_workspace: FakeWorkspace
) -> None:
    tasks = [wheel_task("t000")] + [wheel_task(f"t{i:03d}", f"t{i - 1:03d}") for i in range(1, 250)]
    job_id = w.jobs.create(name="big", environments=ENVIRONMENTS, tasks=tasks).job_id
    assert job_id is not None
    fake_workspace.clear_log()

    got = w.jobs.get(job_id)

    assert got.settings is not None
    assert [t.task_key for t in got.settings.tasks or []] == [f"t{i:03d}" for i in range(250)]
    assert len(got.settings.environments or []) == 1
    pages = fake_workspace.requests("GET", r"/jobs/get$")
    assert [p.query.get("page_token") is None for p in pages] == [True, False, False]


def test_jobs_list_with_expand_tasks_returns_every_task(w: WorkspaceClient) -> None:
    tasks = [wheel_task(f"t{i:03d}") for i in range(150)]
    w.jobs.create(name="wide", environments=ENVIRONMENTS, tasks=tasks)
    (listed,) = list(w.jobs.list(name="wide", expand_tasks=True))
    assert listed.settings is not None
    assert len(listed.settings.tasks or []) == 150


def test_run_now_of_a_missing_job_is_invalid(w: WorkspaceClient) -> None:
    with pytest.raises(InvalidParameterValue, match="Job 42 does not exist"):
        w.jobs.run_now(42)


# ------------------------------------------------------------- workspace files


def test_import_file_without_overwrite_on_existing_path_fails_with_resource_already_exists(
    w: WorkspaceClient, fake_workspace: FakeWorkspace
) -> None:
    url = f"/api/2.0/workspace-files/import-file{HOME}/.bundle/demo/state/deploy.lock"
    w.workspace.mkdirs(f"{HOME}/.bundle/demo/state")
    w.api_client.do("POST", url, query={"overwrite": "false"}, data=b'{"id": "first"}')

    with pytest.raises(ResourceAlreadyExists):
        w.api_client.do("POST", url, query={"overwrite": "false"}, data=b'{"id": "second"}')

    assert statuses(fake_workspace, "import-file") == [200, 409]
    assert fake_workspace.files[f"{HOME}/.bundle/demo/state/deploy.lock"] == b'{"id": "first"}'


def test_import_file_into_a_missing_folder_is_not_found(w: WorkspaceClient) -> None:
    url = f"/api/2.0/workspace-files/import-file{HOME}/nowhere/file.txt"
    with pytest.raises(ResourceDoesNotExist, match="parent folder"):
        w.api_client.do("POST", url, query={"overwrite": "true"}, data=b"x")


def test_workspace_import_of_existing_path_without_overwrite_is_400_already_exists(
    w: WorkspaceClient, fake_workspace: FakeWorkspace
) -> None:
    w.workspace.upload(f"{HOME}/a.txt", b"one", format=ImportFormat.AUTO)
    with pytest.raises(ResourceAlreadyExists):
        w.workspace.upload(f"{HOME}/a.txt", b"two", format=ImportFormat.AUTO)
    w.workspace.upload(f"{HOME}/a.txt", b"three", format=ImportFormat.AUTO, overwrite=True)
    assert statuses(fake_workspace, "workspace/import") == [200, 400, 200]
    assert w.workspace.download(f"{HOME}/a.txt").read() == b"three"


def test_users_path_and_workspace_users_path_are_the_same_object(w: WorkspaceClient) -> None:
    w.workspace.mkdirs("/Users/fake.user@example.com/project/files")
    w.workspace.upload(f"{HOME}/project/files/run.py", b"print(1)", format=ImportFormat.AUTO)
    status = w.workspace.get_status("/Users/fake.user@example.com/project/files/run.py")
    assert status.object_type == ObjectType.FILE
    assert status.path == "/Users/fake.user@example.com/project/files/run.py"
    listed = [o.path for o in w.workspace.list(f"{HOME}/project", recursive=True)]
    assert listed == [f"{HOME}/project/files/run.py"]


def test_delete_of_a_non_empty_folder_needs_recursive(
    w: WorkspaceClient, fake_workspace: FakeWorkspace
) -> None:
    w.workspace.mkdirs(f"{HOME}/old/sub")
    with pytest.raises(Exception, match="is not empty") as caught:
        w.workspace.delete(f"{HOME}/old")
    assert getattr(caught.value, "error_code", None) == "DIRECTORY_NOT_EMPTY"
    w.workspace.delete(f"{HOME}/old", recursive=True)
    assert f"{HOME}/old" not in fake_workspace.directories


def test_writing_into_another_users_home_is_permission_denied(w: WorkspaceClient) -> None:
    with pytest.raises(PermissionDenied):
        w.workspace.mkdirs("/Workspace/Users/someone.else@example.com/x")


# --------------------------------------------------------------------- volumes


def test_volume_upload_and_download_round_trip(
    w: WorkspaceClient, fake_workspace: FakeWorkspace
) -> None:
    fake_workspace.add_volume("main", "default", "artifacts")
    path = "/Volumes/main/default/artifacts/wheels/demo-0.1-py3-none-any.whl"
    w.files.upload(path, io.BytesIO(b"PK\x03\x04wheel"), overwrite=False)

    contents = w.files.download(path).contents
    assert contents is not None and contents.read() == b"PK\x03\x04wheel"
    assert w.files.get_metadata(path).content_length == 9
    names = [e.name for e in w.files.list_directory_contents("/Volumes/main/default/artifacts")]
    assert names == ["wheels"]
    with pytest.raises(Exception, match="already exists"):
        w.files.upload(path, io.BytesIO(b"again"), overwrite=False)
    assert fake_workspace.volume_files[path] == b"PK\x03\x04wheel"


def test_undeclared_volume_does_not_exist(w: WorkspaceClient) -> None:
    with pytest.raises(NotFound):
        w.files.upload("/Volumes/main/default/nope/f.txt", io.BytesIO(b"x"))


# ---------------------------------------------------------------------- faults


def test_sdk_retries_429_then_succeeds(w: WorkspaceClient, fake_workspace: FakeWorkspace) -> None:
    fault = fake_workspace.faults.add("GET", r"/workspace/get-status$", 429, times=2, retry_after=0)
    assert w.workspace.get_status(HOME).object_type == ObjectType.DIRECTORY
    assert fault.fired == 2
    assert statuses(fake_workspace, "get-status") == [429, 429, 200]


def test_sdk_retries_503_then_succeeds(w: WorkspaceClient, fake_workspace: FakeWorkspace) -> None:
    fake_workspace.faults.add(None, r"/jobs/list$", 503, times=1, retry_after=0)
    assert list(w.jobs.list()) == []
    assert statuses(fake_workspace, "jobs/list") == [503, 200]


def test_injected_403_is_permission_denied_and_not_retried(
    w: WorkspaceClient, fake_workspace: FakeWorkspace
) -> None:
    fake_workspace.faults.add("POST", r"/workspace/mkdirs$", 403, times=5)
    with pytest.raises(PermissionDenied):
        w.workspace.mkdirs(f"{HOME}/x")
    assert statuses(fake_workspace, "mkdirs") == [403]


def test_dropped_connection_is_retried_by_the_sdk(
    w: WorkspaceClient, fake_workspace: FakeWorkspace
) -> None:
    fake_workspace.faults.drop_connection(r"/scim/v2/Me$")
    assert w.current_user.me().user_name == "fake.user@example.com"
    assert statuses(fake_workspace, "scim/v2/Me") == [None, 200]


def test_delay_beyond_the_http_timeout_is_retried(fake_workspace: FakeWorkspace) -> None:
    client = WorkspaceClient(
        config=Config(
            host=fake_workspace.host,
            token=fake_workspace.token,
            http_timeout_seconds=0.3,
            retry_timeout_seconds=10,
        )
    )
    fake_workspace.faults.delay(1.0, r"/workspace/get-status$")
    assert client.workspace.get_status(HOME).path == HOME
    assert len(fake_workspace.requests(path_regex="get-status")) == 2


def test_a_fault_can_match_the_request_body(
    w: WorkspaceClient, fake_workspace: FakeWorkspace
) -> None:
    w.workspace.mkdirs(f"{HOME}/keep")
    w.workspace.mkdirs(f"{HOME}/lock")
    fault = fake_workspace.faults.add("POST", r"/workspace/delete$", 500, body_regex=r"/lock\b")
    w.workspace.delete(f"{HOME}/keep")
    with pytest.raises(DatabricksError, match="Injected fault: HTTP 500"):
        w.workspace.delete(f"{HOME}/lock")
    assert fault.fired == 1
    assert statuses(fake_workspace, "workspace/delete") == [200, 500]


def test_a_fault_can_let_the_first_matches_through(
    w: WorkspaceClient, fake_workspace: FakeWorkspace
) -> None:
    fault = fake_workspace.faults.add("GET", r"/jobs/list$", 500, after=2)
    assert list(w.jobs.list()) == []
    assert list(w.jobs.list()) == []
    with pytest.raises(DatabricksError):
        list(w.jobs.list())
    assert (fault.passed, fault.fired) == (2, 1)
    assert list(w.jobs.list()) == []


def test_wrong_token_is_unauthenticated(fake_workspace: FakeWorkspace) -> None:
    client = WorkspaceClient(host=fake_workspace.host, token="dapi-wrong")
    with pytest.raises(Unauthenticated):
        client.current_user.me()
    assert statuses(fake_workspace, "scim/v2/Me") == [401]


def test_token_is_never_written_to_the_log(
    w: WorkspaceClient, fake_workspace: FakeWorkspace
) -> None:
    fake_workspace.faults.add(None, r"/scim/v2/Me$", 429, times=1, retry_after=0)
    w.current_user.me()
    w.workspace.upload(f"{HOME}/t.txt", fake_workspace.token.encode(), format=ImportFormat.AUTO)
    w.jobs.create(name=fake_workspace.token, environments=ENVIRONMENTS, tasks=[wheel_task("a")])

    assert len(fake_workspace.log) >= 4
    assert fake_workspace.token not in repr(fake_workspace.log)
    authorizations = {r.headers.get("Authorization") for r in fake_workspace.requests("GET", "Me")}
    assert authorizations == {"Bearer <redacted>"}


# ------------------------------------------------------------------------ runs


def test_run_progresses_from_pending_to_success_in_dependency_order(
    w: WorkspaceClient,
) -> None:
    job_id = w.jobs.create(
        name="chain", environments=ENVIRONMENTS, tasks=[wheel_task("a"), wheel_task("b", "a")]
    ).job_id
    assert job_id is not None
    run_id = w.jobs.run_now(job_id).run_id
    assert run_id is not None

    seen = list(poll(w, run_id))

    life = [r.state.life_cycle_state.value for r in seen if r.state and r.state.life_cycle_state]
    assert life[0] == "PENDING" and "RUNNING" in life and life[-1] == "TERMINATED"
    final = seen[-1]
    assert final.state is not None and final.state.result_state == jobs.RunResultState.SUCCESS
    assert final.status is not None and final.status.termination_details is not None
    assert final.status.termination_details.code == jobs.TerminationCodeCode.SUCCESS
    assert final.run_page_url and str(run_id) in final.run_page_url
    for run in seen:
        tasks = final_tasks(run)
        b_state = tasks["b"].state
        a_state = tasks["a"].state
        assert a_state is not None and b_state is not None
        if b_state.life_cycle_state == jobs.RunLifeCycleState.RUNNING:
            assert a_state.result_state == jobs.RunResultState.SUCCESS


def test_failed_task_marks_dependants_upstream_failed(
    w: WorkspaceClient, fake_workspace: FakeWorkspace
) -> None:
    fake_workspace.fail_task("b", "boom")
    tasks = [wheel_task("a"), wheel_task("b", "a"), wheel_task("c", "b"), wheel_task("d", "a")]
    job_id = w.jobs.create(name="f", environments=ENVIRONMENTS, tasks=tasks).job_id
    assert job_id is not None
    run_id = w.jobs.run_now(job_id).run_id
    assert run_id is not None

    final = list(poll(w, run_id))[-1]

    assert final.state is not None and final.state.result_state == jobs.RunResultState.FAILED
    by_key = final_tasks(final)
    results = {k: t.state.result_state for k, t in by_key.items() if t.state}
    assert results == {
        "a": jobs.RunResultState.SUCCESS,
        "b": jobs.RunResultState.FAILED,
        "c": jobs.RunResultState.UPSTREAM_FAILED,
        "d": jobs.RunResultState.SUCCESS,
    }
    c_state = by_key["c"].state
    assert c_state is not None and c_state.life_cycle_state == jobs.RunLifeCycleState.SKIPPED
    b_state = by_key["b"].state
    assert b_state is not None and b_state.state_message == "boom"


def test_cancel_ends_the_run_canceled(w: WorkspaceClient) -> None:
    job_id = w.jobs.create(
        name="c", environments=ENVIRONMENTS, tasks=[wheel_task("a"), wheel_task("b", "a")]
    ).job_id
    assert job_id is not None
    run_id = w.jobs.run_now(job_id).run_id
    assert run_id is not None
    w.jobs.get_run(run_id)
    w.jobs.get_run(run_id)

    w.jobs.cancel_run(run_id)
    final = list(poll(w, run_id))[-1]

    assert final.state is not None
    assert final.state.life_cycle_state == jobs.RunLifeCycleState.TERMINATED
    assert final.state.result_state == jobs.RunResultState.CANCELED
    assert final.state.user_cancelled_or_timedout is True
    b_state = final_tasks(final)["b"].state
    assert b_state is not None and b_state.result_state == jobs.RunResultState.UPSTREAM_CANCELED


def test_lost_response_to_create_is_retried_and_duplicates_the_job(
    w: WorkspaceClient, fake_workspace: FakeWorkspace
) -> None:
    fake_workspace.faults.drop_response(r"/jobs/create$")
    w.jobs.create(name="dup", environments=ENVIRONMENTS, tasks=[wheel_task("a")])
    assert statuses(fake_workspace, "jobs/create") == [200, 200]
    assert [j["settings"]["name"] for j in fake_workspace.jobs.values()] == ["dup", "dup"]


def test_runs_advance_with_elapsed_time_when_a_step_is_set(
    w: WorkspaceClient, fake_workspace: FakeWorkspace
) -> None:
    fake_workspace.run_step_seconds = 0.05
    job_id = w.jobs.create(name="t", environments=ENVIRONMENTS, tasks=[wheel_task("a")]).job_id
    assert job_id is not None
    run_id = w.jobs.run_now(job_id).run_id
    assert run_id is not None
    time.sleep(0.2)
    run = w.jobs.get_run(run_id)
    assert run.state is not None and run.state.result_state == jobs.RunResultState.SUCCESS
