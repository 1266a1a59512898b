"""Merge into the user's `databricks.yml` what kedro-dab needs and it lacks, through a
round-trip YAML parser, so the user's comments, order, custom targets and indentation survive."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kedro_dab.bundle.layout import (
    DATABRICKS_YML,
    ENV_VARIABLE,
    OWNED_DIR,
    OWNED_INCLUDE,
    builds_project_wheel,
    glob_matches,
)
from kedro_dab.errors import ConfigError, first_line, read_text
from kedro_dab.shapes import bundle_shape_problem

TEMPLATE_INDENT = (2, 4, 2)  # ruamel's mapping, sequence and dash offset of the template


def round_trip_yaml() -> Any:
    """The ruamel parser init reads and writes `databricks.yml` with: quotes kept, lines never
    wrapped, the template's indentation."""
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    mapping, sequence, offset = TEMPLATE_INDENT
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def file_indentation(doc: Any) -> tuple[int, int, int]:
    """The indentation a loaded file mostly uses, as ruamel's (mapping, sequence, offset): how
    far a block mapping's keys sit right of their parent key, how far a block sequence's items
    and its dashes do. The template's where the file shows none."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    mappings: Counter[int] = Counter()
    sequences: Counter[tuple[int, int]] = Counter()

    def walk(node: Any) -> None:
        if isinstance(node, CommentedSeq):
            for item in node:
                walk(item)
            return
        if not isinstance(node, CommentedMap):
            return
        for key, value in node.items():
            line, col = node.lc.key(key)
            block = isinstance(value, CommentedMap | CommentedSeq) and len(value) > 0
            if block and not value.fa.flow_style() and value.lc.line > line:
                if isinstance(value, CommentedMap):
                    mappings[value.lc.col - col] += 1
                else:
                    offset = value.lc.col - col
                    sequences[(offset, max(value.lc.data[0][1] - col, offset + 2))] += 1
            walk(value)

    walk(doc)
    mapping = mappings.most_common(1)[0][0] if mappings else TEMPLATE_INDENT[0]
    sequence, offset = TEMPLATE_INDENT[1:]
    if sequences:
        offset, sequence = sequences.most_common(1)[0][0]
    return max(mapping, 1), sequence, offset


def merge_databricks_yml(
    path: Path, fresh_text: str, host: str | None, root: Path
) -> tuple[str, list[str], list[str]]:
    """Add to the user's databricks.yml what kedro-dab needs and it lacks; the text, what was
    added, and notes on what was left alone and why."""
    yaml = round_trip_yaml()
    try:
        doc = yaml.load(read_text(path, root))
    except ConfigError:
        raise
    except Exception as exc:  # ruamel raises many parser error types
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(
            f"{DATABRICKS_YML}: invalid YAML{line}: {first_line(exc)}; fix it, or pass --force "
            "to replace the file (a backup is kept)"
        ) from exc
    if doc is None:
        doc = yaml.load("{}")
    if not hasattr(doc, "keys"):
        raise ConfigError(
            f"{DATABRICKS_YML}: expected a mapping at the top level; fix it, or pass --force to "
            "replace the file (a backup is kept)"
        )
    problem = bundle_shape_problem(doc)
    if problem:
        raise ConfigError(
            f"{problem}; fix it, or pass --force to replace the file (a backup is kept)"
        )
    mapping, sequence, offset = file_indentation(doc)
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    fresh = yaml.load(fresh_text)
    added: list[str] = []
    notes: list[str] = []

    if not (doc.get("bundle") or {}).get("name"):
        if doc.get("bundle") is None:
            doc["bundle"] = fresh["bundle"]
        doc["bundle"].setdefault("name", fresh["bundle"]["name"])
        if doc["bundle"]["name"] is None:
            doc["bundle"]["name"] = fresh["bundle"]["name"]
        added.append("bundle.name")

    includes = doc.get("include")
    if includes is None:
        doc["include"] = fresh["include"]
        added.append("include")
    elif not any(isinstance(p, str) and glob_matches(f"{OWNED_DIR}/job.yml", p) for p in includes):
        includes.append(OWNED_INCLUDE)
        added.append(f"include '{OWNED_INCLUDE}'")

    artifacts = doc.get("artifacts") or {}
    if not any(builds_project_wheel(a) for a in artifacts.values()):
        [(key, wheel)] = fresh["artifacts"].items()
        if "artifacts" not in doc or doc["artifacts"] is None:
            doc["artifacts"] = fresh["artifacts"]
            added.append("the wheel artifact")
        elif key in doc["artifacts"]:
            notes.append(
                f"artifacts.{key} is left as you wrote it, though it does not build this "
                "project's wheel from the bundle root (type: whl, path: .), which the jobs "
                "install from dist/"
            )
        else:
            doc["artifacts"][key] = wheel
            added.append("the wheel artifact")

    conf_excludes = [e for e in fresh["sync"]["exclude"] if "conf" in e or "local" in e]
    sync = doc.get("sync")
    if sync is None:
        doc["sync"] = fresh["sync"]
        added.append("sync.exclude")
    else:
        excludes = sync.get("exclude")
        if excludes is None:
            included = [str(p) for p in sync.get("include") or [] if isinstance(p, str)]
            kept = []
            for entry in fresh["sync"]["exclude"]:
                undone = [p for p in included if _covers(entry, p)]
                if undone and entry not in conf_excludes:
                    notes.append(
                        f"sync.exclude '{entry}' left out: it would undo your sync.include "
                        f"'{undone[0]}' (the CLI syncs what include adds, less what exclude "
                        "removes)"
                    )
                else:
                    kept.append(entry)
            sync["exclude"] = kept
            added.append("sync.exclude")
        else:
            for entry in conf_excludes:
                if entry not in excludes:
                    excludes.append(entry)
                    added.append(f"sync.exclude '{entry}'")

    variables = doc.get("variables")
    if variables is None:
        doc["variables"] = fresh["variables"]
        added.append(f"variables.{ENV_VARIABLE}")
    elif ENV_VARIABLE not in variables or variables[ENV_VARIABLE] is None:
        variables[ENV_VARIABLE] = fresh["variables"][ENV_VARIABLE]
        added.append(f"variables.{ENV_VARIABLE}")
    elif isinstance(variables[ENV_VARIABLE], Mapping) and not isinstance(
        variables[ENV_VARIABLE].get("default"), str
    ):
        before = variables[ENV_VARIABLE].get("default")
        if before is not None:
            raise ConfigError(
                f"{DATABRICKS_YML}: variables.{ENV_VARIABLE}.default = {before!r} is not text; "
                f"write the Kedro env its tasks run with as text (default: "
                f"{fresh['variables'][ENV_VARIABLE]['default']})"
            )
        variables[ENV_VARIABLE]["default"] = fresh["variables"][ENV_VARIABLE]["default"]
        added.append(f"variables.{ENV_VARIABLE}.default")

    if doc.get("targets") is None and not _included_targets(root, doc):
        doc["targets"] = fresh["targets"]
        added.append("targets dev and prod")
    elif host is not None:
        added.extend(_set_missing_hosts(doc, host, notes))

    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue(), added, notes


def _covers(exclude: str, include: str) -> bool:
    """Whether the folder pattern `exclude` (`data/**`) takes in what `include` names."""
    folder = exclude.removesuffix("/**").rstrip("/")
    return include == folder or include.startswith(f"{folder}/")


def _included_targets(root: Path, doc: Any) -> bool:
    """Whether a file `doc` includes (not one kedro-dab writes) declares targets."""
    from kedro_dab.bundle.root import include_files, is_owned, read_bundle_file

    try:
        files = include_files(root, doc)
        return any(
            not is_owned(rel) and read_bundle_file(root / rel, root).get("targets") for rel in files
        )
    except ConfigError:  # bundle and validate name what is wrong with the includes
        return False


def _set_missing_hosts(doc: Any, host: str, notes: list[str]) -> list[str]:
    """Set `workspace.host` on the targets that have none (and no top-level host applies);
    note the targets whose host differs, which init leaves alone."""
    top = (doc.get("workspace") or {}).get("host")
    if top:
        if top != host:
            notes.append(
                f"left workspace.host '{top}' as it is (it applies to every target without a "
                "host of its own); edit databricks.yml to change it"
            )
        return []
    from ruamel.yaml.comments import CommentedMap

    added = []
    for name, target in doc["targets"].items():
        if target is None:
            doc["targets"][name] = target = CommentedMap()
        workspace = target.get("workspace")
        if workspace is None:
            target["workspace"] = workspace = CommentedMap()
        current = workspace.get("host")
        if not current:
            workspace["host"] = host
            added.append(f"targets.{name}.workspace.host")
        elif current != host:
            notes.append(
                f"left targets.{name}.workspace.host '{current}' as it is; edit "
                "databricks.yml to change it"
            )
    return added
