"""A strict loopback fake Databricks workspace for tests of the deploy code.

Use the ``fake_workspace`` pytest fixture (``tests/fake_workspace/fixture.py``), or
``FakeWorkspace().start()`` directly.
"""

from .errors import ApiError
from .faults import Fault, FaultInjector
from .jobs import JobRun, TaskRun
from .server import FakeWorkspace, RecordedRequest

__all__ = [
    "ApiError",
    "FakeWorkspace",
    "Fault",
    "FaultInjector",
    "JobRun",
    "RecordedRequest",
    "TaskRun",
]
