"""The deploy lock that keeps two deploys of one target from running at once."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from kedro_dab.deploy.workspace import Workspace, WorkspaceError
from kedro_dab.errors import DabError

LOCK_FILE = "deploy.lock"


class DeployLock:
    """The deploy lock: a JSON file `{"id", "user", "acquired_at"}` created with overwrite=false.

    Releasing never raises: it is retried, and what still fails is returned as a problem, so that
    it is reported beside the deploy's own result and never instead of it."""

    RELEASE_ATTEMPTS = 3

    def __init__(self, workspace: Workspace, path: str, user: str, force: bool) -> None:
        self.workspace, self.path, self.user, self.force = workspace, path, user, force
        self.token = uuid.uuid4().hex
        self.held = False

    def _holder(self) -> tuple[bool, dict[str, Any] | None]:
        """(exists, holder); holder None when the file is not a JSON object."""
        raw = self.workspace.read(self.path)
        if raw is None:
            return False, None
        try:
            holder = json.loads(raw)
        except ValueError:
            return True, None
        return True, holder if isinstance(holder, dict) else None

    def acquire(self) -> None:
        body = json.dumps(
            {
                "id": self.token,
                "user": self.user,
                "acquired_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        ).encode()
        for _ in range(2):
            if self.workspace.create_exclusive(self.path, body):
                self.held = True
                return
            exists, holder = self._holder()
            if exists:
                break
        # A create retried after its response was lost finds our own lock.
        if holder is not None and holder.get("id") == self.token:
            self.held = True
            return
        if not self.force:
            if holder is None:
                raise WorkspaceError(
                    f"the deploy lock {self.path} is not valid JSON (a deploy died while "
                    "writing it?); pass --force-lock to clear it"
                )
            raise WorkspaceError(
                f"the deploy lock {self.path} is held by {holder.get('user', 'someone')} since "
                f"{holder.get('acquired_at', 'an unknown time')}; wait for that deploy to end, "
                "or pass --force-lock if it died"
            )
        self.workspace.write(self.path, body, overwrite=True)
        self.held = True

    def release(self) -> str | None:
        """Delete the lock if it is still ours; a problem to report when that keeps failing."""
        if not self.held:
            return None
        failure: Exception | None = None
        for attempt in range(self.RELEASE_ATTEMPTS):
            if attempt:
                time.sleep(0.2 * attempt)
            try:
                exists, holder = self._holder()
                if exists and (holder is None or holder.get("id") == self.token):
                    self.workspace.delete(self.path)
                self.held = False
                return None
            except DabError as exc:
                failure = exc
        return (
            f"the deploy lock {self.path} could not be released ({failure}); the next deploy "
            "needs --force-lock"
        )
