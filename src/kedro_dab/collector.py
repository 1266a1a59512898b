"""Pausing Python's garbage collector for kedro-dab's allocation-heavy passes.

Reading the nodes and the catalog, grouping, checking and writing the plan allocate many
containers and no reference cycles, in a process that holds Kedro's pipelines: each full
collection the allocations set off would walk that whole object graph again.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the garbage collector (if it runs) for the block: for passes that allocate many
    containers and no reference cycles, in a process holding Kedro's pipelines."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
