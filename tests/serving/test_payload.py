# ruff: noqa: E501  (tables of cases read best one case a line)
"""A request's body read into inputs and parameters, and output data written as JSON values,
checked against pandas and NumPy themselves: what pandas builds from a `dataframe_split` is
what the endpoint gets as rows, and what the answer holds reads back into the values written."""

from __future__ import annotations

import base64
import datetime
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kedro_dab.serve.endpoints import Endpoint, EndpointParam
from kedro_dab.serve.errors import RequestError
from kedro_dab.serve.payload import check_params, nesting, outputs_json, parse_body, to_jsonable


def endpoint(inputs: tuple[str, ...] = ("rows",), **params: object) -> Endpoint:
    return Endpoint(
        name="edge",
        pipeline="edge",
        description="",
        inputs=inputs,
        outputs=("out",),
        params=tuple(
            EndpointParam(key, "object" if isinstance(v, dict) else "any", v)
            for key, v in params.items()
        ),
        preload=(),
        catalog_inputs=(),
    )


def deep(levels: int) -> object:
    value: object = 1
    for _ in range(levels):
        value = [value]
    return value


column_names = st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=4, unique=True)
cells = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.text(max_size=5),
    st.floats(-1e9, 1e9),
)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), columns=column_names)
def test_dataframe_split_gives_the_rows_of_the_frame_pandas_builds_from_it(data, columns):
    rows = data.draw(st.lists(st.lists(cells, min_size=len(columns), max_size=len(columns))))
    split = {"columns": columns, "data": rows}
    inputs, _ = parse_body(endpoint(), {"dataframe_split": split})
    frame = pd.DataFrame(rows, columns=pd.Index(columns, dtype=object), dtype=object)
    assert inputs == {"rows": frame.to_dict(orient="records")}


def test_dataframe_split_and_records_of_the_same_frame_give_the_same_input():
    frame = pd.DataFrame({"width": [3, -1], "height": [4.0, 10.5], "label": ["a", None]})
    split = json.loads(frame.to_json(orient="split", index=False))
    records = json.loads(frame.to_json(orient="records"))
    assert (
        parse_body(endpoint(), {"dataframe_split": split})[0]
        == parse_body(endpoint(), {"dataframe_records": records})[0]
    )


@pytest.mark.parametrize(
    ("split", "message"),
    [
        ({"columns": ["a", "a"], "data": [[1, 2]]}, "'dataframe_split.columns' names 'a' twice"),
        ({"columns": [["a"]], "data": [[1]]}, "'dataframe_split.columns[0]' must be a column name"),
        ({"columns": [1], "data": [[1]]}, "'dataframe_split.columns[0]' must be a column name"),
        ({"columns": ["a"], "data": [[1], [2]], "index": [0]}, "'dataframe_split.index' must be a list of 2 labels"),
        ({"columns": ["a"], "data": [[1]], "index": 0}, "'dataframe_split.index' must be a list of 1 labels"),
        ({"columns": ["a", "b"], "data": [[1]]}, "'dataframe_split.data[0]' must be a list of 2 values"),
    ],
    ids=["duplicate_column", "unhashable_column", "number_column", "short_index", "scalar_index", "short_row"],
)  # fmt: skip
def test_a_dataframe_split_that_is_not_one_table_is_refused_naming_the_key(split, message):
    with pytest.raises(RequestError, match="^" + message.replace("[", r"\[").replace("]", r"\]")):
        parse_body(endpoint(), {"dataframe_split": split})


@pytest.mark.parametrize("body", [{"instances": [{"a": 1}]}, {"instances": {"rows": [{"a": 1}]}}])
def test_instances_is_read_as_inputs_is(body):
    assert parse_body(endpoint(), body) == parse_body(endpoint(), {"inputs": body["instances"]})


def test_instances_for_several_inputs_must_name_each():
    with pytest.raises(RequestError, match="send 'instances' as an object holding each"):
        parse_body(endpoint(("a", "b")), {"instances": [1, 2]})


def test_nesting_counts_levels_of_arrays_and_objects():
    assert nesting(1) == 0
    assert nesting({"a": [1, {"b": []}]}) == 4
    assert nesting(deep(5000)) == 5000  # no recursion: deeper than Python's stack allows


def test_a_parameter_nested_deeper_than_the_limit_is_a_request_error_not_a_crash():
    too_deep = {"options": {"x": deep(989)}}  # as deep as Python's json module reads a body
    with pytest.raises(RequestError, match="parameter 'options' nests arrays and objects more"):
        check_params(endpoint(options={}), too_deep)


README_PARAM_DEPTH = 100
"""The README: "A parameter value may nest arrays and objects at most 100 levels deep"."""


def test_a_parameter_may_nest_exactly_as_deep_as_the_readme_says_and_no_deeper():
    at_the_limit = {"options": {"x": deep(README_PARAM_DEPTH - 1)}}  # the object is a level
    one_more = {"options": {"x": deep(README_PARAM_DEPTH)}}
    assert check_params(endpoint(options={}), at_the_limit) == at_the_limit
    with pytest.raises(RequestError, match="more than 100 levels deep"):
        check_params(endpoint(options={}), one_more)


def test_missing_times_and_values_are_null_as_nan_is():
    frame = pd.DataFrame(
        {
            "at": pd.to_datetime(["2020-01-01 12:30", None]),
            "x": [1.5, float("nan")],
            "n": pd.array([1, None], dtype="Int64"),
        }
    )
    written = json.loads(json.dumps(to_jsonable(frame), allow_nan=False))
    assert written[1] == {"at": None, "x": None, "n": None}
    assert pd.Timestamp(written[0]["at"]) == frame["at"][0]
    assert written[0]["x"] == 1.5
    assert written[0]["n"] == 1
    assert to_jsonable([pd.NaT, pd.NA, np.datetime64("NaT")]) == [None, None, None]


@pytest.mark.parametrize("unit", ["D", "s", "ms", "us", "ns"])
def test_numpy_times_are_iso_text_that_reads_back_to_the_same_time(unit):
    times = np.array(["2021-03-04T05:06:07.123456789", "NaT"], dtype=f"datetime64[{unit}]")
    written = to_jsonable({"one": times[0], "all": times})
    assert np.datetime64(written["one"]) == times[0]
    assert np.datetime64(written["all"][0]) == times[0]
    assert written["all"][1] is None


def test_bytes_are_base64_that_decodes_to_the_same_bytes():
    raw = bytes(range(256))
    written = to_jsonable({"b": raw, "ba": bytearray(raw[:3])})
    assert base64.b64decode(written["b"], validate=True) == raw
    assert base64.b64decode(written["ba"], validate=True) == raw[:3]


def test_dates_and_pandas_timestamps_are_iso_text():
    stamp = pd.Timestamp("2020-01-01 12:00", tz="UTC")
    written = to_jsonable([stamp, datetime.date(2020, 1, 2)])
    assert pd.Timestamp(written[0]) == stamp
    assert datetime.date.fromisoformat(written[1]) == datetime.date(2020, 1, 2)


@pytest.mark.parametrize(
    "data",
    [
        {"k": {True: 1, False: 0, None: 2, 3: 4, 1.5: 5}},
        {"k": {True: 1, None: 2}, "x": np.int64(1)},  # written through to_jsonable
    ],
    ids=["as_json_writes_it", "beside_a_numpy_value"],
)
def test_object_keys_are_written_as_json_writes_them_whatever_else_the_output_holds(data):
    plain = {k: v for k, v in data.items() if k != "x"}
    expected = json.loads(json.dumps({"outputs": plain}))["outputs"]
    answer = json.loads(outputs_json(data))["outputs"]
    assert {k: v for k, v in answer.items() if k != "x"} == expected
