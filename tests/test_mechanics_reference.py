"""The optimised mechanics kernel against a plain O(n²) NumPy evaluation of the same formulas."""

from __future__ import annotations

import numpy as np
import pytest

from tropism.tissue.mechanics import SIMPLE_PRESSURE_SCALE, cell_velocities
from tropism.tissue.neighbors import build_grid, grid_geometry


def _brute_force(pos, radius, ctype, rep, adh, rel, aff):
    n = len(pos)
    v = np.zeros((n, 3))
    p = np.zeros(n)
    for i in range(n):
        d = pos[i] - pos
        dist = np.maximum(np.linalg.norm(d, axis=1), 1e-5)
        big_r = radius[i] + radius
        reach = rel[i] * radius[i] + rel * radius
        t_rep = np.where(dist < big_r, (1 - dist / big_r) ** 2, 0.0)
        t_adh = np.where(dist < reach, (1 - dist / reach) ** 2, 0.0)
        f = t_rep * np.sqrt(rep[i] * rep) - t_adh * np.sqrt(adh[i] * adh * aff[i, ctype] * aff[:, ctype[i]])
        f[i] = 0.0
        v[i] = (f / dist) @ d
        t_rep[i] = 0.0
        p[i] = t_rep.sum() / SIMPLE_PRESSURE_SCALE
    return v, p


@pytest.mark.parametrize("dim", [2, 3])
def test_kernel_matches_brute_force(dim):
    rng = np.random.default_rng(dim)
    n = 400
    box = 120.0 if dim == 2 else 60.0
    pos = rng.uniform(-box, box, (n, 3))
    if dim == 2:
        pos[:, 2] = 0.0
    radius = rng.uniform(6.0, 11.0, n)
    ctype = rng.integers(0, 3, n)
    rep = rng.uniform(5.0, 15.0, n)
    adh = rng.uniform(0.0, 1.0, n)
    rel = rng.uniform(1.0, 1.5, n)
    aff = rng.uniform(0.0, 1.0, (n, 3))
    lo, hi = np.full(3, -box - 1), np.full(3, box + 1)
    size, dims = grid_geometry(lo, hi, 2 * radius.max() * rel.max(), dim == 2, n)
    start, order, _ = build_grid(pos, n, lo, size, dims)
    v, p = np.zeros((n, 3)), np.zeros(n)
    cell_velocities(n, pos, radius, ctype, rep, adh, rel, aff, start, order, lo, size, dims, v, p,
                    np.empty((n, 8)), np.empty((n, 3)))
    v_ref, p_ref = _brute_force(pos, radius, ctype, rep, adh, rel, aff)
    assert np.count_nonzero(np.abs(v_ref).sum(axis=1)) > n // 2  # the test has real contacts
    np.testing.assert_allclose(v, v_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(p, p_ref, rtol=1e-10, atol=1e-12)
