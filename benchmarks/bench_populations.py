"""Population parity with PhysiCell 1.14.2 on the shared bench cases growth_2d and rules_3types.

Runs each case for several seeds and prints live tumour cells per save next to PhysiCell's
mean over seeds 1–3 (reference table in shared/bench/README.md, measured 2026-11-22), with the
ratio of medians; for rules_3types also the carriers' mean distance from the centre. Usage::

    python benchmarks/bench_populations.py [--seeds 1 2 3] [--models ../shared/bench]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from tropism import load_model, run_model
from tropism.io.physicell_output import read_full_save
from tropism.io.populations import read_populations

# PhysiCell 1.14.2, live tumour cells at t = 0, 360, 720, 1080, 1440 min (mean of seeds 1-3).
REFERENCE = {
    "growth_2d": [1000, 1053, 1152, 1265, 1366],
    "rules_3types": [1000, 921, 802, 658, 555],
}
CARRIER_DISTANCE_REF = (777.0, 385.0)  # µm, t = 0 and 1440 min (shared/bench/README.md)


def run(case: str, models: Path, seeds: list[int], threads: int) -> None:
    model = load_model(models / case / "PhysiCell_settings.xml")
    series, walls, carriers = [], [], []
    for seed in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            summary = run_model(model, tmp, seed=seed, threads=threads, png=False)
            walls.append(time.perf_counter() - t0)
            pops = read_populations(Path(tmp) / "populations.csv")
            series.append(np.asarray(pops["tumor_live"], dtype=float))
            if "carrier" in model.cell_type_names:
                k = model.cell_type_names.index("carrier")
                cells = read_full_save(tmp, summary.saves - 1)["cells"]
                sel = cells["cell_type"] == k
                carriers.append(float(np.hypot(cells["position"][sel, 0], cells["position"][sel, 1]).mean()))
    runs = np.array(series)
    med = np.median(runs, axis=0)
    ref = REFERENCE[case]
    print(f"\n{case}: seeds {seeds}, loop+saves wall s per seed: {', '.join(f'{w:.1f}' for w in walls)}")
    print(f"{'t (min)':>8}{'tropism median':>16}{'per seed':>24}{'PhysiCell':>11}{'ratio':>8}")
    for i, t in enumerate(pops["time_min"]):
        per = " / ".join(f"{v:.0f}" for v in runs[:, i])
        print(f"{t:>8.0f}{med[i]:>16.0f}{per:>24}{ref[i]:>11}{med[i] / ref[i]:>8.3f}")
    if carriers:
        print(f"carrier mean distance from centre at the end: median {np.median(carriers):.0f} µm "
              f"(PhysiCell ≈ {CARRIER_DISTANCE_REF[1]:.0f} µm; {CARRIER_DISTANCE_REF[0]:.0f} µm at t = 0)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "bench")
    ap.add_argument("cases", nargs="*", default=list(REFERENCE))
    args = ap.parse_args()
    if not args.models.is_dir():
        print(f"population parity skipped: PhysiCell bench models not found at {args.models} (pass --models)")
        return
    warnings.simplefilter("ignore")
    for case in args.cases:
        run(case, args.models, args.seeds, args.threads)


if __name__ == "__main__":
    main()
