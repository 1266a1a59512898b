"""Read a Kedro project once into plain data: the `ProjectModel`.

Nothing after this step imports the project again. Reading never starts the project's
runtime: no session, no hooks, no dataset instantiated; the catalog configuration of the env
is enough to tell in-memory datasets from persisted ones.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kedro_dab import compat
from kedro_dab.errors import ConfigError, ProjectError, first_line

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """What kedro-dab needs to know of one Kedro node."""

    name: str
    namespace: str | None
    tags: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class ProjectModel:
    """Plain data read once from a Kedro project."""

    path: Path
    package_name: str
    project_name: str
    distribution_name: str
    """`[project].name` in `pyproject.toml`: the wheel's name, which Databricks looks up."""
    console_script: str
    """The `[project.scripts]` entry that runs `<package>.__main__:main`."""
    kedro_version: str
    env: str
    conf_dir: Path
    pipelines: Mapping[str, tuple[str, ...]]
    """Pipeline name -> node names in Kedro's topological order."""
    nodes: Mapping[str, NodeInfo]
    persisted: frozenset[str]
    """Datasets the catalog persists for this env. Others (not parameters) live in memory."""
    run_options: frozenset[str]
    dab_config: Mapping[str, Any] = field(default_factory=dict)
    dab_files: tuple[Path, ...] = ()
    requirements: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Pipeline name -> lines of `src/<package>/pipelines/<name>/requirements.txt`."""
    dependencies: tuple[str, ...] = ()
    """`[project].dependencies`: what running from source needs instead of the wheel."""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    """The env's parameters, read only when `dab.yml` declares serving endpoints."""

    @functools.cached_property
    def pipeline_sets(self) -> dict[str, frozenset[str]]:
        """Pipeline name -> its node names as a set, for membership tests."""
        return {name: frozenset(nodes) for name, nodes in self.pipelines.items()}

    def is_memory(self, dataset: str) -> bool:
        """True when the dataset exists only in the memory of the process that makes it."""
        return not compat.is_parameter(dataset) and dataset not in self.persisted


def read_project(project_path: Path | str, env: str) -> ProjectModel:
    """Read the project at `project_path` for the Kedro `env` the Databricks tasks will use."""
    path = Path(project_path).resolve()
    metadata = compat.bootstrap(path)
    pyproject = _read_pyproject(path)
    distribution, script = _wheel_entry(pyproject, metadata.package_name, path)
    conf_dir = compat.conf_source_dir(path)
    _check_env_folder(conf_dir, env, path)

    pipelines = compat.load_pipelines()
    nodes: dict[str, NodeInfo] = {}
    order: dict[str, tuple[str, ...]] = {}
    for name in sorted(pipelines):
        names = []
        for node in pipelines[name].nodes:  # Kedro's topological order
            info = nodes.get(node.name)
            if info is None:
                info = NodeInfo(*compat.node_facts(node))
                nodes[info.name] = info
            names.append(info.name)
        order[name] = tuple(names)

    loader = compat.config_loader(path, env)
    catalog = _load(loader, "catalog", env, path, fast=True)
    datasets = {d for info in nodes.values() for d in (*info.inputs, *info.outputs)}
    persisted = persisted_datasets(catalog, datasets)
    dab_raw = _load(loader, "dab", env, path)
    dab_files = tuple(compat.config_files(loader, "dab", env))
    parameters = _load(loader, "parameters", env, path) if dab_raw.get("serving") else {}

    return ProjectModel(
        path=path,
        package_name=metadata.package_name,
        project_name=metadata.project_name,
        distribution_name=distribution,
        console_script=script,
        kedro_version=compat.kedro_version(),
        env=env,
        conf_dir=conf_dir,
        pipelines=order,
        nodes=nodes,
        persisted=frozenset(persisted),
        run_options=compat.run_options(metadata.package_name),
        dab_config=dab_raw,
        dab_files=dab_files,
        requirements=pipeline_requirements(path / "src" / metadata.package_name, order),
        dependencies=tuple((pyproject.get("project") or {}).get("dependencies") or ()),
        parameters=parameters,
    )


def _read_pyproject(path: Path) -> dict[str, Any]:
    file = path / "pyproject.toml"
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ProjectError(f"{file}: {first_line(exc)}") from exc


def _wheel_entry(pyproject: Mapping[str, Any], package: str, path: Path) -> tuple[str, str]:
    """The distribution name and console script Databricks must call."""
    project = pyproject.get("project") or {}
    distribution = project.get("name")
    if not distribution:
        raise ProjectError(
            f"{path / 'pyproject.toml'}: [project] has no 'name'; the wheel needs one "
            f'(for example name = "{package}")'
        )
    scripts: Mapping[str, str] = project.get("scripts") or {}
    target = f"{package}.__main__:main"
    matches = sorted(name for name, ref in scripts.items() if ref.replace(" ", "") == target)
    if not matches:
        raise ProjectError(
            f"{path / 'pyproject.toml'}: no [project.scripts] entry runs {target}; "
            f'add `{project_script_name(package)} = "{target}"` under [project.scripts]'
        )
    return str(distribution), matches[0]


def project_script_name(package: str) -> str:
    """The script name Kedro's template would give a package (for suggestions only)."""
    return package.replace("_", "-")


def _check_env_folder(conf_dir: Path, env: str, path: Path) -> None:
    if not (conf_dir / env).is_dir():
        rel = (conf_dir / env).relative_to(path).as_posix()
        raise ConfigError(
            f"Kedro env '{env}' has no folder {rel}/: create it (it may hold only a .gitkeep), "
            "run `kedro dab init`, or pass --env with an existing env"
        )


def _load(loader: Any, key: str, env: str, path: Path, fast: bool = False) -> dict[str, Any]:
    try:
        if fast:
            return compat.catalog_config(loader, env)
        return compat.load_config_key(loader, key)
    except Exception as exc:  # the loader raises parser, OmegaConf and value errors
        located = _bad_file(loader, key, env, path)
        if located:
            raise ConfigError(located) from exc
        message = first_line(exc).replace(str(path) + "/", "")
        raise ConfigError(
            f"cannot read the '{key}' configuration for env '{env}': {message}"
        ) from exc


def _bad_file(loader: Any, key: str, env: str, root: Path) -> str | None:
    """`<file>: <problem> at line N` for the first config file of `key` that does not parse."""
    from omegaconf import OmegaConf

    for file in compat.config_files(loader, key, env):
        try:
            OmegaConf.load(file)
        except Exception as exc:  # yaml's MarkedYAMLError and its subclasses
            problem = getattr(exc, "problem", None) or first_line(exc)
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            return f"{file.relative_to(root).as_posix()}: {problem}{where}; fix the YAML"
    return None


# --- catalog: which datasets are persisted -----------------------------------------------------

_PLACEHOLDER = re.compile(r"\{.*?\}")


def persisted_datasets(catalog: Mapping[str, Any], datasets: Iterable[str]) -> set[str]:
    """Names among `datasets` whose catalog entry (explicit or through a dataset factory)
    is not an in-memory dataset. Undeclared names are in memory."""
    explicit = {
        name: conf
        for name, conf in catalog.items()
        if "{" not in name and not name.startswith("_") and isinstance(conf, Mapping)
    }
    patterns = _ordered_patterns(catalog)
    out: set[str] = set()
    for name in datasets:
        if compat.is_parameter(name):
            continue
        conf = explicit.get(name)
        if conf is None:
            conf = _match_pattern(patterns, name)
        if conf is not None and not compat.dataset_type_is_memory(conf):
            out.add(name)
    return out


def _ordered_patterns(catalog: Mapping[str, Any]) -> list[tuple[Any, Mapping[str, Any]]]:
    """Dataset factory patterns in Kedro's order of precedence: most specific first, then
    more placeholders, then alphabetical; a bare catch-all like `{name}` comes last."""
    import parse

    patterns = [
        (name, conf)
        for name, conf in catalog.items()
        if "{" in name and not name.startswith("_") and isinstance(conf, Mapping)
    ]

    def precedence(item: tuple[str, Any]) -> tuple[int, int, int, str]:
        pattern = item[0]
        catch_all = _PLACEHOLDER.sub("", pattern) == ""
        return (int(catch_all), -len(_PLACEHOLDER.sub("", pattern)), -pattern.count("{"), pattern)

    return [(parse.compile(name), conf) for name, conf in sorted(patterns, key=precedence)]


def _match_pattern(
    patterns: list[tuple[Any, Mapping[str, Any]]], name: str
) -> Mapping[str, Any] | None:
    for compiled, conf in patterns:
        if compiled.parse(name) is not None:
            return conf
    return None


def pipeline_requirements(
    package_dir: Path, pipelines: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """Requirement lines of each pipeline's own `requirements.txt`, if it has one."""
    out: dict[str, tuple[str, ...]] = {}
    for name in pipelines:
        file = package_dir / "pipelines" / name / "requirements.txt"
        if not file.is_file():
            continue
        lines = []
        for number, raw in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            line = raw.split(" #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("-"):
                rel = file.relative_to(package_dir.parent.parent).as_posix()
                raise ConfigError(
                    f"{rel}:{number}: '{line}' is a pip option; list plain requirements only "
                    "(Databricks installs each line as a package)"
                )
            lines.append(line)
        out[name] = tuple(lines)
    return out
