"""The ingest high watermark, shared by every reader of raw: rollups, the ingest sensor and the
observation sensors read raw rows only up to it, because every lower ingest_seq is committed."""

from __future__ import annotations

import psycopg


def high_watermark(conn: psycopg.Connection) -> int:
    """raw.ingest_high_watermark() in its own short transaction: it blocks inserts while held."""
    seq = conn.execute("SELECT raw.ingest_high_watermark()").fetchone()[0]
    conn.commit()
    return seq
