"""`validate` finds what would fail every task on Databricks although the bundle is well formed:
a console script that does not start, and catalog credentials defined only in conf that never
ships."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.project.conftest import dab, refusal_line, shared_project

pytestmark = pytest.mark.project

PIPELINE = """\
from kedro.pipeline import Pipeline, node, pipeline


def count(rows):
    return len(rows)


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline([node(count, "remote_rows", "row_count", name="count_rows")])
"""

CATALOG = """\
remote_rows:
  type: pandas.CSVDataset
  filepath: s3://example-bucket/rows.csv
  credentials: warehouse
row_count:
  type: pickle.PickleDataset
  filepath: data/08_reporting/row_count.pkl
remote_parts:
  type: partitions.PartitionedDataset
  path: s3://example-bucket/parts
  dataset:
    type: pandas.CSVDataset
    credentials: parts_store
"""


@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """A bundled project whose `__main__.py` imports a missing module and whose catalog uses
    credentials kept in conf/local/credentials.yml (beside a local file that is not UTF-8),
    validated."""
    project: Path = shared_project(
        tmp_path_factory,
        pipelines={"flow": PIPELINE},
        catalog=CATALOG,
        envs={
            "local": {
                "credentials.yml": "warehouse:\n  key: from-my-laptop\nparts_store:\n  key: x\n"
            }
        },
    )
    # a local file Kedro cannot read (not UTF-8) is no one's credentials, and no crash
    (project / "conf" / "local" / "credentials_legacy.yml").write_bytes(b"old:\n  key: caf\xe9\n")
    dab(project, "init", check=True)
    dab(project, "bundle", check=True)
    main = next((project / "src").glob("*/__main__.py"))
    main.write_text("import module_that_does_not_exist\n" + main.read_text("utf-8"), "utf-8")
    return dab(project, "validate", "--no-cli")


def test_validate_calls_the_console_script_as_a_task_does(
    validated: subprocess.CompletedProcess[str],
) -> None:
    line = refusal_line(validated)

    assert "console script" in line
    assert "module_that_does_not_exist" in line


def test_validate_names_credentials_defined_only_in_unshipped_conf(
    validated: subprocess.CompletedProcess[str],
) -> None:
    line = refusal_line(validated)

    assert "'remote_rows'" in line
    assert "credentials 'warehouse'" in line
    assert "conf/local/credentials.yml" in line
    assert "{{secrets/" in line


def test_validate_names_credentials_nested_in_an_entry_as_kedro_resolves_them(
    validated: subprocess.CompletedProcess[str],
) -> None:
    line = refusal_line(validated)

    assert "catalog entry 'remote_parts' (dataset.credentials, env " in line
    assert "credentials 'parts_store'" in line
