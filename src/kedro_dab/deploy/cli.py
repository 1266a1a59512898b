"""The CLI engine: drive the Go `databricks` CLI on the generated bundle, output streamed.

The argv is the contract, tested against a stand-in executable on PATH."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from kedro_dab.errors import DabError

MIN_VERSION = (0, 250, 0)
"""Oldest CLI with serverless job environments (`environment_version`) and `--strict`."""
INSTALL_HINT = "install it: https://docs.databricks.com/dev-tools/cli/install.html"


class CliError(DabError):
    """The Databricks CLI is missing, too old, or failed."""


def find_cli() -> str | None:
    """The `databricks` executable on PATH, if any."""
    return shutil.which("databricks")


def cli_version(executable: str) -> tuple[int, ...]:
    """The CLI's version as a tuple, from `databricks --version` ("Databricks CLI v0.250.0")."""
    result = subprocess.run([executable, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"v?(\d+)\.(\d+)\.(\d+)", result.stdout + result.stderr)
    if result.returncode != 0 or not match:
        raise CliError(
            f"`{executable} --version` did not report a version; is it the Databricks "
            f"CLI? {INSTALL_HINT}"
        )
    return tuple(int(part) for part in match.groups())


def require_cli() -> str:
    """The CLI's path, checked to be at least MIN_VERSION."""
    executable = find_cli()
    minimum = ".".join(map(str, MIN_VERSION))
    if executable is None:
        raise CliError(
            f"the databricks CLI (v{minimum} or newer) is not on PATH; {INSTALL_HINT}, "
            "or deploy with --engine sdk"
        )
    version = cli_version(executable)
    if version < MIN_VERSION:
        found = ".".join(map(str, version))
        raise CliError(
            f"the databricks CLI is v{found}; kedro-dab needs v{minimum} or newer; {INSTALL_HINT}"
        )
    return executable


def bundle_args(
    action: str,
    target: str,
    *,
    profile: str | None = None,
    variables: Sequence[str] = (),
    extra: Sequence[str] = (),
) -> list[str]:
    """`bundle <action> -t <target> [--profile P] [--var k=v ...] [extra ...]`."""
    args = ["bundle", action, "-t", target]
    if profile:
        args += ["--profile", profile]
    for assignment in variables:
        args += ["--var", assignment]
    return [*args, *extra]


def run_cli(executable: str, args: Sequence[str], root: Path, echo: Callable[[str], None]) -> None:
    """Run the CLI in the bundle root, streaming its output; raise on failure."""
    process = subprocess.Popen(
        [executable, *args], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    last = ""
    for line in process.stdout:
        line = line.rstrip("\n")
        if line.strip():
            last = line
        echo(line)
    code = process.wait()
    if code != 0:
        raise CliError(f"`databricks {' '.join(args)}` failed (exit code {code}): {last}")


def summary_job_ids(
    executable: str, root: Path, target: str, profile: str | None = None
) -> dict[str, int]:
    """Job ids by resource key, from `databricks bundle summary -o json`."""
    import json

    args = [executable, *bundle_args("summary", target, profile=profile), "-o", "json"]
    result = subprocess.run(args, cwd=root, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise CliError(f"`databricks bundle summary -t {target}` failed; deploy the bundle first")
    jobs = ((json.loads(result.stdout).get("resources") or {}).get("jobs")) or {}
    return {key: int(job["id"]) for key, job in jobs.items() if job.get("id")}
