"""Read a bundle for one target the way `databricks bundle deploy` reads it.

From the bundle root as the command read it (`kedro_dab.bundle.root`: `databricks.yml` plus its
`include` files, matched with Go's `filepath.Glob` rules as the CLI does), merged with the CLI's
rules (maps merge deeply, lists concatenate), then one target's overrides (`bundle`, `workspace`,
`artifacts`, `resources`, `sync`, `permissions` and `presets` merged; `variables`, `mode` and
`run_as` replaced), the variables' values from all their sources, and the `${...}` references
resolved to a fixed point. What the SDK engine cannot honour is an error that recommends the CLI
engine, never a silent difference.
"""

from __future__ import annotations

import copy
import json
import os
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kedro_dab.bundle.layout import DATABRICKS_YML
from kedro_dab.bundle.root import BundleRoot, as_bundle_root, merge
from kedro_dab.errors import ConfigError, DabError, first_line

USE_CLI = "use the CLI engine (--engine cli) for this bundle"
CLI_VERSION = "v1.13.0"
"""The Databricks CLI release whose reading of a bundle the SDK engine implements."""
DEFAULT_TARGET = "default"
"""The target the CLI defines when a bundle has no `targets`."""
SUPPORTED_TOP_LEVEL = {
    "bundle",
    "include",
    "artifacts",
    "sync",
    "variables",
    "targets",
    "resources",
    "workspace",
    "permissions",
    "presets",
}
_TARGET_KEYS = {
    "mode",
    "default",
    "bundle",
    "workspace",
    "variables",
    "resources",
    "permissions",
    "presets",
    "artifacts",
    "sync",
}
_MERGED_TARGET_FIELDS = (
    "bundle",
    "workspace",
    "artifacts",
    "resources",
    "sync",
    "permissions",
    "presets",
)
_WORKSPACE_KEYS = {"host", "root_path", "artifact_path", "file_path", "state_path", "profile"}
_BUNDLE_KEYS = {"name", "databricks_cli_version", "uuid"}
_SYNC_KEYS = {"include", "exclude"}
_ARTIFACT_KEYS = {"type", "build", "path", "dynamic_version"}
_NAME = r"[^\W\d_]+([-_]*[^\W_]+)*"
"""The CLI's name in a reference: letters, then letters or digits, joined by - or _."""
_REFERENCE = re.compile(r"\$\{(" + _NAME + r"(\." + _NAME + r"(\[[0-9]+\])*)*(\[[0-9]+\])*)\}")


class UnsupportedBundle(DabError):
    """The bundle uses something the SDK engine does not do; the CLI engine does."""


def unsupported(what: str) -> UnsupportedBundle:
    """The one-line refusal for a feature the SDK engine does not implement."""
    return UnsupportedBundle(f"{what} is not supported by the SDK engine; {USE_CLI}")


@dataclass
class Target:
    """One target of a bundle, merged and ready to deploy by the SDK engine.

    `jobs` and `permissions` are as merged, with `${...}` references still in them; the values
    of `variables` are final (from `--var`, `BUNDLE_VAR_<name>`, the variable-overrides file or
    the default), references inside them included, and resolve with everything else."""

    name: str
    bundle_name: str
    mode: str | None
    host: str | None
    root_path: str | None
    variables: dict[str, Any]
    jobs: dict[str, dict[str, Any]]
    job_files: dict[str, Path]
    permissions: list[dict[str, Any]] = field(default_factory=list)
    presets: dict[str, Any] = field(default_factory=dict)
    artifact_path: str | None = None
    file_path: str | None = None
    state_path: str | None = None
    profile: str | None = None
    sync: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, Any] = field(default_factory=dict)
    includes: list[str] = field(default_factory=list)
    explicit_root_path: bool = False
    """Whether the target itself sets `workspace.root_path` (the CLI's production-mode rule)."""
    apps: list[str] = field(default_factory=list)
    """Keys of `resources.apps`."""
    app_resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    """`resources.apps` as merged, `${...}` references still in them (see deploy/apps.py)."""
    app_files: dict[str, Path] = field(default_factory=dict)
    """App key -> the file whose `source_code_path` the merge kept (a relative path is
    relative to that file, as the CLI reads it)."""
    python_files: dict[tuple[str, str], Path] = field(default_factory=dict)
    """(job key, task key) -> the file whose `spark_python_task.python_file` the merge kept:
    a local path is relative to the file that wrote it (a reference included), as the CLI
    translates it."""
    refusals: list[str] = field(default_factory=list)
    """What the SDK engine cannot deploy although reading the jobs is fine (`run` and
    `destroy` of a bundle deployed by the CLI still work); a deploy stops on the first."""


def synced(target: Target, root: Path, candidates: list[str]) -> list[str]:
    """The files among `candidates` (paths relative to the bundle root) that the CLI's file
    sync uploads (see `SyncRules`), in the order given."""
    rules = SyncRules(target, root)
    return [rel for rel in candidates if rules(rel)]


def sync_files(target: Target, root: Path) -> list[str]:
    """Every file under the bundle root that `databricks bundle deploy` uploads to
    `${workspace.file_path}`, relative to the root, sorted (see `SyncRules`)."""
    rules = SyncRules(target, root)
    if rules.root_ignored:
        return []
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        base = Path(folder).relative_to(root).as_posix()
        prefix = "" if base == "." else f"{base}/"
        dirs[:] = sorted(d for d in dirs if rules.walks(f"{prefix}{d}"))
        found += [
            f"{prefix}{name}"
            for name in files
            if (Path(folder) / name).is_file() and not (Path(folder) / name).is_symlink()
        ]
    return sorted(rel for rel in found if rules(rel))


class IgnorePatterns:
    """Lines of a `.gitignore` (or `sync.include`/`sync.exclude` patterns) as the Databricks
    CLI matches them. The CLI does not use git's own matching but the go-gitignore module's,
    which differs from git: a pattern is anchored to its folder only when it starts with `/`
    or has a `/` before a later `*.` (so `conf/local/**` matches at any depth), `dir/**` also
    matches the folder `dir` itself, `?` is a literal question mark, other regular-expression
    characters keep their meaning, and the last matching line decides (a `!` line only
    reverses an earlier match)."""

    def __init__(self, lines: list[str]) -> None:
        self.patterns = [p for p in map(self._compile, lines) if p is not None]

    @staticmethod
    def _compile(line: str) -> tuple[re.Pattern[str], bool] | None:
        line = line.rstrip("\r")
        if line.startswith("#"):
            return None
        line = line.strip(" ")
        if not line:
            return None
        negated = line.startswith("!")
        if negated:
            line = line[1:]
        if line[:1] in ("#", "!"):
            line = line[1:]
        if re.search(r"[^/+]/.*\*\.", line) and not line.startswith("/"):
            line = "/" + line
        star = "\x00"  # a `*` that must survive the single-star rule below
        line = line.replace(".", r"\.")
        if line.startswith("/**/"):
            line = line[1:]
        line = line.replace("/**/", "(/|/.+/)")
        line = line.replace("**/", f"(|.{star}/)")
        line = line.replace("/**", f"(|/.{star})")
        line = line.replace("\\*", "\\" + star)
        line = line.replace("*", "([^/]*)").replace("?", r"\?").replace(star, "*")
        expr = line + ("(|.*)$" if line.endswith("/") else "(|/.*)$")
        expr = "^(|/)" + expr[1:] if expr.startswith("/") else "^(|.*/)" + expr
        try:
            return re.compile(expr), negated
        except re.error:
            return None  # the CLI skips a line that is not a valid expression

    def matches(self, path: str) -> bool:
        """Whether these lines ignore `path` (a folder ends with `/` when so asked)."""
        matched = False
        for pattern, negated in self.patterns:
            if pattern.search(path):
                if not negated:
                    matched = True
                elif matched:
                    matched = False
        return matched


class SyncRules:
    """Whether the CLI's file sync uploads a file, by the rules of Databricks CLI v1.13.0:
    the files of the bundle root that git's ignore files leave, plus those `sync.include`
    matches, minus those `sync.exclude` matches (all matched as `IgnorePatterns`).

    The ignore files are those of the git worktree holding the bundle root (the bundle root
    when there is none): `core.excludesFile` (default `$XDG_CONFIG_HOME/git/ignore`), `.git`,
    `.git/info/exclude`, the root's `.gitignore` and `.databricks`, then each folder's
    `.gitignore` on the way down, each matched against the path below its folder. A path is
    ignored when any of them ignores it (so a deeper `!pattern` cannot bring back what a
    shallower file ignores), or when one of its folders is ignored (as `dir` or `dir/`).
    `.databricks/bundle/<target>/.internal/*.*` is always included, as the CLI includes it."""

    def __init__(self, target: Target, root: Path) -> None:
        self.root = root.resolve()
        self.worktree = worktree_root(self.root)
        self.prefix = self.root.relative_to(self.worktree).as_posix()
        self.prefix = "" if self.prefix == "." else self.prefix + "/"
        user_include = [posixpath.normpath(str(p)) for p in target.sync.get("include") or []]
        self.user_include = bool(user_include)
        internal = f".databricks/bundle/{target.name}/.internal/*.*"
        self.include = IgnorePatterns([*user_include, internal])
        self.exclude = IgnorePatterns(
            [posixpath.normpath(str(p)) for p in target.sync.get("exclude") or []]
        )
        self._rules: dict[str, list[IgnorePatterns]] = {}
        self.root_ignored = bool(self.prefix) and self._folder_ignored(self.prefix[:-1])

    def _files_of(self, folder: str) -> list[IgnorePatterns]:
        """The ignore files that apply inside `folder` (worktree-relative, '' for the root)."""
        if folder not in self._rules:
            rules = []
            if folder == "":
                core = _core_excludes_file(self.worktree)
                if core is not None:
                    rules.append(IgnorePatterns(_lines(core)))
                rules.append(IgnorePatterns([".git"]))
                rules.append(IgnorePatterns(_lines(self.worktree / ".git" / "info" / "exclude")))
            rules.append(IgnorePatterns(_lines(self.worktree / folder / ".gitignore")))
            if folder == "":
                rules.append(IgnorePatterns([".databricks"]))
            self._rules[folder] = rules
        return self._rules[folder]

    def _matches(self, path: str, is_dir: bool) -> bool:
        parts = path.split("/")
        for depth in range(len(parts)):
            folder = "/".join(parts[:depth])
            inner = "/".join(parts[depth:]) + ("/" if is_dir else "")
            if any(rules.matches(inner) for rules in self._files_of(folder)):
                return True
        return False

    def _folder_ignored(self, path: str) -> bool:
        return self._matches(path, False) or self._matches(path, True)

    def ignored(self, relative: str) -> bool:
        """Whether git's ignore files (as the CLI reads them) leave out this file of the
        bundle root, by itself or through one of its folders."""
        if self.root_ignored:
            return True
        path = self.prefix + relative
        parts = path.split("/")
        for depth in range(len(self.prefix.split("/")), len(parts)):
            if self._folder_ignored("/".join(parts[:depth])):
                return True
        return self._matches(path, False)

    def walks(self, folder: str) -> bool:
        """Whether a walk for synced files must look inside `folder` (bundle-root relative):
        not when git's rules leave it out and no `sync.include` could bring a file back."""
        if self.user_include or folder == ".databricks" or folder.startswith(".databricks/"):
            return True
        parts = folder.split("/")
        return not any(
            self._folder_ignored(self.prefix + "/".join(parts[: depth + 1]))
            for depth in range(len(parts))
        )

    def __call__(self, relative: str) -> bool:
        if self.exclude.matches(relative):
            return False
        return not self.ignored(relative) or self.include.matches(relative)


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        return []
    return path.read_text(encoding="utf-8", errors="replace").split("\n")


def worktree_root(root: Path) -> Path:
    """The folder holding `.git` (a folder, or a worktree's file) at or above `root`."""
    for folder in (root, *root.parents):
        if (folder / ".git").exists():
            return folder
    return root


def _core_excludes_file(worktree: Path) -> Path | None:
    """git's `core.excludesFile`: from the repository's config, else the user's
    (`$XDG_CONFIG_HOME/git/config`, `~/.gitconfig`), else `$XDG_CONFIG_HOME/git/ignore`."""
    home = Path(os.environ.get("HOME") or Path.home())
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    found = None
    for config in (xdg / "git" / "config", home / ".gitconfig", worktree / ".git" / "config"):
        value = _git_config_value(config, "core", "excludesfile")
        if value:
            found = value
    path = Path(os.path.expanduser(found)) if found else xdg / "git" / "ignore"
    return path if path.is_file() else None


def _git_config_value(path: Path, section: str, key: str) -> str | None:
    value, current = None, ""
    for raw in _lines(path):
        line = raw.strip()
        if line.startswith("["):
            current = line[1:].split("]", 1)[0].strip().split(" ", 1)[0].lower()
        elif current == section and "=" in line:
            name, _, text = line.partition("=")
            if name.strip().lower() == key:
                value = text.strip().strip('"')
    return value


# --- merging ---------------------------------------------------------------------------------


def merge_by_key(items: list[Any], key: str, *, sort: bool = False) -> list[Any]:
    """The CLI's merge of list elements sharing `key` (tasks by `task_key`, job clusters by
    `job_cluster_key`, parameters by `name`): later ones merge into the first, in order."""
    seen: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, Mapping):
            raise ConfigError(f"each element of a list merged by {key} must be a mapping")
        ident = item.get(key)
        ident = "" if ident is None else ident
        if not isinstance(ident, str):
            raise ConfigError(f"{key} '{ident}' must be a string")
        seen[ident] = merge(seen[ident], item) if ident in seen else item
    keys = sorted(seen) if sort else list(seen)
    return [{**seen[k], key: k} for k in keys]


# --- loading ---------------------------------------------------------------------------------


def load_target(
    root: Path | BundleRoot,
    target: str | None,
    overrides: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Target:
    """Merge `databricks.yml`, its includes and one target (default: the target marked
    `default: true`, else the only one; `default` when the bundle has no `targets`).
    `root` is the bundle root as this command read it (or its folder, read now).
    `environ` (default: the process environment) gives `BUNDLE_VAR_<name>` values."""
    bundle = as_bundle_root(root)
    root = bundle.path
    if bundle.data is None:
        raise ConfigError(f"{DATABRICKS_YML} not found in {root}; run `kedro dab init`")
    sources = bundle.sources()
    data: Any = sources[DATABRICKS_YML]
    _check_keys(data, SUPPORTED_TOP_LEVEL, "top-level ")
    includes = list(bundle.includes)
    job_files = _job_files(root / DATABRICKS_YML, data, {})
    for rel in includes:
        included = sources[rel]
        _check_keys(included, SUPPORTED_TOP_LEVEL, "top-level ", rel)
        job_files = _job_files(root / rel, included, job_files)
        data = merge(data, {k: v for k, v in included.items() if k != "include"})

    targets = data.get("targets")
    if not targets:
        targets = {DEFAULT_TARGET: {}}
    if not isinstance(targets, Mapping):
        raise ConfigError(f"{DATABRICKS_YML}: targets must be a mapping of target names")
    name = _pick_target(targets, target)
    chosen = targets.get(name) or {}
    if not isinstance(chosen, Mapping):
        raise ConfigError(f"{DATABRICKS_YML}: targets.{name} must be a mapping")
    _check_keys(chosen, _TARGET_KEYS, f"targets.{name}.")
    _job_files_in_target(root, sources, name, job_files)

    merged = {k: v for k, v in data.items() if k != "targets"}
    for key in _MERGED_TARGET_FIELDS:
        if key in chosen:
            merged[key] = merge(merged.get(key), chosen[key], key)
    if merged.get("run_as") or chosen.get("run_as"):
        raise unsupported(f"{DATABRICKS_YML}: run_as")
    mode = chosen.get("mode")
    if mode not in (None, "development", "production"):
        raise ConfigError(
            f"{DATABRICKS_YML}: targets.{name}.mode: unsupported value '{mode}': must be "
            "either 'development' or 'production'"
        )

    bundle = merged.get("bundle") or {}
    bundle_name = str(bundle.get("name") or "")
    if not bundle_name:
        raise ConfigError(f"{DATABRICKS_YML}: bundle.name is missing")
    workspace = merged.get("workspace") or {}
    _check_keys(workspace, _WORKSPACE_KEYS, "workspace.")
    sync = merged.get("sync") or {}
    artifacts = merged.get("artifacts") or {}
    refusals = []
    for check in (
        lambda: _check_keys(bundle, _BUNDLE_KEYS, "bundle."),
        lambda: _check_keys(sync, _SYNC_KEYS, "sync."),
        lambda: _check_artifacts(root, artifacts),
    ):
        try:
            check()
        except UnsupportedBundle as refusal:
            refusals.append(str(refusal))
    if "${" in bundle_name:
        refusals.append(str(unsupported(f"{DATABRICKS_YML}: a reference in bundle.name")))

    resources = merged.get("resources") or {}
    for kind in resources:
        if kind == "apps":
            continue  # deploy/apps.py deploys them
        if kind != "jobs":
            raise unsupported(f"{DATABRICKS_YML}: resources.{kind} (the SDK engine deploys jobs)")
    jobs: dict[str, dict[str, Any]] = {}
    for key, job in (resources.get("jobs") or {}).items():
        if job is None:
            raise ConfigError(
                f"{_where(root, job_files.get(key))}: resources.jobs.{key} is empty; define "
                "the job (at least its name and tasks) or remove the key"
            )
        if not isinstance(job, Mapping):
            raise ConfigError(
                f"{_where(root, job_files.get(key))}: resources.jobs.{key} must be a mapping"
            )
        jobs[key] = _without_nulls(job)

    variables = _variables(root, merged, chosen, name, overrides or {}, environ)
    permissions = merged.get("permissions") or []
    if not isinstance(permissions, list):
        raise ConfigError(f"{DATABRICKS_YML}: permissions must be a list")
    return Target(
        name=name,
        bundle_name=bundle_name,
        mode=mode,
        host=workspace.get("host"),
        root_path=workspace.get("root_path"),
        artifact_path=workspace.get("artifact_path"),
        file_path=workspace.get("file_path"),
        state_path=workspace.get("state_path"),
        profile=workspace.get("profile"),
        variables=variables,
        jobs=jobs,
        job_files={key: job_files.get(key, root / DATABRICKS_YML) for key in jobs},
        permissions=list(permissions),
        presets=dict(merged.get("presets") or {}),
        sync=dict(sync),
        artifacts=dict(artifacts),
        includes=includes,
        explicit_root_path=bool((chosen.get("workspace") or {}).get("root_path")),
        refusals=refusals,
        apps=sorted(resources.get("apps") or {}),
        app_resources={
            str(key): _without_nulls(app) if isinstance(app, Mapping) else app
            for key, app in sorted((resources.get("apps") or {}).items())
        },
        app_files=_app_file_locations(root, sources, name),
        python_files=_python_file_locations(root, sources, name),
    )


def _app_file_locations(
    root: Path, sources: Mapping[str, Mapping[str, Any]], name: str
) -> dict[str, Path]:
    """Where each app's `source_code_path` was last set, in the CLI's merge order: the
    top-level resources of each file in load order, then the target's."""
    out: dict[str, Path] = {}
    for in_target in (False, True):
        for rel, source in sources.items():
            data: Any = source
            if in_target:
                data = (source.get("targets") or {}).get(name) or {}
            apps = ((data.get("resources") or {}) if isinstance(data, Mapping) else {}).get("apps")
            for key, app in (apps or {}).items() if isinstance(apps, Mapping) else ():
                if isinstance(app, Mapping) and "source_code_path" in app:
                    out[str(key)] = root / rel
    return out


def _python_file_locations(
    root: Path, sources: Mapping[str, Mapping[str, Any]], name: str
) -> dict[tuple[str, str], Path]:
    """Where each task's `spark_python_task.python_file` was last set, in the CLI's merge
    order: the top-level resources of each file in load order, then the target's."""
    out: dict[tuple[str, str], Path] = {}
    for in_target in (False, True):
        for rel, source in sources.items():
            data: Any = source
            if in_target:
                data = (source.get("targets") or {}).get(name) or {}
            jobs = ((data.get("resources") or {}) if isinstance(data, Mapping) else {}).get("jobs")
            for key, job in (jobs or {}).items() if isinstance(jobs, Mapping) else ():
                tasks = job.get("tasks") if isinstance(job, Mapping) else None
                for task in tasks if isinstance(tasks, list) else ():
                    python = task.get("spark_python_task") if isinstance(task, Mapping) else None
                    if isinstance(python, Mapping) and "python_file" in python:
                        out[(str(key), str(task.get("task_key") or ""))] = root / rel
    return out


def _check_artifacts(root: Path, artifacts: Mapping[str, Any]) -> None:
    """The SDK engine builds one wheel, the project's own, from the bundle root (with its own
    content-hash version in place of the artifact's build command)."""
    if len(artifacts) > 1:
        raise unsupported(f"{DATABRICKS_YML}: more than one artifact ({', '.join(artifacts)})")
    for key, artifact in artifacts.items():
        artifact = artifact or {}
        _check_keys(artifact, _ARTIFACT_KEYS, f"artifacts.{key}.")
        if artifact.get("type", "whl") != "whl":
            raise unsupported(f"{DATABRICKS_YML}: artifacts.{key}.type '{artifact['type']}'")
        if (root / str(artifact.get("path", "."))).resolve() != root.resolve():
            raise unsupported(
                f"{DATABRICKS_YML}: artifacts.{key}.path '{artifact['path']}' (a wheel built "
                "from another folder than the project)"
            )


def _where(root: Path, path: Path | None) -> str:
    return (path or root / DATABRICKS_YML).relative_to(root).as_posix()


def _check_keys(
    data: Mapping[str, Any], allowed: set[str], where: str, file: str = DATABRICKS_YML
) -> None:
    """Refuse a key the SDK engine does not implement (`where` prefixes its name)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{file}: {where.rstrip('. ')} must be a mapping")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise unsupported(f"{file}: {where}{unknown[0]}")


def _without_nulls(value: Any) -> Any:
    """A resource with its null fields dropped, as the CLI's typed configuration drops them."""
    if isinstance(value, Mapping):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _job_files(path: Path, data: Mapping[str, Any], known: dict[str, Path]) -> dict[str, Path]:
    """Where each job is defined; the CLI refuses a resource key defined in two files."""
    out = dict(known)
    resources = data.get("resources") or {}
    if not isinstance(resources, Mapping):
        raise ConfigError(f"{path.name}: resources must be a mapping")
    for key in resources.get("jobs") or {}:
        if key in out and out[key] != path:
            raise ConfigError(
                f"{path.name}: job '{key}' is also defined in {out[key].name}; "
                "resource keys must be unique"
            )
        out[key] = path
    return out


def _job_files_in_target(
    root: Path, sources: Mapping[str, Mapping[str, Any]], name: str, job_files: dict[str, Path]
) -> None:
    """Jobs defined only inside the target: attributed to the file whose target defines them."""
    for rel, source in sources.items():
        per_target = ((source.get("targets") or {}).get(name) or {}).get("resources") or {}
        for key in per_target.get("jobs") or {}:
            job_files.setdefault(key, root / rel)


def _pick_target(targets: Mapping[str, Any], wanted: str | None) -> str:
    if wanted is not None:
        if wanted not in targets:
            known = ", ".join(sorted(targets)) or "none"
            raise ConfigError(f"{DATABRICKS_YML}: no target '{wanted}' (targets: {known})")
        return wanted
    if len(targets) == 1:
        return str(next(iter(targets)))
    defaults = [n for n, t in targets.items() if isinstance(t, Mapping) and t.get("default")]
    if len(defaults) == 1:
        return str(defaults[0])
    if len(defaults) > 1:
        raise ConfigError(
            f"{DATABRICKS_YML}: targets {', '.join(sorted(defaults))} are all marked "
            "default: true; mark one"
        )
    raise ConfigError(
        f"{DATABRICKS_YML}: choose a target with -t (targets: {', '.join(sorted(targets))})"
    )


# --- variables -------------------------------------------------------------------------------

_FULL_OVERRIDES = [
    {"default", "type", "description"},
    {"default", "type"},
    {"default", "description"},
    {"lookup", "description"},
    {"default"},
    {"lookup"},
]
"""The shapes of a target's variable entry that are a definition; any other value (a scalar,
a list, another map) is the variable's new default, as the CLI rewrites it."""
_VARIABLE_KEYS = {"default", "description", "type", "lookup", "value"}


def _variables(
    root: Path,
    data: Mapping[str, Any],
    target: Mapping[str, Any],
    name: str,
    overrides: Mapping[str, str],
    environ: Mapping[str, str] | None,
) -> dict[str, Any]:
    """Each variable's value, by the CLI's precedence: `--var`, `BUNDLE_VAR_<name>`,
    `.databricks/bundle/<target>/variable-overrides.json`, the target's default, the default."""
    environ = os.environ if environ is None else environ
    declared = data.get("variables") or {}
    if not isinstance(declared, Mapping):
        raise ConfigError(f"{DATABRICKS_YML}: variables must be a mapping of variable names")
    specs: dict[str, dict[str, Any]] = {}
    for key, spec in declared.items():
        if spec is None:
            spec = {}
        if not isinstance(spec, Mapping):
            raise ConfigError(
                f"{DATABRICKS_YML}: variables.{key} must be a mapping (write `default: {spec}`)"
            )
        _check_keys(spec, _VARIABLE_KEYS, f"variables.{key}.")
        if spec.get("type") not in (None, "complex"):
            raise ConfigError(
                f"{DATABRICKS_YML}: variables.{key}.type '{spec['type']}' is not a variable "
                "type (the only one is complex)"
            )
        specs[str(key)] = dict(spec)
    for key, value in (target.get("variables") or {}).items():
        if key not in specs:
            raise ConfigError(
                f"{DATABRICKS_YML}: targets.{name}.variables.{key}: variable {key} is not "
                "defined but is assigned a value; declare it under variables"
            )
        if not (isinstance(value, Mapping) and set(value) in _FULL_OVERRIDES):
            value = {"default": value}
        if "default" in value:
            specs[key]["default"] = value["default"]
            specs[key].pop("lookup", None)
        if "lookup" in value:
            specs[key]["lookup"] = value["lookup"]
            specs[key].pop("default", None)
    for key in overrides:
        if key not in specs:
            raise ConfigError(f"--var {key}: not declared under variables in {DATABRICKS_YML}")
    file_values = _override_file(root, name)
    values: dict[str, Any] = {}
    for key, spec in specs.items():
        complex_type = spec.get("type") == "complex"
        env_name = f"BUNDLE_VAR_{key}"
        if spec.get("value") is not None:
            if key in overrides:
                raise ConfigError(
                    f"--var {key}: variable {key} has already been assigned a value in "
                    f"{DATABRICKS_YML}"
                )
            values[key] = copy.deepcopy(spec["value"])
        elif key in overrides:
            if complex_type:
                raise unsupported(f"--var {key}: setting a complex variable on the command line")
            values[key] = overrides[key]
        elif env_name in environ:
            if complex_type:
                raise ConfigError(
                    f"{env_name}: setting via environment variables is not supported for "
                    f"complex variable {key}; set it in {DATABRICKS_YML}"
                )
            values[key] = environ[env_name]
        elif spec.get("lookup") is not None:
            raise unsupported(f"{DATABRICKS_YML}: variables.{key}.lookup")
        elif file_values.get(key) is not None:
            if complex_type != isinstance(file_values[key], Mapping | list):
                raise ConfigError(
                    f".databricks/bundle/{name}/variable-overrides.json: the value of {key} "
                    f"does not match its type ({'complex' if complex_type else 'not complex'})"
                )
            values[key] = file_values[key]
        elif spec.get("default") is not None:
            values[key] = copy.deepcopy(spec["default"])
        else:
            raise ConfigError(
                f"{DATABRICKS_YML}: no value assigned to required variable {key} for target "
                f"'{name}'; give it a default, or pass --var {key}=... or {env_name}"
            )
    return values


def _override_file(root: Path, target: str) -> dict[str, Any]:
    path = root / ".databricks" / "bundle" / target / "variable-overrides.json"
    if not path.exists():
        return {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ConfigError(f"{path.relative_to(root)}: invalid JSON: {first_line(exc)}") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path.relative_to(root)}: must be a JSON object of variable values")
    return loaded


# --- references ------------------------------------------------------------------------------


class _Resolver:
    """References resolved to a fixed point: a value that is itself a reference (or contains
    one) is resolved first; a cycle is an error naming it."""

    def __init__(self, context: Mapping[str, Any], where: str) -> None:
        self.context, self.where, self.done = context, where, {}

    def value(self, value: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(value, str):
            return self.string(value, seen)
        if isinstance(value, list):
            return [self.value(item, seen) for item in value]
        if isinstance(value, Mapping):
            return {key: self.value(item, seen) for key, item in value.items()}
        return value

    def string(self, text: str, seen: tuple[str, ...]) -> Any:
        if "/Workspace${workspace." in text or "/Workspace/${workspace." in text:
            # The CLI rewrites these before it resolves references (with a warning).
            text = re.sub(
                r"/Workspace/?(\$\{workspace\.(root|file|artifact|state|resource)_path\})",
                r"\1",
                text,
            )
        matches = list(_REFERENCE.finditer(text))
        if not matches:
            return text
        if len(matches) == 1 and matches[0].group(0) == text:
            return self.lookup(matches[0].group(1), seen)
        out = text
        for match in matches:
            found = self.lookup(match.group(1), seen)
            if isinstance(found, Mapping | list):
                raise ConfigError(
                    f"{self.where}: ${{{match.group(1)}}}: cannot interpolate a non-primitive "
                    "value into a string; use the reference as the whole value"
                )
            out = out.replace(match.group(0), go_string(found), 1)
        return out

    def lookup(self, path: str, seen: tuple[str, ...]) -> Any:
        if path in seen:
            chain = " -> ".join((*seen, path))
            raise ConfigError(f"{self.where}: cycle detected in field resolution: {chain}")
        if path in self.done:
            return self.done[path]
        head, rest = _split(path, self.context)
        if head is None:
            if path.startswith("var."):
                raise ConfigError(
                    f"{self.where}: reference does not exist: ${{{path}}}; declare the "
                    "variable under variables"
                )
            raise unsupported(f"{self.where}: the reference ${{{path}}}")
        found = self.value(self.context[head], (*seen, path))
        for step in rest:
            indexable = isinstance(step, int) and isinstance(found, list) and step < len(found)
            if indexable or (
                isinstance(step, str) and isinstance(found, Mapping) and step in found
            ):
                found = found[step]  # type: ignore[index]
            else:
                raise ConfigError(f"{self.where}: reference does not exist: ${{{path}}}")
            found = self.value(found, (*seen, path))
        self.done[path] = found
        return found


def _split(path: str, context: Mapping[str, Any]) -> tuple[str | None, list[str | int]]:
    """The longest known name at the start of `path`, and the keys/indexes after it."""
    tokens = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    for size in range(len(tokens), 0, -1):
        head = ".".join(tokens[:size])
        if head in context and "[" not in head:
            rest: list[str | int] = [
                int(t[1:-1]) if t.startswith("[") else t for t in tokens[size:]
            ]
            return head, rest
    return None, []


def go_string(value: Any) -> str:
    """A value as Go's `fmt.Sprint` writes it into a string."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def resolve(value: Any, context: Mapping[str, Any], where: str) -> Any:
    """Replace `${...}` references (deeply) to a fixed point. A whole-value reference keeps
    the referenced value's type (a number stays a number, a complex variable its structure);
    one inside a string is written as text. Unknown references and cycles are errors."""
    return _Resolver(context, where).value(value, ())


def default_target(root: Path | BundleRoot) -> str:
    """The target a command uses without -t: the only one, else the one marked
    `default: true`; `default` when the bundle has no targets."""
    bundle = as_bundle_root(root)
    if bundle.data is None:
        raise ConfigError(f"{DATABRICKS_YML} not found in {bundle.path}; run `kedro dab init`")
    return _pick_target(bundle.data.get("targets") or {DEFAULT_TARGET: {}}, None)
