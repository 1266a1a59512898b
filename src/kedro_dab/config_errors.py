"""How a bad `dab.yml` is told: the file and key path of a validation error, worded for the
user (with the valid keys or kinds to choose from), and literal secrets found in it."""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec

from kedro_dab.errors import suggest
from kedro_dab.shapes import relative

Loc = list[object]
"""A key path: mapping keys (text) and list indices (numbers)."""

_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_TOKEN = re.compile(r"\.(\w+)|\[(\d+)\]|\[(\.\.\.)\]")
_UNKNOWN = re.compile(r"^Object contains unknown field `(.+)`$")
_MISSING = re.compile(r"^Object missing required field `(.+)`$")
_BAD_VALUE = re.compile(r"^Invalid (?:enum )?value (.+)$")
_FIELD = re.compile(r"^field `(\w+)`: (.*)$", re.S)
_TYPE_WORDS = {
    "bool": "true or false",
    "int": "a whole number",
    "float": "a number",
    "str": "text",
    "object": "a mapping",
    "array": "a list",
}


def describe(
    exc: msgspec.ValidationError,
    raw: Mapping[str, Any],
    schema: type,
    files: Sequence[Path],
    root: Path | None,
) -> str:
    """One line: `<file>: <key path>: <problem>` for the error msgspec raised converting `raw`."""
    message, loc = _locate(exc, raw, schema)
    where = file_holding(loc, files, root) or display(files, root)
    unknown = _UNKNOWN.match(message)
    if unknown:
        key = unknown.group(1)
        keys = sorted(_field_names(_struct_at(schema, raw, loc)))
        return f"{where}: {_format_path([*loc, key])}: unknown key{suggest(key, keys)}"
    missing = _MISSING.match(message)
    if missing:
        return f"{where}: {_format_path(loc) or '(top level)'}: missing key '{missing.group(1)}'"
    bad = _BAD_VALUE.match(message)
    if bad and loc:
        tags = _tags_at(schema, raw, loc[:-1])
        if tags and loc[-1] == tags[0]:
            kinds = ", ".join(repr(t) for t in tags[1])
            path = _format_path(loc[:-1])
            return f"{where}: {path}: unknown kind {bad.group(1)}; use one of {kinds}"
        choices = _literal_at(schema, raw, loc)
        if choices:
            listed = ", ".join(repr(c) for c in choices)
            return f"{where}: {_format_path(loc)}: {bad.group(1)} is not one of {listed}"
    value, _ = _walk(schema, raw, loc)
    return f"{where}: {_format_path(loc) or '(top level)'}: {_worded(message, value)}"


def field_problem(name: str, problem: str) -> str:
    """The message a settings class raises for a problem with one of its own fields, so the
    error names that field's key path (msgspec names only the class's)."""
    return f"field `{name}`: {problem}"


def _locate(exc: msgspec.ValidationError, raw: Any, schema: Any) -> tuple[str, Loc]:
    """The message and the key path of `exc`; msgspec writes mapping keys as `[...]`, so the
    key is found by converting each entry of that mapping on its own."""
    found = _AT.match(str(exc))
    message = found.group("message") if found else str(exc)
    loc: Loc = []
    value, kind = raw, schema
    path = (found.group("path") or "") if found else ""
    for name, index, ellipsis in _TOKEN.findall(path):
        if ellipsis:
            item_type = _mapping_value_type(kind, value)
            for key, item in value.items() if isinstance(value, Mapping) else ():
                try:
                    msgspec.convert(item, item_type, strict=False)
                except msgspec.ValidationError as inner:
                    inner_message, inner_loc = _locate(inner, item, item_type)
                    return inner_message, [*loc, key, *inner_loc]
            return message, loc
        part: object = name if name else int(index)
        loc.append(part)
        value, kind = _step(kind, value, part)
    own = _FIELD.match(message)
    if own:
        return own.group(2), [*loc, own.group(1)]
    return message, loc


def _options(kind: Any) -> list[Any]:
    """The members of a union (or the type itself), `Annotated` and `None` set aside."""
    if typing.get_origin(kind) is typing.Annotated:
        kind = typing.get_args(kind)[0]
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return [_options(k)[0] for k in typing.get_args(kind) if k is not type(None)]
    return [kind]


def _choose(kind: Any, value: Any) -> Any:
    """The member of a (tagged) union that `value` is meant to be."""
    options = _options(kind)
    for option in options:
        config = getattr(option, "__struct_config__", None)
        if config is None or not config.tag_field or not isinstance(value, Mapping):
            continue
        if value.get(config.tag_field) == config.tag:
            return option
    return options[0]


def _step(kind: Any, value: Any, part: object) -> tuple[Any, Any]:
    kind = _choose(kind, value)
    child = value[part] if _has(value, part) else None
    if isinstance(kind, type) and issubclass(kind, msgspec.Struct) and isinstance(part, str):
        return child, typing.get_type_hints(kind, include_extras=True).get(part, Any)
    args = typing.get_args(kind)
    if typing.get_origin(kind) in (tuple, list) and args:
        return child, args[0]
    if typing.get_origin(kind) is dict and len(args) == 2:
        return child, args[1]
    return child, Any


def _has(value: Any, part: object) -> bool:
    if isinstance(value, Mapping):
        return part in value
    return isinstance(value, (list, tuple)) and isinstance(part, int) and part < len(value)


def _mapping_value_type(kind: Any, value: Any) -> Any:
    args = typing.get_args(_choose(kind, value))
    return args[1] if len(args) == 2 else Any


def _walk(schema: Any, raw: Any, loc: Loc) -> tuple[Any, Any]:
    value, kind = raw, schema
    for part in loc:
        value, kind = _step(kind, value, part)
    return value, kind


def _struct_at(schema: Any, raw: Any, loc: Loc) -> Any:
    value, kind = _walk(schema, raw, loc)
    return _choose(kind, value)


def _field_names(struct: Any) -> list[str]:
    if isinstance(struct, type) and issubclass(struct, msgspec.Struct):
        return list(struct.__struct_fields__)
    return []


def _tags_at(schema: Any, raw: Any, loc: Loc) -> tuple[str, list[str]] | None:
    """(tag key, tags) when `loc` holds a tagged union (a grouping rule, a compute profile)."""
    _, kind = _walk(schema, raw, loc)
    configs = [getattr(o, "__struct_config__", None) for o in _options(kind)]
    tagged = [c for c in configs if c is not None and c.tag_field]
    if not tagged:
        return None
    return tagged[0].tag_field, [str(c.tag) for c in tagged]


def _literal_at(schema: Any, raw: Any, loc: Loc) -> list[Any]:
    _, kind = _walk(schema, raw, loc)
    for option in _options(kind):
        if typing.get_origin(option) is typing.Literal:
            return list(typing.get_args(option))
    return []


def _worded(message: str, value: Any) -> str:
    """msgspec's ``Expected `int` >= 1, got `str` `` in the words of the rest of kedro-dab,
    with the value given when it is a scalar."""
    expected, got, _ = message.partition(", got `")
    if message.startswith("Expected ") and isinstance(value, (str, int, float, bool)):
        expected = f"{expected}, got {value!r}"
    elif got:
        expected = message

    def types_of(match: re.Match[str]) -> str:
        names = [n.strip() for n in match.group(1).split("|") if n.strip() != "null"]
        return " or ".join(_TYPE_WORDS.get(n, n) for n in names) or "null"

    return re.sub(r"`([^`]+)`", types_of, expected.replace("Expected ", "expected ", 1))


def _format_path(loc: Sequence[object]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def display(files: Sequence[Path], root: Path | None) -> str:
    """The `dab.yml` files as the user knows them (`conf/base/dab.yml + conf/prod/dab.yml`)."""
    if not files:
        return "dab.yml"
    return " + ".join(relative(f, root) for f in files)


def file_holding(loc: Sequence[object], files: Sequence[Path], root: Path | None) -> str | None:
    """The last file (env files win over base) whose raw YAML contains the key path."""
    import yaml

    for path in reversed(list(files)):
        try:
            node: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        for part in loc:
            if _has(node, part):
                node = node[part]
            else:
                node = _ABSENT
                break
        if node is not _ABSENT:
            return relative(path, root)
    return None


_ABSENT = object()


def literal_secret_message(leak: Loc, files: Sequence[Path], root: Path | None) -> str:
    """The error for a literal secret found at key path `leak`."""
    where = file_holding(leak, files, root) or display(files, root)
    return (
        f"{where}: {_format_path(leak)}: looks like a literal secret; never write secrets into "
        "dab.yml, reference them as {{secrets/<scope>/<key>}} (in spark_env_vars or spark_conf)"
    )


_SECRET_KEY = re.compile(
    r"(?i)(passw(or)?d|secret|token|api[_-]?key|private[_-]?key|credential"
    r"|(account|access|storage|master|shared|signing|encryption)[_.-]?key|sas[_.-]?url"
    r"|(?<![a-z0-9])(pwd|pass)(?![a-z0-9]))"
)
_NOT_SECRET_KEYS = frozenset({"PWD"})
"""Keys `_SECRET_KEY` matches that name no secret: `PWD` is the shell's working directory."""
_SECRET_VALUE = re.compile(
    r"dapi[0-9a-f]{32}|dose[0-9a-f]{32}|gh[pousr]_[A-Za-z0-9]{30,}|AKIA[0-9A-Z]{16}"
    r"|xox[baprs]-[A-Za-z0-9-]{10,}|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|AccountKey=[A-Za-z0-9+/]{20,}|(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}=="
    r"|[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:(?![${])[^/\s@]+@"
)
"""Known token shapes, and a URL carrying a password (`scheme://user:password@host`)."""
_SECRET_REFERENCE = re.compile(r"^\{\{secrets/[^/{}]+/[^/{}]+\}\}$")


def find_literal_secret(raw: Any, path: tuple[object, ...] = ()) -> list[object] | None:
    """The key path of the first value that looks like a literal secret: a known token shape
    or a URL with a password anywhere, or any plain value under a key named like a password,
    token or key. Secret references (`{{secrets/scope/key}}`) and `${...}` interpolations are
    fine."""
    if isinstance(raw, Mapping):
        for key, value in raw.items():
            if (
                isinstance(value, (str, int))
                and not isinstance(value, bool)
                and _SECRET_KEY.search(str(key))
                and str(key) not in _NOT_SECRET_KEYS
                and str(value).strip()
                and not _SECRET_REFERENCE.match(str(value).strip())
                and not str(value).startswith("${")
            ):
                return [*path, key]
            found = find_literal_secret(value, (*path, key))
            if found:
                return found
    elif isinstance(raw, (list, tuple)):
        for index, value in enumerate(raw):
            found = find_literal_secret(value, (*path, index))
            if found:
                return found
    elif isinstance(raw, str) and _SECRET_VALUE.search(raw):
        return list(path)
    return None
