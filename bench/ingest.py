"""Ingest: the worker's sink path against a raw COPY into the same hypertable, in rows/s.

    .venv/bin/python -m bench.ingest [--rows 1000000]

Sink path: `BatchWriter.write` (what `EventSink` calls on every flush) on batches of the
worker's `sink.batch_rows`: an optimistic COPY into `raw.crossing_events` inside a savepoint,
one transaction per batch. Replayed batches (measured separately) fall back to COPY into a
staging table + `INSERT ... ON CONFLICT DO NOTHING`.
Baseline: the same rows, batches and value conversion, COPY'd straight into
`raw.crossing_events`, one transaction per batch. The ratio therefore isolates what the
exactly-once design costs. A single 100k-row COPY per round is shown for scale.

Both write the same number of fresh rows (their own camera ids, so neither is a no-op) into
the same time range (same chunks), in alternating rounds, so both meet the same table and index
sizes and the same background noise. Rows are built before the clock starts.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable

import psycopg
from psycopg import sql

from bench.common import bench_database, print_table
from camcount.db.schema import RAW_TABLES
from realtime_worker.config import SinkConfig
from realtime_worker.sink.db import BatchWriter, database_values
from realtime_worker.sink.rows import TableRow, crossing_row
from realtime_worker.types import CrossingEvent, Direction

TABLE = "crossing_events"
ROUNDS = 10
BATCH = SinkConfig().batch_rows
T0 = 1_767_225_600.0  # 2026-01-01 UTC; rows every 50 ms: 1M rows span 14 h of one daily chunk


def make_rows(camera_id: str, first: int, n: int) -> list[TableRow]:
    run_id = str(uuid.uuid4())
    return [
        crossing_row(CrossingEvent(camera_id, f"line-{i % 4}", i // 3, Direction.IN if i % 2 else Direction.OUT,
                                   "person", 0.8, T0 + i * 0.05), run_id)
        for i in range(first, first + n)
    ]


def _copy_rows(cur: psycopg.Cursor, target: sql.Composable, rows: list[TableRow]) -> None:
    columns = sql.SQL(", ").join(map(sql.Identifier, RAW_TABLES[TABLE].columns))
    with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(target, columns)) as copy:
        for row in rows:
            copy.write_row(database_values(TABLE, row.values))


def _raw_copy(url: str, batch_rows: int) -> Callable[[list[TableRow]], int]:
    conn = psycopg.connect(url)
    target = sql.SQL("raw.{}").format(sql.Identifier(TABLE))

    def write(rows: list[TableRow]) -> int:
        for start in range(0, len(rows), batch_rows):
            with conn.transaction(), conn.cursor() as cur:
                _copy_rows(cur, target, rows[start:start + batch_rows])
        return len(rows)

    return write


def _through(writer: BatchWriter) -> Callable[[list[TableRow]], int]:
    def write(rows: list[TableRow]) -> int:
        return sum(writer.write(rows[start:start + BATCH])[TABLE] for start in range(0, len(rows), BATCH))

    return write


def main(rows: int = 1_000_000) -> list[tuple[str, str, str]]:
    url = bench_database("camcount_bench_ingest")
    per_round = rows // ROUNDS
    sink, copy, one_copy = ("sink (optimistic COPY, merge on replay)", "raw COPY, same batches",
                            f"raw COPY, one {per_round:,}-row COPY per round")
    paths = {sink: _through(BatchWriter(url)), copy: _raw_copy(url, BATCH), one_copy: _raw_copy(url, per_round)}
    seconds = dict.fromkeys(paths, 0.0)
    for round_no in range(ROUNDS):
        order = list(paths) if round_no % 2 == 0 else list(paths)[::-1]
        for name in order:
            batch = make_rows(f"ingest-{uuid.uuid4().hex[:12]}", round_no * per_round, per_round)
            began = time.perf_counter()
            written = paths[name](batch)
            seconds[name] += time.perf_counter() - began
            if written != per_round:
                raise RuntimeError(f"{name}: wrote {written} of {per_round} rows")
    # A replay (restart, spool) takes the merge path: time it, and check it inserts nothing.
    replay, writer = make_rows("ingest-replay", 0, BATCH), BatchWriter(url)
    first = writer.write(replay)[TABLE]
    began = time.perf_counter()
    again = writer.write(replay)[TABLE]
    replay_rate = BATCH / (time.perf_counter() - began)
    rate = {name: rows / s for name, s in seconds.items()}
    table = [(f"{name}, rows/s", f"{r:,.0f}", f"{rows:,} rows" + (f", batches of {BATCH}" if name != one_copy else ""))
             for name, r in rate.items()]
    table += [
        ("sink / raw COPY (same batches)", f"{rate[sink] / rate[copy]:.2f}", "target >= 0.90"),
        (f"sink / raw COPY ({per_round:,}-row COPYs)", f"{rate[sink] / rate[one_copy]:.2f}", "for scale"),
        ("sink on a replayed batch, rows/s", f"{replay_rate:,.0f}",
         f"merge path: inserted {again} of {BATCH} (first write {first})"),
    ]
    print_table(f"Ingest into raw.{TABLE} (one process, alternating rounds)", table)
    return table


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per path (default 1M)")
    main(parser.parse_args().rows)
