"""The `dab.yml` schema: strict, documented, typed settings.

The raw mapping comes from the project's own config loader (base merged with the env); this
module turns it into frozen `msgspec` structs, or a `ConfigError` that names the file and key
path (worded by `config_errors`). It holds the whole file (`DabConfig`), its jobs, targets and
`boundaries`, and the checks across entries (compute references, key names, requirement
lines); the grouping rules, compute profiles and task settings, serving endpoints and the
job-level Jobs API settings are in `config_grouping`, `config_compute`, `config_serving` and
`config_jobs`. Parsing is cheap enough for `plan`: no schema is built at import time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, field

from kedro_dab.config_compute import (
    BUILTIN_COMPUTE,
    SERVERLESS,
    Compute,
    ServerlessCompute,
    TaskSettings,
)
from kedro_dab.config_grouping import DEFAULT_GROUPING, Rule
from kedro_dab.config_jobs import (
    EmailNotifications,
    Health,
    JobParameter,
    Permission,
    RunAs,
    Schedule,
    Strict,
    Trigger,
    WebhookNotifications,
    parameter_text,
)
from kedro_dab.config_serving import ENDPOINT_NAME_PATTERN, ServingEndpoint
from kedro_dab.errors import ConfigError, suggest
from kedro_dab.limits import KEY_PATTERN, RESOURCE_KEY_PATTERN

Boundaries = Literal["merge", "persist", "refuse"]
"""What happens to an in-memory dataset that one task writes and another reads: `merge` the
two tasks (and all between them), `persist` it per run under `boundaries_root`, or `refuse`."""


def _check_alias(boundaries: Boundaries | None, merge_memory: bool | None) -> None:
    if boundaries is not None and merge_memory is not None:
        alias = "merge" if merge_memory else "refuse"
        if alias != boundaries:
            raise ValueError(
                f"merge_memory: {str(merge_memory).lower()} means boundaries: {alias}, which "
                f"contradicts boundaries: {boundaries}; drop merge_memory (boundaries replaces it)"
            )


def _mode(boundaries: Boundaries | None, merge_memory: bool | None) -> Boundaries | None:
    if boundaries is not None:
        return boundaries
    if merge_memory is not None:
        return "merge" if merge_memory else "refuse"
    return None


# --- jobs ---------------------------------------------------------------------------------------


class JobConfig(Strict, kw_only=True, frozen=True):
    """One Databricks job: which pipelines it runs and how its nodes are grouped."""

    name: str | None = None
    pipelines: tuple[str, ...] = ("__default__",)
    grouping: tuple[Rule, ...] | None = None
    merge_memory: bool | None = None
    """Alias of `boundaries`: true is `merge`, false is `refuse`."""
    boundaries: Boundaries | None = None
    """What to do with in-memory datasets between this job's tasks; the global one by default."""
    default_compute: str | None = None
    parameters: tuple[JobParameter, ...] = ()
    schedule: Schedule | None = None
    trigger: Trigger | None = None
    tags: dict[str, str] = field(default_factory=dict)
    max_concurrent_runs: Annotated[int, Meta(ge=1)] | None = None
    timeout_seconds: Annotated[int, Meta(ge=0)] | None = None
    email_notifications: EmailNotifications | None = None
    webhook_notifications: WebhookNotifications | None = None
    health: Health | None = None
    run_as: RunAs | None = None
    permissions: tuple[Permission, ...] = ()

    def __post_init__(self) -> None:
        if not self.pipelines:
            raise ValueError("'pipelines' must name at least one pipeline")
        if self.schedule is not None and self.trigger is not None:
            raise ValueError("a job takes a schedule or a trigger, not both")
        names = [p.name for p in self.parameters]
        if len(set(names)) != len(names):
            raise ValueError("job parameter names must be unique")
        _check_alias(self.boundaries, self.merge_memory)

    def boundary_mode(self, default: Boundaries) -> Boundaries:
        """This job's `boundaries`, from `boundaries`, its alias `merge_memory`, or `default`."""
        return _mode(self.boundaries, self.merge_memory) or default

    def api_settings(self) -> dict[str, Any]:
        """The job-level Jobs API settings these options stand for (name and tasks aside)."""
        out: dict[str, Any] = {}
        if self.tags:
            out["tags"] = dict(sorted(self.tags.items()))
        for key in (
            "schedule",
            "trigger",
            "email_notifications",
            "webhook_notifications",
            "health",
            "run_as",
        ):
            value = getattr(self, key)
            if value is not None:
                out[key] = plain(value, compact=True)
        for key in ("max_concurrent_runs", "timeout_seconds"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.parameters:
            out["parameters"] = [
                {"name": p.name, "default": parameter_text(p.default)} for p in self.parameters
            ]
        if self.permissions:
            out["permissions"] = [plain(p, compact=True) for p in self.permissions]
        return out


class TargetSettings(Strict, kw_only=True, frozen=True):
    """How the jobs differ on one bundle target."""

    compute: str | None = None
    """Every task of the target uses this profile (e.g. all of dev on one existing cluster)."""
    from_source: bool = False
    """Tasks run the synced source through run_on_databricks.py (`kedro dab init --vscode`)
    instead of the wheel, so iterating needs no wheel build."""
    boundaries_root: Annotated[str, Meta(min_length=1)] | None = None
    """Where persisted boundary datasets go on this target (overrides `boundaries_root`)."""


class DabConfig(Strict, kw_only=True, frozen=True):
    """All of `dab.yml`."""

    grouping: tuple[Rule, ...] = DEFAULT_GROUPING
    merge_memory: bool | None = None
    """Alias of `boundaries` (kept for existing files): true is `merge`, false is `refuse`."""
    boundaries: Boundaries | None = None
    """`merge` (the default), `persist` or `refuse`; a job may set its own."""
    boundaries_root: Annotated[str, Meta(min_length=1)] | None = None
    """Where persisted boundary datasets go: a Unity Catalog volume path on Databricks
    (`/Volumes/<catalog>/<schema>/<volume>/<folder>`); each run writes under
    `<root>/<job>/<run id>/`."""
    boundaries_retention_days: Annotated[float, Meta(gt=0)] = 7
    """A successful run removes its own boundary data, and that of runs older than this that
    failed and were not repaired; keep it longer than a run plus its repair window."""
    jobs: dict[str, JobConfig] = field(default_factory=dict)
    compute: dict[str, Compute] = field(default_factory=dict)
    default_compute: str = SERVERLESS
    tasks: tuple[TaskSettings, ...] = ()
    targets: dict[str, TargetSettings] = field(default_factory=dict)
    """Per bundle target: one compute profile for all tasks, or running from source."""
    serving: dict[str, ServingEndpoint] = field(default_factory=dict)
    """Named HTTP endpoints (`kedro dab serve`, Databricks Apps)."""

    def __post_init__(self) -> None:
        _check_alias(self.boundaries, self.merge_memory)

    @property
    def boundary_mode(self) -> Boundaries:
        """The global `boundaries`, from `boundaries`, its alias `merge_memory`, or `merge`."""
        return _mode(self.boundaries, self.merge_memory) or "merge"

    def compute_profiles(self) -> dict[str, Compute]:
        """User profiles plus the built-in `serverless` one (which a user may redefine)."""
        return {**BUILTIN_COMPUTE, **self.compute}


# --- parsing ------------------------------------------------------------------------------------


def parse_config(
    raw: Mapping[str, Any] | None, files: Sequence[Path] = (), root: Path | None = None
) -> DabConfig:
    """Validate the merged `dab.yml` mapping. Errors name the file and key path they concern."""
    from kedro_dab import config_errors

    data = dict(raw or {})
    leak = config_errors.find_literal_secret(data)
    if leak:
        raise ConfigError(config_errors.literal_secret_message(leak, files, root))
    try:
        config = msgspec.convert(data, DabConfig, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(config_errors.describe(exc, data, DabConfig, files, root)) from None
    where = config_errors.display(files, root)
    _check_references(config, where)
    _check_requirements(config, where)
    return config


def plain(value: Any, compact: bool = False) -> Any:
    """Settings as plain data (mappings, lists, scalars), keys in declaration order; with
    `compact`, unset keys and empty lists are left out, as the Jobs API writes them."""

    def walk(item: Any) -> Any:
        if isinstance(item, dict):
            return {k: walk(v) for k, v in item.items() if not (compact and v in (None, (), []))}
        if isinstance(item, (list, tuple)):
            return [walk(v) for v in item]
        return item

    return walk(msgspec.to_builtins(value))


def requirement_problem(line: str) -> str | None:
    """Why one requirement line cannot be a Databricks library, or None. Databricks installs
    each entry as a package, so pip options (`--index-url ...`, `-e .`, `-r file`) are refused,
    in `dab.yml` exactly as in a pipeline's `requirements.txt`."""
    if line.strip().startswith("-"):
        return (
            f"'{line.strip()}' is a pip option; list plain requirements only "
            "(Databricks installs each line as a package)"
        )
    return None


def _check_requirements(config: DabConfig, where: str) -> None:
    lists = [
        (f"tasks[{i}].requirements", entry.requirements) for i, entry in enumerate(config.tasks)
    ]
    lists += [
        (f"compute.{name}.dependencies", profile.dependencies)
        for name, profile in config.compute.items()
        if isinstance(profile, ServerlessCompute)
    ]
    for path, lines in lists:
        for index, line in enumerate(lines or ()):
            problem = requirement_problem(line)
            if problem:
                raise ConfigError(f"{where}: {path}[{index}]: {problem}")


def _check_references(config: DabConfig, where: str) -> None:
    profiles = config.compute_profiles()
    refs: list[tuple[str, str | None]] = [("default_compute", config.default_compute)]
    refs += [
        (f"jobs.{key}.default_compute", job.default_compute) for key, job in config.jobs.items()
    ]
    refs += [(f"tasks[{i}].compute", entry.compute) for i, entry in enumerate(config.tasks)]
    refs += [(f"targets.{name}.compute", t.compute) for name, t in config.targets.items()]
    for path, name in refs:
        if name is not None and name not in profiles:
            raise ConfigError(
                f"{where}: {path}: unknown compute profile '{name}'"
                f"{suggest(name, sorted(profiles), 'defined profiles')}; define it under 'compute:'"
            )
    for name in config.compute:
        if not KEY_PATTERN.match(name):
            raise ConfigError(
                f"{where}: compute.{name}: a profile name may hold only letters, digits, "
                "'_' and '-' (it becomes a cluster or environment key)"
            )
    for key in config.serving:
        if not re.match(ENDPOINT_NAME_PATTERN, key):
            raise ConfigError(
                f"{where}: serving.{key}: an endpoint name may hold only lower-case letters, "
                "digits, '_' and '-', must start with a letter and be at most 30 characters "
                "(it becomes a URL path and a Databricks app name)"
            )
    for key in config.jobs:
        if not RESOURCE_KEY_PATTERN.match(key):
            raise ConfigError(
                f"{where}: jobs.{key}: a job key may hold only letters, digits, '_' and '-' "
                "and must start with a letter or '_'"
            )
