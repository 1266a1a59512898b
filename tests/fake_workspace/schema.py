"""Strict request-body checking against the databricks-sdk dataclasses' type hints.

The SDK's ``from_dict`` drops unknown keys and checks no types, so a body that it accepts can
still be wrong. Here every key must be a field of the dataclass the SDK models, every value must
have the field's JSON type, enum values must be members and required fields must be present.
Errors name the field path (``tasks[3].python_wheel_task.entry_point``).
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import functools
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Union

from .errors import ApiError, invalid

_NONE_TYPE = type(None)


@dataclasses.dataclass(frozen=True)
class ObjectSchema:
    """The fields of a JSON object: name -> type hint, plus the names that are required."""

    name: str
    fields: Mapping[str, Any]
    required: frozenset[str]


@functools.cache
def dataclass_schema(cls: type) -> ObjectSchema:
    """The schema of an SDK dataclass (fields without a default are required)."""
    hints = typing.get_type_hints(cls)
    fields: dict[str, Any] = {}
    required: set[str] = set()
    for field in dataclasses.fields(cls):
        fields[field.name] = hints.get(field.name, Any)
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            required.add(field.name)
    return ObjectSchema(cls.__name__, fields, frozenset(required))


@functools.cache
def method_schema(method: Callable[..., Any]) -> ObjectSchema:
    """The body schema of an SDK API method: its parameters (those without default are required)."""
    hints = typing.get_type_hints(method)
    fields: dict[str, Any] = {}
    required: set[str] = set()
    for name, param in inspect.signature(method).parameters.items():
        if name == "self":
            continue
        fields[name] = hints.get(name, Any)
        if param.default is inspect.Parameter.empty:
            required.add(name)
    return ObjectSchema(method.__qualname__, fields, frozenset(required))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _json_type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _mistyped(path: str, expected: str, value: Any) -> ApiError:
    return invalid(
        f"Invalid type for field '{path}': expected {expected}, got {_json_type_name(value)}"
    )


def check_object(value: Any, schema: ObjectSchema, path: str = "") -> None:
    """Checks a JSON object against a schema (400 INVALID_PARAMETER_VALUE on the first error)."""
    if not isinstance(value, dict):
        raise _mistyped(path or "<body>", "object", value)
    for key in value:
        if key not in schema.fields:
            raise invalid(f"Unknown field '{_join(path, key)}' (not a field of {schema.name})")
    for name in sorted(schema.required):
        if value.get(name) is None:
            raise invalid(f"Missing required field: {_join(path, name)}")
    for key, item in value.items():
        check_value(item, schema.fields[key], _join(path, key))


def check_value(value: Any, hint: Any, path: str) -> None:
    """Checks one JSON value against a type hint from the SDK."""
    if hint is Any or hint is object:
        return
    origin = typing.get_origin(hint)
    if origin is Union or origin is types.UnionType:
        args = typing.get_args(hint)
        if value is None and _NONE_TYPE in args:
            return
        options = [a for a in args if a is not _NONE_TYPE]
        if len(options) == 1:
            check_value(value, options[0], path)
            return
        first_error: ApiError | None = None
        for option in options:
            try:
                check_value(value, option, path)
                return
            except ApiError as error:
                first_error = first_error or error
        assert first_error is not None
        raise first_error
    if value is None:
        raise invalid(f"Field '{path}' must not be null")
    if origin in (list, typing.List):  # noqa: UP006
        if not isinstance(value, list):
            raise _mistyped(path, "array", value)
        (item_hint,) = typing.get_args(hint) or (Any,)
        for index, item in enumerate(value):
            check_value(item, item_hint, f"{path}[{index}]")
        return
    if origin in (dict, typing.Dict):  # noqa: UP006
        if not isinstance(value, dict):
            raise _mistyped(path, "object", value)
        args = typing.get_args(hint)
        value_hint = args[1] if len(args) == 2 else Any
        for key, item in value.items():
            check_value(item, value_hint, _join(path, str(key)))
        return
    if hint is list:
        if not isinstance(value, list):
            raise _mistyped(path, "array", value)
        return
    if hint is dict:
        if not isinstance(value, dict):
            raise _mistyped(path, "object", value)
        return
    if isinstance(hint, type):
        _check_class(value, hint, path)


def _check_class(value: Any, hint: type, path: str) -> None:
    if dataclasses.is_dataclass(hint):
        check_object(value, dataclass_schema(hint), path)
    elif issubclass(hint, enum.Enum):
        members = sorted(str(m.value) for m in hint)
        if not isinstance(value, str) or value not in members:
            raise invalid(
                f"Invalid value {value!r} for field '{path}': expected one of {', '.join(members)}"
            )
    elif hint is bool:
        if not isinstance(value, bool):
            raise _mistyped(path, "boolean", value)
    elif hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _mistyped(path, "integer", value)
    elif hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _mistyped(path, "number", value)
    elif (
        hint is str or issubclass(hint, datetime.datetime | datetime.timedelta)
    ) and not isinstance(value, str):
        raise _mistyped(path, "string", value)
