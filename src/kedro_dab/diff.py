"""`kedro dab diff`: what a change does to the jobs, from two plans.

The base revision is exported from git into a temporary folder (`git archive`, so the work
tree and its uncommitted changes stay untouched) and planned there in a subprocess with the
same Python and Kedro; the two plans' JSON forms are compared. A revision without the project
(no pyproject.toml with [tool.kedro] in the project's folder) is refused, not planned. Tasks
are matched by key; a removed and an added task that share most of their nodes are one task
renamed. How the difference is shown is `diff_report`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from kedro_dab.errors import DabError


class DiffError(DabError):
    """The base revision could not be exported or planned."""


@dataclass(frozen=True)
class NodeMove:
    """A node that runs in another task than before."""

    node: str
    before: str
    after: str
    why: str
    """The head plan's reason for the node's place (the rule, and any merge)."""


@dataclass(frozen=True)
class Change:
    """One setting of a job or task that differs: `where` is `job` or `task <key>`."""

    where: str
    name: str
    before: Any
    after: Any


@dataclass
class JobDiff:
    """What changed in one job present in both plans."""

    key: str
    tasks_added: list[str] = field(default_factory=list)
    tasks_removed: list[str] = field(default_factory=list)
    tasks_renamed: dict[str, str] = field(default_factory=dict)
    """Old key -> new key."""
    nodes_moved: list[NodeMove] = field(default_factory=list)
    nodes_added: dict[str, str] = field(default_factory=dict)
    """Node -> the task it runs in."""
    nodes_removed: dict[str, str] = field(default_factory=dict)
    """Node -> the task it ran in."""
    settings: list[Change] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when anything about the job differs."""
        return bool(
            self.tasks_added
            or self.tasks_removed
            or self.tasks_renamed
            or self.nodes_moved
            or self.nodes_added
            or self.nodes_removed
            or self.settings
        )


@dataclass
class PlanDiff:
    """The jobs added, removed and changed between two plans."""

    base: str
    jobs_added: list[str] = field(default_factory=list)
    jobs_removed: list[str] = field(default_factory=list)
    jobs: list[JobDiff] = field(default_factory=list)
    head_plan: Mapping[str, Any] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """True when the change does anything to the jobs."""
        return bool(self.jobs_added or self.jobs_removed or any(j.changed for j in self.jobs))


# --- the base plan -------------------------------------------------------------------------------


def base_plan(root: Path, ref: str, env: str | None = None) -> dict[str, Any]:
    """The plan JSON of the project as it is at git revision `ref` (no jobs when kedro-dab
    was not set up there: no `databricks.yml` and no base `dab.yml`). A `DiffError` when `ref` is
    not a revision, or has no Kedro project in the folder the project is in now."""
    top, prefix = _git_location(root)
    commit = _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if commit is None:
        raise DiffError(
            f"--base '{ref}': not a git revision of {top}; name a branch, tag or commit"
        )
    if not _has_project(top, commit, prefix):
        where = prefix.rstrip("/") or "the repository root"
        raise DiffError(
            f"--base '{ref}': that revision has no Kedro project at {where} (no pyproject.toml "
            "with [tool.kedro]); pass --base with a revision that has one"
        )
    if not _set_up(top, commit, prefix):
        return {"jobs": []}  # kedro-dab was not set up there: nothing of it was deployed
    with tempfile.TemporaryDirectory(prefix="kedro-dab-base-") as tmp:
        archive = Path(tmp) / "base.tar"
        with archive.open("wb") as out:
            archived = subprocess.run(
                ["git", "archive", "--format=tar", commit],
                cwd=top,
                stdout=out,
                stderr=subprocess.PIPE,
                check=False,
            )
        if archived.returncode != 0:
            detail = archived.stderr.decode().strip()
            raise DiffError(f"--base '{ref}': git archive failed: {detail}")
        tree = Path(tmp) / "tree"
        with tarfile.open(archive) as tar:
            try:
                tar.extractall(tree, filter="data")
            except TypeError:  # Python without extraction filters (before 3.10.12)
                tar.extractall(tree)
        project = tree / prefix
        output = Path(tmp) / "plan.json"
        args = [sys.executable, "-m", "kedro", "dab", "plan", "--format", "json", "-o", str(output)]
        if env:
            args += ["--env", env]
        environ = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "NO_COLOR": "1"}
        done = subprocess.run(
            args,
            cwd=project,
            env=environ,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0 or not output.exists():
            errors = [ln for ln in done.stderr.splitlines() if ln.startswith("Error:")]
            detail = errors[-1].removeprefix("Error:").strip() if errors else _last(done.stderr)
            raise DiffError(f"--base '{ref}': planning the project at {ref} failed: {detail}")
        return json.loads(output.read_text(encoding="utf-8"))


def _git_location(root: Path) -> tuple[Path, str]:
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None:
        raise DiffError(f"{root} is not in a git repository; kedro dab diff compares git revisions")
    prefix = _git(root, "rev-parse", "--show-prefix") or ""
    return Path(top), prefix


def _has_project(top: Path, commit: str, prefix: str) -> bool:
    """True when `commit` has a pyproject.toml with [tool.kedro] in the project's folder
    (`prefix`, relative to the repository root): Kedro's own test for a project folder."""
    shown = subprocess.run(
        ["git", "show", f"{commit}:{prefix}pyproject.toml"],
        cwd=top,
        capture_output=True,
        check=False,
    )
    return shown.returncode == 0 and b"[tool.kedro]" in shown.stdout


def _set_up(top: Path, commit: str, prefix: str) -> bool:
    """Whether kedro-dab was set up for the project at `commit`: it holds a `databricks.yml`
    or a `dab.yml` in a base conf folder."""
    listed = _git(top, "ls-tree", "-r", "--name-only", commit, "--", prefix or ".") or ""
    for name in listed.splitlines():
        path = PurePosixPath(name)
        if name == f"{prefix}databricks.yml":
            return True
        if (
            path.suffix in (".yml", ".yaml")
            and path.stem.startswith("dab")
            and "base" in path.parts
        ):
            return True
    return False


def _git(cwd: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise DiffError("git is not on the PATH; kedro dab diff needs it") from exc
    return done.stdout.strip() if done.returncode == 0 else None


def _last(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-1].strip() if lines else "no output"


# --- comparing ------------------------------------------------------------------------------------

_TASK_FIELDS = ("compute", "settings", "requirements", "depends_on")


def diff_plans(base: Mapping[str, Any], head: Mapping[str, Any], base_name: str) -> PlanDiff:
    """Compare two plans in their JSON form (`plan_to_dict`)."""
    before = {job["key"]: job for job in base.get("jobs", [])}
    after = {job["key"]: job for job in head.get("jobs", [])}
    out = PlanDiff(
        base=base_name,
        jobs_added=sorted(set(after) - set(before)),
        jobs_removed=sorted(set(before) - set(after)),
        head_plan=head,
    )
    for key in sorted(set(before) & set(after)):
        out.jobs.append(_diff_job(before[key], after[key]))
    return out


def _diff_job(old: Mapping[str, Any], new: Mapping[str, Any]) -> JobDiff:
    out = JobDiff(key=new["key"])
    old_tasks = {t["key"]: t for t in old["tasks"]}
    new_tasks = {t["key"]: t for t in new["tasks"]}
    old_nodes = {n["name"]: t["key"] for t in old["tasks"] for n in t["nodes"]}
    new_nodes = {n["name"]: t["key"] for t in new["tasks"] for n in t["nodes"]}
    why = {n["name"]: n["placed_by"] for t in new["tasks"] for n in t["nodes"]}

    removed = sorted(set(old_tasks) - set(new_tasks))
    added = sorted(set(new_tasks) - set(old_tasks))
    out.tasks_renamed = _renames(removed, added, old_nodes, new_nodes)
    out.tasks_removed = [k for k in removed if k not in out.tasks_renamed]
    out.tasks_added = [k for k in added if k not in out.tasks_renamed.values()]

    same = {**{k: k for k in set(old_tasks) & set(new_tasks)}, **out.tasks_renamed}
    for node in sorted(set(old_nodes) & set(new_nodes)):
        if same.get(old_nodes[node]) != new_nodes[node]:
            out.nodes_moved.append(NodeMove(node, old_nodes[node], new_nodes[node], why[node]))
    out.nodes_added = {n: new_nodes[n] for n in sorted(set(new_nodes) - set(old_nodes))}
    out.nodes_removed = {n: old_nodes[n] for n in sorted(set(old_nodes) - set(new_nodes))}

    for name in ("name", "pipelines", "settings"):
        if old.get(name) != new.get(name):
            out.settings.append(Change("job", name, old.get(name), new.get(name)))
    for old_key, new_key in sorted(same.items(), key=lambda kv: kv[1]):
        for name in _TASK_FIELDS:
            before = old_tasks[old_key].get(name)
            after = new_tasks[new_key].get(name)
            if name == "depends_on":
                before = sorted(same.get(k, k) for k in before or [])
                after = sorted(after or [])
            if before != after:
                out.settings.append(Change(f"task {new_key}", name, before, after))
    return out


def _renames(
    removed: Sequence[str],
    added: Sequence[str],
    old_nodes: Mapping[str, str],
    new_nodes: Mapping[str, str],
) -> dict[str, str]:
    """Pair a removed task with the added task holding most of its nodes, when they share
    more than half of the nodes of each."""
    members_old = {k: {n for n, t in old_nodes.items() if t == k} for k in removed}
    members_new = {k: {n for n, t in new_nodes.items() if t == k} for k in added}
    pairs = sorted(
        (
            (-len(members_old[o] & members_new[n]), o, n)
            for o in removed
            for n in added
            if members_old[o] & members_new[n]
        ),
    )
    out: dict[str, str] = {}
    for overlap, old, new in pairs:
        shared = -overlap
        if old in out or new in out.values():
            continue
        if shared * 2 > len(members_old[old]) and shared * 2 > len(members_new[new]):
            out[old] = new
    return out
