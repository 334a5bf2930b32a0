"""Benchmark: evaluate the full fact matrix under every edition and print decisions per second.

    python bench/policy.py [--rounds N]

The matrix is policy/matrix.py's, the one the completeness test enumerates. Target on the
2-core dev machine: the whole matrix of every edition in under one second. Prints each
edition, the total, and as a baseline the cost of merely building the Facts objects.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

# This file is named like the package it measures: keep its own folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from policy import (  # noqa: E402
    available_editions,
    evaluate,
    get_edition,
)
from policy.matrix import fact_matrix  # noqa: E402

TARGET_SECONDS = 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds to run (default 5)")
    args = parser.parse_args()

    editions = {name: get_edition(name) for name in available_editions()}  # loaded once
    facts = fact_matrix()
    build: list[float] = []
    per_edition: dict[str, list[float]] = {name: [] for name in editions}
    totals: list[float] = []
    cached_times: list[float] = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        fact_matrix()
        build.append(time.perf_counter() - start)
        total = 0.0
        for name, edition in editions.items():
            start = time.perf_counter()
            for f in facts:
                evaluate(f, edition=edition)  # an Edition object: the engine runs every time
            elapsed = time.perf_counter() - start
            per_edition[name].append(elapsed)
            total += elapsed
        totals.append(total)
        known = facts[:2000]  # fits the engine's cache (4,096 facts)
        for f in known:
            evaluate(f, edition="current")  # by name: computed once per facts, then copied
        start = time.perf_counter()
        for f in known:
            evaluate(f, edition="current")
        cached_times.append((time.perf_counter() - start) / len(known))

    print(f"fact combinations:        {len(facts)} per edition")
    for name, times in per_edition.items():
        best = min(times)
        print(
            f"edition {name}:          {best * 1000:.1f} ms best, "
            f"{statistics.median(times) * 1000:.1f} ms median, "
            f"{best / len(facts) * 1e6:.1f} µs per decision"
        )
    best = min(totals)
    median = statistics.median(totals)
    decisions = len(facts) * len(editions)
    print(f"all editions, best:       {best * 1000:.1f} ms", end="")
    print(f"   (median {median * 1000:.1f} ms, {args.rounds} rounds, {decisions} decisions)")
    print(f"decisions per second:     {decisions / best:,.0f}")
    print(f"baseline (build Facts):   {min(build) * 1000:.1f} ms for the same matrix")
    print(
        f"known facts (cached):     {min(cached_times) * 1e6:.1f} µs per decision "
        "(what the bot pays for a case it has seen)"
    )
    verdict = "met" if best < TARGET_SECONDS else "MISSED"
    print(f"target (< {TARGET_SECONDS:.0f} s, all editions): {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
