"""Blood-count recovery after high-dose chemotherapy (HDC) and an autologous PBSC graft.

A small mechanistic ODE model of haematopoietic reconstitution, with or without
co-transplanted mesenchymal stromal cells (MSCs) that repair the marrow stroma.

Structure (all compartments are normalised to their pre-treatment steady state = 1):

* ``K``  marrow niche capacity.  HDC damages the stroma; at day 0 it is ``niche_residual``
  and recovers towards 1 at ``niche_recovery_per_d``, multiplied by
  ``(1 + msc_niche_gain)`` when MSCs are co-transplanted.
* ``S``  engrafted CD34+ stem/progenitor pool.  Conditioning ablates the host pool at
  day ``-conditioning_days``; the graft seeds ``S(0) = graft_seed`` and expands
  logistically, ``dS/dt = r S (K - S)``: the niche sets both the per-cell expansion rate
  (stromal support of proliferation) and the carrying capacity.
* Neutrophil and platelet lineages, each a Friberg et al. (2002) chain: a proliferating
  compartment fed by ``S`` with feedback ``((1+eps)/(X+eps))**gamma`` from the circulating
  count ``X``, three transit (maturation) compartments with ``k_tr = 4 / MTT``, then the
  circulation.  Circulating neutrophils leave first-order (half-life ~7 h); circulating
  platelets age through ``platelet_age_stages`` compartments (near-fixed lifespan).

Conditioning kills the proliferating compartments (as in Friberg's model, post-mitotic
transit cells survive), so counts fall over the following days to a nadir and recover once
the graft's output has crossed the maturation chain.

Parameters and their sources live in ``tropism/library/body/haematopoiesis.toml``; see
``docs/haematopoiesis.md``.
"""

from __future__ import annotations

import math
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy.integrate import solve_ivp

from tropism.errors import TropismInputError

__all__ = ["simulate_recovery", "recovery_days", "default_parameters", "PARAMETER_FILE"]

PARAMETER_FILE = Path(__file__).resolve().parents[1] / "library" / "body" / "haematopoiesis.toml"

#: threshold for neutrophil recovery, 1e9/L
NEUTROPHIL_THRESHOLD = 0.5
#: threshold for platelet recovery, 1e9/L
PLATELET_THRESHOLD = 20.0

_N_TRANSIT = 3  # Friberg et al. 2002: three transit compartments
_FEEDBACK_EPS = 0.01  # keeps the (baseline/count)**gamma feedback finite at zero count
_STRICTLY_POSITIVE = {
    "neutrophil_baseline",
    "platelet_baseline",
    "neutrophil_mtt_d",
    "platelet_mtt_d",
    "neutrophil_half_life_d",
    "platelet_lifespan_d",
    "niche_residual",
    "platelet_age_stages",
}
_INTEGER = {"platelet_age_stages"}


@lru_cache(maxsize=1)
def _load_library() -> dict[str, dict[str, Any]]:
    with PARAMETER_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    return data["parameters"]


def default_parameters() -> dict[str, float]:
    """Return the library parameter values.

    Returns
    -------
    dict of str to float
        Parameter name to value, as read from ``haematopoiesis.toml``.
    """
    return {k: v["value"] for k, v in _load_library().items()}


def _resolve(params: dict | None) -> dict[str, float]:
    """Merge user overrides into the defaults, checking names and values."""
    p = default_parameters()
    if params is None:
        return p
    if not isinstance(params, dict):
        raise TropismInputError(
            "params must be a dict of parameter overrides",
            field="params",
            value=params,
            allowed="a dict with keys among " + ", ".join(sorted(p)),
        )
    for key, value in params.items():
        if key not in p:
            raise TropismInputError(
                "unknown haematopoiesis parameter",
                field=str(key),
                value=value,
                allowed="one of " + ", ".join(sorted(p)),
            )
        ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
        if ok:
            value = float(value)
            ok = math.isfinite(value)
        if not ok:
            raise TropismInputError(
                "parameter must be a finite number",
                field=key,
                value=value,
                allowed="a finite real number",
            )
        if key in _STRICTLY_POSITIVE and value <= 0.0:
            raise TropismInputError(
                "parameter must be positive",
                field=key,
                value=value,
                allowed="a number > 0",
            )
        if value < 0.0:
            raise TropismInputError(
                "parameter (rate, time, count or fraction) must not be negative",
                field=key,
                value=value,
                allowed="a number >= 0",
            )
        if key in _INTEGER and value != int(value):
            raise TropismInputError(
                "parameter must be a whole number", field=key, value=value, allowed="an integer >= 1"
            )
        if key in ("niche_residual", "graft_seed") and value > 1.0:
            raise TropismInputError(
                "parameter is a fraction of the pre-treatment value",
                field=key,
                value=value,
                allowed="a number in (0, 1]" if key == "niche_residual" else "a number in [0, 1]",
            )
        p[key] = value
    return p


# state layout: K, S, P_N, T_N1..T_N3, N, P_P, T_P1..T_P3, C_1..C_m
_I_K = 0
_I_S = 1
_I_PN = 2
_I_N = _I_PN + _N_TRANSIT + 1
_I_PP = _I_N + 1
_I_C = _I_PP + _N_TRANSIT + 1


def _rhs_factory(p: dict[str, float], msc: bool):
    """Build the ODE right-hand side (same equations before and after the graft).

    Returns
    -------
    rhs : callable
        ``rhs(t, y) -> dy/dt`` for :func:`scipy.integrate.solve_ivp`.
    m : int
        Number of circulating platelet age compartments.
    """
    kn = (_N_TRANSIT + 1) / p["neutrophil_mtt_d"]
    kp = (_N_TRANSIT + 1) / p["platelet_mtt_d"]
    kcn = math.log(2.0) / p["neutrophil_half_life_d"]
    m = int(p["platelet_age_stages"])
    kage = m / p["platelet_lifespan_d"]
    gn, gp = p["neutrophil_feedback_gamma"], p["platelet_feedback_gamma"]
    rs = p["progenitor_expansion_per_d"]
    rk = p["niche_recovery_per_d"] * (1.0 + (p["msc_niche_gain"] if msc else 0.0))
    eps = _FEEDBACK_EPS
    nt = _N_TRANSIT

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        d = np.empty_like(y)
        K = max(y[_I_K], 1e-12)
        S = max(y[_I_S], 0.0)
        N = max(y[_I_N], 0.0)
        plt = max(float(np.mean(y[_I_C:_I_C + m])), 0.0)
        # niche and engrafted stem/progenitor pool
        d[_I_K] = rk * (1.0 - y[_I_K])
        d[_I_S] = rs * S * (K - S)
        # neutrophils: proliferating -> transit chain -> circulation
        fn = ((1.0 + eps) / (N + eps)) ** gn
        d[_I_PN] = kn * (S * fn - y[_I_PN])
        for j in range(1, nt + 1):
            d[_I_PN + j] = kn * (y[_I_PN + j - 1] - y[_I_PN + j])
        d[_I_N] = kcn * (y[_I_N - 1] - y[_I_N])
        # platelets: megakaryocyte lineage -> transit chain -> ageing circulation
        fp = ((1.0 + eps) / (plt + eps)) ** gp
        d[_I_PP] = kp * (S * fp - y[_I_PP])
        for j in range(1, nt + 1):
            d[_I_PP + j] = kp * (y[_I_PP + j - 1] - y[_I_PP + j])
        d[_I_C] = kage * (y[_I_C - 1] - y[_I_C])
        for j in range(1, m):
            d[_I_C + j] = kage * (y[_I_C + j - 1] - y[_I_C + j])
        return d

    return rhs, m


def _check_days(days: Any) -> float:
    ok = isinstance(days, (int, float, np.integer, np.floating)) and not isinstance(days, bool)
    if not ok or not math.isfinite(float(days)) or float(days) <= 0.0:
        raise TropismInputError(
            "simulation length must be a positive number of days",
            field="days",
            value=days,
            allowed="a finite number > 0",
        )
    return float(days)


def _solve(msc: bool, days: float, p: dict[str, float]):
    """Integrate conditioning (day -conditioning_days .. 0) then recovery (0 .. days)."""
    rhs, m = _rhs_factory(p, msc)
    y0 = np.ones(_I_C + m)
    # myeloablative conditioning: host stem/progenitor and proliferating pools are killed at
    # its start; post-mitotic transit cells and circulating cells survive and drain away.
    y0[_I_S] = 0.0
    y0[_I_PN] = 0.0
    y0[_I_PP] = 0.0
    tc = p["conditioning_days"]
    if tc > 0.0:
        pre = solve_ivp(rhs, (-tc, 0.0), y0, method="LSODA", rtol=1e-7, atol=1e-10)
        if not pre.success:  # pragma: no cover - defensive
            raise RuntimeError(f"haematopoiesis ODE failed during conditioning: {pre.message}")
        y0 = pre.y[:, -1].copy()
    # day 0: graft infused into a damaged niche
    y0[_I_K] = p["niche_residual"]
    y0[_I_S] = p["graft_seed"]
    sol = solve_ivp(rhs, (0.0, days), y0, method="LSODA", rtol=1e-7, atol=1e-10, dense_output=True)
    if not sol.success:  # pragma: no cover - defensive
        raise RuntimeError(f"haematopoiesis ODE failed: {sol.message}")
    return sol, m


def _counts(sol, m: int, t: np.ndarray, p: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    y = sol.sol(t)
    neut = np.clip(y[_I_N], 0.0, None) * p["neutrophil_baseline"]
    plt = np.clip(y[_I_C:_I_C + m].mean(axis=0), 0.0, None) * p["platelet_baseline"]
    return neut, plt


def simulate_recovery(msc: bool, days: float = 40.0, params: dict | None = None) -> dict:
    """Simulate blood counts after HDC and an autologous PBSC graft.

    Parameters
    ----------
    msc : bool
        True when MSCs are co-transplanted with the graft (faster niche repair).
    days : float, optional
        Length of the simulation after the graft, in days (default 40).
    params : dict, optional
        Overrides of library parameters (names as in ``haematopoiesis.toml``).

    Returns
    -------
    dict
        ``t_days`` (days after the graft; day 0 = end of HDC, graft infusion),
        ``neutrophils`` and ``platelets`` (1e9/L), all 1-D numpy arrays of equal length
        (20 samples per day).

    Raises
    ------
    TropismInputError
        For an unknown parameter name, a negative or non-numeric value, or bad ``days``.
    """
    days = _check_days(days)
    p = _resolve(params)
    sol, m = _solve(bool(msc), days, p)
    t = np.linspace(0.0, days, int(round(days * 20)) + 1)
    neut, plt = _counts(sol, m, t, p)
    return {"t_days": t, "neutrophils": neut, "platelets": plt}


def _first_crossing_after_nadir(t: np.ndarray, x: np.ndarray, threshold: float) -> float:
    i_nadir = int(np.argmin(x))
    if x[i_nadir] >= threshold:
        return float("nan")
    above = np.nonzero(x[i_nadir:] >= threshold)[0]
    if above.size == 0:
        return float("nan")
    j = i_nadir + int(above[0])
    # linear interpolation between the last sample below and the first at/above
    t0, t1, x0, x1 = t[j - 1], t[j], x[j - 1], x[j]
    return float(t0 + (threshold - x0) * (t1 - t0) / (x1 - x0))


def recovery_days(msc: bool, params: dict | None = None) -> dict:
    """Days from graft to blood-count recovery.

    Parameters
    ----------
    msc : bool
        True when MSCs are co-transplanted.
    params : dict, optional
        Overrides of library parameters.

    Returns
    -------
    dict
        ``neutrophil_days``: first day after the nadir with neutrophils >= 0.5e9/L;
        ``platelet_days``: first day after the nadir with platelets >= 20e9/L.
        Interpolated to a fraction of a day; ``nan`` when the count never falls below the
        threshold or has not recovered by day 100.

    Raises
    ------
    TropismInputError
        For bad parameters (see :func:`simulate_recovery`).
    """
    p = _resolve(params)
    days = 100.0
    sol, m = _solve(bool(msc), days, p)
    t = np.linspace(0.0, days, int(days * 100) + 1)
    neut, plt = _counts(sol, m, t, p)
    return {
        "neutrophil_days": _first_crossing_after_nadir(t, neut, NEUTROPHIL_THRESHOLD),
        "platelet_days": _first_crossing_after_nadir(t, plt, PLATELET_THRESHOLD),
    }
