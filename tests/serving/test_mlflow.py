"""`kedro dab export-model`: the example's `price-shuttle` endpoint as an MLflow pyfunc model.
Loaded by `mlflow.pyfunc.load_model` in a fresh process (the project wheel the model carries
installed on its own, nothing of the project on the path), it answers as `kedro dab serve`
answers the same requests over HTTP."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.serving.conftest import KEDRO_1, running_server
from tests.support.kedro_projects import kedro_environ, run_kedro

pytest.importorskip("mlflow.pyfunc")
pytestmark = [
    pytest.mark.project,
    pytest.mark.skipif(not KEDRO_1, reason="serving needs Kedro 1.x"),
]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# Loads the model and answers each (records, params) pair, one JSON line each.
PREDICT = """\
import json, sys
import mlflow.pyfunc, pandas as pd

model = mlflow.pyfunc.load_model(sys.argv[1])
for rows, params in json.loads(sys.argv[2]):
    answer = model.predict(pd.DataFrame(rows), params=params)
    print("ANSWER " + json.dumps(answer))
"""


def _records(body: dict[str, object]) -> list[dict[str, object]]:
    if "dataframe_records" in body:
        return body["dataframe_records"]  # type: ignore[return-value]
    split = body["dataframe_split"]
    return [dict(zip(split["columns"], row, strict=True)) for row in split["data"]]  # type: ignore[index]


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example, trained by a plain `kedro run`, its endpoint exported with an example."""
    project = tmp_path_factory.mktemp("mlflow") / "spaceflights"
    ignore = shutil.ignore_patterns(".kedro-dab", "__pycache__", "*.pyc", "*.pickle", "0[2-8]_*")
    shutil.copytree(EXAMPLES / "spaceflights", project, ignore=ignore)
    run_kedro(project, "run", "--env", "base", check=True)
    exported = run_kedro(
        project,
        *("dab", "export-model", "price-shuttle", "-o", "../model", "--env", "base"),
        *("--example", "requests/price-shuttle.json"),
    )
    assert exported.returncode == 0, exported.stdout + exported.stderr
    return project


@pytest.fixture(scope="module")
def model(example: Path) -> Path:
    return example.parent / "model"


def test_the_loaded_model_answers_as_the_served_endpoint_with_and_without_params(
    example: Path, model: Path, tmp_path: Path
):
    # The project wheel the model lists in its requirements, installed alone.
    requirements = (model / "requirements.txt").read_text().splitlines()
    wheels = [line for line in requirements if line.endswith(".whl")]
    assert len(wheels) == 1
    site = tmp_path / "site"
    subprocess.run(
        [
            *(str(Path(sys.executable).parent / "uv"), "pip", "install", "--quiet", "--no-deps"),
            *("--target", str(site), str(model / wheels[0])),
        ],
        check=True,
        timeout=120,
    )
    bodies = [json.loads(p.read_text()) for p in sorted((example / "requests").glob("*.json"))]
    # Each request body as is, then without its params (the endpoint's defaults).
    requests = bodies + [{k: v for k, v in b.items() if k != "params"} for b in bodies]
    with running_server(example, "price-shuttle", "--env", "base") as server:
        served = []
        for body in requests:
            response = server.invoke("price-shuttle", body)
            assert response.status_code == 200, response.text
            served.append(response.json()["outputs"])
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    cases = [(_records(body), body.get("params")) for body in requests]
    loaded = subprocess.run(
        [sys.executable, "-c", PREDICT, str(model), json.dumps(cases)],
        cwd=outside,
        env=kedro_environ({"PYTHONPATH": str(site)}),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    lines = loaded.stdout.splitlines()
    answers = [
        json.loads(line.removeprefix("ANSWER ")) for line in lines if line.startswith("ANSWER ")
    ]

    assert answers == served
    # The params reached the pipeline: some body's discount changed its quotes.
    assert answers[: len(bodies)] != answers[len(bodies) :]


def test_the_signature_params_carry_the_project_parameters_types_and_defaults(model: Path):
    parameters = yaml.safe_load(
        (EXAMPLES / "spaceflights" / "conf" / "base" / "parameters.yml").read_text()
    )
    mlmodel = yaml.safe_load((model / "MLmodel").read_text())
    params = json.loads(mlmodel["signature"]["params"])

    assert params == [
        {
            "name": "pricing.discount",
            "type": "double",
            "default": parameters["pricing"]["discount"],
            "shape": None,
        }
    ]


def test_the_signature_columns_are_the_example_requests_columns(model: Path):
    body = json.loads((EXAMPLES / "spaceflights" / "requests" / "price-shuttle.json").read_text())
    mlmodel = yaml.safe_load((model / "MLmodel").read_text())
    columns = [c["name"] for c in json.loads(mlmodel["signature"]["inputs"])]
    outputs = [c["name"] for c in json.loads(mlmodel["signature"]["outputs"])]

    assert columns == list(_records(body)[0])
    assert outputs == ["price_quotes"]


def test_exporting_onto_an_existing_folder_is_refused_and_leaves_it_alone(example: Path):
    keep = example.parent / "model" / "MLmodel"
    before = keep.read_bytes()
    result = run_kedro(example, "dab", "export-model", "price-shuttle", "-o", "../model")

    assert result.returncode == 2
    assert result.stderr.strip().startswith("Error: ")
    assert "already exists" in result.stderr
    assert "Traceback" not in result.stderr
    assert keep.read_bytes() == before


@pytest.mark.parametrize(
    ("kind", "default"),
    [("object", {"discount": 0.1}), ("any", None), ("array", [1, "two"]), ("array", [[1]])],
)
def test_a_param_mlflow_cannot_type_is_refused_naming_it(kind: str, default: object):
    from kedro_dab.serve.endpoints import Endpoint, EndpointParam
    from kedro_dab.serve.errors import ServeError
    from kedro_dab.serve.mlflow_model import param_schema

    endpoint = Endpoint(
        name="quote",
        pipeline="inference",
        description="",
        inputs=("rows",),
        outputs=("quotes",),
        params=(EndpointParam("pricing", kind, default),),
        preload=(),
        catalog_inputs=(),
    )
    with pytest.raises(ServeError, match=r"serving\.quote\.params: parameter 'pricing'"):
        param_schema(endpoint)


def test_an_endpoint_with_several_inputs_is_refused_before_anything_is_written(tmp_path: Path):
    from kedro_dab.serve.endpoints import Endpoint
    from kedro_dab.serve.errors import ServeError
    from kedro_dab.serve.mlflow_model import export_model

    endpoint = Endpoint(
        name="join",
        pipeline="join",
        description="",
        inputs=("left", "right"),
        outputs=("joined",),
        params=(),
        preload=(),
        catalog_inputs=(),
    )
    output = tmp_path / "model"
    with pytest.raises(ServeError, match=r"serving\.join: .*inputs left, right"):
        export_model(tmp_path, "base", endpoint, "join", "conf", (), output)
    assert list(tmp_path.iterdir()) == []
