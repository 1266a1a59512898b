"""Errors a user can act on. Commands print their message on one line and exit with code 2."""

from __future__ import annotations

import errno
import traceback
from collections.abc import Sequence
from pathlib import Path


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


def _shown(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def read_text(path: Path, root: Path | None = None) -> str:
    """The UTF-8 text of one of the user's files, or a `ConfigError` naming the file (and the
    line of a byte that is not UTF-8) and what to do. A missing file raises as usual."""
    shown = _shown(path, root)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = bytes(exc.object[: exc.start]).count(b"\n") + 1
        raise ConfigError(
            f"{shown}:{line}: byte 0x{exc.object[exc.start]:02x} is not UTF-8 text; "
            "save the file as UTF-8"
        ) from exc
    except FileNotFoundError:
        raise
    except IsADirectoryError as exc:
        raise ConfigError(f"{shown} is a folder, but must be a file; rename or remove it") from exc
    except OSError as exc:
        raise ConfigError(
            f"{shown}: cannot be read ({exc.strerror or first_line(exc)}); make it readable"
        ) from exc


_OS_FIXES = {
    errno.EACCES: "make it writable, or choose another place",
    errno.EPERM: "make it writable, or choose another place",
    errno.EROFS: "the file system is read-only; choose another place",
    errno.ENOENT: "create the missing folder, or choose another place",
    errno.ENOTDIR: "a file stands where a folder is needed; rename or remove that file",
    errno.EEXIST: "a file stands where a folder is needed; rename or remove that file",
    errno.EISDIR: "a folder stands where a file is needed; rename or remove that folder",
    errno.ENOSPC: "the disk is full; free some space",
    errno.ENOTEMPTY: "a folder stands where a file is needed; rename or remove that folder",
}


def os_error_line(exc: OSError, root: Path | None, shown: str | None = None) -> str:
    """`<file>: <what went wrong>; <what to do>` for a file system error; `shown` names the
    file the user asked for when the error concerns a temp file beside it."""
    fix = _OS_FIXES.get(exc.errno or -1, "check the path and its permissions")
    if exc.errno in (errno.EACCES, errno.EPERM) and exc.filename and _unreadable(exc.filename):
        fix = "make it readable"
    if shown is None:
        shown = _shown(Path(str(exc.filename)), root) if exc.filename else "a file"
    return f"{shown}: {exc.strerror or first_line(exc)}; {fix}"


def _unreadable(filename: str | bytes | int) -> bool:
    """Whether the file exists but this process may not read it (a denied read, not write)."""
    import os

    path = os.fsdecode(filename) if not isinstance(filename, int) else ""
    return bool(path) and os.path.isfile(path) and not os.access(path, os.R_OK)


def describe_unexpected(exc: BaseException, command: str, root: Path | None = None) -> str:
    """One line for an exception that is not a `DabError`: the file and the fix when the
    exception tells them (a file system error, an error raised by the project's own code),
    else the command that failed and how to see more."""
    if isinstance(exc, OSError) and exc.filename:
        return os_error_line(exc, root)
    frame = project_frame(exc, root)
    kind = type(exc).__name__
    if frame is not None:
        return (
            f"{frame}: {kind}: {first_line(exc)}; the project's own code raised this "
            "(`kedro run` would fail the same way): fix it there"
        )
    return (
        f"kedro dab {command} failed: {kind}: {first_line(exc)}; rerun with --verbose for "
        "the traceback, and report it if your project and files look right"
    )


def project_frame(exc: BaseException, root: Path | None) -> str | None:
    """`src/<package>/.../file.py:LINE` of the innermost traceback frame in the project's own
    source (not in an installed package), or None."""
    if root is None:
        return None
    source = (root / "src").resolve()
    found = None
    for frame, line in traceback.walk_tb(exc.__traceback__):
        file = Path(frame.f_code.co_filename)
        try:
            rel = file.resolve().relative_to(source)
        except (ValueError, OSError):
            continue
        found = f"src/{rel.as_posix()}:{line}"
    return found


def suggest(word: str, candidates: Sequence[str], noun: str = "valid keys") -> str:
    """`; did you mean 'x'?` for the closest candidate, else the list of candidates."""
    import difflib

    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; {noun}: {', '.join(candidates)}" if candidates else ""
