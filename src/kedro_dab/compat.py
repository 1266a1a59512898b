"""Kedro 0.19 and 1.x differences, and nothing else.

Where Kedro keeps a piece kedro-dab reuses (bootstrapping, the pipeline registry, transcoding,
parameters, dataset-factory precedence, the run command's options) differs between releases;
every other module reaches those pieces through these functions, so a new Kedro release
changes this file only. Reading configuration files is `kedro_config`'s.
"""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kedro_dab.errors import ConfigError, ProjectError, first_line

_IMPORT_FAILURE = "An error occurred while importing the '"


def kedro_version() -> str:
    """The version of the Kedro that runs this process (the project's own)."""
    import kedro

    return str(kedro.__version__)


def bootstrap(project_path: Path) -> Any:
    """Bootstrap the project, unless Kedro's CLI already did; returns `ProjectMetadata`."""
    from kedro.framework import project as kedro_project
    from kedro.framework.startup import _get_project_metadata, bootstrap_project

    try:
        metadata = _get_project_metadata(project_path)
        if metadata.package_name == kedro_project.PACKAGE_NAME and str(
            (project_path / metadata.source_dir).resolve()
        ) in {str(Path(p).resolve()) for p in sys.path if p}:
            return metadata
        return bootstrap_project(project_path)
    except Exception as exc:  # Kedro raises several types for a broken pyproject.toml
        raise ProjectError(f"{project_path / 'pyproject.toml'}: {first_line(exc)}") from exc


def load_pipelines(root: Path | None = None) -> dict[str, Any]:
    """Every registered pipeline. A pipeline module that fails to import is an error naming the
    module, even where the project's `find_pipelines()` would only warn and skip it; so is a
    registry without `register_pipelines`, or one that returns anything but a mapping of
    pipeline names to `Pipeline`s (the registry's file shown relative to `root`)."""
    from kedro.framework.project import pipelines
    from kedro.pipeline import Pipeline

    registry = _registry_module(pipelines)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if registry is not None and not hasattr(registry, "register_pipelines"):
                raise ProjectError(
                    f"{_shown(registry, root)}: defines no register_pipelines(); define it to "
                    "return a dict of pipeline name -> Pipeline (`kedro new` writes one)"
                )
            loaded = dict(pipelines.items())
        except ImportError as exc:
            raise ProjectError(_import_failure(str(exc), exc.__cause__)) from exc
        except (TypeError, AttributeError, ValueError) as exc:
            returned = getattr(pipelines, "_content", None)
            if getattr(pipelines, "_is_data_loaded", False) and not isinstance(returned, Mapping):
                raise ProjectError(
                    f"{_shown(registry, root)}: register_pipelines() returned "
                    f"{type(returned).__name__}, not a dict of pipeline name -> Pipeline"
                    + ("; did it forget `return pipelines`?" if returned is None else "")
                ) from exc
            raise
    for warning in caught:
        text = str(warning.message)
        if text.startswith(_IMPORT_FAILURE):
            raise ProjectError(_import_failure(text, None))
    for name, value in loaded.items():
        if not isinstance(name, str) or not isinstance(value, Pipeline):
            what = (
                f"key {name!r} is {type(name).__name__}, not text"
                if not isinstance(name, str)
                else f"pipeline '{name}' is a {type(value).__name__}, not a Pipeline"
            )
            raise ProjectError(
                f"{_shown(registry, root)}: register_pipelines() returned a dict whose {what}; "
                "return pipeline names mapped to Pipeline objects"
            )
    return loaded


def _registry_module(pipelines: Any) -> Any:
    """The project's pipeline registry module, imported, or None when it cannot be told (an
    import failure is `load_pipelines`' to report, through Kedro)."""
    import importlib

    name = getattr(pipelines, "_pipelines_module", None)
    if not isinstance(name, str):
        return None
    if getattr(pipelines, "_is_data_loaded", False):
        return sys.modules.get(name)
    try:
        return importlib.import_module(name)
    except Exception:
        return None


def _shown(module: Any, root: Path | None) -> str:
    file = getattr(module, "__file__", None)
    if not file:
        return "the pipeline registry"
    path = Path(file).resolve()
    if root is not None and path.is_relative_to(root.resolve()):
        return path.relative_to(root.resolve()).as_posix()
    return str(path)


def _import_failure(text: str, cause: BaseException | None) -> str:
    module = (
        text[len(_IMPORT_FAILURE) :].split("'", 1)[0] if text.startswith(_IMPORT_FAILURE) else ""
    )
    if not module:
        return f"the pipeline registry failed to load: {first_line(text)}"
    reason = f": {type(cause).__name__}: {first_line(cause)}" if cause else ""
    if not reason:
        detail = [line for line in text.splitlines() if line.strip()]
        tail = detail[-1].strip() if len(detail) > 1 else ""
        reason = f": {tail}" if tail else ""
    return (
        f"pipeline module '{module}' could not be imported{reason}; "
        "fix it (or remove it) so that no pipeline is silently left out of the job"
    )


def node_facts(
    node: Any,
) -> tuple[str, str | None, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(name, namespace, sorted tags, inputs, outputs) of a Kedro node, on either Kedro line."""
    return (
        node.name,
        node.namespace or None,
        tuple(sorted(node.tags)),
        tuple(node.inputs),
        tuple(node.outputs),
    )


def run_params(text: str) -> dict[str, Any]:
    """`kedro run --params TEXT` as Kedro's CLI reads it: split at commas, dotted keys nested,
    values typed as OmegaConf's dot-list types them. `TEXT` must be well formed."""
    from kedro.framework.cli.utils import _split_params

    no_click_context: Any = None  # Kedro asks it only to report a malformed item
    return dict(_split_params(no_click_context, None, text))


def strip_transcoding(dataset: str) -> str:
    """The dataset Kedro links nodes by: `df@spark` and `df@pandas` are both `df`."""
    return str(_strip_transcoding()(dataset))


def is_parameter(dataset: str) -> bool:
    """Kedro's own test for parameters (`parameters`, `params:*`): every task loads them from
    configuration, so they never cross tasks."""
    return bool(_is_parameter()(dataset))


def sort_dataset_patterns(patterns: Mapping[str, Any]) -> dict[str, Any]:
    """Dataset factory patterns in Kedro's own order of precedence (most specific first, the
    catch-all last); more than one catch-all is an error, as `kedro run` makes it."""
    from kedro.io import DatasetError

    sort = _kedro_own(
        "_sort_patterns",
        "kedro.io.catalog_config_resolver:CatalogConfigResolver",
        "kedro.io.data_catalog:DataCatalog",
    )
    try:
        return dict(sort(dict(patterns)))
    except DatasetError as exc:
        raise ConfigError(f"the catalog: {first_line(exc)}") from exc


@functools.cache
def _strip_transcoding() -> Any:
    return _kedro_own(
        "_strip_transcoding",
        "kedro.pipeline.transcoding",
        "kedro.pipeline._transcode",
        "kedro.pipeline.pipeline",
    )


@functools.cache
def _is_parameter() -> Any:
    return _kedro_own(
        "is_parameter",
        "kedro.io.core",
        "kedro.pipeline.pipeline",
        "kedro.pipeline.modular_pipeline",
    )


@functools.cache
def _kedro_own(name: str, *places: str) -> Any:
    """Kedro's own `name` from the first of `places` (`module` or `module:Class`) that has it
    on this Kedro release, under that name or its private `_name`."""
    import importlib

    for place in places:
        module, _, owner = place.partition(":")
        try:
            found: Any = importlib.import_module(module)
        except ImportError:
            continue
        found = getattr(found, owner, None) if owner else found
        for attribute in (name, f"_{name}"):
            if hasattr(found, attribute):
                return getattr(found, attribute)
    raise ProjectError(f"this Kedro release has no {name}; please report this")


def run_options(package_name: str) -> frozenset[str]:
    """Long option names (`--nodes`, `--pipelines`, ...) that the project's `run` accepts.

    Read from the run command itself, so a project with its own `cli.py` is honoured."""
    command = run_command(package_name)
    names: set[str] = set()
    for param in getattr(command, "params", ()):
        names.update(opt for opt in getattr(param, "opts", ()) if opt.startswith("--"))
    return frozenset(names)


def run_command(package_name: str) -> Any:
    """Kedro's `find_run_command(package_name)`: the `run` a packaged project runs (its own
    `cli.py`'s, else a plugin's, else Kedro's). Inside the `kedro` CLI, without a `cli.py`, the
    project plugins that the CLI loaded at its start answer it, when at most one of them has a
    `run`; Kedro's function would scan every installed distribution's entry points again."""
    import importlib.util

    from kedro.framework.cli.utils import find_run_command

    plugins = _cli_project_plugins()
    if plugins is not None and importlib.util.find_spec(f"{package_name}.cli") is None:
        runs = [group.commands["run"] for group in plugins if "run" in group.commands]
        if not runs:
            from kedro.framework.cli.project import run

            return run
        if len(runs) == 1:
            return runs[0]
    return find_run_command(package_name)


def _cli_project_plugins() -> list[Any] | None:
    """The project command groups of plugins that the running `kedro` CLI loaded, in no
    particular order; None outside it."""
    import click

    context = click.get_current_context(silent=True)
    if context is None:
        return None
    from kedro.framework.cli.cli import KedroCLI, project_commands

    root = context.find_root().command
    if not isinstance(root, KedroCLI):
        return None
    collections = dict(getattr(root, "groups", ())).get("Project specific commands")
    if collections is None:
        return None
    groups = [
        group
        for collection in collections
        for group in getattr(collection, "sources", ())
        if group is not project_commands
    ]
    return groups if all(hasattr(group, "commands") for group in groups) else None
