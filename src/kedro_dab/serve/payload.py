"""A request's payload in and the answer out: a body in one of Databricks Model Serving's
shapes read into inputs and parameters, the parameters checked against the endpoint's, and
output data turned into JSON values."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from typing import Any

from kedro_dab.errors import first_line
from kedro_dab.serve.endpoints import Endpoint
from kedro_dab.serve.errors import OutputError, RequestError

DATA_KEYS = ("dataframe_records", "dataframe_split", "instances", "inputs")
"""The request shapes Databricks Model Serving accepts, besides `params`."""
MAX_PARAM_DEPTH = 100
"""How deeply a request's parameter value may nest arrays and objects."""


def parse_body(endpoint: Endpoint, body: Any) -> tuple[dict[str, Any], Any]:
    """A request body in one of Model Serving's shapes -> (inputs by dataset name, params).

    `dataframe_records` (a list of row objects) and `dataframe_split` (`columns` and `data`)
    feed an endpoint's single input as a list of row objects. `inputs` (or `instances`, the
    row-format name Model Serving gives the same key) holds an object with every input by
    name; an endpoint with one input also takes its value as is, unless that value is an
    object holding a key named after the input."""
    if not isinstance(body, dict):
        raise RequestError("the request body must be a JSON object")
    for key in body:
        if key not in (*DATA_KEYS, "params"):
            raise RequestError(
                f"unknown key '{key}' in the request body; use one of "
                f"{', '.join(DATA_KEYS)} and params"
            )
    given = [k for k in DATA_KEYS if k in body]
    names = endpoint.inputs
    if not names:
        if given:
            raise RequestError(f"endpoint '{endpoint.name}' takes no inputs; send only 'params'")
        return {}, body.get("params")
    if len(given) > 1:
        raise RequestError(f"send one of {', '.join(given)}, not several")
    if not given:
        raise RequestError(
            f"missing input '{names[0]}' for endpoint '{endpoint.name}'; send it as "
            "dataframe_records, dataframe_split or inputs"
        )
    key = given[0]
    value = body[key]
    if key in ("inputs", "instances"):
        by_name = isinstance(value, dict) and (len(names) > 1 or names[0] in value)
        if by_name:
            return dict(value), body.get("params")
        if len(names) > 1:
            raise RequestError(
                f"endpoint '{endpoint.name}' has inputs {', '.join(names)}: send '{key}' as an "
                "object holding each of them by name"
            )
        return {names[0]: value}, body.get("params")
    if len(names) > 1:
        raise RequestError(
            f"endpoint '{endpoint.name}' has inputs {', '.join(names)}: '{key}' feeds a single "
            "input; send 'inputs' as an object holding each of them by name"
        )
    if key == "dataframe_records":
        if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
            raise RequestError("'dataframe_records' must be a list of row objects")
        return {names[0]: value}, body.get("params")
    return {names[0]: _split_to_records(value)}, body.get("params")


def _split_to_records(value: Any) -> list[dict[str, Any]]:
    """`dataframe_split` as the rows `dataframe_records` would send: the column names must be
    distinct strings (a row object's keys), and an `index` must give one label per row."""
    if not isinstance(value, dict) or not isinstance(value.get("columns"), list):
        raise RequestError("'dataframe_split' must be an object with 'columns' and 'data'")
    unknown = set(value) - {"columns", "data", "index"}
    if unknown:
        raise RequestError(f"unknown key '{sorted(unknown)[0]}' in 'dataframe_split'")
    columns = value["columns"]
    seen: set[str] = set()
    for number, column in enumerate(columns):
        if not isinstance(column, str):
            raise RequestError(
                f"'dataframe_split.columns[{number}]' must be a column name (a string), "
                f"got {column!r}"[:300]
            )
        if column in seen:
            raise RequestError(f"'dataframe_split.columns' names '{column}' twice"[:300])
        seen.add(column)
    data = value.get("data")
    if not isinstance(data, list):
        raise RequestError("'dataframe_split.data' must be a list of rows")
    index = value.get("index", data)
    if not isinstance(index, list) or len(index) != len(data):
        raise RequestError(
            f"'dataframe_split.index' must be a list of {len(data)} labels, one per row of 'data'"
        )
    records = []
    for number, row in enumerate(data):
        if not isinstance(row, list) or len(row) != len(columns):
            raise RequestError(
                f"'dataframe_split.data[{number}]' must be a list of {len(columns)} values, "
                "one per column"
            )
        records.append(dict(zip(columns, row, strict=True)))
    return records


_TYPE_CHECKS: dict[str, Any] = {
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "any": lambda v: True,
}
_TYPE_WORDS = {
    "boolean": "a boolean",
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "array": "an array",
    "object": "an object",
}


def check_params(endpoint: Endpoint, params: Any) -> dict[str, Any]:
    """The request's parameters, checked against the endpoint's (name and JSON type; numbers
    finite)."""
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise RequestError("'params' must be an object of parameter values")
    known = {p.key: p for p in endpoint.params}
    for key, value in params.items():
        param = known.get(key)
        if param is None:
            allowed = ", ".join(known) or "none"
            raise RequestError(
                f"unknown parameter '{key}' for endpoint '{endpoint.name}'; it accepts: {allowed}"
            )
        if nesting(value) > MAX_PARAM_DEPTH:
            raise RequestError(
                f"parameter '{key}' nests arrays and objects more than {MAX_PARAM_DEPTH} "
                "levels deep; send a flatter value"
            )
        if not _TYPE_CHECKS[param.type](value):
            raise RequestError(
                f"parameter '{key}' must be {_TYPE_WORDS[param.type]}, "
                f"got {type(value).__name__} {value!r}"[:300]
            )
        if not _finite(value):
            raise RequestError(
                f"parameter '{key}' holds {_TYPE_WORDS['number']} that is not finite "
                "(NaN or an infinity); send a finite number"
            )
    return params


def nesting(value: Any) -> int:
    """How many levels of arrays and objects a JSON value nests (0 for a scalar), counted
    without recursion."""
    deepest, level = 0, [(value, 0)]
    while level:
        item, depth = level.pop()
        if isinstance(item, (dict, list)):
            depth += 1
            deepest = max(deepest, depth)
            level.extend((v, depth) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def _finite(value: Any) -> bool:
    """Whether every number in `value` (a JSON value) is finite."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


MISSING_VALUE_TYPES = frozenset({"NaTType", "NAType"})
"""pandas' missing time (`NaT`) and missing scalar (`NA`), written as null as NaN is."""


def to_jsonable(value: Any) -> Any:
    """Output data as JSON values: DataFrames as lists of records, arrays and series as lists,
    NumPy scalars as numbers, NaN, infinities, `NaT` and `NA` as null, times in ISO 8601, bytes
    in base64 (RFC 4648, no line breaks)."""
    if isinstance(value, (str, bool, int)) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if type(value).__name__ in MISSING_VALUE_TYPES:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {_key(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    kind = type(value).__name__
    if kind == "DataFrame" and hasattr(value, "to_dict"):
        columns = getattr(value, "columns", None)
        if columns is not None and not columns.is_unique:
            repeated = sorted({str(c) for c in columns[columns.duplicated()]})
            raise ValueError(
                f"has columns named alike ({', '.join(repeated)}), which rows written as JSON "
                "objects cannot hold; rename them"
            )
        return to_jsonable(value.to_dict(orient="records"))
    if getattr(getattr(value, "dtype", None), "kind", None) == "M":  # NumPy datetime64
        return _numpy_times(value)
    if hasattr(value, "tolist"):
        return to_jsonable(value.tolist())
    if hasattr(value, "item"):
        return to_jsonable(value.item())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _key(key: Any) -> str:
    """An object key as `json.dumps` writes it (`true`, `null`, `1.5`), other keys as text."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key)
    return str(key)


def outputs_json(outputs: Mapping[str, Any]) -> str:
    """The answer `{"outputs": {...}}` as JSON text: the data as `json` writes it, or else each
    output through `to_jsonable`. Raises `OutputError` naming an output that cannot be
    written."""
    try:
        return json.dumps({"outputs": outputs}, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        pass
    written = {}
    for name, value in outputs.items():
        try:
            written[name] = to_jsonable(value)
            json.dumps(written[name], allow_nan=False)
        except RecursionError:
            raise OutputError(name, "nests too deeply to write as JSON") from None
        except Exception as exc:  # the output's own types decide what fails
            raise OutputError(
                name, f"cannot be written as JSON: {type(exc).__name__}: {first_line(exc)}"[:500]
            ) from exc
    return json.dumps({"outputs": written}, allow_nan=False)


def _numpy_times(value: Any) -> Any:
    """NumPy `datetime64` values (a scalar or an array of any shape) as ISO 8601 text at their
    own precision (`tolist` would give nanoseconds as integers), `NaT` as null."""
    import numpy

    text = numpy.datetime_as_string(value)
    if isinstance(text, str):
        return None if text == "NaT" else text
    cells = numpy.asarray(text, dtype=object)
    cells[numpy.isnat(value)] = None
    return cells.tolist()
