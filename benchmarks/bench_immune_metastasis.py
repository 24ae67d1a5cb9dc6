"""A 2D breast tumour with MSCs, the host's immune cells and metastasis, end to end (issue 20).

Run: python benchmarks/bench_immune_metastasis.py [--scenario FILE] [--days 21] [--threads N]
Prints one row per simulated day reached: wall time (s), agents, tumour cells, each immune type
in the tumour, circulating tumour cells and metastatic seeds in the whole body; then the total
against the goal of issue 20 (21 simulated days under 5 minutes on 2 cores). The wall time is
the whole process's from here: library, build, JIT cache, body and tissue, output.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scenario", type=Path,
                    default=ROOT / "examples" / "scenarios" / "breast_tumour_msc_metastasis.toml")
    ap.add_argument("--days", type=float, default=21.0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--goal-s", type=float, default=300.0)
    a = ap.parse_args()
    t0 = time.perf_counter()
    from tropism.io.timeseries import TimeSeries
    from tropism.resolve import build, load_and_check
    from tropism.run import run_model

    resolved = build(load_and_check(a.scenario), file=str(a.scenario))
    model = resolved.model
    model.clocks = model.clocks.model_copy(update={"max_time": a.days * 1440.0})
    model.save = model.save.model_copy(update={"full_data_interval": 1440.0, "svg_interval": 1440.0})
    immune = resolved.immune
    print(f"cores available: {len(os.sched_getaffinity(0))}; scenario {a.scenario.name}, {a.days:g} days; "
          f"cell types {', '.join(model.cell_type_names)}")
    with tempfile.TemporaryDirectory() as tmp:
        ts = TimeSeries(Path(tmp), model, resolved.roles["tumour"], resolved.roles["msc"], resolved.hypoxic_mmHg,
                        png=False, title=resolved.experiment.title, products=resolved.product_labels(),
                        treatments=len(resolved.experiment.treatment), immune_types=immune,
                        fates=resolved.fate)
        summary = run_model(model, tmp, threads=a.threads, png=False, body=resolved.bodies or None,
                            link=resolved.links or None, extra_recorders=[ts])
        total = time.perf_counter() - t0
        short = {"cd8_t": "CD8", "nk": "NK", "cd4_t": "CD4", "treg": "Treg", "macrophage": "Mac",
                 "macrophage_m2": "M2"}
        head = ["day", "tumour"] + [short.get(n, n) for n in immune] + ["kills", "CTC", "seeds"]
        print(" ".join(f"{h:>8}" for h in head))
        for day in range(1, int(a.days) + 1):
            t = day * 1440.0

            def v(q, t=t):
                try:
                    return ts.value(q, t)
                except KeyError:
                    return float("nan")
            kills = sum(v(f"immune_kills:{n}") for n in immune)
            row = [day, v("tumour_live_cells")] + [v(f"immune_in_tumour:{n}") for n in immune] \
                + [kills, v("ctc"), v("metastatic_seeds")]
            print(" ".join(f"{x:>8.4g}" for x in row))
    print(f"total: {a.days:g} simulated days in {total:.1f} s wall ({summary.agents:,} agents at the end); "
          f"goal {a.goal_s:g} s: {'met' if total < a.goal_s else 'NOT met'}")


if __name__ == "__main__":
    main()
