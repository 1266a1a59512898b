"""Write a set of files all together or not at all."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from kedro_dab.errors import BundleError, os_error_line


def write_all(writes: Mapping[Path, str], root: Path) -> None:
    """Write every file or none: each new text goes to a temp file beside its target first;
    only when all are written are they renamed into place. A file about to be replaced is
    kept under a second name (a hard link, so nothing is copied) until every rename is done,
    and a failure puts those back, removes the new files and the folders made for them. A
    path that is a symbolic link is written through it: the link stays, its target changes."""
    staged: list[tuple[Path, Path]] = []
    made: list[Path] = []
    done: list[tuple[Path, Path | None]] = []
    current = root
    shown = {_through_links(path): path for path in writes}
    try:
        for given, text in writes.items():
            current, path = given, _through_links(given)
            missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
            for folder in reversed(missing):
                folder.mkdir()
                made.append(folder)
            handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            staged.append((Path(temp_name), path))
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
                out.write(text)
            os.chmod(temp_name, path.stat().st_mode & 0o777 if path.is_file() else 0o644)
        for temp, path in staged:
            current = shown[path]
            kept = _keep(path)
            done.append((path, kept))
            os.replace(temp, path)
    except OSError as exc:
        for path, kept in reversed(done):
            with contextlib.suppress(OSError):
                if kept is None:
                    path.unlink(missing_ok=True)
                else:
                    os.replace(kept, path)
        for temp, _ in staged:
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise BundleError(
            f"{os_error_line(exc, root, shown=current.relative_to(root).as_posix())} "
            "(nothing was written: kedro dab init changes all of its files or none)"
        ) from exc
    for _, kept in done:
        if kept is not None:
            with contextlib.suppress(OSError):
                kept.unlink()


def _through_links(path: Path) -> Path:
    """Where writing `path` lands: the file a symbolic link at `path` points to."""
    return path.resolve() if path.is_symlink() else path


def _keep(path: Path) -> Path | None:
    """A second name for the file at `path` (None if there is none), to put it back from."""
    if not path.is_file():
        return None
    kept = path.with_name(f".{path.name}.kept-{os.getpid()}")
    kept.unlink(missing_ok=True)
    try:
        os.link(path, kept)
    except OSError:
        shutil.copy2(path, kept)
    return kept
