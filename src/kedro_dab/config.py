"""The `dab.yml` schema: strict, documented, typed settings.

The raw mapping comes from the project's own config loader (base merged with the env); this
module turns it into frozen `msgspec` structs, or a `ConfigError` that names the file and key
path (worded by `config_errors`). Parsing is cheap enough for `plan`: no schema is built at
import time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, field

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
from kedro_dab.errors import ConfigError, suggest
from kedro_dab.limits import KEY_PATTERN, RESOURCE_KEY_PATTERN

# --- grouping rules ---------------------------------------------------------------------------


class _Rule(Strict, tag_field="by", frozen=True):
    @property
    def by(self) -> str:
        """The rule's kind, as `dab.yml` names it (`by: tag`)."""
        return str(self.__struct_config__.tag)


class TagRule(_Rule, tag="tag", kw_only=True, frozen=True):
    """Nodes tagged `<prefix><group>` (or one of `tags`) go to the task named after the group."""

    prefix: str | None = None
    tags: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if (self.prefix is None) == (self.tags is None):
            raise ValueError("a tag rule takes exactly one of 'prefix' or 'tags'")
        if self.prefix == "":
            raise ValueError("'prefix' must not be empty: every tag would name a task")


class NamespaceRule(_Rule, tag="namespace", kw_only=True, frozen=True):
    """Nodes go to the task named after their namespace, cut to `depth` levels."""

    depth: Annotated[int, Meta(ge=1)] = 1
    namespaces: tuple[str, ...] | None = None
    """Glob patterns; when given, only namespaces matching one of them are grouped."""


class PipelineRule(_Rule, tag="pipeline", kw_only=True, frozen=True):
    """All nodes of a registered pipeline go to one task named after the pipeline."""

    pipelines: tuple[str, ...] | None = None
    """Pipelines to group; by default each pipeline the job deploys."""


class NodeRule(_Rule, tag="node", kw_only=True, frozen=True):
    """One task per node (also what happens to nodes that no rule matches)."""


Rule = TagRule | NamespaceRule | PipelineRule | NodeRule

DEFAULT_GROUPING: tuple[Rule, ...] = (
    TagRule(prefix="task."),
    NamespaceRule(depth=1),
)


# --- compute ----------------------------------------------------------------------------------


class _Compute(Strict, tag_field="type", frozen=True):
    @property
    def type(self) -> str:
        """The profile's kind, as `dab.yml` names it (`type: serverless`)."""
        return str(self.__struct_config__.tag)


class ServerlessCompute(_Compute, tag="serverless", kw_only=True, frozen=True):
    """Serverless jobs compute: the task runs in a job environment holding the project wheel."""

    environment_version: str = "4"
    dependencies: tuple[str, ...] = ()
    """Extra pip requirements installed beside the project wheel."""
    performance_target: Literal["STANDARD", "PERFORMANCE_OPTIMIZED"] | None = None
    """Cost-efficient or fast start; Databricks sets it per job, so a job's serverless
    profiles must agree."""


class JobClusterCompute(_Compute, tag="job_cluster", kw_only=True, frozen=True):
    """A job cluster created for the run; tasks that share the profile share the cluster."""

    new_cluster: dict[str, Any]


class ExistingClusterCompute(_Compute, tag="existing_cluster", kw_only=True, frozen=True):
    """An all-purpose cluster that already exists (handy for development targets)."""

    cluster_id: Annotated[str, Meta(min_length=1)]


Compute = ServerlessCompute | JobClusterCompute | ExistingClusterCompute

SERVERLESS = "serverless"
BUILTIN_COMPUTE: dict[str, Compute] = {SERVERLESS: ServerlessCompute()}


# --- per-task settings ------------------------------------------------------------------------


class Selector(Strict, kw_only=True, frozen=True):
    """Which tasks a settings entry applies to. Every given condition must hold."""

    group: str | None = None
    """Glob on the task's group name."""
    tag: str | None = None
    """A tag that at least one of the task's nodes carries."""
    node: str | None = None
    """Glob that at least one of the task's node names matches."""
    job: str | None = None
    """Glob on the job key."""

    def __post_init__(self) -> None:
        if not any((self.group, self.tag, self.node, self.job)):
            raise ValueError("'match' needs at least one of group, tag, node, job")


class TaskSettings(Strict, kw_only=True, frozen=True):
    """Settings for the tasks a selector matches; later entries override earlier ones."""

    match: Selector
    compute: str | None = None
    max_retries: Annotated[int, Meta(ge=-1)] | None = None
    min_retry_interval_millis: Annotated[int, Meta(ge=0)] | None = None
    retry_on_timeout: bool | None = None
    timeout_seconds: Annotated[int, Meta(ge=0)] | None = None
    requirements: tuple[str, ...] | None = None
    """Extra pip requirements for the matched tasks, beside the project wheel."""


TASK_SETTING_NAMES = (
    "compute",
    "max_retries",
    "min_retry_interval_millis",
    "retry_on_timeout",
    "timeout_seconds",
    "requirements",
)


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


ENDPOINT_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,29}$"


class ModelServing(Strict, kw_only=True, frozen=True):
    """An endpoint on Databricks Model Serving: its exported MLflow model (`kedro dab
    export-model`) registered in Unity Catalog as `<catalog_name>.<schema_name>.<model_name>`,
    and, once a `version` of it is registered, a serving endpoint for that version."""

    catalog_name: Annotated[str, Meta(min_length=1)]
    schema_name: Annotated[str, Meta(min_length=1)]
    model_name: Annotated[str, Meta(min_length=1)] | None = None
    """Default: the endpoint name with '-' as '_'."""
    version: Annotated[int, Meta(ge=1)] | None = None
    """The registered model version to serve; without one, only the model is declared."""
    workload_size: Literal["Small", "Medium", "Large"] = "Small"
    scale_to_zero: bool = True


class ServingEndpoint(Strict, kw_only=True, frozen=True):
    """One serving endpoint: a registered pipeline answering HTTP requests. The request feeds
    `inputs` and may set `params`; `preload` datasets are loaded once at start-up."""

    pipeline: Annotated[str, Meta(min_length=1)]
    """The registered pipeline the endpoint runs."""
    description: str | None = None
    inputs: tuple[str, ...] = ()
    """Free inputs of the pipeline that each request feeds."""
    outputs: tuple[str, ...] | None = None
    """Datasets returned; default: the pipeline's free outputs."""
    params: tuple[str, ...] = ()
    """Parameter keys (dots for nested keys) a request may set; defaults and types come from
    the project's parameters."""
    preload: tuple[str, ...] | None = None
    """Catalog datasets loaded once at start-up; default: every other free input."""
    app: bool = False
    """Also deploy the endpoint as a Databricks App (`resources.apps.<name>` in the bundle)."""
    model_serving: ModelServing | None = None
    """Also declare it for Databricks Model Serving (`resources.registered_models` and
    `resources.model_serving_endpoints` in the bundle)."""

    def __post_init__(self) -> None:
        for key in ("inputs", "outputs", "params", "preload"):
            values = getattr(self, key) or ()
            if len(set(values)) != len(values):
                raise ValueError(f"'{key}' lists a name twice")


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
