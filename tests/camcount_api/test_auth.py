"""`camcount serve` listens on loopback by default; anything else needs a bearer token from the
environment, or it refuses to start with one line; CORS stays off unless configured."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import httpx
import pytest

from bench.harness.net import free_port
from camcount_api.config import TOKEN_ENV, ApiConfig
from camcount_api.routes import PREFIX
from tests.camcount_api.conftest import Api, running_api
from tests.camcount_api.test_errors import assert_clean_error
from tests.conftest import REPO, run_camcount
from tests.security.test_endpoints import listening_addresses

TOKEN = "t0ken-for-the-api-tests-9d2e"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::", "camcount.example"])
def test_a_non_local_bind_without_a_token_refuses_to_start_with_one_line(host: str) -> None:
    done = run_camcount("serve", "--host", host, "--port", str(free_port()), env={TOKEN_ENV: ""}, timeout=60)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"error: refusing to listen on {host} without a token: set {TOKEN_ENV}")


def test_a_short_token_is_refused() -> None:
    done = run_camcount("serve", "--host", "0.0.0.0", env={TOKEN_ENV: "short"}, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {TOKEN_ENV} is too short: use at least 16 random characters " \
                                  "(e.g. `openssl rand -base64 24`)"


def test_serve_listens_on_loopback_and_answers_as_camcount_api(database_url: str) -> None:
    """The command as a user runs it: its login as camcount_api enabled on the embedded cluster."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in (TOKEN_ENV, "CAMCOUNT_API_PASSWORD")}
    server = subprocess.Popen([str(REPO / ".venv" / "bin" / "camcount"), "serve", "--port", str(port)], env=env,
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not listening_addresses(port):
            assert server.poll() is None and time.monotonic() < deadline, server.communicate()
            time.sleep(0.1)
        assert listening_addresses(port) == {"127.0.0.1"}
        assert httpx.get(f"http://127.0.0.1:{port}{PREFIX}/counts", timeout=10).status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=30)
    assert server.returncode == 0
    assert f"http://127.0.0.1:{port}" in stderr


def test_the_token_guards_the_data_on_a_non_local_bind(api_config: ApiConfig) -> None:
    config = ApiConfig(**{**api_config.__dict__, "host": "0.0.0.0", "token": TOKEN})
    with running_api(config) as api:
        anonymous = Api(api.url, api.app)
        for path in ("/counts", "/cameras", "/sites", "/occupancy", "/counts/hourly", "/crossings/stream"):
            missing = anonymous.get(PREFIX + path)
            assert_clean_error(missing, 401)
            assert missing.headers["www-authenticate"].startswith("Bearer")
            assert_clean_error(anonymous.get(PREFIX + path, headers={"Authorization": "Bearer wrong-token"}), 401)
            assert_clean_error(anonymous.get(PREFIX + path, headers={"Authorization": TOKEN}), 401)  # no scheme
            assert TOKEN not in missing.text
        assert api.get(PREFIX + "/counts").status_code == 200
        # The page, its scripts and the API's description carry no data: public.
        for path in ("/", "/static/live.js", "/docs", "/openapi.json", PREFIX + "/healthz"):
            assert anonymous.get(path).status_code == 200, path


def test_cors_is_off_unless_configured(api_config: ApiConfig) -> None:
    origin = {"Origin": "https://dashboard.example"}
    with running_api(api_config) as api:
        assert "access-control-allow-origin" not in api.get(PREFIX + "/sites", headers=origin).headers
    with running_api(ApiConfig(**{**api_config.__dict__, "cors_origins": ("https://dashboard.example",)})) as api:
        response = api.get(PREFIX + "/sites", headers=origin)
        assert response.headers["access-control-allow-origin"] == "https://dashboard.example"
        assert "access-control-allow-origin" not in api.get(
            PREFIX + "/sites", headers={"Origin": "https://evil.example"}).headers
