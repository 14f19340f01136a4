"""Each masking policy hides its secret in every form the secret arrives in, and keeps the rest."""

from __future__ import annotations

import pytest

from camcount.redact import redact_dsn, redact_stream_url, redact_webhook_url

PW = "s3cr@t:pw"


@pytest.mark.parametrize(("dsn", "redacted"), [
    ("postgresql://camcount:{pw}@db.internal:5432/camcount?sslmode=verify-full",
     "postgresql://camcount:***@db.internal:5432/camcount?sslmode=verify-full"),
    ("postgresql://camcount:{pw}@db.internal/camcount", "postgresql://camcount:***@db.internal/camcount"),
    ("postgres://camcount:{pw}@[::1]:5432/camcount", "postgres://camcount:***@[::1]:5432/camcount"),
    ("postgresql://camcount@db.internal/camcount?sslmode=require&password={pw}",
     "postgresql://camcount@db.internal/camcount?sslmode=require&password=***"),
    ("host=db.internal dbname=camcount user=camcount password={pw} sslmode=verify-full",
     "host=db.internal dbname=camcount user=camcount password=*** sslmode=verify-full"),
    ("host=db.internal password = '{pw} x' user=camcount", "host=db.internal password = *** user=camcount"),
    ("postgresql://camcount@127.0.0.1:55432/camcount", "postgresql://camcount@127.0.0.1:55432/camcount"),
])
def test_redact_dsn_in_url_and_key_value_form(dsn: str, redacted: str) -> None:
    assert redact_dsn(dsn.format(pw=PW)) == redacted


@pytest.mark.parametrize(("url", "redacted"), [
    ("rtsp://admin:s3cret@10.0.0.7:554/stream1", "rtsp://admin:***@10.0.0.7:554/stream1"),
    ("rtsp://admin:p@ss:w0rd@cam.local/live", "rtsp://admin:***@cam.local/live"),  # unencoded @ and :
    ("http://viewer:pw@10.0.0.8/video.mjpg?resolution=720", "http://viewer:***@10.0.0.8/video.mjpg?resolution=720"),
    ("rtsp://10.0.0.9/cam?user=admin&password=s3cret&channel=1", "rtsp://10.0.0.9/cam?user=admin&password=***&channel=1"),
    ("http://cam/stream?token=abc123", "http://cam/stream?token=***"),
    ("http://cam/cgi?api_key=abc;channel=2", "http://cam/cgi?api_key=***;channel=2"),
    ("rtsp://admin@10.0.0.7/stream1", "rtsp://admin@10.0.0.7/stream1"),  # no password to hide
    ("data/vtest.avi", "data/vtest.avi"),
    (0, "0"),
])
def test_redact_stream_url_hides_userinfo_and_secret_parameters(url: str | int, redacted: str) -> None:
    assert redact_stream_url(url) == redacted


@pytest.mark.parametrize(("url", "redacted"), [
    ("https://hooks.example.invalid/services/T000/B000/secret?token=x", "https://hooks.example.invalid/***"),
    ("http://127.0.0.1:9/hook/abc", "http://127.0.0.1/***"),
    ("https://user:pw@hooks.example.invalid/x", "https://hooks.example.invalid/***"),
    ("not a url", "***"),
    ("http://[::1:bad/x", "***"),
])
def test_redact_webhook_url_keeps_scheme_and_host_only(url: str, redacted: str) -> None:
    assert redact_webhook_url(url) == redacted
