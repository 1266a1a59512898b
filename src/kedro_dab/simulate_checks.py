"""What a simulated run checks after each task: that every dataset later tasks read from it
exists, in the run's boundary store when persisted, through the catalog otherwise (an
in-memory one is lost when the task ends)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kedro_dab import boundaries
from kedro_dab.plan import Job


class BoundaryChecker:
    """After a task ends, check that each dataset later tasks read from it exists."""

    def __init__(self, project_path: Path, conf_source: Path, env: str, job: Job) -> None:
        self.project_path = project_path
        self.conf_source = conf_source
        self.env = env
        self.by_producer: dict[str, list[Any]] = {}
        for boundary in job.boundary_datasets:
            self.by_producer.setdefault(boundary.producer, []).append(boundary)
        self._catalog: Any = None
        self.boundary_folder: Callable[[str], Path] | None = None
        """Where a persisted boundary dataset of this run is kept (set for persisting jobs)."""

    def check(self, task_key: str) -> tuple[list[str], list[str]]:
        """(problems, datasets whose existence cannot be told) after `task_key` ended."""
        problems = []
        unknown = []
        for boundary in self.by_producer.get(task_key, []):
            readers = ", ".join(f"'{c}'" for c in boundary.consumers)
            if boundary.persisted and self.boundary_folder is not None:
                folder = self.boundary_folder(boundary.dataset)
                if not (folder / boundaries.FORMAT_FILE).is_file():
                    problems.append(
                        f"persisted boundary dataset '{boundary.dataset}' is not in {folder} "
                        f"after task '{task_key}' finished, but task(s) {readers} read it"
                    )
                continue
            if boundary.in_memory:
                problems.append(
                    f"in-memory dataset '{boundary.dataset}' made by task '{task_key}' is lost "
                    f"when the task ends, but task(s) {readers} read it"
                )
                continue
            exists = self._exists(boundary.written_as or boundary.dataset)
            if exists is False:
                problems.append(
                    f"dataset '{boundary.dataset}' does not exist after task '{task_key}' "
                    f"finished, but task(s) {readers} read it"
                )
            elif exists is None:
                unknown.append(
                    f"cannot tell whether dataset '{boundary.dataset}' exists after task "
                    f"'{task_key}' (task(s) {readers} read it): it could not be checked here"
                )
        return problems, unknown

    def _exists(self, dataset: str) -> bool | None:
        from kedro_dab import kedro_config

        if self._catalog is None:
            self._catalog = kedro_config.make_catalog(self.project_path, self.conf_source, self.env)
        return kedro_config.dataset_exists(self._catalog, dataset)
