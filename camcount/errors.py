"""One exception type for problems the user can fix.

Anything raised as `CamcountError` reaches the user as a single `error: ...` line (no
traceback) with the exit code attached, so every message must name the problem and the remedy.
"""

from __future__ import annotations


class ExitCode:
    """Process exit codes, documented in README.md ("Exit codes")."""

    OK = 0
    FAILURE = 1  # unexpected internal error (a bug: traceback printed)
    USAGE = 2  # bad command line or bad config file
    DATABASE = 3  # database unreachable, misconfigured, or lacks TimescaleDB
    SOURCE = 4  # a camera could not be opened or stayed unreachable past its retry budget
    SPOOL = 5  # the local spool is full or unwritable: data could not be kept safe
    DETECTOR = 6  # detector weights could not be loaded
    SINK = 7  # rows kept aside, not written (dead-lettered, quarantined, another database's), or the sink stopped
    INTERRUPTED = 130  # Ctrl-C (SIGINT) before the command finished; `worker run` instead flushes and exits 0


class CamcountError(Exception):
    """A failure with a message meant for the user."""

    exit_code: int = ExitCode.FAILURE

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ConfigError(CamcountError):
    exit_code = ExitCode.USAGE


class DatabaseError(CamcountError):
    exit_code = ExitCode.DATABASE


class DatabaseUnavailable(DatabaseError):
    """The server is down, starting, stopping or full: the worker spools and retries; a command fails."""


class SourceError(CamcountError):
    exit_code = ExitCode.SOURCE


class SpoolError(CamcountError):
    exit_code = ExitCode.SPOOL


class SinkError(CamcountError):
    exit_code = ExitCode.SINK


class Interrupted(CamcountError):
    """Ctrl-C, with what was left in what state (e.g. an embedded database stopped again)."""

    exit_code = ExitCode.INTERRUPTED


class DetectorError(CamcountError):
    exit_code = ExitCode.DETECTOR
