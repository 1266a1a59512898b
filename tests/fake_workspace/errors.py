"""The error a fake endpoint raises to answer with a Databricks-style error body."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An HTTP error answered as ``{"error_code": ..., "message": ...}``.

    ``details`` becomes the body's ``details`` list (Google RPC style, as the Files API sends);
    ``headers`` are added to the response.
    """

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(f"{status} {error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.headers = dict(headers or {})
        self.details = list(details or [])

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        body: dict[str, Any] = {"error_code": self.error_code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


def invalid(message: str) -> ApiError:
    """400 INVALID_PARAMETER_VALUE."""
    return ApiError(400, "INVALID_PARAMETER_VALUE", message)


def not_found(message: str) -> ApiError:
    """404 RESOURCE_DOES_NOT_EXIST (Workspace API style)."""
    return ApiError(404, "RESOURCE_DOES_NOT_EXIST", message)


def permission_denied(message: str) -> ApiError:
    """403 PERMISSION_DENIED."""
    return ApiError(403, "PERMISSION_DENIED", message)


def not_emulated(message: str) -> ApiError:
    """501 NOT_IMPLEMENTED: a real workspace would answer, this fake does not emulate it."""
    return ApiError(501, "NOT_IMPLEMENTED", f"{message} (not emulated by the fake workspace)")
