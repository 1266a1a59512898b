"""Generate a synthetic, real Kedro project for benchmarking ``kedro dab``.

The project starts as the output of ``kedro new --tools none --example no`` (run with the
installed Kedro, so it is exactly what that Kedro generates) and is then filled with a layered
DAG of N nodes spread over several pipelines, each pipeline in its own module.

Shape, for a pipeline of ``n`` nodes:

* Nodes are laid out layer by layer (layer widths 4-12, smaller for tiny pipelines) and numbered
  in that order. Each node reads 1-3 datasets from the previous one or two layers; the first
  layer of the first pipeline reads ``params:seed`` and the first layer of every other
  pipeline reads the last layer of the pipeline before it.
* The numbered nodes are cut into chunks of 20-40 consecutive nodes (``n/8`` to ``n/4`` for
  pipelines under 160 nodes). Even chunks are tagged ``task.<pipeline>_<chunk>``; odd chunks are
  wrapped in ``pipeline(..., namespace="<pipeline>_ns<chunk>")``, so their nodes and their
  in-memory datasets carry that prefix. Chunks 1, 5, 9, ... also prefix the datasets other
  chunks read (``<pipeline>_ns1.<dataset>`` in other nodes and in the catalog); chunks 3, 7,
  ... list those in ``outputs=`` so they keep their plain names.
* Datasets used only inside their chunk are in memory (absent from the catalog). Every dataset
  read by another chunk, and every dataset nobody reads, is a ``pickle.PickleDataset`` declared
  in ``conf/base/catalog_<pipeline>.yml`` (one file per producing pipeline; ``catalog.yml``
  keeps the header ``kedro new`` wrote, because OmegaConf 2.4 refuses a YAML file of more than
  10,000 nodes, i.e. about 1,650 such entries).
  With ``--persist-all`` every dataset is declared there (the in-chunk ones under
  ``data/03_primary``), so that any grouping, down to one task per node, is possible.
* Edges only go from a chunk to a later chunk in one global order (pipelines in order, chunks
  in order), so the graph of groups is acyclic and ``kedro dab`` with the generated
  ``conf/base/dab.yml`` should produce exactly one task per chunk.

A summary of the shape (counts per pipeline, expected number of tasks) is written to
``bench_project.json`` at the project root.

Usage::

    python benchmarks/make_project.py --nodes 1000 --out benchmarks/.work/projects/bench_1000
"""

from __future__ import annotations

import argparse
import graphlib
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kedro.pipeline.node import Node

GENERATOR_VERSION = 1
MANIFEST_NAME = "bench_project.json"
CHECK_PREFIX = "bench-check: "
PIPELINE_NAMES = (
    "ingestion",
    "cleaning",
    "features",
    "modelling",
    "evaluation",
    "reporting",
    "scoring",
    "monitoring",
)
DEFAULT_PIPELINES = 4
DEFAULT_SEED = 0
MIN_NODES = 10
MAX_CATALOG_ENTRIES_PER_FILE = 1500
SEED_PARAM = "params:seed"

DAB_YML = """\
# Grouping used by the kedro-dab benchmarks: one task per chunk of the synthetic project.
grouping:
  - by: tag
    prefix: "task."
  - by: namespace
    depth: 1
merge_memory: false
"""

COMMON_PY = '''\
"""Trivial node functions shared by every pipeline of this benchmark project."""

from __future__ import annotations

MODULUS = 1_000_003


def identity(x: int) -> int:
    """Return the input unchanged."""
    return x


def pair(a: int, b: int) -> int:
    """Mix two values into one."""
    return (a * 31 + b) % MODULUS


def combine(*xs: int) -> int:
    """Mix any number of values into one."""
    return sum(xs) % MODULUS
'''

PIPELINE_INIT_PY = '''\
"""Pipeline '{name}' of a synthetic benchmark project."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]

__version__ = "0.1"
'''


@dataclass
class GenNode:
    """One generated node before rendering."""

    pipeline: str
    local: int
    layer: int
    chunk: int
    inputs: list[int] = field(default_factory=list)
    params: list[str] = field(default_factory=list)

    @property
    def base_name(self) -> str:
        """Node name without namespace."""
        return f"{self.pipeline}_n{self.local:05d}"

    @property
    def base_output(self) -> str:
        """Output dataset name without namespace."""
        return f"{self.pipeline}_d{self.local:05d}"


@dataclass
class Chunk:
    """A run of consecutive nodes of one pipeline that should become one task."""

    pipeline: str
    index: int
    nodes: list[int]
    namespaced: bool

    @property
    def namespace(self) -> str | None:
        """Namespace of a namespaced chunk, ``None`` for a tagged chunk."""
        return f"{self.pipeline}_ns{self.index}" if self.namespaced else None

    @property
    def tag(self) -> str | None:
        """Tag of a tagged chunk, ``None`` for a namespaced chunk."""
        return None if self.namespaced else f"task.{self.pipeline}_{self.index}"

    @property
    def exports_plain_names(self) -> bool:
        """Whether the chunk lists its persisted datasets in ``outputs=`` (no prefix).

        Namespaced chunks alternate between the two usual styles: ``<pipeline>_ns1`` keeps the
        namespace prefix on every dataset it produces (other chunks and the catalog use
        ``<namespace>.<dataset>``), ``<pipeline>_ns3`` exposes the datasets other chunks read
        under their plain names, and so on.
        """
        return self.namespaced and self.index % 4 == 3

    @property
    def group(self) -> str:
        """Name of the group (task) kedro-dab should derive for this chunk."""
        return self.namespace or f"{self.pipeline}_{self.index}"


@dataclass
class Design:
    """The whole generated DAG: nodes (global ids), chunks and pipelines."""

    nodes: list[GenNode]
    chunks: dict[tuple[str, int], Chunk]
    pipelines: dict[str, list[int]]
    persisted: dict[int, str] = field(default_factory=dict)

    def chunk_of(self, gid: int) -> Chunk:
        """Chunk that holds node ``gid``."""
        n = self.nodes[gid]
        return self.chunks[(n.pipeline, n.chunk)]

    def full_output(self, gid: int) -> str:
        """Dataset name as seen from outside the node's chunk (and in the catalog)."""
        chunk = self.chunk_of(gid)
        base = self.nodes[gid].base_output
        if chunk.namespace is None or (chunk.exports_plain_names and gid in self.persisted):
            return base
        return f"{chunk.namespace}.{base}"

    def full_name(self, gid: int) -> str:
        """Node name as Kedro reports it (namespace-prefixed)."""
        ns = self.chunk_of(gid).namespace
        base = self.nodes[gid].base_name
        return f"{ns}.{base}" if ns else base

    def reference(self, consumer: int, producer: int) -> str:
        """Name the consumer's ``node(...)`` call uses for the producer's output."""
        if self.chunk_of(consumer) is self.chunk_of(producer):
            return self.nodes[producer].base_output
        return self.full_output(producer)


def _split(total: int, lo: int, hi: int, rng: random.Random) -> list[int]:
    """Split ``total`` into parts of ``lo..hi``; a short tail is merged into the last part."""
    parts: list[int] = []
    left = total
    while left > 0:
        size = min(rng.randint(lo, hi), left)
        if size < lo and parts:
            parts[-1] += size
        else:
            parts.append(size)
        left -= size
    return parts


def _layer_widths(n: int) -> tuple[int, int]:
    hi = max(2, min(12, n // 4))
    return max(1, hi // 3), hi


def _chunk_sizes(n: int) -> tuple[int, int]:
    if n >= 160:
        return 20, 40
    return max(2, n // 8), max(3, n // 4)


def design(
    nodes: int,
    seed: int = DEFAULT_SEED,
    pipelines: int = DEFAULT_PIPELINES,
    namespaces: bool = True,
    persist_all: bool = False,
) -> Design:
    """Build the DAG for ``nodes`` nodes deterministically from ``seed``.

    With ``namespaces=False`` every chunk is tagged (none is namespaced): same DAG, same
    groups, without the cost Kedro's namespace checks add to every ``Pipeline`` it builds.
    With ``persist_all=True`` every dataset is persisted, not only those crossing chunks:
    same DAG and groups, and tasks of any size (one per node) can run.
    """
    if nodes < MIN_NODES:
        raise ValueError(f"--nodes must be at least {MIN_NODES}, got {nodes}")
    rng = random.Random(seed * 1_000_003 + nodes)
    n_pipes = max(1, min(pipelines, nodes // MIN_NODES))
    names = [
        PIPELINE_NAMES[i] if i < len(PIPELINE_NAMES) else f"pipeline_{i}" for i in range(n_pipes)
    ]
    sizes = [nodes // n_pipes + (1 if i < nodes % n_pipes else 0) for i in range(n_pipes)]

    all_nodes: list[GenNode] = []
    chunks: dict[tuple[str, int], Chunk] = {}
    by_pipeline: dict[str, list[int]] = {}
    prev_last_layer: list[int] = []
    for name, n in zip(names, sizes, strict=True):
        widths = _split(n, *_layer_widths(n), rng)
        chunk_sizes = _split(n, *_chunk_sizes(n), rng)
        chunk_of_local: list[int] = []
        for c, size in enumerate(chunk_sizes):
            chunk_of_local.extend([c] * size)
        first = len(all_nodes)
        layers: list[list[int]] = []
        local = 0
        for layer_index, width in enumerate(widths):
            layer = list(range(first + local, first + local + width))
            for gid in layer:
                local_id = gid - first
                all_nodes.append(GenNode(name, local_id, layer_index, chunk_of_local[local_id]))
            layers.append(layer)
            local += width
        for c, size in enumerate(chunk_sizes):
            start = first + sum(chunk_sizes[:c])
            nodes_of_chunk = list(range(start, start + size))
            chunks[(name, c)] = Chunk(name, c, nodes_of_chunk, namespaces and c % 2 == 1)
        by_pipeline[name] = list(range(first, first + n))

        for layer_index, layer in enumerate(layers):
            if layer_index == 0:
                prev, older = prev_last_layer, []
            else:
                prev = layers[layer_index - 1]
                older = layers[layer_index - 2] if layer_index >= 2 else []
            if not prev:
                for gid in layer:
                    all_nodes[gid].params.append(SEED_PARAM)
                continue
            # Every node of the previous layer feeds at least one node (up to 3 inputs each).
            for pos, producer in enumerate(prev):
                consumer = layer[pos % len(layer)]
                if len(all_nodes[consumer].inputs) < 3:
                    all_nodes[consumer].inputs.append(producer)
            candidates = prev + older
            for gid in layer:
                target = rng.randint(1, 3)
                node = all_nodes[gid]
                while len(node.inputs) < min(target, len(candidates)):
                    pick = rng.choice(candidates)
                    if pick not in node.inputs:
                        node.inputs.append(pick)
                node.inputs.sort()
        prev_last_layer = layers[-1]

    result = Design(all_nodes, chunks, by_pipeline)
    result.persisted = _persisted(result, persist_all)
    _check_acyclic(result)
    return result


def _persisted(d: Design, persist_all: bool = False) -> dict[int, str]:
    """Datasets to declare in the catalog: node id -> data folder.

    A dataset is persisted when a node of another chunk reads it (``02_intermediate``) or when
    no node reads it (``07_model_output``); every other dataset stays in memory, unless
    ``persist_all`` (then it goes to ``03_primary``).
    """
    readers: dict[int, set[tuple[str, int]]] = {}
    for node in d.nodes:
        for producer in node.inputs:
            readers.setdefault(producer, set()).add((node.pipeline, node.chunk))
    persisted: dict[int, str] = {}
    for gid, node in enumerate(d.nodes):
        chunks = readers.get(gid, set())
        if not chunks:
            persisted[gid] = "07_model_output"
        elif chunks - {(node.pipeline, node.chunk)}:
            persisted[gid] = "02_intermediate"
        elif persist_all:
            persisted[gid] = "03_primary"
    return persisted


def _check_acyclic(d: Design) -> None:
    """Fail loudly if the graph of chunks has a cycle (it cannot, by construction)."""
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for gid, node in enumerate(d.nodes):
        group = d.chunk_of(gid).group
        sorter.add(group)
        for producer in node.inputs:
            if producer >= gid:
                raise AssertionError(f"edge {producer} -> {gid} goes backwards")
            upstream = d.chunk_of(producer).group
            if upstream != group:
                sorter.add(group, upstream)
    sorter.prepare()


def catalog_entries(d: Design) -> dict[str, dict[str, str]]:
    """Persisted datasets per producing pipeline: name -> filepath.

    Every dataset not listed here is an in-memory dataset.
    """
    entries: dict[str, dict[str, str]] = {name: {} for name in d.pipelines}
    for gid, folder in sorted(d.persisted.items()):
        name = d.full_output(gid)
        entries[d.nodes[gid].pipeline][name] = f"data/{folder}/{name}.pkl"
    return entries


def catalog_files(d: Design) -> dict[str, dict[str, str]]:
    """Catalog file name (in ``conf/base``) -> the entries it declares.

    One ``catalog_<pipeline>.yml`` per pipeline, split into ``catalog_<pipeline>_<k>.yml`` parts
    of at most ``MAX_CATALOG_ENTRIES_PER_FILE`` entries: OmegaConf 2.4 refuses a YAML document
    of more than 10,000 nodes (about 1,650 entries like these) unless
    ``OMEGACONF_MAX_YAML_EXPANDED_NODES`` is raised.
    """
    files: dict[str, dict[str, str]] = {}
    for pipe, entries in catalog_entries(d).items():
        items = list(entries.items())
        parts = [
            items[i : i + MAX_CATALOG_ENTRIES_PER_FILE]
            for i in range(0, len(items), MAX_CATALOG_ENTRIES_PER_FILE)
        ]
        for k, part in enumerate(parts, start=1):
            suffix = "" if k == 1 else f"_{k}"
            files[f"catalog_{pipe}{suffix}.yml"] = dict(part)
    return files


def _py_str(value: str) -> str:
    return json.dumps(value)


def _render_node(d: Design, gid: int, indent: str) -> str:
    node = d.nodes[gid]
    inputs = [d.reference(gid, p) for p in node.inputs] + node.params
    if len(inputs) == 1:
        func, args = "identity", _py_str(inputs[0])
    else:
        func = "pair" if len(inputs) == 2 and node.local % 2 == 0 else "combine"
        args = "[" + ", ".join(_py_str(i) for i in inputs) + "]"
    return (
        f"{indent}node({func}, {args}, {_py_str(node.base_output)}, "
        f"name={_py_str(node.base_name)}),\n"
    )


def render_pipeline(d: Design, name: str, package: str) -> str:
    """Source of ``src/<package>/pipelines/<name>/pipeline.py``."""
    pipe_chunks = [c for (p, _), c in d.chunks.items() if p == name]
    count = len(d.pipelines[name])
    lines = [
        f'"""Pipeline \'{name}\': {count} nodes in {len(pipe_chunks)} chunks."""\n',
        "\n",
        "from __future__ import annotations\n",
        "\n",
        "from typing import Any\n",
        "\n",
        "from kedro.pipeline import Pipeline, node, pipeline\n",
        "\n",
        f"from {package}.common import combine, identity, pair\n",
        "\n",
        "\n",
        "def create_pipeline(**kwargs: Any) -> Pipeline:\n",
        f'    """Create the \'{name}\' pipeline."""\n',
        "    return pipeline(\n",
        "        [\n",
    ]
    for chunk in pipe_chunks:
        lines.append("            pipeline(\n")
        lines.append("                [\n")
        for gid in chunk.nodes:
            lines.append(_render_node(d, gid, " " * 20))
        lines.append("                ],\n")
        if chunk.tag:
            lines.append(f"                tags={_py_str(chunk.tag)},\n")
        else:
            assert chunk.namespace is not None
            external = sorted(
                {
                    d.reference(gid, p)
                    for gid in chunk.nodes
                    for p in d.nodes[gid].inputs
                    if d.chunk_of(p) is not chunk
                }
            )
            params = sorted({p for gid in chunk.nodes for p in d.nodes[gid].params})
            exported = sorted(
                d.nodes[gid].base_output
                for gid in chunk.nodes
                if chunk.exports_plain_names and gid in d.persisted
            )
            lines.append(f"                namespace={_py_str(chunk.namespace)},\n")
            for keyword, names in (
                ("inputs", external),
                ("outputs", exported),
                ("parameters", params),
            ):
                if names:
                    items = ", ".join(_py_str(x) for x in names)
                    lines.append(f"                {keyword}={{{items}}},\n")
        lines.append("            ),\n")
    lines += ["        ]\n", "    )\n"]
    return "".join(lines)


def render_catalog(entries: dict[str, str], header: str) -> str:
    """Text of one catalog file: a header comment, then one entry per persisted dataset."""
    out = [header.rstrip("\n") + "\n"]
    for name, path in entries.items():
        out.append(f"\n{name}:\n  type: pickle.PickleDataset\n  filepath: {path}\n")
    return "".join(out)


def _kedro_new(package: str, workdir: Path) -> Path:
    """Run ``kedro new`` with the current interpreter's Kedro; return the project folder."""
    env = dict(os.environ, KEDRO_DISABLE_TELEMETRY="1", DO_NOT_TRACK="1")
    cmd = [sys.executable, "-m", "kedro", "new", "--name", package]
    cmd += ["--tools", "none", "--example", "no"]
    proc = subprocess.run(
        cmd, cwd=workdir, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"kedro new failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    created = [p for p in workdir.iterdir() if p.is_dir()]
    if len(created) != 1:
        raise RuntimeError(f"kedro new created {created!r} in {workdir}")
    return created[0]


def _add_dependency(pyproject: str, requirement: str) -> str:
    match = re.search(r"^dependencies = \[\n(.*?)^\]", pyproject, flags=re.M | re.S)
    if not match:
        raise RuntimeError("no [project] dependencies list in the generated pyproject.toml")
    body = match.group(1) + f'    "{requirement}",\n'
    return pyproject[: match.start(1)] + body + pyproject[match.end(1) :]


def _generator_digest() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def _kedro_version() -> str:
    from importlib.metadata import version

    return version("kedro")


def _pipeline_summary(d: Design, name: str) -> dict[str, int]:
    chunks = [c for (p, _), c in d.chunks.items() if p == name]
    return {
        "nodes": len(d.pipelines[name]),
        "chunks": len(chunks),
        "tagged_chunks": sum(1 for c in chunks if c.tag),
        "namespaced_chunks": sum(1 for c in chunks if c.namespace),
        "namespaced_chunks_with_plain_outputs": sum(1 for c in chunks if c.exports_plain_names),
    }


def make_project(
    nodes: int,
    out: Path,
    seed: int = DEFAULT_SEED,
    pipelines: int = DEFAULT_PIPELINES,
    force: bool = False,
    namespaces: bool = True,
    persist_all: bool = False,
) -> dict[str, object]:
    """Write the benchmark project for ``nodes`` nodes to ``out``; return its manifest.

    ``persist_all`` declares every dataset in the catalog (see `design`); the manifest then
    has ``"persist_all": true`` (the key is absent otherwise).
    """
    out = Path(out).resolve()
    if out.exists() and any(out.iterdir()):
        if not force:
            raise FileExistsError(f"{out} exists and is not empty (use --force to replace it)")
        shutil.rmtree(out)
    d = design(nodes, seed, pipelines, namespaces, persist_all)
    package = f"bench_{nodes}"

    with tempfile.TemporaryDirectory(prefix="kedro-dab-bench-") as tmp:
        created = _kedro_new(package, Path(tmp))
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists():
            out.rmdir()
        shutil.move(str(created), str(out))

    src = out / "src" / package
    (src / "common.py").write_text(COMMON_PY)
    for name in d.pipelines:
        folder = src / "pipelines" / name
        folder.mkdir(parents=True)
        (folder / "__init__.py").write_text(PIPELINE_INIT_PY.format(name=name))
        (folder / "pipeline.py").write_text(render_pipeline(d, name, package))

    conf = out / "conf"
    files = catalog_files(d)
    catalog = conf / "base" / "catalog.yml"
    catalog.write_text(
        catalog.read_text().rstrip("\n")
        + "\n#\n# The persisted datasets of each pipeline are declared in "
        + "catalog_<pipeline>.yml beside this file.\n"
    )
    for file_name, entries in files.items():
        header = f"# Persisted datasets of the benchmark project ({file_name})."
        (conf / "base" / file_name).write_text(render_catalog(entries, header))
    (conf / "base" / "parameters.yml").write_text(f"seed: {seed}\n")
    (conf / "base" / "dab.yml").write_text(DAB_YML)
    (conf / "databricks").mkdir(exist_ok=True)
    (conf / "databricks" / ".gitkeep").write_text("")

    pyproject = out / "pyproject.toml"
    pyproject.write_text(_add_dependency(pyproject.read_text(), "kedro-datasets>=4"))
    requirements = out / "requirements.txt"
    if requirements.exists():
        requirements.write_text(requirements.read_text() + "kedro-datasets>=4\n")

    manifest: dict[str, object] = {
        "generator_version": GENERATOR_VERSION,
        "generator_sha256": _generator_digest(),
        "kedro_version": _kedro_version(),
        "package_name": package,
        "seed": seed,
        "namespaces": namespaces,
        "nodes": nodes,
        "pipelines": {name: _pipeline_summary(d, name) for name in d.pipelines},
        "expected_tasks": len(d.chunks),
        "catalog_entries": sum(len(entries) for entries in files.values()),
        "catalog_files": ["catalog.yml", *files],
        "edges": sum(len(n.inputs) for n in d.nodes),
    }
    if persist_all:
        manifest["persist_all"] = True
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    _git_init(out)
    return manifest


def _git_init(out: Path) -> None:
    """Make the project its own git repository, as a user's project is: without one, the
    ignore files of a repository around it (this one ignores `benchmarks/.work`) would decide
    what ships, and kedro-dab refuses a catalog file that would not ship."""
    proc = subprocess.run(
        ["git", "init", "-q", str(out)], stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"git init failed ({proc.returncode}):\n{proc.stderr[-2000:]}")


def check_project(project: Path) -> dict[str, object]:
    """Load a generated project with Kedro and check the invariants the benchmarks rely on.

    Run it in a fresh interpreter (``--check``): it imports the project's package. Returns a
    summary: nodes per registered pipeline, the groups the ``dab.yml`` rules give (first tag
    with the ``task.`` prefix, else the top-level namespace), and the problems found (datasets
    that cross groups without being in the catalog, a cycle between groups).
    """
    from kedro.framework.project import pipelines
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    project = Path(project).resolve()
    bootstrap_project(project)
    registered = {name: len(pipe.nodes) for name, pipe in sorted(pipelines.items())}
    default = pipelines["__default__"]
    with KedroSession.create(project_path=project) as session:
        catalog = session.load_context().catalog

    def group_of(node: Node) -> str:
        tags = sorted(t for t in node.tags if t.startswith("task."))
        if tags:
            return tags[0][len("task.") :]
        return node.namespace.split(".")[0] if node.namespace else node.name

    producer: dict[str, str] = {}
    for n in default.nodes:
        for out in n.outputs:
            producer[out] = group_of(n)
    problems: list[str] = []
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for n in default.nodes:
        group = group_of(n)
        sorter.add(group)
        for name in n.inputs:
            if name.startswith("params:") or name == "parameters":
                continue
            upstream = producer.get(name)
            if name not in catalog and upstream != group:
                problems.append(f"{name} crosses {upstream} -> {group} but is in memory")
            if upstream is not None and upstream != group:
                sorter.add(group, upstream)
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        problems.append(f"cycle between groups: {exc.args[1]}")
    groups = {group_of(n) for n in default.nodes}
    return {
        "pipelines": registered,
        "default_nodes": len(default.nodes),
        "groups": len(groups),
        "problems": problems,
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, help=f"number of nodes (>= {MIN_NODES})")
    parser.add_argument("--out", type=Path, help="project folder to create")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--pipelines", type=int, default=DEFAULT_PIPELINES)
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    parser.add_argument(
        "--tags-only",
        action="store_true",
        help="tag every chunk instead of namespacing every other one (same DAG and groups)",
    )
    parser.add_argument(
        "--persist-all",
        action="store_true",
        help="declare every dataset in the catalog (pickles under data/), so that one task "
        "per node can run; same DAG and groups",
    )
    parser.add_argument(
        "--check",
        type=Path,
        metavar="PROJECT",
        help="load a generated project with Kedro, print a JSON summary, exit 1 on problems",
    )
    args = parser.parse_args(argv)
    if args.check:
        summary = check_project(args.check)
        print(CHECK_PREFIX + json.dumps(summary, sort_keys=True))
        return 1 if summary["problems"] else 0
    if args.nodes is None or args.out is None:
        parser.error("--nodes and --out are required (or use --check PROJECT)")
    try:
        manifest = make_project(
            args.nodes,
            args.out,
            args.seed,
            args.pipelines,
            args.force,
            not args.tags_only,
            args.persist_all,
        )
    except (ValueError, FileExistsError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    pipes = manifest["pipelines"]
    assert isinstance(pipes, dict)
    print(
        f"{args.out}: {manifest['nodes']} nodes, {len(pipes)} pipelines, "
        f"{manifest['expected_tasks']} expected tasks, "
        f"{manifest['catalog_entries']} catalog entries"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
