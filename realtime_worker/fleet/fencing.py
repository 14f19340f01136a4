"""Fencing: a row counted under a lease is written only if it was counted before that lease ended.

Every row a fleet worker produces carries a `LeaseStamp` (the epoch it held, and when, by the
database's clock). Inside the write's own transaction the sink reads when each stamped epoch
ends: the current lease's `expires_at` if the epoch is still current, else its final end in
ops.camera_lease_history. A row stamped before that end is written; one stamped at or after it
is fenced off (quarantined with an alarm, `EventSink._fence_off`).

Why this is enough, with no lock: an expired lease is never renewed, so once an epoch has ended
its end never moves; a new owner claims only after that end and counts footage captured after
its claim, and a row is stamped after the frame it comes from was captured. Rows before the end
and rows of the next owner cover disjoint footage. A paused ("zombie") worker's late rows, and
its spool replayed after a partition, are split by the same rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import psycopg

from camcount.db.schema import RAW_TABLES
from realtime_worker.sink.rows import TableRow

LeaseKey = tuple[str, int]  # camera, epoch


def camera_of(row: TableRow) -> str | None:
    columns = RAW_TABLES[row.table].columns
    return row.values[columns.index("camera_id")] if "camera_id" in columns else None


def split(rows: list[TableRow], ends: Mapping[LeaseKey, float]) -> tuple[list[TableRow], list[TableRow]]:
    """(rows to write, rows fenced off): a stamped row is written only if stamped before its
    epoch's end; an epoch the database does not know has no time left."""
    allowed, fenced = [], []
    for row in rows:
        if row.lease is None or row.lease.at < ends.get((camera_of(row), row.lease.epoch), -math.inf):
            allowed.append(row)
        else:
            fenced.append(row)
    return allowed, fenced


def lease_ends(cur: psycopg.Cursor, keys: set[LeaseKey]) -> dict[LeaseKey, float]:
    """When each (camera, epoch) ends by the database's clock: now or in the future for a current
    lease, its recorded end for an epoch that was claimed again."""
    cameras, epochs = zip(*sorted(keys), strict=True)
    rows = cur.execute(
        """SELECT k.camera_id, k.epoch,
                  extract(epoch FROM CASE WHEN l.epoch = k.epoch THEN l.expires_at ELSE h.ended_at END)::float8
           FROM unnest(%s::text[], %s::bigint[]) AS k (camera_id, epoch)
           LEFT JOIN ops.camera_leases l ON l.camera_id = k.camera_id
           LEFT JOIN ops.camera_lease_history h ON h.camera_id = k.camera_id AND h.epoch = k.epoch""",
        (list(cameras), list(epochs))).fetchall()
    return {(camera, epoch): end for camera, epoch, end in rows if end is not None}


def fence(cur: psycopg.Cursor, rows: list[TableRow]) -> tuple[list[TableRow], list[TableRow]]:
    """The sink's fence (`BatchWriter(fence=...)`): runs in the write's transaction."""
    keys = {(camera_of(row), row.lease.epoch) for row in rows if row.lease is not None}
    if not keys:
        return rows, []
    return split(rows, lease_ends(cur, keys))  # type: ignore[arg-type]  # stamped rows name their camera
