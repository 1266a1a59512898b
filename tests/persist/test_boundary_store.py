"""The boundary store: formats chosen by the object, loading the same type back, cleanup by
run and by age, and no Spark import in a Spark-free run."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from kedro_dab import boundaries
from kedro_dab.boundaries import cleanup, format_of, load_data, save_data


@pytest.mark.parametrize(
    "value",
    [
        {"a": [1, 2.5, None], "b": ("x", b"y")},
        [[1.0, 2.0], [3.0, 4.0]],
        ("tuple", 1),
        {1, 2, 3},
        "text",
        None,
    ],
    ids=["dict", "list", "tuple", "set", "str", "none"],
)
def test_plain_python_objects_are_pickled_and_come_back_equal_and_of_the_same_type(tmp_path, value):
    assert save_data(value, tmp_path / "d") == boundaries.PICKLE
    loaded = load_data(tmp_path / "d")
    assert loaded == value
    assert type(loaded) is type(value)


def test_pandas_dataframes_are_parquet_and_come_back_as_dataframes(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]}, index=[10, 20, 30])
    assert save_data(frame, tmp_path / "d") == boundaries.PANDAS_PARQUET
    assert (tmp_path / "d" / "data.parquet").is_file()
    pd.testing.assert_frame_equal(load_data(tmp_path / "d"), frame)


def test_pandas_dataframes_parquet_cannot_hold_are_pickled_and_come_back_equal(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"mixed": [1, "a"]})  # one Parquet column holds one type
    assert save_data(frame, tmp_path / "d") == boundaries.PICKLE
    pd.testing.assert_frame_equal(load_data(tmp_path / "d"), frame)


def test_spark_dataframes_are_parquet_and_come_back_as_spark_dataframes(tmp_path):
    pyspark = pytest.importorskip("pyspark.sql")
    spark = pyspark.SparkSession.builder.master("local[1]").getOrCreate()
    frame = spark.createDataFrame([(1, "a"), (2, "b")], ["x", "y"])
    assert format_of(frame) == boundaries.SPARK_PARQUET
    save_data(frame, tmp_path / "d")
    loaded = load_data(tmp_path / "d")
    assert type(loaded).__name__ == "DataFrame"
    assert sorted(loaded.collect()) == sorted(frame.collect())


def test_saving_again_replaces_the_data_of_an_earlier_attempt(tmp_path):
    save_data({"attempt": 1}, tmp_path / "d")
    save_data(["attempt", 2], tmp_path / "d")
    assert load_data(tmp_path / "d") == ["attempt", 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"], "no partial folder left"


def test_a_failed_save_leaves_neither_data_nor_a_partial_folder(tmp_path):
    with pytest.raises((AttributeError, TypeError, pickle.PicklingError)):
        save_data(lambda: None, tmp_path / "d")  # lambdas cannot be pickled
    assert list(tmp_path.iterdir()) == []


def run_folder(store: Path, run_id: str, started: float) -> Path:
    folder = store / run_id
    (folder / "x").mkdir(parents=True)
    (folder / boundaries.STARTED_FILE).write_text(f"{started}\n")
    return folder


def test_cleanup_removes_the_run_and_failed_runs_older_than_the_retention(tmp_path):
    day = 86400.0
    now = 100 * day
    run_folder(tmp_path, "finished", now - 0.1 * day)
    run_folder(tmp_path, "failed-long-ago", now - 8 * day)
    recent = run_folder(tmp_path, "failed-yesterday", now - 1 * day)
    removed = cleanup(tmp_path, "finished", retention_days=7, now=now)
    assert removed == ["finished", "failed-long-ago"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [recent.name]


@pytest.mark.parametrize("run_id", ["..", ".", "../store", "a/b", "/abs", ""])
def test_cleanup_of_a_run_id_that_is_not_a_plain_name_removes_nothing(tmp_path, run_id):
    store = tmp_path / "store"
    run_folder(store, "123", 0)
    (tmp_path / "precious.txt").write_text("keep")
    with pytest.raises(ValueError, match="not a plain name; nothing was removed"):
        cleanup(store, run_id, retention_days=7, now=0)
    assert (store / "123").is_dir()
    assert (tmp_path / "precious.txt").read_text() == "keep"


def test_cleanup_command_is_what_the_cleanup_task_runs(tmp_path):
    run_folder(tmp_path, "123", 0)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kedro_dab.boundaries",
            "cleanup",
            "--store",
            str(tmp_path),
            "--run-id",
            "123",
            "--retention-days",
            "7",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "removed boundary data of run(s): 123" in result.stdout
    assert list(tmp_path.iterdir()) == []


SPARK_FREE = """
import json, sys
from kedro_dab.boundary_hooks import BoundaryDataset
dataset = BoundaryDataset(sys.argv[1])
dataset.save({"rows": [1, 2, 3]})
back = dataset.load()
print(json.dumps({
    "back": back,
    "spark": sorted(m for m in sys.modules if m.split(".")[0] in ("pyspark", "databricks.connect")),
}))
"""


def test_a_spark_free_run_never_imports_spark(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", SPARK_FREE, str(tmp_path / "run" / "d")],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out == {"back": {"rows": [1, 2, 3]}, "spark": []}
