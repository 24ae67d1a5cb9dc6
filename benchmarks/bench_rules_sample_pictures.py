"""PhysiCell's rules sample run long with a picture every hour: tropism on 1 and 2 threads,
pictures on and off, and PhysiCell 1.14.2 on the same file if its binary is given.

The model is ``src/tropism/bench_models/rules_sample`` with ``max_time`` (default 7200 min)
and full saves and SVG pictures every 60 min (PhysiCell draws its SVGs, tropism its PNGs).
Each configuration is run as a whole process, in rounds (one run of every configuration per
round, so a drift of the machine's speed hits all); the table gives the medians of wall and
CPU time (user + sys of the process and its children, the drawing process included) and each
configuration's time relative to PhysiCell, the median of the per-round ratios.

``pictures inline`` is how tropism drew before pictures were moved off the loop (the run
waits for each PNG); ``pictures`` draws them in a separate process; ``no pictures`` is
``--no-png``. Build PhysiCell yourself (``make rules-sample && make`` in a 1.14.2 checkout)::

    python benchmarks/bench_rules_sample_pictures.py [--physicell /path/to/project] [--rounds 3]
        [--max-time 7200] [--only tropism-2-pictures,...]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import tropism

MODEL = Path(tropism.__file__).parent / "bench_models" / "rules_sample"

_INLINE = ("import sys, tropism.io.recorders as r; r._two_cores = lambda: False; "
           "from tropism.cli import main; sys.argv[0] = 'tropism'; main()")


def write_model(folder: Path, max_time: float, every: float) -> Path:
    """The rules sample with ``max_time`` and saves and pictures every ``every`` minutes."""
    for f in MODEL.iterdir():
        shutil.copy(f, folder)
    p = folder / "PhysiCell_settings.xml"
    s = p.read_text()
    s = re.sub(r'<max_time units="min">[\d.]+</max_time>', f'<max_time units="min">{max_time:g}</max_time>', s)
    s = re.sub(r'(<full_data>\s*<interval units="min">)[\d.]+', rf"\g<1>{every:g}", s)
    s = re.sub(r'(<SVG>\s*<interval units="min">)[\d.]+(</interval>\s*<enable>)\w+', rf"\g<1>{every:g}\g<2>true", s)
    p.write_text(s)
    (folder / "output").mkdir(exist_ok=True)
    return p


def _timed(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if res.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed (exit {res.returncode}):\n{res.stdout[-800:]}{res.stderr[-800:]}")
    return wall, cpu, res.stdout


def configurations(physicell: Path | None) -> dict[str, tuple]:
    out = {}
    if physicell is not None:
        out["physicell-2"] = ("physicell", 2, None)
    for threads in (1, 2):
        for mode in ("inline", "pictures", "no-pictures"):
            out[f"tropism-{threads}-{mode}"] = ("tropism", threads, mode)
    return out


def run_one(kind: str, threads: int, mode: str | None, model_dir: Path, physicell: Path | None) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if kind == "physicell":
            for f in model_dir.iterdir():
                if f.is_file():
                    shutil.copy(f, tmp)
            (tmp / "output").mkdir()
            wall, cpu, _ = _timed([str(physicell), "PhysiCell_settings.xml"], tmp,
                                  env=dict(os.environ, OMP_NUM_THREADS=str(threads)))
            return wall, cpu
        args = ["run", str(model_dir / "PhysiCell_settings.xml"), "--out", str(tmp / "out"), "--threads", str(threads)]
        if mode == "no-pictures":
            args.append("--no-png")
        head = [sys.executable, "-c", _INLINE] if mode == "inline" else [sys.executable, "-m", "tropism.cli"]
        wall, cpu, _ = _timed(head + args, tmp)
        return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--physicell", type=Path, default=None, help="PhysiCell 1.14.2 binary built for the rules sample")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--max-time", type=float, default=7200.0)
    ap.add_argument("--every", type=float, default=60.0, help="minutes between saves and pictures")
    ap.add_argument("--only", default="", help="comma-separated configuration names (default: all)")
    args = ap.parse_args()
    configs = configurations(args.physicell)
    if args.only:
        configs = {k: v for k, v in configs.items() if k in args.only.split(",")}
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp)
        write_model(model_dir, args.max_time, args.every)
        run_one("tropism", 1, "no-pictures", model_dir, None)  # warm the kernel cache, as a second run would be
        times: dict[str, list[tuple[float, float]]] = {k: [] for k in configs}
        for r in range(args.rounds):
            for name, (kind, threads, mode) in configs.items():
                times[name].append(run_one(kind, threads, mode, model_dir, args.physicell))
                print(f"round {r + 1} {name}: {times[name][-1][0]:.1f} s wall, {times[name][-1][1]:.1f} s CPU",
                      file=sys.stderr, flush=True)
    n_pics = int(args.max_time // args.every) + 1
    print(f"rules sample, {args.max_time:g} min, a save and a picture every {args.every:g} min ({n_pics} pictures), "
          f"{args.rounds} rounds, {os.cpu_count()} cores")
    ref = np.array([w for w, _ in times["physicell-2"]]) if "physicell-2" in times else None
    print(f"{'configuration':28}{'wall s':>9}{'CPU s':>9}{'CPU/wall':>10}" + (f"{'PhysiCell/this':>16}" if ref is not None else ""))
    for name, rows in times.items():
        r = np.array(rows)
        line = f"{name:28}{np.median(r[:, 0]):>9.1f}{np.median(r[:, 1]):>9.1f}{np.median(r[:, 1] / r[:, 0]):>10.2f}"
        if ref is not None:
            line += f"{np.median(ref / r[:, 0]):>15.1f}x"
        print(line)


if __name__ == "__main__":
    main()
