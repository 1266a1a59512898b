"""An ignore line is compiled only when a path could match it: the check that skips the
rest never changes the answer of the line's own expression."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from kedro_dab.git_ignore import IgnorePatterns, _Pattern

LINE = st.text(alphabet="ab./*?!#- ", min_size=1, max_size=12)
PATH = st.text(alphabet="ab./-", min_size=0, max_size=14)


@settings(max_examples=3000, deadline=None)
@given(LINE, st.lists(PATH, min_size=1, max_size=6))
def test_a_skipped_line_is_one_its_expression_does_not_match(line: str, paths: list[str]) -> None:
    translated = _Pattern._translate(line)
    pattern = _Pattern.of(line)
    assert (translated is None) == (pattern is None)
    if translated is None:
        return  # a comment or a blank line: no pattern, which the assertion above checked
    expression = re.compile(translated[0])
    for path in paths:
        assert pattern.search(path) == (expression.search(path) is not None), path


@given(st.lists(LINE, min_size=1, max_size=8), PATH)
def test_lines_decide_by_the_last_one_matching(lines: list[str], path: str) -> None:
    decided = False
    for line in lines:
        translated = _Pattern._translate(line)
        if translated is not None and re.search(translated[0], path):
            decided = not translated[1]
    assert IgnorePatterns(lines).matches(path) == decided
