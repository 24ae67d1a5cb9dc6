"""Before/after of the mechanics kernel in one process: a reference revision's force kernel
against this tree's, on the same agents, call by call.

The reference revision's ``tissue/mechanics.py``, ``tissue/neighbors.py`` and ``tissue/rng.py``
are read with ``git show`` into a temporary package and imported beside ``tropism``; each
kernel bins the agents as its own revision does (the reference's grid is built once, outside
the timing, as this tree's is); each round times 20 calls of the old kernel then 20 of the
new, and the table gives the median of the per-round ratios. The velocities and pressures of
both are checked equal to round-off first (a different bin size sums in another order). (The whole step, in
separate processes, is ``bench_ab.py``.) Usage::

    python benchmarks/bench_kernels_ab.py --ref 941b677 [--rounds 30] [CASE ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tropism import TissueSolver, set_threads
from tropism.bench import CASES, case_model
from tropism.tissue.mechanics import ContactCells, ForceOutput, ScanScratch, neighbour_forces

ROOT = Path(__file__).resolve().parents[1]


def _reference_kernel(ref: str, tmp: Path):
    pkg = tmp / "reference_kernels"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for name in ("mechanics", "neighbors", "rng"):
        text = subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:src/tropism/tissue/{name}.py"],
                              capture_output=True, text=True, check=True).stdout
        (pkg / f"{name}.py").write_text(text)
    sys.path.insert(0, str(tmp))
    from reference_kernels.mechanics import cell_velocities
    from reference_kernels.neighbors import build_grid, grid_geometry
    return cell_velocities, build_grid, grid_geometry


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cases", nargs="*", default=["mech_2d_10k", "mech_3d_10k"])
    ap.add_argument("--ref", required=True)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    set_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        old, old_build_grid, old_grid_geometry = _reference_kernel(args.ref, Path(tmp))
        print(f"A = {args.ref} cell_velocities, B = this tree's neighbour_forces (forces only); "
              f"{args.rounds} rounds of 20 calls; threads {args.threads}")
        print(f"{'case':<14}{'A ms':>9}{'B ms':>9}{'B/A':>8}{'B/A min':>9}{'B/A max':>9}")
        for case in args.cases:
            if case not in CASES or CASES[case].get("cells", 0) == 0:
                raise SystemExit(f"not a mechanics case: {case}")
            s = TissueSolver(case_model(case))
            for _ in range(5):
                s.step()
            a, n = s.agents, s.agents.n
            grid = s._grid()
            lo, reach = grid[2], grid[5]
            size_a, dims_a = old_grid_geometry(lo, s.hi, reach, s.use_2d, n)
            start_a, order_a, _ = old_build_grid(a.position, n, lo, size_a, dims_a)
            near, naff = np.empty((a.capacity, 8)), np.empty((a.capacity, s.n_types))
            nbr, count = np.empty((a.capacity, 32), np.int32), np.zeros(a.capacity, np.int64)
            va, pa, vb, pb = a.velocity.copy(), a.pressure.copy(), a.velocity.copy(), a.pressure.copy()
            cols = (a.position, a.radius, a.type, a.repulsion[:, 0], a.adhesion[:, 0], a.rel_max_adh[:, 0], a.affinity)

            def run_a():
                old(n, *cols, start_a, order_a, lo, size_a, dims_a, va, pa, near, naff)

            def run_b():
                neighbour_forces(n, ContactCells(*cols), grid, ForceOutput(vb, pb, nbr, count), ScanScratch(near, naff),
                                 with_forces=True, with_list=False)

            run_a()
            run_b()
            if not (np.allclose(va[:n], vb[:n], rtol=1e-12, atol=1e-12)
                    and np.allclose(pa[:n], pb[:n], rtol=1e-12, atol=1e-12)):
                raise SystemExit(f"{case}: the two kernels disagree")
            ta, tb = [], []
            for _ in range(args.rounds):
                t = time.perf_counter()
                for _ in range(20):
                    run_a()
                ta.append((time.perf_counter() - t) / 20)
                t = time.perf_counter()
                for _ in range(20):
                    run_b()
                tb.append((time.perf_counter() - t) / 20)
            r = np.array(tb) / np.array(ta)
            print(f"{case:<14}{np.median(ta) * 1e3:>9.3f}{np.median(tb) * 1e3:>9.3f}{np.median(r):>8.3f}"
                  f"{r.min():>9.3f}{r.max():>9.3f}", flush=True)


if __name__ == "__main__":
    main()
