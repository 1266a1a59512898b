"""Errors a user can act on. Commands print their message on one line and exit with code 2."""

from __future__ import annotations


class DabError(Exception):
    """A problem with the user's project, configuration or files, with the fix in its message."""


class ConfigError(DabError):
    """`dab.yml` (or `databricks.yml`) is malformed, unknown or inconsistent."""


class ProjectError(DabError):
    """The Kedro project cannot be read: a pipeline fails to import, metadata is missing."""


class GroupingError(DabError):
    """The grouping rules give tasks that Databricks could not run safely."""


class BundleError(DabError):
    """Bundle files cannot be written or do not match what kedro-dab generates."""


def first_line(value: object) -> str:
    """The first non-empty line of an exception or text, for one-line error messages."""
    lines = [line.strip() for line in str(value).splitlines() if line.strip()]
    return lines[0] if lines else type(value).__name__
