"""The glioma homing example end to end: body and tissue coupled, 2D, for 14 simulated days.

Run: python benchmarks/bench_homing.py [--scenario FILE] [--days 14] [--threads N]
Prints: simulated day | wall time (s) | agents | MSCs in the tumour | agent-steps/s, one row
per simulated day reached, then the total against the goal of issue 10 (14 days under 2
minutes on 2 cores). Whole-run wall time includes start-up (library, JIT cache) and output.
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
    ap.add_argument("--scenario", type=Path, default=ROOT / "examples" / "scenarios" / "glioma_msc_ia_same_side.toml")
    ap.add_argument("--days", type=float, default=14.0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--goal-s", type=float, default=120.0)
    a = ap.parse_args()
    t0 = time.perf_counter()
    from tropism.io.timeseries import TimeSeries
    from tropism.resolve import build, load_and_check
    from tropism.run import run_model

    resolved = build(load_and_check(a.scenario), file=str(a.scenario))
    model = resolved.model
    model.clocks = model.clocks.model_copy(update={"max_time": a.days * 1440.0})
    rows: list[tuple] = []
    next_day = [1.0]

    def progress(t_min: float, agents: int, rate: float) -> None:
        while t_min >= next_day[0] * 1440.0 - 1e-6:
            rows.append((next_day[0], time.perf_counter() - t0, agents, rate))
            print(f"{next_day[0]:>5.0f} {rows[-1][1]:>10.1f} {agents:>8,} {rate:>14.3g}", flush=True)
            next_day[0] += 1.0

    print(f"cores available: {len(os.sched_getaffinity(0))}; scenario {a.scenario.name}, {a.days:g} days")
    print(f"{'day':>5} {'wall s':>10} {'agents':>8} {'agent-steps/s':>14}")
    with tempfile.TemporaryDirectory() as tmp:
        ts = TimeSeries(Path(tmp), model, resolved.roles["tumour"], resolved.roles["msc"], resolved.hypoxic_mmHg,
                        png=False, title=resolved.experiment.title, fates=resolved.fate)
        summary = run_model(model, tmp, threads=a.threads, png=False, progress=progress,
                            body=resolved.bodies or None, link=resolved.links or None, extra_recorders=[ts])
        homed = [r for r in ts.rows if r[1].startswith("msc_in_tumour")]
        cafs = [r for r in ts.rows if r[1].startswith("msc_caf_in_tumour")]
    total = time.perf_counter() - t0
    print(f"total: {a.days:g} simulated days in {total:.1f} s wall ({summary.agents:,} agents at the end, "
          f"{summary.agent_steps / max(summary.wall_s, 1e-9):.3g} agent-steps/s); goal {a.goal_s:g} s: "
          f"{'met' if total < a.goal_s else 'NOT met'}")
    if homed:
        print(f"MSC-derived cells in the tumour at the end: {homed[-1][2]:g}"
              + (f" (of which CAFs: {cafs[-1][2]:g})" if cafs else ""))


if __name__ == "__main__":
    main()
