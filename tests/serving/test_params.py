"""Request parameters as Kedro applies runtime parameters: typed parameters (a dataclass, a
pydantic model) built from the merged values, object values deep-merged into the configured
ones, and `${...}` interpolations resolved again with the request's values. Every answer is
checked against a plain `kedro run --params` of the same project (the oracle)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.serving.conftest import KEDRO_1, Server, running_server
from tests.support.kedro_projects import (
    kedro_environ,
    kedro_executable,
    make_project,
    project_template,
    unique_package,
)

pytestmark = pytest.mark.skipif(not KEDRO_1, reason="serving needs Kedro 1.x")

TYPED_PIPELINE = """\
from dataclasses import dataclass

from kedro.pipeline import Pipeline, node, pipeline
from pydantic import BaseModel


@dataclass
class ModelParams:
    alpha: float
    beta: int


class ScaleParams(BaseModel):
    factor: float
    label: str


def fit(model: ModelParams, scale: ScaleParams, everything):
    return {
        "model": [type(model).__name__, model.alpha, model.beta],
        "scale": [type(scale).__name__, scale.factor, scale.label],
        "everything": type(everything["model"]).__name__,
        "value": model.alpha * model.beta * scale.factor,
    }


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [node(fit, ["params:model", "params:scale", "parameters"], "fitted", name="fit_node")]
    )
"""

BLEND_PIPELINE = """\
from kedro.pipeline import Pipeline, node, pipeline


def blend(blend):
    total = blend["weight"] * blend["nested"]["x"] + blend["nested"]["y"] + blend["bias"]
    return {"total": total, "blend": blend}


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline([node(blend, "params:blend", "blended", name="blend_node")])
"""

INTERP_PIPELINE = """\
from kedro.pipeline import Pipeline, node, pipeline


def show(interp, doubled):
    return {"interp": interp, "doubled": doubled}


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [node(show, ["params:interp", "params:interp.doubled"], "shown", name="show_node")]
    )
"""

PARAMETERS = """\
model:
  alpha: 1.5
  beta: 2
scale:
  factor: 2.0
  label: base
blend:
  weight: 0.5
  bias: 1
  nested:
    x: 1
    y: 2
interp:
  base: 2
  doubled: ${interp.base}
  label: base-${interp.base}
  level: ${runtime_params:interp.base, 7}
"""

# The same values with no interpolation (the server merges in Python then, not OmegaConf).
PLAIN_PARAMETERS = (
    PARAMETERS.split("interp:")[0]
    + """\
interp:
  base: 2
  doubled: 2
  label: base-2
  level: 7
"""
)

DAB_YML = """\
serving:
  typed:
    pipeline: typed
    params: [model, model.alpha, scale.label]
  blend:
    pipeline: blend
    params: [blend, blend.weight]
  interp:
    pipeline: interp
    params: [interp.base]
"""

ORACLE_CATALOG = """\
fitted:
  type: json.JSONDataset
  filepath: data/fitted.json
blended:
  type: json.JSONDataset
  filepath: data/blended.json
shown:
  type: json.JSONDataset
  filepath: data/shown.json
"""

OUTPUT = {"typed": "fitted", "blend": "blended", "interp": "shown"}


@pytest.fixture(scope="module", params=["interpolated", "plain"])
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    made = make_project(
        tmp_path_factory.mktemp("serving-params"),
        unique_package("kdab_params"),
        {"typed": TYPED_PIPELINE, "blend": BLEND_PIPELINE, "interp": INTERP_PIPELINE},
        "{}\n",
        DAB_YML,
        {"oracle": {"catalog.yml": ORACLE_CATALOG}},
        template=project_template(tmp_path_factory),
    )
    parameters = PARAMETERS if request.param == "interpolated" else PLAIN_PARAMETERS
    (made / "conf" / "base" / "parameters.yml").write_text(parameters, encoding="utf-8")
    (made / "data").mkdir(exist_ok=True)
    return made


@pytest.fixture(scope="module")
def server(project: Path) -> Iterator[Server]:
    with running_server(project) as running:
        yield running


def kedro_run(project: Path, endpoint: str, params: str = "") -> object:
    """The endpoint's pipeline output from a plain `kedro run --params <params>`."""
    command = [str(kedro_executable()), "run", "--pipelines", endpoint, "--env", "oracle"]
    if params:
        command += ["--params", params]
    subprocess.run(
        command, cwd=project, env=kedro_environ(), check=True, capture_output=True, timeout=300
    )
    output = OUTPUT[endpoint]
    return json.loads((project / "data" / f"{output}.json").read_text(encoding="utf-8"))


def answer(server: Server, endpoint: str, params: dict[str, object]) -> object:
    response = server.invoke(endpoint, {"params": params})
    assert response.status_code == 200, response.text
    return response.json()["outputs"][OUTPUT[endpoint]]


def test_typed_parameters_are_the_models_kedro_run_builds(server: Server, project: Path):
    expected = kedro_run(project, "typed")
    assert expected["model"][0] == "ModelParams"  # the oracle builds the dataclass
    assert answer(server, "typed", {}) == expected


def test_a_dotted_key_into_a_typed_parameter_is_set_as_kedro_run_sets_it(
    server: Server, project: Path
):
    expected = kedro_run(project, "typed", "model.alpha=4.0,scale.label=changed")
    assert answer(server, "typed", {"model.alpha": 4.0, "scale.label": "changed"}) == expected


def test_an_object_for_a_typed_parameter_becomes_the_model_not_a_dict(
    server: Server, project: Path
):
    expected = kedro_run(project, "typed", "model.alpha=3.0,model.beta=5")
    assert answer(server, "typed", {"model": {"alpha": 3.0, "beta": 5}}) == expected


def test_an_object_a_typed_parameter_rejects_is_a_422_naming_it(server: Server, project: Path):
    command = [str(kedro_executable()), "run", "--pipelines", "typed", "--params", "model.gamma=1"]
    refused = subprocess.run(
        command, cwd=project, env=kedro_environ(), capture_output=True, text=True, timeout=300
    )
    assert refused.returncode != 0
    assert "Parameter 'model'" in refused.stdout + refused.stderr  # Kedro refuses it too
    response = server.invoke("typed", {"params": {"model": {"gamma": 1}}})
    assert response.status_code == 422, response.text
    assert "Parameter 'model'" in response.json()["message"]


def test_an_object_parameter_is_deep_merged_as_kedro_merges_runtime_params(
    server: Server, project: Path
):
    expected = kedro_run(project, "blend", "blend.nested.x=5,blend.bias=3")
    assert answer(server, "blend", {"blend": {"nested": {"x": 5}, "bias": 3}}) == expected


def test_a_partial_object_parameter_keeps_the_configured_keys(server: Server, project: Path):
    expected = kedro_run(project, "blend", "blend.weight=2")
    assert answer(server, "blend", {"blend": {"weight": 2}}) == expected


def test_interpolations_are_resolved_again_with_the_requests_values(server: Server, project: Path):
    if "${" not in (project / "conf" / "base" / "parameters.yml").read_text(encoding="utf-8"):
        pytest.skip("this project's parameters hold no interpolation")
    default = kedro_run(project, "interp")
    expected = kedro_run(project, "interp", "interp.base=10")
    assert default != expected
    assert answer(server, "interp", {}) == default
    assert answer(server, "interp", {"interp.base": 10}) == expected
    assert answer(server, "interp", {}) == default


def test_concurrent_requests_resolve_their_own_interpolations(server: Server, project: Path):
    from kedro.config import OmegaConfigLoader

    def expected(base: int) -> object:  # Kedro's own loader, as `kedro run --params` uses it
        loader = OmegaConfigLoader(
            str(project / "conf"), env="databricks", runtime_params={"interp": {"base": base}}
        )
        interp = loader["parameters"]["interp"]
        return {"interp": interp, "doubled": interp["doubled"]}

    wanted = {base: expected(base) for base in range(8)}

    def client_loop(worker: int) -> list[bool]:
        with httpx.Client(base_url=server.url, timeout=30.0) as client:
            out = []
            for n in range(12):
                base = (worker + n) % 8
                body = {"params": {"interp.base": base}}
                got = client.post("/serving-endpoints/interp/invocations", json=body).json()
                out.append(got == {"outputs": {"shown": wanted[base]}})
            return out

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = [ok for chunk in pool.map(client_loop, range(6)) for ok in chunk]
    assert results == [True] * 72


def test_strings_a_request_sends_are_never_interpolated(server: Server):
    sent = {"label": "${interp.base}", "path": "${oc.env:HOME}", "raw": "\\${x}"}
    shown = answer(server, "blend", {"blend": sent})
    assert {key: shown["blend"][key] for key in sent} == sent  # the request's own values
