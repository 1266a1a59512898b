"""Bundle YAML read as the Databricks CLI reads it, and text written so the CLI reads it back.

PyYAML follows YAML 1.1; the CLI parses with go-yaml v3 (YAML 1.2 scalars) and builds values
its own way. Where they differ, a bundle file would mean one thing to `databricks bundle` and
another to kedro-dab. To the CLI `yes`, `no`, `on`, `off`, `12:30:45` and dates are text (a
date keeps its text), `012345` is the decimal 12345 (leading zeros dropped), `0o14` and `0xC`
are 12, `1e3` and `1.5e+3` are floats, and only `true`/`True`/`TRUE` and the `false` forms
are booleans. Quoted scalars are text in both.
"""

from __future__ import annotations

import datetime
import functools
import math
import re
from typing import Any

import yaml

_BASE: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NUMBER = "tag:kedro-dab,2026:cli-number"
_TEXT = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_TIMESTAMP = re.compile(  # go-yaml v3's timestamp layouts, which the CLI refuses as keys
    r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"
    r"(?:[Tt ]([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:\.[0-9]+)?(?:Z|[-+][0-9]{2}:[0-9]{2})?)?"
)
_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_LEADING_ZERO_OCTAL = re.compile(r"[-+]?0_?[0-7]+(_[0-7]+)*")
_DECIMAL = re.compile(r"[-+]?[0-9]+")
_INT64 = range(-(2**63), 2**63)


class CliLoader(_BASE):  # type: ignore[misc]
    """PyYAML's safe loader with the CLI's reading of plain scalars and of mapping keys."""

    yaml_implicit_resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}
    yaml_constructors = dict(_BASE.yaml_constructors)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        """As the CLI takes keys: each a text as written (`null:` is the key 'null'), never a
        number, date or boolean, and at most one merge key (`<<`) per mapping."""
        if isinstance(node, yaml.MappingNode):
            merges = 0
            for key, _ in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    raise _refused("a key is not a scalar; the Databricks CLI takes text keys", key)
                if key.tag == _MERGE:
                    merges += 1
                    if merges > 1:
                        raise _refused(
                            "more than one merge key ('<<') in a mapping; the Databricks CLI "
                            "takes one: merge several with '<<: [*a, *b]'",
                            key,
                        )
                elif _cli_tag(key) in ("str", "null"):
                    key.tag = _TEXT
                else:
                    raise _refused(
                        f"invalid key tag: !!{_cli_tag(key)}; the Databricks CLI takes only text "
                        f"keys: quote it ('{key.value}')",
                        key,
                    )
        return super().construct_mapping(node, deep=deep)


def _cli_tag(scalar: Any) -> str:
    """The CLI's short tag for a scalar node (`str`, `int`, `timestamp`, ...)."""
    if scalar.tag != _NUMBER:
        return str(scalar.tag).rsplit(":", 1)[-1]
    if _is_timestamp(scalar.value):
        return "timestamp"
    try:
        value = cli_number(scalar.value)
    except ValueError as exc:
        raise _refused(str(exc), scalar) from None
    return {int: "int", float: "float"}.get(type(value), "str")


def _is_timestamp(text: str) -> bool:
    """Whether go-yaml v3 reads `text` as a timestamp: one of its layouts, a real date."""
    found = _TIMESTAMP.fullmatch(text)
    if found is None:
        return False
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in found.groups())
    try:
        datetime.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return False
    return True


def _refused(problem: str, node: Any) -> yaml.constructor.ConstructorError:
    return yaml.constructor.ConstructorError(None, None, problem, node.start_mark)


CliLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
CliLoader.add_implicit_resolver(_NULL, re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
CliLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+."),
)
CliLoader.add_implicit_resolver(_MERGE, re.compile(r"^(?:<<)$"), ["<"])
CliLoader.add_implicit_resolver(_NUMBER, re.compile(r"^[-+.0-9]"), list("-+.0123456789"))


def _construct_number(loader: Any, node: Any) -> Any:
    try:
        return cli_number(loader.construct_scalar(node))
    except ValueError as exc:
        problem = f"{exc}; the Databricks CLI cannot read this number: fix it, or quote it as text"
        raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from None


CliLoader.add_constructor(_NUMBER, _construct_number)


def load(text: str) -> Any:
    """The YAML document in `text` as the Databricks CLI reads it (None for an empty one)."""
    return yaml.load(text, Loader=CliLoader)


def cli_number(text: str) -> Any:
    """A plain scalar that starts like a number, as the CLI reads it: an int, a float, or the
    text itself (a date, `1-2`, `12:30`). go-yaml decides the type, the CLI then parses the
    value; an int or float the CLI cannot parse is a `ValueError`, as it is an error for the
    CLI."""
    if text.startswith("."):
        return _go_float(text, text)
    plain = text.replace("_", "")
    if _go_int(plain) is not None or _go_uint(plain):
        value = _go_int(text.lstrip("0"), decimal=True) if text.startswith("0") else None
        value = _go_int(text, decimal=True) if value is None else value
        value = _go_int(text) if value is None else value
        if value is None:
            raise ValueError(f"invalid int value: {text}")
        return value
    if _YAML_STYLE_FLOAT.fullmatch(plain):
        return _go_float(text, None)
    return text


def _go_int(text: str, decimal: bool = False) -> int | None:
    """Go's `strconv.ParseInt(text, 10 or 0, 64)`: None where it fails."""
    if decimal:
        value = int(text) if _DECIMAL.fullmatch(text) else None
    elif _LEADING_ZERO_OCTAL.fullmatch(text) and text.lstrip("+-") != "0":
        value = int(text.replace("_", ""), 8)
    else:
        try:
            value = int(text, 0) if text.strip() == text else None
        except ValueError:
            value = None
    return value if value is not None and value in _INT64 else None


def _go_uint(text: str) -> bool:
    """Whether Go's `strconv.ParseUint(text, 0, 64)` succeeds where `ParseInt` overflows."""
    if text.startswith(("-", "+")):
        return False
    try:
        return 2**63 <= int(text, 0) < 2**64
    except ValueError:
        return False


def _go_float(text: str, otherwise: Any) -> Any:
    """Go's `strconv.ParseFloat(text, 64)` of a decimal text; `otherwise` when it fails (None:
    an error, as the CLI makes it)."""
    try:
        value = float(text) if text.strip() == text and not text.endswith("_") else None
    except ValueError:
        value = None
    if value is None or (math.isinf(value) and "inf" not in text.lower()):
        if otherwise is None:
            raise ValueError(f"invalid float value: {text}")
        return otherwise
    return value


@functools.lru_cache(maxsize=4096)  # a bundle writes the same argv flags for every task
def reads_as_text(value: str) -> bool:
    """Whether `value`, written as a plain scalar, reads back as the same text to the CLI."""
    try:
        return load(value) == value
    except yaml.YAMLError:
        return False


def represent_text(dumper: Any, value: str) -> Any:
    """A representer for `str`: single-quoted where the CLI would read the plain form as
    something else (`1e3`, `0o14`), else as PyYAML chooses (which quotes YAML 1.1's own)."""
    style = "'" if value and value[0] in "-+.0123456789" and not reads_as_text(value) else None
    return dumper.represent_scalar(_TEXT, value, style=style)
