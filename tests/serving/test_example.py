"""The example's `price-shuttle` endpoint, served as `make example` serves it, prices shuttles
as the inference pipeline's own node functions do on the trained model."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serving.conftest import KEDRO_1
from tests.support.kedro_projects import kedro_environ, run_kedro

pytestmark = pytest.mark.skipif(not KEDRO_1, reason="the example and serving need Kedro 1.x")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

ORACLE = """\
import json, pickle, sys
from spaceflights.pipelines.inference.nodes import price_shuttles, shuttle_features

with open("data/06_models/active_modelling_pipeline_regressor.pickle", "rb") as f:
    model = pickle.load(f)
rows, discount = json.loads(sys.argv[1]), float(sys.argv[2])
pricing = {"discount": discount, "decimals": 2}
print(json.dumps(price_shuttles(model, shuttle_features(rows, model), pricing)))
"""


def _records(body: dict[str, object]) -> list[dict[str, object]]:
    if "dataframe_records" in body:
        return body["dataframe_records"]  # type: ignore[return-value]
    split = body["dataframe_split"]
    return [dict(zip(split["columns"], row, strict=True)) for row in split["data"]]  # type: ignore[index]


def test_make_examples_requests_are_priced_as_the_node_functions_price_them(tmp_path):
    project = tmp_path / "spaceflights"
    ignore = shutil.ignore_patterns(".kedro-dab", "__pycache__", "*.pyc", "*.pickle", "0[2-8]_*")
    shutil.copytree(EXAMPLES / "spaceflights", project, ignore=ignore)
    shutil.copy(EXAMPLES / "serve_once.py", tmp_path / "serve_once.py")
    run_kedro(project, "run", "--env", "base", check=True)
    bodies = sorted((project / "requests").glob("*.json"))

    served = subprocess.run(
        [
            sys.executable,
            "../serve_once.py",
            "price-shuttle",
            *map(str, bodies),
            "--",
            "--env",
            "base",
        ],
        cwd=project,
        env=kedro_environ(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert served.returncode == 0, served.stdout + served.stderr
    answers = [json.loads(line) for line in served.stdout.splitlines() if line.startswith("{")]

    assert [a["request"] for a in answers] == [b.name for b in bodies]
    quotes = []
    for body_file, answer in zip(bodies, answers, strict=True):
        body = json.loads(body_file.read_text())
        discount = body.get("params", {}).get("pricing.discount", 0.0)
        oracle = subprocess.run(
            [sys.executable, "-c", ORACLE, json.dumps(_records(body)), str(discount)],
            cwd=project,
            env=kedro_environ({"PYTHONPATH": str(project / "src")}),
            capture_output=True,
            text=True,
            check=True,
        )
        assert answer["answer"] == {"outputs": {"price_quotes": json.loads(oracle.stdout)}}
        quotes.append(answer["answer"]["outputs"]["price_quotes"])
    # The two requests describe the same shuttles; only the discount differs.
    assert quotes[0] != quotes[1]
