"""Build what a deploy uploads: the project wheel and its conf archive.

The wheel's version gets a local label made from a hash of what went into it
(`1.2.0+kd.3f9a0c1b`): unchanged code gives the same file (nothing to upload again), changed code
a new version that all-purpose clusters install instead of keeping the old one.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from kedro_dab.bundle.layout import shipped_conf_files
from kedro_dab.errors import DabError, first_line

BUILD_DIR = "dist"
_LABEL = "kd"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_ASIDE: ContextVar[Path | None] = ContextVar("kedro_dab_wheels_aside", default=None)


@dataclass(frozen=True)
class Artifact:
    """A built file, its size and content hash."""

    path: Path
    size: int
    sha256: str

    @classmethod
    def of(cls, path: Path) -> Artifact:
        """Describe an existing file."""
        data = path.read_bytes()
        return cls(path, len(data), hashlib.sha256(data).hexdigest())


class BuildError(DabError):
    """The wheel or conf archive could not be built."""


def build_wheel(project_path: Path, out_dir: Path | None = None) -> Artifact:
    """Build the project wheel (`uv build --wheel` when uv is on the PATH, else
    `python -m build --wheel`) into `out_dir` (default `dist/`, or the folder of
    `wheels_aside`) and stamp its version with a hash of its contents."""
    out_dir = out_dir or _ASIDE.get() or project_path / BUILD_DIR
    before = set(_build_leftovers(project_path))
    try:
        return _build(project_path, out_dir)
    finally:
        for leftover in _build_leftovers(project_path):
            if leftover not in before:
                shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def wheels_aside() -> Iterator[Path]:
    """While the block runs, `build_wheel` without `out_dir` builds into a temporary folder
    (removed afterwards) instead of `dist/`: what a dry run, which writes nothing, needs."""
    with tempfile.TemporaryDirectory(prefix="kedro-dab-wheel-") as folder:
        token = _ASIDE.set(Path(folder))
        try:
            yield Path(folder)
        finally:
            _ASIDE.reset(token)


def _build_leftovers(project_path: Path) -> list[Path]:
    """What a setuptools build writes into the project: `build/` and `*.egg-info` folders."""
    found = [project_path / "build"]
    for folder in (project_path, project_path / "src"):
        found += folder.glob("*.egg-info")
    return [path for path in found if path.is_dir()]


def _build(project_path: Path, out_dir: Path) -> Artifact:
    with tempfile.TemporaryDirectory(prefix="kedro-dab-build-") as scratch:
        command = _build_command(Path(scratch))
        result = subprocess.run(
            command, cwd=project_path, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            lines = [ln for ln in (result.stderr + result.stdout).splitlines() if ln.strip()]
            detail = lines[-1] if lines else f"exit code {result.returncode}"
            raise BuildError(f"building the wheel failed ({' '.join(command[:3])}): {detail}")
        wheels = sorted(Path(scratch).glob("*.whl"))
        if len(wheels) != 1:
            raise BuildError(f"the build made {len(wheels)} wheels; expected one")
        out_dir.mkdir(parents=True, exist_ok=True)
        return stamp_wheel(wheels[0], out_dir)


def _build_command(out: Path) -> list[str]:
    uv = shutil.which("uv")
    if uv:
        return [uv, "build", "--wheel", "--out-dir", str(out)]
    return [sys.executable, "-m", "build", "--wheel", "--outdir", str(out)]


def content_hash(wheel: Path) -> str:
    """Hash of the wheel's files and their contents, ignoring zip timestamps and RECORD."""
    digest = hashlib.sha256()
    with zipfile.ZipFile(wheel) as archive:
        for name in sorted(archive.namelist()):
            if name.endswith(".dist-info/RECORD"):
                continue
            digest.update(name.encode())
            digest.update(archive.read(name))
    return digest.hexdigest()


def stamp_wheel(wheel: Path, out_dir: Path) -> Artifact:
    """Rewrite `wheel` into `out_dir` with version `<version>+kd.<hash>`, byte-for-byte the
    same for the same contents (fixed timestamps, sorted entries). The RECORD is written here:
    `wheel`'s `WheelFile` would date it from the clock (or the process's SOURCE_DATE_EPOCH)."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    try:
        version = parse_wheel_filename(wheel.name)[1]
    except InvalidWheelFilename as exc:
        raise BuildError(f"unexpected wheel file name {wheel.name}: {first_line(exc)}") from exc
    name, old_version, tags = wheel.name.removesuffix(".whl").split("-", 2)
    new_version = f"{version.public}+{_LABEL}.{content_hash(wheel)[:12]}"
    old_info, new_info = f"{name}-{old_version}.dist-info", f"{name}-{new_version}.dist-info"
    target = out_dir / f"{name}-{new_version}-{tags}.whl"

    entries: dict[str, bytes] = {}
    with zipfile.ZipFile(wheel) as archive:
        for item in archive.namelist():
            data = archive.read(item)
            renamed = new_info + item[len(old_info) :] if item.startswith(old_info + "/") else item
            if renamed == f"{new_info}/METADATA":
                stamp = f"Version: {new_version}".encode()
                data = re.sub(rb"(?m)^Version: .*$", stamp, data, count=1)
            entries[renamed] = data
    record = f"{new_info}/RECORD"
    rows = [
        [item, "sha256=" + _urlsafe_digest(data), str(len(data))]
        for item, data in sorted(entries.items())
        if item != record
    ]
    rows.append([record, "", ""])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    entries[record] = buffer.getvalue().encode()

    temp = target.with_suffix(".tmp")
    with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item in sorted(entries, key=lambda i: (i.startswith(new_info), i)):
            info = zipfile.ZipInfo(item, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, entries[item])
    os.replace(temp, target)
    for stale in out_dir.glob(f"{name}-*+{_LABEL}.*.whl"):
        if stale != target:
            stale.unlink()
    return Artifact.of(target)


def _urlsafe_digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_conf_archive(
    project_path: Path, conf_dir: str, package: str, out_dir: Path | None = None
) -> Artifact:
    """`dist/conf-<package>.tar.gz` holding exactly the conf files the bundle ships (never
    `conf/local` or credentials), reproducible byte for byte."""
    out_dir = out_dir or project_path / BUILD_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"conf-{package}.tar.gz"
    source = project_path / conf_dir
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for rel in shipped_conf_files(source):
            data = (source / rel).read_bytes()
            info = tarfile.TarInfo(f"{conf_dir}/{rel.as_posix()}")
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            archive.addfile(info, io.BytesIO(data))
    import gzip

    try:
        target.write_bytes(gzip.compress(raw.getvalue(), mtime=0))
    except OSError as exc:
        raise BuildError(f"cannot write {target}: {first_line(exc)}") from exc
    return Artifact.of(target)
