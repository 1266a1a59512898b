"""Databricks Connect: clear errors without the extra, version checks, and the session the
hook opens. databricks-connect cannot reach a workspace here, so the builder it exposes is
replaced by a recording stand-in; everything of kedro-dab's own runs for real."""

from __future__ import annotations

import sys
import types

import pytest

from kedro_dab import connect
from kedro_dab.connect import ConnectError, ConnectHooks, ConnectSettings
from tests.support.kedro_projects import run_kedro

pytestmark = pytest.mark.project

PIPELINE = """
from kedro.pipeline import Pipeline, node


def one():
    return 1


def create_pipeline(**kwargs):
    return Pipeline([node(one, None, "x", name="one")])
"""


def test_connect_without_the_extra_fails_with_one_line_saying_what_to_install(project_factory):
    pytest.importorskip("kedro")
    if connect._installed("databricks-connect"):
        pytest.skip("databricks-connect is installed here")
    project = project_factory(pipelines={"p": PIPELINE})
    result = run_kedro(project, "dab", "run", "--connect", "--serverless")
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert "pip install 'kedro-dab[connect]'" in errors[0]
    assert "Traceback" not in result.stderr + result.stdout


def fake_versions(monkeypatch: pytest.MonkeyPatch, **versions: str) -> None:
    monkeypatch.setattr(connect, "_installed", lambda name: versions.get(name))


def test_pyspark_beside_databricks_connect_is_refused(monkeypatch):
    fake_versions(monkeypatch, **{"databricks-connect": "15.4.3", "pyspark": "3.5.1"})
    with pytest.raises(ConnectError, match="pip uninstall pyspark"):
        connect.check_environment()


def test_recent_databricks_connect_on_an_old_python_is_refused(monkeypatch):
    fake_versions(monkeypatch, **{"databricks-connect": "16.4.2"})
    monkeypatch.setattr(connect.sys, "version_info", (3, 11, 9))
    with pytest.raises(ConnectError, match=r"needs Python 3\.12"):
        connect.check_environment()


def test_matching_versions_pass(monkeypatch):
    fake_versions(monkeypatch, **{"databricks-connect": "15.4.3"})
    assert connect.check_environment() == "15.4.3"


@pytest.fixture
def recording_builder(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    calls: list[tuple] = []

    class Builder:
        def __getattr__(self, name):
            def record(*args):
                calls.append((name, *args))
                return self

            return record

    module = types.ModuleType("databricks.connect")
    module.DatabricksSession = types.SimpleNamespace(builder=Builder())
    monkeypatch.setitem(sys.modules, "databricks.connect", module)
    return calls


def test_session_uses_the_profile_and_cluster(recording_builder):
    connect.open_session(ConnectSettings(profile="dev", cluster_id="0123-abc"))
    assert recording_builder == [("profile", "dev"), ("clusterId", "0123-abc"), ("getOrCreate",)]


def test_session_on_serverless_compute(recording_builder):
    connect.open_session(ConnectSettings(serverless=True))
    assert recording_builder == [("serverless", True), ("getOrCreate",)]


def test_hook_opens_the_session_only_when_asked(recording_builder, monkeypatch):
    fake_versions(monkeypatch, **{"databricks-connect": "15.4.3"})
    monkeypatch.delenv(connect.ENV_VAR, raising=False)
    ConnectHooks().after_context_created(context=None)
    assert recording_builder == []
    monkeypatch.setenv(connect.ENV_VAR, ConnectSettings(profile="p", serverless=True).to_env())
    ConnectHooks().after_context_created(context=None)
    assert recording_builder == [("profile", "p"), ("serverless", True), ("getOrCreate",)]


def test_settings_survive_the_trip_through_the_environment():
    settings = ConnectSettings(profile="p", cluster_id="c", serverless=False)
    assert ConnectSettings.from_env(settings.to_env()) == settings
