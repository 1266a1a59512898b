"""The live table of `kedro dab run` on a terminal shows every task state a run can report."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from kedro_dab.deploy.runs import _RESULT_TO_STATE
from kedro_dab.show import TaskProgress


@pytest.mark.parametrize("state", sorted(set(_RESULT_TO_STATE.values()) | {"future result"}))
def test_the_live_table_on_a_terminal_shows_the_task_state(state: str) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)

    with TaskProgress(console, ["task_a"], "run 1") as progress:
        progress.update("task_a", state, 1.0)

    assert state in out.getvalue()
