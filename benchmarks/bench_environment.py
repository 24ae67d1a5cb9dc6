"""The tumour environment at speed (issue 19): a 2D colon scenario with its vessel bed, MSCs
and a drug for 21 simulated days, then the diffusion cost per substrate on its grid.

Run: python benchmarks/bench_environment.py [--scenario FILE] [--days 21] [--threads N]
Prints: simulated day | wall time (s) | agents, one row per day reached; the total against the
goal of issue 19 (21 days under 3 minutes on 2 cores); then, on the same grid and diffusion
clock, the wall time of one diffusion step for 1, 2, 5, 10 and 20 substrates (a vessel in every
voxel and a cell source in one of four, as the scenario has), per step and per substrate-step.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def run_scenario(path: Path, days: float, threads):
    from tropism.io.timeseries import TimeSeries
    from tropism.resolve import build, load_and_check
    from tropism.run import run_model
    t0 = time.perf_counter()
    r = build(load_and_check(path), file=str(path))
    model = r.model
    model.clocks = model.clocks.model_copy(update={"max_time": days * 1440.0})
    next_day = [1.0]

    def progress(t_min: float, agents: int, rate: float) -> None:
        while t_min >= next_day[0] * 1440.0 - 1e-6:
            print(f"{next_day[0]:>5.0f} {time.perf_counter() - t0:>10.1f} {agents:>8,}", flush=True)
            next_day[0] += 1.0

    print(f"{'day':>5} {'wall s':>10} {'agents':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        ts = TimeSeries(Path(tmp), model, r.roles["tumour"], r.roles["msc"], r.hypoxic_mmHg, fates=r.fate)
        summary = run_model(model, tmp, threads=threads, png=False, progress=progress, body=r.bodies or None,
                            link=r.links or None, extra_recorders=[ts])
        end = {q: ts.value(q, days * 1440.0) for q in ts.quantities()}
    return model, time.perf_counter() - t0, summary, end


def diffusion_table(model, repeats: int = 200) -> None:
    from tropism.tissue.diffusion import DiffusionSolver
    from tropism.tissue.mesh import Mesh
    d, c = model.domain, model.clocks
    mesh = Mesh(x_min=d.x_min, x_max=d.x_max, y_min=d.y_min, y_max=d.y_max, z_min=d.z_min, z_max=d.z_max,
                dx=d.dx, dy=d.dy, dz=d.dz, use_2d=d.use_2d)
    print(f"\ndiffusion on the scenario's grid: {mesh.nx} x {mesh.ny} x {mesh.nz} voxels, {c.diffusion_scheme}, "
          f"dt {c.dt_diffusion:g} min, {repeats} steps")
    print(f"{'substrates':>10} {'ms/step':>9} {'ms/substrate-step':>18}")
    rng = np.random.default_rng(0)
    for ns in (1, 2, 5, 10, 20):
        D = np.full(ns, 5000.0)
        solver = DiffusionSolver(mesh, D, np.full(ns, 0.01), c.dt_diffusion, np.zeros((ns, 6), bool), np.zeros((ns, 6)),
                                 scheme=c.diffusion_scheme)
        fields = rng.uniform(0, 1, (ns,) + mesh.shape)
        vox = np.arange(mesh.n_voxels, dtype=np.int64)
        m = np.full((mesh.n_voxels, ns), 1.0 / (1.0 + 0.05 * c.dt_diffusion))
        cc = np.zeros((mesh.n_voxels, ns))
        cc[::4] = 0.01
        solver.step_with_sources(fields, 5, vox, m, cc)  # compile and warm
        t0 = time.perf_counter()
        solver.step_with_sources(fields, repeats, vox, m, cc)
        ms = (time.perf_counter() - t0) / repeats * 1e3
        print(f"{ns:>10} {ms:>9.3f} {ms / ns:>18.4f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scenario", type=Path, default=ROOT / "examples" / "scenarios" / "colon_msc_paclitaxel.toml")
    ap.add_argument("--days", type=float, default=21.0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--goal-s", type=float, default=180.0)
    a = ap.parse_args()
    print(f"cores available: {len(os.sched_getaffinity(0))}; scenario {a.scenario.name}, {a.days:g} days")
    model, total, summary, end = run_scenario(a.scenario, a.days, a.threads)
    print(f"total: {a.days:g} simulated days in {total:.1f} s wall ({summary.agents:,} agents at the end); "
          f"goal {a.goal_s:g} s: {'met' if total < a.goal_s else 'NOT met'}")
    keys = [k for k in end if k.startswith(("tumour_live", "tumour_volume", "vessel_density_tumour", "msc_live",
                                             "tumour_mean:oxygen", "tumour_mean:vegf", "hypoxic"))]
    print("at the end: " + "; ".join(f"{k} {end[k]:.4g}" for k in keys))
    diffusion_table(model)


if __name__ == "__main__":
    main()
