"""Workspace paths as Databricks CLI v1.13.0 defines them: `~/` made the user's home and
`/Workspace` put before a path starting with `/` (both before references are resolved), the
other paths below the root unless set, `/Workspace${workspace.*_path}` rewritten, and then every
reference in them resolved (the CLI's DefineDefaultWorkspaceRoot, ExpandWorkspaceRoot,
DefineDefaultWorkspacePaths, PrependWorkspacePrefix, RewriteWorkspacePrefix mutators)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kedro_dab.errors import DabError
from tests.conformance.engine import USER, engine_view

HOME = f"/Workspace/Users/{USER}"
WHEEL_TASK = {"package_name": "p", "entry_point": "p"}


def view(root: Path, config: dict[str, Any], target: str | None = None) -> dict[str, Any]:
    tasks = config.pop("tasks", [{"task_key": "t", "python_wheel_task": WHEEL_TASK}])
    data = {
        "bundle": {"name": "b"},
        "resources": {"jobs": {"j": {"name": "j", "tasks": tasks}}},
        **config,
    }
    (root / "databricks.yml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return engine_view(root, target)


def test_a_variable_inside_a_home_root_path_is_resolved(tmp_path: Path) -> None:
    workspace = view(
        tmp_path,
        {
            "variables": {"team": {"default": "ml"}},
            "workspace": {"root_path": "~/${var.team}/${bundle.name}/${bundle.target}"},
        },
    )["workspace"]
    assert workspace["root_path"] == f"{HOME}/ml/b/default"
    assert workspace["file_path"] == f"{HOME}/ml/b/default/files"
    assert workspace["state_path"] == f"{HOME}/ml/b/default/state"


def test_a_users_root_path_gets_the_workspace_prefix_before_references_resolve(
    tmp_path: Path,
) -> None:
    root = "/Users/${workspace.current_user.userName}/.bundle/${bundle.name}/${bundle.target}"
    workspace = view(tmp_path, {"workspace": {"root_path": root}})["workspace"]
    assert workspace["root_path"] == f"{HOME}/.bundle/b/default"


def test_a_path_made_of_a_reference_gets_no_prefix(tmp_path: Path) -> None:
    workspace = view(
        tmp_path,
        {
            "variables": {"shared": {"default": "/Shared"}},
            "workspace": {"root_path": "${var.shared}/b"},
        },
    )["workspace"]
    assert workspace["root_path"] == "/Shared/b"


def test_a_set_file_path_may_name_the_root_path(tmp_path: Path) -> None:
    workspace = view(
        tmp_path,
        {"workspace": {"root_path": "/Shared/b", "file_path": "${workspace.root_path}/src"}},
    )["workspace"]
    assert (workspace["root_path"], workspace["file_path"]) == (
        "/Workspace/Shared/b",
        "/Workspace/Shared/b/src",
    )


def test_a_workspace_prefix_before_a_path_reference_is_dropped(tmp_path: Path) -> None:
    task = {
        "task_key": "t",
        "python_wheel_task": {**WHEEL_TASK, "parameters": ["/Workspace${workspace.file_path}/c"]},
    }
    jobs = view(tmp_path, {"tasks": [task]})["jobs"]
    parameters = jobs["j"]["tasks"][0]["python_wheel_task"]["parameters"]
    assert parameters == [f"{HOME}/.bundle/b/default/files/c"]


def test_a_root_path_that_names_itself_through_a_variable_is_a_cycle(tmp_path: Path) -> None:
    with pytest.raises(DabError, match="cycle detected"):
        view(
            tmp_path,
            {
                "variables": {"root": {"default": "${workspace.root_path}/x"}},
                "workspace": {"root_path": "${var.root}"},
            },
        )


def test_development_mode_accepts_a_root_path_whose_variable_names_the_user(
    tmp_path: Path,
) -> None:
    workspace = view(
        tmp_path,
        {
            "variables": {"me": {"default": "${workspace.current_user.short_name}"}},
            "workspace": {"root_path": "/Shared/${var.me}/b"},
            "targets": {"dev": {"mode": "development"}},
        },
    )["workspace"]
    assert workspace["root_path"] == "/Workspace/Shared/tester/b"


def test_only_the_root_path_has_its_home_expanded(tmp_path: Path) -> None:
    workspace = view(tmp_path, {"workspace": {"root_path": "~/r", "state_path": "~/s"}})
    assert (workspace["workspace"]["root_path"], workspace["workspace"]["state_path"]) == (
        f"{HOME}/r",
        "~/s",
    )
