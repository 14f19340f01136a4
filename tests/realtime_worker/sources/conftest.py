"""Fixtures for source tests."""

from __future__ import annotations

import pytest

from bench.harness.streams import EventLog


@pytest.fixture
def events() -> EventLog:
    """An `on_event` callback that records what a capture thread reports."""
    return EventLog()
