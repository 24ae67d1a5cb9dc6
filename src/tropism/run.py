"""A full run with PhysiCell-compatible output: the coupler plus the standard recorders."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .errors import TropismInputError, UnsupportedElementWarning
from .io.checkpoint import read_checkpoint, settings_hash
from .files import atomic_write_bytes
from .io.recorders import Checkpoints, ExchangeSeries, Figures, PhysiCellFolder, Populations
from .model import Model
from .simulation import RunResult, Simulation
from .tissue.solver import set_threads


@dataclass
class RunSummary(RunResult):
    """What a finished (or interrupted) run did, where it wrote, and what it did not simulate."""

    out_dir: Path = Path(".")
    unsupported: list[str] = field(default_factory=list)


def _keep_rows_until(path: Path, t: float, column: int = 0) -> None:
    """Drop CSV rows written after time ``t`` (by a run killed after its checkpoint)."""
    if not path.is_file():
        return
    lines = path.read_text().splitlines()
    keep = lines[:1] + [ln for ln in lines[1:] if ln.strip() and _row_time(ln, column) <= t + 1e-9]
    atomic_write_bytes(path, ("\n".join(keep) + "\n").encode())


def _row_time(line: str, column: int) -> float:
    try:
        return float(line.split(",")[column])
    except (ValueError, IndexError):
        return float("inf")  # a partial line left by a crash


def run_model(model: Model, out_dir: str | Path | None = None, *, seed: int | None = None,
              threads: int | None = None, png: bool = True,
              progress: Callable[[float, int, float], None] | None = None,
              settings_xml_text: str | None = None, resume: bool = False,
              body=None, link=None, extra_recorders=()) -> RunSummary:
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
    body, link : optional
        A body scenario (``tropism.body.Scenario``) and the :class:`BodyLink` that couples it,
        or lists of them (one per product); the run then also writes ``exchange.csv`` and
        ``body.csv`` (``exchange_<k>.csv``, ``body_<k>.csv`` for the k-th product after the first).
    extra_recorders : sequence, optional
        More recorders (e.g. :class:`tropism.io.timeseries.TimeSeries`); on ``resume`` their
        ``load(out_dir, time)`` keeps what the interrupted run wrote.

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
    # what PhysiCell's files cannot say (arrivals, vessels ...) and the body are part of the run too
    extra = model.model_dump_json(include={"conversions", "arrivals", "departures", "vessels", "interventions"})
    bodies = [] if body is None else (list(body) if isinstance(body, (list, tuple)) else [body])
    links = [] if link is None else (list(link) if isinstance(link, (list, tuple)) else [link])
    for b, lk in zip(bodies, links):
        extra += lk.model_dump_json() + b.model_dump_json()
    sha = settings_hash(settings_xml_text + extra)
    if resume:
        state, info = read_checkpoint(out)
        if info["settings_sha"] != sha:
            raise TropismInputError("the model differs from the one the run started with", file=model.source or None,
                                    field="resume", value=info["model_path"],
                                    allowed="the same settings, cells and rules files, unchanged")
        sim = Simulation(model, seed=int(state["seed"]), body=body, link=link)
        sim.load_state(state)
        k_start, saves_start = info["loop_step"], info["saves"]
        _keep_rows_until(out / "populations.csv", sim.solver.time)
    else:
        sim = Simulation(model, seed=seed, body=body, link=link)
        k_start, saves_start = 0, 0
    solver = sim.solver
    unsupported = list(dict.fromkeys(list(model.unsupported) + solver.unsupported_rules))
    # the loader already warned about model.unsupported; say only what the solver adds
    extra = [u for u in dict.fromkeys(solver.unsupported_rules) if u not in model.unsupported]
    if extra:
        warnings.warn("not simulated: " + "; ".join(extra), UnsupportedElementWarning, stacklevel=2)
    recorders: list = [PhysiCellFolder(out, model, settings_xml_text), Populations(out, model, overwrite=not resume)]
    if png:
        recorders.append(Figures(out, model))
    for k, lk in enumerate(links):
        series = ExchangeSeries(out, model, lk, product=k, suffix="" if k == 0 else f"_{k}")
        if resume:
            series.load(out, solver.time)
        recorders.append(series)
    for r in extra_recorders:
        if resume and hasattr(r, "load"):
            r.load(out, solver.time)
        recorders.append(r)
    recorders.append(Checkpoints(out, model, sha))
    res = sim.run(recorders, progress=progress, loop_step=k_start, saves=saves_start, resumed=resume)
    return RunSummary(out_dir=out, time=res.time, saves=res.saves, agents=res.agents, agent_steps=res.agent_steps,
                      wall_s=res.wall_s, interrupted=res.interrupted, unsupported=unsupported)
