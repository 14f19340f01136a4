"""A full spool names its quota in readable units: 0.01 MB read "quota of 0 MB"."""

from __future__ import annotations

from pathlib import Path

import pytest

from realtime_worker.sink.db import DatabaseIdentity
from realtime_worker.sink.rows import TableRow
from realtime_worker.sink.spool import Spool, SpoolFull


def test_a_small_spool_quota_is_named_in_readable_units(tmp_path: Path) -> None:
    spool = Spool(tmp_path, quota_bytes=10_000)  # sink.spool_quota_mb: 0.01
    batch = [TableRow("platform_events", (0.0, "id", "test", "info", None, "x" * 20_000, {}))]
    with pytest.raises(SpoolFull, match=r"^spool quota of 10 kB reached in "):
        spool.append(batch, DatabaseIdentity(None, "camcount"))
