"""Write a batch of rows into the raw hypertables in one transaction, exactly once.

Optimistic: each table's rows are COPY'd straight into the hypertable inside a savepoint, at raw
COPY speed. Only a batch that hits an existing key (a spool replay, a restarted file) rolls back
to the savepoint and takes the merge path: COPY into a per-connection temporary staging table,
then `INSERT ... SELECT ... ON CONFLICT DO NOTHING`. The deterministic keys make replays insert
nothing either way (bench/ingest.py measures both paths against a raw COPY).

Two kinds of failure, told apart once (`is_rejection`): the database cannot take the batch now
(connection lost, shut down, timed out: spool it and retry), or it refuses some of its rows for
good (a data error: `write_isolating` bisects the batch down to those rows; the rest is written).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from camcount.db import error_reason
from camcount.db.schema import RAW_TABLES
from realtime_worker.sink.rows import TableRow


@dataclass(frozen=True, slots=True)
class DatabaseIdentity:
    """Which database rows are meant for: the server's system identifier (None until the server
    was reached) and the database name. Spool segments and dead letters record it, so their rows
    are never written into another database."""

    system_identifier: str | None
    name: str | None

    @classmethod
    def of_url(cls, url: str) -> DatabaseIdentity:
        """What the URL names before its server was ever reached."""
        return cls(None, conninfo_to_dict(url).get("dbname"))

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> DatabaseIdentity:
        return cls(value["system_identifier"], value["name"])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def accepts(self, intended: DatabaseIdentity) -> bool:
        """Whether rows meant for `intended` may be written into this database: what `intended`
        knew (name, server) must match."""
        return (intended.name in (None, self.name)
                and intended.system_identifier in (None, self.system_identifier))

    def __str__(self) -> str:
        return f"database {self.name or '?'} on server {self.system_identifier or '(never reached)'}"


def is_rejection(exc: psycopg.Error) -> bool:
    """A data error (SQLSTATE classes 22 and 23: a constraint, a bad value) rejects the rows for
    good and retrying cannot help; anything else means the database cannot take them now."""
    return isinstance(exc, psycopg.DataError | psycopg.IntegrityError)


# Fleet mode: inside the write's transaction, (rows that may be written, rows fenced off).
Fence = Callable[[psycopg.Cursor, list[TableRow]], tuple[list[TableRow], list[TableRow]]]


class BatchWriter:
    """Owns one connection; reconnects lazily after a failure."""

    def __init__(self, url: str, connect_timeout_s: int = 3, fence: Fence | None = None) -> None:
        self.url = url
        self.connect_timeout_s = connect_timeout_s
        self.fence = fence
        self._fenced: list[TableRow] = []  # kept out by the fence in committed writes, until taken
        self._conn: psycopg.Connection | None = None
        self.database: DatabaseIdentity | None = None  # the database last connected to

    def connect(self) -> DatabaseIdentity:
        """Connect (if not connected) and say which database this is; raises psycopg.Error."""
        self._connection()
        return self.database  # type: ignore[return-value]  # set by every new connection

    def write(self, batch: list[TableRow]) -> dict[str, int]:
        """Insert the batch atomically; returns rows actually inserted per table.

        Raises psycopg.Error when the database cannot take it; after a rejection (`is_rejection`)
        the transaction was rolled back and the connection stays usable. With a fence, the rows it
        keeps out are not written and wait in `take_fenced()`.
        """
        conn = self._connection()
        inserted: dict[str, int] = {}
        try:
            with conn.transaction(), conn.cursor() as cur:
                allowed, fenced = self.fence(cur, batch) if self.fence else (batch, [])
                by_table: dict[str, list[tuple]] = defaultdict(list)
                for row in allowed:
                    by_table[row.table].append(row.values)
                for table, rows in by_table.items():
                    try:
                        with conn.transaction():  # a savepoint: a duplicate key undoes this COPY only
                            _copy(cur, sql.SQL("raw.{}").format(sql.Identifier(table)), table, rows)
                        inserted[table] = len(rows)
                    except psycopg.errors.UniqueViolation:
                        inserted[table] = _copy_and_merge(cur, table, rows)
        except psycopg.Error as exc:
            if not is_rejection(exc):
                self.close()
            raise
        self._fenced += fenced
        return inserted

    def take_fenced(self) -> list[TableRow]:
        """The rows the fence kept out of committed writes since the last call."""
        fenced, self._fenced = self._fenced, []
        return fenced

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            conn = psycopg.connect(
                self.url, connect_timeout=self.connect_timeout_s,
                options="-c statement_timeout=15000", keepalives=1, keepalives_idle=5,
                keepalives_interval=2, keepalives_count=2,
            )
            try:  # in use only once set up whole: who it is, and its staging tables
                system_identifier, name = conn.execute(
                    "SELECT system_identifier::text, current_database() FROM pg_control_system()").fetchone()
                for table in RAW_TABLES.values():
                    conn.execute(sql.SQL(
                        "CREATE TEMP TABLE {stage} ON COMMIT DELETE ROWS AS SELECT {cols} FROM raw.{table} WITH NO DATA"
                    ).format(stage=sql.Identifier(f"stage_{table.name}"), table=sql.Identifier(table.name),
                             cols=sql.SQL(", ").join(map(sql.Identifier, table.columns))))
                conn.commit()
            except BaseException:
                conn.close()
                raise
            self._conn, self.database = conn, DatabaseIdentity(system_identifier, name)
        return self._conn


@dataclass
class WriteOutcome:
    """What became of the rows given to `write_isolating`: each is written, rejected or unwritten."""

    inserted: Counter[str] = field(default_factory=Counter)  # rows new to the database, per table
    written: int = 0  # rows the database now holds (new, or already there from an earlier try)
    rejected: list[tuple[TableRow, str]] = field(default_factory=list)  # each with the database's reason
    fenced: list[TableRow] = field(default_factory=list)  # fleet mode: stamped after their lease expired
    unwritten: list[TableRow] = field(default_factory=list)  # not tried: the database became unavailable
    unavailable: str | None = None  # why


def write_isolating(writer: BatchWriter, rows: list[TableRow]) -> WriteOutcome:
    """Write `rows`, bisecting any part the database rejects down to the single rows at fault.

    One poison row costs about 2·log2(n) extra transactions and blocks nothing. When the database
    becomes unavailable midway, the rows not yet written come back, in order, as `unwritten`.
    """
    outcome = WriteOutcome()
    todo = [rows]  # a stack: the first half of a split part is tried first, so order is kept
    while todo:
        part = todo.pop()
        try:
            outcome.inserted.update(writer.write(part))
            fenced = writer.take_fenced()
            outcome.fenced += fenced
            outcome.written += len(part) - len(fenced)
        except psycopg.Error as exc:
            if not is_rejection(exc):
                outcome.unwritten = [row for pending in (part, *reversed(todo)) for row in pending]
                outcome.unavailable = error_reason(exc)
                return outcome
            if len(part) == 1:
                outcome.rejected.append((part[0], error_reason(exc)))
            else:
                middle = len(part) // 2
                todo += [part[middle:], part[:middle]]
    return outcome


def _copy(cur: psycopg.Cursor, target: sql.Composable, table: str, rows: list[tuple]) -> None:
    column_list = sql.SQL(", ").join(map(sql.Identifier, RAW_TABLES[table].columns))
    with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(target, column_list)) as copy:
        for values in rows:
            copy.write_row(database_values(table, values))


def _copy_and_merge(cur: psycopg.Cursor, table: str, rows: list[tuple]) -> int:
    """The replay path: stage the rows, then insert those whose key is new."""
    stage = sql.Identifier(f"stage_{table}")
    column_list = sql.SQL(", ").join(map(sql.Identifier, RAW_TABLES[table].columns))
    _copy(cur, stage, table, rows)
    cur.execute(sql.SQL("INSERT INTO raw.{} ({cols}) SELECT {cols} FROM {} ON CONFLICT DO NOTHING").format(
        sql.Identifier(table), stage, cols=column_list))
    return cur.rowcount


def database_values(table: str, values: tuple) -> tuple:
    """Spool values -> database values, by column: the time column becomes a `timestamptz`,
    JSON columns become JSON text. A value that cannot be converted is a data error, like one the
    server refuses."""
    spec = RAW_TABLES[table]
    try:
        return tuple(
            datetime.fromtimestamp(value, UTC) if column == spec.time_column
            else json.dumps(value) if column in spec.json_columns
            else value
            for column, value in zip(spec.columns, values, strict=True)
        )
    except (TypeError, ValueError, OverflowError) as exc:
        raise psycopg.DataError(f"raw.{table}: {exc}") from exc
