"""Throughput of the LOD diffusion solver against PhysiCell's published figures.

Run:  python benchmarks/bench_diffusion.py [--steps N] [--repeat R] [--threads T]

Cases as in PhysiCell's benchmark: one substrate, D = 1e5, decay 0.1, dt = 0.01, dx = 20,
Dirichlet value 38 on all faces, field starting at 0. Each case runs ``--repeat`` times;
the table shows the fastest run (and the median), since a shared machine only ever slows
a run down.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numba
import numpy as np

from tropism.tissue.diffusion import DiffusionSolver
from tropism.tissue.mesh import Mesh

# PhysiCell on a 2-core machine, 6000 steps: (voxels, seconds).
PHYSICELL = {"2D 210x210": (44_100, 4.09), "3D 40x40x40": (64_000, 8.93)}


def make_case(name: str) -> tuple[DiffusionSolver, np.ndarray]:
    """The solver and a zero field for one benchmark case."""
    dx = 20.0
    if name.startswith("2D"):
        n = 210
        mesh = Mesh(0, n * dx, 0, n * dx, -dx / 2, dx / 2, dx, dx, dx, use_2d=True)
    else:
        n = 40
        mesh = Mesh(0, n * dx, 0, n * dx, 0, n * dx, dx, dx, dx, use_2d=False)
    solver = DiffusionSolver(
        mesh,
        diffusion_coefficients=[1e5],
        decay_rates=[0.1],
        dt=0.01,
        dirichlet_enabled=np.ones((1, 6), dtype=bool),
        dirichlet_values=np.full((1, 6), 38.0),
    )
    return solver, np.zeros((1,) + mesh.shape)


def time_steps(solver: DiffusionSolver, fields: np.ndarray, steps: int) -> float:
    """Seconds for ``steps`` steps, from a zero field."""
    fields[:] = 0.0
    t0 = time.perf_counter()
    for _ in range(steps):
        solver.step(fields)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        numba.set_num_threads(args.threads)
    print(f"numba threads: {numba.get_num_threads()}")
    header = (f"{'case':<13}{'voxels':>8}{'steps':>7}{'threads':>8}{'seconds':>9}{'(median)':>10}"
              f"{'vox-upd/s':>11}{'PhysiCell':>11}{'speed-up':>10}")
    print(header)
    print("-" * len(header))
    for name, (pc_voxels, pc_seconds) in PHYSICELL.items():
        solver, fields = make_case(name)
        solver.step(fields)  # compile or load the cached kernels outside the timing
        runs = [time_steps(solver, fields, args.steps) for _ in range(args.repeat)]
        assert np.isfinite(fields).all()
        best = min(runs)
        voxels = fields[0].size
        rate = voxels * args.steps / best
        pc_rate = pc_voxels * 6000 / pc_seconds
        # the solver runs a small single plane on one thread (see DiffusionSolver._work_split)
        threads = solver._work_split(numba.get_num_threads())[0]
        median = statistics.median(runs)
        print(f"{name:<13}{voxels:>8}{args.steps:>7}{threads:>8}{best:>9.3f}{median:>10.3f}"
              f"{rate:>11.3g}{pc_rate:>11.3g}{rate / pc_rate:>9.2f}x")


if __name__ == "__main__":
    main()
