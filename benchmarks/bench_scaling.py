"""How the tissue solver's cost grows: agents and voxels (1e4 → 1e6), and substrates.

1. 3D packed balls of N cells (N = 1e4 … 1e6) in a domain scaled with the ball, so voxels
   grow with N too; three substrates. Prints the median time of one mechanics interval
   (its 10 diffusion steps included) and the fitted exponent of time ∝ N^k (k ≈ 1: linear).
2. The diffusion_3d case with 1 and with 3 substrates: the 3-substrate solve should cost less
   than three 1-substrate solves.

Usage: python benchmarks/bench_scaling.py [--threads 2] [--max-agents 1000000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tropism.bench import _warm_up, case_model, packed_positions
from tropism.model import InitialCells, Substrate
from tropism.tissue.solver import TissueSolver, set_threads


def _ball_model(n: int):
    model = case_model("million_3d")
    pos = packed_positions(n, 3)
    half = float(np.ceil((np.abs(pos).max() + 60.0) / 20.0) * 20.0)
    model.domain = model.domain.model_copy(update={"x_min": -half, "x_max": half, "y_min": -half, "y_max": half,
                                                   "z_min": -half, "z_max": half})
    model.initial_cells = InitialCells(positions=pos, types=np.zeros(n, dtype=np.int64))
    return model


def _interval_time(model, steps: int) -> tuple[float, int]:
    solver = TissueSolver(model)
    solver.step()  # the t = 0 phenotype step, not part of a steady interval
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        solver.step()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), solver.mesh.n_voxels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-agents", type=int, default=1_000_000)
    args = ap.parse_args()
    set_threads(args.threads)
    sizes = [n for n in (10_000, 30_000, 100_000, 300_000, 1_000_000) if n <= args.max_agents]
    _warm_up(_ball_model(sizes[0]))
    print(f"{'agents':>10}{'voxels':>10}{'interval s':>12}{'agent-steps/s':>15}")
    ts = []
    for n in sizes:
        t, voxels = _interval_time(_ball_model(n), steps=5)
        ts.append(t)
        print(f"{n:>10,}{voxels:>10,}{t:>12.4f}{n / t:>15.3g}")
    k = np.polyfit(np.log(sizes), np.log(ts), 1)[0]
    print(f"fitted exponent: time ∝ N^{k:.3f} (agents and voxels grow together)")

    base = case_model("diffusion_3d")
    three = base.model_copy(deep=True)
    three.substrates = base.substrates + [Substrate(name=f"s{i}", diffusion_coefficient=1000.0, decay_rate=0.016)
                                          for i in (2, 3)]
    t1, _ = _interval_time(base, steps=50)
    t3, _ = _interval_time(three, steps=50)
    print(f"diffusion_3d interval: 1 substrate {t1 * 1e3:.2f} ms, 3 substrates {t3 * 1e3:.2f} ms "
          f"({t3 / t1:.2f}x; three separate solves would be 3x)")


if __name__ == "__main__":
    main()
