"""Reading a project never starts its runtime: `init`, `plan`, `bundle` and `validate` call no
hook and instantiate no dataset, while a plain `kedro run` of the same project does both (so
the markers below can appear)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.kedro_projects import ProjectFactory, run_kedro, unique_package

pytestmark = pytest.mark.project

PIPELINE = """\
from kedro.pipeline import Pipeline, node, pipeline


def label(count: int) -> str:
    return f"{count} rows"


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(len, "rows", "count", name="count_rows"),
            node(label, "count", "label", name="label_count"),
        ]
    )
"""

MARKING = """\
import os
from pathlib import Path

from kedro.framework.hooks import hook_impl
from kedro.io import AbstractDataset, MemoryDataset


def mark(name: str) -> None:
    (Path(os.environ["MARKERS"]) / name).touch()


class LoudRows(AbstractDataset):
    def __init__(self) -> None:
        mark("LoudRows")

    def load(self):
        return [1, 2, 3]

    def save(self, data) -> None:
        raise NotImplementedError

    def _describe(self):
        return {}


class MarkedMemory(MemoryDataset):
    def __init__(self, **kwargs) -> None:
        mark("MarkedMemory")
        super().__init__(**kwargs)


class Recorder:
    @hook_impl
    def after_context_created(self, context) -> None:
        mark("after_context_created")

    @hook_impl
    def after_catalog_created(self, catalog) -> None:
        mark("after_catalog_created")

    @hook_impl
    def before_pipeline_run(self, run_params, pipeline, catalog) -> None:
        mark("before_pipeline_run")
"""

EVERYTHING = {
    "after_context_created",
    "after_catalog_created",
    "before_pipeline_run",
    "LoudRows",
    "MarkedMemory",
}


def marked_project(project_factory: ProjectFactory) -> Path:
    package = unique_package()
    catalog = (
        f"rows:\n  type: {package}.marking.LoudRows\n\n"
        f"count:\n  type: {package}.marking.MarkedMemory\n"
    )
    project = project_factory(package, pipelines={"flow": PIPELINE}, catalog=catalog)
    source = project / "src" / package
    (source / "marking.py").write_text(MARKING, encoding="utf-8")
    with (source / "settings.py").open("a", encoding="utf-8") as settings:
        settings.write(f"\nfrom {package}.marking import Recorder\n\nHOOKS = (Recorder(),)\n")
    return project


def test_reading_calls_no_hook_and_instantiates_no_dataset_where_kedro_run_does_both(
    project_factory: ProjectFactory, tmp_path: Path
) -> None:
    project = marked_project(project_factory)
    markers = tmp_path / "markers"
    markers.mkdir()
    env = {"MARKERS": str(markers)}

    for args in (("init",), ("plan",), ("bundle",), ("validate", "--no-cli")):
        result = run_kedro(project, "dab", *args, env=env)
        assert result.returncode == 0, f"kedro dab {args}\n{result.stdout}\n{result.stderr}"
        assert sorted(p.name for p in markers.iterdir()) == [], f"after kedro dab {args}"

    ran = run_kedro(project, "run", env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert {p.name for p in markers.iterdir()} == EVERYTHING
