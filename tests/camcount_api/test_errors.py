"""Every bad request gets a 4xx JSON error that names the problem without echoing what was sent:
no 500, no stack trace, no SQL, no secret. A database that cannot answer is a 503, likewise."""

from __future__ import annotations

import time
from urllib.parse import quote

import httpx
import psycopg
import pytest

from bench.harness.net import free_port
from camcount_api.config import ApiConfig
from tests.camcount_api.conftest import Api, running_api

HOSTILE = [
    "'; DROP TABLE raw.crossing_events; --",
    "<script>alert(1)</script>",
    "../../../../etc/passwd",
    "\x00nul",
    "caméra 🎥 \"quoted\" $$ %s %(x)s {0}",
]
SENTINEL_PASSWORD = "sentinel-api-password-7f3a"
LEAKS = ("Traceback", "SELECT", "psycopg", "raw.", "rollup.", SENTINEL_PASSWORD)


def assert_clean_error(response, status: int, sent: str = "") -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["status"] == status and body["error"]
    for leak in (*LEAKS, *([sent] if len(sent) > 3 else [])):
        assert leak not in response.text, f"{leak!r} echoed in {response.text!r}"


BAD_REQUESTS = [
    ("/api/v1/cameras/no-such-camera", {}, 404),
    ("/api/v1/cameras/no-such-camera/snapshot", {}, 404),
    ("/api/v1/counts", {"camera": "no-such-camera"}, 404),
    ("/api/v1/counts", {"site": "no-such-site"}, 404),
    ("/api/v1/counts", {"period": "year"}, 422),
    ("/api/v1/counts", {"period": ""}, 422),
    ("/api/v1/counts", {"by": "planet"}, 422),
    ("/api/v1/counts", {"camera": "x" * 5000}, 422),
    ("/api/v1/counts/hourly", {"hours": "0"}, 422),
    ("/api/v1/counts/hourly", {"hours": "many"}, 422),
    ("/api/v1/occupancy", {"zone": "no-such-zone"}, 404),
    ("/api/v1/crossings/stream", {"camera": "no-such-camera"}, 404),
    ("/api/v1/no-such-endpoint", {}, 404),
]


@pytest.mark.parametrize(("path", "params", "status"), BAD_REQUESTS)
def test_bad_requests_are_4xx_json(api: Api, path: str, params: dict, status: int) -> None:
    assert_clean_error(api.get(path, params=params), status, next(iter(params.values()), ""))


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("parameter", ["site", "camera", "line"])
def test_hostile_strings_are_404s_and_harmless(api: Api, db: psycopg.Connection, hostile: str, parameter: str) -> None:
    assert_clean_error(api.get("/api/v1/counts", params={parameter: hostile}), 404, hostile)
    assert_clean_error(api.get(f"/api/v1/cameras/{quote(hostile, safe='')}"), 404, hostile)
    assert db.execute("SELECT to_regclass('raw.crossing_events') IS NOT NULL").fetchone() == (True,)


@pytest.mark.parametrize("last_event_id", ["-1", "abc", "1e3", str(2**64)])
def test_a_bad_last_event_id_is_a_422(api: Api, last_event_id: str) -> None:
    assert_clean_error(api.get("/api/v1/crossings/stream", headers={"Last-Event-ID": last_event_id}), 422,
                       last_event_id)


def test_a_wrong_method_is_a_405(api: Api) -> None:
    assert_clean_error(httpx.post(api.url + "/api/v1/counts", timeout=10), 405)


def test_an_unreachable_database_is_a_503_without_its_password(api_config: ApiConfig) -> None:
    url = f"postgresql://camcount_api:{SENTINEL_PASSWORD}@127.0.0.1:{free_port()}/camcount"
    with running_api(ApiConfig(**{**api_config.__dict__, "database_url": url})) as api:
        for path in ("/api/v1/counts", "/api/v1/cameras", "/api/v1/sites"):
            response = api.get(path)
            assert_clean_error(response, 503)
            assert response.headers["retry-after"] == "5"
        assert api.get("/api/v1/healthz").json()["status"] == "degraded"


def test_sessions_dropped_by_the_server_are_503s_then_reconnected(api: Api, db: psycopg.Connection) -> None:
    assert api.get("/api/v1/counts").status_code == 200
    db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
               "WHERE usename = 'camcount_api' AND datname = current_database()")
    statuses = []
    for _ in range(12):  # each dead session fails one read, then connects again
        time.sleep(api.app.state.config.cache_ttl_s)
        response = api.get("/api/v1/counts")
        statuses.append(response.status_code)
        if response.status_code == 503:
            assert_clean_error(response, 503)
        if statuses[-3:] == [200, 200, 200]:
            break
    assert set(statuses) <= {200, 503} and statuses[-3:] == [200, 200, 200], statuses
