"""Worker config files for tests (the sample clip's geometry, any cameras) and count helpers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
import yaml

from realtime_worker.runner import RunSummary
from realtime_worker.sources import parse_source

LINES = [
    {"id": "centre", "points": [[384, 140], [384, 330]], "sides": {"left": "east", "right": "west"}, "in": "east"},
    {"id": "east-path", "points": [[590, 120], [560, 320]], "sides": {"left": "east", "right": "west"}, "in": "east"},
]
ZONES = [{"id": "footpath", "polygon": [[0, 180], [768, 150], [768, 330], [0, 330]]}]


def camera(camera_id: str, source: str | Path, **overrides: Any) -> dict[str, Any]:
    """A camera with the sample clip's geometry. A file starts at a fixed time (a rerun gives the
    same event ids); a live source is stamped as its frames arrive, so it takes no start_at."""
    start = {} if parse_source(str(source)).live else {"start_at": "2026-11-25T09:00:00Z"}
    return {"id": camera_id, "site": "test-site", "source": str(source), **start, "lines": LINES, "zones": ZONES,
            **overrides}


def write_config(path: Path, cameras: list[dict[str, Any]], **sections: Any) -> Path:
    document = {
        "sites": [{"id": "test-site", "name": "Test site", "timezone": "Europe/London"}],
        "cameras": cameras,
        "health": {"interval_s": 1.0, "metrics_port": None},
        **sections,
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def line_totals(summary: RunSummary, camera_id: str) -> Counter[tuple[str, str]]:
    """What the worker reported for one camera: crossings per (line, direction)."""
    return Counter({(line, direction): n for (cam, line, direction, _), n in summary.crossings.items()
                    if cam == camera_id})


def db_totals(db: psycopg.Connection, camera_id: str) -> Counter[tuple[str, str]]:
    """What the database holds for one camera: crossings per (line, direction)."""
    rows = db.execute("SELECT line_id, direction, count(*) FROM raw.crossing_events WHERE camera_id = %s "
                      "GROUP BY 1, 2", (camera_id,)).fetchall()
    return Counter({(line, direction): n for line, direction, n in rows})
