"""The project's hooks run on each request as in `kedro run`; the start-up hooks run once; the
refusals when serving cannot start are one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.project.conftest import refusal_line
from tests.serving.conftest import KEDRO_1, running_server, serving_project
from tests.support.kedro_projects import kedro_environ, run_kedro, unique_package

HOOKS = """\
import json
import os

from kedro.framework.hooks import hook_impl


def _record(name, **facts):
    with open(os.environ["HOOK_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps({"hook": name, **facts}) + "\\n")


class RecordingHooks:
    @hook_impl
    def after_context_created(self, context):
        _record("after_context_created")

    @hook_impl
    def after_catalog_created(self, catalog):
        _record("after_catalog_created")

    @hook_impl
    def before_pipeline_run(self, run_params, pipeline, catalog):
        _record("before_pipeline_run", params=run_params.get("runtime_params") or {})

    @hook_impl
    def after_pipeline_run(self, run_params, run_result, pipeline, catalog):
        _record("after_pipeline_run")

    @hook_impl
    def before_node_run(self, node, catalog, inputs, is_async, run_id):
        _record("before_node_run", node=node.name)

    @hook_impl
    def after_node_run(self, node, catalog, inputs, outputs, is_async, run_id):
        _record("after_node_run", node=node.name)

    @hook_impl
    def on_node_error(self, error, node, catalog, inputs, is_async, run_id):
        _record("on_node_error", node=node.name, error=str(error))

    @hook_impl
    def on_pipeline_error(self, error, run_params, pipeline, catalog):
        _record("on_pipeline_error", error=str(error))

    @hook_impl
    def before_dataset_loaded(self, dataset_name, node):
        _record("before_dataset_loaded", dataset=dataset_name)

    @hook_impl
    def after_dataset_loaded(self, dataset_name, data, node):
        _record("after_dataset_loaded", dataset=dataset_name)

    @hook_impl
    def before_dataset_saved(self, dataset_name, data, node):
        _record("before_dataset_saved", dataset=dataset_name)

    @hook_impl
    def after_dataset_saved(self, dataset_name, data, node):
        _record("after_dataset_saved", dataset=dataset_name)
"""

STARTUP = {"after_context_created", "after_catalog_created"}


def _hooked_project(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    package = unique_package("kdab_hooked")
    project = serving_project(tmp_path, tmp_path_factory, package)
    (project / "src" / package / "hooks.py").write_text(HOOKS, encoding="utf-8")
    with (project / "src" / package / "settings.py").open("a", encoding="utf-8") as settings:
        settings.write(
            f"\nfrom {package}.hooks import RecordingHooks\n\nHOOKS = (RecordingHooks(),)\n"
        )
    return project


def _read(log: Path) -> list[dict[str, object]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


@pytest.mark.skipif(not KEDRO_1, reason="serving needs Kedro 1.x")
def test_each_request_runs_the_hooks_kedro_run_runs(tmp_path, tmp_path_factory):
    project = _hooked_project(tmp_path, tmp_path_factory)
    run_log, serve_log = tmp_path / "run.jsonl", tmp_path / "serve.jsonl"
    params_log = tmp_path / "run-params.jsonl"
    run_kedro(project, "run", "--pipelines", "trivial", env={"HOOK_LOG": str(run_log)}, check=True)
    in_kedro_run = [r for r in _read(run_log) if r["hook"] not in STARTUP]
    run_kedro(
        project,
        "run",
        "--pipelines",
        "trivial",
        "--params",
        "trivial.a=3",
        env={"HOOK_LOG": str(params_log)},
        check=True,
    )
    (kedro_params,) = [r["params"] for r in _read(params_log) if r["hook"] == "before_pipeline_run"]

    with running_server(project, extra_env={"HOOK_LOG": str(serve_log)}) as server:
        startup = _read(serve_log)
        first = server.invoke("trivial", {"params": {}}).json()
        second = server.invoke("trivial", {"params": {"trivial.a": 3}}).json()
    records = _read(serve_log)[len(startup) :]

    assert sorted(r["hook"] for r in startup) == sorted(STARTUP)
    assert [r["node"] for r in in_kedro_run if r["hook"] == "before_node_run"] == [
        "add_node",
        "scale_node",
        "report_node",
    ]
    assert first == {"outputs": {"answer": {"label": "plain", "value": 4.5}}}
    assert second == {"outputs": {"answer": {"label": "plain", "value": 7.5}}}
    per_request = len(records) // 2
    assert records[:per_request] == in_kedro_run
    assert records[per_request]["params"] == kedro_params
    assert [r for r in records[per_request:] if r["hook"] != "before_pipeline_run"] == [
        r for r in in_kedro_run if r["hook"] != "before_pipeline_run"
    ]


@pytest.mark.skipif(not KEDRO_1, reason="serving needs Kedro 1.x")
def test_a_failing_request_runs_the_error_hooks_a_failing_kedro_run_runs(
    tmp_path, tmp_path_factory
):
    project = _hooked_project(tmp_path, tmp_path_factory)
    rows = [{"width": 1, "explode": True}]
    (project / "data" / "rows.json").write_text(json.dumps(rows), encoding="utf-8")
    run_log, serve_log = tmp_path / "run.jsonl", tmp_path / "serve.jsonl"
    failed = run_kedro(
        project,
        "run",
        "--pipelines",
        "score",
        "--env",
        "oracle",
        env={"HOOK_LOG": str(run_log)},
    )
    in_kedro_run = [r for r in _read(run_log) if r["hook"] not in STARTUP]

    with running_server(project, extra_env={"HOOK_LOG": str(serve_log)}) as server:
        startup = len(_read(serve_log))
        answer = server.invoke("score-fresh", {"dataframe_records": rows})
    per_request = _read(serve_log)[startup:]

    assert failed.returncode != 0
    assert answer.status_code == 500
    assert {"on_node_error", "on_pipeline_error"} <= {r["hook"] for r in in_kedro_run}
    assert per_request == in_kedro_run


@pytest.mark.project
@pytest.mark.skipif(KEDRO_1, reason="the refusal is for Kedro 0.19")
def test_serve_refuses_kedro_0_19_in_one_line(tmp_path, tmp_path_factory):
    project = serving_project(tmp_path, tmp_path_factory)
    line = refusal_line(run_kedro(project, "dab", "serve"))
    assert "kedro dab serve needs Kedro 1.x" in line


@pytest.mark.project
def test_serve_without_the_extra_says_what_to_install(tmp_path, tmp_path_factory):
    project = serving_project(tmp_path, tmp_path_factory)
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    # Python refuses to import a module whose sys.modules entry is None.
    (blocked / "sitecustomize.py").write_text(
        "import sys\nsys.modules['fastapi'] = None\nsys.modules['uvicorn'] = None\n",
        encoding="utf-8",
    )
    environ = kedro_environ({"PYTHONPATH": os.pathsep.join([str(blocked)])})
    result = subprocess.run(
        [sys.executable, "-m", "kedro", "dab", "serve"],
        cwd=project,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )
    line = refusal_line(result)
    assert line == "Error: serving needs FastAPI and uvicorn: pip install 'kedro-dab[serve]'"


@pytest.mark.skipif(not KEDRO_1, reason="serving needs Kedro 1.x")
def test_serving_an_unknown_endpoint_is_refused_in_one_line(tmp_path, tmp_path_factory):
    project = serving_project(tmp_path, tmp_path_factory)
    line = refusal_line(run_kedro(project, "dab", "serve", "scorre"))
    assert line == (
        "Error: no serving endpoint 'scorre' in dab.yml; endpoints: score, score-fresh, trivial"
    )
