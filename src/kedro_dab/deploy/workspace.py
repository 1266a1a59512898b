"""Every workspace call kedro-dab makes, through `databricks-sdk`, with one-line errors that
name the path or job they concern. The SDK does auth (env, profiles, OAuth) and retries
(429, 503, dropped connections)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from kedro_dab.errors import DabError, first_line


class WorkspaceError(DabError):
    """A workspace call failed in a way the user must act on."""


def connect(host: str | None, profile: str | None) -> Any:
    """A `WorkspaceClient` from databricks-sdk's unified auth; `host` from the target wins."""
    from databricks.sdk import WorkspaceClient

    try:
        return WorkspaceClient(
            host=host, profile=profile, product="kedro-dab", product_version=_version()
        )
    except Exception as exc:  # the SDK raises ValueError and its own auth errors
        raise WorkspaceError(
            f"cannot authenticate to Databricks{f' at {host}' if host else ''}: "
            f"{first_line(exc)}; set DATABRICKS_HOST and DATABRICKS_TOKEN, or pass --profile"
        ) from None


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
        raise WorkspaceError(f"{subject}: {first_line(exc)}") from None
    except (OSError, TimeoutError) as exc:
        raise WorkspaceError(f"{subject}: {first_line(exc)}") from None


class Workspace:
    """The handful of operations a deploy needs."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._made: set[str] = set()

    @property
    def host(self) -> str:
        return str(self.client.config.host).rstrip("/")

    def user_name(self) -> str:
        with about("the current user (scim/v2/Me)"):
            return str(self.client.current_user.me().user_name)

    def mkdirs(self, path: str) -> None:
        if path in self._made:
            return
        with about(path):
            self.client.workspace.mkdirs(path)
        self._made.add(path)

    def write(self, path: str, data: bytes, *, overwrite: bool = True) -> None:
        """Write a workspace file (folders made first) or a Unity Catalog volume file."""
        if not path.startswith("/Volumes/"):
            self.mkdirs(path.rsplit("/", 1)[0])
        with about(path):
            self._write(path, data, overwrite)

    def _write(self, path: str, data: bytes, overwrite: bool) -> None:
        if path.startswith("/Volumes/"):
            import io

            self.client.files.upload(path, io.BytesIO(data), overwrite=overwrite)
            return
        self.client.api_client.do(
            "POST",
            f"/api/2.0/workspace-files/import-file/{quote(path.lstrip('/'))}",
            query={"overwrite": "true" if overwrite else "false"},
            data=data,
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
        from databricks.sdk.errors import NotFound, ResourceDoesNotExist

        with contextlib.suppress(NotFound, ResourceDoesNotExist), about(path):
            if path.startswith("/Volumes/"):
                self.client.files.delete(path)
            else:
                self.client.workspace.delete(path, recursive=recursive)

    def read_json(self, path: str) -> dict[str, Any] | None:
        raw = self.read(path)
        if raw is None:
            return None
        try:
            loaded = json.loads(raw)
        except ValueError:
            raise WorkspaceError(f"{path} is not valid JSON; remove it to start afresh") from None
        return loaded if isinstance(loaded, dict) else None

    # --- jobs -------------------------------------------------------------------------------------

    def job_exists(self, job_id: int) -> bool:
        from databricks.sdk.errors import InvalidParameterValue, NotFound, ResourceDoesNotExist

        try:
            self.client.jobs.get(job_id)
        except (NotFound, ResourceDoesNotExist, InvalidParameterValue):
            return False
        except Exception as exc:
            with about(f"job {job_id}"):
                raise exc
        return True

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
        from databricks.sdk.errors import InvalidParameterValue, NotFound, ResourceDoesNotExist

        with (
            contextlib.suppress(NotFound, ResourceDoesNotExist, InvalidParameterValue),
            about(f"job '{key}' ({job_id})"),
        ):
            self.client.jobs.delete(job_id)
