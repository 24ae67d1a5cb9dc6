"""A scenario's tissue, exported as a PhysiCell 1.14 project, run by PhysiCell and by tropism.

Run: python benchmarks/bench_physicell_export.py [--scenario FILE] [--minutes 120]
         [--physicell PATH/TO/project] [--repeat 3]

Exports the scenario with ``tropism export --physicell`` into a scratch folder, then runs the
same settings file (one thread each: the file says ``omp_num_threads`` 1, tropism is given
``--threads 1``) as whole processes, alternating the two, and prints per engine: median wall
time, live cells and mean oxygen at the end, then the ratio. PhysiCell is not part of this
repository: build its template project yourself (``make template && make`` in a PhysiCell
1.14.2 checkout) and pass the executable with ``--physicell``; without it only tropism runs.

Both engines run PhysiCell's own clocks (0.01 / 0.1 / 6 min, LOD diffusion), written into the
exported file, so that they take the same steps; ``--scenario-clocks`` keeps the scenario's
(in 2D the library's Douglas diffusion at 0.1 min, which PhysiCell would run as LOD).
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.io as sio

ROOT = Path(__file__).resolve().parents[1]


def _end_state(out: Path) -> tuple[int, float]:
    cells = sio.loadmat(out / "final_cells.mat")
    key = next(k for k in cells if not k.startswith("__"))
    env = sio.loadmat(out / "final_microenvironment0.mat")["multiscale_microenvironment"]
    return int(cells[key].shape[1]), float(np.mean(env[4]))


def _timed(cmd: list[str], cwd: Path) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scenario", type=Path, default=ROOT / "examples" / "scenarios" / "glioma_msc_iv.toml")
    ap.add_argument("--minutes", type=float, default=120.0)
    ap.add_argument("--physicell", type=Path, default=None, help="PhysiCell 1.14 template project executable")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scenario-clocks", action="store_true", help="keep the scenario's time steps and scheme")
    a = ap.parse_args()
    tropism = str(Path(sys.executable).with_name("tropism"))
    with tempfile.TemporaryDirectory() as tmp:
        proj = Path(tmp) / "project"
        subprocess.run([tropism, "export", str(a.scenario), "--physicell", str(proj)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        settings = proj / "PhysiCell_settings.xml"
        text = settings.read_text(encoding="utf-8")
        start = text.index('<max_time units="min">')
        end = text.index("</max_time>", start)
        text = text[:start] + f'<max_time units="min">{a.minutes:g}' + text[end:]
        if not a.scenario_clocks:
            for tag, value in (("dt_diffusion", 0.01), ("dt_mechanics", 0.1), ("dt_phenotype", 6.0)):
                text = re.sub(rf"<{tag}( [^>]*)?>[^<]*</{tag}>", rf"<{tag}\g<1>>{value:g}</{tag}>", text)
            text = re.sub(r"\s*<diffusion_scheme>[^<]*</diffusion_scheme>", "", text)
        settings.write_text(text, encoding="utf-8")
        (proj / "output").mkdir()
        engines = {"tropism": ([tropism, "run", str(settings), "--out", str(Path(tmp) / "tropism_out"),
                                "--threads", "1", "--no-png"], Path(tmp) / "tropism_out")}
        if a.physicell is not None:
            engines["PhysiCell 1.14"] = ([str(a.physicell.resolve()), str(settings)], proj / "output")
        times: dict[str, list[float]] = {k: [] for k in engines}
        for _ in range(a.repeat):
            for name, (cmd, out) in engines.items():
                if out.exists() and name == "tropism":
                    shutil.rmtree(out)
                times[name].append(_timed(cmd, proj))
        print(f"scenario {a.scenario.name}, {a.minutes:g} simulated min, 1 thread each, {a.repeat} runs each")
        print(f"{'engine':<16} {'wall s (median)':>16} {'cells at end':>13} {'mean O2 mmHg':>13}")
        for name, (_cmd, out) in engines.items():
            n, o2 = _end_state(out)
            print(f"{name:<16} {statistics.median(times[name]):>16.2f} {n:>13,} {o2:>13.2f}")
        if a.physicell is not None:
            ratio = statistics.median(p / t for p, t in zip(times["PhysiCell 1.14"], times["tropism"]))
            print(f"PhysiCell / tropism wall time, pair by pair (median): {ratio:.1f}x (goal: >= 5x)")


if __name__ == "__main__":
    main()
