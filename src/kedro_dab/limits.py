"""Databricks rules that generated jobs must respect, each stated once."""

from __future__ import annotations

import hashlib
import re

MAX_TASKS_PER_JOB = 1000
"""Databricks rejects jobs/create, reset, update and submit calls with more tasks."""

MAX_KEY_LENGTH = 100
"""Longest `task_key` or `job_cluster_key` Databricks accepts."""

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
"""Task and job cluster keys. Databricks' own rule (`^[\\w\\-\\_]+$`) admits non-ASCII letters
through `\\w`; this stricter ASCII form is safe everywhere."""

RESOURCE_KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
"""Job resource keys in bundle files (also used as file names)."""

_INVALID_KEY_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
_HASH_LENGTH = 6


def short_hash(text: str) -> str:
    """A stable short hash of `text`, used to tell apart names that clean to the same key."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_HASH_LENGTH]


def clean_key(name: str) -> str:
    """Turn any name into a valid key: invalid characters become `_`, long names are cut and
    marked with a hash of the full name so that two long names never meet."""
    cleaned = _INVALID_KEY_CHARS.sub("_", name).strip("_") or "task"
    if len(cleaned) > MAX_KEY_LENGTH:
        keep = MAX_KEY_LENGTH - _HASH_LENGTH - 1
        cleaned = f"{cleaned[:keep]}_{short_hash(name)}"
    return cleaned


def with_hash(key: str, identity: str) -> str:
    """`key` suffixed with a hash of `identity`, still within the length limit."""
    suffix = f"_{short_hash(identity)}"
    return key[: MAX_KEY_LENGTH - len(suffix)] + suffix
