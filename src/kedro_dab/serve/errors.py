"""What goes wrong in serving: serving cannot start, a request cannot be run as sent, or a node
fails while answering one."""

from __future__ import annotations

from kedro_dab.errors import DabError, first_line


class ServeError(DabError):
    """Serving cannot start: an unknown endpoint, a missing extra, an unsupported Kedro."""


class RequestError(Exception):
    """A request that cannot be run as sent (HTTP 422): the message names the input or
    parameter at fault."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NodeFailed(Exception):
    """A node raised while answering a request (HTTP 500)."""

    def __init__(self, endpoint: str, node: str, error: BaseException) -> None:
        super().__init__(f"node '{node}' of endpoint '{endpoint}' failed: {first_line(error)}")
        self.endpoint = endpoint
        self.node = node
        self.error = error


class OutputError(Exception):
    """An endpoint's output that cannot be written as JSON (HTTP 500)."""

    def __init__(self, dataset: str, reason: str) -> None:
        super().__init__(f"output '{dataset}' {reason}")
        self.dataset = dataset
        self.reason = reason
