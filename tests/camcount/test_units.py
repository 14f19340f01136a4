"""Quantities in messages read at a glance."""

from __future__ import annotations

import pytest

from camcount.units import readable_bytes


@pytest.mark.parametrize(
    ("count", "text"),
    [(0, "0 B"), (999, "999 B"), (10_000, "10 kB"), (12_345_678, "12.35 MB"), (512e6, "512 MB"), (1.5e9, "1.5 GB"),
     (2e12, "2 TB")],
)
def test_readable_bytes(count: float, text: str) -> None:
    assert readable_bytes(count) == text
