"""The `camcount` command's entry point.

Every expected failure is a `CamcountError` and reaches the user as one `error:` line with a
documented exit code (README, "Exit codes"); only bugs print a traceback. This module imports
only the standard library and camcount's errors, and the commands (`commands.py`: most of a
second) inside `main`, so Ctrl-C at any moment, even while they load, is one line and 130.
"""

from __future__ import annotations

import sys

from camcount.errors import CamcountError, ExitCode


def main() -> None:
    try:
        _run()
    except KeyboardInterrupt:  # while the commands load, or wherever click does not see it
        _fail("interrupted (Ctrl-C)", ExitCode.INTERRUPTED)


def _run() -> None:
    import click

    from camcount_cli.commands import cli

    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:  # click's name for Ctrl-C (or end of input) during a command
        _fail("interrupted (Ctrl-C)", ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except CamcountError as exc:
        _fail(str(exc), exc.exit_code)


def _fail(message: str, exit_code: int) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(exit_code)
