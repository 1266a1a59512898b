"""Resolve `${...}` references in a bundle the way the Databricks CLI does: to a fixed point,
a whole-value reference keeping the referenced value's type, one inside a string written as
Go's `fmt.Sprint` writes it; unknown references and cycles are errors."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kedro_dab.deploy.refusals import unsupported
from kedro_dab.errors import ConfigError

_NAME = r"[^\W\d_]+([-_]*[^\W_]+)*"
"""The CLI's name in a reference: letters, then letters or digits, joined by - or _."""
_REFERENCE = re.compile(r"\$\{(" + _NAME + r"(\." + _NAME + r"(\[[0-9]+\])*)*(\[[0-9]+\])*)\}")


class _Resolver:
    """References resolved to a fixed point: a value that is itself a reference (or contains
    one) is resolved first; a cycle is an error naming it."""

    def __init__(self, context: Mapping[str, Any], where: str) -> None:
        self.context, self.where = context, where
        self.done: dict[str, Any] = {}

    def value(self, value: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(value, str):
            return self.string(value, seen)
        if isinstance(value, list):
            return [self.value(item, seen) for item in value]
        if isinstance(value, Mapping):
            return {key: self.value(item, seen) for key, item in value.items()}
        return value

    def string(self, text: str, seen: tuple[str, ...]) -> Any:
        if "/Workspace${workspace." in text or "/Workspace/${workspace." in text:
            # The CLI rewrites these before it resolves references (with a warning).
            text = re.sub(
                r"/Workspace/?(\$\{workspace\.(root|file|artifact|state|resource)_path\})",
                r"\1",
                text,
            )
        matches = list(_REFERENCE.finditer(text))
        if not matches:
            return text
        if len(matches) == 1 and matches[0].group(0) == text:
            return self.lookup(matches[0].group(1), seen)
        out = text
        for match in matches:
            found = self.lookup(match.group(1), seen)
            if isinstance(found, Mapping | list):
                raise ConfigError(
                    f"{self.where}: ${{{match.group(1)}}}: cannot interpolate a non-primitive "
                    "value into a string; use the reference as the whole value"
                )
            out = out.replace(match.group(0), go_string(found), 1)
        return out

    def lookup(self, path: str, seen: tuple[str, ...]) -> Any:
        if path in seen:
            chain = " -> ".join((*seen, path))
            raise ConfigError(f"{self.where}: cycle detected in field resolution: {chain}")
        if path in self.done:
            return self.done[path]
        head, rest = _split(path, self.context)
        if head is None:
            if path.startswith("var."):
                raise ConfigError(
                    f"{self.where}: reference does not exist: ${{{path}}}; declare the "
                    "variable under variables"
                )
            raise unsupported(f"{self.where}: the reference ${{{path}}}")
        found = self.value(self.context[head], (*seen, path))
        for step in rest:
            indexable = isinstance(step, int) and isinstance(found, list) and step < len(found)
            if indexable or (
                isinstance(step, str) and isinstance(found, Mapping) and step in found
            ):
                found = found[step]
            else:
                raise ConfigError(f"{self.where}: reference does not exist: ${{{path}}}")
            found = self.value(found, (*seen, path))
        self.done[path] = found
        return found


def _split(path: str, context: Mapping[str, Any]) -> tuple[str | None, list[str | int]]:
    """The longest known name at the start of `path`, and the keys/indexes after it."""
    tokens = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    for size in range(len(tokens), 0, -1):
        head = ".".join(tokens[:size])
        if head in context and "[" not in head:
            rest: list[str | int] = [
                int(t[1:-1]) if t.startswith("[") else t for t in tokens[size:]
            ]
            return head, rest
    return None, []


def go_string(value: Any) -> str:
    """A value as Go's `fmt.Sprint` writes it into a string."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def resolve(value: Any, context: Mapping[str, Any], where: str) -> Any:
    """Replace `${...}` references (deeply) to a fixed point. A whole-value reference keeps
    the referenced value's type (a number stays a number, a complex variable its structure);
    one inside a string is written as text. Unknown references and cycles are errors."""
    return _Resolver(context, where).value(value, ())
