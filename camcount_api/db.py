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

from camcount.db import connect
from camcount.errors import DatabaseError

log = logging.getLogger(__name__)
Row = dict[str, Any]


class DatabaseUnavailable(Exception):
    """The database cannot answer now (down, restarting, unreachable): a 503, never a 500."""


class Database:
    def __init__(self, url: str, size: int = 4) -> None:
        self.url = url
        self.queries = 0
        self._idle: asyncio.Queue[psycopg.Connection | None] = asyncio.Queue()
        for _ in range(size):
            self._idle.put_nowait(None)  # connected on first use, and again after a failure

    async def fetch(self, query: LiteralString, params: dict[str, Any] | None = None) -> list[Row]:
        """The rows of one parameterised statement, as dicts."""
        conn = await self._idle.get()
        self.queries += 1
        try:
            conn, rows = await anyio.to_thread.run_sync(self._run, conn, query, params)
        except (DatabaseError, psycopg.OperationalError) as exc:
            conn = None
            log.warning("database unavailable: %s", str(exc).strip().splitlines()[-1] if str(exc).strip() else exc)
            raise DatabaseUnavailable from None
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
