"""The Kedro side of persisted boundaries: the hook and the dataset it adds (see `boundaries`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.io import AbstractDataset

from kedro_dab import compat
from kedro_dab.boundaries import (
    FORMAT_FILE,
    PARAM,
    SEPARATOR,
    STARTED_FILE,
    dataset_location,
    load_data,
    save_data,
)

logger = logging.getLogger(__name__)
TIMING = "boundary dataset %s: %s %s, %d bytes, in %.4f s"
"""The INFO line each save and load logs (what benchmarks/simulation.py reads)."""


class BoundaryDataset(AbstractDataset[Any, Any]):
    """One in-memory dataset kept for one run, so a later task of the run can read it."""

    def __init__(self, path: str) -> None:
        """`path`: the dataset's folder, `<store>/<run id>/<dataset>`."""
        self._path = Path(path)

    def load(self) -> Any:
        began = time.perf_counter()
        data = load_data(self._path)
        self._log("loaded", began)
        return data

    def save(self, data: Any) -> None:
        began = time.perf_counter()
        run = self._path.parent
        run.mkdir(parents=True, exist_ok=True)
        started = run / STARTED_FILE
        if not started.exists():
            started.write_text(f"{time.time()}\n", encoding="utf-8")
        save_data(data, self._path)
        self._log("saved", began)

    def _log(self, verb: str, began: float) -> None:
        seconds = time.perf_counter() - began
        kind = (self._path / FORMAT_FILE).read_text(encoding="utf-8").strip()
        size = sum(p.stat().st_size for p in self._path.rglob("*") if p.is_file())
        logger.info(TIMING, self._path.name, verb, kind, size, seconds)

    def _exists(self) -> bool:
        return (self._path / FORMAT_FILE).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}


# --- the hook -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoundarySettings:
    """What one task persists: where, for which run, which datasets it loads and saves."""

    store: str
    run_id: str
    load: tuple[str, ...] = ()
    save: tuple[str, ...] = ()

    @classmethod
    def from_param(cls, value: Any) -> BoundarySettings:
        """Settings from the `kedro_dab` runtime parameter's value (a mapping)."""
        if not isinstance(value, dict) or "store" not in value or "run_id" not in value:
            raise ValueError(
                f"the runtime parameter '{PARAM}' is reserved for kedro-dab's persisted "
                "boundaries and needs 'store' and 'run_id'; rename your own parameter"
            )

        def names(key: str) -> tuple[str, ...]:
            raw = value.get(key)
            return tuple(n for n in str(raw).split(SEPARATOR) if n) if raw is not None else ()

        return cls(str(value["store"]), str(value["run_id"]), names("load"), names("save"))

    def location(self, dataset: str) -> str:
        """Where this run keeps `dataset`."""
        return dataset_location(self.store, self.run_id, dataset)


def take_settings(context: Any) -> BoundarySettings | None:
    """Remove the reserved runtime parameter from the context and return what it asked for."""
    found: Any = None
    holders = [
        getattr(context.config_loader, "runtime_params", None),
        getattr(context, "_runtime_params", None),  # Kedro 1.x
        getattr(context, "_extra_params", None),  # Kedro 0.19
    ]
    for holder in holders:
        if isinstance(holder, dict) and PARAM in holder:
            found = holder.pop(PARAM)
    return None if found is None else BoundarySettings.from_param(found)


def add_datasets(catalog: Any, settings: BoundarySettings, used: Iterable[str] = ()) -> None:
    """Put one `BoundaryDataset` per loaded or saved dataset into the run's catalog: under its
    name, and under each transcoded form of it (`m@x`) among the dataset names `used` by the
    run's nodes, all forms sharing the one folder, as they share one dataset in Kedro's graph."""
    wanted = dict.fromkeys((*settings.load, *settings.save))
    names = {name: name for name in wanted}
    for form in used:
        if "@" in form and compat.strip_transcoding(form) in wanted:
            names[form] = compat.strip_transcoding(form)
    for name, dataset_name in names.items():
        dataset = BoundaryDataset(settings.location(dataset_name))
        if hasattr(catalog, "add"):  # Kedro 0.19
            catalog.add(name, dataset, replace=True)
        else:
            catalog[name] = dataset


class BoundaryHooks:
    """Adds the persisted boundary datasets a task asks for; inert for any other run."""

    def __init__(self) -> None:
        self.settings: BoundarySettings | None = None

    @hook_impl(tryfirst=True)
    def after_context_created(self, context: Any) -> None:
        """Take the reserved parameter out before Kedro reads the parameters."""
        self.settings = take_settings(context)

    @hook_impl
    def after_catalog_created(self, catalog: Any) -> None:
        """Add this run's boundary datasets to the catalog."""
        if self.settings is not None:
            add_datasets(catalog, self.settings)

    @hook_impl
    def before_pipeline_run(self, pipeline: Any, catalog: Any) -> None:
        """Add the transcoded forms (`m@x`) the run's nodes read or write of its boundary
        datasets: only the nodes name them."""
        if self.settings is not None:
            used = {name for node in pipeline.nodes for name in (*node.inputs, *node.outputs)}
            add_datasets(catalog, self.settings, sorted(used))


hooks = BoundaryHooks()
