"""Write a batch of rows into the raw hypertables in one transaction, exactly once.

Optimistic: each table's rows are COPY'd straight into the hypertable inside a savepoint, at raw
COPY speed. Only a batch that hits an existing key (a spool replay, a restarted file) rolls back
to the savepoint and takes the merge path: COPY into a per-connection temporary staging table,
then `INSERT ... SELECT ... ON CONFLICT DO NOTHING`. The deterministic keys make replays insert
nothing either way (bench/ingest.py measures both paths against a raw COPY).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime

import psycopg
from psycopg import sql

from camcount.db.schema import RAW_TABLES
from realtime_worker.sink.rows import TableRow


class BatchWriter:
    """Owns one connection; reconnects lazily after a failure."""

    def __init__(self, url: str, connect_timeout_s: int = 3) -> None:
        self.url = url
        self.connect_timeout_s = connect_timeout_s
        self._conn: psycopg.Connection | None = None

    def write(self, batch: list[TableRow]) -> dict[str, int]:
        """Insert the batch atomically; returns rows actually inserted per table.

        Raises psycopg.Error when the database cannot take it (the caller spools the batch).
        """
        conn = self._connection()
        by_table: dict[str, list[tuple]] = defaultdict(list)
        for row in batch:
            by_table[row.table].append(row.values)
        inserted: dict[str, int] = {}
        try:
            with conn.transaction(), conn.cursor() as cur:
                for table, rows in by_table.items():
                    try:
                        with conn.transaction():  # a savepoint: a duplicate key undoes this COPY only
                            _copy(cur, sql.SQL("raw.{}").format(sql.Identifier(table)), table, rows)
                        inserted[table] = len(rows)
                    except psycopg.errors.UniqueViolation:
                        inserted[table] = _copy_and_merge(cur, table, rows)
        except psycopg.Error:
            self.close()
            raise
        return inserted

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self.url, connect_timeout=self.connect_timeout_s,
                options="-c statement_timeout=15000", keepalives=1, keepalives_idle=5,
                keepalives_interval=2, keepalives_count=2,
            )
            for table in RAW_TABLES.values():
                self._conn.execute(sql.SQL(
                    "CREATE TEMP TABLE {stage} ON COMMIT DELETE ROWS AS SELECT {cols} FROM raw.{table} WITH NO DATA"
                ).format(stage=sql.Identifier(f"stage_{table.name}"), table=sql.Identifier(table.name),
                         cols=sql.SQL(", ").join(map(sql.Identifier, table.columns))))
            self._conn.commit()
        return self._conn


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
    JSON columns become JSON text."""
    spec = RAW_TABLES[table]
    return tuple(
        datetime.fromtimestamp(value, UTC) if column == spec.time_column
        else json.dumps(value) if column in spec.json_columns
        else value
        for column, value in zip(spec.columns, values, strict=True)
    )
