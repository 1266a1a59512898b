"""Serving endpoints deployed as Databricks Apps: the bundle's `apps` resource and the app's
source folder, checked against the official schema and started the way Databricks Apps start
them."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from kedro_dab.bundle.render import split_generated
from tests.fake_workspace.fixture import running_workspace
from tests.serving.conftest import KEDRO_1, free_port, serving_project
from tests.serving.test_example import ORACLE, _records
from tests.support.bundle_schema import bundle_file_errors, load_bundle, require_schema
from tests.support.kedro_projects import kedro_environ, run_kedro

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "spaceflights"
OWNED = Path("resources/kedro-dab")


def _yaml(path: Path) -> object:
    recorded, body = split_generated(path.read_text(encoding="utf-8"))
    assert recorded is not None, f"{path} carries no kedro-dab header"
    return yaml.safe_load(body)


def test_the_examples_bundle_with_its_app_validates_against_the_official_schema():
    require_schema()
    assert bundle_file_errors(EXAMPLE) == []
    app = load_bundle(EXAMPLE)["resources"]["apps"]["price-shuttle"]
    assert app["name"] == "price-shuttle"
    source = EXAMPLE / OWNED / app["source_code_path"]
    assert (source / "app.yaml").is_file()
    assert (source / "requirements.txt").is_file()


def test_the_apps_source_ships_the_conf_the_jobs_ship_and_nothing_else():
    from kedro_dab.bundle.layout import shipped_conf_files

    source = EXAMPLE / OWNED / "apps" / "price-shuttle" / "conf"
    copied = sorted(p.relative_to(source) for p in source.rglob("*") if p.is_file())
    shipped = [
        p for p in shipped_conf_files(EXAMPLE / "conf") if p.suffix in (".yml", ".yaml", ".json")
    ]
    assert copied == shipped
    for rel in copied:
        assert yaml.safe_load((source / rel).read_text()) == yaml.safe_load(
            (EXAMPLE / "conf" / rel).read_text()
        )


@pytest.mark.skipif(not KEDRO_1, reason="serving needs Kedro 1.x")
def test_a_kedro_new_project_opting_in_gets_one_valid_app_per_endpoint_with_unique_names(
    tmp_path, tmp_path_factory
):
    require_schema()
    project = serving_project(tmp_path, tmp_path_factory)
    run_kedro(project, "dab", "init", check=True)
    run_kedro(project, "dab", "bundle", check=True)
    assert not (project / OWNED / "serving.apps.yml").exists()

    dab = project / "conf" / "base" / "dab.yml"
    text = dab.read_text().replace("    pipeline: score\n", "    pipeline: score\n    app: true\n")
    dab.write_text(text)
    run_kedro(project, "dab", "bundle", check=True)

    assert bundle_file_errors(project) == []
    apps = load_bundle(project)["resources"]["apps"]
    assert {key: app["name"] for key, app in apps.items()} == {
        "score": "score",
        "score-fresh": "score-fresh",
    }
    assert _yaml(project / OWNED / "apps" / "score" / "app.yaml") == {
        "command": ["python", "-m", "kedro_dab.serve.apps", "score"]
    }
    # Two endpoints that would be one app name: an error naming both, nothing written.
    before = sorted(p.relative_to(project) for p in (project / OWNED).rglob("*"))
    dab.write_text(
        text + "  score_fresh:\n    pipeline: score\n    inputs: [rows]\n    app: true\n"
    )
    clash = run_kedro(project, "dab", "bundle")
    assert clash.returncode == 2, clash.stdout + clash.stderr
    [error] = [line for line in clash.stderr.splitlines() if line.startswith("Error:")]
    assert "serving.score-fresh" in error and "serving.score_fresh" in error
    assert "Traceback" not in clash.stderr
    assert sorted(p.relative_to(project) for p in (project / OWNED).rglob("*")) == before

    # Opting out again removes the app and its folder.
    dab.write_text(text.replace("    app: true\n", ""))
    run_kedro(project, "dab", "bundle", check=True)
    assert not (project / OWNED / "apps").exists() or not any((project / OWNED / "apps").iterdir())
    assert not (project / OWNED / "serving.apps.yml").exists()


@pytest.mark.skipif(not KEDRO_1, reason="serving needs Kedro 1.x")
def test_the_examples_app_runs_its_targets_env_and_preloads_the_model_from_the_volume(
    tmp_path, monkeypatch
):
    with running_workspace(monkeypatch, tmp_path) as fake_workspace:
        _serve_the_app_from_the_volume(tmp_path, fake_workspace)


def _serve_the_app_from_the_volume(tmp_path, fake_workspace):
    project = tmp_path / "spaceflights"
    ignore = shutil.ignore_patterns(".kedro-dab", "__pycache__", "*.pyc", "*.pickle", "0[2-8]_*")
    shutil.copytree(EXAMPLE, project, ignore=ignore)
    run_kedro(project, "run", "--env", "base", check=True)
    # The job on Databricks writes the model to the volume of the `databricks` env; here the
    # locally trained one goes there.
    model = "06_models/active_modelling_pipeline_regressor.pickle"
    fake_workspace.add_volume("main", "spaceflights", "data")
    volume_path = f"/Volumes/main/spaceflights/data/{model}"
    fake_workspace.volumes.put_file(
        volume_path, (project / "data" / model).read_bytes(), overwrite=True
    )
    # What Databricks Apps get: the app folder alone (no data/), the project installed (here:
    # on the path), the deployment's command and env (the bundle resource's config, its
    # ${var.kedro_env} at its default), the workspace credentials of the app.
    app = tmp_path / "app"
    shutil.copytree(project / OWNED / "apps" / "price-shuttle", app)
    resource = load_bundle(project)["resources"]["apps"]["price-shuttle"]
    command = resource["config"]["command"]
    assert command == _yaml(app / "app.yaml")["command"]  # type: ignore[index]
    [kedro_env] = resource["config"]["env"]
    assert kedro_env == {"name": "KEDRO_ENV", "value": "${var.kedro_env}"}
    port = free_port()
    environ = kedro_environ(
        {
            "PYTHONPATH": str(project / "src"),
            "DATABRICKS_APP_PORT": str(port),
            "KEDRO_ENV": "databricks",
            "DATABRICKS_HOST": fake_workspace.host,
            "DATABRICKS_TOKEN": fake_workspace.token,
        }
    )
    log = tmp_path / "app.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, *command[1:]],  # as app.yaml runs it: every address, the app's port
            cwd=app,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30.0) as client:
            deadline = time.monotonic() + 90
            while True:
                assert process.poll() is None, log.read_text()
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/ready").status_code == 200:
                        break
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            body = json.loads((project / "requests" / "price-shuttle.json").read_text())
            answer = client.post("/serving-endpoints/price-shuttle/invocations", json=body)
    finally:
        process.terminate()
        process.wait(timeout=15)
    assert answer.status_code == 200, answer.text
    assert f"Uvicorn running on http://0.0.0.0:{port}" in log.read_text()
    assert fake_workspace.requests("GET", "^/api/2.0/fs/files" + volume_path + "$")
    assert not (app / "data").exists()
    discount = body.get("params", {}).get("pricing.discount", 0.0)
    oracle = subprocess.run(
        [sys.executable, "-c", ORACLE, json.dumps(_records(body)), str(discount)],
        cwd=project,
        env=kedro_environ({"PYTHONPATH": str(project / "src")}),
        capture_output=True,
        text=True,
        check=True,
    )
    assert answer.json() == {"outputs": {"price_quotes": json.loads(oracle.stdout)}}


@pytest.mark.skipif(not KEDRO_1, reason="serving needs Kedro 1.x")
def test_a_preloaded_local_file_an_app_does_not_have_is_an_error_naming_it_and_the_fix(tmp_path):
    from kedro.io import DataCatalog

    from kedro_dab.serve.volumes import PreloadError, fetch_preloaded

    catalog = DataCatalog.from_config(
        {
            "{namespace}.regressor": {
                "type": "pickle.PickleDataset",
                "filepath": "data/{namespace}.pkl",
            }
        }
    )

    def no_client():
        raise AssertionError("no volume to read: the workspace is not contacted")

    with pytest.raises(PreloadError) as caught:
        fetch_preloaded(catalog, ["active.regressor"], tmp_path, "databricks", no_client)

    message = str(caught.value)
    assert "'active.regressor'" in message
    assert "data/active.pkl" in message
    assert "/Volumes/" in message
    assert "conf/databricks/catalog.yml" in message


@pytest.mark.skipif(not KEDRO_1, reason="serving needs Kedro 1.x")
def test_an_app_whose_env_preloads_a_local_file_stops_with_one_line_and_exit_2(tmp_path):
    app = tmp_path / "app"
    shutil.copytree(EXAMPLE / OWNED / "apps" / "price-shuttle", app)
    command = _yaml(app / "app.yaml")["command"]  # type: ignore[index]
    stopped = subprocess.run(
        [sys.executable, *command[1:]],
        cwd=app,
        env=kedro_environ(
            {
                "PYTHONPATH": str(EXAMPLE / "src"),
                "DATABRICKS_APP_PORT": str(free_port()),
                "KEDRO_ENV": "base",  # its catalog keeps the model under data/
            }
        ),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert stopped.returncode == 2, stopped.stdout + stopped.stderr
    assert "Traceback" not in stopped.stdout + stopped.stderr
    [line] = [line for line in stopped.stderr.splitlines() if line.startswith("Error:")]
    assert line.startswith("Error: preloaded dataset 'active_modelling_pipeline.regressor'")
    assert "(env 'base') is the local file" in line
    assert "conf/base/catalog.yml" in line
    assert not (app / ".kedro-dab" / "preload").exists()


def test_the_sdk_engine_reads_the_jobs_of_a_bundle_with_an_app_and_knows_the_app(tmp_path):
    from kedro_dab.deploy.target import load_target
    from tests.e2e.deploy_helpers import copy_example

    target = load_target(copy_example(tmp_path, app=True), "dev")

    assert sorted(target.jobs) == ["spaceflights"]
    assert target.apps == ["price-shuttle"]
