"""`kedro dab deploy` with the SDK engine: the deployed tasks run with exactly the env the plan
used, and no private conf file reaches the workspace."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.deploy_helpers import (
    copy_example,
    dab,
    error_lines,
    module_workspace,
    only_job,
    output,
    uploaded_paths,
)
from tests.fake_workspace import FakeWorkspace

pytestmark = pytest.mark.e2e

PRIVATE = {
    "conf/base/credentials/warehouse.yml": "warehouse:\n  token: from-my-laptop\n",
    "conf/base/.env": "TOKEN=from-my-laptop\n",
    "conf/base/draft_catalog.yml": "draft: {type: MemoryDataset}\n",
}


@pytest.fixture(scope="module")
def deployed_with_env(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[FakeWorkspace, subprocess.CompletedProcess[str]]]:
    """The example with private conf files (one of them only in .gitignore), deployed with
    --env base."""
    base = tmp_path_factory.mktemp("deploy-env")
    project = copy_example(base)
    for rel, text in PRIVATE.items():
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(text, encoding="utf-8")
    with (project / ".gitignore").open("a", encoding="utf-8") as ignore:
        ignore.write("conf/**/draft_*\n")
    with module_workspace(base) as ws:
        yield ws, dab(project, ws, "deploy", "--engine", "sdk", "--env", "base")


def test_deploy_with_env_gives_the_deployed_tasks_exactly_that_env(
    deployed_with_env: tuple[FakeWorkspace, subprocess.CompletedProcess[str]],
) -> None:
    ws, result = deployed_with_env
    assert result.returncode == 0, output(result)

    envs = set()
    for task in only_job(ws)["settings"]["tasks"]:
        parameters = task["python_wheel_task"]["parameters"]
        envs.add(parameters[parameters.index("--env") + 1])
    assert envs == {"base"}


def test_credentials_env_files_and_gitignored_conf_never_reach_the_workspace(
    deployed_with_env: tuple[FakeWorkspace, subprocess.CompletedProcess[str]],
) -> None:
    ws, result = deployed_with_env
    assert result.returncode == 0, output(result)

    uploaded = uploaded_paths(ws.log)
    assert any(p.endswith("/conf/base/catalog.yml") for p in uploaded), uploaded
    for rel in PRIVATE:
        assert not any(p.endswith("/" + rel) for p in uploaded), rel


def test_deploy_with_the_local_env_is_refused_in_one_line(
    tmp_path: Path, fake_workspace: FakeWorkspace
) -> None:
    project = copy_example(tmp_path)

    result = dab(project, fake_workspace, "deploy", "--engine", "sdk", "--env", "local")

    assert result.returncode == 2, output(result)
    (line,) = error_lines(result)
    assert "'local' is never shipped" in line
    assert fake_workspace.jobs == {}
