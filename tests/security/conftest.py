"""Fixtures for the security tests: logins as camcount's roles, and a clip short enough to run
the whole worker in about two seconds."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from camcount.db.dsn import role_url
from camcount.db.roles import LOGIN_ROLES, ensure_login
from tests.conftest import write_clip

LoginAs = Callable[[str], str]


def enable_login(database_url: str, role: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Enable `role`'s LOGIN the product's way (password from its environment variable) and
    return a URL that logs in as it. An existing password variable is kept: roles are
    cluster-wide, and a demo may share the embedded cluster (whose trust auth accepts any
    password anyway)."""
    password_env = LOGIN_ROLES[role]
    password = os.environ.get(password_env) or f"sentinel-{secrets.token_hex(8)}"
    monkeypatch.setenv(password_env, password)
    with psycopg.connect(database_url, autocommit=True) as admin:
        assert ensure_login(admin, role, password_env)
    return role_url(database_url, role, password)


@pytest.fixture
def login_as(database_url: str, monkeypatch: pytest.MonkeyPatch) -> LoginAs:
    """`enable_login` for the duration of one test."""
    return lambda role: enable_login(database_url, role, monkeypatch)


@pytest.fixture(scope="session")
def tiny_clip(sample_video: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 100 frames (10 s at 10 fps) of the sample clip: two crossings, a dozen zone entries."""
    return write_clip(sample_video, tmp_path_factory.mktemp("clips") / "vtest-10s.avi", 100)
