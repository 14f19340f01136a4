"""What capture threads report, collected so tests can wait for it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass(frozen=True)
class Event:
    kind: str
    camera_id: str
    message: str
    details: dict[str, Any]
    at: float  # monotonic


class EventLog:
    """An `on_event` callback that remembers every event, with a way to wait for one."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._cond = threading.Condition()

    def __call__(self, kind: str, camera_id: str, message: str, details: dict[str, Any]) -> None:
        with self._cond:
            self.events.append(Event(kind, camera_id, message, details, time.monotonic()))
            self._cond.notify_all()

    def kinds(self) -> list[str]:
        with self._cond:
            return [event.kind for event in self.events]

    def wait_for(self, kind: str, timeout: float, after: int = 0) -> Event:
        """The first `kind` event at or after position `after`; fails the test after `timeout` s."""
        with self._cond:
            found = self._cond.wait_for(lambda: self._find(kind, after) is not None, timeout)
            assert found, f"no {kind} event within {timeout} s; got {self.kinds()}"
            return self._find(kind, after)  # type: ignore[return-value]

    def _find(self, kind: str, after: int) -> Event | None:
        return next((event for event in self.events[after:] if event.kind == kind), None)


@pytest.fixture
def events() -> EventLog:
    return EventLog()
