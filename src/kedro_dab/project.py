"""Read a Kedro project once into plain data: the `ProjectModel`.

Nothing after this step imports the project again. Reading never starts the project's
runtime: no session, no hooks, no dataset instantiated; the catalog configuration of the env
is enough to tell in-memory datasets from persisted ones.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import msgspec

from kedro_dab import compat, kedro_config
from kedro_dab.collector import collector_paused
from kedro_dab.config import requirement_problem
from kedro_dab.errors import ConfigError, ProjectError, first_line, read_text
from kedro_dab.registry import NodeInfo, persisted_families, registry_nodes
from kedro_dab.shapes import check_catalog_shape, describe_load_failure

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


class ProjectModel(msgspec.Struct, frozen=True, dict=True):
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
    """Datasets the catalog persists for this env. Others (not parameters) live in memory.
    A transcoded dataset (`df@spark` + `df@pandas`) is one dataset, `df`, persisted only when
    every `@` form the nodes use is persisted: one in-memory form means the data of one
    `kedro run` never reaches a file another task could read."""
    run_options: frozenset[str]
    dab_config: Mapping[str, Any] = msgspec.field(default_factory=dict)
    dab_files: tuple[Path, ...] = ()
    requirements: Mapping[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    """Pipeline name -> lines of `src/<package>/pipelines/<name>/requirements.txt`."""
    dependencies: tuple[str, ...] = ()
    """`[project].dependencies`: what running from source needs instead of the wheel."""
    parameters: Mapping[str, Any] = msgspec.field(default_factory=dict)
    """The env's parameters, read only when `dab.yml` declares serving endpoints."""
    unread_dab_files: tuple[Path, ...] = ()
    """dab files in `conf/local`, which no env but `local` reads (and tasks never run with it)."""
    node_variants: Mapping[str, frozenset[str]] = msgspec.field(default_factory=dict)
    """Node name -> the pipelines holding a node of that name that differs from `nodes`' one
    (Kedro refuses to run two such nodes together; kedro-dab tells nodes apart by name)."""
    catalog: Mapping[str, Any] = msgspec.field(default_factory=dict)
    """The env's catalog configuration as read, so later checks need not read it again."""

    @functools.cached_property
    def pipeline_sets(self) -> dict[str, frozenset[str]]:
        """Pipeline name -> its node names as a set, for membership tests."""
        return {name: frozenset(nodes) for name, nodes in self.pipelines.items()}

    def is_memory(self, dataset: str) -> bool:
        """True when the dataset exists only in the memory of the process that makes it."""
        return dataset not in self.persisted and not compat.is_parameter(dataset)


def read_project(project_path: Path | str, env: str) -> ProjectModel:
    """Read the project at `project_path` for the Kedro `env` the Databricks tasks will use."""
    path = Path(project_path).resolve()
    metadata = compat.bootstrap(path)
    pyproject = _read_pyproject(path)
    distribution, script = _wheel_entry(pyproject, metadata.package_name, path)
    conf_dir = kedro_config.conf_source_dir(path)
    _check_env_folder(conf_dir, env, path)

    registered = compat.load_pipelines(path)
    with collector_paused():
        nodes, order, catalog_names, variants = registry_nodes(registered)
        loader = kedro_config.config_loader(path, env)
        catalog = _load(loader, "catalog", env, path, fast=True)
        check_catalog_shape(catalog, f"the catalog of env '{env}'")
        _refuse_unshipped(loader, env, path, conf_dir)
        persisted = persisted_families(
            kedro_config.persisted_datasets(catalog, catalog_names, metadata.package_name),
            catalog_names,
        )
        dab_raw = _load(loader, "dab", env, path)
        dab_files = tuple(kedro_config.config_files(loader, "dab", env))
        unread = () if env == "local" else kedro_config.config_layers(loader, "dab", "local")[-1]
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
        dependencies=_dependencies(pyproject, path),
        parameters=parameters,
        catalog=catalog,
        node_variants={name: frozenset(where) for name, where in variants.items()},
        unread_dab_files=tuple(unread),
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
    scripts = project.get("scripts") or {}
    if not isinstance(scripts, Mapping):
        raise ProjectError(
            f"{path / 'pyproject.toml'}: [project.scripts] must be a table of script names and "
            f'"module:function" texts'
        )
    target = f"{package}.__main__:main"
    matches = sorted(
        name
        for name, ref in scripts.items()
        if isinstance(ref, str) and ref.replace(" ", "") == target
    )
    if not matches:
        raise ProjectError(
            f"{path / 'pyproject.toml'}: no [project.scripts] entry runs {target}; "
            f'add `{project_script_name(package)} = "{target}"` under [project.scripts]'
        )
    return str(distribution), matches[0]


def _dependencies(pyproject: Mapping[str, Any], path: Path) -> tuple[str, ...]:
    """`[project].dependencies`, which must be a list of requirement texts."""
    given = (pyproject.get("project") or {}).get("dependencies") or []
    if not isinstance(given, list) or not all(isinstance(line, str) for line in given):
        raise ProjectError(
            f"{path / 'pyproject.toml'}: [project] dependencies must be a list of requirement "
            'texts, e.g. dependencies = ["kedro~=1.0"]'
        )
    return tuple(given)


def _refuse_unshipped(loader: Any, env: str, root: Path, conf_dir: Path) -> None:
    """A catalog or parameters file Kedro reads here but that never ships would make the plan
    (and the local run) differ from what the tasks find on Databricks: refuse it. So is a
    file the project's own credentials patterns name that would ship: it holds secrets."""
    from kedro_dab.bundle.layout import shipped_conf_files

    shipped = set(shipped_conf_files(conf_dir, root))
    for key in ("catalog", "parameters"):
        for file in kedro_config.config_files(loader, key, env):
            if _conf_relative(file, conf_dir) in shipped:
                continue
            raise ConfigError(
                f"{_shown(file, root)}: Kedro reads this {key} file for env '{env}', but it "
                "never ships to Databricks (credentials, .env files, symbolic links and what "
                "git's ignore files exclude never do), so the tasks there would run without "
                "it; stop ignoring it (a link: copy the file it points to), or move what it "
                "holds into a shipped file"
            )
    refuse_shipped_credentials(loader, root, conf_dir, shipped)


def refuse_shipped_credentials(
    loader: Any, root: Path, conf_dir: Path, shipped: set[Path] | None = None
) -> None:
    """Refuse a file of any env that the project's own credentials patterns name (in the
    config loader's `config_patterns`) but that would ship: it holds secrets."""
    from kedro_dab.bundle.layout import shipped_conf_files

    if shipped is None:
        shipped = set(shipped_conf_files(conf_dir, root))
    folders = conf_dir.iterdir() if conf_dir.is_dir() else ()
    envs = sorted(p.name for p in folders if p.is_dir() and p.name != "local")
    for other in envs:
        for file in kedro_config.config_files(loader, "credentials", other):
            if _conf_relative(file, conf_dir) in shipped:
                raise ConfigError(
                    f"{_shown(file, root)}: Kedro loads this file as credentials (the "
                    "'credentials' config_patterns of settings.py), but it would ship to "
                    "Databricks, where only files named *credentials* are kept back; name it "
                    "credentials*.yml or move it to conf/local"
                )


def _conf_relative(file: Path, conf_dir: Path) -> Path:
    try:
        return file.relative_to(conf_dir)
    except ValueError:
        return file.absolute().relative_to(conf_dir.absolute())


def _shown(file: Path, root: Path) -> str:
    try:
        return file.relative_to(root).as_posix()
    except ValueError:
        return file.as_posix()


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
            return kedro_config.catalog_config(loader, env)
        return kedro_config.load_config_key(loader, key)
    except ConfigError:
        raise
    except Exception as exc:  # the loader raises parser, OmegaConf and value errors
        located = _bad_file(loader, key, env, path)
        if located:
            raise ConfigError(located) from exc
        message = first_line(exc).replace(str(path) + "/", "")
        files = kedro_config.config_files(loader, key, env)
        explained = describe_load_failure(key, files, path, message)
        if explained:
            raise ConfigError(explained) from exc
        raise ConfigError(
            f"cannot read the '{key}' configuration for env '{env}': {message}"
        ) from exc


def _bad_file(loader: Any, key: str, env: str, root: Path) -> str | None:
    """`<file>: <problem> at line N` for the first config file of `key` that does not parse."""
    from omegaconf import OmegaConf

    for file in kedro_config.config_files(loader, key, env):
        try:
            OmegaConf.load(file)
        except OSError as exc:
            shown = file.relative_to(root).as_posix()
            return f"{shown}: cannot be read ({exc.strerror or first_line(exc)}); make it readable"
        except Exception as exc:  # yaml's MarkedYAMLError and its subclasses
            problem = getattr(exc, "problem", None) or first_line(exc)
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            twice = problem.startswith("found duplicate key")
            fix = "keep one of them" if twice else "fix the YAML"
            return f"{file.relative_to(root).as_posix()}: {problem}{where}; {fix}"
    return None


def unshipped_credentials(
    project_path: Path, env: str, catalog: Mapping[str, Any] | None = None
) -> list[str]:
    """One problem per catalog entry of `env` whose `credentials` key is defined only in conf
    that never ships (`conf/local`, credentials files): on Databricks its tasks would fail
    with "Unable to find credentials". Each names the dataset, the key and the ways out.
    `catalog` is the env's catalog configuration when it was read already."""
    import yaml

    from kedro_dab.bundle.layout import shipped_conf_files

    path = Path(project_path).resolve()
    conf_dir = kedro_config.conf_source_dir(path)
    loader = kedro_config.config_loader(path, env)
    if catalog is None:
        catalog = _load(loader, "catalog", env, path, fast=True)
    shipped = {conf_dir / rel for rel in shipped_conf_files(conf_dir, path)}
    files = [*kedro_config.config_files(loader, "credentials", env)]
    files += kedro_config.config_layers(
        kedro_config.config_loader(path, "local"), "credentials", "local"
    )[-1]
    available: set[str] = set()
    private: dict[str, Path] = {}
    for file in dict.fromkeys(files):
        try:
            loaded = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue  # what Kedro cannot read either is no one's credentials
        for key in loaded if isinstance(loaded, dict) else {}:
            if file in shipped:
                available.add(str(key))
            else:
                private.setdefault(str(key), file)
    problems = []
    for name, entry in sorted(catalog.items()):
        for at, key in _credentials_keys(entry):
            if key not in private or key in available:
                continue
            where = private[key].relative_to(path).as_posix()
            nested = f"{at}, " if at != "credentials" else ""
            problems.append(
                f"catalog entry '{name}' ({nested}env '{env}') uses credentials '{key}', "
                f"defined only in {where}, which never ships, so its tasks fail on Databricks; "
                "provide them "
                "there without a file: inline them in the entry as ${oc.env:NAME} (register "
                "the oc.env resolver in settings.py CONFIG_LOADER_ARGS custom_resolvers and set "
                "NAME from {{secrets/<scope>/<key>}} in the cluster's spark_env_vars), or add "
                "them in a project hook from Databricks secrets"
            )
    return problems


def _credentials_keys(entry: Any, at: str = "") -> list[tuple[str, str]]:
    """(dotted path, name) of each `credentials` key in a catalog entry, at any depth of its
    mappings, as Kedro resolves them (a `PartitionedDataset`'s inner `dataset` among them)."""
    found = []
    if isinstance(entry, Mapping):
        for key, value in entry.items():
            path = f"{at}.{key}" if at else str(key)
            if key == "credentials" and isinstance(value, str):
                found.append((path, value))
            else:
                found += _credentials_keys(value, path)
    return found


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
        for number, raw in enumerate(
            read_text(file, package_dir.parent.parent).splitlines(), start=1
        ):
            line = raw.split(" #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            problem = requirement_problem(line)
            if problem:
                rel = file.relative_to(package_dir.parent.parent).as_posix()
                raise ConfigError(f"{rel}:{number}: {problem}")
            lines.append(line)
        out[name] = tuple(lines)
    return out
