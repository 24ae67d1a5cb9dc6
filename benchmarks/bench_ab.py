"""Before/after throughput: each bench case run by a reference revision and by this tree, in turn.

The reference revision is checked out into a temporary git worktree and imported from there
(``PYTHONPATH``), with this tree's virtual environment; the pairs alternate A B A B … so a
drift in the machine's speed falls on both. The table gives each side's median main-loop
time (``tropism bench``'s ``wall_s``, warm-up and compilation excluded) and the median of
the pair-by-pair ratios. Usage::

    python benchmarks/bench_ab.py --ref 941b677 [--pairs 3] [--threads 2] [CASE ...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from tropism.bench import CASES

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ["mech_2d_10k", "mech_3d_10k", "diffusion_2d", "diffusion_3d", "rules_sample"]


def _run(src: Path, case: str, threads: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src))
    cmd = [sys.executable, "-m", "tropism.cli", "bench", "--case", case, "--json", "--threads", str(threads)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=src.parent)
    if res.returncode != 0:
        raise SystemExit(f"{case} failed under {src}:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cases", nargs="*", default=DEFAULT)
    ap.add_argument("--ref", required=True, help="git revision to compare against")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        raise SystemExit(f"unknown case(s) {', '.join(unknown)}; allowed: {', '.join(CASES)}")
    with tempfile.TemporaryDirectory() as tmp:
        ref = Path(tmp) / "ref"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(ref), args.ref], check=True)
        try:
            print(f"A = {args.ref}, B = this tree; {args.pairs} pairs; threads {args.threads}")
            print(f"{'case':<14}{'A loop s':>10}{'B loop s':>10}{'B/A':>8}{'B/A min':>9}{'B/A max':>9}")
            for case in args.cases:
                a_times, b_times, ratios = [], [], []
                for _ in range(args.pairs):
                    a = _run(ref / "src", case, args.threads)["wall_s"]
                    b = _run(ROOT / "src", case, args.threads)["wall_s"]
                    a_times.append(a)
                    b_times.append(b)
                    ratios.append(b / a)
                print(f"{case:<14}{statistics.median(a_times):>10.3f}{statistics.median(b_times):>10.3f}"
                      f"{statistics.median(ratios):>8.3f}{min(ratios):>9.3f}{max(ratios):>9.3f}", flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(ref)], check=False)


if __name__ == "__main__":
    main()
