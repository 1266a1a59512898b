"""Persisted task boundaries: in-memory datasets passed between tasks through run-scoped files.

With `boundaries: persist`, a task that makes an in-memory dataset a later task reads saves it
under `<store>/<run id>/<dataset>/`, and the later task loads it from there. `<store>` is
`<boundaries_root>/<job>`; the run id is Databricks' `{{job.run_id}}`, which a repair run keeps,
so a repair finds what the run's earlier tasks wrote and concurrent runs never meet.

What a task saves and loads reaches it as a reserved Kedro runtime parameter, `kedro_dab`
(`--params kedro_dab.store=...,kedro_dab.run_id=...,kedro_dab.load='a;b',kedro_dab.save='c'`): a
wheel task's only input is its argv, serverless tasks cannot set environment variables, and
`kedro run` accepts no unknown options. The hook below (registered through Kedro's `kedro.hooks`
entry point, inert without that parameter; in `boundary_hooks`, the only part that imports
Kedro) takes the parameter out again before Kedro builds
its parameters and catalog, so nodes see exactly the parameters of a plain `kedro run`, and
adds one catalog entry per dataset. Nothing in the user's catalog changes.

The format is chosen at save time from the object: Spark DataFrames as Parquet (through Spark),
pandas DataFrames as Parquet when Parquet gives them back exactly (else pickled), anything
else pickled.
A `format` file beside the data says how to load it back, so loading never guesses and a run
without Spark data never imports Spark.

Cleanup: the job's last task, `kedro_dab_cleanup`, depends on every other task and runs
(Databricks' default `run_if: ALL_SUCCESS`) only when all succeeded; it removes the run's folder
and the folders of runs older than the retention that failed and were never repaired. A failed
run keeps its data, so a repair (which reruns the failed tasks, their dependants and the
cleanup, under the same run id) finds it.
"""

from __future__ import annotations

import functools
import logging
import pickle
import re
import shutil
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PARAM = "kedro_dab"
"""The reserved runtime parameter that asks a task to persist its boundaries."""
RUN_ID_REFERENCE = "{{job.run_id}}"
"""Databricks' dynamic value reference to the job run's id (kept by repair runs)."""
CLEANUP_TASK = "kedro_dab_cleanup"
"""The key of the task that removes a successful run's boundary data."""
CLEANUP_SCRIPT = "kedro-dab-boundaries"
"""The console script (in kedro-dab's wheel) the cleanup task calls."""
FORMAT_FILE = "format"
STARTED_FILE = ".started"
SEPARATOR = ";"
"""Between dataset names in `kedro_dab.load` / `kedro_dab.save` (`,` separates params)."""
SPARK_PARQUET, PANDAS_PARQUET, PICKLE = "spark-parquet", "pandas-parquet", "pickle"

logger = logging.getLogger(__name__)


def run_location(store: str, run_id: str) -> str:
    """The folder of one run's boundary data."""
    return f"{store.rstrip('/')}/{run_id}"


def dataset_location(store: str, run_id: str, dataset: str) -> str:
    """Where one run keeps one boundary dataset."""
    return f"{run_location(store, run_id)}/{dataset}"


def runtime_params(store: str, run_id: str, load: Sequence[str], save: Sequence[str]) -> list[str]:
    """The `key=value` items of `--params` that ask a task to load and save its boundaries.
    The dataset lists are YAML-quoted: Kedro reads each value as YAML (`007` would be 7)."""
    items = [f"{PARAM}.store={store}", f"{PARAM}.run_id={run_id}"]
    if load:
        items.append(f"{PARAM}.load={_quoted(SEPARATOR.join(load))}")
    if save:
        items.append(f"{PARAM}.save={_quoted(SEPARATOR.join(save))}")
    return items


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def is_dataset_name_passable(name: str) -> bool:
    """Whether a persisted dataset's name reaches a task intact in `runtime_params`: Kedro
    splits `--params` at commas, and the lists are split at `SEPARATOR`."""
    return "," not in name and SEPARATOR not in name


# --- the format, chosen by the object ---------------------------------------------------------


def format_of(data: Any) -> str:
    """How `data` is stored, judged by its type's module (so Spark is never imported here): a
    pandas DataFrame is Parquet only when Parquet gives it back exactly (`_parquet_keeps`)."""
    kind = type(data)
    root = kind.__module__.split(".")[0]
    if root == "pyspark" and kind.__name__ == "DataFrame":
        return SPARK_PARQUET
    if root == "pandas" and kind.__name__ == "DataFrame" and _parquet_keeps(data):
        return PANDAS_PARQUET
    return PICKLE


def _parquet_keeps(frame: Any) -> bool:
    """Whether pandas' Parquet round trip gives `frame` back exactly (values, dtypes, index, column
    labels), judged by its schema alone, never by its cells or a trial write. It does for: a
    str column label each, unique, not `__`-prefixed (pyarrow's reserved names), under pandas'
    own dtype for string labels; a RangeIndex or a plain index of a dtype below with no `freq`
    (names str or None); numpy bool/int/uint/float, datetime64 in ms/us/ns, timedelta64, UTC
    datetimes in ms/us/ns and the masked nullable dtypes; StringDtype columns of the storage
    pandas reads strings back as. Not for: object, complex, categorical, period, interval,
    sparse and pyarrow dtypes, seconds (Parquet keeps milliseconds), other time zones (may come back
    as another tzinfo), no columns, MultiIndexes, `attrs` or a duplicate-labels flag."""
    import pandas as pd

    columns, index = frame.columns, frame.index
    return (
        len(columns) > 0
        and not frame.attrs
        and frame.flags.allows_duplicate_labels
        and type(columns) is pd.Index
        and columns.dtype == _label_dtype()
        and columns.is_unique
        and all(_plain_name(label) for label in columns)
        and _plain_name(columns.name, None)
        and _index_keeps(index)
        and all(_column_keeps(dtype) for dtype in frame.dtypes)
    )


def _label_dtype() -> Any:
    """The dtype pandas gives string labels (object in pandas 2, `str` in 3), and so Parquet's
    column labels and string indexes when read back."""
    import pandas as pd

    return pd.Index(["label"]).dtype


def _plain_name(name: Any, *allowed: Any) -> bool:
    return name in allowed or (type(name) is str and not name.startswith("__"))


def _index_keeps(index: Any) -> bool:
    import pandas as pd

    if not _plain_name(index.name, None):
        return False
    if type(index) is pd.RangeIndex:
        return True
    if type(index) not in (pd.Index, pd.DatetimeIndex, pd.TimedeltaIndex):
        return False  # MultiIndex, CategoricalIndex, PeriodIndex, IntervalIndex
    if getattr(index, "freq", None) is not None:
        return False  # read back without it
    dtype = index.dtype
    if isinstance(dtype, pd.StringDtype):
        return bool(dtype == _label_dtype())  # how a string index is read back
    return _time_or_numpy(dtype)


def _column_keeps(dtype: Any) -> bool:
    import pandas as pd

    if isinstance(dtype, _masked()):
        return True
    if isinstance(dtype, pd.StringDtype):  # read back in the storage its name means now
        return bool(dtype == pd.api.types.pandas_dtype(dtype.name))
    return _time_or_numpy(dtype)


def _time_or_numpy(dtype: Any) -> bool:
    import numpy as np
    import pandas as pd

    if isinstance(dtype, pd.DatetimeTZDtype):
        return dtype.unit != "s" and bool(dtype == pd.DatetimeTZDtype(dtype.unit, "UTC"))
    if not isinstance(dtype, np.dtype):
        return False
    if dtype.kind == "M":
        return np.datetime_data(dtype)[0] != "s"
    return dtype.kind in "biufm"  # Parquet may still refuse one (float16 on old pyarrow)


@functools.cache
def _masked() -> tuple[type, ...]:
    """pandas' masked nullable dtypes: Int*, UInt*, Float* and boolean."""
    import pandas as pd

    ints = (getattr(pd, f"{sign}Int{bits}Dtype") for sign in ("", "U") for bits in (8, 16, 32, 64))
    return (*ints, pd.Float32Dtype, pd.Float64Dtype, pd.BooleanDtype)


def save_data(data: Any, folder: Path) -> str:
    """Write `data` into `folder` (replacing what a previous attempt left); return its format.
    The folder appears complete or not at all: it is written beside and renamed into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}.partial")
    partial.mkdir()
    try:
        kind = format_of(data)
        if kind == SPARK_PARQUET:
            data.write.mode("overwrite").parquet(str(partial / "data"))
        elif kind == PANDAS_PARQUET:
            kind = _save_pandas(data, partial)
        else:
            _pickle(data, partial)
        (partial / FORMAT_FILE).write_text(kind + "\n", encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        partial.rename(folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return kind


def _save_pandas(data: Any, folder: Path) -> str:
    try:
        data.to_parquet(folder / "data.parquet", engine="pyarrow")
    except Exception as exc:
        # No pyarrow, or data its writer refuses (an old pyarrow and float16, say): a failed
        # writer leaves no file behind, and the frame is pickled.
        logger.info("boundary data kept as pickle, not Parquet: %r", exc)
        (folder / "data.parquet").unlink(missing_ok=True)
        _pickle(data, folder)
        return PICKLE
    return PANDAS_PARQUET


def _pickle(data: Any, folder: Path) -> None:
    with (folder / "data.pickle").open("wb") as handle:
        pickle.dump(data, handle, protocol=pickle.HIGHEST_PROTOCOL)


def load_data(folder: Path) -> Any:
    """Read back what `save_data` wrote, as the same type."""
    kind = (folder / FORMAT_FILE).read_text(encoding="utf-8").strip()
    if kind == SPARK_PARQUET:
        from pyspark.sql import SparkSession

        return SparkSession.builder.getOrCreate().read.parquet(str(folder / "data"))
    if kind == PANDAS_PARQUET:
        import pandas as pd

        return pd.read_parquet(folder / "data.parquet", engine="pyarrow")
    with (folder / "data.pickle").open("rb") as handle:
        return pickle.load(handle)  # written by this job's own earlier task


# --- cleanup ------------------------------------------------------------------------------------


def is_run_id(text: str) -> bool:
    """Whether `text` can name a run's folder: one plain name (letters, digits, `.`, `_`, `-`,
    not starting with `.` or `-`), never a path that leads elsewhere."""
    return bool(_RUN_ID.fullmatch(text))


_RUN_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")


def cleanup(store: Path, run_id: str, retention_days: float, now: float | None = None) -> list[str]:
    """Remove the run's boundary data, and that of other runs older than `retention_days`
    (failed runs never repaired). Returns the run ids removed. A `run_id` that is not a plain
    name (`is_run_id`) is a `ValueError`, and nothing is removed."""
    if not is_run_id(run_id):
        raise ValueError(f"run id {run_id!r} is not a plain name; nothing was removed")
    now = time.time() if now is None else now
    removed = []
    own = store / run_id
    if own.exists():
        shutil.rmtree(own)
        removed.append(run_id)
    if store.is_dir():
        for child in sorted(store.iterdir()):
            if child.is_dir() and now - _started(child) > retention_days * 86400:
                shutil.rmtree(child, ignore_errors=True)
                removed.append(child.name)
    return removed


def _started(run: Path) -> float:
    marker = run / STARTED_FILE
    try:
        return float(marker.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return run.stat().st_mtime


def main(argv: Sequence[str] | None = None) -> int:
    """`kedro-dab-boundaries cleanup --store S --run-id R --retention-days D` (the cleanup
    task's entry point)."""
    import argparse

    parser = argparse.ArgumentParser(prog=CLEANUP_SCRIPT, description=main.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    clean = commands.add_parser("cleanup", help="remove a successful run's boundary data")
    clean.add_argument("--store", required=True)
    clean.add_argument("--run-id", required=True)
    clean.add_argument("--retention-days", type=float, required=True)
    args = parser.parse_args(argv)
    if not is_run_id(args.run_id):
        parser.error(f"--run-id {args.run_id!r}: a run id is a plain name, not a path")
    removed = cleanup(Path(args.store), args.run_id, args.retention_days)
    print(f"removed boundary data of run(s): {', '.join(removed) or 'none'}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
