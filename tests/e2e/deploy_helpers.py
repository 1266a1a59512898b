"""Helpers for the deploy end-to-end tests: the example project, the fake workspace, `kedro dab`,
and in-process deploys and destroys through the real databricks-sdk (`InProcessRun`)."""

from __future__ import annotations

import atexit
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import pytest
from databricks.sdk.clock import Clock

from kedro_dab.build import Artifact
from kedro_dab.deploy import engines
from kedro_dab.deploy.sdk import DeployReport, deploy_target
from kedro_dab.deploy.target import Target
from kedro_dab.deploy.workspace import Workspace
from tests.fake_workspace import FakeWorkspace, RecordedRequest
from tests.fake_workspace.fixture import running_workspace
from tests.support.kedro_projects import run_kedro

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "spaceflights"
BUNDLE = "spaceflights"
JOB = "spaceflights"
TASKS = {
    "preprocess",
    "create_model_input_table_node",
    "active_modelling_pipeline",
    "candidate_modelling_pipeline",
    "reporting",
}


def copy_example(dest_parent: Path, name: str = "spaceflights", *, app: bool = False) -> Path:
    """A fresh copy of the example project, without build output or local state. Without
    `app`, its endpoint is not deployed as a Databricks App (dab.yml and bundle both), so a
    deploy makes only the job."""
    project = dest_parent / name
    shutil.copytree(
        EXAMPLE,
        project,
        ignore=shutil.ignore_patterns(".kedro-dab", "dist", "__pycache__", ".databricks"),
    )
    if not app:
        without_app(project)
    return project


def with_dev_workspace(project: Path, **settings: str) -> Path:
    """Set keys of the `dev` target's `workspace` in `project`'s databricks.yml (`host`,
    `root_path`)."""
    import yaml

    path = project / "databricks.yml"
    data = yaml.safe_load(path.read_text())
    data["targets"]["dev"].setdefault("workspace", {}).update(settings)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return project


def without_app(project: Path) -> None:
    """Opt the example's endpoint out of the Databricks App, as if it had never opted in."""
    dab = project / "conf" / "base" / "dab.yml"
    lines = dab.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.lstrip().startswith("app: true")]
    assert len(kept) == len(lines) - 1, "the example no longer opts in with `app: true`"
    dab.write_text("".join(kept), encoding="utf-8")
    shutil.rmtree(project / "resources" / "kedro-dab" / "apps")
    (project / "resources" / "kedro-dab" / "serving.apps.yml").unlink()


@contextmanager
def module_workspace(tmp_dir: Path) -> Iterator[FakeWorkspace]:
    """A fake workspace for a whole module, environment prepared as the `fake_workspace`
    fixture prepares it."""
    with pytest.MonkeyPatch.context() as patch, running_workspace(patch, tmp_dir) as workspace:
        yield workspace


_bytecode_dir: list[str] = []


def bytecode_env() -> dict[str, str]:
    """Lets the `kedro` subprocesses of this test process share compiled bytecode in a temporary
    folder, so that each does not compile databricks-sdk again when the environment turns
    bytecode writing off. Behaviour is otherwise unchanged."""
    if not _bytecode_dir:
        folder = tempfile.mkdtemp(prefix="kedro-dab-e2e-pycache-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _bytecode_dir.append(folder)
    return {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": _bytecode_dir[0]}


def workspace_env(ws: FakeWorkspace) -> dict[str, str]:
    """Environment of a `kedro dab` subprocess talking to `ws`, polling runs quickly."""
    return {
        **bytecode_env(),
        "DATABRICKS_HOST": ws.host,
        "DATABRICKS_TOKEN": ws.token,
        "KEDRO_DAB_POLL_SECONDS": "0.01",
    }


def dab(
    project: Path, ws: FakeWorkspace, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`kedro dab *args` in `project` against `ws`. The workspace token never appears in the
    command's output, whatever the command does."""
    result = run_kedro(project, "dab", *args, env={**workspace_env(ws), **(env or {})})
    for name, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        assert ws.token not in text, f"the token leaked into the {name} of kedro dab {args}"
    return result


def output(result: subprocess.CompletedProcess[str]) -> str:
    """stdout and stderr, for failure messages."""
    return (
        f"exit {result.returncode}\n--- stdout ---\n{result.stdout}"
        f"\n--- stderr ---\n{result.stderr}"
    )


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The `Error: ...` lines a failed command printed."""
    return [line for line in result.stderr.splitlines() if line.startswith("Error:")]


def bundle_root(ws: FakeWorkspace, target: str = "dev") -> str:
    """The default `workspace.root_path` of the example's target."""
    return f"/Workspace/Users/{ws.user_name}/.bundle/{BUNDLE}/{target}"


def state_path(ws: FakeWorkspace, target: str = "dev") -> str:
    """Where the SDK engine keeps its deployment state."""
    return f"{bundle_root(ws, target)}/state/kedro-dab-state.json"


def lock_path(ws: FakeWorkspace, target: str = "dev") -> str:
    """The deploy lock of a target."""
    return f"{bundle_root(ws, target)}/state/deploy.lock"


def only_job(ws: FakeWorkspace) -> dict[str, Any]:
    """The one job in the workspace (fails when there are none or several)."""
    assert len(ws.jobs) == 1, f"expected one job, found {sorted(ws.jobs)}"
    return next(iter(ws.jobs.values()))


def deploy_example(ws: FakeWorkspace, tmp_path: Path) -> tuple[Path, int]:
    """The example copied under `tmp_path` and deployed by the SDK engine: its folder and the
    id of its one job."""
    project = copy_example(tmp_path)
    assert dab(project, ws, "deploy", "--engine", "sdk").returncode == 0
    return project, int(only_job(ws)["job_id"])


def read_state(ws: FakeWorkspace, target: str = "dev") -> dict[str, Any]:
    """The deployment state file as stored in the fake workspace."""
    return json.loads(ws.files[state_path(ws, target)])


def writes(ws: FakeWorkspace) -> list[str]:
    """`METHOD path` of every logged request that is not a read."""
    return [f"{r.method} {r.path}" for r in ws.log if r.method not in ("GET", "HEAD")]


def uploaded_paths(log: Iterable[RecordedRequest]) -> list[str]:
    """Workspace paths written with import-file, in order."""
    prefix = "/api/2.0/workspace-files/import-file"
    return [
        r.path[len(prefix) :]
        for r in log
        if r.method == "POST" and r.path.startswith(prefix + "/") and r.status == 200
    ]


def local_wheel(project: Path) -> Path:
    """The one stamped wheel in the project's dist/."""
    wheels = sorted((project / "dist").glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@dataclass
class Deployed:
    """The example, deployed with the SDK engine to a module's fake workspace."""

    project: Path
    ws: FakeWorkspace


@contextmanager
def deployed_example(base: Path) -> Iterator[Deployed]:
    """A copy of the example under `base`, deployed to a fresh fake workspace."""
    project = copy_example(base)
    with module_workspace(base) as ws:
        result = dab(project, ws, "deploy", "--engine", "sdk")
        assert result.returncode == 0, output(result)
        yield Deployed(project, ws)


def start_kedro_dab(project: Path, ws: FakeWorkspace, *args: str) -> subprocess.Popen[str]:
    """`kedro dab *args` started in `project` against `ws`, its output on one pipe."""
    from tests.support.kedro_projects import kedro_environ, kedro_executable

    env = {**kedro_environ(workspace_env(ws)), "KEDRO_DAB_POLL_SECONDS": "0.5"}
    return subprocess.Popen(
        [str(kedro_executable()), "dab", *args],
        cwd=project,
        env=env,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def interrupt_run(
    project: Path, ws: FakeWorkspace, timeout: float, answer: str = "y"
) -> tuple[int, str]:
    """Start `kedro dab run`, send SIGINT once the run is announced, answer the cancel prompt
    with `answer`: (exit code, combined output)."""
    import os
    import signal

    process = start_kedro_dab(project, ws, "run")
    assert process.stdout is not None and process.stdin is not None
    for line in process.stdout:
        if line.startswith("run "):
            break
    os.kill(process.pid, signal.SIGINT)
    out, _ = process.communicate(f"{answer}\n", timeout=timeout)
    return process.returncode, out


class QuickClock(Clock):
    """The SDK's retry back-off, a hundred times faster."""

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds / 100)


@dataclass(frozen=True)
class BuiltProject:
    """A copy of the example, its wheel built once: what an in-process deploy of `target` ships
    (`files`: paths relative to the project, and their bytes)."""

    root: Path
    target: Target
    wheel: Artifact
    files: dict[str, bytes]


ProjectT = TypeVar("ProjectT", bound=BuiltProject)


@dataclass
class InProcessRun(Generic[ProjectT]):
    """One case's fake workspace, deployed to and destroyed in-process through the real
    databricks-sdk (its retries on a `QuickClock`), and what the code under test said (`said`)
    and which removals it asked to approve (`approved`)."""

    project: ProjectT
    ws: FakeWorkspace
    said: list[str] = field(default_factory=list)
    approved: list[list[str]] = field(default_factory=list)

    def workspace(self) -> Workspace:
        return Workspace(self.ws.client(clock=QuickClock(), retry_timeout_seconds=20))

    def deploy(
        self,
        target: Target | None = None,
        *,
        approve: bool = False,
        force_lock: bool = False,
        dry_run: bool = False,
        files: dict[str, bytes] | None = None,
    ) -> DeployReport:
        """Deploy `target` (the project's by default) with `files` (the project's by default),
        answering `approve` when asked to delete what the configuration no longer has."""

        def confirm(keys: list[str]) -> bool:
            self.approved.append(keys)
            return approve

        return deploy_target(
            self.workspace(),
            target or self.project.target,
            self.project.root,
            self.project.wheel,
            self.project.files if files is None else files,
            dry_run=dry_run,
            force_lock=force_lock,
            confirm_delete=confirm,
            echo=self.said.append,
        )

    def destroy(self) -> None:
        """Destroy the project's `dev` target, approving everything."""
        engines.destroy_with_sdk(
            self.project.root,
            "dev",
            profile=None,
            echo=self.said.append,
            client=self.workspace().client,
        )
