"""Accuracy and speed of the solver's three clocks on a scenario (default: the glioma homing example).

Run: python benchmarks/bench_clocks.py [--scenario FILE] [--hours 24] [--seeds 1,2]
         [--clocks 0.01/0.1/6:lod,0.1/0.1/6:douglas,0.1/1/6:douglas]

Each clock setting is ``dt_diffusion/dt_mechanics/dt_phenotype`` in minutes, then ``:`` and the
diffusion scheme (``lod``, PhysiCell's, by default, or ``douglas``). Prints one row per
setting and seed: wall time and the scenario's readouts at the end (live and dead tumour cells,
tumour volume, MSCs in the tumour, mean oxygen, hypoxic fraction of the tumour, mean SDF-1 in
the tumour, mean and largest pressure of the live cells); then, per coarser setting, its median difference from the first (reference)
setting beside the reference's own spread between seeds. A coarser clock is acceptable where
its difference is within the seed-to-seed spread of the reference.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
READOUTS = ("tumour_live_cells", "tumour_dead_cells", "tumour_volume", "msc_in_tumour", "oxygen_mean",
            "hypoxic_fraction", "tumour_mean:sdf1", "pressure_mean", "pressure_max")


class _Pressure:
    """Mechanical pressure of the live cells at the end: an unstable mechanics step shows as
    jitter, pressures far above a packed tissue's ~1."""

    def __init__(self) -> None:
        self.mean = self.max = float("nan")

    def finish(self, snap) -> None:
        import numpy as np
        a = snap.solver.agents
        live = a.death_state[: a.n] == 0
        p = a.pressure[: a.n][live]
        self.mean, self.max = (float(p.mean()), float(p.max())) if p.size else (float("nan"),) * 2


def run_once(scenario: Path, hours: float, clocks: tuple, seed: int,
             threads: int | None) -> tuple[float, dict[str, float]]:
    from tropism.io.timeseries import TimeSeries
    from tropism.resolve import build, load_and_check
    from tropism.run import run_model

    t0 = time.perf_counter()
    resolved = build(load_and_check(scenario), file=str(scenario))
    model = resolved.model
    dd, dm, dp, scheme = clocks
    model.clocks = model.clocks.model_copy(update={"max_time": hours * 60.0, "dt_diffusion": dd,
                                                   "dt_mechanics": dm, "dt_phenotype": dp,
                                                   "diffusion_scheme": scheme})
    with tempfile.TemporaryDirectory() as tmp:
        ts = TimeSeries(Path(tmp), model, resolved.roles["tumour"], resolved.roles["msc"], resolved.hypoxic_mmHg,
                        png=False, title=resolved.experiment.title, fates=resolved.fate)
        pressure = _Pressure()
        run_model(model, tmp, seed=seed, threads=threads, png=False, body=resolved.bodies or None, link=resolved.links or None,
                  extra_recorders=[ts, pressure])
    end = max(t for t, *_ in ts.rows)
    last: dict[str, float] = {}
    for t, q, v, _ in ts.rows:
        if abs(t - end) < 1e-9:
            key = "msc_in_tumour" if q.startswith("msc_in_tumour") else q
            last[key] = last.get(key, 0.0) + v if key == "msc_in_tumour" else v
    last["pressure_mean"], last["pressure_max"] = pressure.mean, pressure.max
    return time.perf_counter() - t0, {k: last.get(k, float("nan")) for k in READOUTS}


def _label(c: tuple) -> str:
    return "/".join(f"{x:g}" for x in c[:3]) + ("" if c[3] == "lod" else f" {c[3]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scenario", type=Path, default=ROOT / "examples" / "scenarios" / "glioma_msc_ia_same_side.toml")
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--clocks", default="0.01/0.1/6:lod,0.1/0.1/6:douglas,0.1/1/6:douglas")
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    settings = []
    for spec in a.clocks.split(","):
        steps, _, scheme = spec.partition(":")
        settings.append(tuple(float(x) for x in steps.split("/")) + (scheme or "lod",))
    short = {"tumour_live_cells": "live", "tumour_dead_cells": "dead", "tumour_volume": "vol mm3",
             "msc_in_tumour": "MSC in T", "oxygen_mean": "O2 mean", "hypoxic_fraction": "hypoxic",
             "tumour_mean:sdf1": "SDF-1 T", "pressure_mean": "p mean", "pressure_max": "p max"}
    print(f"scenario {a.scenario.name}, {a.hours:g} simulated h")
    print(f"{'clocks (min)':>20} {'seed':>4} {'wall s':>7} " + " ".join(f"{short[k]:>9}" for k in READOUTS))
    results: dict[tuple, list[dict[str, float]]] = {}
    walls: dict[tuple, list[float]] = {}
    for c in settings:
        for s in seeds:
            wall, r = run_once(a.scenario, a.hours, c, s, a.threads)
            results.setdefault(c, []).append(r)
            walls.setdefault(c, []).append(wall)
            label = _label(c)
            print(f"{label:>20} {s:>4} {wall:>7.1f} " + " ".join(f"{r[k]:>9.4g}" for k in READOUTS), flush=True)
    ref = settings[0]
    print("\nrelative difference from the reference (median over seeds) | reference spread between seeds")
    for c in settings[1:]:
        label = _label(c)
        cells = []
        for k in READOUTS:
            rv = [r[k] for r in results[ref]]
            cv = [r[k] for r in results[c]]
            scale = max(abs(statistics.median(rv)), 1e-12)
            diff = abs(statistics.median(cv) - statistics.median(rv)) / scale
            spread = (max(rv) - min(rv)) / scale
            cells.append(f"{short[k]} {diff:.3g}|{spread:.3g}")
        speed = statistics.median(walls[ref]) / statistics.median(walls[c])
        print(f"{label:>20}: {speed:.2f}x faster; " + "; ".join(cells))


if __name__ == "__main__":
    main()
