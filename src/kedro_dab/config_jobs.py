"""The job-level settings of `dab.yml` that stand for Jobs API fields one to one (schedule,
trigger, notifications, health, run_as, permissions, job parameters), and `Strict`, the base
of every `dab.yml` settings class."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from kedro_dab.config_errors import field_problem
from kedro_dab.quartz import quartz_problem


class Strict(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Unknown keys are errors; settings never change once read. (msgspec applies `kw_only`
    per class, so each settings class sets it; each also repeats `frozen=True`, which msgspec
    inherits but type checkers, reading structs as `dataclass_transform` classes, do not.)"""


class Schedule(Strict, kw_only=True, frozen=True):
    """A cron schedule (Quartz syntax)."""

    quartz_cron_expression: Annotated[str, Meta(min_length=1)]
    timezone_id: str = "UTC"
    pause_status: Literal["PAUSED", "UNPAUSED"] | None = None

    def __post_init__(self) -> None:
        problem = quartz_problem(self.quartz_cron_expression)
        if problem:
            raise ValueError(field_problem("quartz_cron_expression", problem))


class EmailNotifications(Strict, kw_only=True, frozen=True):
    """Addresses notified on job events."""

    on_start: tuple[str, ...] = ()
    on_success: tuple[str, ...] = ()
    on_failure: tuple[str, ...] = ()
    on_duration_warning_threshold_exceeded: tuple[str, ...] = ()
    no_alert_for_skipped_runs: bool | None = None


class PeriodicTrigger(Strict, kw_only=True, frozen=True):
    """Run every `interval` units."""

    interval: Annotated[int, Meta(ge=1)]
    unit: Literal["HOURS", "DAYS", "WEEKS"]


class FileArrivalTrigger(Strict, kw_only=True, frozen=True):
    """Run when new files land under `url` (a Unity Catalog volume or external location)."""

    url: Annotated[str, Meta(min_length=1)]
    min_time_between_triggers_seconds: Annotated[int, Meta(ge=0)] | None = None
    wait_after_last_change_seconds: Annotated[int, Meta(ge=0)] | None = None


class Trigger(Strict, kw_only=True, frozen=True):
    """A trigger other than a cron schedule: exactly one of `periodic` or `file_arrival`."""

    periodic: PeriodicTrigger | None = None
    file_arrival: FileArrivalTrigger | None = None
    pause_status: Literal["PAUSED", "UNPAUSED"] | None = None

    def __post_init__(self) -> None:
        if (self.periodic is None) == (self.file_arrival is None):
            raise ValueError("a trigger takes exactly one of 'periodic' or 'file_arrival'")


class Webhook(Strict, kw_only=True, frozen=True):
    """A notification destination configured in the workspace, by id."""

    id: Annotated[str, Meta(min_length=1)]


class WebhookNotifications(Strict, kw_only=True, frozen=True):
    """Notification destinations called on job events."""

    on_start: tuple[Webhook, ...] = ()
    on_success: tuple[Webhook, ...] = ()
    on_failure: tuple[Webhook, ...] = ()
    on_duration_warning_threshold_exceeded: tuple[Webhook, ...] = ()


class HealthRule(Strict, kw_only=True, frozen=True):
    """Warn when a run metric passes a threshold."""

    metric: Literal[
        "RUN_DURATION_SECONDS",
        "STREAMING_BACKLOG_BYTES",
        "STREAMING_BACKLOG_RECORDS",
        "STREAMING_BACKLOG_SECONDS",
        "STREAMING_BACKLOG_FILES",
    ]
    op: Literal["GREATER_THAN"] = "GREATER_THAN"
    value: Annotated[int, Meta(ge=0)]


class Health(Strict, kw_only=True, frozen=True):
    """Health rules of a job."""

    rules: Annotated[tuple[HealthRule, ...], Meta(min_length=1)]


class Principal(Strict, kw_only=True, frozen=True):
    """Exactly one of a user, a group or a service principal."""

    user_name: str | None = None
    group_name: str | None = None
    service_principal_name: str | None = None

    def __post_init__(self) -> None:
        given = [
            n for n in ("user_name", "group_name", "service_principal_name") if getattr(self, n)
        ]
        if len(given) != 1:
            raise ValueError("give exactly one of user_name, group_name, service_principal_name")


class RunAs(Strict, kw_only=True, frozen=True):
    """Who the job runs as: a user or a service principal."""

    user_name: str | None = None
    service_principal_name: str | None = None

    def __post_init__(self) -> None:
        if (self.user_name is None) == (self.service_principal_name is None):
            raise ValueError("run_as takes exactly one of user_name or service_principal_name")


class Permission(Principal, kw_only=True, frozen=True):
    """A permission on the job."""

    level: Literal["CAN_VIEW", "CAN_MANAGE_RUN", "CAN_MANAGE", "IS_OWNER"]


class JobParameter(Strict, kw_only=True, frozen=True):
    """A job parameter, passed to every task as a Kedro runtime parameter (`--params`) through
    Databricks' `{{job.parameters.<name>}}`, so a run can change it without a redeploy."""

    name: Annotated[str, Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    default: str | int | float | bool
    kedro_param: Annotated[str, Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$")] | None = None
    """The Kedro parameter to set (dots for nested keys); the parameter's name by default."""

    def __post_init__(self) -> None:
        if isinstance(self.default, str) and "," in self.default:
            raise ValueError(
                "a default holding ',' would break every task: `kedro run --params` splits "
                "its value at commas; use another separator (e.g. ';') and split it in the node"
            )


def parameter_text(value: str | int | float | bool) -> str:
    """A job parameter default as Databricks keeps it: text (`true`/`false` for booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
