"""Tests of the synthetic project generator used by the benchmarks (benchmarks/make_project.py)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
GENERATOR = REPO / "benchmarks" / "make_project.py"
EXPECTED_PIPELINES = ["__default__", "cleaning", "features", "ingestion", "modelling"]

COUNT_NODES = """
import json, sys
from pathlib import Path
from kedro.framework.startup import bootstrap_project
bootstrap_project(Path(sys.argv[1]))
from kedro.framework.project import pipelines
named = {k: len(v.nodes) for k, v in pipelines.items() if k != "__default__"}
print("COUNT " + json.dumps({"default": len(pipelines["__default__"].nodes), "named": named}))
"""

KEDRO_1 = pytest.mark.skipif(
    not __import__("kedro").__version__.startswith("1."),
    reason="the benchmark projects follow the Kedro 1.x template and measure Kedro 1.x",
)


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_make_project", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    """The generator module, imported from its file."""
    return _load_generator()


def _env() -> dict[str, str]:
    return dict(os.environ, KEDRO_DISABLE_TELEMETRY="1", DO_NOT_TRACK="1")


def _generate(out: Path, nodes: int = 100, seed: int = 0) -> None:
    args = ["--nodes", str(nodes), "--out", str(out), "--seed", str(seed)]
    subprocess.run(
        [sys.executable, str(GENERATOR), *args],
        check=True,
        env=_env(),
        capture_output=True,
        text=True,
    )


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.mark.parametrize("nodes", [10, 100, 1000, 10000])
def test_design_shape(gen: ModuleType, nodes: int) -> None:
    d = gen.design(nodes, seed=3)
    assert len(d.nodes) == nodes
    assert sum(len(ids) for ids in d.pipelines.values()) == nodes
    chunk_nodes = sorted(gid for c in d.chunks.values() for gid in c.nodes)
    assert chunk_nodes == list(range(nodes)), "chunks partition the nodes"
    for gid, node in enumerate(d.nodes):
        assert 1 <= len(node.inputs) + len(node.params) <= 3
        assert all(p < gid for p in node.inputs), "edges go forward"
    if nodes >= 1000:
        sizes = [len(c.nodes) for c in d.chunks.values()]
        assert max(sizes) < 80 and sorted(sizes)[len(sizes) // 2] >= 20
    assert len(d.chunks) < 1000


def test_cross_chunk_datasets_are_in_the_catalog(gen: ModuleType) -> None:
    d = gen.design(1000, seed=1)
    catalog = {name for entries in gen.catalog_entries(d).values() for name in entries}
    for gid, node in enumerate(d.nodes):
        for producer in node.inputs:
            if d.chunk_of(producer) is not d.chunk_of(gid):
                assert d.full_output(producer) in catalog
    prefixed = [name for name in catalog if "." in name]
    assert prefixed, "some persisted datasets carry their namespace"


def test_design_is_deterministic(gen: ModuleType) -> None:
    a, b, c = gen.design(500, seed=7), gen.design(500, seed=7), gen.design(500, seed=8)
    assert [(n.inputs, n.chunk) for n in a.nodes] == [(n.inputs, n.chunk) for n in b.nodes]
    assert [(n.inputs, n.chunk) for n in a.nodes] != [(n.inputs, n.chunk) for n in c.nodes]


def test_too_few_nodes(gen: ModuleType) -> None:
    with pytest.raises(ValueError, match="at least"):
        gen.design(5)


@pytest.mark.project
@KEDRO_1
def test_generated_project_loads_in_kedro(tmp_path: Path) -> None:
    import kedro

    project = tmp_path / "bench"
    _generate(project)
    pyproject = (project / "pyproject.toml").read_text()
    assert 'package_name = "bench_100"' in pyproject
    assert f'kedro_init_version = "{kedro.__version__}"' in pyproject
    assert re.search(r'^bench-100 = "bench_100.__main__:main"$', pyproject, re.M)
    for rel in [
        "src/bench_100/__init__.py",
        "src/bench_100/__main__.py",
        "src/bench_100/settings.py",
        "src/bench_100/pipeline_registry.py",
        "src/bench_100/pipelines/ingestion/pipeline.py",
        "conf/base/catalog.yml",
        "conf/base/parameters.yml",
        "conf/base/dab.yml",
        "conf/local/.gitkeep",
        "conf/databricks/.gitkeep",
    ]:
        assert (project / rel).is_file(), rel
    assert "by: namespace" in (project / "conf/base/dab.yml").read_text()

    listed = subprocess.run(
        [sys.executable, "-m", "kedro", "registry", "list"],
        cwd=project,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    names = sorted(ln[2:].strip() for ln in listed.stdout.splitlines() if ln.startswith("- "))
    assert names == EXPECTED_PIPELINES

    counted = subprocess.run(
        [sys.executable, "-c", COUNT_NODES, str(project)],
        cwd=project,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(ln for ln in counted.stdout.splitlines() if ln.startswith("COUNT "))
    counts = json.loads(line[len("COUNT ") :])
    assert counts["default"] == 100
    assert counts["named"] == {"cleaning": 25, "features": 25, "ingestion": 25, "modelling": 25}

    checked = subprocess.run(
        [sys.executable, str(GENERATOR), "--check", str(project)],
        cwd=project,
        env=_env(),
        capture_output=True,
        text=True,
    )
    line = next(ln for ln in checked.stdout.splitlines() if ln.startswith("bench-check: "))
    summary = json.loads(line[len("bench-check: ") :])
    manifest = json.loads((project / "bench_project.json").read_text())
    assert summary["problems"] == []
    assert summary["groups"] == manifest["expected_tasks"]
    assert checked.returncode == 0


@pytest.mark.project
@KEDRO_1
def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    _generate(tmp_path / "a", seed=5)
    _generate(tmp_path / "b", seed=5)
    _generate(tmp_path / "c", seed=6)
    a, b, c = _tree(tmp_path / "a"), _tree(tmp_path / "b"), _tree(tmp_path / "c")
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []
    assert a != c
