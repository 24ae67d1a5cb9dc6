"""Body-model throughput: one 7-day simulation per product, and a 10,000-animal MSC cohort.

Run: python benchmarks/bench_body.py [--cohort N]
Prints: case | wall time | goal | ok. Goals from issue 3: one 7-day mouse run < 50 ms; 10,000 animals < 60 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from tropism.body import scenario_from_dict, simulate
from tropism.body.cohort import simulate_cohort


def _time(fn, repeat):
    fn()  # warm caches (library files, imports)
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cohort", type=int, default=10_000, help="animals in the cohort case")
    ap.add_argument("--repeat", type=int, default=10)
    a = ap.parse_args()
    week = {"species": "mouse", "dose": 1e6, "duration_h": 168, "output_interval_min": 30}
    cases = [
        ("MSC IV, mouse, 7 d", {**week, "product": {"kind": "msc"}}, 0.050),
        ("MSC IA brain + tumour, 3 doses", {**week, "product": {"kind": "msc"}, "route": {"kind": "ia", "artery": "brain"},
                                           "tumour": {"site": "brain", "volume_mm3": 20},
                                           "schedule": {"doses": 3, "interval_h": 24}}, 0.050),
        ("MSC IV infusion 60 min", {**week, "product": {"kind": "msc"}, "schedule": {"infusion_min": 60}}, 0.100),
        ("exosome IV, mouse, 7 d", {**week, "product": {"kind": "exosome"}}, 0.050),
        ("TRAIL IV, mouse, 7 d", {**week, "product": {"kind": "drug", "name": "trail"}}, 0.050),
    ]
    print(f"cores available: {len(os.sched_getaffinity(0))}")
    print(f"{'case':<34} {'wall':>10} {'goal':>8}  ok")
    for name, d, goal in cases:
        sc = scenario_from_dict(d)
        t = _time(lambda: simulate(sc), a.repeat)
        print(f"{name:<34} {t * 1e3:8.1f} ms {goal * 1e3:6.0f} ms  {'yes' if t < goal else 'NO'}")
    sc = scenario_from_dict({**week, "product": {"kind": "msc"}})
    t = time.perf_counter()
    c = simulate_cohort(sc, n=a.cohort, seed=1)
    t = time.perf_counter() - t
    goal = 60.0 * a.cohort / 10_000
    print(f"{f'MSC cohort, {a.cohort:,} animals, 7 d':<34} {t:8.2f} s  {goal:6.0f} s   {'yes' if t < goal else 'NO'}")
    q = c.quantiles("lungs")
    print(f"  lungs % ID at 24 h (5/50/95 %): {q[0, 2]:.1f} / {q[1, 2]:.1f} / {q[2, 2]:.1f}")


if __name__ == "__main__":
    main()
