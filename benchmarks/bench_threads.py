"""Milliseconds per mechanics step on 1 and 2 threads, from 100 to 6,000 agents.

A packed 2D disc of the ``mech_2d_10k`` case (one substrate, PhysiCell's default cell), each
size run for ``--steps`` mechanics steps after 20 warm-up steps, in one process; the table
gives the median of ``--repeats`` timings per size and thread count and the 2-thread gain.
This is the measurement behind ``tropism.tissue.threads`` (every kernel on every requested
thread, whatever the size)::

    python benchmarks/bench_threads.py [--sizes 100,300,1000,3000,6000] [--steps 400] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tropism.bench import case_model, packed_positions
from tropism.model import InitialCells
from tropism.tissue.solver import TissueSolver, set_threads


def _ms_per_step(n: int, threads: int, steps: int) -> float:
    set_threads(threads)
    model = case_model("mech_2d_10k")
    pos = packed_positions(n, 2)
    pos += np.random.default_rng(5).normal(0.0, 2.0, pos.shape) * [1, 1, 0]  # out of equilibrium
    model.initial_cells = InitialCells(positions=pos, types=np.zeros(n, dtype=np.int64))
    s = TissueSolver(model)
    for _ in range(20):
        s.step()
    t0 = time.perf_counter()
    for _ in range(steps):
        s.step()
    return 1e3 * (time.perf_counter() - t0) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,300,1000,3000,6000")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print(f"{'agents':>8}{'1 thread ms':>14}{'2 threads ms':>14}{'gain':>8}")
    for n in (int(x) for x in args.sizes.split(",")):
        one = np.median([_ms_per_step(n, 1, args.steps) for _ in range(args.repeats)])
        two = np.median([_ms_per_step(n, 2, args.steps) for _ in range(args.repeats)])
        print(f"{n:>8}{one:>14.3f}{two:>14.3f}{one / two:>7.2f}×")


if __name__ == "__main__":
    main()
