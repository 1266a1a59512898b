"""Kedro's registry read into plain data: each node once as a `NodeInfo`, each pipeline's
node names in Kedro's topological order, the pipelines holding a different node under a name
already read, and which datasets the catalog persists."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import msgspec

from kedro_dab import compat
from kedro_dab.collector import collector_paused


class NodeInfo(msgspec.Struct, frozen=True, gc=False):
    """What kedro-dab needs to know of one Kedro node (a frozen `msgspec.Struct`: a project
    has one per node, and it is built an order of magnitude faster than a dataclass; it holds
    only text, so the collector need not track it)."""

    name: str
    namespace: str | None
    tags: tuple[str, ...]
    inputs: tuple[str, ...]
    """Datasets as Kedro links nodes by them: transcoding stripped (`df@pandas` is `df`)."""
    outputs: tuple[str, ...]
    """Datasets as Kedro links nodes by them: transcoding stripped (`df@spark` is `df`)."""
    catalog_outputs: tuple[str, ...] = ()
    """The outputs as the catalog names them (`df@spark`), in the order of `outputs`; empty
    when they are the same names."""

    def catalog_name(self, dataset: str) -> str:
        """The catalog entry this node writes `dataset` through (its `@` form, if any)."""
        if self.catalog_outputs:
            return self.catalog_outputs[self.outputs.index(dataset)]
        return dataset


class RegistryNodes(NamedTuple):
    """Kedro's registry as plain data."""

    nodes: dict[str, NodeInfo]
    """Node name -> the node, as the first pipeline (by name) holding a node of that name has
    it."""
    order: dict[str, tuple[str, ...]]
    """Pipeline name -> its node names in Kedro's topological order."""
    catalog_names: set[str]
    """Every dataset name as the catalog knows it (`@` forms kept)."""
    variants: dict[str, set[str]]
    """Node name -> the pipelines holding another node of that name, one that differs from
    the node in `nodes` (its namespace, tags, inputs or outputs)."""


def registry_nodes(pipelines: Mapping[str, Any]) -> RegistryNodes:
    """Kedro `Pipeline`s by name read into plain data (see `RegistryNodes`)."""
    nodes: dict[str, NodeInfo] = {}
    order: dict[str, tuple[str, ...]] = {}
    catalog_names: set[str] = set()
    variants: dict[str, set[str]] = {}
    variant_ids: set[int] = set()
    """id() of each node object that differs from the node kept under its name."""
    read: dict[int, str] = {}
    """id() of each node object read -> its name: most nodes are in several pipelines (one
    object, shared), and Kedro computes a node's name on every access."""
    with collector_paused():
        for name in sorted(pipelines):
            listed = pipelines[name].nodes  # Kedro's topological order
            for node in listed:
                if id(node) not in read:
                    facts = compat.node_facts(node)
                    read[id(node)] = facts[0]
                    if facts[0] not in nodes:
                        catalog_names.update(facts[3])
                        catalog_names.update(facts[4])
                        nodes[facts[0]] = node_info(*facts)
                    elif nodes[facts[0]] != node_info(*facts):  # another node, the same name
                        variant_ids.add(id(node))
                if id(node) in variant_ids:
                    variants.setdefault(read[id(node)], set()).add(name)
            order[name] = tuple(map(read.__getitem__, map(id, listed)))
    return RegistryNodes(nodes, order, catalog_names, variants)


def node_info(
    name: str,
    namespace: str | None,
    tags: tuple[str, ...],
    inputs: tuple[str, ...],
    outputs: tuple[str, ...],
) -> NodeInfo:
    """A node as Kedro's graph sees it: datasets named without their `@` transcoding."""
    linked_in = tuple(map(_linked, inputs)) if "@" in "".join(inputs) else inputs
    linked_out = tuple(map(_linked, outputs)) if "@" in "".join(outputs) else outputs
    catalog_outputs = outputs if linked_out != outputs else ()
    return NodeInfo(name, namespace, tags, linked_in, linked_out, catalog_outputs)


def _linked(dataset: str) -> str:
    """`strip_transcoding`, asked only of names that have an `@` (most have none)."""
    return compat.strip_transcoding(dataset) if "@" in dataset else dataset


def persisted_families(persisted: Iterable[str], catalog_names: Iterable[str]) -> set[str]:
    """Kedro's datasets (transcoding stripped) all of whose catalog forms are persisted."""
    kept, names = set(persisted), set(catalog_names)
    transcoded: dict[str, set[str]] = {}  # family -> its `@` forms (most names have none)
    for name in names:
        if "@" in name:
            transcoded.setdefault(compat.strip_transcoding(name), set()).add(name)
    out = {name for name in kept & names if "@" not in name} - transcoded.keys()
    for family, forms in transcoded.items():
        if forms <= kept and (family in kept or family not in names):
            out.add(family)
    return out
