"""Offline calibration of the body model's unmeasurable rates (``python -m tropism.body.fit``).

Prints the fitted values; a person copies them into ``library/body/*.toml`` with
``fitted = true`` and the targets they came from. Nothing here runs during a simulation.
Takes a few minutes on one core.

``python -m tropism.body.fit --ensemble [group ...]`` runs each fit from many starting points
(:func:`ensemble`) and writes the equally good fits to ``library/body/ensembles/<group>.csv``:
their spread is how well the calibration targets identify each parameter, and
``tropism body --band`` carries it into predictions.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from .targets import exosome_pk, msc_targets


def _logit(x):
    x = min(max(x, 1e-9), 1 - 1e-9)
    return np.log(x / (1 - x))


def _outside(x: float, lo: float, hi: float) -> float:
    """How far (in log) ``x`` lies outside [lo, hi]; 0 inside."""
    return max(0.0, np.log(lo / x), np.log(x / hi))


#: hard prior ranges: fits are constrained to them, kept ensemble members must respect them
PRIORS = {"lung_serial_segments": (50.0, 100.0)}  # Doerschuk 1993; Hogg 1987 (msc.toml)
#: where multistart draws a parameter's starting values (log-uniform); others within x/÷ spread of
#: the library value. A diameter ratio drawn x/÷3 lands where the arrest curve is flat (every cell
#: or none arrested) and the simplex cannot move: start it across the physically possible ratios.
START_RANGES = {"arrest_ratio_half": (2.0, 5.0), "arrest_ratio_width": (0.02, 0.4),
                "lung_serial_segments": PRIORS["lung_serial_segments"]}


def fit_msc_arrest(x0=(3.35, 0.08, 80.0), full: bool = False):
    """Arrest logistic (ratio_half, ratio_width) and lung serial segments to T01 = 0.9, T07 = 0.92,
    subject to T03 <= 0.0012 (a margin under its 0.002 limit) and a prior of 50-100 lung segments."""
    def obj(v):
        p = {"arrest_ratio_half": v[0], "arrest_ratio_width": np.exp(v[1]), "lung_serial_segments": np.exp(v[2])}
        m = msc_targets(p)
        return ((_logit(m["T01"]) - _logit(0.9)) ** 2 + (_logit(m["T07"]) - _logit(0.92)) ** 2
                + 1e7 * max(0.0, m["T03"] - 0.0012) ** 2 + 0.05 * (v[2] - np.log(75)) ** 2
                + 1e3 * _outside(np.exp(v[2]), *PRIORS["lung_serial_segments"]) ** 2)
    res = minimize(obj, [x0[0], np.log(x0[1]), np.log(x0[2])], method="Nelder-Mead",
                   options={"maxiter": 600, "xatol": 1e-3, "fatol": 1e-6})
    out = {"arrest_ratio_half": float(res.x[0]), "arrest_ratio_width": float(np.exp(res.x[1])),
           "lung_serial_segments": float(np.exp(res.x[2]))}
    return (out, float(res.fun)) if full else out


def fit_msc_clearance(x0=(0.0026, 0.001), full: bool = False):
    """Death of arrested cells and debris efflux: lung label t1/2 = 18 h (T02, mid-low of 12-36 h so that
    the liver overtakes the lung by 24 h, T04) with total viable cells at 24 h under 5 % (T05)."""
    def obj(v):
        p = {"death_arrested_per_min": np.exp(v[0]), "debris_efflux_per_min": np.exp(v[1])}
        m = msc_targets(p)
        return (np.log(m["T02"] / 18.0)) ** 2 + 1e3 * max(0.0, m["_viable24"] - 0.025) ** 2 \
            + (0.0 if m["T04"] == "lungs; liver" else 1.0)
    res = minimize(obj, np.log(list(x0)), method="Nelder-Mead", options={"maxiter": 100})
    out = {"death_arrested_per_min": float(np.exp(res.x[0])), "debris_efflux_per_min": float(np.exp(res.x[1]))}
    return (out, float(res.fun)) if full else out


def fit_exosome(x0=(0.0775, 0.0052, 0.0052, 0.001), full: bool = False):
    """The four exosome rates to Kim 2019 (T09-T13 point values, log errors)."""
    names = ["uptake_per_min", "return_per_min", "degradation_per_min", "plasma_elimination_per_min"]
    goal = {"T09": 7.8, "T10": 400.0, "T11": 0.016, "T12": 3.15, "T13": 3.4}
    weight = {"T09": 1.0, "T10": 0.3, "T11": 1.0, "T12": 1.0, "T13": 1.0}  # T10 is the least precise (149-792)

    def obj(v):
        m = exosome_pk(dict(zip(names, np.exp(v))))
        if not np.all(np.isfinite(list(m.values()))):
            return 1e3
        return sum(weight[k] * np.log(m[k] / goal[k]) ** 2 for k in goal)
    res = minimize(obj, np.log(list(x0)), method="Nelder-Mead",
                   options={"maxiter": 400, "xatol": 1e-4, "fatol": 1e-8})
    out = dict(zip(names, map(float, np.exp(res.x))))
    return (out, float(res.fun)) if full else out


#: group → (fit function, library file, parameter names in the fit's x0 order)
GROUPS = {
    "msc_arrest": (fit_msc_arrest, "msc", ("arrest_ratio_half", "arrest_ratio_width", "lung_serial_segments")),
    "msc_clearance": (fit_msc_clearance, "msc", ("death_arrested_per_min", "debris_efflux_per_min")),
    "exosome": (fit_exosome, "exosome", ("uptake_per_min", "return_per_min", "degradation_per_min",
                                         "plasma_elimination_per_min")),
}


def ensemble(group: str, n: int = 50, seed: int = 0, spread: float = 3.0, tolerance: float = 0.05) -> list[dict]:
    """Multistart fits of one group: starts drawn log-uniformly within ×/÷ ``spread`` of the
    library values (or across :data:`START_RANGES`); a fit is kept when every calibration target it answers passes, it lies in
    the parameters' prior ranges (:data:`PRIORS`), and its objective is within ``tolerance``
    of the fit started from the library values (fits as good as the library's own).

    Returns the kept fits as dicts of the group's parameters plus ``objective``.
    """
    from .library import load_params
    from .targets import check_targets
    fn, lib, names = GROUPS[group]
    base = load_params(lib)
    rng = np.random.default_rng(seed)
    fits = []
    for k in range(n):
        start = [base[p] if k == 0 else _draw(rng, p, base[p], spread) for p in names]
        params, obj = fn(tuple(start), full=True)
        fits.append({**params, "objective": obj})
    reference = fits[0]["objective"]
    kept = []
    for f in fits:
        if f["objective"] > reference + tolerance:
            continue
        # the prior is a penalty in the objective, so a fit may end a hair outside it
        if any(not lo * (1 - 1e-3) <= f[p] <= hi * (1 + 1e-3) for p, (lo, hi) in PRIORS.items() if p in f):
            continue
        targets = _targets_of(group)
        rows = check_targets(targets, params={p: f[p] for p in names}, product=lib)
        if all(r["pass"] is None or bool(r["pass"]) for r in rows):
            kept.append(f)
    return kept


def _draw(rng, name: str, value: float, spread: float) -> float:
    lo, hi = START_RANGES.get(name, (value / spread, value * spread))
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _targets_of(group: str) -> list[str]:
    from .library import fitted_entries
    _, _, names = GROUPS[group]
    out: list[str] = []
    for e in fitted_entries():
        if e["parameter"] in names:
            out += [t for t in e["targets"] if t not in out]
    return out


def write_ensembles(n: int = 50, seed: int = 0, groups=None) -> None:
    """Run :func:`ensemble` for every group (or ``groups``) and write ``library/body/ensembles/<group>.csv``."""
    import csv
    from pathlib import Path
    out = Path(__file__).resolve().parents[1] / "library" / "body" / "ensembles"
    out.mkdir(parents=True, exist_ok=True)
    for group, (_, _, names) in GROUPS.items():
        if groups and group not in groups:
            continue
        kept = ensemble(group, n=n, seed=seed)
        # written even when empty: an ensemble left from other library values would be wrong
        with open(out / f"{group}.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(list(names) + ["objective"])
            for f in kept:
                w.writerow([f"{f[p]:.6g}" for p in names] + [f"{f['objective']:.6g}"])
        if not kept:
            print(f"{group}: no fit of {n} as good as the library's; the ensemble is empty")
            continue
        spread = ", ".join(f"{p} {min(f[p] for f in kept):.4g}-{max(f[p] for f in kept):.4g}" for p in names)
        print(f"{group}: {len(kept)} of {n} fits kept; {spread}")


if __name__ == "__main__":  # pragma: no cover - offline tool
    import sys
    if "--ensemble" in sys.argv:
        # --ensemble [group ...]: every group, or the ones named
        write_ensembles(groups=[a for a in sys.argv[1:] if a in GROUPS] or None)
    else:
        for name, fn in (("msc arrest", fit_msc_arrest), ("msc clearance", fit_msc_clearance),
                         ("exosome", fit_exosome)):
            print(f"[{name}]")
            for k, v in fn().items():
                print(f"{k} = {v:.4g}")
