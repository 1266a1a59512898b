"""YAML text to Python values exactly as `yaml.load(text, Loader=CSafeLoader)` gives them,
about twice as fast on large catalogs.

PyYAML's C loader parses in C but builds a node tree, resolves and constructs every scalar in
Python. Here the values are built straight from libyaml's events, and a plain scalar goes
through PyYAML's own implicit resolvers and constructors only when its first character can
start something other than a string (as PyYAML indexes them). Anything this does not build
itself (anchors and aliases, merge keys, explicit tags other than `!!map` and `!!seq`, a
container as a mapping key, more than one document, a scalar its constructor refuses) is
handed to PyYAML whole, so the answer, or the error, is always PyYAML's.

The commonest large catalog, a top-level key per dataset over a few `field: value` lines of
plain ASCII words, is read line by line without libyaml's events, again only when each key and
value is a string to PyYAML's own resolvers; any other line hands the text to the path above.

With `unique_keys`, a mapping whose keys repeat a text (`a`, `'a'`; `1`, `'1'`) is refused,
where PyYAML keeps the last value. OmegaConf's loader (and so Kedro's config loader) refuses
the repeats it reads as text (not `1`, `'1'`): what it refuses, this refuses; when this
refuses, ask OmegaConf for the final word.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.events import (
    DocumentEndEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"
_HANDED_OVER = (_MERGE_TAG, "tag:yaml.org,2002:value")
_PLAIN_TAGS = (None, "!")
_MAP_TAGS = (*_PLAIN_TAGS, "tag:yaml.org,2002:map")
_SEQ_TAGS = (*_PLAIN_TAGS, "tag:yaml.org,2002:seq")
_NO_KEY: Any = object()
_IN_SEQUENCE: Any = object()


class _HandOver(Exception):
    """The text uses YAML this module leaves to `yaml.load`."""


def load(text: str, unique_keys: bool = False) -> Any:
    """The single YAML document in `text` as `yaml.load(text, Loader=CSafeLoader)` reads it
    (None for an empty stream); PyYAML's own error when it does not load. With `unique_keys`,
    a `ConstructorError` "found duplicate key ..." when a mapping's keys repeat a text."""
    flat = _flat(text)
    if flat is not None:
        return flat
    try:
        return _build(text, unique_keys)
    except _HandOver:
        pass
    loader = _LOADER(text)
    try:  # what yaml.load does, with the keys checked between composing and constructing
        node = loader.get_single_node()
        if node is None:
            return None
        if unique_keys:
            _refuse_duplicate_keys(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


_WORD = r"[A-Za-z0-9_][A-Za-z0-9_.@/-]{0,999}"  # PyYAML reads a key of 1024 at most
_FLAT_LINE = re.compile(
    rf"(?P<key>{_WORD}):"  # a top-level key
    rf"|(?P<indent> +)(?P<field>{_WORD}): +(?P<value>[./]?{_WORD}|[./])"
    r"|[ ]*(?:#[\x20-\x7e]*)?"  # blank, or a comment
)


def _flat(text: str) -> dict[str, Any] | None:
    """`text` when it is a block mapping of text keys to None or to one mapping of text to
    text, each line a key, a `field: value`, a comment or blank, with one indentation, no key
    repeated, and no word PyYAML would resolve to anything but a string; otherwise None."""
    out: dict[str, Any] = {}
    fields: dict[str, str] | None = None
    key = ""
    indent = ""
    for line in text.split("\n"):
        match = _FLAT_LINE.fullmatch(line)
        if match is None:
            return None
        new_key, field = match["key"], match["field"]
        if new_key is not None:
            if new_key in out or (_typing(new_key[0]) and _resolves(new_key)):
                return None
            out[new_key] = fields = None
            key = new_key
        elif field is not None:
            if not key:
                return None
            if fields is None:
                fields = out[key] = {}
                indent = match["indent"]
            value = match["value"]
            if match["indent"] != indent or field in fields:
                return None
            if (_typing(field[0]) and _resolves(field)) or (_typing(value[0]) and _resolves(value)):
                return None
            fields[field] = value
    return out or None


@functools.cache
def _typing(first: str) -> tuple[re.Pattern[str], ...]:
    """PyYAML's implicit resolvers' patterns for a plain scalar starting with `first`."""
    resolvers = _LOADER.yaml_implicit_resolvers
    return tuple(pattern for _, pattern in (*resolvers.get(first, ()), *resolvers.get(None, ())))


def _resolves(word: str) -> bool:
    """Whether one of PyYAML's implicit resolvers takes the plain scalar `word` for a type."""
    return any(pattern.match(word) for pattern in _typing(word[0]))


def _refuse_duplicate_keys(root: Node) -> None:
    """In each mapping of a composed document, no two scalar keys of the same text (merge keys
    aside, which may repeat)."""
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:  # an alias shares its anchor's node
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            keys: set[str] = set()
            for key, value in node.value:
                if isinstance(key, ScalarNode) and key.tag != _MERGE_TAG:
                    if key.value in keys:
                        raise _duplicate(key.value, key.start_mark)
                    keys.add(key.value)
                stack += (value, key)
        elif isinstance(node, SequenceNode):
            stack += reversed(node.value)


def _duplicate(key: str, mark: Any) -> ConstructorError:
    problem = f"found duplicate key {key}"
    return ConstructorError("while constructing a mapping", None, problem, mark)


def _build(text: str, unique_keys: bool) -> Any:
    loader = _LOADER(text)
    try:
        get = loader.get_event
        get()  # the stream's start
        if isinstance(loader.peek_event(), StreamEndEvent):
            return None
        get()  # the document's start
        resolvers = loader.yaml_implicit_resolvers
        wildcard = tuple(resolvers.get(None, ()))
        containers: list[Any] = []
        keys: list[Any] = []
        key_texts: list[set[str]] = []  # per open container, with unique_keys
        top: list[Any] = []
        while True:
            event = get()
            kind = type(event)
            if kind is ScalarEvent:
                if event.anchor is not None or event.tag not in _PLAIN_TAGS:
                    raise _HandOver
                value = event.value
                if event.implicit[0]:
                    for tag, pattern in (*resolvers.get(value[:1], ()), *wildcard):
                        if pattern.match(value):
                            if tag in _HANDED_OVER:
                                raise _HandOver
                            # a refused scalar (2001-13-45) is yaml.load's to report, after
                            # any parse error further on
                            try:
                                value = loader.construct_object(ScalarNode(tag, value))
                            except Exception:
                                raise _HandOver from None
                            break
            elif kind is MappingStartEvent:
                if event.anchor is not None or event.tag not in _MAP_TAGS:
                    raise _HandOver
                value = {}
            elif kind is SequenceStartEvent:
                if event.anchor is not None or event.tag not in _SEQ_TAGS:
                    raise _HandOver
                value = []
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                containers.pop()
                keys.pop()
                if unique_keys:
                    key_texts.pop()
                continue
            elif kind is DocumentEndEvent:
                break
            else:  # an alias
                raise _HandOver
            if not containers:
                top.append(value)
            elif keys[-1] is _IN_SEQUENCE:
                containers[-1].append(value)
            elif keys[-1] is _NO_KEY:
                if kind is not ScalarEvent:
                    raise _HandOver
                if unique_keys:
                    if event.value in key_texts[-1]:
                        raise _duplicate(event.value, event.start_mark)
                    key_texts[-1].add(event.value)
                keys[-1] = value
            else:
                containers[-1][keys[-1]] = value
                keys[-1] = _NO_KEY
            if kind is MappingStartEvent:
                containers.append(value)
                keys.append(_NO_KEY)
            elif kind is SequenceStartEvent:
                containers.append(value)
                keys.append(_IN_SEQUENCE)
            if unique_keys and kind is not ScalarEvent:
                key_texts.append(set())
        if not isinstance(get(), StreamEndEvent):
            raise _HandOver  # a second document: yaml.load says what is wrong
        return top[0] if top else None
    finally:
        loader.dispose()
