"""`indented_json` writes exactly what `json.dumps(value, indent=2)` writes."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kedro_dab.show import indented_json

_TEXT = st.text(
    alphabet=st.sampled_from(
        [*'ab "\\/[]{},:\n\t\x00\x7fé€😀\u2028', chr(0xD800)]  # a lone surrogate too
    ),
    max_size=8,
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0.0, -0.0, 1e16, 1e-7, 1.5, 2.0**60, float("nan"), float("-inf")])
    | _TEXT
)
_KEYS = _TEXT | st.integers(-5, 5) | st.booleans() | st.none() | st.floats(allow_nan=False)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(_KEYS, inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=600, deadline=None)
@given(_VALUES)
def test_it_is_json_dumps_with_an_indent_of_two(value: Any) -> None:
    assert indented_json(value) == json.dumps(value, indent=2)


def test_plan_like_values_with_non_ascii_names_floats_and_empty_containers() -> None:
    value = {
        "schema": "kedro-dab/plan",
        "version": 1,
        "compute": {"serverless": {"kind": "serverless", "retention_days": 7.5}, "none": {}},
        "jobs": [
            {
                "key": "café_job",
                "depends_on": [],
                "settings": {},
                "run_args": ["--nodes", "naïve,日本,😀", "--params", 'a="b",c=[1]'],
                "nodes": [{"name": "x{y}", "placed_by": "tag 'ü: [1, 2]'"}],
                "floats": [0.1, 1e16, 1e-5, -0.0, float("inf"), float("nan"), 123456789.0],
                "nested": [[[]], [{}], {"a": [{}]}, True, False, None],
            }
        ],
    }
    assert indented_json(value) == json.dumps(value, indent=2)


@pytest.mark.parametrize("bad", [{"a": {1, 2}}, {("t",): 1}, [float, 1]])
def test_what_json_refuses_it_refuses_in_json_s_own_words(bad: Any) -> None:
    with pytest.raises(TypeError) as expected:
        json.dumps(bad, indent=2)
    with pytest.raises(TypeError, match=re.escape(str(expected.value))):
        indented_json(bad)


def test_a_value_that_contains_itself_is_refused_in_json_s_own_words() -> None:
    looped: dict[str, Any] = {"a": []}
    looped["a"].append(looped)
    with pytest.raises(ValueError) as expected:
        json.dumps(looped, indent=2)
    with pytest.raises(ValueError, match=re.escape(str(expected.value))):
        indented_json(looped)
