"""A run killed with SIGKILL and resumed writes the same final output as one never
interrupted (issue 8, item 9: checkpoints)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from tropism.io.physicell_output import read_full_save
from tropism.io.populations import read_populations

from conftest import TESTS

MODEL = TESTS / "fixtures" / "bench" / "rules_3types" / "PhysiCell_settings.xml"


def _cmd(*args):
    return [sys.executable, "-m", "tropism.cli", "run", *map(str, args)]


def _env():
    return {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}


def _kill_after(proc: subprocess.Popen, path: Path) -> None:
    """SIGKILL ``proc`` as soon as ``path`` exists (the run must not have finished by then)."""
    deadline = time.time() + 300
    while not path.exists() and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (path.parent / "final.xml").exists(), "the run finished before it could be killed"


def test_sigkill_then_resume_gives_the_uninterrupted_output(tmp_path):
    common = ["--max-time", 1080, "--no-png", "--threads", 1, "--seed", 4]
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    r = subprocess.run(_cmd(MODEL, "--out", whole, *common), capture_output=True, text=True, env=_env(), timeout=600)
    assert r.returncode == 0, r.stderr
    proc = subprocess.Popen(_cmd(MODEL, "--out", cut, *common), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=_env())
    _kill_after(proc, cut / "output00000002.xml")  # past the 720-min save
    r = subprocess.run([sys.executable, "-m", "tropism.cli", "run", "--resume", str(cut), "--no-png", "--threads", "1"],
                       capture_output=True, text=True, env=_env(), timeout=600)
    assert r.returncode == 0, r.stderr
    for stem in ("final", 3):
        a, b = read_full_save(whole, stem), read_full_save(cut, stem)
        assert a["time"] == b["time"]
        assert np.array_equal(a["fields"], b["fields"])
        for label in ("ID", "position", "cell_type", "dead", "total_volume", "damage"):
            assert np.array_equal(a["cells"][label], b["cells"][label]), (stem, label)
    pa, pb = read_populations(whole / "populations.csv"), read_populations(cut / "populations.csv")
    assert list(pa) == list(pb)
    for key in pa:
        assert np.array_equal(np.asarray(pa[key]), np.asarray(pb[key])), key


def test_resume_without_a_checkpoint_is_refused(tmp_path):
    r = subprocess.run([sys.executable, "-m", "tropism.cli", "run", "--resume", str(tmp_path)], capture_output=True,
                       text=True, env=_env(), timeout=120)
    assert r.returncode == 2 and "no checkpoint" in r.stderr and "Traceback" not in r.stderr


_COUPLED = """
import sys
sys.path[:0] = [{tests!r}, {tests!r} + "/scenario"]  # conftest, test_exchange
from test_exchange import coupled_parts
from tropism.run import run_model
model, scenario, link = coupled_parts(max_time=360.0)
model.save.full_data_enabled = True
model.save.full_data_interval = 60.0
run_model(model, {out!r}, seed=5, threads=1, png=False, body=scenario, link=link, resume={resume})
"""


def _coupled_run(out: Path, resume: bool = False, wait: bool = True):
    code = _COUPLED.format(tests=str(TESTS), out=str(out), resume=resume)
    cmd = [sys.executable, "-c", code]
    if wait:
        r = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=600)
        assert r.returncode == 0, r.stderr
        return r
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())


def test_coupled_run_killed_and_resumed_gives_the_uninterrupted_output(tmp_path):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    _coupled_run(whole)
    proc = _coupled_run(cut, wait=False)
    _kill_after(proc, cut / "output00000003.xml")  # past the 180-min save
    _coupled_run(cut, resume=True)
    a, b = read_full_save(whole, "final"), read_full_save(cut, "final")
    assert np.array_equal(a["fields"], b["fields"])
    for label in ("ID", "position", "cell_type", "dead", "total_volume"):
        assert np.array_equal(a["cells"][label], b["cells"][label]), label
    # the ports and the body: every exchange and every body amount as in the uninterrupted run
    for name in ("exchange.csv", "body.csv"):
        assert (whole / name).read_text() == (cut / name).read_text(), name
