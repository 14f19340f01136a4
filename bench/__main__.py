"""`make bench`: run every benchmark, then print ONE table with each target met or missed.

    .venv/bin/python -m bench [MODULE ...]      # e.g. `python -m bench ingest accuracy`

Each module's `main()` returns rows of (figure, value, note). A note that states a target as
`target <= X` or `target >= X` is judged against the number the value starts with (same unit,
by convention of the modules). The load benchmark runs for BENCH_LOAD_MINUTES (default 2)
here; `python -m bench.load` alone runs the full 10 minutes.

A module that is missing, raises, or returns no rows is reported as an error (exit status 1)
after the others have run: a benchmark never drops out of the table silently.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import time
import traceback
from collections.abc import Callable

from bench.common import print_table

MODULES = ["worker_throughput", "ingest", "latency", "accuracy", "accuracy_teacher", "yolo_peer", "rollups",
           "freshness", "load", "api", "fleet"]
ARGUMENTS: dict[str, Callable[[], dict[str, float]]] = {
    "load": lambda: {"minutes": float(os.environ.get("BENCH_LOAD_MINUTES", "2"))},
}
_TARGET = re.compile(r"target\s*(<=|>=)\s*(-?[\d.]+)")
_NUMBER = re.compile(r"-?\d[\d,]*\.?\d*")


def verdict(value: str, note: str) -> str:
    """'met' / 'MISSED' for a row whose note states a target; '' otherwise."""
    target, number = _TARGET.search(note), _NUMBER.match(value.strip())
    if target is None or number is None:
        return ""
    measured, limit = float(number.group().replace(",", "")), float(target.group(2))
    ok = measured <= limit if target.group(1) == "<=" else measured >= limit
    return "met" if ok else "MISSED"


def run(name: str) -> list[tuple[str, str, str]]:
    module = importlib.import_module(f"bench.{name}")
    rows = module.main(**ARGUMENTS.get(name, dict)())
    if not rows:
        raise TypeError(f"bench.{name}.main() returned {rows!r}; it must return its rows (figure, value, note)")
    return rows


def main(names: list[str]) -> int:
    unknown = sorted(set(names) - set(MODULES))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {MODULES}", file=sys.stderr)
        return 2
    results: dict[str, list[tuple[str, str, str]]] = {}
    errors: dict[str, str] = {}
    for name in names or MODULES:
        began = time.monotonic()
        print(f"\n=== bench.{name} ===", flush=True)
        try:
            results[name] = run(name)
        except Exception as exc:  # report it with the others, then fail the run
            traceback.print_exc()
            errors[name] = f"{type(exc).__name__}: {exc}"
        print(f"(bench.{name}: {time.monotonic() - began:.0f} s)", flush=True)
    table = [(f"{name}: {figure}", value, f"{note}  [{verdict(value, note)}]" if verdict(value, note) else note)
             for name, rows in results.items() for figure, value, note in rows]
    table += [(f"{name}: ERROR", "-", message[:200]) for name, message in errors.items()]
    verdicts = [verdict(value, note) for rows in results.values() for _, value, note in rows]
    print_table(f"camcount benchmarks: {verdicts.count('met')} targets met, {verdicts.count('MISSED')} missed, "
                f"{len(errors)} errors", table)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
