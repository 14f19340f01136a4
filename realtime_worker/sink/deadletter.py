"""Rows the database rejected for good (a constraint, a bad value), kept aside so they block nothing.

Each rejection writes one JSON-lines file under `$CAMCOUNT_HOME/deadletter/`, one line per row:
its table and values, the database's reason, and the database it was meant for.
`camcount worker deadletter list` shows them; `camcount worker deadletter replay` retries them
after a fix (a migration, a corrected constraint) and keeps only the rows rejected again.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from camcount.db import error_reason
from camcount.db.schema import RAW_TABLES
from camcount.errors import DatabaseError, SinkError
from realtime_worker.sink.db import BatchWriter, DatabaseIdentity, write_isolating
from realtime_worker.sink.files import stamped_name, write_durably
from realtime_worker.sink.rows import TableRow

SUFFIX = ".jsonl"


def deadletter_dir(home: Path) -> Path:
    return home / "deadletter"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    row: TableRow
    reason: str  # the database's reason, with its SQLSTATE
    database: DatabaseIdentity  # the database that rejected it, the only one it may be replayed into
    at: float  # when it was rejected (POSIX seconds)


@dataclass
class ReplayReport:
    written: int = 0
    still_rejected: int = 0
    refused: list[tuple[Path, DatabaseIdentity]] = field(default_factory=list)  # meant for another database: kept


class DeadLetters:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def add(self, rejected: list[tuple[TableRow, str]], database: DatabaseIdentity) -> Path:
        """Keep rejected rows in a new file (whole or not at all); raises OSError when it cannot."""
        self.directory.mkdir(parents=True, exist_ok=True)
        _, name = stamped_name(SUFFIX)
        path = self.directory / name
        write_durably(path, _payload([DeadLetter(row, reason, database, time.time()) for row, reason in rejected]))
        return path

    def files(self) -> list[Path]:
        """Oldest first."""
        return sorted(self.directory.glob(f"*{SUFFIX}"))

    def read(self, path: Path) -> list[DeadLetter]:
        try:
            return [
                DeadLetter(TableRow(item["table"], RAW_TABLES[item["table"]].widen(item["values"])), item["reason"],
                           DatabaseIdentity.from_json(item["database"]), item["at"])
                for item in map(json.loads, path.read_text().splitlines())
            ]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SinkError(f"{path}: unreadable dead-letter file ({exc}); repair or remove it") from None

    def describe(self) -> list[str]:
        """One line per file: rows per table, the database they are meant for, the reasons."""
        lines = []
        for path in self.files():
            letters = self.read(path)
            tables = ", ".join(f"{n} {table}" for table, n in sorted(Counter(d.row.table for d in letters).items()))
            reasons = "; ".join(sorted({d.reason for d in letters}))
            lines.append(f"{path}: {len(letters)} rows ({tables}) for {letters[0].database}: {reasons}")
        return lines

    def replay(self, writer: BatchWriter) -> ReplayReport:
        """Retry every dead letter meant for the writer's database; a file whose rows are all
        written is removed, one with rows rejected again keeps just those (with the new reason).
        Raises DatabaseError when the database cannot be reached (the files stay as they were)."""
        report = ReplayReport()
        try:
            database = writer.connect()
        except psycopg.Error as exc:
            raise DatabaseError(f"cannot replay dead letters: database unavailable: {error_reason(exc)}") from None
        for path in self.files():
            letters = self.read(path)
            if not database.accepts(letters[0].database):  # one file, one database
                report.refused.append((path, letters[0].database))
                continue
            outcome = write_isolating(writer, [d.row for d in letters])
            if outcome.unavailable is not None:
                raise DatabaseError(f"database unavailable while replaying {path}: {outcome.unavailable}; "
                                    "the file is kept, run the replay again")
            report.written += outcome.written
            report.still_rejected += len(outcome.rejected)
            if outcome.rejected:
                write_durably(path, _payload([DeadLetter(row, reason, database, time.time())
                                              for row, reason in outcome.rejected]))
            else:
                path.unlink()
        return report


def _payload(letters: list[DeadLetter]) -> bytes:
    return "".join(
        json.dumps({"table": d.row.table, "values": d.row.values, "reason": d.reason,
                    "database": d.database.to_json(), "at": d.at}) + "\n"
        for d in letters
    ).encode()
