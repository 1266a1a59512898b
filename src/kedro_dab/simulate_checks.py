"""What a simulated run checks after each task: that every dataset later tasks read from it
exists, in the run's boundary store when persisted, through the catalog otherwise (an
in-memory one is lost when the task ends). The catalog is the one the producing task's own
`kedro run` built: its env and its `--params` (a `${runtime_params:...}` in the catalog
resolves as in the task)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kedro_dab import boundaries
from kedro_dab.plan import Job


class BoundaryChecker:
    """After a task ends, check that each dataset later tasks read from it exists."""

    def __init__(
        self,
        project_path: Path,
        conf_source: Path,
        env: str,
        job: Job,
        argv: Mapping[str, Sequence[str]],
    ) -> None:
        """`argv`: each task's arguments, as it was started with them."""
        self.project_path = project_path
        self.conf_source = conf_source
        self.env = env
        self.by_producer: dict[str, list[Any]] = {}
        for boundary in job.boundary_datasets:
            self.by_producer.setdefault(boundary.producer, []).append(boundary)
        self._params = {key: _run_params(args) for key, args in argv.items()}
        self._catalogs: dict[str, Any] = {}
        """The `--params` text of a task -> the catalog its run built (None: it could not be
        built here)."""
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
            exists = self._exists(boundary.written_as or boundary.dataset, task_key)
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

    def _exists(self, dataset: str, task_key: str) -> bool | None:
        from kedro_dab import compat, kedro_config

        params = self._params.get(task_key, "")
        if params not in self._catalogs:
            try:
                self._catalogs[params] = kedro_config.make_catalog(
                    self.project_path,
                    self.conf_source,
                    self.env,
                    compat.run_params(params) if params else {},
                )
            except Exception:  # the task built it; what it needs may be missing here
                self._catalogs[params] = None
        catalog = self._catalogs[params]
        return None if catalog is None else kedro_config.dataset_exists(catalog, dataset)


def _run_params(argv: Sequence[str]) -> str:
    """The `--params` text of a task's `kedro run` arguments ("" without one)."""
    args = list(argv)
    at = args.index("--params") + 1 if "--params" in args else len(args)
    return args[at] if at < len(args) else ""
