"""When to try a lost camera again, and when to give up on it."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, and an optional budget per outage.

    Full jitter (a uniform draw between 0 and the exponential ceiling) spreads the reconnects of
    dozens of cameras behind one recorder or switch that went down together, instead of having
    them hammer it in lockstep. The budget is counted per outage and resets once frames flow.
    """

    base_s: float = 0.5
    cap_s: float = 30.0
    max_attempts: int | None = None  # failed attempts before giving up; None = forever
    max_outage_s: float | None = None  # seconds without frames before giving up; None = forever

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number `attempt` (1 = the first retry)."""
        ceiling = min(self.cap_s, self.base_s * 2 ** min(attempt - 1, 62))
        return (rng or random).uniform(0.0, ceiling)

    def exhausted(self, attempts: int, outage_s: float) -> bool:
        return (self.max_attempts is not None and attempts >= self.max_attempts) or (
            self.max_outage_s is not None and outage_s >= self.max_outage_s
        )
