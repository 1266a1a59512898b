"""`kedro-dab ...` (or `python -m kedro_dab ...`): `kedro dab ...` with nothing but the
command's own output on stdout.

Kedro logs one line ("Using '…' as logging configuration.") while its CLI module is imported,
before it loads any plugin, and with Kedro's default logging that line goes to stdout, ahead
of `plan --format json`. Here Kedro's CLI is imported with stdout pointed at stderr, so that
line goes to stderr; then Kedro's own CLI runs `kedro dab` with the given arguments, plugins,
hooks and project bootstrap as usual.
"""

from __future__ import annotations

import contextlib
import sys


def main() -> None:
    """Run `kedro dab` with the arguments given to this program."""
    with contextlib.redirect_stdout(sys.stderr):
        from kedro.framework.cli import main as kedro_main
    sys.argv = ["kedro", "dab", *sys.argv[1:]]
    kedro_main()


if __name__ == "__main__":
    main()
