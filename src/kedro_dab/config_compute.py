"""The compute profiles of `dab.yml` (serverless, job cluster, existing cluster) and the
`tasks` entries that give the tasks a selector matches their compute, retries, timeout and
requirements."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta

from kedro_dab.config_jobs import Strict

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
