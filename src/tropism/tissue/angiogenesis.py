"""Vessels that grow and regress: the vessel-density field stepped on the phenotype clock.

Per voxel (``tropism.model.Angiogenesis``)::

    dS/dt = g·H·S·(1 − S/S_max) − r·(1 − H)·(S − S_stable)⁺ − r_n·f_n·S,   H = v^n/(v^n + K^n).

Growth is endothelial proliferation (logistic, saturating at ``S_max``) driven by the
angiogenic signal; without it, vessels above the mature bed ``S_stable`` regress; where cells
are necrotic the bed collapses. The step is explicit (forward Euler over ``dt_phenotype``):
the rates are 1e-4/min, so over a 6-min step the local error is ~1e-7 of ``S`` and the
analytic solution under a constant signal is followed to 1e-4 over weeks
(``tests/tissue/test_tissue_environment.py``).
"""

from __future__ import annotations

import numpy as np

from .states import NECROTIC_LYSED, NECROTIC_SWELLING


def signal_response(v: np.ndarray, half_max: float, hill_power: float) -> np.ndarray:
    """H = v^n/(v^n + K^n), with v clipped at 0."""
    x = (np.maximum(v, 0.0) / half_max) ** hill_power
    return x / (1.0 + x)


def density_rate(S: np.ndarray, H: np.ndarray, necrotic_share: np.ndarray, angio) -> np.ndarray:
    """dS/dt of every voxel (1/µm per min) for the parameters ``angio`` (an ``Angiogenesis``)."""
    grow = angio.growth_rate * H * S * (1.0 - S / angio.max_density)
    regress = angio.regression_rate * (1.0 - H) * np.maximum(S - angio.stable_density, 0.0)
    return grow - regress - angio.necrotic_regression_rate * necrotic_share * S


def necrotic_share(n_voxels: int, voxel: np.ndarray, death_state: np.ndarray) -> np.ndarray:
    """Share of each voxel's agents that are necrotic (swelling or lysed); 0 where none."""
    total = np.bincount(voxel, minlength=n_voxels).astype(np.float64)
    nec = (death_state == NECROTIC_SWELLING) | (death_state == NECROTIC_LYSED)
    dead = np.bincount(voxel[nec], minlength=n_voxels).astype(np.float64)
    return np.divide(dead, total, out=np.zeros(n_voxels), where=total > 0)


def step_density(S: np.ndarray, signal: np.ndarray, necrotic: np.ndarray, angio, dt: float,
                 signal_scale: float = 1.0) -> np.ndarray:
    """The vessel density after ``dt`` minutes, never below 0 nor above ``max_density`` (where
    it starts at or below it)."""
    H = signal_response(signal * signal_scale, angio.half_max, angio.hill_power)
    out = S + dt * density_rate(S, H, necrotic, angio)
    return np.clip(out, 0.0, max(angio.max_density, float(S.max(initial=0.0))))


def riccati_solution(S0: float, H: float, angio, t: float) -> float:
    """Exact S(t) of one voxel under a constant response ``H``, no necrosis, ``S > S_stable``.

    dS/dt = −a S² + b S + c with a = gH/S_max, b = gH − r(1−H), c = r(1−H)·S_stable: the roots
    S± of the right-hand side give S(t) = (S+ − S−·k·e^{−a(S+−S−)t}) / (1 − k·e^{−a(S+−S−)t}),
    k = (S0 − S+)/(S0 − S−). Used by the tests as the analytic reference.
    """
    g, r = angio.growth_rate, angio.regression_rate
    a = g * H / angio.max_density
    b = g * H - r * (1.0 - H)
    c = r * (1.0 - H) * angio.stable_density
    if a == 0.0:  # no growth: linear regression towards S_stable
        lam = r * (1.0 - H)
        return angio.stable_density + (S0 - angio.stable_density) * np.exp(-lam * t)
    disc = np.sqrt(b * b + 4.0 * a * c)
    hi, lo = (b + disc) / (2.0 * a), (b - disc) / (2.0 * a)
    k = (S0 - hi) / (S0 - lo)
    e = k * np.exp(-a * (hi - lo) * t)
    return float((hi - lo * e) / (1.0 - e))
