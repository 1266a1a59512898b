"""What every `kedro dab` command shares: the error boundary (one `Error:` line and exit code
2), warnings and machine output, and the options several commands take.

Commands stay thin: they parse options, call `kedro_dab.api` and print. Only click is imported
at module level, so `kedro --help` pays nothing for this plugin.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

EXIT_USER_ERROR = 2
EXIT_OUT_OF_DATE = 1
EXIT_INTERRUPTED = 130
"""Ctrl-C: 128 + SIGINT, as a shell reports it."""


def project_path(metadata: Any) -> Path:
    return Path(getattr(metadata, "project_path", None) or os.getcwd())


def user_errors(func: F) -> F:
    """The command boundary: any error a user can cause ends as one `Error:` line on stderr
    naming the file (and key or line) and what to do, with exit code 2. With --verbose or
    KEDRO_DAB_VERBOSE=1 the traceback comes first; the line and the exit code stay.

    Ctrl-C that the command does not handle itself exits 130 (128 + SIGINT), as a shell
    reports it. Click's own usage errors, aborts and exits pass through untouched."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verbose = kwargs.pop("verbose", False) or os.environ.get("KEDRO_DAB_VERBOSE") == "1"
        from kedro_dab.errors import DabError, describe_unexpected

        try:
            _check_kedro()
            return func(*args, **kwargs)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except Exception as exc:
            if isinstance(exc, DabError):
                message = str(exc)
            else:
                root = project_path(args[0]) if args else None
                command = click.get_current_context(silent=True)
                name = command.info_name if command is not None else func.__name__
                message = describe_unexpected(exc, str(name), root)
            if verbose:
                import traceback

                traceback.print_exc()
            click.secho(f"Error: {' '.join(message.split())}", fg="red", err=True)
            sys.exit(EXIT_USER_ERROR)

    return wrapper  # type: ignore[return-value]


def _check_kedro() -> None:
    from kedro_dab.gate import check_kedro_version

    check_kedro_version()


def warn(lines: Any) -> None:
    """dab.yml entries that had no effect, one `Warning:` line each on stderr."""
    for line in lines:
        click.secho(f"Warning: {line}", fg="yellow", err=True)


def emit(text: str, output: Path | None) -> None:
    """Machine output: to stdout, or written whole to `output` (never half a file)."""
    if output is None:
        click.echo(text, nl=False)
        return
    from kedro_dab.bundle.write import atomic_write

    atomic_write(output, text)
    click.echo(f"wrote    {output}")


env_option = click.option(
    "--env",
    "-e",
    default=None,
    help="Kedro env the Databricks tasks run with. "
    "[default: databricks.yml's kedro_env variable, else 'databricks']",
)
output_option = click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file instead of stdout.",
)
verbose_option = click.option("--verbose", "-v", is_flag=True, help="Show tracebacks of errors.")
target_option = click.option(
    "--target", "-t", default=None, help="Bundle target.  [default: the target marked default]"
)
profile_option = click.option(
    "--profile", "-p", default=None, help="Profile in ~/.databrickscfg (databricks-sdk auth)."
)
engine_option = click.option(
    "--engine",
    type=click.Choice(["auto", "cli", "sdk"]),
    default="auto",
    show_default=True,
    help="cli: the databricks CLI; sdk: pure Python; auto: cli when it is on the PATH.",
)
