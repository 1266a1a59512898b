"""What Databricks Apps install from the example app's `requirements.txt` is the project wheel
kedro-dab staged, even when the package index offers a newer distribution of the same name.

pip itself is the oracle: `pip install --dry-run --report` resolves the app's real
requirements.txt, from its own folder as Apps do, against an index that holds an impostor
`spaceflights 99.0` and a stand-in for every other requirement."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from kedro_dab import api
from tests.e2e.deploy_helpers import copy_example

pytestmark = pytest.mark.e2e

APP_FOLDER = "resources/kedro-dab/apps/price-shuttle"
CANDIDATE_VERSIONS = [Version(v) for v in ("99.0", "4.0", "1.0", "0.19.9", "0.1.0")]


def stand_in_wheel(folder: Path, name: str, version: Version) -> None:
    """An empty wheel `name==version`: enough for pip to resolve it without its dependencies."""
    dist = f"{canonicalize_name(name).replace('-', '_')}-{version}"
    with zipfile.ZipFile(folder / f"{dist}-py3-none-any.whl", "w") as wheel:
        wheel.writestr(
            f"{dist}.dist-info/METADATA",
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        )
        wheel.writestr(
            f"{dist}.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr(f"{dist}.dist-info/RECORD", "")


def index_beside(requirements: Path, folder: Path, project: str) -> Path:
    """A find-links folder with the impostor `project 99.0` and, for every other named
    requirement of `requirements`, a stand-in at a version it accepts."""
    folder.mkdir()
    stand_in_wheel(folder, project, Version("99.0"))
    for line in requirements.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith(("#", "-")):
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if canonicalize_name(requirement.name) == canonicalize_name(project):
            continue
        version = next(v for v in CANDIDATE_VERSIONS if requirement.specifier.contains(v))
        stand_in_wheel(folder, requirement.name, version)
    return folder


def test_apps_install_the_staged_project_wheel_not_a_newer_one_of_the_same_name(
    tmp_path: Path,
) -> None:
    project = copy_example(tmp_path, app=True)
    wheel = api.build(project)[0]
    name, staged_version, _, _ = parse_wheel_filename(wheel.path.name)
    app = project / APP_FOLDER
    index = index_beside(app / "requirements.txt", tmp_path / "index", str(name))

    pip = [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--no-index"]
    resolved = subprocess.run(
        [*pip, "--find-links", str(index), "--report", "-", "--quiet", "-r", "requirements.txt"],
        cwd=app,
        capture_output=True,
        text=True,
        check=False,
    )

    assert resolved.returncode == 0, resolved.stderr
    chosen = {
        canonicalize_name(item["metadata"]["name"]): Version(item["metadata"]["version"])
        for item in json.loads(resolved.stdout)["install"]
    }
    assert chosen[name] == staged_version
