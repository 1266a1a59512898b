"""Write the files kedro-dab owns, and only those, replacing the whole set at once.

All checks run before the first byte is written; a foreign or hand-edited file in the owned
folder stops the run. The set of files in `resources/kedro-dab/` is replaced as one:

1. the new set is written into a sibling temp folder, `resources/.kedro-dab.new-<random>/`
   (unchanged files are copied, hidden files a user keeps there, like `.gitkeep`, too);
2. that folder takes the place of `resources/kedro-dab/` by one atomic exchange of the two
   names (`renameat2(RENAME_EXCHANGE)` on Linux). Where the system has no exchange, the old
   folder is first renamed to `resources/.kedro-dab.old/` and the new one renamed into place;
3. the temp folder, which now holds the old set, is removed.

A process killed at any point leaves `resources/kedro-dab/` holding the old set or the new
one, never a mix. The only state that is not one of the two is the instant between the two
renames of the fallback, when `.kedro-dab.old/` holds the old set and no `kedro-dab/` exists;
every later `bundle` (and `--check`) reads `.kedro-dab.old/` as the folder then, and a write
first puts it back. Temp folders and temp files are never read as generated files; a write
removes the ones a killed run left behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import msgspec

from kedro_dab.bundle.layout import OWNED_DIR
from kedro_dab.bundle.render import body_hash, split_generated
from kedro_dab.errors import BundleError, os_error_line

NEW_PREFIX = ".kedro-dab.new-"
OLD_NAME = ".kedro-dab.old"
_TEMP_FILE = re.compile(r"^\..+\.yml\.[a-z0-9_]{8}$")
"""`.<name>.<random>`: a temp file of `atomic_write` (earlier releases wrote these into the
owned folder itself)."""


class WriteReport(msgspec.Struct):
    """What a write did (or, with `check`, would do), as paths relative to the project."""

    written: list[str] = msgspec.field(default_factory=list)
    unchanged: list[str] = msgspec.field(default_factory=list)
    removed: list[str] = msgspec.field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when the files on disk differ (or differed) from the generated ones."""
        return bool(self.written or self.removed)


def write_owned(
    root: Path, files: Mapping[str, str], *, check: bool = False, force: bool = False
) -> WriteReport:
    """Make `root/OWNED_DIR` hold exactly `files` (name -> text), replacing the set at once.
    With `check`, write nothing and report what is out of date. With `force`, replace
    hand-edited generated files."""
    folder = root / OWNED_DIR
    _check_folder(root, folder, writing=not check)
    current = _current_folder(folder)
    existing = _generated_files(current, check=check, force=force)
    report = WriteReport()
    for name in sorted(files):
        rel = f"{OWNED_DIR}/{name}"
        if existing.get(name) == files[name]:
            report.unchanged.append(rel)
        else:
            report.written.append(rel)
    report.removed = [f"{OWNED_DIR}/{name}" for name in sorted(existing) if name not in files]
    if check:
        return report
    try:
        recover(root)
        if report.changed:
            _replace_set(folder, files)
    except OSError as exc:
        raise BundleError(os_error_line(exc, root)) from exc
    return report


def recover(root: Path) -> None:
    """Finish or undo a replacement a killed run left halfway: put `.kedro-dab.old/` back if
    the owned folder is missing, and remove temp folders and temp files."""
    folder = root / OWNED_DIR
    old = folder.parent / OLD_NAME
    if old.is_dir() and not folder.exists():
        os.rename(old, folder)
    if folder.parent.is_dir():
        for leftover in folder.parent.iterdir():
            if leftover.name.startswith(NEW_PREFIX) or leftover.name == OLD_NAME:
                shutil.rmtree(leftover, ignore_errors=True)
    if folder.is_dir():
        for path in folder.iterdir():
            if path.is_file() and _TEMP_FILE.match(path.name):
                path.unlink(missing_ok=True)


def _check_folder(root: Path, folder: Path, *, writing: bool) -> None:
    for path in (folder.parent, folder):
        if path.exists() and not path.is_dir():
            raise BundleError(
                f"{path.relative_to(root).as_posix()} is a file, but kedro-dab writes the "
                "generated jobs into a folder there; rename or remove the file"
            )
    if writing and folder.is_dir() and not folder.stat().st_mode & stat.S_IWUSR:
        raise BundleError(
            f"{OWNED_DIR}/ is read-only, so kedro-dab will not replace the files in it; make "
            f"it writable (chmod u+w {OWNED_DIR}) and run the command again"
        )


def _current_folder(folder: Path) -> Path | None:
    """The folder that holds the current set: the owned folder, or the old set a run killed
    between the two renames of a replacement left beside it."""
    if folder.is_dir():
        return folder
    old = folder.parent / OLD_NAME
    return old if old.is_dir() else None


def _generated_files(current: Path | None, *, check: bool, force: bool) -> dict[str, str]:
    """Name -> text of the generated files of the current set. Hidden files (temp files among
    them) are never generated files; anything else not written by kedro-dab stops the run."""
    out: dict[str, str] = {}
    if current is None:
        return out
    for path in sorted(current.rglob("*")):
        name = path.relative_to(current).as_posix()
        if any(part.startswith(".") for part in path.relative_to(current).parts):
            continue
        if not path.is_file() or _is_staged_wheel(name):
            continue
        rel = f"{OWNED_DIR}/{name}"
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            text = ""
        recorded, body = split_generated(text)
        if recorded is None:
            raise BundleError(
                f"{rel} was not written by kedro-dab, but {OWNED_DIR}/ is regenerated by it; "
                "move the file to resources/ (databricks.yml includes it there)"
            )
        if recorded != body_hash(body) and not force and not check:
            raise BundleError(
                f"{rel} was edited by hand after kedro-dab wrote it; move the change to "
                "dab.yml or to a target override in databricks.yml, or pass --force to discard it"
            )
        out[name] = text
    return out


_STAGED_WHEEL = re.compile(r"^apps/[^/]+/wheel/([^/]+\.whl|project\.txt)$")


def _is_staged_wheel(name: str) -> bool:
    """A project wheel, or its pin `project.txt`, the build put into an app's source folder
    (`kedro_dab.bundle.apps`): build artifacts, not generated files."""
    return bool(_STAGED_WHEEL.match(name))


def _replace_set(folder: Path, files: Mapping[str, str]) -> None:
    if folder.is_symlink():  # the set is replaced where the link points; the link stays
        folder = folder.resolve()
    parent = folder.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=NEW_PREFIX, dir=parent))
    try:
        mode = folder.stat().st_mode & 0o777 if folder.is_dir() else 0o755
        if folder.is_dir():
            _keep_hidden(folder, staging)
        for name, text in files.items():
            _write_new(staging / name, text)
        if folder.is_dir():
            for wheel in folder.glob("apps/*/wheel/*"):
                if not _is_staged_wheel(wheel.relative_to(folder).as_posix()):
                    continue
                kept = staging / wheel.relative_to(folder)
                if kept.parent.parent.is_dir():
                    kept.parent.mkdir(exist_ok=True)
                    shutil.copy2(wheel, kept)
        os.chmod(staging, mode)
        if not folder.is_dir():
            os.rename(staging, folder)
            return
        if not _exchange(staging, folder):
            old = parent / OLD_NAME
            os.rename(folder, old)
            try:
                os.rename(staging, folder)
            except OSError:
                os.rename(old, folder)
                raise
            staging = old
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _keep_hidden(folder: Path, staging: Path) -> None:
    """Copy into the new set every hidden file and folder of the old one, at any depth (an
    editor's, the user's notes): they are never generated files, so they are never lost."""
    for here, dirs, names in os.walk(folder):
        rel = Path(here).relative_to(folder)
        for name in sorted(dirs):
            if name.startswith("."):
                (staging / rel).mkdir(parents=True, exist_ok=True)
                shutil.copytree(Path(here) / name, staging / rel / name, symlinks=True)
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            if name.startswith(".") and not _TEMP_FILE.match(name):
                (staging / rel).mkdir(parents=True, exist_ok=True)
                shutil.copy2(Path(here) / name, staging / rel / name, follow_symlinks=False)


def _write_new(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(path, 0o644)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one atomic step; False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(code, os.strerror(code), str(second))


def atomic_write(path: Path, text: str) -> None:
    """Replace `path` with `text` so that readers see the old file or the new one, never half.
    A file that cannot be written is a `BundleError` naming it and what to do."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise BundleError(os_error_line(exc, None, shown=str(path))) from exc
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        if path.exists():
            os.chmod(temp, path.stat().st_mode & 0o777)
        else:
            os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            Path(temp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise BundleError(os_error_line(exc, None, shown=str(path))) from exc
        raise
