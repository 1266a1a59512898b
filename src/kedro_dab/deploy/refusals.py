"""What the SDK engine refuses to read: the error that recommends the CLI engine instead, and
the check that a mapping of a bundle holds only keys the SDK engine implements.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kedro_dab.bundle.layout import DATABRICKS_YML
from kedro_dab.errors import ConfigError, DabError

USE_CLI = "use the CLI engine (--engine cli) for this bundle"


class UnsupportedBundle(DabError):
    """The bundle uses something the SDK engine does not do; the CLI engine does."""


def unsupported(what: str) -> UnsupportedBundle:
    """The one-line refusal for a feature the SDK engine does not implement."""
    return UnsupportedBundle(f"{what} is not supported by the SDK engine; {USE_CLI}")


def check_keys(
    data: Mapping[str, Any], allowed: set[str], where: str, file: str = DATABRICKS_YML
) -> None:
    """Refuse a key the SDK engine does not implement (`where` prefixes its name)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{file}: {where.rstrip('. ')} must be a mapping")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise unsupported(f"{file}: {where}{unknown[0]}")
