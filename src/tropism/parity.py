"""Side-by-side population parity with PhysiCell: the same model, several seeds, one table.

A parity series is a tidy table of (seed, time, quantity, value) rows sampled at the model's
full saves, with quantities ``live:<type>``, ``dead:<type>`` (dead cells still present) and
``mean:<substrate>`` (mean over all voxels). :func:`physicell_series` reads it from
PhysiCell output folders, :func:`tropism_series` computes it from a run, and :func:`compare`
puts both side by side: per type, the time-integrated live count (AUC, cell·min) against
PhysiCell's mean ± sd over its seeds, and each substrate's mean over the run.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from .files import atomic_write_text
from .model import Model

#: Columns of a parity-series CSV.
COLUMNS = ("seed", "time_min", "quantity", "value")


def tropism_series(model: Model, seed: int, interval: float | None = None,
                   max_time: float | None = None) -> list[tuple[int, float, str, float]]:
    """Run ``model`` with ``seed`` (no files written) and sample the parity quantities.

    Parameters
    ----------
    model : Model
        The model to run.
    seed : int
        Random seed.
    interval : float, optional
        Sampling interval in min (default: the model's full-save interval).
    max_time : float, optional
        End time in min (default: the model's ``max_time``).

    Returns
    -------
    list of (seed, time_min, quantity, value)
    """
    from .tissue.agents import LIVE
    from .tissue.solver import TissueSolver
    solver = TissueSolver(model, seed=seed)
    interval = model.save.full_data_interval if interval is None else interval
    end = model.clocks.max_time if max_time is None else max_time
    per_sample = max(1, int(round(interval / model.clocks.dt_mechanics)))
    n_steps = int(round(end / model.clocks.dt_mechanics))
    types, subs = model.cell_type_names, model.substrate_names
    rows: list[tuple[int, float, str, float]] = []

    def sample() -> None:
        a = solver.agents
        n = a.n
        dead = a.death_state[:n] != LIVE
        live_n = np.bincount(a.type[:n][~dead], minlength=len(types))
        dead_n = np.bincount(a.type[:n][dead], minlength=len(types))
        t = round(solver.time, 6)
        for k, name in enumerate(types):
            rows.append((seed, t, f"live:{name}", float(live_n[k])))
            rows.append((seed, t, f"dead:{name}", float(dead_n[k])))
        f = solver.flat_fields
        for s, name in enumerate(subs):
            rows.append((seed, t, f"mean:{name}", float(f[s].mean())))

    sample()
    for k in range(1, n_steps + 1):
        solver.step()
        if k % per_sample == 0:
            sample()
    return rows


def physicell_series(out_dir: str | os.PathLike, seed: int) -> list[tuple[int, float, str, float]]:
    """The parity quantities of every full save in a PhysiCell (or tropism) output folder."""
    from .io.physicell_output import list_full_saves, read_full_save
    rows: list[tuple[int, float, str, float]] = []
    for index in list_full_saves(out_dir):
        save = read_full_save(out_dir, index)
        cells = save["cells"]
        names = save["cell_type_names"]
        t = round(save["time"], 6)
        ctype = np.asarray(cells.get("cell_type", np.zeros(0)), dtype=np.int64)
        dead = np.asarray(cells.get("dead", np.zeros(ctype.shape[0])), dtype=float) > 0.5
        for k in sorted(names):
            rows.append((seed, t, f"live:{names[k]}", float(np.sum((ctype == k) & ~dead))))
            rows.append((seed, t, f"dead:{names[k]}", float(np.sum((ctype == k) & dead))))
        for s, name in enumerate(save["substrate_names"]):
            rows.append((seed, t, f"mean:{name}", float(save["fields"][s].mean())))
    return rows


def write_series(path: str | os.PathLike, rows: Iterable[tuple[int, float, str, float]]) -> None:
    """Write a parity series as CSV (``seed,time_min,quantity,value``)."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    for seed, t, q, v in rows:
        w.writerow([seed, f"{t:g}", q, f"{v:.10g}"])
    atomic_write_text(path, buf.getvalue())


def read_series(path: str | os.PathLike) -> list[tuple[int, float, str, float]]:
    """Read a parity series written by :func:`write_series`."""
    with Path(path).open(newline="") as fh:
        r = csv.DictReader(fh)
        return [(int(x["seed"]), float(x["time_min"]), x["quantity"], float(x["value"])) for x in r]


def _table(rows, t_max: float | None):
    """quantity → (seeds, times, values[seed, time]) for times ≤ t_max."""
    by_q: dict[str, dict[int, dict[float, float]]] = {}
    for seed, t, q, v in rows:
        if t_max is not None and t > t_max + 1e-6:
            continue
        by_q.setdefault(q, {}).setdefault(seed, {})[t] = v
    out = {}
    for q, per_seed in by_q.items():
        seeds = sorted(per_seed)
        times = sorted(set.intersection(*(set(d) for d in per_seed.values())))
        out[q] = (seeds, np.array(times), np.array([[per_seed[s][t] for t in times] for s in seeds]))
    return out


@dataclass
class ParityRow:
    """One line of a parity comparison."""

    quantity: str
    kind: str            #: "auc" (cell·min, live count integrated over time) or "mean" (substrate)
    physicell_mean: float
    physicell_sd: float
    tropism_median: float
    tolerance: float     #: allowed |tropism − PhysiCell|
    passed: bool

    @property
    def ratio(self) -> float:
        return self.tropism_median / self.physicell_mean if self.physicell_mean else math.nan


def auc(times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Trapezoidal time integral of each row of ``values`` (shape (seeds, times))."""
    if times.size < 2:
        return np.zeros(values.shape[0])
    return np.sum(0.5 * (values[:, 1:] + values[:, :-1]) * np.diff(times), axis=1)


def compare(reference, ours, *, auc_sd: float = 3.0, auc_rel: float = 0.05,
            mean_rel: float = 0.10, t_max: float | None = None) -> list[ParityRow]:
    """Compare tropism's parity series with PhysiCell's.

    For each cell type: the live-count AUC of tropism's median seed against PhysiCell's mean,
    allowed max(``auc_sd`` PhysiCell sd, ``auc_rel`` × mean). For each substrate: the mean
    over times and seeds, allowed max(``mean_rel`` × PhysiCell's value, ``auc_sd`` PhysiCell
    sd) (plus 1e-9 for fields that stay at zero).

    Parameters
    ----------
    reference, ours : list of (seed, time_min, quantity, value)
        PhysiCell's and tropism's series; only times both have (and ≤ ``t_max``) count.
    """
    ref, mine = _table(reference, t_max), _table(ours, t_max)
    out: list[ParityRow] = []
    for q in ref:
        if q not in mine:
            continue
        _, t_ref, v_ref = ref[q]
        _, t_mine, v_mine = mine[q]
        common = np.intersect1d(np.round(t_ref, 6), np.round(t_mine, 6))
        if common.size < 2:
            continue
        i_ref = np.searchsorted(np.round(t_ref, 6), common)
        i_mine = np.searchsorted(np.round(t_mine, 6), common)
        a, b = v_ref[:, i_ref], v_mine[:, i_mine]
        if q.startswith("live:"):
            x_ref, x_mine = auc(common, a), auc(common, b)
            m, sd, med = float(x_ref.mean()), float(x_ref.std(ddof=1)) if x_ref.size > 1 else 0.0, float(np.median(x_mine))
            tol = max(auc_sd * sd, auc_rel * abs(m))
            out.append(ParityRow(q, "auc", m, sd, med, tol, abs(med - m) <= tol))
        elif q.startswith("mean:"):
            x_ref, x_mine = a.mean(axis=1), b.mean(axis=1)
            m, sd, med = float(x_ref.mean()), float(x_ref.std(ddof=1)) if x_ref.size > 1 else 0.0, float(np.median(x_mine))
            # PhysiCell's own seeds can spread more than mean_rel (a factor released by a few
            # cells): then its 3-sd band is the fair bar, as for the AUC
            tol = max(mean_rel * abs(m), auc_sd * sd) + 1e-9
            out.append(ParityRow(q, "mean", m, sd, med, tol, abs(med - m) <= tol))
    return out


def time_table(reference, ours, quantity: str, t_max: float | None = None):
    """Per time: PhysiCell mean, sd and tropism median of one quantity (for reports)."""
    ref, mine = _table(reference, t_max), _table(ours, t_max)
    _, t_ref, v_ref = ref[quantity]
    _, t_mine, v_mine = mine[quantity]
    rows = []
    for j, t in enumerate(t_ref):
        k = np.nonzero(np.isclose(t_mine, t))[0]
        if k.size == 0:
            continue
        sd = float(v_ref[:, j].std(ddof=1)) if v_ref.shape[0] > 1 else 0.0
        rows.append((float(t), float(v_ref[:, j].mean()), sd, float(np.median(v_mine[:, k[0]]))))
    return rows


def _series_job(args):
    path, seed, interval, max_time, threads = args
    import warnings as _w
    from .model.physicell import load_model
    from .tissue.solver import set_threads
    set_threads(threads)
    with _w.catch_warnings():
        _w.simplefilter("ignore")  # the caller has seen the model's warnings once
        model = load_model(path)
    return tropism_series(model, seed, interval=interval, max_time=max_time)


def run_seeds(path: str | os.PathLike, seeds: Iterable[int], *, interval: float | None = None,
              max_time: float | None = None, workers: int = 1) -> list[tuple[int, float, str, float]]:
    """:func:`tropism_series` of the model at ``path`` for each seed, in ``workers`` processes.

    Small tissues step on one thread, so seeds in parallel processes use the cores better
    than threads within one run; results do not depend on ``workers``.
    """
    seeds = list(seeds)
    parallel = workers > 1 and len(seeds) > 1
    # one kernel thread per worker: more threads than cores only make them wait for each other
    jobs = [(str(path), int(s), interval, max_time, 1 if parallel else None) for s in seeds]
    if not parallel:
        results = [_series_job(j) for j in jobs]
    else:
        import multiprocessing as mp
        # spawn, not fork: a forked child would inherit the parent's kernel thread pool
        with mp.get_context("spawn").Pool(min(workers, len(jobs))) as pool:
            results = pool.map(_series_job, jobs)
    return [row for rows in results for row in rows]
