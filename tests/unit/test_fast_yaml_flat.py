"""The line-by-line reading of flat catalogs: whatever text it answers for, it answers as
PyYAML's `yaml.load(text, Loader=CSafeLoader)` does, and it answers for every catalog of plain
`name:` and `field: value` lines. PyYAML is the oracle; values are compared by `repr`."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kedro_dab import fast_yaml
from kedro_dab.fast_yaml import _flat

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Words PyYAML reads as something other than the text, or that are not plain words at all.
TRICKY = ["true", "No", "on", "null", "1", "0x1F", "1_000", "2001-12-14", ".inf", ".5", "12:30"]
TRICKY += ["-a", "@a", "a b", "a:b", "a #c", "'a'", "{a}", "${a}", "a\tb", "é", "", ".", "/", "..."]
TRICKY += ["<<", "=", "~", "a" * 1100, "-", "a\r", "\ufeffa"]


def _plain(pattern: str) -> st.SearchStrategy[str]:
    """Words of `pattern` that PyYAML reads back as the same text."""
    return st.from_regex(pattern, fullmatch=True).filter(
        lambda word: yaml.load(word, Loader=LOADER) == word
    )


PLAIN = _plain(r"[A-Za-z0-9_][A-Za-z0-9_.@/-]{0,12}")  # a key, a field or a value
PLAIN_VALUE = PLAIN | _plain(r"[./][A-Za-z0-9_][A-Za-z0-9_.@/-]{0,12}")  # `/dbfs/...`, `.x`
WORD = st.one_of(PLAIN.map(lambda w: (w, True)), st.sampled_from(TRICKY).map(lambda w: (w, False)))
COMMENT = st.sampled_from(["", "# a comment", "   # indented: comment", "  ", "#"])


def pyyaml(text: str) -> Any:
    return yaml.load(text, Loader=LOADER)


def outcome(text: str) -> tuple[str, str]:
    try:
        return ("value", repr(pyyaml(text)))
    except yaml.YAMLError as exc:
        return (type(exc).__name__, str(exc))


@st.composite
def catalogs(
    draw: st.DrawFn,
    word: st.SearchStrategy[tuple[str, bool]],
    value_word: st.SearchStrategy[tuple[str, bool]] | None = None,
) -> tuple[str, bool]:
    """A catalog-like text, and whether it is flat: made of plain words only, each block of
    fields at one indentation, no key repeated. Values come from `value_word` if given."""
    lines: list[str] = []
    flat = True
    keys: set[str] = set()
    for _ in range(draw(st.integers(1, 5))):
        key, plain = draw(word)
        flat &= plain and key not in keys
        keys.add(key)
        lines.append(f"{key}:")
        indent = draw(st.sampled_from(["  ", "    ", " "]))
        fields: set[str] = set()
        block = ""
        for _ in range(draw(st.integers(0, 3))):
            if draw(st.booleans()):
                lines.append(draw(COMMENT))
            (field, plain_field), (value, plain_value) = (
                draw(word),
                draw(word if value_word is None else value_word),
            )
            flat &= plain_field and plain_value and field not in fields
            fields.add(field)
            step = draw(st.sampled_from([indent, indent, indent + " ", indent[:-1]]))
            block = block or step  # the first field's indentation is the block's
            flat &= bool(step) and step == block
            lines.append(f"{step}{field}:{draw(st.sampled_from([' ', '   ']))}{value}")
    if draw(st.booleans()):
        lines.append(draw(COMMENT))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n"])), flat


@settings(max_examples=1500, deadline=None)
@given(catalogs(WORD, WORD | PLAIN_VALUE.map(lambda w: (w, True))))
def test_a_text_read_line_by_line_is_read_as_pyyaml_reads_it(case: tuple[str, bool]) -> None:
    text, _ = case
    answer = _flat(text)
    if answer is not None:
        assert ("value", repr(answer)) == outcome(text)
    assert outcome_of_load(text) == outcome(text)


@settings(max_examples=500, deadline=None)
@given(catalogs(PLAIN.map(lambda w: (w, True)), PLAIN_VALUE.map(lambda w: (w, True))))
def test_a_catalog_of_plain_words_is_read_line_by_line(case: tuple[str, bool]) -> None:
    text, flat = case
    answer = _flat(text)
    assert (answer is not None) is flat
    if answer is not None:
        assert repr(answer) == repr(pyyaml(text))


def outcome_of_load(text: str) -> tuple[str, str]:
    try:
        return ("value", repr(fast_yaml.load(text)))
    except yaml.YAMLError as exc:
        return (type(exc).__name__, str(exc))


def test_a_kedro_new_catalog_header_is_not_a_flat_catalog() -> None:
    text = "# Here you can define all your datasets\n#\n"
    assert _flat(text) is None
    assert fast_yaml.load(text) is None


def test_a_dataset_with_load_args_is_left_to_libyaml() -> None:
    text = "cars:\n  type: pandas.CSVDataset\n  load_args:\n    sep: ','\n"
    assert _flat(text) is None
    assert fast_yaml.load(text) == pyyaml(text)
