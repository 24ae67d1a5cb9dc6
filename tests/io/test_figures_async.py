"""Pictures drawn off the run's loop: the same files, all written when the run returns, none
half-written when a run stops early."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from tropism.io import figures
from tropism.io import recorders
from tropism.io.figures import BackgroundDrawer
from tropism.model import (CellType, Clocks, Cycle, Domain, InitialCells, Mechanics, Model, Motility, PhaseLink,
                           SaveOptions, SecretionParameters, Substrate)
from tropism.model.phenotype import default_apoptosis, default_necrosis
from tropism.run import run_model

from conftest import needs_threads

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the drawing process needs POSIX pipes")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def small_model(max_time: float = 30.0, every: float = 5.0) -> Model:
    rng = np.random.default_rng(3)
    n = 80
    pos = np.c_[rng.uniform(-80.0, 80.0, (n, 2)), np.zeros(n)]
    oxygen = Substrate(name="oxygen", units="mmHg", diffusion_coefficient=1e5, decay_rate=0.1,
                       initial_condition=38.0, dirichlet_enabled=True, dirichlet_value=38.0)
    tumor = CellType(name="tumor", id=0, cycle=Cycle(code=5, name="live", links=[PhaseLink(start=0, end=0, rate=0.01)]),
                     apoptosis=default_apoptosis().model_copy(update={"rate": 0.01}),
                     necrosis=default_necrosis().model_copy(update={"rate": 0.0}), mechanics=Mechanics(),
                     motility=Motility(enabled=True, speed=1.0, persistence_time=2.0),
                     secretion={"oxygen": SecretionParameters(uptake_rate=5.0)})
    return Model(domain=Domain(x_min=-100.0, x_max=100.0, y_min=-100.0, y_max=100.0, dx=20.0, dy=20.0, dz=20.0),
                 clocks=Clocks(max_time=max_time, dt_diffusion=0.01, dt_mechanics=0.1, dt_phenotype=6.0),
                 save=SaveOptions(full_data_interval=every, full_data_enabled=True), substrates=[oxygen],
                 cell_types=[tumor], initial_cells=InitialCells(positions=pos, types=np.zeros(n, np.int64)))


def _pngs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.png"))}


def _no_leftovers(folder: Path) -> None:
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def _complete_png(data: bytes) -> bool:
    return data.startswith(PNG_MAGIC) and data.endswith(b"IEND\xaeB`\x82")


def test_background_pictures_equal_inline_ones(tmp_path, monkeypatch):
    model = small_model()
    run_model(model, tmp_path / "bg", seed=2, threads=1)
    monkeypatch.setattr(recorders, "_two_cores", lambda: False)
    run_model(model, tmp_path / "inline", seed=2, threads=1)
    bg, inline = _pngs(tmp_path / "bg"), _pngs(tmp_path / "inline")
    assert len(bg) == 7 + 2  # saves at 5, 10, ... 30 min (and t = 0), populations, cells over time
    assert bg.keys() == inline.keys()
    for name in bg:
        assert bg[name] == inline[name], name
    _no_leftovers(tmp_path / "bg")


def _snapshot_args(path, n=200, seed=0):
    rng = np.random.default_rng(seed)
    pos = np.c_[rng.uniform(-90, 90, (n, 2)), np.zeros(n)]
    return (path, pos, np.full(n, 8.0), rng.integers(0, 2, n), rng.random(n) < 0.2, ["a", "b"],
            (-100.0, 100.0, -100.0, 100.0), 60.0)


def test_drawer_is_bounded_and_raises_the_workers_error(tmp_path):
    d = BackgroundDrawer(max_pending=2)
    try:
        for k in range(5):
            d.submit("snapshot_png", *_snapshot_args(tmp_path / f"s{k}.png", seed=k))
            assert d.pending <= 2
        d.wait()
        assert d.pending == 0
        for k in range(5):
            assert _complete_png((tmp_path / f"s{k}.png").read_bytes())
        bad = list(_snapshot_args(tmp_path / "bad.png"))
        bad[1] = np.zeros((5, 4))  # positions must be (n, 2) or (n, 3)
        d.submit("snapshot_png", *bad)
        with pytest.raises(ValueError, match="positions must be"):
            d.wait()
        with pytest.raises(ValueError, match="not a figure function"):
            d.submit("os.remove", tmp_path / "s0.png")
    finally:
        d.close()
    assert d.proc is None


def test_dropped_drawer_stops_without_half_written_files(tmp_path):
    d = BackgroundDrawer(max_pending=4)
    proc = d.proc
    for k in range(4):
        d.submit("snapshot_png", *_snapshot_args(tmp_path / f"s{k}.png", n=2000, seed=k))
    del d
    gc.collect()  # a run that raised: its recorder is dropped without finish
    assert proc.wait(timeout=60) is not None
    for p in tmp_path.glob("*.png"):
        assert _complete_png(p.read_bytes())
    _no_leftovers(tmp_path)


def test_a_killed_worker_leaves_its_pictures_to_the_run(tmp_path):
    d = BackgroundDrawer(max_pending=3)
    for k in range(3):
        d.submit("snapshot_png", *_snapshot_args(tmp_path / f"s{k}.png", n=2000, seed=k))
    os.kill(d.proc.pid, signal.SIGKILL)
    d.close()
    for k in range(3):
        assert _complete_png((tmp_path / f"s{k}.png").read_bytes())
    _no_leftovers(tmp_path)


def test_ctrl_c_flushes_every_picture(tmp_path):
    out = tmp_path / "out"
    script = textwrap.dedent(f"""
        import sys
        sys.path[:0] = {sys.path!r}
        from test_figures_async import small_model
        from tropism.run import run_model
        s = run_model(small_model(max_time=100000.0, every=1.0), {str(out)!r}, seed=1, threads=1)
        print("interrupted" if s.interrupted else "done", s.saves, flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).parent)
    deadline = time.monotonic() + 120
    while len(list(out.glob("snapshot*.png"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    stdout, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0 and stdout.startswith("interrupted"), stdout
    saves = int(stdout.split()[1])
    pictures = _pngs(out)
    # every regular save has its picture (the initial and final states are full saves only)
    assert len([k for k in pictures if k.startswith("snapshot")]) == saves
    assert {"populations.png", "cells_over_time.png"} <= pictures.keys()
    assert all(_complete_png(b) for b in pictures.values())
    _no_leftovers(out)


def test_worker_takes_the_callers_matplotlib_settings():
    import matplotlib

    with matplotlib.rc_context({"lines.linewidth": 3.25}):
        assert figures._changed_rc() == {"lines.linewidth": 3.25}


def test_a_run_leaves_the_drawer_a_core_only_while_it_draws(tmp_path, monkeypatch):
    # Figures.cores_busy is what the run's loop asks before each step (simulation.run)
    fig = recorders.Figures(tmp_path, small_model(), background=True)
    assert fig.cores_busy() == 0  # no drawer yet
    try:
        for k in range(3):
            fig._draw("snapshot_png", *_snapshot_args(tmp_path / f"s{k}.png", n=20_000, seed=k))
        assert fig.cores_busy() == 1  # 60,000 cells to draw: still at it
        fig._drawer.wait()
        assert fig.cores_busy() == 0
    finally:
        fig._drawer.close()


@needs_threads(2)
def test_the_run_asks_before_each_step_and_restores_its_threads(tmp_path, monkeypatch):
    seen = []
    original = recorders.Figures.cores_busy

    def spy(self):
        seen.append(original(self))
        return seen[-1]

    monkeypatch.setattr(recorders.Figures, "cores_busy", spy)
    from tropism.tissue.threads import set_threads
    run_model(small_model(max_time=2.0, every=1.0), tmp_path / "run", seed=2, threads=2)
    assert len(seen) == 20 and set(seen) <= {0, 1}  # asked before each of the 20 steps
    assert set_threads(None) == 2  # the run's thread count is restored when it returns
