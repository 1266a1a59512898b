"""Real Kedro projects for tests, made with ``kedro new`` and run with the ``kedro`` CLI.

One project is made per pytest session with ``kedro new`` and copied for each test under a
package name of its own, since two projects with the same package in one process would share
modules through ``sys.modules``.
"""

from __future__ import annotations

import atexit
import itertools
import json
import keyword
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

TEMPLATE_PACKAGE = "kdab_template"
TEMPLATE_PROJECT = "kdab-template"
DEFAULT_KEDRO_ENV = "databricks"
DEFAULT_TIMEOUT = 600.0

_PACKAGE_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
_used_packages: set[str] = set()
_package_counter = itertools.count(1)
_templates: dict[Path, Path] = {}
_template_lock = threading.Lock()


class KedroCommandError(subprocess.CalledProcessError):
    """A ``kedro`` command that failed; its message carries the command's output."""

    def __str__(self) -> str:
        return (
            f"{super().__str__()}\n--- stdout ---\n{self.stdout or ''}"
            f"\n--- stderr ---\n{self.stderr or ''}"
        )


def kedro_executable() -> Path:
    """Return the ``kedro`` script of the running interpreter's environment."""
    return Path(sys.executable).parent / "kedro"


def kedro_environ(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the environment for a ``kedro`` subprocess: quiet, colourless and wide."""
    environ = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    environ["PATH"] = os.pathsep.join([bin_dir, environ.get("PATH", "")])
    environ.update(
        {
            "KEDRO_DISABLE_TELEMETRY": "1",
            "NO_COLOR": "1",
            "COLUMNS": "200",
        }
    )
    if extra:
        environ.update(extra)
    return environ


def _run(
    command: list[str],
    cwd: Path,
    env: Mapping[str, str] | None,
    check: bool,
    timeout: float,
) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        command,
        cwd=cwd,
        env=kedro_environ(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and completed.returncode != 0:
        raise KedroCommandError(
            completed.returncode, command, output=completed.stdout, stderr=completed.stderr
        )
    return completed


def kedro_new(dest_parent: Path, name: str) -> Path:
    """Create a project with ``kedro new`` (no tools, no example) and return its folder.

    Runs offline from Kedro's bundled template. The project opts out of telemetry.
    """
    dest_parent.mkdir(parents=True, exist_ok=True)
    before = set(dest_parent.iterdir())
    command = [str(kedro_executable()), "new", "--name", name, "--tools", "none"]
    command += ["--example", "no", "--telemetry", "no"]
    _run(command, cwd=dest_parent, env=None, check=True, timeout=DEFAULT_TIMEOUT)
    created = [path for path in set(dest_parent.iterdir()) - before if path.is_dir()]
    if len(created) != 1:
        raise RuntimeError(f"kedro new made {len(created)} folders in {dest_parent}: {created}")
    return created[0]


def project_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return this session's template project, making it with ``kedro new`` on first use."""
    base = tmp_path_factory.getbasetemp()
    with _template_lock:
        template = _templates.get(base)
        if template is None or not template.is_dir():
            parent = tmp_path_factory.mktemp("kedro-template", numbered=True)
            template = kedro_new(parent, TEMPLATE_PROJECT)
            _templates[base] = template
        return template


def _fallback_template() -> Path:
    with _template_lock:
        if _templates:
            existing = next(iter(_templates.values()))
            if existing.is_dir():
                return existing
    parent = Path(tempfile.mkdtemp(prefix="kedro-template-"))
    atexit.register(shutil.rmtree, parent, ignore_errors=True)
    template = kedro_new(parent, TEMPLATE_PROJECT)
    with _template_lock:
        _templates[parent] = template
    return template


def unique_package(prefix: str = "kdab_proj") -> str:
    """Return a package name not yet used by any project in this process."""
    while True:
        package = f"{prefix}_{next(_package_counter)}"
        if package not in _used_packages:
            return package


def _check_package(package: str) -> None:
    if (
        not _PACKAGE_PATTERN.fullmatch(package)
        or keyword.iskeyword(package)
        or package in sys.stdlib_module_names
    ):
        raise ValueError(f"{package!r} is not a usable lower-case Python package name")
    if package == TEMPLATE_PACKAGE or package in _used_packages or package in sys.modules:
        raise ValueError(
            f"package {package!r} is already used in this process; give each project its own"
        )


def _rename_package(project: Path, package: str) -> None:
    (project / "src" / TEMPLATE_PACKAGE).rename(project / "src" / package)
    project_name = package.replace("_", "-")
    for path in project.rglob("*"):
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        renamed = text.replace(TEMPLATE_PACKAGE, package).replace(TEMPLATE_PROJECT, project_name)
        if renamed != text:
            path.write_text(renamed, encoding="utf-8")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def make_project(
    tmp_path: Path,
    package: str,
    pipelines: Mapping[str, str] | None = None,
    catalog: str | None = None,
    dab_yml: str | None = None,
    envs: Mapping[str, Mapping[str, str]] | None = None,
    *,
    template: Path | None = None,
) -> Path:
    """Copy the template project to ``tmp_path/<package-with-dashes>`` under a new package name.

    ``pipelines`` maps a pipeline folder name to the source of its ``pipeline.py``;
    ``catalog`` and ``dab_yml`` replace ``conf/base/catalog.yml`` and ``conf/base/dab.yml``;
    ``envs`` maps a Kedro env to ``{relative file name: text}`` written under ``conf/<env>/``
    (the folder is made even for an empty mapping). ``conf/databricks/`` always exists.
    ``template`` defaults to this session's template. Each ``package`` may be used once per
    process.
    """
    _check_package(package)
    for name in pipelines or {}:
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"pipeline folder {name!r} is not an importable module name")
    source = template or _fallback_template()
    project = tmp_path / package.replace("_", "-")
    shutil.copytree(source, project, ignore=shutil.ignore_patterns("__pycache__"))
    _used_packages.add(package)
    _rename_package(project, package)

    package_dir = project / "src" / package
    for name, pipeline_source in (pipelines or {}).items():
        folder = package_dir / "pipelines" / name
        _write(
            folder / "__init__.py",
            'from .pipeline import create_pipeline\n\n__all__ = ["create_pipeline"]\n',
        )
        _write(folder / "pipeline.py", pipeline_source)

    conf = project / "conf"
    _write(conf / DEFAULT_KEDRO_ENV / ".gitkeep", "")
    if catalog is not None:
        _write(conf / "base" / "catalog.yml", catalog)
    if dab_yml is not None:
        _write(conf / "base" / "dab.yml", dab_yml)
    for env, files in (envs or {}).items():
        (conf / env).mkdir(parents=True, exist_ok=True)
        for relative, text in files.items():
            _write(conf / env / relative, text)
    return project


def run_kedro(
    project: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    check: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run ``kedro *args`` in ``project`` and return the finished process with its text output.

    ``env`` holds extra environment variables (not a Kedro env: pass ``"--env", name`` for
    that). With ``check``, a non-zero exit raises ``KedroCommandError`` showing the output.
    """
    command = [str(kedro_executable()), *args]
    return _run(command, cwd=project, env=env, check=check, timeout=timeout)


class ProjectFactory:
    """Makes projects for one test in its ``tmp_path`` from the session's template."""

    def __init__(self, tmp_path: Path, template: Path) -> None:
        self.tmp_path = tmp_path
        self.template = template

    def __call__(
        self,
        package: str | None = None,
        pipelines: Mapping[str, str] | None = None,
        catalog: str | None = None,
        dab_yml: str | None = None,
        envs: Mapping[str, Mapping[str, str]] | None = None,
    ) -> Path:
        """Make a project as ``make_project`` does; without ``package``, pick a unique one."""
        return make_project(
            self.tmp_path,
            package or unique_package(),
            pipelines,
            catalog,
            dab_yml,
            envs,
            template=self.template,
        )


@pytest.fixture
def project_factory(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> ProjectFactory:
    """Fixture: a ``ProjectFactory`` writing into this test's ``tmp_path``."""
    return ProjectFactory(tmp_path, project_template(tmp_path_factory))


def python_in(project: Path, code: str, *args: str) -> Any:
    """Run ``code`` (with ``args``) in a fresh interpreter in ``project``; the JSON it prints
    last."""
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=project,
        capture_output=True,
        text=True,
        env=kedro_environ(),
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])
