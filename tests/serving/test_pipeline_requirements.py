"""What a deployed endpoint installs: the requirements of the pipelines whose nodes it runs, as
the job tasks running those nodes install them, in the app's `requirements.txt` and in the
exported MLflow model's pip requirements. And the app name Databricks would refuse is refused
at plan time."""

from __future__ import annotations

from pathlib import Path

import pytest

from kedro_dab import api
from kedro_dab.bundle.render import split_generated
from kedro_dab.errors import ConfigError
from tests.project.conftest import dab, refusal_line
from tests.serving.conftest import KEDRO_1, serving_project
from tests.support.kedro_projects import run_kedro

pytestmark = [
    pytest.mark.project,
    pytest.mark.skipif(not KEDRO_1, reason="serving needs Kedro 1.x"),
]

OWNED = Path("resources/kedro-dab")

# A registered pipeline that shares the `score` pipeline's last node: a task holding that node
# installs its requirements too, so the endpoint must.
SHARED_PIPELINE = """\
from kedro.pipeline import Pipeline


def create_pipeline(**kwargs) -> Pipeline:
    from ..score.pipeline import create_pipeline as score

    return score().only_nodes("finish_node")
"""

REQUIREMENTS = {
    "score": "# what scoring needs\nscikit-learn==1.5.2\nnumpy>=1.24  # arrays\n\n",
    "shared": "numpy>=1.24\nscipy>=1.11\n",
    "trivial": "polars==1.0.0\n",
}
EXPECTED = ["numpy>=1.24", "scikit-learn==1.5.2", "scipy>=1.11"]
"""The lines the `score` endpoint gets: score's and shared's (which holds one of its nodes),
once each, sorted; never trivial's, whose nodes it does not run."""

DAB_YML = """\
serving:
  score:
    pipeline: score
    inputs: [rows]
    app: true
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = serving_project(tmp_path_factory.mktemp("serving-requirements"), tmp_path_factory)
    package_dir = next((project / "src").glob("*/pipelines")).parent
    shared = package_dir / "pipelines" / "shared"
    shared.mkdir()
    (shared / "__init__.py").write_text(
        'from .pipeline import create_pipeline\n\n__all__ = ["create_pipeline"]\n'
    )
    (shared / "pipeline.py").write_text(SHARED_PIPELINE)
    for pipeline, text in REQUIREMENTS.items():
        (package_dir / "pipelines" / pipeline / "requirements.txt").write_text(text)
    (project / "conf" / "base" / "dab.yml").write_text(DAB_YML)
    run_kedro(project, "dab", "init", check=True)
    return project


def _lines(path: Path) -> list[str]:
    recorded, body = split_generated(path.read_text(encoding="utf-8"))
    assert recorded is not None, f"{path} carries no kedro-dab header"
    return body.splitlines()


def test_the_endpoint_gets_the_requirements_the_tasks_running_its_nodes_get(project: Path):
    plan = api.make_plan(project, "databricks")
    [endpoint] = plan.endpoints
    nodes = {"check_rows_node", "weigh_node", "finish_node"}
    tasks = [t for job in plan.jobs for t in job.tasks if nodes & set(t.nodes)]
    assert tasks
    assert sorted({r for t in tasks for r in t.requirements}) == EXPECTED
    assert endpoint.requirements == tuple(EXPECTED)


def test_the_apps_requirements_list_the_pipeline_requirements_once_in_order(project: Path):
    run_kedro(project, "dab", "bundle", check=True)
    lines = _lines(project / OWNED / "apps" / "score" / "requirements.txt")

    assert lines[-len(EXPECTED) :] == EXPECTED
    assert "polars==1.0.0" not in lines
    assert len(lines) == len(set(lines))
    assert lines[0] == "--find-links wheel"

    # Bundling again writes the same file.
    before = (project / OWNED / "apps" / "score" / "requirements.txt").read_bytes()
    run_kedro(project, "dab", "bundle", check=True)
    assert (project / OWNED / "apps" / "score" / "requirements.txt").read_bytes() == before


def test_the_exported_models_pip_requirements_list_the_pipeline_requirements(project: Path):
    pytest.importorskip("mlflow.pyfunc")
    exported = run_kedro(project, "dab", "export-model", "score", "-o", "../score-model")
    assert exported.returncode == 0, exported.stdout + exported.stderr
    model = project.parent / "score-model"
    lines = (model / "requirements.txt").read_text().splitlines()

    assert any(line.startswith("artifacts/") and line.endswith(".whl") for line in lines)
    assert [line for line in lines if line in EXPECTED] == EXPECTED
    assert "polars==1.0.0" not in lines
    assert len(lines) == len(set(lines))
    # MLflow's own environment files carry them too.
    assert all(line in (model / "conda.yaml").read_text() for line in EXPECTED)


def _with_app_endpoint(project: Path, name: str) -> None:
    (project / "conf" / "base" / "dab.yml").write_text(
        f"serving:\n  {name}:\n    pipeline: score\n    inputs: [rows]\n    app: true\n"
    )


def test_an_app_endpoint_whose_app_name_databricks_refuses_is_refused_in_one_line(
    project: Path,
):
    _with_app_endpoint(project, "s")
    with pytest.raises(ConfigError) as caught:
        api.make_plan(project, "databricks")
    message = str(caught.value)
    assert message.startswith("conf/base/dab.yml: serving.s: ")
    assert "Databricks app 's'" in message
    assert "2 to 30 characters" in message
    line = refusal_line(dab(project, "bundle"))
    assert "serving.s:" in line and "2 to 30 characters" in line
    line = refusal_line(dab(project, "validate"))
    assert "serving.s:" in line

    # Without `app: true` the one-letter endpoint is no app: fine.
    (project / "conf" / "base" / "dab.yml").write_text(
        "serving:\n  s:\n    pipeline: score\n    inputs: [rows]\n"
    )
    assert [e.name for e in api.make_plan(project, "databricks").endpoints] == ["s"]

    # Two letters are an app name Databricks takes.
    _with_app_endpoint(project, "sc")
    assert [e.name for e in api.make_plan(project, "databricks").endpoints] == ["sc"]
    run_kedro(project, "dab", "bundle", check=True)
    apps = _lines(project / OWNED / "serving.apps.yml")
    assert "      name: sc" in apps
    (project / "conf" / "base" / "dab.yml").write_text(DAB_YML)


def test_the_plan_time_rule_is_the_one_the_apps_api_enforces_on_the_derived_name():
    import re

    from kedro_dab.config_serving import APP_NAME_PATTERN, ENDPOINT_NAME_PATTERN, app_name
    from tests.fake_workspace.apps import check_name
    from tests.fake_workspace.errors import ApiError

    names = ["p", "pq", "p_", "a-b", "price_shuttle", "p" * 30, "a1", "z9_-"]
    for endpoint in names:
        assert re.match(ENDPOINT_NAME_PATTERN, endpoint)
        try:
            check_name(app_name(endpoint))
            taken = True
        except ApiError:
            taken = False
        assert bool(re.match(APP_NAME_PATTERN, app_name(endpoint))) is taken, endpoint
    assert not re.match(APP_NAME_PATTERN, app_name("p"))
