# ruff: noqa: E501  (tables of cases read best one case a line)
"""`serving:` in dab.yml: defaults resolved from the project, every mistake refused at plan time
with the file, key and dataset or parameter named."""

from __future__ import annotations

from pathlib import Path

import pytest

from kedro_dab import api
from kedro_dab.errors import ConfigError
from tests.project.conftest import dab, refusal_line
from tests.serving.conftest import DAB_YML, serving_project

pytestmark = pytest.mark.project


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return serving_project(tmp_path_factory.mktemp("serving-config"), tmp_path_factory)


def _plan_with(project: Path, dab_yml: str) -> api.Plan:
    (project / "conf" / "base" / "dab.yml").write_text(dab_yml, encoding="utf-8")
    return api.make_plan(project, "databricks")


def test_defaults_are_kedros_free_outputs_and_the_other_free_inputs(project: Path):
    from kedro.framework.project import pipelines

    plan = _plan_with(project, DAB_YML)
    score = {e.name: e for e in plan.endpoints}["score"]
    pipeline = pipelines["score"]
    assert set(score.outputs) == pipeline.outputs()
    data_inputs = {d for d in pipeline.inputs() if not d.startswith("params:")}
    assert set(score.preload) == data_inputs - {"rows"}
    assert [(p.key, p.type, p.default) for p in score.params] == [
        ("score.offset", "number", 0.0),
        ("score.scale", "integer", 1),
    ]


def test_the_plan_json_carries_the_endpoints(project: Path):
    from kedro_dab.plan_json import plan_to_dict

    endpoints = {e["name"]: e for e in plan_to_dict(_plan_with(project, DAB_YML))["endpoints"]}
    assert endpoints["score"]["inputs"] == ["rows"]
    assert endpoints["score"]["preload"] == ["weights"]
    assert endpoints["trivial"]["outputs"] == ["answer"]
    assert endpoints["trivial"]["params"][0] == {
        "key": "trivial.a",
        "type": "integer",
        "default": 1,
    }


BAD = [
    ("unknown_key", "score:\n    pipeline: score\n    inptus: [rows]",
     "conf/base/dab.yml: serving.score.inptus: unknown key; did you mean 'inputs'?"),
    ("unknown_pipeline", "score:\n    pipeline: scor\n    inputs: [rows]",
     "serving.score.pipeline: no registered pipeline 'scor'; did you mean 'score'?"),
    ("input_not_free", "score:\n    pipeline: score\n    inputs: [weighted]",
     "serving.score.inputs: 'weighted' is not a free input of pipeline 'score'"),
    ("output_not_produced", "score:\n    pipeline: score\n    inputs: [rows]\n    outputs: [rows]",
     "serving.score.outputs: pipeline 'score' does not produce 'rows'"),
    ("unknown_param", "score:\n    pipeline: score\n    inputs: [rows]\n    params: [score.ofset]",
     "serving.score.params: no parameter 'score.ofset' in the project's parameters; did you mean 'score.offset'?"),
    ("param_not_read", "score:\n    pipeline: score\n    inputs: [rows]\n    params: [trivial.a]",
     "serving.score.params: pipeline 'score' never reads parameter 'trivial.a'"),
    ("input_nowhere", "score:\n    pipeline: score",
     "serving.score: pipeline 'score' needs 'rows', which is neither fed (inputs), preloaded (preload) nor in the catalog"),
    ("preload_and_input", "score:\n    pipeline: score\n    inputs: [rows]\n    preload: [rows]",
     "serving.score.preload: 'rows' is also in 'inputs'"),
    ("bad_name", "Score_Endpoint:\n    pipeline: score\n    inputs: [rows]",
     "serving.Score_Endpoint: an endpoint name may hold only lower-case letters"),
    ("repeated_input", "score:\n    pipeline: score\n    inputs: [rows, rows]",
     "serving.score: 'inputs' lists a name twice"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_a_bad_endpoint_is_refused_at_plan_time_naming_it(project: Path, body, message):
    with pytest.raises(ConfigError) as caught:
        _plan_with(project, "serving:\n  " + body + "\n")
    assert message in str(caught.value)


def test_bundle_refuses_a_bad_endpoint_in_one_line(project: Path):
    (project / "conf" / "base" / "dab.yml").write_text(
        "serving:\n  score:\n    pipeline: score\n", encoding="utf-8"
    )
    result = dab(project, "bundle")
    line = refusal_line(result)
    assert "pipeline 'score' needs 'rows'" in line
