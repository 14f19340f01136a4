"""A database of the fleet tests' own: the fleet config is the whole database's (an apply removes
every camera not in its file), so these tests must not share it with the others."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from tests.conftest import private_database


@pytest.fixture(scope="module")
def fleet_url(database_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    with private_database(f"camcount_fleet_{request.module.__name__.rsplit('.', 1)[-1]}") as url:
        yield url


@pytest.fixture
def fleet_db(fleet_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(fleet_url, autocommit=True) as conn:
        yield conn


def fleet_file(path: Path, cameras: list[str], **sections: Any) -> Path:
    """A fleet config of RTSP cameras that are never opened (their password a `${VAR}`)."""
    document = {
        "sites": [{"id": "fleet-site", "timezone": "UTC"}],
        "cameras": [{"id": camera, "site": "fleet-site", "source": f"rtsp://viewer:${{CAM_PW}}@10.9.0.{i}/s",
                     "lines": [{"id": "door", "points": [[0, 10], [100, 10]]}]}
                    for i, camera in enumerate(cameras, 1)],
        **sections,
    }
    path.write_text(yaml.safe_dump(document))
    return path
