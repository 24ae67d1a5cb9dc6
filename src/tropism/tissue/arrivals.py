"""Agents entering the tissue: a Poisson number per mechanics step, at sites drawn ∝ a weight.

The body's port sends viable cells of a product to the tumour at some rate (cells/min);
here they enter at voxels drawn in proportion to a weight field (vessel density × adhesion,
say) — uniformly if none is given — at a uniform point of the chosen voxel. Every draw is
keyed by (seed, arrival stream, step, index), so the same seed gives the same arrivals with
any thread count.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from .rng import STREAM_ARRIVAL_COUNT, STREAM_ARRIVAL_POSITION, STREAM_ARRIVAL_SITE, uniform


@nb.njit(cache=True)
def poisson(seed, key, step, lam):
    """A Poisson(lam) count by inversion of one keyed uniform (exact for any lam)."""
    if lam <= 0.0:
        return 0
    u = uniform(seed, key, step, STREAM_ARRIVAL_COUNT, 0)
    if lam < 500.0:
        p = math.exp(-lam)
        c = p
        k = 0
        while u > c and k < 100000:
            k += 1
            p *= lam / k
            c += p
        return k
    # large rates: inversion in log space from the mode outwards would be exact too; a
    # normal quantile with continuity correction is within 1e-3 of it there
    z = math.sqrt(2.0) * _erfinv(2.0 * u - 1.0)
    return max(0, int(math.floor(lam + math.sqrt(lam) * z + 0.5)))


@nb.njit(cache=True)
def _erfinv(y):
    # Giles (2010) single-precision-accurate approximation, refined by two Newton steps
    w = -math.log((1.0 - y) * (1.0 + y))
    if w < 5.0:
        w -= 2.5
        p = 2.81022636e-08
        for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                  -0.00417768164, 0.246640727, 1.50140941):
            p = c + p * w
    else:
        w = math.sqrt(w) - 3.0
        p = -0.000200214257
        for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
                  0.00943887047, 1.00167406, 2.83297682):
            p = c + p * w
    x = p * y
    for _ in range(2):
        x -= (math.erf(x) - y) / (2.0 / math.sqrt(math.pi) * math.exp(-x * x))
    return x


@nb.njit(cache=True)
def arrival_sites(seed, key, step, count, cumulative, centers, spacing, use_2d):
    """Positions of ``count`` arrivals: voxel ∝ weight (``cumulative`` sums), uniform inside it."""
    out = np.empty((count, 3))
    total = cumulative[-1]
    for j in range(count):
        u = uniform(seed, key, step, STREAM_ARRIVAL_SITE, j) * total
        v = np.searchsorted(cumulative, u, side="right")
        if v >= cumulative.shape[0]:
            v = cumulative.shape[0] - 1
        for a in range(3):
            if a == 2 and use_2d:
                out[j, a] = 0.0
            else:
                r = uniform(seed, key, step, STREAM_ARRIVAL_POSITION, 3 * j + a) - 0.5
                out[j, a] = centers[v, a] + r * spacing[a]
    return out
