"""Ctrl-C during `tropism run`: the save in progress completes, a last save is written, exit 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tropism.io.physicell_output import list_full_saves, read_full_save
from tropism.io.populations import read_populations
from tropism.model.physicell import write_model

sys.path.insert(0, str(Path(__file__).parent))
from test_cli import tiny_model  # noqa: E402


@pytest.mark.skipif(os.name != "posix", reason="SIGINT delivery to a child needs POSIX")
def test_ctrl_c_finishes_cleanly(tmp_path):
    model = tiny_model()
    model.clocks = model.clocks.model_copy(update={"max_time": 1e6})
    write_model(model, tmp_path / "model")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "tropism.cli", "run", str(tmp_path / "model"), "--out", str(out),
                             "--threads", "1", "--no-png"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(out.glob("output*.xml"))) < 3:
        time.sleep(0.2)
    assert len(list(out.glob("output*.xml"))) >= 3, "run did not start saving"
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "interrupted at" in " ".join(stdout.split())
    # every save on disk is whole and readable; the last one is the final state
    saves = list_full_saves(out)
    for index in saves:
        read_full_save(out, index)
    final = read_full_save(out, "final")
    last = read_full_save(out, saves[-1])
    assert final["time"] == last["time"] > 0
    np.testing.assert_array_equal(final["cells"]["position"], last["cells"]["position"])
    assert not list(out.glob(".*tmp*")), "a temporary file was left behind"
    pops = read_populations(out / "populations.csv")
    assert len(pops["time_min"]) == len(saves)
