"""A run: the tissue solver on its clocks, with full saves, population counts and figures."""

from __future__ import annotations

import signal
import threading
import time as _time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import TropismInputError, UnsupportedElementWarning
from .io.checkpoint import read_checkpoint, settings_hash, write_checkpoint
from .io.physicell_output import write_full_save
from .io.populations import PopulationLog
from .model import Model
from .tissue.agents import APOPTOTIC, LIVE
from .tissue.solver import TissueSolver, set_threads


@dataclass
class RunSummary:
    """What a finished (or interrupted) run did."""

    out_dir: Path
    time: float
    saves: int
    agents: int
    agent_steps: int
    wall_s: float
    interrupted: bool = False
    unsupported: list[str] = field(default_factory=list)


def cells_for_output(solver: TissueSolver) -> dict[str, np.ndarray]:
    """The solver's agents as PhysiCell's simplified-data labels (one array per label)."""
    a = solver.agents
    n = a.n
    st = a.death_state[:n]
    dead = (st != LIVE).astype(float)
    death_model = np.where(st == LIVE, 0, np.where(st == APOPTOTIC, 100, 101))
    nuclear = a.nuclear_solid[:n] + a.nuclear_fluid[:n]
    cyto = a.cyto_solid[:n] + a.cyto_fluid[:n]
    vol = a.volume[:n]
    tb = solver.tables
    types = a.type[:n]
    exit_rate = a.cycle_rate[np.arange(n), a.phase[:n]] if n else np.zeros(0)
    speed = a.speed[:n, 0]
    return {
        "ID": a.id[:n].astype(float),
        "position": a.position[:n].copy(),
        "total_volume": vol.copy(),
        "cell_type": types.astype(float),
        "cycle_model": np.where(st == LIVE, tb.cycle_code[types], death_model).astype(float),
        "current_phase": solver.phase_code().astype(float),
        "elapsed_time_in_phase": np.where(st == LIVE, a.phase_elapsed[:n], a.death_elapsed[:n]),
        "nuclear_volume": nuclear,
        "cytoplasmic_volume": cyto,
        "fluid_fraction": (a.nuclear_fluid[:n] + a.cyto_fluid[:n]) / np.maximum(vol, 1e-12),
        "calcified_fraction": a.calcified_fraction[:n].copy(),
        "orientation": np.tile([0.0, 0.0, 1.0], (n, 1)),
        "polarity": np.zeros(n),
        "velocity": a.velocity[:n].copy(),
        "pressure": a.pressure[:n].copy(),
        "number_of_nuclei": np.ones(n),
        "total_attack_time": a.total_attack_time[:n].copy(),
        "contact_with_basement_membrane": a.bm_contact[:n].copy(),
        "current_cycle_phase_exit_rate": exit_rate,
        "dead": dead,
        "current_death_model": np.where(st == LIVE, 0, np.where(st == APOPTOTIC, 0, 1)).astype(float),
        "radius": a.radius[:n].copy(),
        "damage": a.damage[:n].copy(),
        "migration_speed": speed.copy(),
        "motility_vector": a.motility_vector[:n].copy(),
        "migration_bias": a.bias[:n, 0].copy(),
        "persistence_time": a.persistence[:n, 0].copy(),
        "chemotaxis_index": np.zeros(n),
    }


class _StopFlag:
    """Turns the first Ctrl-C into a request to stop after the current step and save."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def __enter__(self) -> "_StopFlag":
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:  # a second Ctrl-C: stop at once
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _keep_populations_until(path: Path, t: float) -> None:
    """Drop population rows written after time ``t`` (by a run killed after its checkpoint)."""
    if not path.is_file():
        return
    lines = path.read_text().splitlines()
    keep = lines[:1] + [ln for ln in lines[1:] if ln.strip() and _row_time(ln) <= t + 1e-9]
    from .io.physicell_output import atomic_write_bytes
    atomic_write_bytes(path, ("\n".join(keep) + "\n").encode())


def _row_time(line: str) -> float:
    try:
        return float(line.split(",", 1)[0])
    except ValueError:
        return float("inf")  # a partial line left by a crash


def run_model(model: Model, out_dir: str | Path | None = None, *, seed: int | None = None,
              threads: int | None = None, png: bool = True,
              progress: Callable[[float, int, float], None] | None = None,
              settings_xml_text: str | None = None, resume: bool = False) -> RunSummary:
    """Run a model to its ``max_time``, writing PhysiCell-compatible output.

    Parameters
    ----------
    model : Model
        The model to run.
    out_dir : path, optional
        Output folder (default: the model's ``save.folder`` beside the model file).
    seed : int, optional
        Overrides the model's random seed.
    threads : int, optional
        Kernel threads; results are identical for any count.
    png : bool
        Also write a PNG snapshot per full save, and at the end ``populations.png`` and
        ``cells_over_time.png``.
    progress : callable, optional
        Called about ten times a second of wall time (and after the last step) as
        ``progress(time_min, agents, agent_steps_per_s)``.
    settings_xml_text : str, optional
        The settings XML copied into the output folder (default: the model written back).
    resume : bool
        Continue the run whose checkpoint is in ``out_dir`` (written at each full save)
        instead of starting anew. The model must be the one the run started with; the
        output then equals that of a run never interrupted.

    Returns
    -------
    RunSummary
    """
    set_threads(threads)
    out = Path(out_dir) if out_dir is not None else Path(model.base_dir) / model.save.folder
    out.mkdir(parents=True, exist_ok=True)
    if settings_xml_text is None:
        from .model.physicell import model_to_xml_string
        settings_xml_text = model_to_xml_string(model)
    sha = settings_hash(settings_xml_text)
    if resume:
        state, info = read_checkpoint(out)
        if info["settings_sha"] != sha:
            raise TropismInputError("the model differs from the one the run started with", file=model.source or None,
                                    field="resume", value=info["model_path"],
                                    allowed="the same settings, cells and rules files, unchanged")
        solver = TissueSolver(model, seed=int(state["seed"]))
        solver.load_state(state)
        k_start, saves_start = info["loop_step"], info["saves"]
        _keep_populations_until(out / "populations.csv", solver.time)
    else:
        solver = TissueSolver(model, seed=seed)
        k_start, saves_start = 0, 0
    unsupported = list(dict.fromkeys(list(model.unsupported) + solver.unsupported_rules))
    # the loader already warned about model.unsupported; say only what the solver adds
    extra = [u for u in dict.fromkeys(solver.unsupported_rules) if u not in model.unsupported]
    if extra:
        warnings.warn("not simulated: " + "; ".join(extra), UnsupportedElementWarning, stacklevel=2)
    names = model.cell_type_names
    log = PopulationLog(out, names, overwrite=not resume)
    mesh = solver.mesh
    centers = mesh.centers()
    d = model.domain
    interval = model.save.full_data_interval
    save_enabled = model.save.full_data_enabled
    n_steps = int(round(model.clocks.max_time / model.clocks.dt_mechanics))
    saves = saves_start
    agent_steps = 0
    t0 = _time.perf_counter()

    def save(index: int, name: str | None = None) -> None:
        a = solver.agents
        n = a.n
        write_full_save(out, index, solver.time, mesh_centers=centers, mesh_shape=mesh.shape,
                        dx_dy_dz=(d.dx, d.dy, d.dz), fields=solver.flat_fields,
                        substrate_names=model.substrate_names,
                        substrate_units=[s.units for s in model.substrates], cells=cells_for_output(solver),
                        cell_type_names=names, settings_xml_text=settings_xml_text, name=name,
                        use_2d=d.use_2d, runtime_s=_time.perf_counter() - t0,
                        diffusion_coefficients=[s.diffusion_coefficient for s in model.substrates],
                        decay_rates=[s.decay_rate for s in model.substrates])
        if name is None or not save_enabled:
            st = a.death_state[:n]
            log.record(solver.time, a.type[:n], st != LIVE,
                       np.where(st == LIVE, 0, np.where(st == APOPTOTIC, 1, 2)))
            if png and name is None:
                from .io.figures import snapshot_png  # Matplotlib only for runs that draw
                field = solver.fields[0, 0] if solver.n_substrates else None
                snapshot_png(out / f"snapshot{index:08d}.png", a.position[:n], a.radius[:n], a.type[:n],
                             st != LIVE, names, (d.x_min, d.x_max, d.y_min, d.y_max), solver.time,
                             field=field, field_extent=(d.x_min, d.x_max, d.y_min, d.y_max),
                             field_name=model.substrate_names[0] if solver.n_substrates else None)

    interrupted = False
    last_progress = -1.0
    with _StopFlag() as stop:
        if not resume:
            save(0, "initial")
        step_every = max(1, int(round(interval / model.clocks.dt_mechanics)))
        for k in range(k_start, n_steps + 1):
            if save_enabled and k % step_every == 0 and not (resume and k == k_start):
                save(saves)
                saves += 1
                # after the save it belongs to: a resumed run starts from this step
                write_checkpoint(out, solver.state_dict(), loop_step=k, saves=saves,
                                 model_path=str(model.source), settings_sha=sha, max_time=model.clocks.max_time)
            if k == n_steps or stop.requested:
                interrupted = stop.requested and k < n_steps
                break
            agent_steps += solver.agents.n
            solver.step()
            if progress is not None:
                now = _time.perf_counter()
                # a progress bar redraw costs more than a small tissue's step: ~10 per second
                if now - last_progress >= 0.1 or k + 1 == n_steps:
                    last_progress = now
                    progress(solver.time, solver.agents.n, agent_steps / max(now - t0, 1e-9))
        if save_enabled and (interrupted or n_steps % step_every):
            save(saves)
            saves += 1
        save(saves, "final")
    if png:
        from .io.figures import cells_over_time_figure, population_figure
        population_figure(out / "populations.csv", out / "populations.png")
        cells_over_time_figure(out, out / "cells_over_time.png")
    return RunSummary(out_dir=out, time=solver.time, saves=saves, agents=solver.agents.n,
                      agent_steps=agent_steps, wall_s=_time.perf_counter() - t0,
                      interrupted=interrupted, unsupported=unsupported)
