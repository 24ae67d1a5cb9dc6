"""The body model stepped in time, with inputs that may change between steps.

:func:`simulate` solves a whole output grid at once; a coupled run instead needs
``advance(state, t0, t1, inputs)``: the tissue measures the tumour's volume, perfusion,
chemokine and inflammation levels, and what leaves it into the blood, and the body answers
with what arrives. Within one call the inputs are constant and the solution is exact
(matrix exponentials, Van Loan for constant sources and infusions); between calls they may
change. With constant inputs, stepping reproduces :func:`simulate` to round-off.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import expm

from ..errors import TropismInputError
from .model import LinearSystem, systems
from .scenario import Scenario, scenario_from_dict
from .solve import dose_events, given_by


@dataclass(frozen=True)
class BodyInputs:
    """What the tissue tells the body for one step; ``None`` keeps the scenario's value.

    Attributes
    ----------
    tumour_volume_mm3, perfusion_ml_min_per_ml, chemokine, inflammation : float, optional
        The tumour's measured state (see :class:`~tropism.body.scenario.Tumour`).
    sources_per_min : dict
        (compartment, kind) → amount of product per min entering that state, e.g.
        ``{("venous_blood", "viable"): 3.0}`` for cells leaving the tumour into blood.
    """

    tumour_volume_mm3: float | None = None
    perfusion_ml_min_per_ml: float | None = None
    chemokine: float | None = None
    inflammation: float | None = None
    sources_per_min: dict = field(default_factory=dict)
    #: efficacy of a CXCR4/SDF-1 blockade on the MSCs now (a blockade with a time window)
    sdf1_blockade: float | None = None
    #: organ -> pre-metastatic niche level (0-1) now, from the tumour exosomes the organ holds
    niche: dict | None = None


@dataclass
class BodyState:
    """Amounts in every state of every system at time ``t`` (min), per unit of product.

    ``x[k]`` belongs to ``systems[k]`` (one per MSC size class group, or one system), and is
    weighted by ``systems[k].weight`` when read (:meth:`amounts`).
    """

    scenario: Scenario
    t: float
    x: list
    systems: list
    params: dict | None = None
    doses_given: int = 0

    @property
    def given_amount(self) -> float:
        """Product administered up to ``t`` (boluses counted at their time, infusions as they run)."""
        sch = self.scenario.schedule
        boluses, infusions = dose_events(sch.start_times_min(), sch.infusion_min, self.scenario.dose, self.t)
        return float(given_by(np.array([self.t]), boluses, infusions)[0])

    def amounts(self) -> dict:
        """(compartment, kind) → amount of product at ``t``."""
        out: dict = {}
        for s, x in zip(self.systems, self.x):
            w = np.asarray(s.weight, float)
            n = x.shape[-1]
            xs = (x * w[..., None]).reshape(-1, n).sum(axis=0) if w.ndim else w * x.reshape(-1, n).sum(axis=0)
            for j, key in enumerate(s.states):
                out[key] = out.get(key, 0.0) + float(xs[j])
        return out

    def inflow_per_min(self, compartment: str, kind: str = "tissue") -> float:
        """Rate at which product enters (compartment, kind) from other states now (per min)."""
        total = 0.0
        for s, x in zip(self.systems, self.x):
            if (compartment, kind) not in s.states:
                continue
            i = s.states.index((compartment, kind))
            A = s.A
            off = A[..., i, :].copy()
            off[..., i] = 0.0
            r = np.einsum("...n,...n->...", off, x)
            w = np.asarray(s.weight, float)
            total += float(np.sum(r * w)) if r.ndim else float(r * w)
        return total


def _with_inputs(sc: Scenario, inputs: BodyInputs | None, rtol: float = 0.0) -> Scenario:
    """The scenario with the tumour inputs that differ from its own by more than ``rtol``
    (relative); the same object when none does, so its systems are kept."""
    if inputs is None:
        return sc
    if inputs.sdf1_blockade is not None and inputs.sdf1_blockade != sc.interventions.sdf1_blockade:
        # a blockade window opened or closed: always taken, whatever rtol
        data = sc.model_dump()
        data["interventions"]["sdf1_blockade"] = inputs.sdf1_blockade
        sc = scenario_from_dict(data)
    if inputs.niche is not None and _moved(sc.niche, inputs.niche, rtol):
        data = sc.model_dump()
        data["niche"] = {o: float(v) for o, v in inputs.niche.items() if v > 0.0}
        sc = scenario_from_dict(data)
    upd = {k: v for k, v in (("volume_mm3", inputs.tumour_volume_mm3),
                             ("perfusion_ml_min_per_ml", inputs.perfusion_ml_min_per_ml),
                             ("chemokine", inputs.chemokine), ("inflammation", inputs.inflammation)) if v is not None}
    if upd and sc.tumour is not None and rtol > 0.0:
        now = sc.tumour
        moved = {k for k, v in upd.items()
                 if getattr(now, k) is None or abs(v - getattr(now, k)) > rtol * max(abs(v), abs(getattr(now, k)))}
        if not moved:
            return sc
        upd = {k: v for k, v in upd.items() if k in moved}
    if not upd:
        return sc
    if sc.tumour is None:
        raise TropismInputError("tumour inputs given to a body without a tumour", field="inputs",
                                value=sorted(upd), allowed="a scenario with [tumour]")
    data = sc.model_dump()
    data["tumour"].update(upd)
    return scenario_from_dict(data)


def _moved(now: dict, new: dict, tol: float) -> bool:
    """Whether an organ's level (a fraction, 0-1) in ``new`` differs from ``now`` by more than
    ``tol``, absolute: a level rising from 0 would otherwise rebuild the systems at every step."""
    return any(abs(now.get(o, 0.0) - new.get(o, 0.0)) > tol for o in set(now) | set(new))


def start(scenario: Scenario | dict, params: dict | None = None) -> BodyState:
    """The body at t = 0, the doses due at t = 0 given."""
    sc = scenario if isinstance(scenario, Scenario) else scenario_from_dict(scenario)
    syss = systems(sc, params=params)
    xs = [np.zeros(np.broadcast_shapes(s.A.shape[:-1], np.shape(s.dose))) for s in syss]
    sch = sc.schedule
    boluses, _ = dose_events(sch.start_times_min(), sch.infusion_min, sc.dose, 0.0)
    given = 0
    for t, amount in sorted(boluses):  # a dose at t counts at t, as in simulate()
        if t <= 0.0:
            xs = [x + s.dose * amount for x, s in zip(xs, syss)]
            given += 1
    return BodyState(sc, 0.0, xs, syss, params, given)


def _segment(s: LinearSystem, x: np.ndarray, h: float, r: np.ndarray | None) -> np.ndarray:
    """Exact solution of dx/dt = A x + r over h (r constant; Van Loan when r ≠ 0).

    The propagators of a step length are kept on the system (``s.propagators``): a coupled
    run steps one system over equal exchange intervals many times.
    """
    if h <= 0.0:
        return x
    n = s.A.shape[-1]
    key = int(h * 1e6 + 0.5)
    with_source = r is not None and np.any(r)
    E, F = s.propagators.get(key, (None, None))
    if E is None or (with_source and F is None):
        if with_source:
            M = np.zeros(s.A.shape[:-2] + (2 * n, 2 * n))
            M[..., :n, :n] = s.A * h
            M[..., :n, n:] = np.eye(n) * h
            V = expm(M)
            E, F = V[..., :n, :n].copy(), V[..., :n, n:].copy()
        else:
            E = expm(s.A * h)
        s.propagators[key] = (E, F)
    y = np.einsum("...ij,...j->...i", E, x)
    return y + np.einsum("...ij,...j->...i", F, r) if with_source else y


def advance(state: BodyState, t0: float, t1: float, inputs: BodyInputs | None = None,
            rtol: float = 0.0) -> BodyState:
    """Advance the body from ``t0`` to ``t1`` (min) with ``inputs`` held constant.

    The scenario's own doses (boluses and infusions of its schedule) fall where they are due:
    a bolus at time t is given once, in the call whose interval (t0, t1] holds it (at t = 0
    by :func:`start`). Returns a new state; ``state`` is not changed.

    With ``rtol`` > 0 a tumour input (volume, perfusion, chemokine, inflammation) replaces
    the one the body's systems were built on only once it differs from it by more than
    ``rtol`` (relative): the systems, and their exponentials, are rebuilt that much less
    often. The body then lags its measured inputs by at most ``rtol``, never more (the
    comparison is with the inputs of the last build, so small changes cannot accumulate).

    Raises
    ------
    TropismInputError
        If ``t0`` is not the state's time, or ``t1 < t0``.
    """
    if abs(t0 - state.t) > 1e-9 * max(1.0, abs(t0)) or not t1 >= t0:
        raise TropismInputError("advance: t0 must be the state's time and t1 >= t0", field="t0, t1",
                                value=(t0, t1), allowed=f"t0 = {state.t:g}, t1 >= t0")
    sc = _with_inputs(state.scenario, inputs, rtol)
    syss = systems(sc, params=state.params) if sc is not state.scenario else state.systems
    sch = sc.schedule
    boluses, infusions = dose_events(sch.start_times_min(), sch.infusion_min, sc.dose, t1)
    src = (inputs.sources_per_min if inputs is not None else {}) or {}
    for key in src:
        if not any(key in s.states for s in syss):
            raise TropismInputError("unknown body state for a source", field="inputs.sources_per_min",
                                    value=key, allowed=", ".join(map(str, syss[0].states)))
    brk = {t0, t1}
    brk.update(t for t, _ in boluses if t0 < t <= t1)
    for a, b, _ in infusions:
        brk.update(t for t in (a, b) if t0 < t < t1)
    grid = sorted(brk)
    xs = [x.copy() for x in state.x]
    given = state.doses_given
    order = sorted(boluses)

    def give_due(t: float, xs: list) -> None:
        nonlocal given
        while given < len(order) and order[given][0] <= t + 1e-12:
            amount = order[given][1]
            for k, s in enumerate(syss):
                xs[k] = xs[k] + s.dose * amount
            given += 1

    for a, b in zip(grid[:-1], grid[1:]):
        mid = 0.5 * (a + b)
        rate = sum(r for lo, hi, r in infusions if lo <= mid < hi)
        for k, s in enumerate(syss):
            r = np.zeros(xs[k].shape)
            if rate:
                r = r + s.dose * rate
            for (comp, kind), v in src.items():
                if (comp, kind) in s.states:
                    r[..., s.states.index((comp, kind))] += v
            xs[k] = _segment(s, xs[k], b - a, r if np.any(r) else None)
        give_due(b, xs)
    return BodyState(sc, t1, xs, syss, state.params, given)
