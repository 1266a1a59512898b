"""Pytest fixture ``fake_workspace``: a started :class:`FakeWorkspace`, stopped after the test.

While the test runs, ``DATABRICKS_*`` variables are cleared and ``DATABRICKS_HOST`` /
``DATABRICKS_TOKEN`` point at the fake, so code that builds ``WorkspaceClient()`` from the
environment talks to the fake and never to a real workspace. ``NO_PROXY`` covers loopback.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .server import FakeWorkspace


@contextmanager
def running_workspace(patch: pytest.MonkeyPatch, config_dir: Path) -> Iterator[FakeWorkspace]:
    """A started fake workspace, with the environment pointing at it and nowhere else: no other
    DATABRICKS_* variable, no ~/.databrickscfg, loopback exempt from proxies. Fails the test if
    the fake broke internally."""
    for name in list(os.environ):
        if name.startswith("DATABRICKS_"):
            patch.delenv(name)
    patch.setenv("DATABRICKS_CONFIG_FILE", str(config_dir / "absent.cfg"))
    for name in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(name, "")
        patch.setenv(name, ",".join(filter(None, [current, "127.0.0.1", "localhost"])))
    workspace = FakeWorkspace().start()
    patch.setenv("DATABRICKS_HOST", workspace.host)
    patch.setenv("DATABRICKS_TOKEN", workspace.token)
    try:
        yield workspace
    finally:
        workspace.close()
    if workspace.internal_errors:
        pytest.fail(
            "the fake workspace failed internally:\n" + "\n".join(workspace.internal_errors),
            pytrace=False,
        )


@pytest.fixture
def fake_workspace(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FakeWorkspace]:
    """A fake Databricks workspace on 127.0.0.1, fresh for each test."""
    with running_workspace(monkeypatch, tmp_path_factory.mktemp("databrickscfg")) as workspace:
        yield workspace
