"""The plan sees a real project as Kedro does: transcoded datasets (`df@a` and `df@b`) are one
dataset, linking their nodes and crossing tasks as that one dataset."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.project.conftest import dab, plan_json, refusal_line

pytestmark = pytest.mark.project

TRANSCODED_PIPELINE = """\
from kedro.pipeline import Pipeline, node, pipeline


def make(rows):
    return rows


def use(rows):
    return len(rows)


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(make, "raw", "table@pickle", name="make_table", tags=["task.make"]),
            node(use, "table@text", "count", name="use_table", tags=["task.use"]),
        ]
    )
"""

TRANSCODED_CATALOG = """\
raw:
  type: pickle.PickleDataset
  filepath: data/01_raw/raw.pkl
table@pickle:
  type: pickle.PickleDataset
  filepath: data/02_intermediate/table.pkl
table@text:
  type: pickle.PickleDataset
  filepath: data/02_intermediate/table.pkl
count:
  type: pickle.PickleDataset
  filepath: data/08_reporting/count.pkl
"""

ONE_FORM_IN_MEMORY = {"catalog.yml": "table@text:\n  type: MemoryDataset\n"}


@pytest.fixture(scope="module")
def transcoded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.project.conftest import shared_project

    return shared_project(
        tmp_path_factory,
        pipelines={"flow": TRANSCODED_PIPELINE},
        catalog=TRANSCODED_CATALOG,
        dab_yml="merge_memory: false\n",
        envs={"oneform": ONE_FORM_IN_MEMORY},
    )


def test_a_transcoded_dataset_makes_its_reader_wait_for_its_writer(
    transcoded: Path, tmp_path: Path
) -> None:
    (job,) = plan_json(transcoded, tmp_path)["jobs"]
    depends = {task["key"]: task["depends_on"] for task in job["tasks"]}

    assert depends == {"make": [], "use": ["make"]}
    assert job["boundary_datasets"] == [
        {
            "dataset": "table",
            "producer": "make",
            "consumers": ["use"],
            "in_memory": False,
            "written_as": "table@pickle",
            "persisted": False,
        }
    ]


def test_a_transcoded_dataset_with_one_in_memory_form_may_not_cross_tasks(
    transcoded: Path,
) -> None:
    line = refusal_line(dab(transcoded, "plan", "--env", "oneform"))

    assert "in-memory" in line
    assert "'table'" in line
