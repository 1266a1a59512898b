"""The `dab.yml` schema: strict, documented, with errors that name the file and key path.

The raw mapping comes from the project's own config loader (base merged with the env);
this module only turns it into typed settings or a readable error.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from kedro_dab.errors import ConfigError
from kedro_dab.limits import KEY_PATTERN, RESOURCE_KEY_PATTERN
from kedro_dab.quartz import quartz_problem


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


# --- grouping rules ---------------------------------------------------------------------------


class TagRule(_Strict):
    """Nodes tagged `<prefix><group>` (or one of `tags`) go to the task named after the group."""

    by: Literal["tag"]
    prefix: str | None = None
    tags: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _one_selector(self) -> TagRule:
        if (self.prefix is None) == (self.tags is None):
            raise ValueError("a tag rule takes exactly one of 'prefix' or 'tags'")
        if self.prefix == "":
            raise ValueError("'prefix' must not be empty: every tag would name a task")
        return self


class NamespaceRule(_Strict):
    """Nodes go to the task named after their namespace, cut to `depth` levels."""

    by: Literal["namespace"]
    depth: int = Field(default=1, ge=1)
    namespaces: tuple[str, ...] | None = None
    """Glob patterns; when given, only namespaces matching one of them are grouped."""


class PipelineRule(_Strict):
    """All nodes of a registered pipeline go to one task named after the pipeline."""

    by: Literal["pipeline"]
    pipelines: tuple[str, ...] | None = None
    """Pipelines to group; by default each pipeline the job deploys."""


class NodeRule(_Strict):
    """One task per node (also what happens to nodes that no rule matches)."""

    by: Literal["node"]


Rule = Annotated[TagRule | NamespaceRule | PipelineRule | NodeRule, Field(discriminator="by")]

DEFAULT_GROUPING: tuple[Rule, ...] = (
    TagRule(by="tag", prefix="task."),
    NamespaceRule(by="namespace", depth=1),
)


# --- compute ----------------------------------------------------------------------------------


class ServerlessCompute(_Strict):
    """Serverless jobs compute: the task runs in a job environment holding the project wheel."""

    type: Literal["serverless"]
    environment_version: str = "4"
    dependencies: tuple[str, ...] = ()
    """Extra pip requirements installed beside the project wheel."""
    performance_target: Literal["STANDARD", "PERFORMANCE_OPTIMIZED"] | None = None
    """Cost-efficient or fast start; Databricks sets it per job, so a job's serverless
    profiles must agree."""


class JobClusterCompute(_Strict):
    """A job cluster created for the run; tasks that share the profile share the cluster."""

    type: Literal["job_cluster"]
    new_cluster: dict[str, Any]


class ExistingClusterCompute(_Strict):
    """An all-purpose cluster that already exists (handy for development targets)."""

    type: Literal["existing_cluster"]
    cluster_id: str = Field(min_length=1)


Compute = Annotated[
    ServerlessCompute | JobClusterCompute | ExistingClusterCompute, Field(discriminator="type")
]

SERVERLESS = "serverless"
BUILTIN_COMPUTE: dict[str, Compute] = {SERVERLESS: ServerlessCompute(type="serverless")}


# --- per-task settings ------------------------------------------------------------------------


class Selector(_Strict):
    """Which tasks a settings entry applies to. Every given condition must hold."""

    group: str | None = None
    """Glob on the task's group name."""
    tag: str | None = None
    """A tag that at least one of the task's nodes carries."""
    node: str | None = None
    """Glob that at least one of the task's node names matches."""
    job: str | None = None
    """Glob on the job key."""

    @model_validator(mode="after")
    def _not_empty(self) -> Selector:
        if not any((self.group, self.tag, self.node, self.job)):
            raise ValueError("'match' needs at least one of group, tag, node, job")
        return self


class TaskSettings(_Strict):
    """Settings for the tasks a selector matches; later entries override earlier ones."""

    match: Selector
    compute: str | None = None
    max_retries: int | None = Field(default=None, ge=-1)
    min_retry_interval_millis: int | None = Field(default=None, ge=0)
    retry_on_timeout: bool | None = None
    timeout_seconds: int | None = Field(default=None, ge=0)
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


class Schedule(_Strict):
    """A cron schedule (Quartz syntax)."""

    quartz_cron_expression: str = Field(min_length=1)
    timezone_id: str = "UTC"
    pause_status: Literal["PAUSED", "UNPAUSED"] | None = None

    @field_validator("quartz_cron_expression")
    @classmethod
    def _quartz(cls, value: str) -> str:
        problem = quartz_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class EmailNotifications(_Strict):
    """Addresses notified on job events."""

    on_start: tuple[str, ...] = ()
    on_success: tuple[str, ...] = ()
    on_failure: tuple[str, ...] = ()
    on_duration_warning_threshold_exceeded: tuple[str, ...] = ()
    no_alert_for_skipped_runs: bool | None = None


class PeriodicTrigger(_Strict):
    """Run every `interval` units."""

    interval: int = Field(ge=1)
    unit: Literal["HOURS", "DAYS", "WEEKS"]


class FileArrivalTrigger(_Strict):
    """Run when new files land under `url` (a Unity Catalog volume or external location)."""

    url: str = Field(min_length=1)
    min_time_between_triggers_seconds: int | None = Field(default=None, ge=0)
    wait_after_last_change_seconds: int | None = Field(default=None, ge=0)


class Trigger(_Strict):
    """A trigger other than a cron schedule: exactly one of `periodic` or `file_arrival`."""

    periodic: PeriodicTrigger | None = None
    file_arrival: FileArrivalTrigger | None = None
    pause_status: Literal["PAUSED", "UNPAUSED"] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Trigger:
        if (self.periodic is None) == (self.file_arrival is None):
            raise ValueError("a trigger takes exactly one of 'periodic' or 'file_arrival'")
        return self


class Webhook(_Strict):
    """A notification destination configured in the workspace, by id."""

    id: str = Field(min_length=1)


class WebhookNotifications(_Strict):
    """Notification destinations called on job events."""

    on_start: tuple[Webhook, ...] = ()
    on_success: tuple[Webhook, ...] = ()
    on_failure: tuple[Webhook, ...] = ()
    on_duration_warning_threshold_exceeded: tuple[Webhook, ...] = ()


class HealthRule(_Strict):
    """Warn when a run metric passes a threshold."""

    metric: Literal[
        "RUN_DURATION_SECONDS",
        "STREAMING_BACKLOG_BYTES",
        "STREAMING_BACKLOG_RECORDS",
        "STREAMING_BACKLOG_SECONDS",
        "STREAMING_BACKLOG_FILES",
    ]
    op: Literal["GREATER_THAN"] = "GREATER_THAN"
    value: int = Field(ge=0)


class Health(_Strict):
    """Health rules of a job."""

    rules: tuple[HealthRule, ...] = Field(min_length=1)


class Principal(_Strict):
    """Exactly one of a user, a group or a service principal."""

    user_name: str | None = None
    group_name: str | None = None
    service_principal_name: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Principal:
        given = [
            n for n in ("user_name", "group_name", "service_principal_name") if getattr(self, n)
        ]
        if len(given) != 1:
            raise ValueError("give exactly one of user_name, group_name, service_principal_name")
        return self


class RunAs(_Strict):
    """Who the job runs as: a user or a service principal."""

    user_name: str | None = None
    service_principal_name: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> RunAs:
        if (self.user_name is None) == (self.service_principal_name is None):
            raise ValueError("run_as takes exactly one of user_name or service_principal_name")
        return self


class Permission(Principal):
    """A permission on the job."""

    level: Literal["CAN_VIEW", "CAN_MANAGE_RUN", "CAN_MANAGE", "IS_OWNER"]


class JobParameter(_Strict):
    """A job parameter, passed to every task as a Kedro runtime parameter (`--params`) through
    Databricks' `{{job.parameters.<name>}}`, so a run can change it without a redeploy."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    default: str | int | float | bool
    kedro_param: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$")
    """The Kedro parameter to set (dots for nested keys); the parameter's name by default."""


class JobConfig(_Strict):
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
    tags: dict[str, str] = Field(default_factory=dict)
    max_concurrent_runs: int | None = Field(default=None, ge=1)
    timeout_seconds: int | None = Field(default=None, ge=0)
    email_notifications: EmailNotifications | None = None
    webhook_notifications: WebhookNotifications | None = None
    health: Health | None = None
    run_as: RunAs | None = None
    permissions: tuple[Permission, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> JobConfig:
        if not self.pipelines:
            raise ValueError("'pipelines' must name at least one pipeline")
        if self.schedule is not None and self.trigger is not None:
            raise ValueError("a job takes a schedule or a trigger, not both")
        names = [p.name for p in self.parameters]
        if len(set(names)) != len(names):
            raise ValueError("job parameter names must be unique")
        _check_alias(self.boundaries, self.merge_memory)
        return self

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
                out[key] = _plain(value.model_dump(exclude_none=True))
        for key in ("max_concurrent_runs", "timeout_seconds"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.parameters:
            out["parameters"] = [
                {"name": p.name, "default": parameter_text(p.default)} for p in self.parameters
            ]
        if self.permissions:
            out["permissions"] = [_plain(p.model_dump(exclude_none=True)) for p in self.permissions]
        return out


def _plain(value: Any) -> Any:
    """Tuples to lists and empty lists dropped, as the Jobs API writes them."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v != ()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def parameter_text(value: str | int | float | bool) -> str:
    """A job parameter default as Databricks keeps it: text (`true`/`false` for booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class TargetSettings(_Strict):
    """How the jobs differ on one bundle target."""

    compute: str | None = None
    """Every task of the target uses this profile (e.g. all of dev on one existing cluster)."""
    from_source: bool = False
    """Tasks run the synced source through run_on_databricks.py (`kedro dab init --vscode`)
    instead of the wheel, so iterating needs no wheel build."""
    boundaries_root: str | None = Field(default=None, min_length=1)
    """Where persisted boundary datasets go on this target (overrides `boundaries_root`)."""


ENDPOINT_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,29}$"


class ModelServing(_Strict):
    """An endpoint on Databricks Model Serving: its exported MLflow model (`kedro dab
    export-model`) registered in Unity Catalog as `<catalog_name>.<schema_name>.<model_name>`,
    and, once a `version` of it is registered, a serving endpoint for that version."""

    catalog_name: str = Field(min_length=1)
    schema_name: str = Field(min_length=1)
    model_name: str | None = Field(default=None, min_length=1)
    """Default: the endpoint name with '-' as '_'."""
    version: int | None = Field(default=None, ge=1)
    """The registered model version to serve; without one, only the model is declared."""
    workload_size: Literal["Small", "Medium", "Large"] = "Small"
    scale_to_zero: bool = True


class ServingEndpoint(_Strict):
    """One serving endpoint: a registered pipeline answering HTTP requests. The request feeds
    `inputs` and may set `params`; `preload` datasets are loaded once at start-up."""

    pipeline: str = Field(min_length=1)
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

    @model_validator(mode="after")
    def _no_repeats(self) -> ServingEndpoint:
        for key in ("inputs", "outputs", "params", "preload"):
            values = getattr(self, key) or ()
            if len(set(values)) != len(values):
                raise ValueError(f"'{key}' lists a name twice")
        return self


class DabConfig(_Strict):
    """All of `dab.yml`."""

    grouping: tuple[Rule, ...] = DEFAULT_GROUPING
    merge_memory: bool | None = None
    """Alias of `boundaries` (kept for existing files): true is `merge`, false is `refuse`."""
    boundaries: Boundaries | None = None
    """`merge` (the default), `persist` or `refuse`; a job may set its own."""
    boundaries_root: str | None = Field(default=None, min_length=1)
    """Where persisted boundary datasets go: a Unity Catalog volume path on Databricks
    (`/Volumes/<catalog>/<schema>/<volume>/<folder>`); each run writes under
    `<root>/<job>/<run id>/`."""
    boundaries_retention_days: float = Field(default=7, gt=0)
    """A successful run removes its own boundary data, and that of runs older than this that
    failed and were not repaired; keep it longer than a run plus its repair window."""
    jobs: dict[str, JobConfig] = Field(default_factory=dict)
    compute: dict[str, Compute] = Field(default_factory=dict)
    default_compute: str = SERVERLESS
    tasks: tuple[TaskSettings, ...] = ()
    targets: dict[str, TargetSettings] = Field(default_factory=dict)
    """Per bundle target: one compute profile for all tasks, or running from source."""
    serving: dict[str, ServingEndpoint] = Field(default_factory=dict)
    """Named HTTP endpoints (`kedro dab serve`, Databricks Apps)."""

    @model_validator(mode="after")
    def _boundaries_alias(self) -> DabConfig:
        _check_alias(self.boundaries, self.merge_memory)
        return self

    @property
    def boundary_mode(self) -> Boundaries:
        """The global `boundaries`, from `boundaries`, its alias `merge_memory`, or `merge`."""
        return _mode(self.boundaries, self.merge_memory) or "merge"

    def compute_profiles(self) -> dict[str, Compute]:
        """User profiles plus the built-in `serverless` one (which a user may redefine)."""
        return {**BUILTIN_COMPUTE, **self.compute}


# --- parsing and errors ---------------------------------------------------------------------------


def parse_config(
    raw: Mapping[str, Any] | None, files: Sequence[Path] = (), root: Path | None = None
) -> DabConfig:
    """Validate the merged `dab.yml` mapping. Errors name the file and key path they concern."""
    leak = find_literal_secret(raw or {})
    if leak:
        path = _format_path(leak)
        where = _file_holding(leak, files, root) or _display(files, root)
        raise ConfigError(
            f"{where}: {path}: looks like a literal secret; never write secrets into dab.yml, "
            "reference them as {{secrets/<scope>/<key>}} (in spark_env_vars or spark_conf)"
        )
    try:
        config = DabConfig.model_validate(dict(raw or {}))
    except ValidationError as exc:
        raise ConfigError(_describe(exc, files, root)) from None
    _check_references(config, _display(files, root))
    _check_requirements(config, _display(files, root))
    return config


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
    refs = [("default_compute", config.default_compute)]
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


def _describe(exc: ValidationError, files: Sequence[Path], root: Path | None) -> str:
    error = _most_useful(exc.errors())
    loc, kinds = _clean_loc(error["loc"])
    path = _format_path(loc)
    where = _file_holding(loc, files, root) or _display(files, root)
    if error["type"] == "extra_forbidden":
        hint = suggest(str(loc[-1]), _valid_keys(loc[:-1], kinds))
        return f"{where}: {path}: unknown key{hint}"
    if error["type"] == "union_tag_invalid":
        expected = error.get("ctx", {}).get("expected_tags", "")
        given = error["input"].get("by" if "grouping" in loc else "type")
        return f"{where}: {path}: unknown kind {given!r}; use one of {expected}"
    if error["type"] == "union_tag_not_found":
        expected = "'by'" if "grouping" in loc else "'type'"
        return f"{where}: {path}: missing key {expected}"
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {path or '(top level)'}: {message}"


def _most_useful(errors: list[Any]) -> Any:
    for kind in ("extra_forbidden", "union_tag_invalid", "union_tag_not_found"):
        for error in errors:
            if error["type"] == kind:
                return error
    return errors[0]


def _clean_loc(loc: Sequence[object]) -> tuple[list[object], dict[int, str]]:
    """Drop the discriminator values pydantic puts in error locations of tagged unions
    (`grouping[0].tag.prefx`), remembering them by position to look up the valid keys."""
    out: list[object] = []
    kinds: dict[int, str] = {}
    parts = list(loc)
    i = 0
    while i < len(parts):
        part = parts[i]
        out.append(part)
        in_rules = isinstance(part, int) and i > 0 and parts[i - 1] == "grouping"
        in_profiles = len(out) == 2 and out[0] == "compute"
        if (in_rules or in_profiles) and i + 1 < len(parts) and isinstance(parts[i + 1], str):
            following = parts[i + 1]
            if following in _RULE_MODELS or following in _COMPUTE_MODELS:
                kinds[len(out) - 1] = following
                i += 1
        i += 1
    return out, kinds


def _format_path(loc: Sequence[object]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_MODEL_AT: dict[str, type[BaseModel]] = {
    "": DabConfig,
    "jobs.*": JobConfig,
    "jobs.*.schedule": Schedule,
    "jobs.*.email_notifications": EmailNotifications,
    "jobs.*.trigger": Trigger,
    "jobs.*.trigger.periodic": PeriodicTrigger,
    "jobs.*.trigger.file_arrival": FileArrivalTrigger,
    "jobs.*.webhook_notifications": WebhookNotifications,
    "jobs.*.health": Health,
    "jobs.*.health.rules[]": HealthRule,
    "jobs.*.run_as": RunAs,
    "jobs.*.permissions[]": Permission,
    "jobs.*.parameters[]": JobParameter,
    "tasks[]": TaskSettings,
    "tasks[].match": Selector,
    "targets.*": TargetSettings,
    "serving.*": ServingEndpoint,
    "serving.*.model_serving": ModelServing,
}
_RULE_MODELS: dict[str, type[BaseModel]] = {
    "tag": TagRule,
    "namespace": NamespaceRule,
    "pipeline": PipelineRule,
    "node": NodeRule,
}
_COMPUTE_MODELS: dict[str, type[BaseModel]] = {
    "serverless": ServerlessCompute,
    "job_cluster": JobClusterCompute,
    "existing_cluster": ExistingClusterCompute,
}


def _valid_keys(parent: Sequence[object], kinds: dict[int, str]) -> list[str]:
    shape = ""
    for i, part in enumerate(parent):
        if isinstance(part, int):
            shape += "[]"
        elif i == 1 and parent[0] in ("jobs", "compute", "targets", "serving"):
            shape += ".*"
        else:
            shape += f".{part}" if shape else str(part)
    model = _MODEL_AT.get(shape)
    last = len(parent) - 1
    if model is None and last in kinds:
        model = _RULE_MODELS.get(kinds[last]) or _COMPUTE_MODELS.get(kinds[last])
    return sorted(model.model_fields) if model else []


def suggest(word: str, candidates: Sequence[str], noun: str = "valid keys") -> str:
    """`; did you mean 'x'?` for the closest candidate, else the list of candidates."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; {noun}: {', '.join(candidates)}" if candidates else ""


def _display(files: Sequence[Path], root: Path | None) -> str:
    if not files:
        return "dab.yml"
    return " + ".join(_relative(f, root) for f in files)


def _relative(path: Path, root: Path | None) -> str:
    try:
        return path.relative_to(root).as_posix() if root else path.as_posix()
    except ValueError:
        return path.as_posix()


def _file_holding(loc: Sequence[object], files: Sequence[Path], root: Path | None) -> str | None:
    """The last file (env files win over base) whose raw YAML contains the key path."""
    import yaml

    for path in reversed(list(files)):
        try:
            node: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        for part in loc:
            in_list = isinstance(part, int) and isinstance(node, list) and part < len(node)
            if in_list or (isinstance(node, dict) and part in node):
                node = node[part]
            else:
                node = _MISSING
                break
        if node is not _MISSING:
            return _relative(path, root)
    return None


_MISSING = object()


_SECRET_KEY = re.compile(
    r"(?i)(passw(or)?d|secret|token|api[_-]?key|private[_-]?key|credential"
    r"|(account|access|storage|master|shared|signing|encryption)[_.-]?key|sas[_.-]?url)"
)
_SECRET_VALUE = re.compile(
    r"dapi[0-9a-f]{32}|dose[0-9a-f]{32}|gh[pousr]_[A-Za-z0-9]{30,}|AKIA[0-9A-Z]{16}"
    r"|xox[baprs]-[A-Za-z0-9-]{10,}|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|AccountKey=[A-Za-z0-9+/]{20,}|(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}=="
)
_SECRET_REFERENCE = re.compile(r"^\{\{secrets/[^/{}]+/[^/{}]+\}\}$")


def find_literal_secret(raw: Any, path: tuple[object, ...] = ()) -> list[object] | None:
    """The key path of the first value that looks like a literal secret: a known token shape
    anywhere, or any plain value under a key named like a password, token or key. Secret
    references (`{{secrets/scope/key}}`) and `${...}` interpolations are fine."""
    if isinstance(raw, Mapping):
        for key, value in raw.items():
            if (
                isinstance(value, (str, int))
                and not isinstance(value, bool)
                and _SECRET_KEY.search(str(key))
                and str(value).strip()
                and not _SECRET_REFERENCE.match(str(value).strip())
                and not str(value).startswith("${")
            ):
                return [*path, key]
            found = find_literal_secret(value, (*path, key))
            if found:
                return found
    elif isinstance(raw, (list, tuple)):
        for index, value in enumerate(raw):
            found = find_literal_secret(value, (*path, index))
            if found:
                return found
    elif isinstance(raw, str) and _SECRET_VALUE.search(raw):
        return list(path)
    return None


# --- databricks.yml: the shape kedro-dab reads --------------------------------------------------

_BUNDLE_SHAPE: dict[str, tuple[type, str]] = {
    "bundle": (dict, "a mapping such as `bundle: {name: my_project}`"),
    "include": (list, "a list of globs such as `include: [resources/*.yml]`"),
    "artifacts": (dict, "a mapping of artifact name to its settings"),
    "sync": (dict, "a mapping such as `sync: {exclude: [data/**]}`"),
    "variables": (dict, "a mapping of variable name to its settings"),
    "targets": (dict, "a mapping of target name to its settings, such as `targets: {dev: {}}`"),
    "resources": (dict, "a mapping such as `resources: {jobs: {...}}`"),
    "workspace": (dict, "a mapping such as `workspace: {host: https://...}`"),
    "permissions": (list, "a list of `{level: ..., user_name: ...}` entries"),
    "presets": (dict, "a mapping of preset name to value"),
}
_TYPE_NAMES = {dict: "a mapping", list: "a list", str: "text"}


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "text" if isinstance(value, str) else type(value).__name__


def bundle_shape_problem(data: Mapping[str, Any], where: str = "databricks.yml") -> str | None:
    """Where `databricks.yml` (or a resource file of the bundle) has a key of the wrong YAML
    type for what kedro-dab reads from it, with the shape it must have; None when fine.
    Nulls are allowed everywhere (an empty key)."""
    for key, (kind, shape) in _BUNDLE_SHAPE.items():
        value = data.get(key)
        if value is not None and not isinstance(value, kind):
            return f"{where}: {key} is {_kind(value)}, but must be {shape}"
    for key in ("artifacts", "variables", "targets"):
        for name, value in (data.get(key) or {}).items():
            if not isinstance(name, str):
                return f"{where}: {key}: the name {name!r} must be text; quote it"
            if value is not None and not isinstance(value, Mapping):
                if key == "variables" and not isinstance(value, list):
                    continue  # a variable may be given by its bare default value
                return f"{where}: {key}.{name} is {_kind(value)}, but must be a mapping"
    for index, entry in enumerate(data.get("include") or []):
        if not isinstance(entry, str):
            return f"{where}: include[{index}] is {_kind(entry)}, but must be a glob (text)"
    name = (data.get("bundle") or {}).get("name")
    if name is not None and not isinstance(name, str):
        return f"{where}: bundle.name is {_kind(name)}, but must be text; quote it"
    sync = data.get("sync") or {}
    for key in ("include", "exclude", "paths"):
        value = sync.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            return f"{where}: sync.{key} must be a list of globs (text)"
    for target, settings in (data.get("targets") or {}).items():
        for key in ("variables", "workspace", "resources", "presets"):
            value = (settings or {}).get(key)
            if value is not None and not isinstance(value, Mapping):
                return f"{where}: targets.{target}.{key} is {_kind(value)}, but must be a mapping"
    return None


def check_bundle_shape(data: Mapping[str, Any], where: str = "databricks.yml") -> None:
    """Raise a `ConfigError` for the first key of `bundle_shape_problem`."""
    problem = bundle_shape_problem(data, where)
    if problem:
        raise ConfigError(f"{problem}; fix it (see the Databricks bundle settings reference)")


# --- catalog: the shape kedro-dab reads -----------------------------------------------------------


def catalog_shape_problem(loaded: Any, where: str) -> str | None:
    """Why one parsed catalog file cannot be a Kedro catalog, or None. Keys starting with `_`
    are YAML anchors and templates, which Kedro ignores, so they may hold anything."""
    if loaded is None:
        return None
    if not isinstance(loaded, Mapping):
        return (
            f"{where}: the catalog is {_kind(loaded)} at the top level, but must be a mapping "
            "of dataset name to its settings (`name: {type: ..., filepath: ...}`)"
        )
    for name, entry in loaded.items():
        if not isinstance(name, str):
            return (
                f"{where}: dataset name {name!r} is {_kind(name)}; dataset names are text: "
                f"quote it ('{name}') or rename the dataset"
            )
        if name.startswith("_"):
            continue
        if not isinstance(entry, Mapping):
            return (
                f"{where}: {name}: a catalog entry must be a mapping with a 'type' (such as "
                f"`{name}: {{type: pandas.CSVDataset, filepath: ...}}`), not {_kind(entry)}"
            )
    return None


def check_catalog_shape(loaded: Any, where: str) -> None:
    """Raise a `ConfigError` when `catalog_shape_problem` finds one."""
    problem = catalog_shape_problem(loaded, where)
    if problem:
        raise ConfigError(problem)


# --- configuration files the loader could not read ------------------------------------------------

_RESOLVER = re.compile(r"\$\{\s*([A-Za-z_][\w.]*)\s*:")


def describe_load_failure(key: str, files: Sequence[Path], root: Path, message: str) -> str | None:
    """Name the file (and line) of a config key's files behind a loader error that names none:
    a file whose top level is not a mapping, or a `${resolver:...}` the loader does not know.
    None when no file explains `message`."""
    import yaml

    for path in files:
        rel = _relative(path, root)
        try:
            text = path.read_text(encoding="utf-8")
            loaded = yaml.safe_load(text)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if loaded is not None and not isinstance(loaded, Mapping):
            return (
                f"{rel}: the top level is {_kind(loaded)}, but a {key} file must be a mapping "
                "of settings (`key: value` lines); rewrite it as one"
            )
        for number, line in enumerate(text.splitlines(), start=1):
            for match in _RESOLVER.finditer(line):
                if f"interpolation type {match.group(1)}" in message:
                    return (
                        f"{rel}:{number}: the resolver '{match.group(1)}' in "
                        f"'{match.group(0)}...}}' is not registered for this project; write the "
                        "value itself, refer to another key with ${key}, or register the "
                        "resolver in settings.py (CONFIG_LOADER_ARGS custom_resolvers)"
                    )
    return None
