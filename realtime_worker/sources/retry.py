"""How long to wait before trying a lost camera again."""

from __future__ import annotations

import random


def backoff_delay(attempt: int, initial_s: float, max_s: float, rng: random.Random | None = None) -> float:
    """Seconds before retry number `attempt` (1 = first): exponential backoff with full jitter.

    Full jitter (a uniform draw between 0 and the exponential ceiling) spreads the reconnects of
    dozens of cameras that went down together (one recorder, one switch) instead of having them
    hammer it in lockstep.
    """
    ceiling = min(max_s, initial_s * 2 ** min(attempt - 1, 62))  # the cap keeps the float finite
    return (rng or random).uniform(0.0, ceiling)
