"""Offline calibration of the body model's unmeasurable rates (``python -m tropism.body.fit``).

Prints the fitted values; a person copies them into ``library/body/*.toml`` with
``fitted = true`` and the targets they came from. Nothing here runs during a simulation.
Takes a few minutes on one core.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from .targets import exosome_pk, msc_targets


def _logit(x):
    x = min(max(x, 1e-9), 1 - 1e-9)
    return np.log(x / (1 - x))


def fit_msc_arrest(x0=(3.35, 0.08, 80.0)) -> dict:
    """Arrest logistic (ratio_half, ratio_width) and lung serial segments to T01 = 0.9, T07 = 0.92,
    subject to T03 <= 0.0012 (a margin under its 0.002 limit) and a prior of 50-100 lung segments."""
    def obj(v):
        p = {"arrest_ratio_half": v[0], "arrest_ratio_width": np.exp(v[1]), "lung_serial_segments": np.exp(v[2])}
        m = msc_targets(p)
        return ((_logit(m["T01"]) - _logit(0.9)) ** 2 + (_logit(m["T07"]) - _logit(0.92)) ** 2
                + 1e7 * max(0.0, m["T03"] - 0.0012) ** 2 + 0.05 * (v[2] - np.log(75)) ** 2)
    res = minimize(obj, [x0[0], np.log(x0[1]), np.log(x0[2])], method="Nelder-Mead",
                   options={"maxiter": 200, "xatol": 1e-3, "fatol": 1e-6})
    return {"arrest_ratio_half": res.x[0], "arrest_ratio_width": float(np.exp(res.x[1])),
            "lung_serial_segments": float(np.exp(res.x[2]))}


def fit_msc_clearance() -> dict:
    """Death of arrested cells and debris efflux: lung label t1/2 = 18 h (T02, mid-low of 12-36 h so that
    the liver overtakes the lung by 24 h, T04) with total viable cells at 24 h under 5 % (T05)."""
    def obj(v):
        p = {"death_arrested_per_min": np.exp(v[0]), "debris_efflux_per_min": np.exp(v[1])}
        m = msc_targets(p)
        return (np.log(m["T02"] / 18.0)) ** 2 + 1e3 * max(0.0, m["_viable24"] - 0.025) ** 2 \
            + (0.0 if m["T04"] == "lungs; liver" else 1.0)
    res = minimize(obj, np.log([0.0026, 0.001]), method="Nelder-Mead", options={"maxiter": 100})
    return {"death_arrested_per_min": float(np.exp(res.x[0])), "debris_efflux_per_min": float(np.exp(res.x[1]))}


def fit_exosome() -> dict:
    """The four exosome rates to Kim 2019 (T09-T13 point values, log errors)."""
    names = ["uptake_per_min", "return_per_min", "degradation_per_min", "plasma_elimination_per_min"]
    goal = {"T09": 7.8, "T10": 400.0, "T11": 0.016, "T12": 3.15, "T13": 3.4}
    weight = {"T09": 1.0, "T10": 0.3, "T11": 1.0, "T12": 1.0, "T13": 1.0}  # T10 is the least precise (149-792)

    def obj(v):
        m = exosome_pk(dict(zip(names, np.exp(v))))
        if not np.all(np.isfinite(list(m.values()))):
            return 1e3
        return sum(weight[k] * np.log(m[k] / goal[k]) ** 2 for k in goal)
    res = minimize(obj, np.log([0.0775, 0.0052, 0.0052, 0.001]), method="Nelder-Mead",
                   options={"maxiter": 400, "xatol": 1e-4, "fatol": 1e-8})
    return dict(zip(names, map(float, np.exp(res.x))))


if __name__ == "__main__":  # pragma: no cover - offline tool
    for name, fn in (("msc arrest", fit_msc_arrest), ("msc clearance", fit_msc_clearance), ("exosome", fit_exosome)):
        print(f"[{name}]")
        for k, v in fn().items():
            print(f"{k} = {v:.4g}")
