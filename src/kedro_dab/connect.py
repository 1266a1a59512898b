"""Databricks Connect: run the project here while its Spark work runs on Databricks.

`kedro dab run --local --connect` sets `KEDRO_DAB_CONNECT` for every task process; the hook
below (registered through Kedro's `kedro.hooks` entry point, inert without that variable)
then opens a `DatabricksSession` before the project's own hooks ask for Spark, so
`SparkSession.builder.getOrCreate()` in the project returns the remote session.

Version pairing: databricks-connect's major.minor must match the cluster's Databricks Runtime
(16.4 for DBR 16.4 LTS); from 16.2 it needs Python 3.12 or newer; and `pyspark` must never be
installed beside it (databricks-connect ships its own).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass
from importlib import metadata
from typing import Any

from kedro.framework.hooks import hook_impl

from kedro_dab.errors import DabError

ENV_VAR = "KEDRO_DAB_CONNECT"
INSTALL = "pip install 'kedro-dab[connect]' (databricks-connect matching your cluster's runtime)"


class ConnectError(DabError):
    """Databricks Connect is missing, clashes with pyspark, or does not fit this Python."""


@dataclass(frozen=True)
class ConnectSettings:
    """Where the remote Spark session runs."""

    profile: str | None = None
    cluster_id: str | None = None
    serverless: bool = False

    def to_env(self) -> str:
        """The value of KEDRO_DAB_CONNECT for these settings."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_env(cls, value: str) -> ConnectSettings:
        """Settings from a KEDRO_DAB_CONNECT value."""
        return cls(**json.loads(value))


def _installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def check_environment() -> str:
    """databricks-connect's version, after checking it is installed, alone (no separate
    pyspark) and on a Python it supports."""
    version = _installed("databricks-connect")
    if version is None:
        raise ConnectError(f"--connect needs databricks-connect, which is not installed: {INSTALL}")
    if _installed("pyspark") is not None:
        raise ConnectError(
            "pyspark is installed beside databricks-connect, which breaks it: "
            "`pip uninstall pyspark`, then reinstall databricks-connect"
        )
    major_minor = tuple(int(part) for part in version.split(".")[:2])
    if major_minor >= (16, 2) and sys.version_info < (3, 12):
        raise ConnectError(
            f"databricks-connect {version} needs Python 3.12 or newer (this is "
            f"{sys.version_info[0]}.{sys.version_info[1]}); use Python 3.12, or "
            "databricks-connect<16.2 for an older runtime"
        )
    return version


def open_session(settings: ConnectSettings) -> Any:
    """Create (and make active) the remote Spark session."""
    from databricks.connect import DatabricksSession

    builder = DatabricksSession.builder
    if settings.profile:
        builder = builder.profile(settings.profile)
    if settings.serverless:
        builder = builder.serverless(True)
    elif settings.cluster_id:
        builder = builder.clusterId(settings.cluster_id)
    return builder.getOrCreate()


class ConnectHooks:
    """Opens the Databricks Connect session when KEDRO_DAB_CONNECT is set; otherwise inert."""

    @hook_impl(tryfirst=True)
    def after_context_created(self, context: Any) -> None:
        """Open the remote session before project hooks create their own Spark session."""
        value = os.environ.get(ENV_VAR)
        if value:
            check_environment()
            open_session(ConnectSettings.from_env(value))


hooks = ConnectHooks()
