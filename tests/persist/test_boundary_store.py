"""The boundary store: formats chosen by the object, loading the same type back, cleanup by
run and by age, and no Spark import in a Spark-free run."""

from __future__ import annotations

import datetime as dt
import json
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

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
    frame["y"] = frame["y"].astype("string")  # pandas 2 infers object, which is pickled
    assert save_data(frame, tmp_path / "d") == boundaries.PANDAS_PARQUET
    assert (tmp_path / "d" / "data.parquet").is_file()
    pd.testing.assert_frame_equal(load_data(tmp_path / "d"), frame)


def test_pandas_dataframes_parquet_cannot_hold_are_pickled_and_come_back_equal(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"mixed": [1, "a"]})  # one Parquet column holds one type
    assert save_data(frame, tmp_path / "d") == boundaries.PICKLE
    pd.testing.assert_frame_equal(load_data(tmp_path / "d"), frame)


# --- pandas frames: Parquet only where it round-trips exactly, pickle otherwise ---------------
# A MemoryDataset hands the next node the object itself, so what `load_data` gives back must be
# equal to what was saved, down to dtypes, index and column types and each cell's Python type.

Frame = Callable[[Any, Any], Any]  # (pandas, numpy) -> a DataFrame, built only when pandas is


def same_cell(a: Any, b: Any) -> bool:
    """Equal and of the same type all the way down (1 is not 1.0, a list is not an array)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_cell(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(map(same_cell, a, b))
    return bool(a is b or a == b or (a != a and b != b))  # NaN is NaN


def assert_same_frame(back: Any, frame: Any) -> None:
    import pandas as pd

    assert type(back) is type(frame)
    pd.testing.assert_frame_equal(
        back,
        frame,
        check_exact=True,
        check_dtype=True,
        check_index_type=True,
        check_column_type=True,
        check_freq=True,
        check_flags=True,
    )
    assert list(back.dtypes) == list(frame.dtypes)
    assert back.attrs == frame.attrs
    for i, dtype in enumerate(frame.dtypes):
        if pd.api.types.is_object_dtype(dtype):
            cells = back.iloc[:, i], frame.iloc[:, i]
            assert all(map(same_cell, *cells)), f"cells of {frame.columns[i]!r} changed"


def save_and_load(frame: Any, folder: Path) -> tuple[str, Any]:
    kind = save_data(frame, folder)
    assert (
        folder / ("data.parquet" if kind == boundaries.PANDAS_PARQUET else "data.pickle")
    ).is_file()
    return kind, load_data(folder)


REVIEWED: dict[str, Frame] = {
    "list cells": lambda pd, np: pd.DataFrame({"a": [[1, 2], [3]]}),
    "tuple cells": lambda pd, np: pd.DataFrame({"a": pd.Series([(1, 2), (3,)], dtype=object)}),
    "set cells": lambda pd, np: pd.DataFrame({"a": [{1, 2}, {3}]}),
    "dict cells": lambda pd, np: pd.DataFrame({"a": [{"k": 1}, {"j": 2}]}),
    "object int and None": lambda pd, np: pd.DataFrame({"a": pd.Series([1, None], dtype=object)}),
    "object strings": lambda pd, np: pd.DataFrame({"a": pd.Series(["x", "y"], dtype=object)}),
    "complex": lambda pd, np: pd.DataFrame({"a": np.array([1 + 2j, 3.5])}),
}


@pytest.mark.parametrize("make", REVIEWED.values(), ids=REVIEWED.keys())
def test_pandas_frames_parquet_would_change_are_pickled_and_come_back_exactly(tmp_path, make):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = make(pd, pytest.importorskip("numpy"))
    kind, back = save_and_load(frame, tmp_path / "d")
    assert_same_frame(back, frame)
    assert kind == boundaries.PICKLE


def _utc(pd: Any, unit: str) -> Any:
    return pd.Series(pd.to_datetime(["2020-01-01 00:00:00.001", None], utc=True)).dt.as_unit(unit)


SAFE: dict[str, Frame] = {
    "bool": lambda pd, np: pd.DataFrame({"a": [True, False]}),
    "ints": lambda pd, np: pd.DataFrame(
        {
            "i8": np.array([-128, 127], "int8"),
            "i64": np.array([np.iinfo("int64").min, np.iinfo("int64").max]),
            "u64": np.array([0, np.iinfo("uint64").max], "uint64"),
        }
    ),
    "floats": lambda pd, np: pd.DataFrame(
        {"f32": np.array([1.5, np.nan], "float32"), "f64": [-0.0, np.inf]}
    ),
    "datetime64 ns, us, ms": lambda pd, np: pd.DataFrame(
        {
            u: np.array(["2020-01-01T00:00:00.001", "NaT"], f"datetime64[{u}]")
            for u in ("ns", "us", "ms")
        }
    ),
    "timedelta64 s, ns": lambda pd, np: pd.DataFrame(
        {u: np.array([5, "NaT"], f"timedelta64[{u}]") for u in ("s", "ns")}
    ),
    "UTC datetimes": lambda pd, np: pd.DataFrame({"ns": _utc(pd, "ns"), "us": _utc(pd, "us")}),
    "nullable Int, UInt, Float, boolean": lambda pd, np: pd.DataFrame(
        {
            "Int64": pd.array([1, None], "Int64"),
            "UInt8": pd.array([None, 255], "UInt8"),
            "Float64": pd.array([1.5, None], "Float64"),
            "boolean": pd.array([True, None], "boolean"),
        }
    ),
    "StringDtype": lambda pd, np: pd.DataFrame({"s": pd.array(["é", None], pd.StringDtype())}),
    "no rows": lambda pd, np: pd.DataFrame(
        {"a": np.array([], "int64"), "b": pd.array([], "string")}
    ),
    "named, stepped RangeIndex": lambda pd, np: pd.DataFrame(
        {"a": [1, 2]}, index=pd.RangeIndex(5, 9, 2, name="r")
    ),
    "int index with duplicates": lambda pd, np: pd.DataFrame(
        {"a": [1, 2, 3]}, index=pd.Index([7, 7, -1], name="k")
    ),
    "float and bool indexes": lambda pd, np: pd.DataFrame(
        {"a": [1, 2]}, index=pd.Index([np.nan, 2.5])
    ).set_axis(pd.Index([True, False]), axis=0),
    "datetime index": lambda pd, np: pd.DataFrame(
        {"a": [1, 2]}, index=pd.DatetimeIndex(["2020-01-01", "2020-03-01"], name="when")
    ),
    "UTC datetime index": lambda pd, np: pd.DataFrame(
        {"a": [1, 2]}, index=pd.DatetimeIndex(["2020-01-01", "2020-03-01"], tz="UTC")
    ),
    "timedelta index": lambda pd, np: pd.DataFrame(
        {"a": [1, 2]}, index=pd.to_timedelta([1, 5], unit="s")
    ),
    "named columns": lambda pd, np: pd.DataFrame({"a": [1]}).rename_axis("cols", axis=1),
}


@pytest.mark.parametrize("make", SAFE.values(), ids=SAFE.keys())
def test_pandas_frames_of_dtypes_parquet_keeps_are_still_parquet_and_come_back_exactly(
    tmp_path, make
):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = make(pd, pytest.importorskip("numpy"))
    kind, back = save_and_load(frame, tmp_path / "d")
    assert kind == boundaries.PANDAS_PARQUET
    assert_same_frame(back, frame)


def test_pandas_own_string_dtype_is_parquet_exactly_when_it_is_a_string_dtype(tmp_path):
    """Strings as pandas infers them: `str` (a StringDtype) in pandas 3, object in pandas 2."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"s": ["a", None, "c"]}, index=pd.Index(["x", "y", None], name="n"))
    kind, back = save_and_load(frame, tmp_path / "d")
    native = all(isinstance(d, pd.StringDtype) for d in (frame.index.dtype, frame["s"].dtype))
    assert kind == (boundaries.PANDAS_PARQUET if native else boundaries.PICKLE)
    assert_same_frame(back, frame)


def _other_string_storage(pd: Any) -> Any:
    return pd.StringDtype("python" if pd.StringDtype().storage == "pyarrow" else "pyarrow")


def _other_label_dtype(pd: Any) -> Any:
    """object where pandas gives labels `str` (pandas 3), else StringDtype (pandas 2)."""
    return object if isinstance(pd.Index(["a"]).dtype, pd.StringDtype) else "string"


def _with(frame: Any, **attrs: Any) -> Any:
    frame.attrs.update(attrs)
    return frame


CHANGED: dict[str, Frame] = {
    "datetime64[s]": lambda pd, np: pd.DataFrame({"a": np.array(["2020-01-01"], "datetime64[s]")}),
    "UTC datetime64[s]": lambda pd, np: pd.DataFrame({"a": _utc(pd, "s")}),
    "Europe/Paris": lambda pd, np: pd.DataFrame(
        {"a": pd.date_range("2020-01-01", periods=2).tz_localize("Europe/Paris")}
    ),
    "fixed offset": lambda pd, np: pd.DataFrame(
        {
            "a": pd.date_range("2020-01-01", periods=2).tz_localize(
                dt.timezone(dt.timedelta(hours=2))
            )
        }
    ),
    "other string storage": lambda pd, np: pd.DataFrame(
        {"s": pd.array(["a", None], _other_string_storage(pd))}
    ),
    "categorical": lambda pd, np: pd.DataFrame({"a": pd.Categorical(["b", "a"], ["b", "a", "z"])}),
    "int categorical": lambda pd, np: pd.DataFrame({"a": pd.Categorical([1, 2])}),
    "period": lambda pd, np: pd.DataFrame({"a": pd.period_range("2020", periods=2, freq="M")}),
    "interval": lambda pd, np: pd.DataFrame({"a": pd.interval_range(0, 2)}),
    "sparse": lambda pd, np: pd.DataFrame({"a": pd.arrays.SparseArray([0, 1])}),
    "arrow dtype": lambda pd, np: pd.DataFrame({"a": pd.array([1, None], "int64[pyarrow]")}),
    "int labels": lambda pd, np: pd.DataFrame({0: [1], 1: [2]}),
    "labels not in pandas' own string dtype": lambda pd, np: pd.DataFrame(
        [[1]], columns=pd.Index(["a"], dtype=_other_label_dtype(pd))
    ),
    "MultiIndex columns": lambda pd, np: pd.DataFrame(
        [[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")])
    ),
    "MultiIndex": lambda pd, np: pd.DataFrame(
        {"a": [1, 2]}, index=pd.MultiIndex.from_tuples([(1, "x"), (1, "y")], names=["n", "s"])
    ),
    "index with a freq": lambda pd, np: pd.DataFrame(
        {"a": [1, 2]}, index=pd.date_range("2020-01-01", periods=2, freq="D")
    ),
    "Int64 index": lambda pd, np: pd.DataFrame({"a": [1, 2]}, index=pd.Index(pd.array([1, None]))),
    "object index": lambda pd, np: pd.DataFrame({"a": [1]}, index=pd.Index(["x"], dtype=object)),
    "categorical index": lambda pd, np: pd.DataFrame({"a": [1]}, index=pd.CategoricalIndex(["x"])),
    "index named 0": lambda pd, np: pd.DataFrame({"a": [1]}, index=pd.Index([5], name=0)),
    "reserved label": lambda pd, np: pd.DataFrame({"__filename": [1]}, index=[7]),
    "no columns": lambda pd, np: pd.DataFrame(index=pd.RangeIndex(3)),
    "empty": lambda pd, np: pd.DataFrame(),
    "attrs": lambda pd, np: _with(pd.DataFrame({"a": [1]}), source="x"),
    "no duplicate labels flag": lambda pd, np: pd.DataFrame({"a": [1]}).set_flags(
        allows_duplicate_labels=False
    ),
}


@pytest.mark.parametrize("make", CHANGED.values(), ids=CHANGED.keys())
def test_pandas_frames_of_other_dtypes_indexes_and_labels_come_back_exactly(tmp_path, make):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = make(pd, pytest.importorskip("numpy"))
    kind, back = save_and_load(frame, tmp_path / "d")
    assert_same_frame(back, frame)
    assert kind == boundaries.PICKLE


def test_any_error_of_the_parquet_writer_falls_back_to_pickle_leaving_no_partial_file(
    tmp_path, monkeypatch
):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")

    def broken(self: Any, path: Any, *args: Any, **kwargs: Any) -> None:
        Path(path).write_bytes(b"PAR1")  # half a file, then the writer fails
        raise RuntimeError("the writer broke")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", broken)
    frame = pd.DataFrame({"a": [1, 2]})
    assert save_data(frame, tmp_path / "d") == boundaries.PICKLE
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["data.pickle", "format"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]
    assert_same_frame(load_data(tmp_path / "d"), frame)


# What a node may hand over: columns of these kinds, under any label and index.
INTS = st.integers(-(2**63), 2**63 - 1)
TEXT = st.text(max_size=4)
MOMENTS = st.datetimes(min_value=dt.datetime(1700, 1, 1), max_value=dt.datetime(2200, 1, 1))
PRECISION = {"s": 1_000_000, "ms": 1000, "us": 1, "ns": 1}


def _moments(unit: str) -> st.SearchStrategy[dt.datetime]:
    step = PRECISION[unit]
    return MOMENTS.map(lambda m: m.replace(microsecond=m.microsecond // step * step))


COLUMN_KINDS: dict[str, Callable[[], tuple[st.SearchStrategy[Any], str | None]]] = {
    # kind: (values, the dtype to build the column with; None: as pandas infers it)
    "int64": lambda: (INTS, "int64"),
    "float64": lambda: (st.floats(), "float64"),
    "bool": lambda: (st.booleans(), "bool"),
    "object str": lambda: (TEXT, "object"),
    "StringDtype": lambda: (st.none() | TEXT, "string"),
    "inferred str": lambda: (st.none() | TEXT, None),
    "Int64": lambda: (st.none() | INTS, "Int64"),
    "lists": lambda: (st.lists(st.integers() | TEXT, max_size=3), "object"),
    # (a NaN inside a container never equals the unpickled NaN, whatever the format)
    "dicts": lambda: (st.dictionaries(TEXT, st.integers() | st.floats(allow_nan=False)), "object"),
    "None-mixed objects": lambda: (st.none() | st.integers() | TEXT | st.floats(), "object"),
    **{
        f"datetime64[{u}]": (lambda u=u: (st.none() | _moments(u), f"datetime64[{u}]"))
        for u in PRECISION
    },
    "UTC datetime64[ns]": lambda: (st.none() | _moments("ns"), "datetime64[ns, UTC]"),
}


# Kinds Parquet keeps, whatever the pandas version, so that both formats are drawn often.
PARQUET_COLUMNS = ["int64", "float64", "bool", "StringDtype", "Int64", "UTC datetime64[ns]"]
PARQUET_COLUMNS += [f"datetime64[{u}]" for u in ("ms", "us", "ns")]
PARQUET_INDEXES = ["range", "int", "float", "datetime", "utc"]


@st.composite
def columns(draw: st.DrawFn, rows: int, kinds: list[str]) -> Any:
    import numpy as np
    import pandas as pd

    values, dtype = COLUMN_KINDS[draw(st.sampled_from(kinds))]()
    cells = draw(st.lists(values, min_size=rows, max_size=rows))
    if dtype == "datetime64[ns, UTC]":
        return pd.Series(cells, dtype="datetime64[ns]").dt.tz_localize("UTC").array
    if dtype == "object":
        column = np.empty(rows, dtype=object)
        for row, cell in enumerate(cells):
            column[row] = cell  # a list stays one cell
        return column
    return pd.Series(cells, dtype=dtype).array


@st.composite
def indexes(draw: st.DrawFn, rows: int, kinds: list[str], names: Any) -> Any:
    import pandas as pd

    name = draw(names)
    kind = draw(st.sampled_from(kinds))
    if kind == "range":
        start, step = draw(st.integers(-5, 5)), draw(st.integers(1, 3) | st.integers(-3, -1))
        return pd.RangeIndex(start, start + rows * step, step, name=name)
    if kind == "multi":
        return pd.MultiIndex.from_arrays(
            [draw(st.lists(st.integers(), min_size=rows, max_size=rows)), range(rows)]
        )
    values = {
        "int": st.integers(-3, 3),
        "float": st.floats(),
        "str": st.none() | TEXT,
        "datetime": _moments("ns"),
        "utc": _moments("ns"),
    }[kind]
    cells = draw(st.lists(values, min_size=rows, max_size=rows))
    if kind in ("datetime", "utc"):
        index = pd.DatetimeIndex(cells, dtype="datetime64[ns]", name=name)
        return index.tz_localize("UTC") if kind == "utc" else index
    return pd.Index(cells, name=name, dtype={"int": "int64", "float": "float64"}.get(kind))


@st.composite
def frames(draw: st.DrawFn) -> Any:
    """Half the frames only of what Parquet keeps, the others of anything."""
    import pandas as pd

    rows = draw(st.integers(0, 4))
    if draw(st.booleans()):
        labels = st.lists(TEXT.filter(lambda t: not t.startswith("__")), min_size=1, max_size=4)
        kinds, index_kinds, names = PARQUET_COLUMNS, PARQUET_INDEXES, st.none() | st.just("n")
    else:
        labels = st.lists(TEXT | st.integers(0, 3), max_size=4)
        kinds, index_kinds = sorted(COLUMN_KINDS), [*PARQUET_INDEXES, "str", "multi"]
        names = st.none() | TEXT | st.integers(0, 2)
    data = {label: draw(columns(rows, kinds)) for label in draw(labels.map(_unique))}
    return pd.DataFrame(data, index=draw(indexes(rows, index_kinds, names)))


def _unique(labels: list[Any]) -> list[Any]:
    return list(dict.fromkeys(labels))


@settings(max_examples=300, deadline=None)
@given(frame=frames())
def test_any_pandas_frame_comes_back_exactly(frame: Any) -> None:
    with tempfile.TemporaryDirectory() as folder:
        kind, back = save_and_load(frame, Path(folder) / "d")
    event(kind)
    assert kind in (boundaries.PANDAS_PARQUET, boundaries.PICKLE)
    assert_same_frame(back, frame)


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
