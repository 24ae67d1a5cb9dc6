"""Whole-body compartment model: where injected MSCs, exosomes and drugs go, by route.

Public API
----------
Scenario, load_scenario, scenario_from_dict
    What is simulated (pydantic, validated; bad input raises TropismInputError).
simulate(scenario) -> BodyResult
    Exact linear solution (matrix exponentials) on the scenario's output grid.
start(scenario) -> BodyState, advance(state, t0, t1, inputs) -> BodyState
    The same model stepped in time, with tumour inputs and sources that may change between
    steps (exact within a step).
check_targets()
    The calibration targets this layer answers for, model vs published range.
load_physiology, Physiology
    Species data from ``library/physiology``.
"""

from __future__ import annotations

import numpy as np

from .library import ORGANS, Physiology, load_params, load_physiology
from .model import anatomy, first_pass_arrest, systems
from .result import BodyResult
from .scenario import Scenario, load_scenario, scenario_from_dict
from .solve import dose_events, given_by, propagate
from .step import BodyInputs, BodyState, advance, start

__all__ = ["BodyInputs", "BodyResult", "BodyState", "ORGANS", "advance", "start", "Physiology", "Scenario", "check_targets", "first_pass_arrest", "load_params",
           "load_physiology", "load_scenario", "scenario_from_dict", "simulate"]


def simulate(scenario: Scenario | dict, params: dict | None = None, times_min=None) -> BodyResult:
    """Run a body scenario.

    Parameters
    ----------
    scenario : Scenario or dict
    params : dict, optional
        Overrides of product parameters (library keys), e.g. for sensitivity studies.
    times_min : array-like, optional
        Output times (default: 0 to ``duration_h`` every ``output_interval_min``).

    Returns
    -------
    BodyResult
    """
    sc = scenario if isinstance(scenario, Scenario) else scenario_from_dict(scenario)
    end = sc.duration_h * 60.0
    if times_min is None:
        times = np.arange(0.0, end + 1e-9, sc.output_interval_min)
        if times[-1] < end - 1e-9:
            times = np.append(times, end)
    else:
        times = np.asarray(times_min, float)
    sch = sc.schedule
    boluses, infusions = dose_events(sch.start_times_min(), sch.infusion_min, sc.dose, float(times[-1]))
    syss = systems(sc, params=params)
    comps: list = []
    for s in syss[0].states:
        if s[0] not in comps:
            comps.append(s[0])
    C = len(comps)
    T = len(times)
    viable, label, tissue = np.zeros((T, C)), np.zeros((T, C)), np.zeros((T, C))
    cleared, dead = np.zeros(T), np.zeros(T)
    delivered = {c: np.zeros(T) for c in comps}
    for s in syss:
        x = propagate(s.A, s.dose, times, boluses, infusions)
        if x.ndim == 3:  # batched size classes: weight and sum them
            x = np.einsum("tkn,k->tn", x, np.asarray(s.weight))
        else:
            x = s.weight * x
        for j, (c, kind) in enumerate(s.states):
            ci = comps.index(c)
            if kind == "cleared":
                cleared += x[:, j]
                delivered[c] += x[:, j]
            elif kind == "debris":
                label[:, ci] += x[:, j]
                dead += x[:, j]
            else:
                viable[:, ci] += x[:, j]
                label[:, ci] += x[:, j]
                if kind == "tissue":
                    tissue[:, ci] += x[:, j]
    an = anatomy(sc)
    plasma = syss[0].v1_ml if sc.product.kind == "drug" else an.phys.plasma_volume_ml  # type: ignore[attr-defined]
    doses_given = sum(1 for t in sch.start_times_min() if t <= times[-1])
    total = sc.dose * doses_given
    return BodyResult(sc.product.kind, times, comps, viable, label, tissue, cleared, dead,
                      given_by(times, boluses, infusions), {k: v for k, v in delivered.items() if v.any()},
                      plasma, total, sc.product.cargo_per_unit, getattr(syss[0], "kp", None))


def check_targets(ids=None):
    """Calibration targets answered by the body layer; see :func:`tropism.body.targets.check_targets`."""
    from .targets import check_targets as _ct
    return _ct(ids)
