"""Build `ProjectModel`s (kedro-dab's own plain data) directly, for fast unit tests of the
grouping and plan logic. Tests of reading real projects live in tests/project."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from kedro_dab import compat
from kedro_dab.project import ProjectModel
from kedro_dab.registry import NodeInfo, node_info

NodeSpec = (
    tuple[str, Sequence[str], Sequence[str]]
    | tuple[str, Sequence[str], Sequence[str], Iterable[str]]
)


def node(
    name: str,
    inputs: Sequence[str] = (),
    outputs: Sequence[str] = (),
    tags: Iterable[str] = (),
    namespace: str | None = None,
) -> NodeInfo:
    """A node; the namespace defaults to everything before the last '.' of the name."""
    if namespace is None and "." in name:
        namespace = name.rsplit(".", 1)[0]
    return node_info(name, namespace, tuple(sorted(tags)), tuple(inputs), tuple(outputs))


def project(
    nodes: Sequence[NodeInfo],
    persisted: Iterable[str] = (),
    pipelines: Mapping[str, Sequence[str]] | None = None,
    dab: Mapping[str, object] | None = None,
    run_options: Iterable[str] = ("--pipelines", "--nodes", "--env", "--conf-source"),
) -> ProjectModel:
    """A ProjectModel whose `__default__` holds `nodes` in the given (topological) order."""
    registry = {"__default__": tuple(n.name for n in nodes)}
    for name, members in (pipelines or {}).items():
        registry[name] = tuple(members)
    return ProjectModel(
        path=Path("/project"),
        package_name="demo",
        project_name="demo",
        distribution_name="demo",
        console_script="demo",
        kedro_version="1.7.0",
        env="databricks",
        conf_dir=Path("/project/conf"),
        pipelines=registry,
        nodes={n.name: n for n in nodes},
        persisted=frozenset(compat.strip_transcoding(d) for d in persisted),
        run_options=frozenset(run_options),
        dab_config=dict(dab or {}),
    )
