"""PhysiCell 1.14.2's rules sample, side by side: tropism against a PhysiCell build, same files.

The model is ``src/tropism/bench_models/rules_sample`` (PhysiCell's sample with max_time 1440
min and saves every 120 min, written by tropism's PhysiCell writer). Runs alternate A B A B
so that a drift of the machine's speed hits both; the table gives each run's loop time
(PhysiCell's "total wall time"; tropism's "s wall", saves included in both) and whole-process
time, with the ratios. PhysiCell is not part of this repository: build it yourself
(``make rules-sample && make`` in a PhysiCell 1.14.2 checkout) and pass its binary::

    python benchmarks/bench_rules_sample.py --physicell /path/to/PhysiCell/project [--pairs 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import tropism

MODEL = Path(tropism.__file__).parent / "bench_models" / "rules_sample"


def _physicell(binary: Path, threads: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        for f in MODEL.iterdir():
            shutil.copy(f, tmp)
        (Path(tmp) / "output").mkdir()
        t0 = time.perf_counter()
        res = subprocess.run([str(binary), "PhysiCell_settings.xml"], cwd=tmp, capture_output=True, text=True,
                             env=dict(os.environ, OMP_NUM_THREADS=str(threads)))
        whole = time.perf_counter() - t0
    m = re.findall(r"total wall time: (\d+) days, (\d+) hours, (\d+) minutes, and ([\d.]+) seconds", res.stdout)
    if res.returncode != 0 or not m:
        sys.exit(f"PhysiCell failed (exit {res.returncode}): {res.stdout[-500:]}{res.stderr[-500:]}")
    d, h, mi, s = m[-1]
    return int(d) * 86400 + int(h) * 3600 + int(mi) * 60 + float(s), whole


def _tropism(threads: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = subprocess.run([sys.executable, "-m", "tropism.cli", "run", str(MODEL / "PhysiCell_settings.xml"),
                              "--out", tmp, "--threads", str(threads), "--no-png"], capture_output=True, text=True)
        whole = time.perf_counter() - t0
    m = re.search(r"([\d.]+) s wall", " ".join(res.stdout.split()))
    if res.returncode != 0 or not m:
        sys.exit(f"tropism failed (exit {res.returncode}): {res.stderr[-800:]}")
    return float(m.group(1)), whole


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--physicell", type=Path, required=True, help="PhysiCell 1.14.2 binary built for the rules sample")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    _tropism(args.threads)  # warm the kernel cache, as a user's second run would be
    rows = []
    for _ in range(args.pairs):
        rows.append(_physicell(args.physicell, args.threads) + _tropism(args.threads))
    r = np.array(rows)
    print(f"rules_sample, 1440 min, {args.threads} threads, {args.pairs} pairs")
    print(f"{'':22}{'PhysiCell':>11}{'tropism':>10}{'ratio':>8}")
    for label, a, b in (("loop s (median)", 0, 2), ("whole process s", 1, 3)):
        ratio = np.median(r[:, a] / r[:, b])
        print(f"{label:22}{np.median(r[:, a]):>11.1f}{np.median(r[:, b]):>10.1f}{ratio:>7.1f}x")
    print("per pair (PhysiCell loop/whole, tropism loop/whole): "
          + "; ".join(f"{p:.1f}/{q:.1f}, {x:.1f}/{y:.1f}" for p, q, x, y in rows))


if __name__ == "__main__":
    main()
