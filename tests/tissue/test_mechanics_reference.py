"""The optimised mechanics kernel against a plain O(n²) NumPy evaluation of the same formulas."""

from __future__ import annotations

import numpy as np
import pytest

from tropism.tissue.mechanics import (SIMPLE_PRESSURE_SCALE, ContactCells, ForceOutput, ScanScratch, cell_velocities,
                                      ordinary_extent)
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
    e_cut, _ = ordinary_extent(radius, rel)
    size, dims = grid_geometry(lo, hi, 2 * e_cut, dim == 2, n)
    start, order, _ = build_grid(pos, n, lo, size, dims)
    v, p = np.zeros((n, 3)), np.zeros(n)
    cell_velocities(n, ContactCells(pos, radius, ctype, rep, adh, rel, aff), (start, order, lo, size, dims, e_cut),
                    v, p, ScanScratch(np.empty((n, 8)), np.empty((n, 3))))
    v_ref, p_ref = _brute_force(pos, radius, ctype, rep, adh, rel, aff)
    assert np.count_nonzero(np.abs(v_ref).sum(axis=1)) > n // 2  # the test has real contacts
    np.testing.assert_allclose(v, v_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(p, p_ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dim", [2, 3])
def test_a_few_large_agents_among_small_ones_match_brute_force(dim):
    # 600 tumour-sized cells and 6 MSC-sized ones (the largest 1/64 are scanned apart): the
    # forces, pressures and neighbour lists equal the O(n²) evaluation, large pairs included
    from tropism.tissue.mechanics import neighbour_forces

    rng = np.random.default_rng(10 + dim)
    n = 606
    box = 130.0 if dim == 2 else 55.0
    pos = rng.uniform(-box, box, (n, 3))
    if dim == 2:
        pos[:, 2] = 0.0
    radius = rng.uniform(6.0, 7.0, n)
    radius[::101] = rng.uniform(11.0, 12.0, 6)
    ctype = (radius > 10).astype(np.int64)
    rep = rng.uniform(5.0, 15.0, n)
    adh = rng.uniform(0.1, 1.0, n)
    rel = rng.uniform(0.9, 1.3, n)   # some cells reach less far than their radius
    aff = rng.uniform(0.2, 1.0, (n, 2))
    lo, hi = np.full(3, -box - 1), np.full(3, box + 1)
    e_cut, e_max = ordinary_extent(radius, rel)
    assert e_cut < 10.0 < e_max  # the large cells are scanned apart
    size, dims = grid_geometry(lo, hi, 2 * e_cut, dim == 2, n)
    start, order, _ = build_grid(pos, n, lo, size, dims)
    v, p = np.zeros((n, 3)), np.zeros(n)
    nbr, count = np.empty((n, 40), np.int32), np.zeros(n, np.int64)
    neighbour_forces(n, ContactCells(pos, radius, ctype, rep, adh, rel, aff), (start, order, lo, size, dims, e_cut),
                     ForceOutput(v, p, nbr, count), ScanScratch(np.empty((n, 8)), np.empty((n, 2))),
                     with_forces=True, with_list=True)
    v_ref, p_ref = _brute_force(pos, radius, ctype, rep, adh, rel, aff)
    large = np.flatnonzero(radius > 10)
    assert np.abs(v_ref[large]).sum() > 0  # the large cells touch others
    np.testing.assert_allclose(v, v_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(p, p_ref, rtol=1e-10, atol=1e-12)
    d = np.linalg.norm(pos[:, None] - pos[None], axis=2)
    reach = np.maximum(radius[:, None] + radius[None], (rel * radius)[:, None] + (rel * radius)[None])
    want = (d < reach) & ~np.eye(n, dtype=bool)
    assert want[large].sum() > 0  # large cells have neighbours
    assert count.max() <= nbr.shape[1]
    for i in range(n):
        assert set(nbr[i, :count[i]].tolist()) == set(np.flatnonzero(want[i]).tolist()), i


def test_the_ordinary_extent_scans_few_big_agents_apart_and_keeps_the_common_ones_ordinary():
    rng = np.random.default_rng(3)
    radius = np.full(6400, 6.5)
    rel = np.full(6400, 1.25)
    assert ordinary_extent(radius, rel) == (6.5 * 1.25, 6.5 * 1.25)  # all alike: no large agents
    radius[rng.choice(6400, 30, replace=False)] = 11.5                # MSCs
    radius[rng.choice(6400, 300, replace=False)] *= rng.uniform(0.2, 1.25, 300)  # shrunk or swollen
    e = np.maximum(radius, rel * radius)
    e_cut, e_max = ordinary_extent(radius, rel)
    assert e_max == e.max() and e_cut < 11.5 * 1.25
    assert (e > e_cut).sum() <= 6400 // 4
    assert e_cut >= 6.5 * 1.25  # the common cells stay ordinary
    # a fifth of the agents macrophage-sized: still cheaper apart in 2D than widening every scan
    big = np.full(8000, 6.5)
    big[::5] = 10.5
    rel8 = np.full(8000, 1.25)
    cut2, _ = ordinary_extent(big, rel8, 2)
    assert 6.5 * 1.25 <= cut2 < 10.5 * 1.25
    # half of them: no split beats scanning everyone alike
    big[::2] = 10.5
    cut_half, top = ordinary_extent(big, rel8, 2)
    assert cut_half == top
