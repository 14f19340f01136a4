"""A few read-only connections as camcount_api, shared by every request, each statement counted.

Queries run on worker threads (psycopg's blocking API, through `camcount.db.connect`), at most
`size` at a time; the cache in front makes that plenty. `queries` is what the cache saves: tests
and the benchmark read it to compare database queries with requests.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, LiteralString

import anyio.to_thread
import psycopg
from psycopg.rows import dict_row

from camcount.db import connect, error_reason
from camcount.errors import DatabaseError, DatabaseUnavailable

log = logging.getLogger(__name__)
Row = dict[str, Any]


class Database:
    def __init__(self, url: str, size: int = 4) -> None:
        self.url = url
        self.queries = 0
        self._idle: asyncio.Queue[psycopg.Connection | None] = asyncio.Queue()
        for _ in range(size):
            self._idle.put_nowait(None)  # connected on first use, and again after a failure

    async def fetch(self, query: LiteralString, params: dict[str, Any] | None = None) -> list[Row]:
        """The rows of one parameterised statement, as dicts. A database that cannot answer (down,
        misconfigured, a broken session) raises `DatabaseError`: the client gets a 503."""
        conn = await self._idle.get()
        self.queries += 1
        try:
            conn, rows = await anyio.to_thread.run_sync(self._run, conn, query, params)
        except DatabaseError as exc:  # from connect(): its message names the server, password masked
            conn = None
            log.warning("%s", exc)
            raise
        except psycopg.OperationalError as exc:  # the server went away, or a timeout ended the statement
            conn = None
            log.warning("the database did not answer: %s", error_reason(exc))
            raise DatabaseUnavailable(f"the database did not answer: {error_reason(exc)}") from None
        finally:
            self._idle.put_nowait(conn)
        return rows

    def check(self) -> None:
        """Log in once, now: a wrong password or a NOLOGIN role fails `camcount serve` at start."""
        self._connect().close()

    async def close(self) -> None:
        while not self._idle.empty():
            conn = self._idle.get_nowait()
            if conn is not None:
                conn.close()

    def _run(self, conn: psycopg.Connection | None, query: LiteralString,
             params: dict[str, Any] | None) -> tuple[psycopg.Connection, list[Row]]:
        if conn is None or conn.closed:
            conn = self._connect()
        try:
            return conn, conn.execute(query, params).fetchall()
        except psycopg.Error:
            conn.close()
            raise

    def _connect(self) -> psycopg.Connection:
        conn = connect(self.url, autocommit=True, timeout_s=5)
        conn.row_factory = dict_row  # type: ignore[assignment]
        conn.execute("SET default_transaction_read_only = on")
        conn.execute("SET statement_timeout = '5s'")  # a request waits at most this long for its rows
        # The ingest barrier waits for open inserts, and inserts queue behind it: never for long.
        conn.execute("SET lock_timeout = '1s'")
        return conn
