"""Throughput of the tissue solver on the shared PhysiCell benchmark cases.

Each case runs in its own process (so peak memory is per case) through ``tropism bench``;
the table compares with PhysiCell 1.14.2's figures on the reference 2-core machine
(shared/bench/README.md). Usage::

    python benchmarks/bench_throughput.py [--threads 2] [--models ../shared/bench] [CASE ...]

Without ``--models`` the built-in copies of the cases are used (``tropism.bench``), which
match the shared files; with it, the PhysiCell files themselves are read.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from tropism.bench import CASES


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cases", nargs="*", default=list(CASES))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", type=Path, default=None, help="folder of PhysiCell bench cases")
    args = ap.parse_args()
    shared = Path(__file__).resolve().parents[2] / "shared" / "bench"
    models = args.models if args.models is not None else (shared if shared.is_dir() else None)
    print(f"models: {models or 'built-in'}; threads: {args.threads}")
    print(f"{'case':<14}{'agents':>10}{'voxels':>9}{'loop s':>9}{'agent-steps/s':>15}{'voxel-upd/s':>13}"
          f"{'PhysiCell':>11}{'ratio':>7}{'peak MiB':>9}{'step s':>9}")
    for case in args.cases:
        cmd = [sys.executable, "-m", "tropism.cli", "bench", "--case", case, "--json", "--threads", str(args.threads)]
        if models is not None:
            cmd += ["--models", str(models)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            print(f"{case:<14} failed: {res.stderr.strip().splitlines()[-1] if res.stderr.strip() else res.returncode}")
            continue
        r = json.loads(res.stdout.strip().splitlines()[-1])
        mech = r["physicell_agent_steps_per_s"] > 0
        ours = r["agent_steps_per_s"] if mech else r["voxel_updates_per_s"]
        ref = r["physicell_agent_steps_per_s"] if mech else r["physicell_voxel_updates_per_s"]
        ratio = f"{ours / ref:>7.2f}" if ref else f"{'-':>7}"
        print(f"{case:<14}{r['agents']:>10,}{r['voxels']:>9,}{r['wall_s']:>9.2f}{r['agent_steps_per_s']:>15.3g}"
              f"{r['voxel_updates_per_s']:>13.3g}{ref:>11.3g}{ratio}{r['peak_rss_mib']:>9.0f}"
              f"{r['mechanics_step_s']:>9.3f}")


if __name__ == "__main__":
    main()
