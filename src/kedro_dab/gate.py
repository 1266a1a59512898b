"""Refuse, in one line, a Kedro or a project that kedro-dab cannot work with, before any
import of a Kedro API that the installed Kedro may lack.

`before_cli` is a `kedro.init` plugin: Kedro calls it before it bootstraps the project, so a
project whose `pyproject.toml` Kedro itself would reject (one made by Kedro 0.17 or 0.18, or
by another major version) gets one clear line when the command is `kedro dab`, instead of
Kedro's traceback. Every other command is left alone, and nothing is imported for them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from kedro_dab.errors import ProjectError

OLDEST_KEDRO = (0, 19, 9)
"""The oldest Kedro kedro-dab supports (the `kedro` requirement in pyproject.toml agrees)."""
NEWEST_MAJOR = 1
REQUIRED = ">=0.19.9,<2"


def _release(version: str) -> tuple[int, ...]:
    """The numeric release of a version string (`1.2.0rc1` -> (1, 2, 0)); () if none."""
    import re

    match = re.match(r"\s*v?(\d+(?:\.\d+)*)", version)
    return tuple(int(p) for p in match.group(1).split(".")) if match else ()


def kedro_version_problem(version: str) -> str | None:
    """Why Kedro `version` is unsupported, or None when it is supported."""
    release = _release(version)
    if not release or release < OLDEST_KEDRO or release[0] > NEWEST_MAJOR:
        return (
            f"kedro-dab needs Kedro {REQUIRED}, but this environment has Kedro {version}; "
            f'install a supported Kedro (pip install "kedro{REQUIRED}")'
        )
    return None


def check_kedro_version() -> None:
    """Raise a `ProjectError` unless the installed Kedro is one kedro-dab supports."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("kedro")
    except PackageNotFoundError:  # pragma: no cover - kedro-dab runs inside Kedro's CLI
        installed = "none"
    problem = kedro_version_problem(installed)
    if problem:
        raise ProjectError(problem)


def find_project(start: Path) -> Path | None:
    """The nearest folder at or above `start` whose pyproject.toml has a [tool.kedro] table,
    as Kedro finds a project."""
    for folder in (start, *start.parents):
        file = folder / "pyproject.toml"
        if file.is_file():
            try:
                if "[tool.kedro]" in file.read_text(encoding="utf-8"):
                    return folder
            except (OSError, UnicodeDecodeError):
                return folder
    return None


def project_metadata_problem(project: Path, kedro_version: str) -> str | None:
    """Why Kedro would refuse to bootstrap the project's pyproject.toml, or None."""
    table, problem = _kedro_table(project)
    if problem is None and table is not None:
        problem = _metadata_problem(table, project, kedro_version)
    return problem


def _kedro_table(project: Path) -> tuple[dict[str, Any] | None, str | None]:
    """pyproject.toml's [tool.kedro] table (None without one), or why the file cannot be read."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    file = project / "pyproject.toml"
    try:
        data: Any = tomllib.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        return None, "pyproject.toml: not UTF-8 text; save the file as UTF-8"
    except OSError as exc:
        return None, f"pyproject.toml: cannot be read ({exc.strerror}); make it readable"
    except tomllib.TOMLDecodeError as exc:
        from kedro_dab.errors import first_line

        return None, f"pyproject.toml: {first_line(exc)}; fix the TOML"
    table = (data.get("tool") or {}).get("kedro")
    return (table if isinstance(table, dict) else None), None


_TEXT_KEYS = ("package_name", "project_name", "kedro_init_version", "source_dir")


def _metadata_problem(table: dict[str, Any], project: Path, kedro_version: str) -> str | None:
    missing = [k for k in ("package_name", "project_name") if not table.get(k)]
    if missing:
        return f"pyproject.toml: [tool.kedro] has no {' or '.join(missing)}; add " + " and ".join(
            f'{k} = "..."' for k in missing
        )
    for key in _TEXT_KEYS:
        if key in table and not isinstance(table[key], str):
            return (
                f"pyproject.toml: [tool.kedro] {key} = {table[key]!r} must be text; quote it "
                f'({key} = "{table[key]}")'
            )
    init_version = table.get("kedro_init_version")
    if not init_version:
        return (
            "pyproject.toml: [tool.kedro] has no kedro_init_version, so the project was made "
            f"with Kedro 0.17 or 0.18, which kedro-dab does not support (it needs Kedro "
            f"{REQUIRED}); migrate it to Kedro {kedro_version} (see Kedro's RELEASE.md) and add "
            f'kedro_init_version = "{kedro_version}" under [tool.kedro]'
        )
    if str(init_version).split(".")[0] != kedro_version.split(".")[0]:
        return (
            f"pyproject.toml: [tool.kedro] kedro_init_version = {str(init_version)!r}, a Kedro "
            f"{str(init_version).split('.')[0]}.x project, but Kedro {kedro_version} is "
            "installed and refuses it; install the Kedro the project was made with, or migrate "
            f'the project (see Kedro\'s RELEASE.md) and set kedro_init_version = "{kedro_version}"'
        )
    source = table.get("source_dir", "src")
    if not (project / source).is_dir():
        return (
            f"pyproject.toml: [tool.kedro] source_dir = {source!r} is not a folder of the "
            "project; set it to the folder that holds the package (Kedro's default is 'src')"
        )
    return None


def settings_problem(project: Path, table: dict[str, Any]) -> str | None:
    """The project's `settings.py` imported as Kedro's bootstrap will import it (the module
    stays imported, so Kedro does not run it twice), or the one line saying where it raised."""
    import importlib
    import importlib.util

    from kedro_dab.errors import first_line, project_frame

    source = str((project / table.get("source_dir", "src")).resolve())
    if source not in sys.path:
        sys.path.insert(0, source)
    name = f"{table['package_name']}.settings"
    try:
        if importlib.util.find_spec(name) is None:
            return None
        importlib.import_module(name)
    except Exception as exc:
        where = project_frame(exc, project)
        if isinstance(exc, SyntaxError) and exc.filename:
            file, root = Path(exc.filename).resolve(), project.resolve()
            shown = file.relative_to(root) if file.is_relative_to(root) else file
            where = f"{Path(shown).as_posix()}:{exc.lineno}"
        where = where or f"{Path(table.get('source_dir', 'src'), *name.split('.')).as_posix()}.py"
        return (
            f"{where}: {type(exc).__name__}: {first_line(exc)}; the project's own code raised "
            "this (`kedro run` would fail the same way): fix it there"
        )
    return None


def before_cli() -> None:
    """The `kedro.init` hook: for `kedro dab ...`, refuse an unsupported Kedro or project in
    one line (exit code 2) before Kedro's CLI bootstraps the project."""
    if sys.argv[1:2] != ["dab"]:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("kedro")
    except PackageNotFoundError:  # pragma: no cover
        return
    problem = kedro_version_problem(installed)
    if problem is None:
        project = find_project(Path.cwd())
        if project is not None:
            table, problem = _kedro_table(project)
            if problem is None and table is not None:
                problem = _metadata_problem(table, project, installed)
                if problem is None and "--verbose" not in sys.argv:
                    problem = settings_problem(project, table)
    if problem is None:
        return
    print(f"Error: {problem}", file=sys.stderr)
    sys.exit(2)
