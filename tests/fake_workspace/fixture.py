"""Pytest fixture ``fake_workspace``: a started :class:`FakeWorkspace`, stopped after the test.

While the test runs, ``DATABRICKS_*`` variables are cleared and ``DATABRICKS_HOST`` /
``DATABRICKS_TOKEN`` point at the fake, so code that builds ``WorkspaceClient()`` from the
environment talks to the fake and never to a real workspace. ``NO_PROXY`` covers loopback.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .server import FakeWorkspace


@pytest.fixture
def fake_workspace(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FakeWorkspace]:
    """A fake Databricks workspace on 127.0.0.1, fresh for each test."""
    for name in list(os.environ):
        if name.startswith("DATABRICKS_"):
            monkeypatch.delenv(name)
    config_dir = tmp_path_factory.mktemp("databrickscfg")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(config_dir / "absent.cfg"))
    for name in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(name, "")
        monkeypatch.setenv(name, ",".join(filter(None, [current, "127.0.0.1", "localhost"])))
    workspace = FakeWorkspace().start()
    monkeypatch.setenv("DATABRICKS_HOST", workspace.host)
    monkeypatch.setenv("DATABRICKS_TOKEN", workspace.token)
    try:
        yield workspace
    finally:
        workspace.close()
    if workspace.internal_errors:
        pytest.fail(
            "the fake workspace failed internally:\n" + "\n".join(workspace.internal_errors),
            pytrace=False,
        )
