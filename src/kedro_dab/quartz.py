"""Quartz cron syntax, as Databricks job schedules take it, checked before a deploy does.

Six or seven fields: seconds, minutes, hours, day of month, month, day of week and an
optional year. Each field is `*` or a comma list of values and ranges (`a-b`, which may wrap
like `FRI-MON`), each optionally stepped (`*/5`, `10/15`, `1-30/2`). Day of month also takes
`L`, `L-n`, `nW` and `LW`; day of week `L`, `nL` and `n#k`. Exactly one of the two day fields
is `?`, as Quartz requires.
"""

from __future__ import annotations

import re

FIELDS = ("seconds", "minutes", "hours", "day-of-month", "month", "day-of-week", "year")
_RANGES = {
    "seconds": (0, 59),
    "minutes": (0, 59),
    "hours": (0, 23),
    "day-of-month": (1, 31),
    "month": (1, 12),
    "day-of-week": (1, 7),
    "year": (1970, 2099),
}
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_NAMES = {
    "month": {n: i for i, n in enumerate(_MONTHS, start=1)},
    "day-of-week": {n: i for i, n in enumerate(_DAYS, start=1)},
}
_EXAMPLE = "e.g. '0 0 12 * * ?' for every day at noon"
_ITEM = re.compile(r"^(?P<base>\*|[A-Z0-9]+(?:-[A-Z0-9]+)?)(?:/(?P<step>\d+))?$")


def quartz_problem(expression: str) -> str | None:
    """Why `expression` is not a Quartz cron expression, or None when it is one."""
    fields = expression.split()
    if len(fields) not in (6, 7):
        return (
            f"{expression!r} has {len(fields)} field(s), but a Quartz cron expression has 6 or "
            f"7: {' '.join(FIELDS[:6])} [year], {_EXAMPLE}"
        )
    for name, text in zip(FIELDS, fields, strict=False):
        problem = _field_problem(name, text.upper())
        if problem:
            return f"{expression!r}: {name} field {text!r}: {problem}; {_EXAMPLE}"
    day_of_month, day_of_week = fields[3], fields[5]
    if (day_of_month == "?") == (day_of_week == "?"):
        return (
            f"{expression!r}: exactly one of day-of-month ({day_of_month!r}) and day-of-week "
            f"({day_of_week!r}) must be '?'; {_EXAMPLE}"
        )
    return None


def _field_problem(name: str, text: str) -> str | None:
    low, high = _RANGES[name]
    if text == "?":
        return None if name in ("day-of-month", "day-of-week") else "'?' is only for the day fields"
    if name == "day-of-month" and re.fullmatch(r"L(-\d{1,2})?|LW|\d{1,2}W", text):
        digits = re.findall(r"\d+", text)
        if digits and not 1 <= int(digits[0]) <= (30 if text.startswith("L") else 31):
            return f"{digits[0]} is out of range"
        return None
    if name == "day-of-week" and re.fullmatch(r"L|[1-7A-Z]{1,3}L|[1-7A-Z]{1,3}#[1-5]", text):
        day = re.split(r"[L#]", text)[0]
        if day and _value(name, day) is None:
            return f"{day!r} is not a day (1-7 or SUN-SAT)"
        return None
    for item in text.split(","):
        match = _ITEM.match(item)
        if match is None:
            return f"{item!r} is not a value, a range or a step"
        step = match.group("step")
        if step is not None and not 1 <= int(step) <= high:
            return f"step {step} must be between 1 and {high}"
        base = match.group("base")
        if base == "*":
            continue
        for part in base.split("-"):
            value = _value(name, part)
            if value is None or not low <= value <= high:
                return f"{part!r} is not in {low}-{high}{_named(name)}"
    return None


def _value(name: str, text: str) -> int | None:
    if text.isdigit():
        return int(text)
    return _NAMES.get(name, {}).get(text)


def _named(name: str) -> str:
    if name == "month":
        return " or JAN-DEC"
    if name == "day-of-week":
        return " or SUN-SAT"
    return ""
