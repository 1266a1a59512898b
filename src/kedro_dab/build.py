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
import signal
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
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


def build_wheel(
    project_path: Path, out_dir: Path | None = None, conf_dir: str | None = None
) -> Artifact:
    """Build the project wheel (`uv build --wheel` when uv is on the PATH, else
    `python -m build --wheel`) into `out_dir` (default `dist/`, or the folder of
    `wheels_aside`) and stamp its version with a hash of its contents. A wheel that holds a
    conf file that never ships (`conf_dir` inside the package), or a module the source no
    longer has (a stale `build/` folder), is refused."""
    out_dir = out_dir or _ASIDE.get() or project_path / BUILD_DIR
    before = set(_build_leftovers(project_path))
    stale_build = project_path / "build" in before
    try:
        return _build(project_path, out_dir, conf_dir, stale_build)
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


def _build(project_path: Path, out_dir: Path, conf_dir: str | None, stale_build: bool) -> Artifact:
    with tempfile.TemporaryDirectory(prefix="kedro-dab-build-") as scratch:
        command = _build_command(Path(scratch))
        returncode, output = _run_build(command, project_path)
        if returncode != 0:
            log = project_path / ".kedro-dab" / "build.log"
            with contextlib.suppress(OSError):
                log.parent.mkdir(exist_ok=True)
                log.write_text(output, encoding="utf-8")
            raise BuildError(
                f"building the wheel failed ({' '.join(Path(c).name for c in command[:3])}): "
                f"{_failure_line(output, returncode)}; the build's whole output is in "
                ".kedro-dab/build.log"
            )
        wheels = sorted(Path(scratch).glob("*.whl"))
        if len(wheels) != 1:
            raise BuildError(f"the build made {len(wheels)} wheels; expected one")
        _check_wheel(wheels[0], project_path, conf_dir, stale_build)
        out_dir.mkdir(parents=True, exist_ok=True)
        return stamp_wheel(wheels[0], out_dir)


def _run_build(command: list[str], project_path: Path) -> tuple[int, str]:
    """Run the build in its own process group, without the project's `src` on PYTHONPATH
    (Kedro puts it there; a package of the project named like a build backend would hide
    it). An interruption stops the whole group (the backend too) before it is passed on."""
    env = dict(os.environ)
    src = {str(project_path / "src"), str((project_path / "src").resolve())}
    kept = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p not in src]
    if kept:
        env["PYTHONPATH"] = os.pathsep.join(kept)
    else:
        env.pop("PYTHONPATH", None)
    process = subprocess.Popen(
        command,
        cwd=project_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        output, _ = process.communicate()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    return process.returncode, output


def _failure_line(output: str, returncode: int) -> str:
    """The line of a failed build's output that says why: the last Python exception the
    backend raised, else the front end's last `error:` line, else its last line that is not
    a hint."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    raised = [ln for ln in lines if re.match(r"[\w.]*(Error|Exception|Exit)\b.*:", ln)]
    errors = [ln for ln in lines if ln.lower().startswith("error:")]
    rest = [ln for ln in lines if not ln.lower().startswith(("hint:", "note:"))]
    return (raised or errors or rest or lines or [f"exit code {returncode}"])[-1]


def _check_wheel(wheel: Path, project_path: Path, conf_dir: str | None, stale: bool) -> None:
    """Refuse a wheel holding conf that never ships, or (after a `build/` folder of an
    earlier build was found) a Python module its package's source folder no longer has."""
    from kedro_dab.bundle.layout import is_shipped

    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
    conf = (project_path / conf_dir).resolve() if conf_dir else None
    for src in (project_path / "src", project_path):
        inside = conf is not None and conf.is_relative_to(src.resolve()) and conf != src.resolve()
        prefix = conf.relative_to(src.resolve()).as_posix() + "/" if inside and conf else None
        for name in names:
            if prefix and name.startswith(prefix) and not is_shipped(name[len(prefix) :]):
                raise BuildError(
                    f"the wheel would hold {name}, a conf file that never ships (conf/local, "
                    f"credentials, .env): the conf folder {conf_dir} is inside the package; "
                    "move it out (Kedro's default is conf/ beside pyproject.toml), or exclude "
                    "those files from the wheel in pyproject.toml"
                )
    if not stale:
        return
    for name in names:
        top = name.split("/", 1)[0]
        if not name.endswith(".py") or "/" not in name or top.endswith((".dist-info", ".data")):
            continue
        for src in (project_path / "src", project_path):
            if (src / top).is_dir():
                if not (src / name).is_file():
                    raise BuildError(
                        f"the wheel would hold {name}, which {src.relative_to(project_path)}"
                        f"/{top}/ no longer has: it comes from the build/ folder of an earlier "
                        "build; delete build/ and build again"
                        if src != project_path
                        else f"the wheel would hold {name}, which the project no longer has: it "
                        "comes from the build/ folder of an earlier build; delete build/ and "
                        "build again"
                    )
                break


def _build_command(out: Path) -> list[str]:
    uv = shutil.which("uv")
    if uv:
        return [uv, "build", "--wheel", "--out-dir", str(out)]
    return [sys.executable, "-m", "build", "--wheel", "--outdir", str(out)]


def content_hash(entries: Mapping[str, bytes]) -> str:
    """Hash of a wheel's files (name -> bytes) and their contents, RECORD aside."""
    digest = hashlib.sha256()
    for name in sorted(entries):
        if name.endswith(".dist-info/RECORD"):
            continue
        digest.update(name.encode())
        digest.update(entries[name])
    return digest.hexdigest()


def stamp_wheel(wheel: Path, out_dir: Path) -> Artifact:
    """Rewrite `wheel` into `out_dir` with version `<version>+kd.<hash>`, byte-for-byte the
    same for the same contents (fixed timestamps, sorted entries). The hash leaves out the
    built version's own local label (setuptools-scm's `+g<commit>.d<date>` of a dirty tree),
    which the new version drops too. The RECORD is written here: `wheel`'s `WheelFile` would
    date it from the clock (or the process's SOURCE_DATE_EPOCH)."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    try:
        version = parse_wheel_filename(wheel.name)[1]
    except InvalidWheelFilename as exc:
        raise BuildError(f"unexpected wheel file name {wheel.name}: {first_line(exc)}") from exc
    name, old_version, tags = wheel.name.removesuffix(".whl").split("-", 2)
    with zipfile.ZipFile(wheel) as archive:
        # a folder entry (uv_build writes them) is no file: RECORD lists files only
        built = {i: archive.read(i) for i in archive.namelist() if not i.endswith("/")}
    public = _versioned(built, name, old_version, version.public)
    new_version = f"{version.public}+{_LABEL}.{content_hash(public)[:12]}"
    entries = _versioned(built, name, old_version, new_version)
    new_info = f"{name}-{new_version}.dist-info"
    target = out_dir / f"{name}-{new_version}-{tags}.whl"

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

    def write(temp: Path) -> None:
        with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for item in sorted(entries, key=lambda i: (i.startswith(new_info), i)):
                info = zipfile.ZipInfo(item, date_time=_FIXED_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, entries[item])

    _replace_whole(target, target.with_suffix(".tmp"), write, _shown(target))
    for stale in out_dir.glob(f"{name}-*+{_LABEL}.*.whl"):
        if stale != target:
            stale.unlink()
    return Artifact.of(target)


def _versioned(
    entries: Mapping[str, bytes], name: str, old_version: str, version: str
) -> dict[str, bytes]:
    """A wheel's files with its dist-info folder and METADATA's Version set to `version`."""
    old_info, new_info = f"{name}-{old_version}.dist-info", f"{name}-{version}.dist-info"
    out: dict[str, bytes] = {}
    for item, data in entries.items():
        renamed = new_info + item[len(old_info) :] if item.startswith(old_info + "/") else item
        if renamed == f"{new_info}/METADATA":
            data = re.sub(rb"(?m)^Version: .*$", f"Version: {version}".encode(), data, count=1)
        out[renamed] = data
    return out


def _urlsafe_digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_conf_archive(
    project_path: Path, conf_dir: str, package: str, out_dir: Path | None = None
) -> Artifact:
    """`dist/conf-<package>.tar.gz` holding exactly the conf files the bundle ships (never
    `conf/local` or credentials), reproducible byte for byte, replaced whole or not at all."""
    import gzip

    out_dir = out_dir or project_path / BUILD_DIR
    target = out_dir / f"conf-{package}.tar.gz"
    source = project_path / conf_dir
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for rel in shipped_conf_files(source, project_path):
            try:
                data = (source / rel).read_bytes()
            except OSError as exc:
                raise BuildError(
                    f"{conf_dir}/{rel.as_posix()}: cannot read it ({first_line(exc)}); fix its "
                    "permissions, or add it to .gitignore if it must not ship"
                ) from exc
            info = tarfile.TarInfo(f"{conf_dir}/{rel.as_posix()}")
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            archive.addfile(info, io.BytesIO(data))
    data = gzip.compress(raw.getvalue(), mtime=0)

    def write(temp: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        temp.write_bytes(data)

    _replace_whole(
        target, target.with_name(f".{target.name}.tmp"), write, _shown(target, project_path)
    )
    return Artifact.of(target)


def _replace_whole(target: Path, temp: Path, write: Callable[[Path], None], shown: str) -> None:
    """Write `target` by `write` into `temp`, then rename it into place whole: a failed or
    interrupted write leaves `target` as it was and no `temp` behind."""
    try:
        write(temp)
        os.replace(temp, target)
    except BaseException as exc:
        temp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise BuildError(
                f"cannot write {shown}: {first_line(exc)}; free space or fix the folder's "
                "permissions and build again"
            ) from exc
        raise


def _shown(path: Path, root: Path | None = None) -> str:
    """`path` relative to `root` (or the working folder) when it is inside, else whole."""
    base = root or Path.cwd()
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return str(path)
