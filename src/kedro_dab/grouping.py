"""Rules -> groups of nodes, proven safe to run as separate Databricks tasks.

Each node is placed by the first rule that matches it (one task per node when none does).
Groups joined by in-memory datasets can be merged, together with every group that lies
between them, so the result stays acyclic (grouping_merge.py holds the merge). Unsafe results
are errors that say what to change; grouping_merge.py words those about a cycle between tasks
and about in-memory datasets that would cross them.

Inside, nodes are numbered by their place in the job's order and groups by the order their
first node comes in (so a group's number is its rank): the passes over nodes and edges index
lists and compare integers. The garbage collector is paused while they run: they allocate many
containers and no cycles, and each collection would walk Kedro's whole object graph again.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Callable, Mapping, Sequence
from graphlib import CycleError

import msgspec

from kedro_dab.collector import collector_paused
from kedro_dab.config import Boundaries, suggest
from kedro_dab.config_grouping import NamespaceRule, NodeRule, PipelineRule, Rule, TagRule
from kedro_dab.errors import ConfigError, GroupingError
from kedro_dab.graphs import topological_order, transitive_reduction
from kedro_dab.grouping_merge import cycle_message, memory_message, merge_memory
from kedro_dab.limits import KEY_PATTERN, MAX_TASKS_PER_JOB, clean_key, with_hash
from kedro_dab.project import ProjectModel
from kedro_dab.registry import NodeInfo

GroupId = tuple[str, str]
"""(rule, name): the rule kind keeps a tag group `x` apart from a node named `x`."""


class Group(msgspec.Struct, frozen=True):
    """Nodes that run together as one Databricks task."""

    rule: str
    """The kind of rule that formed the group: tag, namespace, pipeline or node."""
    name: str
    key: str
    nodes: tuple[str, ...]
    placed_by: Mapping[str, str]
    """Why each node is here: the rule that placed it, and any merge that moved it."""
    depends_on: tuple[str, ...]
    """Keys of the groups this one needs first; minimal (no edge implied by others)."""


class BoundaryDataset(msgspec.Struct, frozen=True):
    """A dataset that one task writes and later tasks read."""

    dataset: str
    producer: str
    consumers: tuple[str, ...]
    in_memory: bool
    written_as: str = ""
    """The catalog entry the producer writes the dataset through when it is transcoded
    (`df@spark` for `df`); empty otherwise."""
    persisted: bool = False
    """An in-memory dataset the producer saves per run for its consumers (`boundaries:
    persist`); catalog datasets persist themselves and are never marked."""


class Grouping(msgspec.Struct, frozen=True):
    """The tasks of one job and the datasets that pass between them."""

    groups: tuple[Group, ...]
    """In a topological order of the task graph."""
    boundary_datasets: tuple[BoundaryDataset, ...]


def group_job(
    project: ProjectModel,
    job_key: str,
    pipelines: Sequence[str],
    rules: Sequence[Rule],
    boundaries: Boundaries | bool,
    where: str = "dab.yml",
) -> Grouping:
    """Group the nodes of `pipelines` into tasks by `rules`; raise if the result is unsafe.
    `boundaries` says what happens to in-memory datasets between tasks (`merge`, `persist`,
    `refuse`; True and False stand for `merge` and `refuse`)."""
    if isinstance(boundaries, bool):
        boundaries = "merge" if boundaries else "refuse"
    for pipeline in pipelines:
        _check_pipeline(project, pipeline, f"{where}: jobs.{job_key}.pipelines")
    for index, rule in enumerate(rules):
        if isinstance(rule, PipelineRule):
            for pipeline in rule.pipelines or ():
                _check_pipeline(project, pipeline, f"{where}: grouping[{index}].pipelines")
    check_node_names(project, pipelines, f"{where}: jobs.{job_key}.pipelines")
    order = _job_order(project, pipelines)
    if not order:
        names = ", ".join(f"'{p}'" for p in pipelines)
        raise ConfigError(
            f"{where}: jobs.{job_key}: its pipelines {names} have no nodes, so the job would "
            "have no tasks; register nodes in them or remove the job"
        )
    with collector_paused():
        return _group(project, job_key, order, rules, pipelines, boundaries)


def _group(
    project: ProjectModel,
    job_key: str,
    order: list[str],
    rules: Sequence[Rule],
    pipelines: Sequence[str],
    boundaries: Boundaries,
) -> Grouping:
    infos = [project.nodes[name] for name in order]
    producer: dict[str, int] = {}
    for i, info in enumerate(infos):
        for dataset in info.outputs:
            producer[dataset] = i
    membership = {p: project.pipeline_sets[p] for p in _pipeline_rule_names(rules, pipelines)}
    gids, placed, why = _place_all(infos, rules, pipelines, membership)
    memory = functools.cache(project.is_memory)
    edges, memory_edges, readers = _links(infos, producer, placed, memory)
    try:
        group_order = topological_order(range(len(gids)), edges)
    except CycleError as exc:
        raise GroupingError(cycle_message(job_key, exc.args[1], edges, gids, order)) from None

    if boundaries == "merge" and memory_edges:
        chosen = merge_memory(gids, placed, edges, memory_edges, why)
        gids, placed = _numbered(chosen)
        edges, memory_edges, readers = _links(infos, producer, placed, memory)
        try:
            group_order = topological_order(range(len(gids)), edges)
        except CycleError:
            raise GroupingError(
                f"job '{job_key}': merging tasks left a cycle; please report this"
            ) from None

    between = [
        (dataset, placed[producer[dataset]], sorted(readers[dataset], key=gids.__getitem__))
        for dataset in sorted(readers)
    ]
    lost = [b for b in between if memory(b[0])] if boundaries != "persist" else []
    if lost:
        raise GroupingError(memory_message(job_key, lost, gids))
    if len(gids) > MAX_TASKS_PER_JOB:
        raise GroupingError(
            f"job '{job_key}' would have {len(gids)} tasks, more than the "
            f"{MAX_TASKS_PER_JOB} Databricks allows in one job; group nodes into tasks with "
            "tags (grouping: - by: tag, prefix: 'task.'), namespaces (- by: namespace) "
            "or whole pipelines (- by: pipeline) in dab.yml"
        )

    members: list[list[int]] = [[] for _ in gids]
    for i, g in enumerate(placed):
        members[g].append(i)
    keys = _task_keys([gids[g] for g in group_order])
    key_of = [keys[gid] for gid in gids]
    depends = transitive_reduction(group_order, edges)
    groups = tuple(
        Group(
            rule=gids[g][0],
            name=gids[g][1],
            key=key_of[g],
            nodes=tuple(order[i] for i in members[g]),
            placed_by={order[i]: why[i] for i in members[g]},
            depends_on=tuple(key_of[d] for d in depends[g]),
        )
        for g in group_order
    )
    named = []
    for dataset, source, consumers in between:
        written = infos[producer[dataset]].catalog_name(dataset)
        in_memory = memory(dataset)
        named.append(
            BoundaryDataset(
                dataset,
                key_of[source],
                tuple(key_of[c] for c in consumers),
                in_memory,
                written if written != dataset else "",
                persisted=in_memory and boundaries == "persist",
            )
        )
    return Grouping(groups=groups, boundary_datasets=tuple(named))


# --- placing nodes ------------------------------------------------------------------------------


def _check_pipeline(project: ProjectModel, pipeline: str, where: str) -> None:
    if pipeline not in project.pipelines:
        known = sorted(project.pipelines)
        raise ConfigError(
            f"{where}: unknown pipeline '{pipeline}'{suggest(pipeline, known, 'registered')}"
        )
    if "," in pipeline or pipeline != pipeline.strip():
        asked = ", ".join(f"'{part.strip()}'" for part in pipeline.split(","))
        raise ConfigError(
            f"{where}: pipeline '{pipeline}': `kedro run --pipelines` splits its value at commas "
            f"and strips spaces, so a task would ask for {asked}; register the pipeline under a "
            "name without commas or surrounding spaces"
        )


def check_node_names(project: ProjectModel, pipelines: Sequence[str], where: str) -> None:
    """Refuse `pipelines` when one of them holds a node that differs from another node of the
    same name in the registry: kedro-dab tells nodes apart by name, so it would plan that
    node with the other's namespace, tags, inputs or outputs (and Kedro refuses two nodes of
    one name and different datasets in one run)."""
    if not project.node_variants:
        return
    chosen = set(pipelines)
    for name, holders in sorted(project.node_variants.items()):
        differing = sorted(holders & chosen)
        if differing:
            others = sorted(
                p
                for p, members in project.pipeline_sets.items()
                if name in members and p not in holders
            )
            raise ConfigError(
                f"{where}: pipeline '{differing[0]}' holds a node named '{name}' that differs "
                f"from the node of that name in pipeline '{others[0]}' (its namespace, tags, "
                "inputs or outputs), and kedro-dab tells nodes apart by name: give them "
                "distinct names"
            )


def _pipeline_rule_names(rules: Sequence[Rule], job_pipelines: Sequence[str]) -> set[str]:
    names: set[str] = set()
    for rule in rules:
        if isinstance(rule, PipelineRule):
            names.update(rule.pipelines or job_pipelines)
    return names


def _place_all(
    infos: Sequence[NodeInfo],
    rules: Sequence[Rule],
    job_pipelines: Sequence[str],
    membership: Mapping[str, frozenset[str]],
) -> tuple[list[GroupId], list[int], list[str]]:
    """The groups (numbered in the order of their first node), each node's group number, and
    why each node is there."""
    gids: list[GroupId] = []
    number: dict[GroupId, int] = {}

    def numbered(gid: GroupId) -> int:
        found = number.get(gid)
        if found is None:
            found = number[gid] = len(gids)
            gids.append(gid)
        return found

    # Without a pipeline rule, where a node goes depends only on its tags and namespace.
    memo: dict[tuple[tuple[str, ...], str | None], tuple[int | None, str]] | None = (
        None if any(isinstance(rule, PipelineRule) for rule in rules) else {}
    )
    placed: list[int] = []
    why: list[str] = []
    for info in infos:
        hit = None if memo is None else memo.get((info.tags, info.namespace))
        if hit is None:
            rule, name, reason = _place(info, rules, job_pipelines, membership)
            hit = (None if name is None else numbered((rule, name)), reason)
            if memo is not None:
                memo[(info.tags, info.namespace)] = hit
        group, reason = hit
        placed.append(numbered(("node", info.name)) if group is None else group)
        why.append(reason)
    return gids, placed, why


def _place(
    node: NodeInfo,
    rules: Sequence[Rule],
    job_pipelines: Sequence[str],
    membership: Mapping[str, frozenset[str]],
) -> tuple[str, str | None, str]:
    """(rule, group name, why) of the first rule that places the node; the group name is None
    for a task of the node alone."""
    name = node.name
    for index, rule in enumerate(rules):
        where = f"grouping[{index}]"
        if isinstance(rule, TagRule):
            if rule.prefix is not None:
                found = [t for t in node.tags if t.startswith(rule.prefix)]
                groups = sorted({t[len(rule.prefix) :] for t in found})
            else:
                found = [t for t in (rule.tags or ()) if t in node.tags]
                groups = sorted(set(found))
            if len(groups) > 1:
                tags = " and ".join(f"'{t}'" for t in sorted(found))
                raise GroupingError(
                    f"node '{name}' is tagged {tags}, which {where} maps to different tasks; "
                    "a node runs in one task: keep only one of these tags"
                )
            if groups:
                if not groups[0]:
                    raise GroupingError(
                        f"node '{name}' has the tag '{rule.prefix}', which names no task; "
                        f"add the task name after the prefix (e.g. '{rule.prefix}prepare')"
                    )
                return "tag", groups[0], f"{where}: tag '{found[0]}'"
        elif isinstance(rule, NamespaceRule):
            if node.namespace is None:
                continue
            if rule.namespaces and not any(
                fnmatch.fnmatchcase(node.namespace, p) for p in rule.namespaces
            ):
                continue
            group = ".".join(node.namespace.split(".")[: rule.depth])
            return "namespace", group, f"{where}: namespace '{group}'"
        elif isinstance(rule, PipelineRule):
            for pipeline in rule.pipelines or job_pipelines:
                if name in membership[pipeline]:
                    return "pipeline", pipeline, f"{where}: pipeline '{pipeline}'"
        elif isinstance(rule, NodeRule):
            return "node", None, f"{where}: one task per node"
    return "node", None, "no rule matched: one task per node"


# --- the group graph ----------------------------------------------------------------------------

Links = dict[int, dict[int, tuple[str, int, int]]]
"""source group -> target group -> its first link: (dataset, producer node, consumer node)."""


def _job_order(project: ProjectModel, pipelines: Sequence[str]) -> list[str]:
    """Nodes of all `pipelines` in a topological order that keeps Kedro's own order."""
    if len(pipelines) == 1:
        return list(project.pipelines[pipelines[0]])
    ranked = list(dict.fromkeys(n for p in pipelines for n in project.pipelines[p]))
    producer = {d: n for n in ranked for d in project.nodes[n].outputs}
    successors: dict[str, list[str]] = {}
    for name in ranked:
        for dataset in project.nodes[name].inputs:
            source = producer.get(dataset)
            if source is not None and source != name:
                successors.setdefault(source, []).append(name)
    return topological_order(ranked, successors)


def _links(
    infos: Sequence[NodeInfo],
    producer: Mapping[str, int],
    placed: Sequence[int],
    memory: Callable[[str], bool],
) -> tuple[Links, dict[int, dict[int, str]], dict[str, set[int]]]:
    """One pass over the edges: the links between groups; of those, the first in-memory
    dataset of each that has one; and each dataset read in another group -> those groups."""
    edges: Links = {}
    memory_edges: dict[int, dict[int, str]] = {}
    readers: dict[str, set[int]] = {}
    for i, info in enumerate(infos):
        target = placed[i]
        for dataset in info.inputs:
            j = producer.get(dataset)
            if j is None or placed[j] == target:
                continue
            source = placed[j]
            out = edges.setdefault(source, {})
            if target not in out:
                out[target] = (dataset, j, i)
            if memory(dataset):
                memory_edges.setdefault(source, {}).setdefault(target, dataset)
            readers.setdefault(dataset, set()).add(target)
    return edges, memory_edges, readers


def _numbered(chosen: Sequence[GroupId]) -> tuple[list[GroupId], list[int]]:
    """Each node's group renumbered in the order of first nodes."""
    number: dict[GroupId, int] = {}
    placed = [number.setdefault(gid, len(number)) for gid in chosen]
    return list(number), placed


# --- keys and dependencies ----------------------------------------------------------------------


def _task_keys(groups: Sequence[GroupId]) -> dict[GroupId, str]:
    """Stable, unique, valid task keys. Names that clean to the same key all get a short hash
    of their kind and name, so no group silently takes another's key."""
    cleaned = {gid: clean_key(gid[1]) for gid in groups}
    claims: dict[str, list[GroupId]] = {}
    for gid, key in cleaned.items():
        claims.setdefault(key, []).append(gid)
    keys = {}
    for key, owners in claims.items():
        for gid in owners:
            keys[gid] = key if len(owners) == 1 else with_hash(key, f"{gid[0]}:{gid[1]}")
    if len(set(keys.values())) != len(keys) or not all(KEY_PATTERN.match(k) for k in keys.values()):
        raise GroupingError("task keys could not be made unique; rename the colliding groups")
    return keys
