"""A request's payload in and the answer out: a body in one of Databricks Model Serving's
shapes read into inputs and parameters, the parameters checked against the endpoint's, and
output data turned into JSON values."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from kedro_dab.serve.endpoints import Endpoint
from kedro_dab.serve.errors import RequestError

DATA_KEYS = ("dataframe_records", "dataframe_split", "inputs")
"""The request shapes Databricks Model Serving accepts for tabular data, besides `params`."""


def parse_body(endpoint: Endpoint, body: Any) -> tuple[dict[str, Any], Any]:
    """A request body in one of Model Serving's shapes -> (inputs by dataset name, params).

    `dataframe_records` (a list of row objects) and `dataframe_split` (`columns` and `data`)
    feed an endpoint's single input as a list of row objects. `inputs` holds an object with
    every input by name; an endpoint with one input also takes its value as is, unless that
    value is an object holding a key named after the input."""
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
    if key == "inputs":
        by_name = isinstance(value, dict) and (len(names) > 1 or names[0] in value)
        if by_name:
            return dict(value), body.get("params")
        if len(names) > 1:
            raise RequestError(
                f"endpoint '{endpoint.name}' has inputs {', '.join(names)}: send 'inputs' as an "
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
    if not isinstance(value, dict) or not isinstance(value.get("columns"), list):
        raise RequestError("'dataframe_split' must be an object with 'columns' and 'data'")
    unknown = set(value) - {"columns", "data", "index"}
    if unknown:
        raise RequestError(f"unknown key '{sorted(unknown)[0]}' in 'dataframe_split'")
    columns = value["columns"]
    data = value.get("data")
    if not isinstance(data, list):
        raise RequestError("'dataframe_split.data' must be a list of rows")
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


def _finite(value: Any) -> bool:
    """Whether every number in `value` (a JSON value) is finite."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


def to_jsonable(value: Any) -> Any:
    """Output data as JSON values: DataFrames as lists of records, arrays and series as lists,
    NumPy scalars as numbers, NaN and infinities as null."""
    if isinstance(value, (str, bool, int)) or value is None:
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    kind = type(value).__name__
    if kind == "DataFrame" and hasattr(value, "to_dict"):
        return to_jsonable(value.to_dict(orient="records"))
    if hasattr(value, "tolist"):
        return to_jsonable(value.tolist())
    if hasattr(value, "item"):
        return to_jsonable(value.item())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
