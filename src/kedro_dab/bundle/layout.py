"""Facts about the user's bundle root (read by `kedro_dab.bundle.root`): the names of what
kedro-dab writes, the Kedro env each target's tasks use, the checks of `databricks.yml`'s wiring,
and which conf files the bundle ships.

`conf/local` and credentials never leave the machine; every other conf file, at any depth and
as `.yml`, `.yaml` or `.json`, is shipped by the bundle's file sync and is the tasks' conf source.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from kedro_dab.errors import BundleError, ConfigError

if TYPE_CHECKING:
    from kedro_dab.bundle.root import BundleRoot

OWNED_DIR = "resources/kedro-dab"
"""The folder kedro-dab owns: its files are regenerated freely and stale ones removed."""
OWNED_INCLUDE = f"{OWNED_DIR}/*.yml"
ENV_VARIABLE = "kedro_env"
"""The bundle variable naming the Kedro env tasks run with; targets may override it."""

DATABRICKS_YML = "databricks.yml"
DEFAULT_ENV = "databricks"
NEVER_SHIPPED = ("local/**", "**/*credentials*", "**/*credentials*/**", "**/.env*")
"""Patterns, relative to the conf folder, that the bundle must never upload: `conf/local`,
anything Kedro loads as credentials (`credentials*`, `credentials*/**`, at any depth, in any
env) and `.env*` files. git's ignore files exclude more (see `shipped_conf_files`)."""


def sync_excludes(conf_dir: str) -> list[str]:
    """The `sync.exclude` entries that keep unshippable conf files on this machine."""
    return [f"{conf_dir}/{pattern}" for pattern in NEVER_SHIPPED]


def is_shipped(relative: str) -> bool:
    """Whether a file (path relative to the conf folder) may go to Databricks by kedro-dab's
    own rule: not under `local/`, no part of its path naming credentials, no `.env*` file."""
    parts = PurePosixPath(relative).parts
    if not parts or parts[0] == "local":
        return False
    return not any("credentials" in part or part.startswith(".env") for part in parts)


def shipped_conf_files(conf_dir: Path, project_root: Path | None = None) -> list[Path]:
    """Every conf file the bundle ships, relative to `conf_dir`, sorted: the regular files
    `is_shipped` allows that git's ignore files (read as the Databricks CLI's file sync reads
    them, from the git worktree holding the project) do not leave out. Symbolic links never
    ship, nor what is inside a linked folder (a linked conf folder ships nothing): the CLI's
    file sync skips them. This is the one list that the bundle's file sync, the SDK engine,
    the conf archive and the simulation all ship."""
    from kedro_dab.git_ignore import GitRules

    if conf_dir.is_symlink():
        return []
    root = (project_root or _project_root(conf_dir)).resolve()
    ignored = GitRules(root)
    conf = conf_dir.resolve()
    out = []
    for folder, dirs, files in os.walk(conf):
        dirs.sort()
        here = Path(folder)
        for name in files:
            path = here / name
            if path.is_symlink() or not path.is_file():
                continue
            rel = path.relative_to(conf)
            if is_shipped(rel.as_posix()) and not ignored.ignored(_inside(path, root)):
                out.append(rel)
    return sorted(out)


def _inside(path: Path, root: Path) -> str:
    """`path` relative to `root`, as the CLI's sync names it."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _project_root(conf_dir: Path) -> Path:
    for folder in conf_dir.resolve().parents:
        if (folder / "pyproject.toml").is_file():
            return folder
    return conf_dir.resolve().parent


def envs_by_target(data: Mapping[str, Any]) -> dict[str, str]:
    """Kedro env per target (plus `*` for the default) as `databricks.yml` sets them."""
    variable = (data.get("variables") or {}).get(ENV_VARIABLE)
    out: dict[str, str] = {}
    if isinstance(variable, Mapping) and variable.get("default") is not None:
        out["*"] = _env_text(variable["default"], f"variables.{ENV_VARIABLE}.default")
    for name, target in sorted((data.get("targets") or {}).items()):
        value = ((target or {}).get("variables") or {}).get(ENV_VARIABLE)
        key = f"targets.{name}.variables.{ENV_VARIABLE}"
        if isinstance(value, Mapping):
            value, key = value.get("default"), f"{key}.default"
        if value is not None:
            out[str(name)] = _env_text(value, key)
    return out


def _env_text(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise BundleError(
            f"{DATABRICKS_YML}: {key} = {value!r} is not text; write the Kedro env the tasks "
            "run with as text (e.g. databricks)"
        )
    return value


def task_envs(
    data: Mapping[str, Any] | None,
    env: str | None = None,
    target: str | None = None,
    override: str | None = None,
) -> dict[str, str]:
    """The one rule for the Kedro env a plan is built with: the env the tasks run with.

    Returns target -> env for the targets a command acts on: every target of `data` (a
    `databricks.yml`), or only `target` (a deploy). A target runs its tasks with its own
    `variables.kedro_env`, else the variable's default, else `databricks`; without a
    `databricks.yml` the one entry is `*`. `override` is a deploy's `--var kedro_env=...`.
    `env` (`--env`) must name exactly what the tasks get: a deploy sets the variable to it,
    and bundle, plan and validate, which serve every target, refuse an env no target runs with.
    The env `local` is refused everywhere: it is never shipped."""
    declared = envs_by_target(data or {})
    default = declared.get("*", DEFAULT_ENV)
    names = target_names(data or {})
    if target is not None:
        chosen = {target: declared.get(target, default)}
    elif names:
        chosen = {name: declared.get(name, default) for name in names}
    else:
        chosen = {"*": default}
    for name, value in [("--env", env), ("--var", override), *declared.items()]:
        if value == "local":
            where = name
            if name == "*":
                where = f"{DATABRICKS_YML}: variables.{ENV_VARIABLE}.default"
            elif not name.startswith("--"):
                where = f"{DATABRICKS_YML}: targets.{name}.variables.{ENV_VARIABLE}"
            raise ConfigError(
                f"{where}: Kedro env 'local' is never shipped to Databricks (it holds local "
                "settings and credentials), so tasks cannot run with it; use another env, "
                "e.g. 'databricks'"
            )
    if override is not None:
        if env is not None and env != override:
            raise ConfigError(
                f"--env {env} and --var {ENV_VARIABLE}={override} name different envs for the "
                "tasks; pass only one of them"
            )
        chosen = dict.fromkeys(chosen, override)
    elif env is not None:
        if data is None or target is not None:
            chosen = dict.fromkeys(chosen, env)
        elif env not in chosen.values():
            runs = ", ".join(f"{name}: '{e}'" for name, e in chosen.items())
            raise ConfigError(
                f"--env {env}: no target of {DATABRICKS_YML} runs its tasks with '{env}' "
                f"({runs}); set variables.{ENV_VARIABLE} (or a target's) to '{env}' in "
                f"{DATABRICKS_YML}, or pass one of those envs"
            )
    return chosen


def default_env(data: Mapping[str, Any] | None, envs: Mapping[str, str]) -> str:
    """The env among `envs` that a plan shows by default: the default target's."""
    targets = (data or {}).get("targets") or {}
    for name, settings in targets.items():
        if isinstance(settings, Mapping) and settings.get("default") and name in envs:
            return envs[name]
    return next(iter(envs.values()))


def builds_project_wheel(artifact: Any) -> bool:
    """Whether a `databricks.yml` artifact builds the project's own wheel: a wheel (`type:
    whl`, or no type, which the CLI builds the same way) from the bundle root."""
    if not isinstance(artifact, Mapping) or artifact.get("type", "whl") not in ("whl", None):
        return False
    path = artifact.get("path")
    return path is None or (
        isinstance(path, str) and PurePosixPath(path or ".") == PurePosixPath(".")
    )


def check_bundle_root(bundle: BundleRoot, conf_dir: str) -> Mapping[str, Any]:
    """Raise unless `databricks.yml` exists, includes the files kedro-dab writes, declares the
    Kedro env variable, and every env it names is shipped. Returns the bundle's settings."""
    data = bundle.data
    if data is None:
        raise BundleError(
            f"{DATABRICKS_YML} not found in {bundle.path}; run `kedro dab init` to create it"
        )
    includes = bundle.top.get("include") or []
    probe = f"{OWNED_DIR}/job.yml"
    if not any(isinstance(p, str) and glob_matches(probe, p) for p in includes):
        raise BundleError(
            f"{DATABRICKS_YML}: include does not cover {OWNED_INCLUDE}, so the generated jobs "
            f"would not be deployed; add '{OWNED_INCLUDE}' to include (or run `kedro dab init`)"
        )
    envs = envs_by_target(data)
    if "*" not in envs:
        raise BundleError(
            f"{DATABRICKS_YML}: variables.{ENV_VARIABLE} with a default is missing; the tasks "
            f"pass it to `kedro run --env`; run `kedro dab init` to add it"
        )
    for target, env in envs.items():
        check_env_shipped(bundle.path / conf_dir, env, conf_dir, target, bundle.path)
    return data


def target_names(data: Mapping[str, Any]) -> list[str]:
    """The bundle's targets, in file order."""
    return [str(name) for name in (data.get("targets") or {})]


def target_problems(bundle: BundleRoot, targets: Mapping[str, Any], runner: str) -> list[str]:
    """The one check of dab.yml's targets, which bundle, validate and deploy share: each must
    be a target of `databricks.yml`, and a target running from source needs the runner."""
    names = bundle.target_names
    problems = []
    for name, settings in targets.items():
        if name not in names:
            problems.append(
                f"dab.yml: targets.{name}: not a target of {DATABRICKS_YML} "
                f"(targets: {', '.join(names) or 'none'})"
            )
        elif settings.from_source and not (bundle.path / runner).is_file():
            problems.append(
                f"dab.yml: targets.{name}.from_source needs {runner}, which its tasks run from "
                "the synced source; run `kedro dab init --vscode` to write it"
            )
    return problems


def check_env_shipped(
    conf_path: Path, env: str, conf_dir: str, target: str = "*", project_root: Path | None = None
) -> None:
    """Raise unless conf/<env> exists and at least one of its files is shipped, by the rule
    of `shipped_conf_files` (git's ignore files included)."""
    where = (
        f"{DATABRICKS_YML}: variables.{ENV_VARIABLE}"
        if target == "*"
        else f"{DATABRICKS_YML}: targets.{target}.variables.{ENV_VARIABLE}"
    )
    if env == "local":
        raise BundleError(
            f"{where}: Kedro env 'local' is never shipped to Databricks (it holds local settings "
            "and credentials); use another env, e.g. 'databricks'"
        )
    folder = conf_path / env
    if not folder.is_dir():
        raise BundleError(
            f"{where}: Kedro env '{env}' has no folder {conf_dir}/{env}/, so its tasks would fail "
            f"with MissingConfigException; create {conf_dir}/{env}/ (a .gitkeep is enough)"
        )
    shipped = shipped_conf_files(conf_path, project_root)
    if not any(rel.parts[0] == env for rel in shipped):
        raise BundleError(
            f"{where}: {conf_dir}/{env}/ holds no file that is shipped (credentials, .env files, "
            "symbolic links and what git's ignore files exclude never are), so the folder would "
            "not exist on Databricks; add one that is (a .gitkeep is enough), or stop ignoring it"
        )


def glob_matches(path: str, pattern: str) -> bool:
    """Match like the Databricks CLI's include globs: `*` never crosses a `/`."""
    parts, pattern_parts = path.split("/"), pattern.strip("./").split("/")
    return len(parts) == len(pattern_parts) and all(
        fnmatch.fnmatchcase(part, pat) for part, pat in zip(parts, pattern_parts, strict=False)
    )
