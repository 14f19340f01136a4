"""Live frames are stamped by this machine's clock; the database rolls them up by its own.

A skew between the two puts every live row into the wrong hour (or the future, where no
rollup looks), silently. The database's clock is read whenever the worker registers its
cameras, and carried forward on the monotonic clock, so a later step of this machine's wall
clock shows up as skew too. A live frame stamped more than `SKEW_ALARM_S` away raises one alarm
per camera until its frames are back within it.
"""

from __future__ import annotations

import time

import psycopg

from realtime_worker.types import PlatformEvent, Severity

SKEW_ALARM_S = 300.0


class ClockWatch:
    """Compares live frames' stamps with the database's clock, per camera."""

    def __init__(self) -> None:
        self._offset: float | None = None  # database POSIX time - time.monotonic(); None until read
        self._skewed: set[str] = set()  # cameras whose alarm is raised

    def sync(self, conn: psycopg.Connection) -> None:
        """Read the database's clock (halfway through the round trip)."""
        sent = time.monotonic()
        (now,) = conn.execute("SELECT extract(epoch FROM clock_timestamp())::float8").fetchone()
        self._offset = now - (sent + time.monotonic()) / 2

    def skew_s(self, stamped_at: float) -> float | None:
        """How far a stamp (POSIX seconds) is ahead of the database's clock now; None if unread."""
        return None if self._offset is None else stamped_at - (time.monotonic() + self._offset)

    def check(self, camera_id: str, stamped_at: float) -> tuple[float | None, PlatformEvent | None]:
        """The frame's skew, and the alarm when this camera's frames have just gone beyond the limit."""
        skew = self.skew_s(stamped_at)
        if skew is None or abs(skew) <= SKEW_ALARM_S:
            self._skewed.discard(camera_id)
            return skew, None
        if camera_id in self._skewed:
            return skew, None
        self._skewed.add(camera_id)
        return skew, PlatformEvent(
            kind="clock_skew", severity=Severity.ERROR, camera_id=camera_id, details={"skew_s": round(skew, 1)},
            message=f"camera {camera_id}: live frames are stamped {abs(skew):.0f} s "
                    f"{'ahead of' if skew > 0 else 'behind'} the database's clock (alarm beyond {SKEW_ALARM_S:.0f} s): "
                    "their rows land in the wrong hours; synchronise this machine's clock (NTP)",
        )
