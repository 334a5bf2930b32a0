"""Benchmark: evaluate the full fact matrix and print decisions per second.

    python bench/policy.py [--rounds N]

The matrix is the one the completeness test enumerates: roles (and unknown) × clouds × the
CSP-partner flag × every one- and two-subscription combination. Target on the 2-core dev
machine: the whole matrix in under one second. Prints the best of N rounds and, as a baseline in
the same run, the cost of merely building the Facts objects.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

# This file is named like the package it measures: keep its own folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from policy import (  # noqa: E402
    Cloud,
    Facts,
    Kind,
    Role,
    Source,
    Subscription,
    evaluate,
    get_edition,
)

TARGET_SECONDS = 1.0


def matrix() -> list[Facts]:
    subs = [Subscription(source=s, kind=k) for s in Source for k in Kind]
    sets = [(s,) for s in subs] + list(itertools.combinations_with_replacement(subs, 2))
    return [
        Facts(role=role, cloud=cloud, customer_is_csp_partner=flag, subscriptions=combo)
        for role in [*Role, None]
        for cloud in Cloud
        for flag in (False, True)
        for combo in sets
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds to run (default 5)")
    args = parser.parse_args()

    edition = get_edition()  # load and validate the edition once, as a running bot does
    facts = matrix()
    build, evaluate_times, cached_times = [], [], []
    for _ in range(args.rounds):
        start = time.perf_counter()
        matrix()
        build.append(time.perf_counter() - start)
        start = time.perf_counter()
        for f in facts:
            evaluate(f, edition=edition)  # an Edition object: the engine runs every time
        evaluate_times.append(time.perf_counter() - start)
        known = facts[:2000]  # fits the engine's cache (4,096 facts)
        for f in known:
            evaluate(f)  # by name: computed once per facts, then copied with a new id
        start = time.perf_counter()
        for f in known:
            evaluate(f)
        cached_times.append((time.perf_counter() - start) / len(known))

    best = min(evaluate_times)
    print(f"fact combinations:        {len(facts)}")
    median = statistics.median(evaluate_times)
    print(f"whole matrix, best:       {best * 1000:.1f} ms", end="")
    print(f"   (median {median * 1000:.1f} ms, {args.rounds} rounds)")
    print(f"decisions per second:     {len(facts) / best:,.0f}")
    print(f"per decision:             {best / len(facts) * 1e6:.1f} µs")
    print(f"baseline (build Facts):   {min(build) * 1000:.1f} ms for the same matrix")
    print(
        f"known facts (cached):     {min(cached_times) * 1e6:.1f} µs per decision "
        "(what the bot pays for a case it has seen)"
    )
    verdict = "met" if best < TARGET_SECONDS else "MISSED"
    print(f"target (< {TARGET_SECONDS:.0f} s):           {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
