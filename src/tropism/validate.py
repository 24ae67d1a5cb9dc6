"""The published-findings suite: run each finding's arms over seeds, judge its criteria.

Every arm is a scenario resolved against the library exactly as ``tropism run`` resolves
it — the library's one parameter set — and run coupled (tissue + body) when it has a tumour
and an MSC product, else in the body alone. Jobs (finding, arm, seed) run in parallel
processes; each job's number depends only on its scenario and seed, so the table is the same
for any ``--workers``.
"""

from __future__ import annotations

import os

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .errors import TropismInputError
from .findings import Criterion, Finding


# --------------------------------------------------------------------------- readouts


def _msc_in_tumour(run) -> float:
    """Viable MSCs that crossed into the tumour (the body's tumour tissue), cells."""
    return float(run.amounts.get(("tumour", "tissue"), 0.0))


def _density_ratio(run) -> float:
    """MSCs per volume in the tumour over those in the rest of the brain (a section's
    per-area ratio for sections of one thickness): viable cells, arrested or crossed."""
    from .body.model import anatomy
    an = anatomy(run.body_scenario)
    a = run.amounts
    per = {o: (a.get((o, "arrested"), 0.0) + a.get((o, "tissue"), 0.0)) / an.volume[o] for o in ("tumour", "brain")}
    if per["brain"] <= 0.0:
        return float("inf") if per["tumour"] > 0 else float("nan")
    return per["tumour"] / per["brain"]


def _largest_label_organ(run) -> str:
    """The organ (blood excluded) holding most of the product's label."""
    r = run.result
    if r is None:
        raise TropismInputError("largest_label_organ reads a body-only run", field="readout",
                                value="largest_label_organ", allowed="a finding whose arms have no tumour")
    label = {o: v for o, v in r.at(r.times_min[-1], "label").items()
             if "blood" not in o and o not in ("plasma", "nasal", "peritoneum")}
    return max(label, key=label.get)


def _tumour_net_growth(run) -> float:
    """Live tumour cells gained over the run (end minus start): the growth a co-culture's
    inhibition is a fraction of (negative when the tumour shrank)."""
    s = run.series
    if s is None:
        raise TropismInputError("tumour_net_growth reads a tissue run", field="readout", value="tumour_net_growth",
                                allowed="a finding whose arms have a tumour")
    ends = [t for t, q, _, _ in s.rows if q == "tumour_live_cells"]
    return s.value("tumour_live_cells", max(ends)) - s.value("tumour_live_cells", min(ends))


#: readout name -> (function of a finished run, unit)
READOUTS: dict[str, tuple[Callable, str]] = {
    "tumour_net_growth": (_tumour_net_growth, "cells"),
    "msc_in_tumour": (_msc_in_tumour, "cells"),
    "msc_density_tumour_over_brain": (_density_ratio, "ratio"),
    "largest_label_organ": (_largest_label_organ, "organ"),
}


@dataclass
class _Run:
    amounts: dict
    body_scenario: object
    result: object = None
    series: object = None


def run_arm(scenario: dict, readout, file: str = "") -> tuple:
    """Run one arm's scenario to its end; (readout value, wall seconds).

    ``readout`` is a name of :data:`READOUTS` or any quantity the run's ``timeseries.csv``
    records (``tumour_volume``, ``vessel_density_tumour``, ``tumour_mean:imatinib``,
    ``msc_surviving_fraction:msc_bone_marrow`` ...), read at the end of the run; or a list of
    them, and then the value is a dict readout → value.
    """
    import time
    from .model.experiment import experiment_from_dict
    from .resolve import build
    t0 = time.perf_counter()
    e = experiment_from_dict(scenario, file=file)
    r = build(e, file=file)
    if r.body is None and e.tumour is None:
        raise TropismInputError("a finding's arm needs a treatment or a tumour", file=file,
                                field="scenario.treatment", value=None, allowed="a [[treatment]] or a [tumour]")
    if e.tumour is not None:
        from .io.timeseries import TimeSeries
        from .simulation import Simulation
        m = r.model
        # the suite reads timeseries quantities at the end: one save, at the end, no files
        m = m.model_copy(update={"save": m.save.model_copy(update={"full_data_enabled": False, "svg_enabled": False})})
        sim = Simulation(m, seed=e.simulation.seed, body=r.bodies or None, link=r.links or None)
        series = TimeSeries(None, m, r.roles["tumour"], r.roles["msc"], r.hypoxic_mmHg,
                            products=r.product_labels(), treatments=len(e.treatment), immune_types=r.immune,
                            fates=r.fate)
        sim.run([series])
        run = _Run(sim.body.amounts() if sim.body is not None else {}, sim.body.scenario if sim.body else None,
                   series=series)
    else:
        from .body import simulate
        res = simulate(r.body)
        amounts = {}
        for j, c in enumerate(res.compartments):
            amounts[(c, "tissue")] = float(res.tissue[-1, j])
            amounts[(c, "arrested")] = float(res.viable[-1, j] - res.tissue[-1, j])
        run = _Run(amounts, r.body, res)
    values = {}
    for name in ([readout] if isinstance(readout, str) else list(readout)):
        if name in READOUTS:
            values[name] = READOUTS[name][0](run)
        elif run.series is not None and name in run.series.quantities():
            values[name] = run.series.value(name, e.simulation.duration_h * 60.0)
        else:
            known = list(READOUTS) + (run.series.quantities() if run.series is not None else [])
            from .resolve import allowed
            raise TropismInputError("unknown readout", file=file, field="readout", value=name,
                                    allowed=allowed(name, known))
    value = values[readout] if isinstance(readout, str) else values
    return value, time.perf_counter() - t0


def _worker_threads(threads: int) -> None:
    from .tissue.threads import set_threads

    set_threads(threads)


def _job(args):
    finding, arm, seed, scenario, readout, file = args
    value, seconds = run_arm(scenario, readout, file)
    return finding, arm, seed, value, seconds


# --------------------------------------------------------------------------- judging


@dataclass
class RowResult:
    """One finding's arms (values per seed) and its criteria."""

    finding: Finding
    values: dict = field(default_factory=dict)        #: arm -> list of (seed, value) of the finding's readout
    by_readout: dict = field(default_factory=dict)    #: readout -> arm -> list of (seed, value)
    criteria: list = field(default_factory=list)       #: (criterion, value, pass)
    targets: list = field(default_factory=list)        #: check_targets rows
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return all(ok for _, _, ok in self.criteria)

    def median(self, arm: str, readout: str = "") -> float:
        vals = self.by_readout[readout][arm] if readout else self.values[arm]
        return float(np.median([v for _, v in vals]))

    def spread(self, arm: str, readout: str = "") -> tuple[float, float]:
        """(min, max) over seeds."""
        vals = [v for _, v in (self.by_readout[readout][arm] if readout else self.values[arm])]
        return float(min(vals)), float(max(vals))


def _compare(x: float, op: str, y: float) -> bool:
    return bool({"<=": x <= y, ">=": x >= y, "<": x < y, ">": x > y}[op])


def judge(c: Criterion, row: RowResult) -> tuple[float | str, bool]:
    """A criterion's value and whether it holds."""
    if c.kind == "ratio":
        def side(arm, control):
            m = row.median(arm, c.readout)
            if not control:
                return m
            base = row.median(control, c.readout)
            return m / base if base else float("inf")
        den = side(c.denominator, c.denominator_control)
        v = side(c.numerator, c.numerator_control) / den if den else float("inf")
        return v, bool(np.isfinite(v)) and _compare(v, c.op, float(c.value))
    if c.kind == "each":
        arms = c.arms or list(row.values)
        meds = [row.median(a, c.readout) for a in arms]
        worst = min(meds) if c.op in (">=", ">") else max(meds)
        return worst, all(np.isfinite(m) and _compare(m, c.op, float(c.value)) for m in meds)
    if c.kind == "equals":
        seen = sorted({str(v) for _, v in row.values[c.arm]})
        return "; ".join(seen), seen == [str(c.value)]
    from .body.targets import check_targets
    rows = check_targets(c.ids)
    row.targets.extend(rows)
    passed = sum(1 for r in rows if r["pass"])
    return f"{passed}/{len(rows)}", passed == len(rows) and len(rows) == len(c.ids)


def spread(c: Criterion, row: RowResult) -> str:
    """The criterion's spread over seeds: per-seed ratios (numerator and denominator of the same
    seed) for a ratio, each arm's range for ``each``; "" where it has none."""
    if c.kind == "ratio":
        vals = row.by_readout[c.readout] if c.readout else row.values

        def per_seed(arm, control):
            a = dict(vals[arm])
            if not control:
                return a
            b = dict(vals[control])
            return {k: a[k] / b[k] for k in a if k in b and b[k]}
        num, den = per_seed(c.numerator, c.numerator_control), per_seed(c.denominator, c.denominator_control)
        pairs = [num[k] / den[k] for k in num if k in den and den[k]]
        return f"{min(pairs):.3g}–{max(pairs):.3g} per seed" if pairs else ""
    if c.kind == "each":
        arms = c.arms or list(row.values)
        lo = min(row.spread(a, c.readout)[0] for a in arms)
        hi = max(row.spread(a, c.readout)[1] for a in arms)
        return f"{lo:.3g}–{hi:.3g} over seeds"
    return ""


def run_findings(findings: list[Finding], workers: int = 1, seeds: int | None = None,
                 progress: Callable[[str], None] | None = None) -> list[RowResult]:
    """Run every arm of every finding over its seeds (``seeds`` overrides), then judge.

    Parameters
    ----------
    findings : list of Finding
    workers : int
        Parallel processes for the arms (1: in this process).
    seeds : int, optional
        Seeds per arm instead of each finding's own.
    progress : callable, optional
        Called with a line per finished job.
    """
    rows = {f.id: RowResult(f) for f in findings}
    jobs = []
    for f in findings:
        n = seeds or f.seeds
        for arm in f.arm:
            rows[f.id].values[arm.name] = []
            for seed in range(1, n + 1):
                jobs.append((f.id, arm.name, seed, f.arm_scenario(arm, seed), f.readouts(arm.name), f.file))
    # check every arm before the first long run: a bad arm fails at once, not after an hour
    from .model.experiment import experiment_from_dict
    from .resolve import check_experiment
    for fid, arm, seed, sc, _, file in jobs:
        if seed == 1:
            check_experiment(experiment_from_dict(sc, file=file), file=file)
    if workers > 1 and len(jobs) > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor
        # each worker takes its share of the cores: threads that outnumber the cores wait for
        # one another's time slices at every parallel region (results do not depend on it)
        share = max(1, (os.cpu_count() or 1) // workers)
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                 initializer=_worker_threads, initargs=(share,)) as pool:
            done = list(_progress(pool.map(_job, jobs), progress))
    else:
        done = list(_progress(map(_job, jobs), progress))
    for fid, arm, seed, value, seconds in done:
        row = rows[fid]
        for name, v in value.items():
            row.by_readout.setdefault(name, {}).setdefault(arm, []).append((seed, v))
        row.values[arm].append((seed, value[row.finding.readout]))
        row.seconds += seconds
    for row in rows.values():
        for c in row.finding.criterion:
            v, ok = judge(c, row)
            row.criteria.append((c, v, ok))
    return [rows[f.id] for f in findings]


def _progress(results, progress):
    for r in results:
        if progress is not None:
            fid, arm, seed, value, seconds = r
            shown = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in value.items())
            progress(f"{fid} {arm} seed {seed}: {shown} ({seconds:.1f} s)")
        yield r
