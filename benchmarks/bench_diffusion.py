"""Throughput of the LOD diffusion solver against PhysiCell's published figures.

Run:  python benchmarks/bench_diffusion.py [--steps N] [--threads T]

Cases (PhysiCell's own benchmark set-up): D = 1e5, decay 0.1, dt = 0.01, dx = 20,
Dirichlet value 38 on all faces, field starting at 0, one substrate.
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np

from tropism.tissue.diffusion import DiffusionSolver
from tropism.tissue.mesh import Mesh

# PhysiCell on a 2-core machine, 6000 steps: (voxels, seconds).
PHYSICELL = {"2D 210x210": (44_100, 4.09), "3D 40x40x40": (64_000, 8.93)}


def _case(name: str) -> tuple[Mesh, int]:
    dx = 20.0
    if name.startswith("2D"):
        n = 210
        return Mesh(0, n * dx, 0, n * dx, -dx / 2, dx / 2, dx, dx, dx, use_2d=True), n * n
    n = 40
    return Mesh(0, n * dx, 0, n * dx, 0, n * dx, dx, dx, dx, use_2d=False), n**3


def run(name: str, steps: int) -> tuple[int, float]:
    """Time ``steps`` diffusion steps of one case; returns (voxels, seconds)."""
    mesh, nvox = _case(name)
    solver = DiffusionSolver(
        mesh,
        diffusion_coefficients=[1e5],
        decay_rates=[0.1],
        dt=0.01,
        dirichlet_enabled=np.ones((1, 6), dtype=bool),
        dirichlet_values=np.full((1, 6), 38.0),
    )
    fields = np.zeros((1,) + mesh.shape)
    solver.step(fields.copy())  # compile / load the cached kernels outside the timing
    t0 = time.perf_counter()
    for _ in range(steps):
        solver.step(fields)
    seconds = time.perf_counter() - t0
    assert np.isfinite(fields).all()
    return nvox, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        numba.set_num_threads(args.threads)
    print(f"numba threads: {numba.get_num_threads()}")
    header = f"{'case':<14}{'voxels':>9}{'steps':>7}{'seconds':>9}{'vox-upd/s':>11}{'PhysiCell':>11}{'speed-up':>9}"
    print(header)
    print("-" * len(header))
    for name, (pc_vox, pc_sec) in PHYSICELL.items():
        nvox, sec = run(name, args.steps)
        rate = nvox * args.steps / sec
        pc_rate = pc_vox * 6000 / pc_sec
        print(
            f"{name:<14}{nvox:>9}{args.steps:>7}{sec:>9.3f}{rate:>11.3g}{pc_rate:>11.3g}"
            f"{rate / pc_rate:>8.2f}x"
        )


if __name__ == "__main__":
    main()
