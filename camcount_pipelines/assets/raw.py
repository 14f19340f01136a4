"""The raw hypertables the worker writes, as external assets: Dagster never materializes them,
the observation sensor records what arrived (camcount_pipelines.sensors.observe)."""

from __future__ import annotations

import dagster as dg

RAW_TABLES = ("crossing_events", "zone_events", "zone_occupancy", "stream_health", "platform_events")

_DESCRIPTIONS = {
    "crossing_events": "Line crossings (in/out per line's declared in side), one row per event.",
    "zone_events": "Zone enter/exit events, with dwell on exit.",
    "zone_occupancy": "People inside each zone, one sample per camera, zone, class and second.",
    "stream_health": "Per-camera stream health every 10 s: fps, latencies, queue depth, quality.",
    "platform_events": "Platform log: cameras down/up, spool replays, worker restarts.",
}


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", table])


raw_assets = [
    dg.AssetSpec(key=raw_key(table), description=_DESCRIPTIONS[table], group_name="raw", kinds={"timescaledb"})
    for table in RAW_TABLES
]
