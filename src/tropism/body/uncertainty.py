"""Parameter uncertainty carried into predictions: the ensembles of equally good fits.

``python -m tropism.body.fit --ensemble`` refits each group of fitted parameters from many
starting points and keeps the fits that pass every calibration target about as well as the
best (``library/body/ensembles/<group>.csv``). A parameter that spreads widely across them is
poorly identified by the targets. :func:`members` turns the ensembles into parameter
overrides for one product; :func:`band` runs a scenario with each and returns the spread of
any readout.
"""

from __future__ import annotations

import csv
from typing import Callable

import numpy as np

from .library import _library_dir
from .result import BodyResult

#: product → the ensemble groups of its fitted parameters
GROUPS = {"msc": ("msc_arrest", "msc_clearance"), "exosome": ("exosome",)}


def load_ensemble(group: str) -> list[dict]:
    """The kept fits of one group, as dicts of parameter values (without the objective)."""
    path = _library_dir() / "body" / "ensembles" / f"{group}.csv"
    if not path.is_file():
        return []
    with open(path, newline="") as fh:
        return [{k: float(v) for k, v in r.items() if k != "objective"} for r in csv.DictReader(fh)]


def members(product: str) -> list[dict]:
    """Parameter overrides, one per ensemble member, for ``product`` ('msc', 'exosome').

    Groups fitted separately (MSC arrest, MSC clearance) are paired member by member (the
    shorter list cycles); each was fitted with the other at its library values, so a pair is
    an approximation to a joint fit. A product without ensembles gives one member: no override.
    """
    lists = [load_ensemble(g) for g in GROUPS.get(product, ())]
    lists = [m for m in lists if m]
    if not lists:
        return [{}]
    n = max(len(m) for m in lists)
    return [{k: v for m in lists for k, v in m[i % len(m)].items()} for i in range(n)]


def band(scenario, value: Callable[[BodyResult], float], q: tuple[float, float] = (5.0, 95.0),
         times_min=None, fixed: dict | None = None) -> tuple[float, float, float]:
    """(low, median, high) percentiles of ``value(result)`` over the ensemble members.

    ``fixed`` overrides every member (e.g. what a label method changes, which no fit moves).
    """
    from . import simulate
    product = scenario.product.kind
    vals = np.array([value(simulate(scenario, params={**p, **(fixed or {})} or None, times_min=times_min))
                     for p in members(product)],
                    dtype=float)
    lo, mid, hi = np.nanpercentile(vals, [q[0], 50.0, q[1]])
    return float(lo), float(mid), float(hi)
