"""Every workspace call kedro-dab makes, through `databricks-sdk`, with one-line errors that
name the path or job they concern. The SDK does auth (env, profiles, OAuth) and retries
(429, 503, dropped connections).

Deleting something that is already gone succeeds: a job deleted in the UI, a retried delete
whose first response was lost, a file removed by hand. `connect` checks the host and the
credentials within seconds, before the SDK's five-minute retry budget applies; a host that is
not a URL, or a profile that is missing or is for another host, it refuses before sending
anything, as the Databricks CLI does."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from kedro_dab.errors import DabError, first_line, read_text


class WorkspaceError(DabError):
    """A workspace call failed in a way the user must act on. `transient`: the workspace's
    passing fault (5xx, a timeout, a dropped connection), which asking again may get past."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


_ME = "/api/2.0/preview/scim/v2/Me"
PROBE_SECONDS = 10
"""How long `connect` waits for the host to answer before giving up."""


def connect(
    host: str | None,
    profile: str | None,
    *,
    bundle_profile: str | None = None,
    probe_seconds: float | None = None,
) -> Any:
    """A `WorkspaceClient` from databricks-sdk's unified auth; `host` from the target wins.

    The profile is chosen as the Databricks CLI chooses it for bundle commands: `profile`
    (`--profile`), else DATABRICKS_CONFIG_PROFILE, else `bundle_profile` (the target's
    `workspace.profile`). As with the CLI (1.7 and later), a chosen profile wins over the auth
    environment variables: its token is sent, not DATABRICKS_TOKEN, and without a host in the
    bundle its host is used, not DATABRICKS_HOST; they only fill in what the profile leaves out.

    The host and the credentials are checked first by one `scim/v2/Me` request that waits at
    most `probe_seconds` (default `PROBE_SECONDS`), so that a wrong host or token fails in
    seconds with the host named, not after the SDK's retry budget. Before that, without any
    request, `_check_before_sending` refuses a host that is not a URL and a profile that is
    missing or is for another host than the bundle's."""
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.config import Config

    from_env = os.environ.get("DATABRICKS_CONFIG_PROFILE") or None
    chosen = profile or from_env or bundle_profile or None
    flag = (
        "--profile"
        if profile
        else "DATABRICKS_CONFIG_PROFILE"
        if from_env
        else "workspace.profile in databricks.yml"
    )
    if chosen is None and host is not None:
        _require_url(host, "workspace.host in databricks.yml")
        chosen = _profile_for_host(host)
    keys = _check_before_sending(host, chosen, flag)
    explicit: dict[str, Any] = dict(_profile_auth(keys))
    if host is None and keys.get("host"):
        explicit["host"] = keys["host"]
    else:
        explicit["host"] = host
    budget = PROBE_SECONDS if probe_seconds is None else probe_seconds

    def config(**timeouts: Any) -> Any:
        return Config(
            profile=chosen,
            product="kedro-dab",
            product_version=_version(),
            **explicit,
            **timeouts,
        )

    try:
        # A one-second retry budget keeps the SDK's own host-metadata probe short.
        probe = config(retry_timeout_seconds=1, http_timeout_seconds=budget)
        where = str(probe.host or host or "the configured host").rstrip("/")
        headers = probe.authenticate()
    except Exception as exc:  # the SDK raises ValueError and its own auth errors
        raise WorkspaceError(
            f"cannot authenticate to Databricks{f' at {host}' if host else ''}: "
            f"{first_line(exc)}; set DATABRICKS_HOST and DATABRICKS_TOKEN, or pass --profile"
        ) from None
    status, detail = _probe(f"{where}{_ME}", headers, budget)
    if status is None:
        raise WorkspaceError(
            f"cannot reach Databricks at {where} within {budget:g} s ({detail}); "
            "check the workspace host in databricks.yml, DATABRICKS_HOST or the --profile"
        )
    if status in (401, 403):
        raise WorkspaceError(
            f"cannot authenticate to Databricks at {where}: {first_line(detail)} (HTTP "
            f"{status}); check the token (DATABRICKS_TOKEN) or the --profile"
        )
    if 400 <= status < 500 and status != 429:
        raise WorkspaceError(
            f"{where} does not look like a Databricks workspace (HTTP {status} for {_ME}); "
            "check the workspace host in databricks.yml, DATABRICKS_HOST or the --profile"
        )
    return WorkspaceClient(config=config())


_EXAMPLE_HOST = "https://<workspace>.cloud.databricks.com"
_HOST_NAME = re.compile(r"[\w.:-]+")
_SETTINGS_SECTION = "__settings__"
_NO_DEFAULTS = "\0 kedro-dab reads [DEFAULT] as a plain profile"


def _check_before_sending(host: str | None, chosen: str | None, flag: str) -> dict[str, str]:
    """Raise `WorkspaceError` when the host databricks-sdk would use is not a URL, or when the
    `chosen` profile (named by `flag`) is not in the config file or is for another host than
    the bundle's `host`; the chosen profile's keys (none without one). The host is the
    bundle's, else the profile's, else DATABRICKS_HOST."""
    env_host = os.environ.get("DATABRICKS_HOST") or None
    if host is not None:
        _require_url(host, "workspace.host in databricks.yml")
    if chosen is None:
        if host is None and env_host is not None:
            _require_url(env_host, "DATABRICKS_HOST")
        return {}
    path, profiles = _profiles(chosen, by=flag)
    profile_host = profiles[chosen].get("host")
    if not profile_host:
        if host is None and env_host is not None:
            _require_url(env_host, "DATABRICKS_HOST")
        return profiles[chosen]
    _require_url(profile_host, f"the host of profile '{chosen}' in {path}")
    if host is None or _host_key(host) == _host_key(profile_host):
        return profiles[chosen]
    source = "workspace.host in databricks.yml"
    wanted, key = _shown_host(host), _host_key(host)
    same = next((n for n, keys in profiles.items() if _host_key(keys.get("host", "")) == key), "")
    choose = {
        "--profile": "pass --profile",
        "DATABRICKS_CONFIG_PROFILE": "set DATABRICKS_CONFIG_PROFILE to",
    }.get(flag, "set workspace.profile in databricks.yml to")
    use = f"{choose} {same} (its host is {wanted})" if same else f"{choose} a profile for {wanted}"
    raise WorkspaceError(
        f"profile '{chosen}' ({flag}) is for {_shown_host(profile_host)}, not for {wanted} "
        f"({source}), so nothing was sent; {use}, or correct {source} or the host of profile "
        f"'{chosen}' in {path}"
    )


def _profile_auth(keys: dict[str, str]) -> dict[str, str]:
    """The keys of an explicitly chosen profile that the CLI lets win over environment
    variables: its credentials and what steers them (auth type, routing)."""
    from databricks.sdk.config import Config

    winning = {a.name for a in Config.attributes() if a.auth} | _STEERING
    return {name: value for name, value in keys.items() if name in winning and value}


_STEERING = {"auth_type", "workspace_id", "account_id", "discovery_url", "cloud"}


def _profiles(name: str, *, by: str) -> tuple[Path, dict[str, dict[str, str]]]:
    """The config file databricks-sdk reads (DATABRICKS_CONFIG_FILE, else ~/.databrickscfg) and
    its profiles' keys, read as the SDK reads them ([DEFAULT] not merged into the others); a
    `WorkspaceError` when the file does not exist or has no profile `name` (chosen by `by`:
    --profile, workspace.profile in databricks.yml or DATABRICKS_CONFIG_PROFILE)."""
    from_env = os.environ.get("DATABRICKS_CONFIG_FILE")
    path = _config_file()
    drop = {
        "--profile": "leave out --profile",
        "DATABRICKS_CONFIG_PROFILE": "unset DATABRICKS_CONFIG_PROFILE",
    }.get(by, "correct workspace.profile in databricks.yml")
    profiles = _read_profiles(path)
    if profiles is None:
        raise WorkspaceError(
            f"profile '{name}' not found: {path} does not exist"
            f"{' (DATABRICKS_CONFIG_FILE)' if from_env else ''}; create the profile with "
            f"`databricks auth login --profile {name}`, point DATABRICKS_CONFIG_FILE at the "
            f"file that has it, or {drop}"
        )
    if name not in profiles:
        use = {
            "--profile": "pass one with --profile",
            "DATABRICKS_CONFIG_PROFILE": "set DATABRICKS_CONFIG_PROFILE to one",
        }.get(by, "set workspace.profile in databricks.yml to one")
        raise WorkspaceError(
            f"profile '{name}' not found in {path} (its profiles: "
            f"{', '.join(profiles) or 'none'}); {use}, add it with "
            f"`databricks auth login --profile {name}`, or {drop}"
        )
    return path, profiles


def _config_file() -> Path:
    """The config file databricks-sdk reads: DATABRICKS_CONFIG_FILE, else ~/.databrickscfg."""
    return Path(os.environ.get("DATABRICKS_CONFIG_FILE") or "~/.databrickscfg").expanduser()


def _read_profiles(path: Path) -> dict[str, dict[str, str]] | None:
    """The profiles of the config file `path` and their keys, read as the SDK reads them
    ([DEFAULT] not merged into the others); None when the file does not exist."""
    import configparser

    try:
        text = read_text(path)
    except FileNotFoundError:
        return None
    parser = configparser.ConfigParser(default_section=_NO_DEFAULTS, interpolation=None)
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        raise WorkspaceError(
            f"{path}: not a valid Databricks config file ({first_line(exc)}); fix the file"
        ) from None
    return {
        section: dict(parser[section])
        for section in parser.sections()
        if section != _SETTINGS_SECTION and (section != "DEFAULT" or parser[section])
    }


def _profile_for_host(host: str) -> str | None:
    """The profile the Databricks CLI picks for a bundle whose `workspace.host` is `host` when
    no profile is chosen and no credential is in the environment: the one profile of the config
    file for that host (none when there is none); several are an error naming them."""
    from databricks.sdk.config import Config

    if any(os.environ.get(a.env) for a in Config.attributes() if a.auth and a.env):
        return None
    path = _config_file()
    profiles = _read_profiles(path) or {}
    key = _host_key(host)
    matching = sorted(n for n, keys in profiles.items() if _host_key(keys.get("host", "")) == key)
    if len(matching) > 1:
        raise WorkspaceError(
            f"profiles {', '.join(matching)} in {path} are all for {_shown_host(host)} "
            "(workspace.host in databricks.yml); pass --profile or set "
            "DATABRICKS_CONFIG_PROFILE to one of them"
        )
    return matching[0] if matching else None


def _host_key(host: str) -> tuple[str, str, int] | None:
    """(scheme, host name, port) of a workspace URL, read as databricks-sdk reads it (https
    when no scheme is given), so that spellings of one host compare equal; None when `host` is
    not such a URL."""
    if not host or any(char.isspace() for char in host):
        return None
    try:
        parts = urlsplit(host if "://" in host else f"https://{host}")
        port = parts.port
    except ValueError:  # a port that is not a number, an unbalanced bracket
        return None
    scheme, name = parts.scheme.lower(), parts.hostname or ""
    if scheme not in ("http", "https") or not _HOST_NAME.fullmatch(name):
        return None
    return scheme, name, port or (443 if scheme == "https" else 80)


def _shown_host(host: str) -> str:
    """`scheme://host[:port]` of a workspace URL, lower-case and without a default port."""
    key = _host_key(host)
    if key is None:
        return host
    scheme, name, port = key
    if ":" in name:
        name = f"[{name}]"
    return f"{scheme}://{name}" + ("" if port == (443 if scheme == "https" else 80) else f":{port}")


def _require_url(host: str, source: str) -> None:
    """Raise `WorkspaceError` naming `source` when `host` is not a workspace URL."""
    if _host_key(host) is None:
        raise WorkspaceError(
            f"{source} is {host!r}, which is not a workspace URL; make it the workspace's URL, "
            f"like {_EXAMPLE_HOST}"
        )


def _probe(url: str, headers: dict[str, str], seconds: float) -> tuple[int | None, str]:
    """One GET, no retries: (HTTP status, error message), or (None, why it got no answer)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=seconds):
            return 200, ""
    except urllib.error.HTTPError as exc:
        try:
            message = str(json.loads(exc.read()).get("message") or exc.reason)
        except (ValueError, AttributeError):
            message = str(exc.reason)
        return exc.code, message
    except urllib.error.URLError as exc:  # connection refused, unknown host, TLS
        reason = exc.reason
        return None, str(getattr(reason, "strerror", None) or reason)
    except (OSError, ValueError) as exc:  # a timeout, a malformed URL
        return None, first_line(exc) if str(exc) else type(exc).__name__


def _version() -> str:
    from kedro_dab import __version__

    return __version__


@contextlib.contextmanager
def about(subject: str) -> Iterator[None]:
    """Turn SDK errors into one line that names `subject` (a path or a job)."""
    from databricks.sdk.errors import DatabricksError, PermissionDenied

    try:
        yield
    except PermissionDenied as exc:
        raise WorkspaceError(f"permission denied on {subject}: {first_line(exc)}") from None
    except DatabricksError as exc:
        raise WorkspaceError(f"{subject}: {first_line(exc)}", transient=_transient(exc)) from None
    except (OSError, TimeoutError) as exc:
        raise WorkspaceError(f"{subject}: {first_line(exc)}", transient=True) from None


def _transient(exc: BaseException) -> bool:
    """Whether an SDK error is the workspace's passing fault (5xx, a timeout), worth asking
    again, rather than an answer about the request."""
    from databricks.sdk.errors import DeadlineExceeded, InternalError, TemporarilyUnavailable

    return (
        isinstance(exc, (InternalError, TemporarilyUnavailable, DeadlineExceeded))
        or (getattr(exc, "status_code", None) or 0) >= 500
    )


def _gone(exc: BaseException) -> bool:
    """Whether an SDK error says the thing asked for does not exist (the Jobs API answers a
    missing job with 400 INVALID_PARAMETER_VALUE "Job 123 does not exist.")."""
    from databricks.sdk.errors import InvalidParameterValue, NotFound, ResourceDoesNotExist

    if isinstance(exc, (NotFound, ResourceDoesNotExist)):
        return True
    return isinstance(exc, InvalidParameterValue) and "does not exist" in str(exc)


@contextlib.contextmanager
def deleting(subject: str) -> Iterator[None]:
    """A delete request: an answer that the thing does not exist means it is deleted already;
    any other error is one line naming `subject`."""
    try:
        yield
    except Exception as exc:
        if not _gone(exc):
            with about(subject):
                raise exc


Progress = Callable[[int, int], None]
"""Called with (bytes sent, bytes in all) while a file uploads."""


class _Counted(io.BytesIO):
    """Bytes read by the HTTP client in blocks, each block reported; the SDK rewinds it (and
    the count starts again) when it retries the request."""

    def __init__(self, data: bytes, progress: Progress) -> None:
        super().__init__(data)
        self.total, self.progress = len(data), progress

    def read(self, size: int | None = -1) -> bytes:
        block = super().read(size)
        if block:
            self.progress(self.tell(), self.total)
        return block


class Workspace:
    """The handful of operations a deploy needs."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._made: set[str] = set()
        self._user: str | None = None

    @property
    def host(self) -> str:
        return str(self.client.config.host).rstrip("/")

    def user_name(self) -> str:
        """The current user's name (asked once)."""
        if self._user is None:
            with about(f"the current user at {self.host} (scim/v2/Me)"):
                self._user = str(self.client.current_user.me().user_name)
        return self._user

    def mkdirs(self, path: str) -> None:
        if path in self._made:
            return
        with about(path):
            self.client.workspace.mkdirs(path)
        self._made.add(path)

    def write(
        self, path: str, data: bytes, *, overwrite: bool = True, progress: Progress | None = None
    ) -> None:
        """Write a workspace file (folders made first) or a Unity Catalog volume file;
        `progress` hears of the bytes sent."""
        if not path.startswith("/Volumes/"):
            self.mkdirs(path.rsplit("/", 1)[0])
        with about(path):
            self._write(path, data, overwrite, progress)

    def _write(
        self, path: str, data: bytes, overwrite: bool, progress: Progress | None = None
    ) -> None:
        if path.startswith("/Volumes/"):
            self.client.files.upload(path, io.BytesIO(data), overwrite=overwrite)
            if progress:
                progress(len(data), len(data))
            return
        self.client.api_client.do(
            "POST",
            f"/api/2.0/workspace-files/import-file/{quote(path.lstrip('/'))}",
            query={"overwrite": "true" if overwrite else "false"},
            data=_Counted(data, progress) if progress else data,
            headers={"Content-Type": "application/octet-stream"},
        )

    def create_exclusive(self, path: str, data: bytes) -> bool:
        """Create a file only if it does not exist; False when it already does."""
        from databricks.sdk.errors import DatabricksError

        if not path.startswith("/Volumes/"):
            self.mkdirs(path.rsplit("/", 1)[0])
        try:
            self._write(path, data, overwrite=False)
        except DatabricksError as exc:
            if exc.error_code in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
                return False
            with about(path):
                raise
        return True

    def read(self, path: str) -> bytes | None:
        """A file's bytes, or None when it does not exist."""
        from databricks.sdk.errors import NotFound, ResourceDoesNotExist

        try:
            if path.startswith("/Volumes/"):
                return bytes(self.client.files.download(path).contents.read())
            return bytes(self.client.workspace.download(path).read())
        except (NotFound, ResourceDoesNotExist):
            return None
        except Exception as exc:
            with about(path):
                raise exc

    def exists(self, path: str) -> bool:
        from databricks.sdk.errors import NotFound, ResourceDoesNotExist

        try:
            if path.startswith("/Volumes/"):
                self.client.files.get_metadata(path)
            else:
                self.client.workspace.get_status(path)
        except (NotFound, ResourceDoesNotExist):
            return False
        except Exception as exc:
            with about(path):
                raise exc
        return True

    def delete(self, path: str, *, recursive: bool = False) -> None:
        """Delete a file or folder; one that is already gone is deleted."""
        with deleting(path):
            if path.startswith("/Volumes/"):
                self.client.files.delete(path)
            else:
                self.client.workspace.delete(path, recursive=recursive)

    def read_json(self, path: str) -> dict[str, Any] | None:
        """A JSON object file, or None when it does not exist; an error when it is not JSON."""
        raw = self.read(path)
        if raw is None:
            return None
        try:
            loaded = json.loads(raw)
        except ValueError:
            raise WorkspaceError(f"{path} is not valid JSON; remove it to start afresh") from None
        return loaded if isinstance(loaded, dict) else None

    # --- jobs -------------------------------------------------------------------------------------

    def _job(self, job_id: int) -> Any:
        """The job as `jobs/get` returns it, every page; None when it is gone."""
        try:
            return self.client.jobs.get(job_id)
        except Exception as exc:
            if _gone(exc):
                return None
            with about(f"job {job_id}"):
                raise exc

    def job_exists(self, job_id: int) -> bool:
        return self._job(job_id) is not None

    def job_metadata_path(self, job_id: int) -> str | None:
        """The `deployment.metadata_file_path` of a job (None: none, or the job is gone)."""
        job = self._job(job_id)
        deployment = job.settings.deployment if job is not None and job.settings else None
        return deployment.metadata_file_path if deployment else None

    def job_settings(self, job_id: int) -> dict[str, Any] | None:
        """A job's live settings as `jobs/get` returns them (None: it is gone)."""
        job = self._job(job_id)
        if job is None:
            return None
        return job.settings.as_dict() if job.settings else {}

    def job_acl(self, job_id: int) -> list[dict[str, Any]]:
        """A job's direct (not inherited) permissions: `{"level": ..., <principal>: ...}`."""
        with about(f"permissions of job {job_id}"):
            listing = self.client.jobs.get_permissions(str(job_id))
        out = []
        for entry in listing.access_control_list or []:
            direct = [p for p in entry.all_permissions or [] if not p.inherited]
            who = {
                kind: getattr(entry, kind)
                for kind in ("user_name", "service_principal_name", "group_name")
                if getattr(entry, kind, None)
            }
            for permission in direct:
                level = getattr(permission.permission_level, "value", permission.permission_level)
                out.append({"level": str(level), **who})
        return out

    def jobs_tagged(self, tags: dict[str, str]) -> list[tuple[int, dict[str, str]]]:
        """(job id, tags) of every job carrying all `tags`."""
        found = []
        with about("jobs/list"):
            for job in self.client.jobs.list():
                job_tags = (job.settings.tags if job.settings else None) or {}
                if all(job_tags.get(k) == v for k, v in tags.items()):
                    found.append((int(job.job_id), dict(job_tags)))
        return sorted(found)

    def create_job(self, key: str, settings: Any, acl: list[Any] | None) -> int:
        # Unset repeated fields are [] on the SDK's dataclass; the CLI sends none of them.
        kwargs = {name: value for name, value in vars(settings).items() if value not in (None, [])}
        with about(f"job '{key}' (jobs/create)"):
            created = self.client.jobs.create(**kwargs, access_control_list=acl or None)
        return int(created.job_id)

    def reset_job(self, key: str, job_id: int, settings: Any) -> None:
        with about(f"job '{key}' ({job_id})"):
            self.client.jobs.reset(job_id, settings)

    def set_permissions(self, key: str, job_id: int, acl: list[Any]) -> None:
        with about(f"permissions of job '{key}' ({job_id})"):
            self.client.jobs.set_permissions(str(job_id), access_control_list=acl)

    def delete_job(self, key: str, job_id: int) -> None:
        """Delete a job; one that is already gone is deleted."""
        with deleting(f"job '{key}' ({job_id})"):
            self.client.jobs.delete(job_id)
