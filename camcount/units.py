"""Quantities in messages, in units a reader takes in at a glance."""

from __future__ import annotations


def readable_bytes(count: float) -> str:
    """Decimal units, as `sink.spool_quota_mb` is given: 10_000 reads `10 kB` (not `0 MB`)."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(count) < 1000:
            return f"{count:.4g} {unit}"
        count /= 1000
    return f"{count:.4g} TB"
