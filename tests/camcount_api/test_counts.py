"""`counts` answers the exact to-date counters: every value equals count(*) over the raw rows of
its local period, in its site's timezone, across hour boundaries, with hours rolled up, and with
a late event (in an hour already rolled up, then seen and dirty)."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from camcount_api.config import ApiConfig
from camcount_pipelines.rollups.compute import rollup_hours
from camcount_pipelines.rollups.sensors import scan_new_rows
from camcount_pipelines.watermark import high_watermark
from realtime_worker.types import Direction
from tests.camcount_api.conftest import Api, crossing, register, running_api, write_crossings

# Half-hour offsets: local hours start at :30 UTC, so local and UTC hours never coincide.
TIMEZONES = ["Asia/Kolkata", "America/St_Johns"]
PERIODS = ("hour", "day", "week", "month")
TTL_S = 0.2


def local_starts(at: datetime, timezone: str) -> dict[str, datetime]:
    """The local hour, day, ISO week and month containing `at`, as UTC instants (zoneinfo, not SQL)."""
    local = at.astimezone(ZoneInfo(timezone))
    hour = local.replace(minute=0, second=0, microsecond=0)
    day = hour.replace(hour=0)
    return {"hour": hour, "day": day, "week": day - timedelta(days=day.weekday()), "month": day.replace(day=1)}


def raw_counts(db: psycopg.Connection, cameras: list[str], start: datetime, until: datetime) -> dict:
    rows = db.execute(
        """SELECT camera_id, line_id, direction, count(*) FROM raw.crossing_events
           WHERE camera_id = ANY(%s) AND time >= %s AND time <= %s GROUP BY 1, 2, 3""",
        (cameras, start, until)).fetchall()
    return {(camera, line, direction): n for camera, line, direction, n in rows}


def fresh_counts(api: Api, params: dict[str, str], after: datetime) -> dict:
    """Counts read after `after` (the cache answers the previous read while it refreshes)."""
    for _ in range(50):
        answer = api.get("/api/v1/counts", params=params).json()
        if datetime.fromisoformat(answer["as_of"]) > after:
            return answer
        time.sleep(TTL_S / 2)
    raise AssertionError("the counts were not refreshed")


def assert_counts_are_raw(api: Api, db: psycopg.Connection, sites: dict[str, list[str]]) -> None:
    written = db.execute("SELECT now()").fetchone()[0]  # after every write so far
    for site, cameras in sites.items():
        timezone = db.execute("SELECT timezone FROM ops.sites WHERE site_id = %s", (site,)).fetchone()[0]
        for by in ("line", "camera", "site"):
            answer = fresh_counts(api, {"site": site, "by": by}, written)
            as_of = datetime.fromisoformat(answer["as_of"])
            starts = local_starts(as_of, timezone)
            assert {c["period"] for c in answer["counts"]} == set(PERIODS)
            for count in answer["counts"]:
                start = datetime.fromisoformat(count["period_start"])
                assert start == starts[count["period"]], (count, timezone)
                raw = raw_counts(db, cameras, start, as_of)
                for direction in ("in", "out"):
                    expected = sum(n for (camera, line, d), n in raw.items() if d == direction
                                   and count["camera_id"] in (None, camera) and count["line_id"] in (None, line))
                    assert count[direction] == expected, (by, count, direction)


def events_around_boundaries(camera_id: str, timezone: str, rng: random.Random) -> list:
    """Crossings a second either side of each local period start, plus a spread over six weeks."""
    now = datetime.now(UTC)
    instants = [now - timedelta(seconds=2)]
    for start in local_starts(now, timezone).values():
        instants += [start - timedelta(seconds=1), start, min(start + timedelta(seconds=1), now - timedelta(seconds=1))]
    lo = now - timedelta(days=42)
    instants += [lo + (now - lo) * rng.random() for _ in range(60)]
    return [crossing(camera_id, at.timestamp(), line_id=rng.choice(["centre", "east-path"]),
                     direction=rng.choice(list(Direction))) for at in instants]


def test_counts_equal_raw_rows_per_local_period(
    api_config: ApiConfig, database_url: str, db: psycopg.Connection
) -> None:
    rng = random.Random(12)
    sites = {f"api-counts-{uuid.uuid4().hex[:6]}": [f"cnt-{uuid.uuid4().hex[:8]}" for _ in range(2)]
             for _ in TIMEZONES}
    for (site, cameras), timezone in zip(sites.items(), TIMEZONES, strict=True):
        register(database_url, site, timezone, cameras)
        for camera_id in cameras:
            write_crossings(database_url, events_around_boundaries(camera_id, timezone, rng))

    with running_api(ApiConfig(**{**api_config.__dict__, "cache_ttl_s": TTL_S})) as api:
        assert_counts_are_raw(api, db, sites)  # nothing rolled up: the counters read raw

        # The whole UTC hours of the past six weeks rolled up: the counters read rollups plus raw tails.
        now = datetime.now(UTC)
        this_hour = now.replace(minute=0, second=0, microsecond=0)
        with psycopg.connect(database_url) as conn:
            rollup_hours(conn, "crossings_hourly", this_hour - timedelta(days=43), this_hour)
            conn.commit()
            cursor = high_watermark(conn)
        assert_counts_are_raw(api, db, sites)

        # A late event: it happened in an hour already rolled up, and arrives now.
        camera_id = next(iter(sites.values()))[0]
        late = this_hour - timedelta(minutes=50)
        write_crossings(database_url, [crossing(camera_id, late.timestamp(), direction=Direction.OUT)])
        assert_counts_are_raw(api, db, sites)  # counted from the raw tail above the rollup
        with psycopg.connect(database_url) as conn:
            scan_new_rows(conn, cursor)  # the ingest sensor sees it: the hour is dirty until re-rolled
        assert_counts_are_raw(api, db, sites)


@pytest.mark.parametrize("period", PERIODS)
def test_configured_lines_count_zero_before_their_first_crossing(api: Api, database_url: str, period: str) -> None:
    site, camera_id = f"api-zero-{uuid.uuid4().hex[:6]}", f"zero-{uuid.uuid4().hex[:8]}"
    register(database_url, site, "Europe/London", [camera_id])
    answer = api.get("/api/v1/counts", params={"camera": camera_id, "period": period}).json()
    assert [(c["line_id"], c["period"], c["in"], c["out"]) for c in answer["counts"]] == [
        ("centre", period, 0, 0), ("east-path", period, 0, 0)]
