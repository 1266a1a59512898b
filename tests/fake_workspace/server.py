"""A strict loopback fake of the Databricks workspace REST API that a bundle deploy uses.

It serves HTTP on 127.0.0.1 (port chosen by the OS) from a daemon thread, checks the bearer token on
every request, validates request bodies against the databricks-sdk dataclasses, enforces the Jobs
graph rules, simulates job runs step by step, records every request (token redacted) and can inject
faults. See :class:`FakeWorkspace`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import email.message
import email.parser
import email.policy
import email.utils
import itertools
import json
import re
import secrets
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

from databricks.sdk.service import jobs as sdk_jobs
from databricks.sdk.service import workspace as sdk_workspace

from . import apps as app_rules
from . import jobs as job_rules
from . import permissions
from .errors import ApiError, invalid, not_emulated, permission_denied
from .faults import FaultInjector
from .schema import ObjectSchema, check_object, check_value, method_schema
from .storage import (
    Volume,
    VolumeStore,
    WorkspaceTree,
    canonical_workspace_path,
    encode_content,
    now_ms,
)

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

_REDACTED = "<redacted>"
_WELL_KNOWN = "/.well-known/databricks-config"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake saw it.

    ``status`` is what was answered; ``None`` when the connection was dropped before handling. With
    a ``drop_response`` fault it is the status the handler produced but never sent. ``fault``
    describes the fault that fired, if any. The Authorization header is redacted and the token is
    scrubbed from every recorded string.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    body_size: int
    status: int | None
    fault: str | None = None


@dataclass
class Request:
    """A parsed request handed to a route."""

    method: str
    path: str
    query: dict[str, str]
    headers: email.message.Message
    body: bytes
    params: dict[str, str]
    api_version: str = ""

    def json_body(self, schema: ObjectSchema | None = None) -> dict[str, Any]:
        """The JSON object body (``{}`` when empty), checked against ``schema`` when given."""
        if not self.body.strip():
            data: Any = {}
        else:
            try:
                data = json.loads(self.body)
            except ValueError as error:
                raise ApiError(
                    400,
                    "MALFORMED_REQUEST",
                    f"Invalid JSON given in the body of the request - {error}",
                ) from None
        if not isinstance(data, dict):
            raise ApiError(
                400,
                "MALFORMED_REQUEST",
                "Invalid JSON given in the body of the request - expected a map",
            )
        if schema is not None:
            check_object(data, schema)
        return data

    def query_str(self, name: str, *, required: bool = True) -> str | None:
        """A query parameter; 400 when required and missing."""
        value = self.query.get(name)
        if required and not value:
            raise invalid(f"Missing required field: {name}")
        return value

    def query_int(self, name: str, *, required: bool = True, default: int | None = None) -> int:
        """An integer query parameter."""
        value = self.query.get(name)
        if value is None or value == "":
            if required:
                raise invalid(f"Missing required field: {name}")
            if default is None:
                raise ValueError(f"{name} needs a default")
            return default
        try:
            return int(value)
        except ValueError:
            raise invalid(
                f"Invalid value for '{name}': expected an integer, got {value!r}"
            ) from None

    def query_bool(self, name: str, default: bool) -> bool:
        """A boolean query parameter (``true``/``false``)."""
        value = self.query.get(name)
        if value is None or value == "":
            return default
        if value.lower() not in ("true", "false"):
            raise invalid(f"Invalid value for '{name}': expected true or false, got {value!r}")
        return value.lower() == "true"


@dataclass
class Response:
    """A route's answer: a JSON value, or raw bytes."""

    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


Route = Callable[[Request], Response]


def _encode_token(kind: str, value: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode("ascii")


def _decode_token(kind: str, token: str) -> int:
    try:
        decoded = base64.urlsafe_b64decode(token.encode("ascii")).decode()
        prefix, _, number = decoded.partition(":")
        if prefix != kind:
            raise ValueError(prefix)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid(f"Invalid page_token {token!r}.") from None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeWorkspace) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    # Headers and body go out in two writes; without TCP_NODELAY the second waits for the
    # client's delayed ACK (about 40 ms a request on Linux).
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silences the default stderr access log (the fake keeps its own)."""

    def _dispatch(self) -> None:
        self.server.fake._serve(self)

    do_GET = _dispatch
    do_POST = _dispatch
    do_PUT = _dispatch
    do_DELETE = _dispatch
    do_HEAD = _dispatch
    do_PATCH = _dispatch


class FakeWorkspace:
    """A fake Databricks workspace on loopback.

    State is public for assertions: ``jobs`` (job id -> job as ``jobs/get`` returns it, settings not
    paged), ``runs`` (run id -> :class:`~tests.fake_workspace.jobs.JobRun`), ``workspace`` (the
    file tree), ``volumes`` (the UC volumes); ``files`` / ``directories`` / ``volume_files`` are
    snapshots. ``log`` lists every request, ``faults`` injects failures.

    Runs advance one step per ``runs/get`` poll (after answering, so the first poll shows the start
    state), or, with ``run_step_seconds``, one step per that many seconds since run-now.
    """

    def __init__(
        self,
        *,
        user_name: str = "fake.user@example.com",
        token: str | None = None,
        workspace_id: str = "1234567890123456",
        run_step_seconds: float | None = None,
        server_defaults: bool = True,
    ) -> None:
        self.user_name = user_name
        self.user_id = "7000000000000001"
        self.token = token or "dapi" + secrets.token_hex(16)
        self.workspace_id = workspace_id
        self.run_step_seconds = run_step_seconds
        self.server_defaults = server_defaults
        self.log: list[RecordedRequest] = []
        self.internal_errors: list[str] = []
        self.faults = FaultInjector()
        self.workspace = WorkspaceTree(user_name)
        self.volumes = VolumeStore()
        self.jobs: dict[int, dict[str, Any]] = {}
        self.job_permissions: dict[int, list[dict[str, Any]]] = {}
        self.runs: dict[int, job_rules.JobRun] = {}
        self.failing_tasks: dict[str, str] = {}
        self.denied_jobs: set[int] = set()
        self.apps = app_rules.AppStore(user_name, workspace_id)
        self._idempotency: dict[str, int] = {}
        self._job_ids: Iterator[int] = itertools.count(640_000_000_001)
        self._run_ids: Iterator[int] = itertools.count(920_000_000_001)
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._routes: list[tuple[str, re.Pattern[str], Route]] = self._build_routes()

    # --------------------------------------------------------------- lifecycle

    def start(self) -> FakeWorkspace:
        """Starts serving on 127.0.0.1 in a daemon thread."""
        if self._server is not None:
            return self
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-databricks-workspace",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stops the server."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeWorkspace:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def host(self) -> str:
        """``http://127.0.0.1:<port>``."""
        if self._server is None:
            raise RuntimeError("the fake workspace is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def client(self, **config: Any) -> WorkspaceClient:
        """A real ``WorkspaceClient`` for this fake, with short retry and HTTP timeouts.

        ``config`` holds further ``databricks.sdk.config.Config`` options.
        """
        from databricks.sdk import WorkspaceClient
        from databricks.sdk.config import Config

        options: dict[str, Any] = {"retry_timeout_seconds": 15, "http_timeout_seconds": 10}
        options.update(config)
        return WorkspaceClient(config=Config(host=self.host, token=self.token, **options))

    # ------------------------------------------------------ test-side controls

    def add_volume(
        self, catalog: str, schema: str, volume: str, *, writable: bool = True
    ) -> Volume:
        """Declares the UC volume ``/Volumes/<catalog>/<schema>/<volume>``."""
        with self._lock:
            return self.volumes.add_volume(catalog, schema, volume, writable=writable)

    def fail_task(self, task_key: str, message: str = "Injected task failure.") -> None:
        """Makes every run of a task with this key end FAILED (its dependants then skip)."""
        with self._lock:
            self.failing_tasks[task_key] = message

    def deny_path(self, prefix: str) -> None:
        """Makes writes under a workspace path answer 403 PERMISSION_DENIED."""
        with self._lock:
            self.workspace.denied_prefixes.append(canonical_workspace_path(prefix))

    def deny_job(self, job_id: int) -> None:
        """Makes reset, delete and run-now of a job answer 403 PERMISSION_DENIED."""
        with self._lock:
            self.denied_jobs.add(job_id)

    def put_workspace_file(self, path: str, content: bytes) -> None:
        """Seeds a workspace file (parents created, permissions not checked)."""
        with self._lock:
            self.workspace.put_file(path, content)

    def advance_runs(self, steps: int = 1) -> None:
        """Moves every unfinished run ``steps`` steps."""
        with self._lock:
            for _ in range(steps):
                for run in self.runs.values():
                    run.tick(self.failing_tasks, self._can_start)

    def requests(
        self, method: str | None = None, path_regex: str | None = None
    ) -> list[RecordedRequest]:
        """The logged requests, optionally filtered by method and a regex searched in the path."""
        pattern = re.compile(path_regex) if path_regex else None
        return [
            r
            for r in list(self.log)
            if (method is None or r.method == method.upper())
            and (pattern is None or pattern.search(r.path))
        ]

    def clear_log(self) -> None:
        """Forgets the logged requests."""
        self.log.clear()

    @property
    def files(self) -> dict[str, bytes]:
        """Snapshot: workspace file and notebook contents by ``/Workspace/...`` path."""
        with self._lock:
            return {
                path: obj.content
                for path, obj in self.workspace.objects.items()
                if obj.object_type != "DIRECTORY"
            }

    @property
    def directories(self) -> set[str]:
        """Snapshot: workspace directories by ``/Workspace/...`` path."""
        with self._lock:
            return {p for p, o in self.workspace.objects.items() if o.object_type == "DIRECTORY"}

    @property
    def volume_files(self) -> dict[str, bytes]:
        """Snapshot: volume file contents by ``/Volumes/...`` path."""
        with self._lock:
            return {path: item.content for path, item in self.volumes.files.items()}

    # ------------------------------------------------------------------ serving

    def _serve(self, handler: _Handler) -> None:
        method = handler.command
        raw_path, _, raw_query = handler.path.partition("?")
        path = unquote(raw_path)
        query = {k: v[0] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
        try:
            body = self._read_body(handler)
        except (ValueError, OSError):
            handler.close_connection = True
            self._record(method, path, query, handler, b"", 400, "unreadable body")
            self._send(
                handler,
                method,
                Response(
                    400, {"error_code": "MALFORMED_REQUEST", "message": "Unreadable request body."}
                ),
            )
            return
        fault = self.faults.take(method, path, body)
        label = fault.describe() if fault is not None else None
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.drop_connection or fault.drop_response:
                status = None
                if fault.drop_response:
                    status = self._respond(method, path, query, handler, body).status
                self._record(method, path, query, handler, body, status, label)
                handler.close_connection = True
                with contextlib.suppress(OSError):
                    handler.connection.shutdown(socket.SHUT_RDWR)
                return
        if fault is not None and fault.status is not None:
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            response = Response(fault.status, fault.error_body(), headers)
        else:
            response = self._respond(method, path, query, handler, body)
        self._record(method, path, query, handler, body, response.status, label)
        self._send(handler, method, response)

    @staticmethod
    def _read_body(handler: _Handler) -> bytes:
        if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size_line = handler.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while handler.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(handler.rfile.read(size))
                handler.rfile.readline(65537)
        length = int(handler.headers.get("Content-Length") or 0)
        return handler.rfile.read(length) if length else b""

    def _authorized(self, handler: _Handler) -> ApiError | None:
        header = handler.headers.get("Authorization")
        if not header:
            return ApiError(
                401,
                "UNAUTHENTICATED",
                "Credential was not sent or was of an unsupported type for this API.",
            )
        if header != f"Bearer {self.token}":
            return ApiError(401, "UNAUTHENTICATED", "Invalid access token.")
        return None

    def _respond(
        self, method: str, path: str, query: dict[str, str], handler: _Handler, body: bytes
    ) -> Response:
        try:
            if path != _WELL_KNOWN:
                denied = self._authorized(handler)
                if denied is not None:
                    raise denied
            for route_method, pattern, route in self._routes:
                match = pattern.match(path)
                if match is None or route_method != method:
                    continue
                params = {k: v for k, v in match.groupdict().items() if v is not None}
                request = Request(
                    method,
                    path,
                    query,
                    handler.headers,
                    body,
                    params,
                    params.pop("version", ""),
                )
                with self._lock:
                    return route(request)
            raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")
        except ApiError as error:
            return Response(error.status, error.body(), error.headers)
        except Exception:
            trace = traceback.format_exc()
            self.internal_errors.append(trace)
            return Response(
                500, {"error_code": "INTERNAL_ERROR", "message": "Fake workspace bug:\n" + trace}
            )

    def _send(self, handler: _Handler, method: str, response: Response) -> None:
        headers = {
            "X-Databricks-Org-Id": self.workspace_id,
            "X-Request-Id": str(uuid.uuid4()),
            **response.headers,
        }
        if isinstance(response.body, bytes):
            payload = response.body
            headers.setdefault("Content-Type", "application/octet-stream")
        else:
            payload = json.dumps(response.body).encode()
            headers.setdefault("Content-Type", "application/json")
        try:
            handler.send_response(response.status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            if method != "HEAD":
                handler.wfile.write(payload)
            handler.wfile.flush()
        except OSError:
            handler.close_connection = True

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            return value.replace(self.token, _REDACTED)
        if isinstance(value, list):
            return [self._scrub(v) for v in value]
        if isinstance(value, dict):
            return {self._scrub(k): self._scrub(v) for k, v in value.items()}
        return value

    def _record(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        handler: _Handler,
        body: bytes,
        status: int | None,
        fault: str | None,
    ) -> None:
        headers: dict[str, str] = {}
        for name, value in handler.headers.items():
            if name.lower() == "authorization":
                scheme = value.split(" ", 1)[0] if " " in value else ""
                value = f"{scheme} {_REDACTED}".strip()
            headers[name] = value
        parsed: Any = None
        if body:
            try:
                parsed = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                parsed = None
        self.log.append(
            RecordedRequest(
                method=method,
                path=self._scrub(path),
                query=self._scrub(query),
                headers=self._scrub(headers),
                json=self._scrub(parsed),
                body_size=len(body),
                status=status,
                fault=fault,
            )
        )

    # ------------------------------------------------------------------ routes

    def _build_routes(self) -> list[tuple[str, re.Pattern[str], Route]]:
        jobs = r"^/api/(?P<version>2\.[12])/jobs"
        table: list[tuple[str, str, Route]] = [
            ("GET", r"^/\.well-known/databricks-config$", self._well_known),
            ("GET", r"^/api/2\.0/preview/scim/v2/Me$", self._me),
            ("GET", r"^/api/2\.0/workspace/get-status$", self._ws_get_status),
            ("POST", r"^/api/2\.0/workspace/mkdirs$", self._ws_mkdirs),
            ("GET", r"^/api/2\.0/workspace/list$", self._ws_list),
            ("GET", r"^/api/2\.0/workspace/export$", self._ws_export),
            ("POST", r"^/api/2\.0/workspace/delete$", self._ws_delete),
            ("POST", r"^/api/2\.0/workspace/import$", self._ws_import),
            ("POST", r"^/api/2\.0/workspace-files/import-file/(?P<path>.+)$", self._ws_import_file),
            ("PUT", r"^/api/2\.0/fs/files(?P<path>/.+)$", self._fs_put_file),
            ("GET", r"^/api/2\.0/fs/files(?P<path>/.+)$", self._fs_get_file),
            ("HEAD", r"^/api/2\.0/fs/files(?P<path>/.+)$", self._fs_get_file),
            ("DELETE", r"^/api/2\.0/fs/files(?P<path>/.+)$", self._fs_delete_file),
            ("POST", r"^/api/2\.0/fs/files(?P<path>/.+)$", self._fs_not_emulated),
            ("POST", r"^/api/2\.0/fs/create-download-url$", self._fs_not_emulated),
            ("POST", r"^/api/2\.0/fs/create-upload-part-urls$", self._fs_not_emulated),
            ("PUT", r"^/api/2\.0/fs/directories(?P<path>/.+)$", self._fs_put_dir),
            ("GET", r"^/api/2\.0/fs/directories(?P<path>/.+)$", self._fs_list_dir),
            ("HEAD", r"^/api/2\.0/fs/directories(?P<path>/.+)$", self._fs_head_dir),
            ("DELETE", r"^/api/2\.0/fs/directories(?P<path>/.+)$", self._fs_delete_dir),
            ("POST", jobs + r"/create$", self._jobs_create),
            ("POST", jobs + r"/reset$", self._jobs_reset),
            ("POST", jobs + r"/update$", self._jobs_update),
            ("GET", jobs + r"/get$", self._jobs_get),
            ("GET", jobs + r"/list$", self._jobs_list),
            ("POST", jobs + r"/delete$", self._jobs_delete),
            ("POST", jobs + r"/run-now$", self._jobs_run_now),
            ("GET", jobs + r"/runs/get$", self._runs_get),
            ("GET", jobs + r"/runs/list$", self._runs_list),
            ("POST", jobs + r"/runs/cancel$", self._runs_cancel),
            ("POST", jobs + r"/runs/repair$", self._runs_repair),
            (
                "PUT",
                r"^/api/2\.0/permissions/jobs/(?P<job_id>\d+)$",
                lambda request: permissions.put_job_permissions(self, request),
            ),
            (
                "GET",
                r"^/api/2\.0/permissions/jobs/(?P<job_id>\d+)$",
                lambda request: permissions.get_job_permissions(self, request),
            ),
            *self._app_routes(),
        ]
        return [(method, re.compile(regex), route) for method, regex, route in table]

    # ------------------------------------------------------------ identity

    def _well_known(self, request: Request) -> Response:
        return Response(
            body={"oidc_endpoint": f"{self.host}/oidc", "workspace_id": self.workspace_id}
        )

    def _me(self, request: Request) -> Response:
        given, _, family = self.user_name.partition("@")[0].partition(".")
        return Response(
            body={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": self.user_id,
                "userName": self.user_name,
                "displayName": f"{given.title()} {family.title()}".strip(),
                "active": True,
                "name": {"givenName": given.title(), "familyName": family.title()},
                "emails": [{"type": "work", "value": self.user_name, "primary": True}],
                "groups": [{"display": "users", "type": "direct", "value": "1000000000000001"}],
            }
        )

    # ----------------------------------------------------------- workspace

    def _ws_get_status(self, request: Request) -> Response:
        path = request.query_str("path") or ""
        return Response(body=self.workspace.get_status(path))

    def _ws_mkdirs(self, request: Request) -> Response:
        body = request.json_body(method_schema(sdk_workspace.WorkspaceAPI.mkdirs))
        self.workspace.mkdirs(body["path"])
        return Response()

    def _ws_list(self, request: Request) -> Response:
        path = request.query_str("path") or ""
        objects = self.workspace.list(path)
        return Response(body={"objects": objects} if objects else {})

    def _ws_export(self, request: Request) -> Response:
        path = request.query_str("path") or ""
        fmt = request.query_str("format", required=False)
        if fmt:
            check_value(fmt, sdk_workspace.ExportFormat, "format")
        content, file_type = self.workspace.export(path, fmt)
        if request.query_bool("direct_download", False):
            return Response(body=content)
        return Response(body={"content": encode_content(content), "file_type": file_type})

    def _ws_delete(self, request: Request) -> Response:
        body = request.json_body(method_schema(sdk_workspace.WorkspaceAPI.delete))
        self.workspace.delete(body["path"], bool(body.get("recursive", False)))
        return Response()

    def _ws_import(self, request: Request) -> Response:
        content_type = request.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            form = self._parse_multipart(content_type, request.body)
            schema = method_schema(sdk_workspace.WorkspaceAPI.import_)
            for name in form:
                if name not in schema.fields:
                    raise invalid(f"Unknown field '{name}' (not a field of {schema.name})")
            if not form.get("path"):
                raise invalid("Missing required field: path")
            fmt = form.get("format", b"").decode() or None
            language = form.get("language", b"").decode() or None
            overwrite_text = form.get("overwrite", b"false").decode().lower()
            if overwrite_text not in ("true", "false"):
                raise invalid(f"Invalid value for 'overwrite': {overwrite_text!r}")
            path = form["path"].decode()
            content = form.get("content", b"")
            overwrite = overwrite_text == "true"
        else:
            body = request.json_body(method_schema(sdk_workspace.WorkspaceAPI.import_))
            path = body["path"]
            fmt = body.get("format")
            language = body.get("language")
            overwrite = bool(body.get("overwrite", False))
            try:
                content = base64.b64decode(body.get("content") or "", validate=True)
            except binascii.Error:
                raise invalid("Field 'content' is not valid base64.") from None
        if fmt:
            check_value(fmt, sdk_workspace.ImportFormat, "format")
        if language:
            check_value(language, sdk_workspace.Language, "language")
        self.workspace.import_(path, content, fmt, language, overwrite)
        return Response()

    @staticmethod
    def _parse_multipart(content_type: str, body: bytes) -> dict[str, bytes]:
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        if not message.is_multipart():
            raise ApiError(400, "MALFORMED_REQUEST", "Malformed multipart body.")
        form: dict[str, bytes] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str):
                form[name] = payload if isinstance(payload, bytes) else b""
        return form

    def _ws_import_file(self, request: Request) -> Response:
        path = request.params["path"]
        if not path.startswith("/"):
            path = "/" + path
        overwrite = request.query_bool("overwrite", False)
        self.workspace.import_file(path, request.body, overwrite)
        return Response()

    # ------------------------------------------------------------- volumes

    def _fs_put_file(self, request: Request) -> Response:
        overwrite = request.query_bool("overwrite", True)
        self.volumes.put_file(request.params["path"], request.body, overwrite)
        return Response(body=b"")

    def _fs_get_file(self, request: Request) -> Response:
        item = self.volumes.get_file(request.params["path"])
        content = item.content
        headers = {
            "Content-Type": "application/octet-stream",
            "Last-Modified": email.utils.formatdate(item.modified_at / 1000, usegmt=True),
            "Accept-Ranges": "bytes",
        }
        since = request.headers.get("If-Unmodified-Since")
        if since:
            parsed = email.utils.parsedate_to_datetime(since)
            if int(item.modified_at / 1000) > int(parsed.timestamp()):
                raise ApiError(412, "FAILED_PRECONDITION", "The file was modified since.")
        byte_range = request.headers.get("Range")
        if byte_range and request.method == "GET":
            match = re.fullmatch(r"bytes=(\d+)-(\d*)", byte_range.strip())
            if match is None or int(match.group(1)) >= max(len(content), 1):
                raise ApiError(
                    416,
                    "INVALID_PARAMETER_VALUE",
                    f"Unsatisfiable range {byte_range}.",
                    headers={"Content-Range": f"bytes */{len(content)}"},
                )
            start = int(match.group(1))
            end = min(int(match.group(2) or len(content) - 1), len(content) - 1)
            headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
            return Response(206, content[start : end + 1], headers)
        return Response(200, content, headers)

    def _fs_delete_file(self, request: Request) -> Response:
        self.volumes.delete_file(request.params["path"])
        return Response(body=b"")

    def _fs_not_emulated(self, request: Request) -> Response:
        raise not_emulated("Presigned-URL and multipart transfers of the Files API")

    def _fs_put_dir(self, request: Request) -> Response:
        self.volumes.make_directory(request.params["path"])
        return Response(body=b"")

    def _fs_list_dir(self, request: Request) -> Response:
        entries = self.volumes.list_directory(request.params["path"])
        size = min(request.query_int("page_size", required=False, default=1000) or 1000, 1000)
        token = request.query_str("page_token", required=False)
        start = _decode_token("dir", token) if token else 0
        page = entries[start : start + size]
        body: dict[str, Any] = {"contents": page} if page else {}
        if start + size < len(entries):
            body["next_page_token"] = _encode_token("dir", start + size)
        return Response(body=body)

    def _fs_head_dir(self, request: Request) -> Response:
        self.volumes.require_directory(request.params["path"])
        return Response(body=b"")

    def _fs_delete_dir(self, request: Request) -> Response:
        self.volumes.delete_directory(request.params["path"])
        return Response(body=b"")

    # ---------------------------------------------------------------- jobs

    def _job(self, job_id: int) -> dict[str, Any]:
        job = self.jobs.get(job_id)
        if job is None:
            raise invalid(f"Job {job_id} does not exist.")
        return job

    def _check_job_access(self, job_id: int, permission: str) -> None:
        if job_id in self.denied_jobs:
            raise permission_denied(
                f"User {self.user_name} does not have {permission} permissions on Job {job_id}."
            )

    def _jobs_create(self, request: Request) -> Response:
        body = request.json_body(method_schema(sdk_jobs.JobsAPI.create))
        job_rules.check_job_rules(body)
        acl = body.pop("access_control_list", None)
        job_id = next(self._job_ids)
        settings = job_rules.with_server_defaults(body) if self.server_defaults else dict(body)
        run_as = (body.get("run_as") or {}).get("user_name") or self.user_name
        self.jobs[job_id] = {
            "job_id": job_id,
            "creator_user_name": self.user_name,
            "run_as_user_name": run_as,
            "created_time": now_ms(),
            "settings": settings,
        }
        if acl:
            self.job_permissions[job_id] = permissions.checked_acl(acl, creator=self.user_name)
        return Response(body={"job_id": job_id})

    def _jobs_reset(self, request: Request) -> Response:
        body = request.json_body(method_schema(sdk_jobs.JobsAPI.reset))
        job = self._job(body["job_id"])
        self._check_job_access(body["job_id"], "CAN_MANAGE")
        new_settings = body["new_settings"]
        job_rules.check_job_rules(new_settings, "new_settings")
        job["settings"] = (
            job_rules.with_server_defaults(new_settings) if self.server_defaults else new_settings
        )
        run_as = (new_settings.get("run_as") or {}).get("user_name")
        job["run_as_user_name"] = run_as or self.user_name
        return Response()

    def _jobs_update(self, request: Request) -> Response:
        """A partial update, as the UI makes one: top-level fields replaced, tasks and job
        clusters merged by key, `fields_to_remove` naming fields or `tasks/<task_key>`."""
        body = request.json_body(method_schema(sdk_jobs.JobsAPI.update))
        job = self._job(body["job_id"])
        self._check_job_access(body["job_id"], "CAN_MANAGE")
        settings = copy.deepcopy(job["settings"])
        keyed = {"tasks": "task_key", "job_clusters": "job_cluster_key"}
        for name, value in (body.get("new_settings") or {}).items():
            if name in keyed:
                by_key = {item[keyed[name]]: item for item in settings.get(name) or []}
                by_key.update({item[keyed[name]]: item for item in value})
                settings[name] = list(by_key.values())
            else:
                settings[name] = value
        for removed in body.get("fields_to_remove") or []:
            name, _, key = removed.partition("/")
            if key and name in keyed:
                settings[name] = [x for x in settings.get(name) or [] if x[keyed[name]] != key]
            else:
                settings.pop(name, None)
        job_rules.check_job_rules(settings, "new_settings")
        job["settings"] = settings
        return Response()

    def _jobs_delete(self, request: Request) -> Response:
        body = request.json_body(method_schema(sdk_jobs.JobsAPI.delete))
        self._job(body["job_id"])
        self._check_job_access(body["job_id"], "CAN_MANAGE")
        del self.jobs[body["job_id"]]
        self.job_permissions.pop(body["job_id"], None)
        return Response()

    def _jobs_get(self, request: Request) -> Response:
        job_id = request.query_int("job_id")
        job = self._job(job_id)
        meta = {k: v for k, v in job.items() if k != "settings"}
        if request.api_version == "2.1":
            return Response(body={**meta, "settings": job["settings"]})
        token = request.query_str("page_token", required=False)
        page = _decode_token(f"job{job_id}", token) if token else 0
        settings, more = job_rules.page_of_settings(job["settings"], page)
        body: dict[str, Any] = {**meta, "settings": settings}
        if more:
            body["next_page_token"] = _encode_token(f"job{job_id}", page + 1)
        return Response(body=body)

    def _jobs_list(self, request: Request) -> Response:
        limit = request.query_int("limit", required=False, default=20)
        if not 1 <= limit <= 100:
            raise invalid(f"Invalid limit {limit}: it must be between 1 and 100.")
        offset = request.query_int("offset", required=False, default=0)
        token = request.query_str("page_token", required=False)
        if token:
            offset = _decode_token("jobs", token)
        expand = request.query_bool("expand_tasks", False)
        name = request.query_str("name", required=False)
        selected = [
            job
            for _, job in sorted(self.jobs.items(), reverse=True)
            if not name or str(job["settings"].get("name", "")).lower() == name.lower()
        ]
        page = selected[offset : offset + limit]
        out: list[dict[str, Any]] = []
        for job in page:
            entry = {k: v for k, v in job.items() if k not in ("settings", "run_as_user_name")}
            settings = job["settings"]
            if not expand:
                entry["settings"] = {
                    k: v for k, v in settings.items() if k not in ("tasks", "job_clusters")
                }
            elif request.api_version == "2.1":
                entry["settings"] = settings
            else:
                entry["settings"], more = job_rules.page_of_settings(settings, 0)
                entry["has_more"] = more
            out.append(entry)
        body: dict[str, Any] = {"has_more": offset + limit < len(selected)}
        if out:
            body["jobs"] = out
        if body["has_more"]:
            body["next_page_token"] = _encode_token("jobs", offset + limit)
        if offset > 0:
            body["prev_page_token"] = _encode_token("jobs", max(0, offset - limit))
        return Response(body=body)

    def _active_runs(self, job_id: int, *, exclude: int | None = None) -> list[job_rules.JobRun]:
        return [
            r
            for r in self.runs.values()
            if r.job_id == job_id and not r.terminal and r.run_id != exclude
        ]

    def _can_start(self, run: job_rules.JobRun) -> bool:
        limit = int(self.jobs.get(run.job_id, {}).get("settings", {}).get("max_concurrent_runs", 1))
        started = [r for r in self._active_runs(run.job_id, exclude=run.run_id) if not r.queued]
        if len(started) < max(limit, 1):
            run.queued = False
            return True
        return False

    def _jobs_run_now(self, request: Request) -> Response:
        body = request.json_body(method_schema(sdk_jobs.JobsAPI.run_now))
        job_id = body["job_id"]
        job = self._job(job_id)
        self._check_job_access(job_id, "CAN_MANAGE_RUN")
        token = body.get("idempotency_token")
        if token and token in self._idempotency:
            run_id = self._idempotency[token]
            return Response(body={"run_id": run_id, "number_in_job": run_id})
        settings = job["settings"]
        definitions = {p["name"]: p.get("default", "") for p in settings.get("parameters") or []}
        overrides: dict[str, str] = body.get("job_parameters") or {}
        for name in overrides:
            if name not in definitions:
                raise invalid(f"Job parameter '{name}' is not defined in job {job_id}.")
        job_parameters = [
            {"name": name, "default": default, "value": overrides.get(name, default)}
            for name, default in definitions.items()
        ]
        only = body.get("only")
        task_settings = [
            t for t in settings.get("tasks") or [] if not only or t["task_key"] in only
        ]
        keys = {t["task_key"] for t in task_settings}
        run_id = next(self._run_ids)
        tasks: dict[str, job_rules.TaskRun] = {}
        for task in task_settings:
            deps = [d["task_key"] for d in task.get("depends_on") or [] if d["task_key"] in keys]
            tasks[task["task_key"]] = job_rules.TaskRun(
                task_key=task["task_key"],
                run_id=next(self._run_ids),
                depends_on=deps,
                run_if=task.get("run_if", "ALL_SUCCESS"),
                settings=task,
                life_cycle_state="BLOCKED" if deps else "PENDING",
            )
        overriding: dict[str, Any] = {
            k: body[k]
            for k in ("python_params", "python_named_params", "jar_params", "notebook_params")
            if k in body
        }
        run = job_rules.JobRun(
            run_id=run_id,
            job_id=job_id,
            run_name=str(settings.get("name", "Untitled")),
            creator_user_name=self.user_name,
            tasks=tasks,
            job_parameters=job_parameters,
            overriding_parameters=overriding,
            job_clusters=list(settings.get("job_clusters") or []),
            created=time.monotonic(),
        )
        limit = int(settings.get("max_concurrent_runs", 1))
        if len(self._active_runs(job_id)) >= max(limit, 1):
            queue = body.get("queue") or settings.get("queue") or {}
            if queue.get("enabled"):
                run.queued = True
                run.life_cycle_state = "QUEUED"
                run.state_message = "Queued: the job has reached its maximum concurrent runs."
            else:
                run.skip(
                    "MAXIMUM_CONCURRENT_RUNS_REACHED",
                    f"Skipped: job {job_id} already has {limit} active run(s).",
                )
        self.runs[run_id] = run
        if token:
            self._idempotency[token] = run_id
        return Response(body={"run_id": run_id, "number_in_job": run_id})

    def _run(self, run_id: int) -> job_rules.JobRun:
        run = self.runs.get(run_id)
        if run is None:
            raise invalid(f"Run {run_id} does not exist.")
        return run

    def _catch_up(self, run: job_rules.JobRun) -> None:
        if self.run_step_seconds is None:
            return
        due = int((time.monotonic() - run.created) / self.run_step_seconds)
        while run.ticks < due and not run.terminal:
            run.tick(self.failing_tasks, self._can_start)

    def _runs_get(self, request: Request) -> Response:
        run = self._run(request.query_int("run_id"))
        self._catch_up(run)
        token = request.query_str("page_token", required=False)
        page = _decode_token(f"run{run.run_id}", token) if token else 0
        paged = request.api_version != "2.1"
        body, more = run.to_api(
            self.host,
            self.workspace_id,
            page if paged else None,
            with_history=request.query_bool("include_history", False),
        )
        if more:
            body["next_page_token"] = _encode_token(f"run{run.run_id}", page + 1)
        if self.run_step_seconds is None and not token:
            run.tick(self.failing_tasks, self._can_start)
        return Response(body=body)

    def _runs_list(self, request: Request) -> Response:
        job_id = request.query_int("job_id", required=False, default=0)
        limit = request.query_int("limit", required=False, default=20)
        if not 1 <= limit <= 25:
            raise invalid(f"Invalid limit {limit}: it must be between 1 and 25.")
        offset = request.query_int("offset", required=False, default=0)
        token = request.query_str("page_token", required=False)
        if token:
            offset = _decode_token("runs", token)
        active_only = request.query_bool("active_only", False)
        completed_only = request.query_bool("completed_only", False)
        if active_only and completed_only:
            raise invalid("active_only and completed_only cannot both be true.")
        expand = request.query_bool("expand_tasks", False)
        selected = []
        for _, run in sorted(self.runs.items(), reverse=True):
            self._catch_up(run)
            if job_id and run.job_id != job_id:
                continue
            if (active_only and run.terminal) or (completed_only and not run.terminal):
                continue
            selected.append(run)
        out = []
        for run in selected[offset : offset + limit]:
            entry, more = run.to_api(self.host, self.workspace_id, 0, with_tasks=expand)
            if expand:
                entry["has_more"] = more
            out.append(entry)
        body: dict[str, Any] = {"has_more": offset + limit < len(selected)}
        if out:
            body["runs"] = out
        if body["has_more"]:
            body["next_page_token"] = _encode_token("runs", offset + limit)
        return Response(body=body)

    def _runs_repair(self, request: Request) -> Response:
        body = request.json_body(method_schema(sdk_jobs.JobsAPI.repair_run))
        run = self._run(body["run_id"])
        self._check_job_access(run.job_id, "CAN_MANAGE_RUN")
        self._catch_up(run)
        repair_id = run.repair(body, lambda: next(self._run_ids))
        run.created = time.monotonic()
        run.ticks = 0
        return Response(body={"repair_id": repair_id})

    def _runs_cancel(self, request: Request) -> Response:
        body = request.json_body(method_schema(sdk_jobs.JobsAPI.cancel_run))
        run = self._run(body["run_id"])
        self._check_job_access(run.job_id, "CAN_MANAGE_RUN")
        run.cancel()
        return Response()

    # ------------------------------------------------------------------ apps

    def _app_routes(self) -> list[tuple[str, str, Route]]:
        app = r"^/api/2\.0/apps/(?P<name>[^/]+)"
        return [
            ("POST", r"^/api/2\.0/apps$", self._apps_create),
            ("GET", r"^/api/2\.0/apps$", self._apps_list),
            ("GET", app + "$", lambda r: Response(body=self.apps.get(r.params["name"]))),
            ("PATCH", app + "$", self._apps_update),
            ("DELETE", app + "$", lambda r: Response(body=self.apps.delete(r.params["name"]))),
            ("POST", app + "/start$", lambda r: Response(body=self.apps.start(r.params["name"]))),
            ("POST", app + "/stop$", lambda r: Response(body=self.apps.stop(r.params["name"]))),
            ("POST", app + "/deployments$", self._apps_deploy),
            (
                "GET",
                app + "/deployments$",
                lambda r: Response(
                    body={"app_deployments": self.apps.deployments(r.params["name"])}
                ),
            ),
            (
                "GET",
                app + "/deployments/(?P<deployment>[^/]+)$",
                lambda r: Response(
                    body=self.apps.deployment(r.params["name"], r.params["deployment"]).body
                ),
            ),
        ]

    def _apps_create(self, request: Request) -> Response:
        from databricks.sdk.service import apps as sdk_apps

        from .schema import dataclass_schema

        body = request.json_body(dataclass_schema(sdk_apps.App))
        no_compute = request.query_bool("no_compute", False)
        return Response(body=self.apps.create(body, no_compute=no_compute))

    def _apps_list(self, request: Request) -> Response:
        size = request.query_int("page_size", required=False, default=0)
        token = request.query_str("page_token", required=False)
        return Response(body=self.apps.list(token, size or None))

    def _apps_update(self, request: Request) -> Response:
        from databricks.sdk.service import apps as sdk_apps

        from .schema import dataclass_schema

        body = request.json_body(dataclass_schema(sdk_apps.App))
        return Response(body=self.apps.update(request.params["name"], body))

    def _apps_deploy(self, request: Request) -> Response:
        from databricks.sdk.service import apps as sdk_apps

        from .schema import dataclass_schema

        body = request.json_body(dataclass_schema(sdk_apps.AppDeployment))
        path = body.get("source_code_path")
        folder = self._folder_files(path) if isinstance(path, str) and path else None
        return Response(body=self.apps.deploy(request.params["name"], body, folder))

    def _folder_files(self, requested: str) -> dict[str, bytes] | None:
        """The files under a workspace folder by relative path; None when it is no folder."""
        try:
            path = canonical_workspace_path(requested)
        except ApiError:
            return None
        obj = self.workspace.objects.get(path)
        if obj is None or obj.object_type != "DIRECTORY":
            return None
        prefix = path.rstrip("/") + "/"
        return {
            sub[len(prefix) :]: self.workspace.objects[sub].content
            for sub in self.workspace.descendants(path)
            if self.workspace.objects[sub].object_type != "DIRECTORY"
        }
