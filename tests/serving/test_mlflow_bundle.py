"""`serving.<name>.model_serving` in dab.yml: the bundle declares the endpoint's Unity Catalog
model and, once a version is named, a Model Serving endpoint serving it; both validate against
the official schema. The SDK engine refuses them in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.serving.conftest import serving_project
from tests.support.bundle_schema import bundle_file_errors, load_bundle, require_schema
from tests.support.kedro_projects import run_kedro

pytestmark = pytest.mark.project

OWNED = Path("resources/kedro-dab")
MODEL_SERVING = """\
    model_serving:
      catalog_name: main
      schema_name: pricing
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    made = serving_project(tmp_path_factory.mktemp("model-serving"), tmp_path_factory)
    run_kedro(made, "dab", "init", check=True)
    return made


def _opt_in(project: Path, lines: str) -> None:
    dab = project / "conf" / "base" / "dab.yml"
    original = getattr(_opt_in, "original", None) or dab.read_text()
    _opt_in.original = original  # type: ignore[attr-defined]
    anchor = "    inputs: [rows]\n    params: [score.offset, score.scale]\n"
    assert anchor in original
    dab.write_text(original.replace(anchor, anchor + lines, 1))


def test_without_a_version_the_bundle_declares_the_unity_catalog_model_only(project: Path):
    require_schema()
    _opt_in(project, MODEL_SERVING)
    run_kedro(project, "dab", "bundle", check=True)

    assert bundle_file_errors(project) == []
    resources = load_bundle(project)["resources"]
    assert resources["registered_models"] == {
        "score-model": {
            "catalog_name": "main",
            "schema_name": "pricing",
            "name": "score",
            "comment": "Score rows with the catalog's weights.",
        }
    }
    assert "model_serving_endpoints" not in resources


def test_a_version_adds_an_endpoint_serving_that_version_of_the_declared_model(project: Path):
    require_schema()
    _opt_in(project, MODEL_SERVING + "      version: 3\n      workload_size: Medium\n")
    run_kedro(project, "dab", "bundle", check=True)

    assert bundle_file_errors(project) == []
    resources = load_bundle(project)["resources"]
    model = resources["registered_models"]["score-model"]
    endpoint = resources["model_serving_endpoints"]["score-serving"]
    [entity] = endpoint["config"]["served_entities"]
    assert (
        entity["entity_name"] == f"{model['catalog_name']}.{model['schema_name']}.{model['name']}"
    )
    assert entity["entity_version"] == "3"
    assert entity["workload_size"] == "Medium"
    assert entity["scale_to_zero_enabled"] is True
    assert endpoint["name"] == "score"


def test_an_unknown_model_serving_key_is_refused_naming_it(project: Path):
    _opt_in(project, MODEL_SERVING.replace("schema_name", "schema"))
    result = run_kedro(project, "dab", "bundle")

    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: ")
    assert "serving.score.model_serving" in line
    assert "schema_name" in line


def test_the_sdk_engine_refuses_the_model_serving_resources_recommending_the_cli(project: Path):
    _opt_in(project, MODEL_SERVING)
    # A workspace that cannot answer: the refusal must come before any call to it.
    closed = {"DATABRICKS_HOST": "http://127.0.0.1:9", "DATABRICKS_TOKEN": "unused"}
    result = run_kedro(project, "dab", "deploy", "--engine", "sdk", env=closed)

    assert result.returncode == 2, result.stdout + result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: ")
    assert "resources.registered_models" in line
    assert "--engine cli" in line
