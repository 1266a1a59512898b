"""`kedro dab deploy --env X`: the deployed tasks run with exactly the env the plan used."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.deploy_helpers import copy_example, dab, error_lines, only_job, output
from tests.fake_workspace import FakeWorkspace

pytestmark = pytest.mark.e2e


def task_envs(ws: FakeWorkspace) -> set[str]:
    out = set()
    for task in only_job(ws)["settings"]["tasks"]:
        parameters = task["python_wheel_task"]["parameters"]
        out.add(parameters[parameters.index("--env") + 1])
    return out


def test_deploy_with_env_gives_the_deployed_tasks_exactly_that_env(
    tmp_path: Path, fake_workspace: FakeWorkspace
) -> None:
    project = copy_example(tmp_path)

    result = dab(project, fake_workspace, "deploy", "--engine", "sdk", "--env", "base")

    assert result.returncode == 0, output(result)
    assert task_envs(fake_workspace) == {"base"}


def test_deploy_with_the_local_env_is_refused_in_one_line(
    tmp_path: Path, fake_workspace: FakeWorkspace
) -> None:
    project = copy_example(tmp_path)

    result = dab(project, fake_workspace, "deploy", "--engine", "sdk", "--env", "local")

    assert result.returncode == 2, output(result)
    (line,) = error_lines(result)
    assert "'local' is never shipped" in line
    assert fake_workspace.jobs == {}
