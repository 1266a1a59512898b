"""`fast_yaml.load` reads every text as PyYAML's `yaml.load(text, Loader=CSafeLoader)` does:
the same values in the same order and of the same types, or the same error. PyYAML is the
oracle throughout; values are compared by `repr`, which tells `1` from `True` and `1.0` and
keeps `nan` equal to itself."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kedro_dab import fast_yaml
from kedro_dab.fast_yaml import _build, _HandOver

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def outcome(read: Any, text: str) -> tuple[str, str]:
    try:
        return ("value", repr(read(text)))
    except Exception as exc:  # the error itself is the answer to compare
        return (type(exc).__name__, str(exc))


def pyyaml(text: str) -> Any:
    return yaml.load(text, Loader=LOADER)


def assert_read_as_pyyaml_reads(text: str) -> None:
    assert outcome(fast_yaml.load, text) == outcome(pyyaml, text)


TRICKY = (
    "yes",
    "No",
    "on",
    "OFF",
    "true",
    "~",
    "null",
    "",
    " ",
    "1e3",
    "1.5e-7",
    "0x1F",
    "0o17",
    "017",
    "1_000",
    "+12",
    "-.inf",
    ".NaN",
    "12:30:45",
    "190:20:30",
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "=",
    "<<",
    "- a",
    "a: b",
    "#c",
    "'q'",
    '"d"',
    "é ✓",
    "multi\nline",
    "trailing ",
    "${oc.env:HOME}",
    "{x}_{y}",
    "pickle.PickleDataset",
)
scalars = (
    st.sampled_from(TRICKY)
    | st.text(max_size=12)
    | st.integers()
    | st.floats()
    | st.booleans()
    | st.none()
    | st.dates()
    | st.datetimes(timezones=st.none() | st.just(datetime.timezone.utc))
)
keys = st.sampled_from(TRICKY) | st.text(max_size=8) | st.integers() | st.booleans()
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(
    values,
    st.sampled_from([None, True, False]),
    st.sampled_from([None, '"', "'"]),
    st.booleans(),
)
def test_a_dumped_value_reads_back_as_pyyaml_reads_it(
    value: Any, flow: bool | None, style: str | None, unicode: bool
) -> None:
    text = yaml.safe_dump(
        value, default_flow_style=flow, default_style=style, allow_unicode=unicode
    )
    assert_read_as_pyyaml_reads(text)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab1.: -\n#&*!{}[],'\"~<=|>%\t?", max_size=40))
def test_any_text_gives_pyyamls_value_or_pyyamls_error(text: str) -> None:
    assert_read_as_pyyaml_reads(text)


CORPUS = {
    "empty": "",
    "comments only": "# nothing\n# here\n",
    "an explicit empty document": "---\n...\n",
    "a bare scalar": "just text\n",
    "a catalog entry": "cars:\n  type: pandas.CSVDataset\n  filepath: data/01_raw/cars.csv\n",
    "flow containers": "a: {b: [1, 2.5, yes, ~]}\n",
    "duplicate keys, the last wins": "a: 1\nb: 2\na: 3\n",
    "anchors and a merge key": "_base: &base\n  type: x\nd:\n  <<: *base\n  filepath: f\n",
    "an alias": "a: &x [1, 2]\nb: *x\n",
    "an explicit str tag": "a: !!str 123\n",
    "an explicit int tag": "a: !!int '7'\n",
    "a binary tag": "a: !!binary aGVsbG8=\n",
    "a set": "!!set {a, b}\n",
    "an ordered map": "!!omap [a: 1, b: 2]\n",
    "an unknown tag": "a: !custom value\n",
    "a non-specific tag": "a: ! 123\n",
    "a complex key": "? [a, b]\n: c\n",
    "a mapping as key": "{a: 1}: x\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "a value indicator": "a: =\n",
    "not a number": "a: .nan\nb: -.inf\n",
    "timestamps": "a: 2001-12-14\nb: 2001-12-14 21:59:43.10 -5\n",
    "a block literal": "a: |\n  line one\n  line two\n",
    "an impossible date, then a syntax error": "a: 2001-13-45\nb: [1\n",
    "an impossible date": "a: 2001-13-45\n",
    "a tab where YAML forbids one": "a:\n\t- b\n",
    "an unclosed flow": "a: [1, 2\n",
    "a bad indentation": "a:\n  b: 1\n c: 2\n",
}


@pytest.mark.parametrize("text", list(CORPUS.values()), ids=list(CORPUS))
def test_each_corpus_text_reads_as_pyyaml_reads_it(text: str) -> None:
    assert_read_as_pyyaml_reads(text)


@pytest.mark.parametrize(
    "text",
    [CORPUS["a catalog entry"], CORPUS["flow containers"], CORPUS["timestamps"]],
    ids=["a catalog entry", "flow containers", "timestamps"],
)
def test_plain_catalog_yaml_is_built_from_events_without_handing_over(text: str) -> None:
    assert repr(_build(text, False)) == repr(pyyaml(text))


@pytest.mark.parametrize(
    "name", ["anchors and a merge key", "an alias", "an explicit str tag", "a complex key"]
)
def test_anchors_tags_and_complex_keys_are_handed_to_pyyaml(name: str) -> None:
    with pytest.raises(_HandOver):
        _build(CORPUS[name], False)


# --- unique_keys: OmegaConf's loader (Kedro's config loader reads YAML with it) is the oracle --


def omegaconf_loader() -> Any:
    import importlib

    for module in ("omegaconf._yaml", "omegaconf._utils"):
        found = getattr(importlib.import_module(module), "get_yaml_loader", None)
        if found is not None:
            return found()
    raise AssertionError("this OmegaConf has no get_yaml_loader")


def duplicate_refused(read: Any, text: str) -> str | None:
    """The key `read` refuses as given twice, or None when it reads `text`."""
    try:
        read(text)
    except yaml.constructor.ConstructorError as exc:
        assert exc.problem and exc.problem.startswith("found duplicate key "), exc
        return exc.problem
    return None


KEY_TEXTS = ["a", "b", "'a'", '"b"', "1", "'1'", "yes", "~", "1.5", "2001-01-01", "a b"]
SCALAR_TEXTS = ["x", "1", "'q'", "[1, 2]", "{a: 1, b: 2}", "{a: 1, 'a': 2}", "*t"]


@st.composite
def mapping_texts(draw: Any, depth: int = 0) -> str:
    """A block mapping whose keys often repeat, at any depth, with flow mappings, an anchored
    template and merge keys among the values."""
    indent = "  " * depth
    lines = [] if depth else ["_t: &t {a: 0, b: 0}"]
    for key in draw(st.lists(st.sampled_from([*KEY_TEXTS, "<<"]), min_size=1, max_size=5)):
        if key == "<<":
            lines.append(f"{indent}<<: *t")
        elif depth < 2 and draw(st.booleans()):
            lines.append(f"{indent}{key}:")
            lines.append(draw(mapping_texts(depth + 1)))
        else:
            lines.append(f"{indent}{key}: {draw(st.sampled_from(SCALAR_TEXTS))}")
    return "\n".join(lines)


@settings(max_examples=600, deadline=None)
@given(mapping_texts())
def test_with_unique_keys_what_omegaconf_refuses_is_refused_and_the_rest_reads_as_pyyaml(
    text: str,
) -> None:
    loader = omegaconf_loader()
    omegaconf_refuses = duplicate_refused(lambda t: yaml.load(t, Loader=loader), text)
    refused = duplicate_refused(lambda t: fast_yaml.load(t, unique_keys=True), text)
    if omegaconf_refuses:
        assert refused
    if not refused:
        assert repr(fast_yaml.load(text, unique_keys=True)) == repr(pyyaml(text))


@pytest.mark.parametrize(
    ("text", "omegaconf_refuses", "refused"),
    [
        ("2001-01-01: x\n'2001-01-01': y\n", True, True),  # text to OmegaConf, once a date here
        ("a: {1: x, '1': y}\n", False, True),  # an int and a text: same text, refused here
        ("_t: &t {a: 1}\nd:\n  <<: *t\n  <<: *t\n", False, False),  # merge keys may repeat
        ("_t: &t {a: 1}\nd:\n  <<: *t\n  e: 1\n  e: 2\n", True, True),  # handed to PyYAML
    ],
    ids=["a date and its quoted text", "a number and its quoted text", "two merge keys", "merged"],
)
def test_with_unique_keys_a_repeated_key_text_is_refused_and_merge_keys_may_repeat(
    text: str, omegaconf_refuses: bool, refused: bool
) -> None:
    loader = omegaconf_loader()
    assert bool(duplicate_refused(lambda t: yaml.load(t, Loader=loader), text)) is omegaconf_refuses
    assert bool(duplicate_refused(lambda t: fast_yaml.load(t, unique_keys=True), text)) is refused


@pytest.mark.parametrize(
    "text",
    ["a: 1\nb: 2\na: 3\n", "a:\n  b: 1\n  b: 2\n", "a: {b: 1, 'b': 2}\n", "x: [{a: 1, a: 2}]\n"],
    ids=["top level", "nested block", "flow, one key quoted", "in a list"],
)
def test_with_unique_keys_the_event_builder_itself_refuses_a_repeated_key(text: str) -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match="found duplicate key"):
        _build(text, True)


def test_without_unique_keys_a_repeated_key_keeps_pyyamls_last_value() -> None:
    assert fast_yaml.load("a: 1\na: 2\n") == {"a": 2}
