"""The soak test: the platform run the way a user runs it, for about five minutes.

`camcount demo` in its live mode (without a browser) on a TimescaleDB cluster of its own, on free
ports, with its own CAMCOUNT_HOME and DAGSTER_HOME: two looping live cameras, `dagster dev` with
its daemon and every sensor, the API. While it runs, the test provokes what a day brings:

- a late event: a crossing dated an hour ago, written through the worker's sink;
- a worker restart: SIGTERM (a clean stop), 45 s down, started again;
- a database restart: `camcount db stop`, twenty seconds down, `camcount db start`.

Then Dagster's GraphQL must show no failed sensor tick and no failed run (after retries), the
marts must count the last event within 2 minutes, the alerts the restarts provoked (camera
offline, data gap) must have opened and resolved, and raw = rollups = marts, per hour and per
local day. A short summary (ticks, runs, alerts) is printed, and kept in the test's directory.

The second test opens the Dagster UI of the same running platform in a real browser (Debian
chromium driven by Playwright): the lineage, the automation page, the daily report asset.

CAMCOUNT_SOAK_S sets the live phase (default 240 s; with the catching up after it, the platform
runs about 5 minutes past its set-up). The calendar rollups catch up every minute here
(CAMCOUNT_CALENDAR_ROLLUP_CRON), not every 5, so the daily totals are judged without waiting.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest

from bench.harness.net import free_port
from realtime_worker.sink import EventSink
from realtime_worker.sink.rows import crossing_row
from realtime_worker.types import CrossingEvent, Direction
from tests.conftest import REPO

pytestmark = pytest.mark.slow

SOAK_S = float(os.environ.get("CAMCOUNT_SOAK_S", "240"))
LATE_EVENT_AT_S = 15  # after the live phase starts
WORKER_STOP_AT_S, WORKER_DOWN_S = 25, 45  # offline for a minute with its start-up: camera_offline, then data_gap
DB_STOP_AT_S, DB_DOWN_S = 90, 20
SETTLE_S = 60  # after the database is back, before the live phase may end
CALENDAR_S = 60  # CAMCOUNT_CALENDAR_ROLLUP_CRON below: days, weeks and months catch up every minute
FRESH_WITHIN_S = 120  # marts count the last event within this (issue 5)
LIVE_CAMERAS = ("plaza-live-1", "plaza-live-2")
# Thresholds scaled to a five-minute soak (AlertRules.from_env): a camera silent for 15 s is
# offline, a hole of 30 s between health samples is a gap, looked for over the last 3 minutes.
ALERT_ENV = {"CAMCOUNT_ALERT_OFFLINE_AFTER_MIN": "0.25", "CAMCOUNT_ALERT_DATA_GAP_MIN": "0.5",
             "CAMCOUNT_ALERT_GAP_LOOKBACK_MIN": "3"}
CALENDAR_ENV = {"CAMCOUNT_CALENDAR_ROLLUP_CRON": "* * * * *"}
# Settings of the developer's own environment that would point the demo elsewhere.
FOREIGN_ENV = ("CAMCOUNT_DATABASE_URL", "CAMCOUNT_DAGSTER_DATABASE_URL", "CAMCOUNT_DAGSTER_POSTGRES_URL",
               "CAMCOUNT_API_DATABASE_URL", "CAMCOUNT_ALERT_WEBHOOK_URL", "DAGSTER_HOME", "CAMCOUNT_HOME")


@dataclass
class Platform:
    """The running demo: its processes, ports, home and database."""

    home: Path
    env: dict[str, str]
    ui_port: int
    database_url: str
    demo: subprocess.Popen
    log: Path
    workers: list[subprocess.Popen] = field(default_factory=list)  # replacement workers the test started

    @property
    def graphql_url(self) -> str:
        return f"http://127.0.0.1:{self.ui_port}/graphql"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ui_port}"

    def camcount(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([str(REPO / ".venv/bin/camcount"), *args], env=self.env, cwd=REPO,
                              capture_output=True, text=True, timeout=timeout)

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        request = urllib.request.Request(self.graphql_url, data=json.dumps({"query": query, "variables": variables})
                                         .encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        assert not answer.get("errors"), answer["errors"]
        return answer["data"]

    def sql(self, query: str, params: Any = None) -> list[tuple]:
        with psycopg.connect(self.database_url, connect_timeout=10) as conn:
            return conn.execute(query, params).fetchall()

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _wait(condition, timeout_s: float, what: str | Callable[[], str], platform: Platform | None = None,
          every_s: float = 2.0) -> Any:
    """Poll `condition` until it returns something true; `what` (or what it returns) says what
    was awaited when it times out."""
    deadline = time.time() + timeout_s
    while True:
        with contextlib.suppress(OSError, psycopg.Error):
            if result := condition():
                return result
        if platform is not None and platform.demo.poll() is not None:
            pytest.fail(f"camcount demo exited ({platform.demo.returncode}) while waiting:\n"
                        f"{platform.log_tail()}")
        if time.time() > deadline:
            tail = f"\n{platform.log_tail()}" if platform else ""
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what() if callable(what) else what}{tail}")
        time.sleep(every_s)


def _poll(condition, timeout_s: float, every_s: float = 2.0) -> Any:
    """What `condition` returns once it is true, or None after `timeout_s`."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        with contextlib.suppress(OSError, psycopg.Error):
            if result := condition():
                return result
        time.sleep(every_s)
    return None


def _daemons_healthy(platform: Platform) -> bool:
    data = platform.graphql("{ instance { daemonHealth { allDaemonStatuses { daemonType healthy required } } } }")
    statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
    return all(d["healthy"] for d in statuses if d["required"]) and {"SENSOR", "ASSET"} <= {
        d["daemonType"] for d in statuses if d["healthy"]}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """`camcount demo` in live mode, as a user starts it, in a home and on ports of its own."""
    root = tmp_path_factory.mktemp("soak")
    home = root / "home"
    db_port, ui_port = free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if key not in FOREIGN_ENV}
    env.update(ALERT_ENV, **CALENDAR_ENV, CAMCOUNT_HOME=str(home), CAMCOUNT_DB_PORT=str(db_port),
               CAMCOUNT_UI_PORT=str(ui_port), CAMCOUNT_API_PORT=str(free_port()),
               CAMCOUNT_METRICS_PORT=str(free_port()), DAGSTER_DISABLE_TELEMETRY="1",
               DBT_SEND_ANONYMOUS_USAGE_STATS="false", PYTHONUNBUFFERED="1")
    log = root / "demo.log"
    with open(log, "wb") as out:
        demo = subprocess.Popen([str(REPO / ".venv/bin/camcount"), "demo"], cwd=REPO, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    platform = Platform(home, env, ui_port, f"postgresql://camcount@127.0.0.1:{db_port}/camcount", demo, log)
    try:
        # Set-up (cluster, migrations, the sample clip, its rollups, marts and report) then live mode.
        _wait(lambda: f"Dagster UI: http://127.0.0.1:{ui_port}" in log.read_text(errors="replace"), 1200,
              "the demo's live mode", platform, every_s=5)
        _wait(lambda: _daemons_healthy(platform), 300, "Dagster's daemons", platform)
        yield platform
    finally:
        _stop_platform(platform)


def _stop_platform(platform: Platform) -> None:
    """Ctrl-C for the demo (it stops its worker, API and `dagster dev`), then whatever lingers."""
    family = [] if platform.demo.poll() is not None else psutil.Process(platform.demo.pid).children(recursive=True)
    for worker in platform.workers:
        with contextlib.suppress(ProcessLookupError):
            worker.terminate()
    with contextlib.suppress(ProcessLookupError):
        platform.demo.send_signal(signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        platform.demo.wait(90)
    for process in [*family, *(psutil.Process(w.pid) for w in platform.workers if w.poll() is None)]:
        with contextlib.suppress(psutil.Error):
            process.kill()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(platform.demo.pid, signal.SIGKILL)
    platform.camcount("db", "stop")


# -- provoking ---------------------------------------------------------------------------------

def _live_worker(platform: Platform) -> psutil.Process:
    """The demo's live worker (its child `camcount worker run --config .../demo/live.yaml`)."""
    workers = [p for p in psutil.Process(platform.demo.pid).children()
               if "worker" in p.cmdline() and "run" in p.cmdline() and p.is_running()
               and p.status() != psutil.STATUS_ZOMBIE]
    assert len(workers) == 1, [p.cmdline() for p in workers]
    return workers[0]


def _live_crossings(platform: Platform) -> int:
    """Crossings the live cameras counted so far; fails at once when the demo's live worker died."""
    try:
        _live_worker(platform)
    except AssertionError:
        pytest.fail(f"the demo's live worker is not running:\n{platform.log_tail()}")
    return platform.sql("SELECT count(*) FROM raw.crossing_events WHERE camera_id = ANY(%s)",
                        (list(LIVE_CAMERAS),))[0][0]


def _late_event(platform: Platform, workdir: Path) -> float:
    """One crossing dated an hour ago, through the worker's own sink (as a worker that was away
    for an hour would deliver it from its spool)."""
    at = time.time() - 3600
    event = CrossingEvent(LIVE_CAMERAS[0], "centre", 1, Direction.IN, "person", 0.9, at)
    sink = EventSink(platform.database_url, workdir, workdir / "spool").start()
    sink.put([crossing_row(event, "soak-late-event")])
    sink.close()
    assert sink.stats.inserted["crossing_events"] == 1 and sink.stats.error() is None, sink.stats
    return at


def _restart_worker(platform: Platform) -> int:
    """SIGTERM the live worker (it flushes and records a clean stop), leave its cameras dark for a
    while, then start it again with the same config; returns the pid it had."""
    worker = _live_worker(platform)
    pid, command = worker.pid, worker.cmdline()
    worker.terminate()
    _wait(lambda: not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE, 60, "the worker to stop")
    time.sleep(WORKER_DOWN_S)
    with open(platform.log.with_name("worker-restarted.log"), "ab") as out:
        platform.workers.append(subprocess.Popen(command, cwd=REPO, env={**platform.env, "PYTHONUNBUFFERED": "1"},
                                                 stdout=out, stderr=subprocess.STDOUT))
    return pid


def _restart_database(platform: Platform) -> None:
    stopped = platform.camcount("db", "stop")
    assert stopped.returncode == 0, stopped.stderr
    time.sleep(DB_DOWN_S)
    started = platform.camcount("db", "start")
    assert started.returncode == 0, started.stderr


def _sleep_until(moment: float, platform: Platform) -> None:
    while time.time() < moment:
        if platform.demo.poll() is not None:
            pytest.fail(f"camcount demo exited ({platform.demo.returncode}):\n{platform.log_tail()}")
        time.sleep(min(5.0, max(0.0, moment - time.time())))


# -- reading what happened ---------------------------------------------------------------------

HOURLY = {
    "raw": """SELECT time_bucket('1 hour', time), camera_id, line_id, direction, count(*)
              FROM raw.crossing_events GROUP BY 1, 2, 3, 4""",
    "rollup": """SELECT bucket, camera_id, line_id, direction, sum(crossings)
                 FROM rollup.crossings_hourly GROUP BY 1, 2, 3, 4 HAVING sum(crossings) > 0""",
    "marts": """SELECT bucket_utc, camera_id, line_id, direction, sum(crossings)
                FROM marts.fct_crossings_hourly GROUP BY 1, 2, 3, 4 HAVING sum(crossings) > 0""",
}
DAILY = {
    "raw": """SELECT (e.time AT TIME ZONE s.timezone)::date, e.camera_id, e.line_id, e.direction, count(*)
              FROM raw.crossing_events e JOIN ops.cameras c USING (camera_id) JOIN ops.sites s USING (site_id)
              GROUP BY 1, 2, 3, 4""",
    "rollup": """SELECT day, camera_id, line_id, direction, sum(crossings)
                 FROM rollup.crossings_daily GROUP BY 1, 2, 3, 4 HAVING sum(crossings) > 0""",
    "marts": """SELECT local_date, camera_id, line_id, direction, sum(crossings)
                FROM marts.fct_crossings_daily GROUP BY 1, 2, 3, 4 HAVING sum(crossings) > 0""",
}


def _totals(platform: Platform, queries: dict[str, str]) -> dict[str, dict[tuple, int]]:
    """One snapshot of every layer (one transaction, so the layers are compared at one moment)."""
    with psycopg.connect(platform.database_url, connect_timeout=10) as conn, conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return {layer: {tuple(row[:4]): int(row[4]) for row in conn.execute(query)}
                for layer, query in queries.items()}


def _when_equal(platform: Platform, queries: dict[str, str]) -> dict[str, dict[tuple, int]] | None:
    """The layers' totals once raw = rollups = marts, else None."""
    totals = _totals(platform, queries)
    return None if _differences(totals) else totals


def _differences(totals: dict[str, dict[tuple, int]]) -> list[str]:
    raw = totals["raw"]
    out = []
    for layer in ("rollup", "marts"):
        for key in sorted(raw.keys() | totals[layer].keys(), key=str):
            if raw.get(key, 0) != totals[layer].get(key, 0):
                when, camera, line, direction = key
                out.append(f"{layer} {str(when)[:16]} {camera} {line} {direction}: raw {raw.get(key, 0)}, "
                           f"{layer} {totals[layer].get(key, 0)}")
    return out


SENSORS = """
query Sensors($selector: RepositorySelector!) {
  sensorsOrError(repositorySelector: $selector) {
    __typename
    ... on Sensors { results { name sensorState { status ticks(limit: 100000) {
        status timestamp error { message } } } } }
    ... on PythonError { message }
  }
}"""
RUNS = """
query Runs($cursor: String) {
  runsOrError(limit: 500, cursor: $cursor) {
    __typename
    ... on Runs { results { runId jobName status startTime endTime tags { key value } } }
    ... on PythonError { message }
  }
}"""
RUN_ERRORS = """
query RunErrors($runId: ID!) {
  logsForRun(runId: $runId, limit: 5000) {
    __typename
    ... on EventConnection { events {
        __typename
        ... on ExecutionStepFailureEvent { stepKey error { message causes { message } } }
        ... on ExecutionStepUpForRetryEvent { stepKey error { message causes { message } } }
        ... on RunFailureEvent { error { message causes { message } } }
        ... on MessageEvent { message level } } }
  }
}"""
BACKFILLS = """
{ partitionBackfillsOrError(limit: 1000) {
    __typename
    ... on PartitionBackfills { results { id status timestamp error { message } } }
    ... on PythonError { message } } }"""
UNFINISHED = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED", "MANAGED", "CANCELING")


def _repository(platform: Platform) -> dict[str, str]:
    data = platform.graphql("""{ repositoriesOrError { __typename ... on RepositoryConnection {
        nodes { name location { name } } } } }""")
    [repository] = data["repositoriesOrError"]["nodes"]
    return {"repositoryName": repository["name"], "repositoryLocationName": repository["location"]["name"]}


def _sensor_ticks(platform: Platform) -> dict[str, list[dict]]:
    data = platform.graphql(SENSORS, selector=_repository(platform))["sensorsOrError"]
    assert data["__typename"] == "Sensors", data
    return {sensor["name"]: sensor["sensorState"]["ticks"] for sensor in data["results"]}


def _runs(platform: Platform) -> list[dict]:
    runs: list[dict] = []
    cursor = None
    while True:
        page = platform.graphql(RUNS, cursor=cursor)["runsOrError"]
        assert page["__typename"] == "Runs", page
        runs += page["results"]
        if len(page["results"]) < 500:
            return runs
        cursor = page["results"][-1]["runId"]


def _backfills(platform: Platform) -> list[dict]:
    """The automation's partitioned requests: Dagster submits them as asset backfills, and one
    that fails launches no run at all (so no failed run shows it)."""
    page = platform.graphql(BACKFILLS)["partitionBackfillsOrError"]
    assert page["__typename"] == "PartitionBackfills", page
    return page["results"]


def _tags(run: dict) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in run["tags"]}


def _unhealed_failures(runs: list[dict]) -> list[dict]:
    """Failed runs whose retries (Dagster's run retries: the same dagster/root_run_id) never
    succeeded: a family of retries is judged by its last run."""
    families: dict[str, list[dict]] = {}
    for run in runs:
        families.setdefault(_tags(run).get("dagster/root_run_id", run["runId"]), []).append(run)
    unhealed = []
    for family in families.values():
        last = max(family, key=lambda r: (int(_tags(r).get("dagster/retry_number", 0)), r["startTime"] or 0))
        if last["status"] in ("FAILURE", "CANCELED"):
            unhealed.append(last)
    return unhealed


def _run_error(platform: Platform, run_id: str) -> str:
    events = platform.graphql(RUN_ERRORS, runId=run_id)["logsForRun"]["events"]
    errors = [f"{e.get('stepKey') or 'run'}: "
              + " <- ".join(x["message"].strip() for x in [e["error"], *e["error"]["causes"]]) for e in events
              if e["__typename"] in ("ExecutionStepUpForRetryEvent", "ExecutionStepFailureEvent", "RunFailureEvent")
              and e.get("error")]
    return " | ".join(dict.fromkeys(errors)) or next(
        (e["message"] for e in reversed(events) if e.get("level") == "ERROR"), "(no error event)")


def _describe_run(platform: Platform, run: dict, runs: list[dict]) -> str:
    tags = _tags(run)
    partition = tags.get("dagster/partition", "-")
    later = [r["runId"][:8] for r in runs if (r["jobName"], r["status"]) == (run["jobName"], "SUCCESS")
             and partition != "-" and _tags(r).get("dagster/partition", "-") == partition
             and (r["startTime"] or 0) > (run["startTime"] or 0)]
    healed = f" (a later run of the same partition succeeded: {', '.join(later)})" if later else ""
    return (f"run {run['runId'][:8]} {run['jobName']} [{partition}] {run['status']} "
            f"(retry {tags.get('dagster/retry_number', 0)}){healed}: {_run_error(platform, run['runId'])[:1500]}")


def _alerts(platform: Platform, since: float) -> list[tuple]:
    return platform.sql(
        """SELECT rule, subject, severity, opened_at, resolved_at, message FROM ops.alerts
           WHERE opened_at >= to_timestamp(%s) ORDER BY opened_at""", (since,))


# -- the tests ---------------------------------------------------------------------------------

@pytest.mark.timeout(3000)  # set-up (the demo's first steps) ~4 min, live ~4, catching up ~2, more on 2 busy cores
def test_soak_the_running_platform(platform: Platform, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    started = time.time()
    _wait(lambda: _live_crossings(platform) > 0, 180, "the live cameras' first crossings", platform)

    _sleep_until(started + LATE_EVENT_AT_S, platform)
    late_at = _late_event(platform, tmp_path / "late")
    _sleep_until(started + WORKER_STOP_AT_S, platform)
    worker_stopped_at = time.time()
    old_pid = _restart_worker(platform)
    worker_back_at = time.time()
    _sleep_until(started + DB_STOP_AT_S, platform)
    db_stopped_at = time.time()
    _restart_database(platform)
    db_back_at = time.time()
    _sleep_until(max(started + SOAK_S, db_back_at + SETTLE_S), platform)

    # The end: a clean stop of the worker, then the platform must catch up with its last event.
    [worker] = platform.workers
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(90) == 0, platform.log.with_name("worker-restarted.log").read_text()[-3000:]
    stopped_at = time.time()
    last_ingested = float(platform.sql("SELECT extract(epoch FROM max(ingested_at)) FROM raw.crossing_events")[0][0])
    hourly = _poll(lambda: _when_equal(platform, HOURLY), FRESH_WITHIN_S + 180)
    fresh_after_s = time.time() - last_ingested
    daily = _poll(lambda: _when_equal(platform, DAILY), 3 * CALENDAR_S + 60) if hourly else None
    _poll(lambda: not [r for r in _runs(platform) if r["status"] in UNFINISHED], 180)

    ticks = _sensor_ticks(platform)
    runs = _runs(platform)
    backfills = _backfills(platform)
    alerts = _alerts(platform, started)
    life = platform.sql(
        """SELECT kind, details FROM raw.platform_events WHERE time >= to_timestamp(%s)
             AND kind IN ('worker_started', 'worker_stopped', 'database_unreachable', 'database_reachable',
                          'spool_replay_started', 'spool_replay_finished') ORDER BY time""", (started,))
    provoked = [(rule, subject, opened, resolved) for rule, subject, _, opened, resolved, _ in alerts
                if rule in ("camera_offline", "data_gap") and subject in LIVE_CAMERAS
                and opened.timestamp() < stopped_at]
    summary = [
        f"soak: live {stopped_at - started:.0f} s; late event dated {time.strftime('%H:%M:%S', time.gmtime(late_at))} "
        f"UTC; worker {old_pid} stopped at +{worker_stopped_at - started:.0f} s, back at "
        f"+{worker_back_at - started:.0f} s; database down "
        f"+{db_stopped_at - started:.0f}..+{db_back_at - started:.0f} s",
        (f"marts equal raw {fresh_after_s:.0f} s after the last event was ingested (limit {FRESH_WITHIN_S} s): "
         f"{len(hourly['raw'])} hour keys, {sum(hourly['raw'].values())} crossings" if hourly else
         f"marts NOT equal to raw {fresh_after_s:.0f} s after the last event was ingested"),
        (f"daily rollups and marts equal raw: {len(daily['raw'])} day keys" if daily else "daily NOT equal to raw"),
        "sensor ticks: " + "; ".join(f"{name} {dict(Counter(t['status'] for t in sensor_ticks))}"
                                     for name, sensor_ticks in sorted(ticks.items())),
        "backfills: " + (", ".join(f"{status} {n}" for status, n in Counter(b["status"] for b in backfills).items())
                         or "none"),
        "runs: " + "; ".join(f"{job} {dict(Counter(r['status'] for r in runs if r['jobName'] == job))}"
                             for job in sorted({r["jobName"] for r in runs})),
        "alerts: " + ("; ".join(f"{rule}/{subject} [{severity}] opened {opened:%H:%M:%S}, "
                                f"{'resolved ' + f'{resolved:%H:%M:%S}' if resolved else 'OPEN'}"
                                for rule, subject, severity, opened, resolved, _ in alerts) or "none"),
        "worker life: " + ", ".join(kind for kind, _ in life),
    ]

    failures = [f"sensor {name} tick at {time.strftime('%H:%M:%S', time.gmtime(t['timestamp']))} failed: "
                f"{(t['error'] or {}).get('message', '').strip()[:1500]}"
                for name, sensor_ticks in ticks.items() for t in sensor_ticks if t["status"] == "FAILURE"]
    failures += [_describe_run(platform, run, runs) for run in _unhealed_failures(runs)]
    failures += [f"backfill {b['id']} {b['status']}: {((b['error'] or {}).get('message') or '').strip()[:1500]}"
                 for b in backfills if b["status"] in ("FAILED", "FAILING", "CANCELED")]
    if not hourly:
        failures.append(f"hourly rollups/marts differ from raw {fresh_after_s:.0f} s after the last event: "
                        + "; ".join(_differences(_totals(platform, HOURLY))[:12]))
    elif fresh_after_s > FRESH_WITHIN_S:
        failures.append(f"the marts counted the last event only after {fresh_after_s:.0f} s")
    if hourly and not daily:
        failures.append("daily rollups/marts differ from raw: "
                        + "; ".join(_differences(_totals(platform, DAILY))[:12]))
    for rule in ("camera_offline", "data_gap"):
        for camera in LIVE_CAMERAS:
            mine = [a for a in provoked if a[:2] == (rule, camera)]
            if not mine:
                failures.append(f"alert {rule} never opened for {camera} during the worker restart")
            elif any(resolved is None for *_, resolved in mine):
                failures.append(f"alert {rule} for {camera} never resolved: {mine}")
    stops = [details for kind, details in life if kind == "worker_stopped"]
    if len(stops) != 2 or not all(d["clean"] and d["reason"] == "stop requested" for d in stops):
        failures.append(f"the worker's two SIGTERMs were not both recorded as clean stops: {stops}")
    if "database_unreachable" not in [kind for kind, _ in life]:
        failures.append("the worker never recorded the database restart")

    (tmp_path / "soak-summary.txt").write_text("\n".join(summary + failures) + "\n")
    with capsys.disabled():
        print("\n" + "\n".join(summary), flush=True)
    assert not failures, "\n".join(failures)

CHROMIUM = "/usr/bin/chromium"
LOCATION = "camcount_pipelines.definitions"


def _skip_community_dialog(page) -> None:
    """A fresh browser profile first gets Dagster's "Join the Dagster community" dialog."""
    skip = page.get_by_role("button", name="Skip")
    with contextlib.suppress(Exception):
        skip.first.wait_for(timeout=5000)
    if skip.count():
        skip.first.click()


def _latest_tick_icons(page) -> dict[str, str | None]:
    """Per sensor on the automation page, the icon of its latest tick: done (success), status
    (skipped), warning (failed); None while it loads or evaluates."""
    return page.evaluate("""() => Object.fromEntries(
        Array.from(document.querySelectorAll('[data-index]'))
          .map(row => [row.querySelector('a[href*="/sensors/"]'), row])
          .filter(([link]) => link)
          .map(([link, row]) => [link.getAttribute('href').split('/').pop(),
                                 row.querySelector('button[aria-haspopup="menu"] [role="img"]')
                                    ?.getAttribute('aria-label') ?? null]))""")


def _seen_all(seen: dict[str, str], page, sensors: set[str]) -> dict[str, str] | None:
    """Adds what the page shows now to `seen`; `seen` once every sensor showed a latest tick (one
    that is evaluating shows a spinner: it is read again at the next poll)."""
    for name, icon in _latest_tick_icons(page).items():
        if icon and seen.get(name) != "warning":  # a failure once shown stays counted
            seen[name] = icon
    return seen if seen.keys() >= sensors else None


@pytest.mark.timeout(1800)  # the platform's set-up when this test runs alone
def test_dagster_ui_in_a_real_browser(platform: Platform, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The lineage, the automation page and the daily report asset, as an operator opens them."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium missing: run scripts/install_system.sh")
    from playwright.sync_api import sync_playwright

    sensors = set(_sensor_ticks(platform))
    shots: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1600, "height": 1300})  # every automation in view
        page.set_default_timeout(60_000)
        crashes: list[str] = []
        page.on("pageerror", lambda error: crashes.append(str(error)))

        # 1. The lineage: raw -> rollups -> marts -> reports, one node per asset group.
        page.goto(f"{platform.ui_url}/asset-groups")
        _skip_community_dialog(page)
        page.get_by_text("Global asset lineage").first.wait_for()
        for group in ("raw", "rollups", "marts", "reports"):
            page.get_by_text(group, exact=True).first.wait_for()
        page.get_by_text("fetching statuses").first.wait_for(state="hidden")  # each group's status loaded
        shots.append(tmp_path / "lineage.png")
        page.screenshot(path=shots[-1])

        # 2. The automation page: every sensor's latest tick loaded, and none failed.
        page.goto(f"{platform.ui_url}/automation")
        _skip_community_dialog(page)
        icons: dict[str, str] = {}
        _wait(lambda: _seen_all(icons, page, sensors), 120,
              lambda: f"every sensor's latest tick on the automation page: {icons}", every_s=1)
        shots.append(tmp_path / "automation.png")
        page.screenshot(path=shots[-1])
        assert not [name for name, icon in icons.items() if icon == "warning"], f"sensors showing an error: {icons}"

        # 3. The daily KPI report asset: its summary's hourly chart (an inline PNG) loads.
        page.goto(f"{platform.ui_url}/assets/reports/daily_kpis")
        _skip_community_dialog(page)
        page.get_by_text("[Show Markdown]").first.click()
        chart = page.locator('img[src^="data:image/png"]').first
        chart.wait_for()
        size = _wait(lambda: chart.evaluate("i => i.complete && i.naturalWidth > 0 && [i.naturalWidth, "
                                            "i.naturalHeight]"), 30, "the report's chart to load")
        shots.append(tmp_path / "daily-report.png")
        page.screenshot(path=shots[-1])
        browser.close()
    with capsys.disabled():
        print(f"\nDagster UI: latest ticks {icons}; report chart {size[0]}x{size[1]} px; screenshots:\n  "
              + "\n  ".join(map(str, shots)), flush=True)
    assert not crashes, crashes
    assert size[0] >= 300 and size[1] >= 100
