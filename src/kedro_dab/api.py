"""The public Python API. Every `kedro dab` command is a thin wrapper of one function here,
so CI scripts and tests can do the same without the command line.

Each function takes the project folder and, where it matters, the Kedro env the Databricks
tasks run with (default: the `kedro_env` variable of `databricks.yml`, else `databricks`).
The functions are written in `kedro_dab._api`, one module per command family: planning,
bundling, deploying, running and serving. Importing this module loads none of what they call
(databricks-sdk, the bundle writer, the scaffold, the simulator, the serving runtime, any web
framework); each function imports what it needs when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kedro_dab._api.bundling import BundleResult, build, bundle, init, validate
from kedro_dab._api.deploying import deploy, destroy, job_url, summary
from kedro_dab._api.planning import diff, local_plan, make_plan, read, resolve_env
from kedro_dab._api.running import cancel_run, repair_run, run, simulate
from kedro_dab._api.serving import export_model, serve, serving_app
from kedro_dab.plan import Plan
from kedro_dab.project import ProjectModel

if TYPE_CHECKING:
    from kedro_dab.bundle.scaffold import InitReport
    from kedro_dab.bundle.validate import ValidationReport
    from kedro_dab.bundle.write import WriteReport
    from kedro_dab.deploy.runs import RunStatus
    from kedro_dab.deploy.sdk import DeployReport
    from kedro_dab.simulate import SimulationResult
    from kedro_dab.simulate_tasks import TaskRun

__all__ = [
    "BundleResult",
    "DeployReport",
    "InitReport",
    "Plan",
    "ProjectModel",
    "RunStatus",
    "SimulationResult",
    "TaskRun",
    "ValidationReport",
    "WriteReport",
    "build",
    "bundle",
    "cancel_run",
    "deploy",
    "destroy",
    "diff",
    "export_model",
    "init",
    "job_url",
    "local_plan",
    "make_plan",
    "read",
    "repair_run",
    "resolve_env",
    "run",
    "serve",
    "serving_app",
    "simulate",
    "summary",
    "validate",
]


_LAZY_TYPES = {
    "RunStatus": "kedro_dab.deploy.runs",
    "DeployReport": "kedro_dab.deploy.sdk",
    "InitReport": "kedro_dab.bundle.scaffold",
    "ValidationReport": "kedro_dab.bundle.validate",
    "WriteReport": "kedro_dab.bundle.write",
    "SimulationResult": "kedro_dab.simulate",
    "TaskRun": "kedro_dab.simulate_tasks",
}


def __getattr__(name: str) -> Any:
    """Result types load on first use: planning never pays for databricks-sdk, the bundle
    writer, the scaffold or the simulator."""
    if name in _LAZY_TYPES:
        import importlib

        return getattr(importlib.import_module(_LAZY_TYPES[name]), name)
    raise AttributeError(name)
