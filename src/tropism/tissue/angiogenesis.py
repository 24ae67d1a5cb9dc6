"""Vessels that grow and regress: the vessel-density field stepped on the phenotype clock.

The bed is part of the tissue: first it is carried with the tissue the cells push
(:func:`advect_density`, ∂S/∂t + ∇·(S w) = 0, so tissue that swells with dividing cells thins
its vessels and tissue pushed aside is compressed), then, per voxel
(``tropism.model.Angiogenesis``)::

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


def tissue_velocity(n_voxels: int, voxel: np.ndarray, volume: np.ndarray, velocity: np.ndarray,
                    voxel_volume: float) -> np.ndarray:
    """The tissue's velocity in each voxel (µm/min, shape (n_voxels, 3)): the volume-weighted mean
    velocity of the voxel's cells times the share of the voxel they fill (at most 1).

    ``velocity`` is the cells' mechanical velocity (their own crawling excluded): what the
    pushing of growing tissue moves. Host tissue is not simulated and stands still.
    """
    w = np.zeros((n_voxels, 3))
    filled = np.bincount(voxel, weights=volume, minlength=n_voxels)
    for axis in range(3):
        w[:, axis] = np.bincount(voxel, weights=volume * velocity[:, axis], minlength=n_voxels)
    share = np.minimum(filled / voxel_volume, 1.0)
    return w / np.maximum(filled, 1e-300)[:, None] * share[:, None]


def advect_density(S: np.ndarray, w: np.ndarray, shape: tuple[int, int, int], spacing: tuple[float, float, float],
                   dt: float) -> np.ndarray:
    """Carry the vessel surface with the tissue for ``dt`` minutes: ∂S/∂t + ∇·(S w) = 0.

    Conservative upwind fluxes through the voxel faces (face velocity the mean of the two
    voxels'), none through the domain's boundary: the total surface Σ S·V is kept to
    round-off, and where the tissue swells (∇·w > 0, cells dividing) the surface per volume
    falls: new tumour tissue brings no vessels of its own. Sub-steps keep the Courant number
    at most 0.5.
    """
    nz, ny, nx = shape
    S = S.reshape(nz, ny, nx).copy()
    w = w.reshape(nz, ny, nx, 3)
    courant = max(float(np.max(np.abs(w[..., a]))) * dt / h for a, h in zip(range(3), spacing))
    steps = max(1, int(np.ceil(courant / 0.5)))
    tau = dt / steps
    # axis in the (z, y, x) array of each velocity component (x, y, z)
    axes = {0: 2, 1: 1, 2: 0}
    for _ in range(steps):
        change = np.zeros_like(S)
        for comp, h in zip(range(3), spacing):
            ax = axes[comp]
            if S.shape[ax] < 2:
                continue
            lo = [slice(None)] * 3
            hi = [slice(None)] * 3
            lo[ax] = slice(0, -1)
            hi[ax] = slice(1, None)
            lo, hi = tuple(lo), tuple(hi)
            face = 0.5 * (w[..., comp][lo] + w[..., comp][hi])
            flux = np.where(face > 0.0, face * S[lo], face * S[hi])   # per unit face area
            change[lo] -= flux * tau / h
            change[hi] += flux * tau / h
        S += change
    return np.maximum(S, 0.0).reshape(-1)
