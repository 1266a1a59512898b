"""Fault injection: make chosen requests fail, hang or lose their connection (N times)."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

_DEFAULT_ERROR_CODES: dict[int, str] = {
    400: "INVALID_PARAMETER_VALUE",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    409: "RESOURCE_CONFLICT",
    429: "REQUEST_LIMIT_EXCEEDED",
    500: "INTERNAL_ERROR",
    502: "BAD_GATEWAY",
    503: "TEMPORARILY_UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


@dataclass
class Fault:
    """One injected fault.

    It matches requests by method (``None``: any), by ``path_regex`` searched in the URL path and,
    when given, by ``body_regex`` searched in the request body (as text: the JSON of a
    ``workspace/delete`` names its path there). It lets the first ``after`` matching requests
    through, fires for the next ``times``, then stops matching. A firing fault
    first sleeps ``delay`` seconds, then either closes the connection without answering
    (``drop_connection``), answers ``status`` with a Databricks error body (plus ``Retry-After``
    when ``retry_after`` is set), or, with neither, lets the request through to its handler.
    With ``drop_response`` the request is handled (its effects happen) but the connection is closed
    instead of answering, as when a response is lost on the way back.
    """

    path_regex: str = ".*"
    method: str | None = None
    status: int | None = None
    times: int = 1
    retry_after: int | None = None
    error_code: str | None = None
    message: str | None = None
    drop_connection: bool = False
    drop_response: bool = False
    delay: float = 0.0
    body_regex: str | None = None
    after: int = 0
    fired: int = 0
    passed: int = 0
    _pattern: re.Pattern[str] = field(init=False, repr=False)
    _body: re.Pattern[str] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._pattern = re.compile(self.path_regex)
        self._body = re.compile(self.body_regex) if self.body_regex is not None else None
        if self.method is not None:
            self.method = self.method.upper()
        if sum([self.status is not None, self.drop_connection, self.drop_response]) > 1:
            raise ValueError("choose at most one of status, drop_connection and drop_response")
        if self.times < 1:
            raise ValueError("times must be at least 1")

    @property
    def remaining(self) -> int:
        """How many more times the fault will fire."""
        return self.times - self.fired

    def matches(self, method: str, path: str, body: bytes = b"") -> bool:
        """Whether this fault applies to a request (ignoring how often it already fired)."""
        if self.method is not None and self.method != method.upper():
            return False
        if self._body is not None and not self._body.search(body.decode("utf-8", "replace")):
            return False
        return self._pattern.search(path) is not None

    def error_body(self) -> dict[str, str]:
        """The Databricks-style error body answered with ``status``."""
        status = self.status or 500
        code = self.error_code or _DEFAULT_ERROR_CODES.get(status, "UNKNOWN")
        return {"error_code": code, "message": self.message or f"Injected fault: HTTP {status}"}

    def describe(self) -> str:
        """A short label for the request log."""
        parts = []
        if self.delay:
            parts.append(f"delay={self.delay}")
        if self.drop_connection:
            parts.append("drop_connection")
        if self.drop_response:
            parts.append("drop_response")
        if self.status is not None:
            parts.append(f"status={self.status}")
        return ",".join(parts) or "pass"


class FaultInjector:
    """The faults of one fake workspace. Thread-safe; faults are tried in the order added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(
        self,
        method: str | None = None,
        path_regex: str = ".*",
        status: int | None = None,
        times: int = 1,
        retry_after: int | None = None,
        *,
        error_code: str | None = None,
        message: str | None = None,
        drop_connection: bool = False,
        drop_response: bool = False,
        delay: float = 0.0,
        body_regex: str | None = None,
        after: int = 0,
    ) -> Fault:
        """Adds a fault (see :class:`Fault`) and returns it, so a test can read ``fired``."""
        fault = Fault(
            path_regex=path_regex,
            method=method,
            status=status,
            times=times,
            retry_after=retry_after,
            error_code=error_code,
            message=message,
            drop_connection=drop_connection,
            drop_response=drop_response,
            delay=delay,
            body_regex=body_regex,
            after=after,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def drop_connection(
        self,
        path_regex: str = ".*",
        *,
        method: str | None = None,
        times: int = 1,
        body_regex: str | None = None,
        after: int = 0,
    ) -> Fault:
        """Closes the connection of matching requests without answering."""
        return self.add(
            method,
            path_regex,
            times=times,
            drop_connection=True,
            body_regex=body_regex,
            after=after,
        )

    def drop_response(
        self,
        path_regex: str = ".*",
        *,
        method: str | None = None,
        times: int = 1,
        body_regex: str | None = None,
        after: int = 0,
    ) -> Fault:
        """Handles matching requests, then closes the connection instead of answering."""
        return self.add(
            method,
            path_regex,
            times=times,
            drop_response=True,
            body_regex=body_regex,
            after=after,
        )

    def delay(
        self,
        seconds: float,
        path_regex: str = ".*",
        *,
        method: str | None = None,
        times: int = 1,
        status: int | None = None,
    ) -> Fault:
        """Sleeps before answering matching requests (normally, or with ``status``)."""
        return self.add(method, path_regex, status=status, times=times, delay=seconds)

    def take(self, method: str, path: str, body: bytes = b"") -> Fault | None:
        """The first live fault matching the request, counted as fired; ``None`` when none does
        (a fault still letting requests through counts this one as passed)."""
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.matches(method, path, body):
                    if fault.passed < fault.after:
                        fault.passed += 1
                        continue
                    fault.fired += 1
                    return fault
        return None

    @property
    def pending(self) -> list[Fault]:
        """The faults that will still fire."""
        with self._lock:
            return [f for f in self._faults if f.remaining > 0]

    @property
    def all(self) -> list[Fault]:
        """Every fault added, spent or not."""
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        """Removes every fault."""
        with self._lock:
            self._faults.clear()
