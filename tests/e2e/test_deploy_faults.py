"""The fault corpus: deploy and destroy converge, whatever happened before.

Each case prepares a history on a fresh fake workspace (a deploy, a job deleted in the UI, a lost
state file, a twin, a corrupt lock...), injects faults (429, 503, 500, 403, delays, dropped
connections, lost responses), runs a deploy or a destroy and then checks the workspace: exactly
one job per configured key (none after a destroy), the lock free, the token nowhere in what was
said or stored. A second, fault-free run of the same command then succeeds and converges too.

The cases run in-process, through the real databricks-sdk over real HTTP, on one copy of the
example project with its wheel built once.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kedro_dab.build import build_wheel
from kedro_dab.bundle.layout import shipped_conf_files
from kedro_dab.deploy import engines
from kedro_dab.deploy.sdk import DeployReport
from kedro_dab.deploy.target import Target, load_target
from kedro_dab.errors import DabError
from tests.e2e.deploy_helpers import (
    JOB,
    BuiltProject,
    InProcessRun,
    bundle_root,
    copy_example,
    lock_path,
    state_path,
)
from tests.fake_workspace import FakeWorkspace

pytestmark = pytest.mark.e2e

EXTRA = "reporting_only"
"""A second job, configured in some histories and removed from the configuration later."""


@dataclass(frozen=True)
class Project(BuiltProject):
    """The example project, bundled and built once for every case: `target` has one job,
    `two_jobs` also `EXTRA`; `files` is the shipped conf."""

    two_jobs: Target


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = copy_example(tmp_path_factory.mktemp("faults"))
    wheel = build_wheel(root)
    one = load_target(root, "dev")
    extra = {**one.jobs[JOB], "name": "reporting only"}
    two = dataclasses.replace(
        one,
        jobs={**one.jobs, EXTRA: extra},
        job_files={**one.job_files, EXTRA: one.job_files[JOB]},
    )
    conf = {
        f"conf/{rel.as_posix()}": (root / "conf" / rel).read_bytes()
        for rel in shipped_conf_files(root / "conf")
    }
    return Project(root=root, target=one, wheel=wheel, files=conf, two_jobs=two)


class Run(InProcessRun[Project]):
    """One case's workspace, and what the code under test said."""

    def jobs_by_key(self) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {}
        for job_id, job in sorted(self.ws.jobs.items()):
            tags = job["settings"].get("tags") or {}
            if tags.get("kedro_dab_target") == "dev":
                found.setdefault(tags.get("kedro_dab_job", "?"), []).append(job_id)
        return found


# --- histories: what happened before the faulted command -------------------------------------


def fresh(run: Run) -> None:
    """Nothing deployed yet."""


def deployed(run: Run) -> None:
    run.deploy()


def deployed_two(run: Run) -> None:
    run.deploy(run.project.two_jobs)


def job_deleted_in_ui(run: Run) -> None:
    run.deploy()
    run.ws.jobs.clear()


def state_lost(run: Run) -> None:
    run.deploy()
    run.ws.workspace.delete(state_path(run.ws), recursive=False)


def two_jobs_then_state_lost(run: Run) -> None:
    deployed_two(run)
    run.ws.workspace.delete(state_path(run.ws), recursive=False)


def twin_left_behind(run: Run) -> None:
    """A create retried after a lost response, in a deploy that then died."""
    run.ws.faults.drop_response(r"/jobs/create$", method="POST")
    # The listing after the create (which would find the twin) fails: the deploy dies.
    run.ws.faults.add("GET", r"/jobs/list$", status=500, after=1)
    with pytest.raises(DabError):
        run.deploy()
    run.ws.faults.clear()
    assert len(run.jobs_by_key()[JOB]) == 2, "the history did not leave a twin"


def settings_stale(run: Run) -> None:
    """Deployed, then the configuration changed (the next deploy resets the job)."""
    run.deploy()
    state = json.loads(run.ws.files[state_path(run.ws)])
    state["fingerprints"] = {JOB: "0" * 16}
    run.ws.put_workspace_file(state_path(run.ws), json.dumps(state).encode())


def conf_file_gone_on_both_sides(run: Run) -> None:
    """A conf file was deployed; it is deleted locally (the case's deploy omits it) and in the
    workspace by hand."""
    run.deploy(files={**run.project.files, "conf/base/old.yml": b"old: 1\n"})
    run.ws.workspace.delete(f"{bundle_root(run.ws)}/files/conf/base/old.yml", recursive=False)


def corrupt_lock(run: Run) -> None:
    run.deploy()
    run.ws.put_workspace_file(lock_path(run.ws), b'{"id": "dead-depl')


def held_lock_that_died(run: Run) -> None:
    run.deploy()
    holder = {"id": "dead", "user": "ci@example.com", "acquired_at": "2025-01-02T03:04:05Z"}
    run.ws.put_workspace_file(lock_path(run.ws), json.dumps(holder).encode())


def removed_job_deleted_in_ui(run: Run) -> None:
    deployed_two(run)
    state = json.loads(run.ws.files[state_path(run.ws)])
    del run.ws.jobs[state["jobs"][EXTRA]]


# --- the corpus ---------------------------------------------------------------------------------

Faults = Callable[[FakeWorkspace], object]
LOCK = r"deploy\.lock"


def none(ws: FakeWorkspace) -> None:
    """No fault."""


@dataclass(frozen=True)
class Case:
    """A history, faults, the command, and what it must end in."""

    history: Callable[[Run], None]
    faults: Faults
    command: str = "deploy"
    """deploy, deploy-approve (removed jobs approved), deploy-force-lock, deploy-two, destroy."""
    fails: str | None = None
    """A regex the error must match; None: the command succeeds."""
    keys: tuple[str, ...] = (JOB,)
    """The keys with exactly one job afterwards (none after a destroy)."""
    problem: str | None = None
    """A regex a reported (non-fatal) problem must match."""
    lock_left: bool = False
    """The faulted command may leave the lock (its message says so); the second run forces it."""


CASES: dict[str, Case] = {
    # First deploys under transient faults the SDK retries.
    "429 on jobs/create": Case(
        fresh, lambda ws: ws.faults.add("POST", r"/jobs/create$", status=429, retry_after=0)
    ),
    "503 on the wheel upload": Case(
        fresh,
        lambda ws: ws.faults.add("POST", r"/import-file/.*\.whl$", status=503, retry_after=0),
    ),
    "dropped connection on the wheel upload": Case(
        fresh, lambda ws: ws.faults.drop_connection(r"/import-file/.*\.whl$", method="POST")
    ),
    "dropped connection on scim/Me": Case(
        fresh, lambda ws: ws.faults.drop_connection(r"/scim/v2/Me$")
    ),
    "429 on jobs/list": Case(
        fresh, lambda ws: ws.faults.add("GET", r"/jobs/list$", status=429, retry_after=0)
    ),
    "slow workspace (0.2 s per mkdirs)": Case(
        fresh, lambda ws: ws.faults.delay(0.2, r"/workspace/mkdirs$", times=3)
    ),
    "lost response of jobs/create": Case(
        fresh, lambda ws: ws.faults.drop_response(r"/jobs/create$", method="POST")
    ),
    "lost responses of jobs/create, twice": Case(
        fresh, lambda ws: ws.faults.drop_response(r"/jobs/create$", method="POST", times=2)
    ),
    "lost response of the lock's create": Case(
        fresh, lambda ws: ws.faults.drop_response(rf"/import-file/.*{LOCK}$", method="POST")
    ),
    "lost response of the state write": Case(
        fresh,
        lambda ws: ws.faults.drop_response(r"/import-file/.*kedro-dab-state\.json$", method="POST"),
    ),
    # Hard failures: the deploy fails, nothing is duplicated, the lock is freed.
    "500 on jobs/create": Case(
        fresh,
        lambda ws: ws.faults.add("POST", r"/jobs/create$", status=500),
        fails=r"jobs/create.*HTTP 500",
    ),
    "permission denied on a conf upload": Case(
        fresh,
        lambda ws: ws.faults.add("POST", r"/import-file/.*catalog\.yml$", status=403),
        fails=r"permission denied on .*/files/conf/base/catalog\.yml",
    ),
    "500 on the state write": Case(
        fresh,
        lambda ws: ws.faults.add("POST", r"/import-file/.*kedro-dab-state\.json$", status=500),
        fails=r"kedro-dab-state\.json",
    ),
    "500 on jobs/list": Case(
        deployed,
        lambda ws: ws.faults.add("GET", r"/jobs/list$", status=500),
        fails=r"jobs/list",
    ),
    # The lock's release never replaces the deploy's result.
    "500 on the lock release, once": Case(
        deployed,
        lambda ws: ws.faults.add("POST", r"/workspace/delete$", status=500, body_regex=LOCK),
    ),
    "lost response of the lock release": Case(
        deployed,
        lambda ws: ws.faults.drop_response(r"/workspace/delete$", method="POST", body_regex=LOCK),
    ),
    "500 on every lock release": Case(
        deployed,
        lambda ws: ws.faults.add(
            "POST", r"/workspace/delete$", status=500, body_regex=LOCK, times=3
        ),
        problem=rf"the deploy lock .*{LOCK} could not be released.*--force-lock",
        lock_left=True,
    ),
    "500 on jobs/create and on the lock release": Case(
        fresh,
        lambda ws: [
            ws.faults.add("POST", r"/jobs/create$", status=500),
            ws.faults.add("POST", r"/workspace/delete$", status=500, body_regex=LOCK, times=3),
        ],
        fails=rf"jobs/create.*HTTP 500.*; and the deploy lock .*{LOCK} could not be released",
        lock_left=True,
    ),
    # Whatever happened before.
    "a job deleted in the UI": Case(job_deleted_in_ui, none),
    "a lost state file": Case(state_lost, none),
    "a twin left by an earlier deploy": Case(twin_left_behind, none),
    "a configuration change under 503 on jobs/reset": Case(
        settings_stale,
        lambda ws: ws.faults.add("POST", r"/jobs/reset$", status=503, retry_after=0),
    ),
    "a conf file gone on both sides": Case(conf_file_gone_on_both_sides, none),
    "a corrupt lock, with --force-lock": Case(corrupt_lock, none, command="deploy-force-lock"),
    "a corrupt lock, without --force-lock": Case(
        corrupt_lock, none, fails=r"not valid JSON.*--force-lock", lock_left=True
    ),
    "a lock held by a deploy that died, with --force-lock": Case(
        held_lock_that_died, none, command="deploy-force-lock"
    ),
    "a removed job kept (not approved)": Case(deployed_two, none, keys=(JOB, EXTRA)),
    "a removed job deleted (approved), its delete's response lost": Case(
        deployed_two,
        lambda ws: ws.faults.drop_response(r"/jobs/delete$", method="POST"),
        command="deploy-approve",
    ),
    "a removed job, state lost, kept": Case(two_jobs_then_state_lost, none, keys=(JOB, EXTRA)),
    "a removed job, state lost, deleted (approved)": Case(
        two_jobs_then_state_lost, none, command="deploy-approve"
    ),
    "a removed job already deleted in the UI (approved)": Case(
        removed_job_deleted_in_ui, none, command="deploy-approve"
    ),
    "two jobs under a lost jobs/create response": Case(
        fresh,
        lambda ws: ws.faults.drop_response(r"/jobs/create$", method="POST", after=1),
        command="deploy-two",
        keys=(JOB, EXTRA),
    ),
    # Destroy.
    "destroy of a target never deployed": Case(fresh, none, command="destroy", keys=()),
    "destroy after a job was deleted in the UI": Case(
        job_deleted_in_ui, none, command="destroy", keys=()
    ),
    "destroy after the state was lost": Case(state_lost, none, command="destroy", keys=()),
    "destroy, lost response of jobs/delete": Case(
        deployed,
        lambda ws: ws.faults.drop_response(r"/jobs/delete$", method="POST"),
        command="destroy",
        keys=(),
    ),
    "destroy, lost response of the folder delete": Case(
        deployed,
        lambda ws: ws.faults.drop_response(r"/workspace/delete$", method="POST"),
        command="destroy",
        keys=(),
    ),
    "destroy, 429 on jobs/list": Case(
        deployed,
        lambda ws: ws.faults.add("GET", r"/jobs/list$", status=429, retry_after=0),
        command="destroy",
        keys=(),
    ),
    "destroy, 500 on jobs/delete": Case(
        deployed_two,
        lambda ws: ws.faults.add("POST", r"/jobs/delete$", status=500),
        command="destroy",
        fails=r"job '.*' \(\d+\).*HTTP 500",
        keys=(),
    ),
}


@pytest.fixture
def run(project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Run]:
    from tests.fake_workspace.fixture import running_workspace

    with running_workspace(monkeypatch, tmp_path) as ws:
        yield Run(project, ws)


def command(run: Run, case: Case, *, second: bool = False) -> DeployReport | None:
    name = case.command
    if name == "destroy":
        run.destroy()
        return None
    return run.deploy(
        run.project.two_jobs if name == "deploy-two" else None,
        approve=name == "deploy-approve",
        force_lock=name == "deploy-force-lock" or (second and case.lock_left),
    )


def assert_converged(run: Run, case: Case, *, failed: bool) -> None:
    ws = run.ws
    jobs = run.jobs_by_key()
    for key, ids in jobs.items():
        assert len(ids) == 1, f"{len(ids)} jobs for key {key}: {ids}"
    if case.command == "destroy" and not failed:
        assert jobs == {}
        root = bundle_root(ws)
        assert not [p for p in [*ws.files, *ws.directories] if p.startswith(root)]
    elif case.command != "destroy" and not failed:
        assert set(jobs) == set(case.keys)
        state = json.loads(ws.files[state_path(ws)])
        assert state["jobs"] == {key: ids[0] for key, ids in jobs.items()}
    else:
        assert set(jobs) <= {JOB, EXTRA}
    if not case.lock_left:
        assert lock_path(ws) not in ws.files, "the deploy lock was left held"
    said = "\n".join(run.said)
    assert ws.token not in said
    assert [p for p, data in ws.files.items() if ws.token.encode() in data] == []


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_deploy_and_destroy_converge_under_the_fault(run: Run, case: Case) -> None:
    case.history(run)
    run.said.clear()
    case.faults(run.ws)

    error: DabError | None = None
    try:
        report = command(run, case)
    except DabError as exc:
        error, report = exc, None
    assert run.ws.token not in str(error)
    if case.fails is None:
        assert error is None, f"unexpected failure: {error}"
    else:
        assert error is not None, "the command should have failed"
        assert re.search(case.fails, str(error)), str(error)
    if case.problem is not None:
        assert report is not None and any(re.search(case.problem, p) for p in report.problems)
    elif report is not None:
        assert report.problems == []
    assert_converged(run, case, failed=error is not None)
    assert not run.ws.faults.pending, "a fault never fired: the case tests nothing"

    run.said.clear()
    again = command(run, case, second=True)
    assert again is None or again.problems == []
    assert_converged(run, dataclasses.replace(case, lock_left=False), failed=False)
    if case.command == "destroy":
        assert run.jobs_by_key() == {}
    else:
        assert set(run.jobs_by_key()) == set(case.keys)


def test_the_corpus_has_at_least_25_cases() -> None:
    assert len(CASES) >= 25


def actions(report: DeployReport) -> list[tuple[str, str]]:
    return sorted((change.key, change.action) for change in report.jobs)


@pytest.mark.parametrize(
    "history",
    [fresh, deployed, job_deleted_in_ui, state_lost, twin_left_behind, settings_stale],
    ids=lambda history: history.__name__,
)
def test_the_dry_run_shows_what_the_deploy_then_does(run: Run, history: Callable) -> None:
    history(run)
    reads = len(run.ws.log)
    planned = run.deploy(dry_run=True)
    assert {r.method for r in run.ws.log[reads:]} == {"GET"}
    done = run.deploy()
    assert actions(planned) == actions(done)
    assert planned.uploaded == done.uploaded


def test_a_dry_run_after_lost_state_shows_a_removed_job_found_by_its_tags(run: Run) -> None:
    two_jobs_then_state_lost(run)
    planned = run.deploy(dry_run=True)
    assert (EXTRA, "delete") in actions(planned)
    kept = run.deploy()
    assert (EXTRA, "keep") in actions(kept)
    assert run.approved == [[EXTRA]]


def test_an_unchanged_redeploy_lists_once_reads_each_job_once_and_writes_only_lock_and_state(
    run: Run,
) -> None:
    deployed_two(run)
    run.ws.clear_log()
    report = run.deploy(run.project.two_jobs)
    assert actions(report) == sorted([(JOB, "unchanged"), (EXTRA, "unchanged")])
    assert len(run.ws.requests("GET", r"/jobs/list$")) == 1
    read = sorted(r.query["job_id"] for r in run.ws.requests("GET", r"/jobs/get$"))
    assert read == sorted(str(job_id) for job_id in run.ws.jobs)


def test_a_first_deploy_of_two_jobs_lists_once_to_decide_and_once_for_twins(run: Run) -> None:
    run.deploy(run.project.two_jobs)
    assert len(run.ws.requests("GET", r"/jobs/list$")) == 2
    assert len(run.ws.requests("POST", r"/jobs/create$")) == 2


def test_destroy_lists_every_job_and_folder_before_it_asks(run: Run) -> None:
    deployed_two(run)
    asked: list[list[str]] = []

    def decline(lines: list[str]) -> bool:
        asked.append(lines)
        return False

    engines.destroy_with_sdk(
        run.project.root,
        "dev",
        profile=None,
        echo=run.said.append,
        client=run.workspace().client,
        confirm=decline,
    )
    (lines,) = asked
    assert len(run.ws.jobs) == 2, "declining must delete nothing"
    assert bundle_root(run.ws) in run.ws.directories
    assert any(line.startswith(f"job {JOB} (") for line in lines)
    assert any(line.startswith(f"job {EXTRA} (") for line in lines)
    assert f"folder {bundle_root(run.ws)}" in lines
    assert "Nothing deleted." in run.said


def test_upload_progress_reports_bytes(run: Run) -> None:
    run.deploy()
    wheel = run.project.wheel
    total = wheel.size + sum(len(data) for data in run.project.files.values())
    lines = [line for line in run.said if line.startswith("uploaded  ")]
    assert lines[0].startswith(f"uploaded  {wheel.path.name}  {wheel.size:,}/{wheel.size:,} bytes")
    assert lines[-1].endswith(f"({total:,}/{total:,} in all)")
    assert len(lines) == 1 + len(run.project.files)


# --- before anything is built, and the command line ----------------------------------------------


def test_the_build_leaves_no_build_folder_or_egg_info_in_the_project(project: Project) -> None:
    assert not (project.root / "build").exists()
    assert list(project.root.rglob("*.egg-info")) == []


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def kedro_dab(
    project: Path, *args: str, env: dict[str, str], stdin: str = ""
) -> tuple[int, str, str, float]:
    import subprocess

    from tests.e2e.deploy_helpers import bytecode_env
    from tests.support.kedro_projects import kedro_environ, kedro_executable

    started = time.monotonic()
    done = subprocess.run(
        [str(kedro_executable()), "dab", *args],
        cwd=project,
        env=kedro_environ({**bytecode_env(), **env}),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, done.stdout, done.stderr, time.monotonic() - started


def test_deploy_to_a_wrong_host_fails_in_seconds_naming_it_before_building(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.startswith("DATABRICKS_")]:
        monkeypatch.delenv(name)
    host = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("DATABRICKS_HOST", host)
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-not-a-real-token")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "absent.cfg"))
    example = copy_example(tmp_path)
    said: list[str] = []

    started = time.monotonic()
    with pytest.raises(DabError, match=rf"cannot reach Databricks at {host} within \d+ s"):
        engines.deploy_with_sdk(
            example,
            "dev",
            conf_dir="conf",
            profile=None,
            variables=(),
            dry_run=False,
            force_lock=False,
            confirm_delete=lambda keys: False,
            echo=said.append,
        )

    assert time.monotonic() - started < 8  # the SDK's two retry windows took ten minutes
    assert not (example / "dist").exists(), "the wheel was built before the host was checked"
    assert "building the project wheel" not in said


def test_connecting_to_a_closed_port_fails_within_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    from kedro_dab.deploy.workspace import WorkspaceError, connect

    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-not-a-real-token")
    host = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    with pytest.raises(WorkspaceError, match=rf"cannot reach Databricks at {host} .*refused"):
        connect(host, None)
    assert time.monotonic() - started < 8


def test_a_host_that_is_not_a_workspace_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from kedro_dab.deploy.workspace import WorkspaceError, connect

    class NotFound(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-not-a-real-token")
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with pytest.raises(WorkspaceError, match=rf"{host} does not look like a Databricks"):
            connect(host, None)
    finally:
        server.shutdown()
        server.server_close()


def test_a_wrong_token_fails_at_once_naming_the_host(run: Run) -> None:
    from kedro_dab.deploy.workspace import WorkspaceError, connect

    started = time.monotonic()
    run.ws.token = "dapi" + "0" * 32
    with pytest.raises(
        WorkspaceError, match=rf"cannot authenticate to Databricks at {run.ws.host}"
    ):
        connect(None, None)
    assert time.monotonic() - started < 5


def test_kedro_dab_destroy_lists_what_it_deletes_then_asks_and_keeps_all_when_declined(
    run: Run,
) -> None:
    deployed_two(run)
    ws = run.ws
    env = {"DATABRICKS_HOST": ws.host, "DATABRICKS_TOKEN": ws.token}

    code, out, err, _ = kedro_dab(
        run.project.root, "destroy", "--engine", "sdk", env=env, stdin="n\n"
    )

    assert code == 0, out + err
    state = json.loads(ws.files[state_path(ws)])
    listing = out.index("destroy of target 'dev' deletes:")
    question = out.index("Delete these 3 items from target 'dev'?")
    for key in (JOB, EXTRA):
        assert listing < out.index(f"job {key} ({state['jobs'][key]})") < question
    assert listing < out.index(f"folder {bundle_root(ws)}") < question
    assert "Nothing deleted." in out
    assert len(ws.jobs) == 2
    assert ws.token not in out + err
