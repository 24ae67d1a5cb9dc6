"""Vessel exchange through a vessel-density field: implicit maps against analytic steady
profiles (modified Bessel functions around a vessel disk, cosh/exp across a vessel sheet),
exact mass balance, exact composition with other maps, stability, refused input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import i0, i1, k0, k1

from tropism.errors import TropismInputError
from tropism.tissue.diffusion import DiffusionSolver
from tropism.tissue.mesh import Mesh
from tropism.tissue.vessels import exchange_maps, exchange_rate, merge_maps


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def _solver(mesh, D, lam, dt):
    D = np.atleast_1d(np.asarray(D, dtype=float))
    lam = np.broadcast_to(np.asarray(lam, dtype=float), D.shape)
    ns = D.shape[0]
    return DiffusionSolver(mesh, D, lam, dt, np.zeros((ns, 6), bool), np.zeros((ns, 6)))


# ------------------------------------------------------------------ analytic profiles
#
# Steady state of D∇²u − λu + k·1_vessel·(c_p − u) = 0 around a vessel region of
# exchange rate k = P·S (S the vessel surface density inside it), with c_p = 1. Inside,
# u = u_p + A·f(αr), u_p = k/(λ + k), α² = (λ + k)/D; outside, u = B·g(βr), β² = λ/D;
# A and B match value and flux at the edge.
#
# Parameters (one set for both geometries): D = 1000 µm²/min, λ = 0.625/min, so the decay
# length L = sqrt(D/λ) = 40 µm = 8 voxels of dx = 5 µm; S = 0.1/µm, P = 40 µm/min, so
# k = 4/min (1/α = 15.4 µm); the domain reaches ±8 L (no-flux faces; their images change
# u by < 1e-5 for r < 4 L, where profiles are compared); dt = 1.25e-3 min, i.e.
# dt·k = 0.005 and c = D dt/dx² = 0.05.
#
# Measured max relative errors over all voxels with r < 4 L: disk (R = 30 µm = 6 voxels)
# 0.49 %, sheet (half-width 31.5 µm) 0.30 %. The error is the sum of the spatial error (second
# order: at dx = 2.5 µm it falls to 0.2 % / 0.12 % at small dt) and the first-order time
# error of applying the implicit exchange after the LOD sweeps (steady state with
# k/(1 + dt·k) and the splitting term): at dt·k = 0.05 the disk is off by 2.4 %.

DX = 5.0
D_, LAM = 1000.0, 0.625
L_DECAY = np.sqrt(D_ / LAM)
S_IN, PERM = 0.1, 40.0
K = PERM * S_IN
DT = 0.005 / K
N = 129  # voxels per side: ±322.5 µm = ±8.06 L


def _march_to_steady_state(mesh, density):
    solver = _solver(mesh, D_, LAM, DT)
    vox, m, c = exchange_maps(density, [PERM], [1.0], DT)
    u = np.zeros((1,) + mesh.shape)
    # 12 decay times from u = 0: the slowest mode (rate >= λ) is left at < exp(-12) = 6e-6
    solver.step_with_sources(u, int(np.ceil(12.0 / LAM / DT)), vox, m, c)
    before = u.copy()
    solver.step_with_sources(u, 1, vox, m, c)
    # converged: one more step changes nothing at the level of the 2 % check
    assert np.abs(u - before).max() < 1e-9
    return u[0, 0]


def test_vessel_disk_steady_profile_matches_bessel_solution():
    R = 30.0  # 6 voxels
    h = N * DX / 2
    mesh = Mesh(-h, h, -h, h, -0.5, 0.5, DX, DX, 1.0, use_2d=True)
    x, y, _ = mesh.axis_centers()
    # Area fraction of each voxel inside the disk, from 32 x 32 sample points per voxel
    # (error of the fraction < 1 % of the edge voxels' density, far below the check)
    s = ((np.arange(32) + 0.5) / 32 - 0.5) * DX
    xs, ys = x[:, None] + s, y[:, None] + s
    inside = xs[None, :, None, :] ** 2 + ys[:, None, :, None] ** 2 < R * R
    density = inside.mean(axis=(2, 3)) * S_IN
    assert density.sum() * DX * DX == pytest.approx(np.pi * R * R * S_IN, rel=1e-3)
    assert np.count_nonzero((density > 0) & (density < S_IN)) > 20  # edge voxels cut by the circle
    u = _march_to_steady_state(mesh, density.reshape(-1))

    al, be = np.sqrt((LAM + K) / D_), np.sqrt(LAM / D_)
    up = K / (LAM + K)
    B = up / (k0(be * R) + be * k1(be * R) * i0(al * R) / (al * i1(al * R)))
    A = -B * be * k1(be * R) / (al * i1(al * R))
    r = np.hypot(x[None, :], y[:, None])
    exact = np.where(r < R, up + A * i0(al * r), B * k0(be * np.maximum(r, R)))
    rel = np.abs(u / exact - 1.0)
    inner, outer = r < R, (r >= R) & (r < 4 * L_DECAY)
    assert rel[inner].max() < 0.02, rel[inner].max()
    assert rel[outer].max() < 0.02, rel[outer].max()
    # a real profile: highest at the centre (0.70, below u_p = 0.86 as the disk loses to
    # the tissue around it), 0.48 at the edge, down by more than 50 times at 4 L
    assert 0.6 < u.max() < 0.8 and r.reshape(-1)[np.argmax(u)] == 0.0
    assert exact[outer].min() < 0.02 * exact.max()


def test_vessel_sheet_steady_profile_matches_cosh_exp_solution():
    a = 31.5  # half-width; its edges cut voxels (fractional densities)
    h = N * DX / 2
    mesh = Mesh(-h, h, 0.0, 4 * DX, -0.5, 0.5, DX, DX, 1.0, use_2d=True)
    x, _, _ = mesh.axis_centers()
    frac = np.clip(np.minimum(x + DX / 2, a) - np.maximum(x - DX / 2, -a), 0.0, None) / DX
    density = np.broadcast_to(frac * S_IN, (mesh.ny, mesh.nx)).reshape(-1)
    u = _march_to_steady_state(mesh, density)

    al, be = np.sqrt((LAM + K) / D_), np.sqrt(LAM / D_)
    up = K / (LAM + K)
    B = up / (1.0 + be * np.cosh(al * a) / (al * np.sinh(al * a)))
    A = -be * B / (al * np.sinh(al * a))
    ax = np.abs(x)
    exact = np.where(ax < a, up + A * np.cosh(al * x), B * np.exp(-be * (ax - a)))
    rel = np.abs(u / exact[None, :] - 1.0)
    sel = ax < 4 * L_DECAY
    assert rel[:, sel].max() < 0.02, rel[:, sel].max()
    assert np.ptp(u, axis=0).max() < 1e-12  # uniform along the sheet


def test_exchange_alone_relaxes_each_voxel_to_plasma_as_backward_euler():
    # Without diffusion or decay each voxel follows u_n = c_p + (u_0 − c_p)/(1 + dt·k)^n,
    # which tends to c_p + (u_0 − c_p)·exp(−k t) as dt → 0.
    mesh = Mesh(0, 30, 0, 20, -0.5, 0.5, 10, 10, 1.0, use_2d=True)  # 3 x 2 voxels
    density = np.array([0.0, 0.2, 0.05, 1.5, 0.0, 0.3])
    perm = np.array([2.0, 0.0, 7.0])
    plasma = np.array([1.0, 3.0, 0.25])
    dt, n = 0.01, 300
    solver = _solver(mesh, [0.0, 0.0, 0.0], 0.0, dt)
    vox, m, c = exchange_maps(density, perm, plasma, dt)
    assert vox.tolist() == [1, 2, 3, 5] and vox.dtype == np.int64
    k = density[vox, None] * perm[None, :]
    np.testing.assert_allclose(m, 1.0 / (1.0 + dt * k), rtol=1e-15)
    np.testing.assert_allclose(c, dt * k * plasma / (1.0 + dt * k), rtol=1e-15)
    u0 = np.random.default_rng(5).random((3,) + mesh.shape) * 4.0
    u = u0.copy()
    solver.step_with_sources(u, n, vox, m, c)
    flat0, flat = u0.reshape(3, -1), u.reshape(3, -1)
    kv = density[None, :] * perm[:, None]  # (substrate, voxel)
    expected = plasma[:, None] + (flat0 - plasma[:, None]) / (1.0 + dt * kv) ** n
    np.testing.assert_allclose(flat, expected, rtol=1e-12)
    assert np.array_equal(flat[:, [0, 4]], flat0[:, [0, 4]]) and np.array_equal(flat[1], flat0[1])
    continuous = plasma[:, None] + (flat0 - plasma[:, None]) * np.exp(-kv * dt * n)
    np.testing.assert_allclose(flat, continuous, rtol=0.02, atol=1e-3)


# ------------------------------------------------------------------ mass balance


@pytest.mark.parametrize("use_2d, ns", [(True, 1), (False, 2)])
def test_tissue_amount_changes_by_minus_exchange_rate(use_2d, ns):
    # No Dirichlet, no decay: diffusion conserves the amount, so the change over a step is
    # the exchange alone, Σ V (m·u + c − u) = Σ V dt k (c_p − u_new) = −dt · rate(u_new)
    # exactly (backward Euler), and −rate is d(amount)/dt to first order in dt.
    mesh = Mesh(0, 120, 0, 100, 0, 80, 10, 10, 10, use_2d=use_2d)
    rng = np.random.default_rng(2)
    density = rng.random(mesh.n_voxels) * 0.05
    density[rng.random(mesh.n_voxels) < 0.6] = 0.0
    perm = np.array([30.0, 10.0])[:ns]
    plasma = np.array([2.0, 0.5])[:ns]
    dt = 0.05
    solver = _solver(mesh, np.array([800.0, 50.0])[:ns], 0.0, dt)
    vox, m, c = exchange_maps(density, perm, plasma, dt)
    u = rng.random((ns,) + mesh.shape) * 3.0
    V = mesh.voxel_volume
    amount = lambda f: f.reshape(ns, -1).sum(axis=1) * V  # noqa: E731
    for _ in range(5):
        before = amount(u)
        solver.step_with_sources(u, 1, vox, m, c)
        change = amount(u) - before
        rate = exchange_rate(u.reshape(ns, -1), density, perm, plasma, V)
        assert np.all(np.abs(change) > 1e-3 * before)  # a real exchange, not round-off
        # round-off of the sums and of diffusion's conservation (~1e-16 of the amount)
        np.testing.assert_allclose(change, -dt * rate, rtol=1e-11, atol=1e-13 * before.max())
    # d(amount)/dt at a state: a step 1000 times shorter from the same field
    fine = _solver(mesh, np.array([800.0, 50.0])[:ns], 0.0, dt / 1000)
    vox_f, m_f, c_f = exchange_maps(density, perm, plasma, dt / 1000)
    rate0 = exchange_rate(u, density, perm, plasma, V)
    before = amount(u)
    fine.step_with_sources(u, 1, vox_f, m_f, c_f)
    np.testing.assert_allclose((amount(u) - before) / (dt / 1000), -rate0, rtol=2e-3)


# ------------------------------------------------------------------ composition


def _apply(u_flat, maps):
    vox, m, c = maps
    u = u_flat.copy()
    u[:, vox] = m.T * u[:, vox] + c.T
    return u


def test_merge_maps_equals_applying_one_then_the_other():
    rng = np.random.default_rng(9)
    n_voxels, ns = 200, 3
    u = rng.random((ns, n_voxels)) * 5.0

    def random_maps(k):
        vox = rng.permutation(n_voxels)[:k]  # unsorted, as compose_sources gives them
        return vox, rng.uniform(0.05, 1.0, (k, ns)), rng.uniform(0.0, 2.0, (k, ns))

    first, second = random_maps(70), random_maps(90)
    assert np.intersect1d(first[0], second[0]).size > 10  # overlap, and voxels in one only
    vox, m, c = merge_maps(first, second, n_voxels)
    assert vox.tolist() == sorted(set(first[0]) | set(second[0]))
    expected = _apply(_apply(u, first), second)
    got = _apply(u, (vox, m, c))
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=0)
    # coefficients: the products where both list a voxel, the same bits where one does
    for v in (int(first[0][0]), int(second[0][0])):
        q = np.searchsorted(vox, v)
        in1, in2 = np.flatnonzero(first[0] == v), np.flatnonzero(second[0] == v)
        m1 = first[1][in1[0]] if in1.size else np.ones(ns)
        c1 = first[2][in1[0]] if in1.size else np.zeros(ns)
        m2 = second[1][in2[0]] if in2.size else np.ones(ns)
        c2 = second[2][in2[0]] if in2.size else np.zeros(ns)
        assert np.array_equal(m[q], m2 * m1) and np.array_equal(c[q], m2 * c1 + c2)
    only1 = np.setdiff1d(first[0], second[0])
    rows = np.searchsorted(vox, only1)
    order = np.argsort(first[0])
    src = order[np.searchsorted(first[0][order], only1)]
    assert np.array_equal(m[rows], first[1][src]) and np.array_equal(c[rows], first[2][src])
    # an empty set is the identity; the inputs are not changed
    empty = (np.zeros(0, np.int64), np.zeros((0, ns)), np.zeros((0, ns)))
    for merged in (merge_maps(empty, second, n_voxels), merge_maps(second, empty, n_voxels)):
        order = np.argsort(second[0])
        assert np.array_equal(merged[0], second[0][order])
        assert np.array_equal(merged[1], second[1][order]) and np.array_equal(merged[2], second[2][order])


def test_merged_maps_in_the_solver_equal_two_passes():
    # D = 0, λ = 0: the LOD step is the identity bit for bit, so step_with_sources applies
    # the maps alone; exchange maps merged with cell-like maps equal both applied in turn.
    mesh = Mesh(0, 100, 0, 80, -0.5, 0.5, 10, 10, 1.0, use_2d=True)
    rng = np.random.default_rng(4)
    ns, dt = 2, 0.1
    density = np.where(rng.random(mesh.n_voxels) < 0.3, rng.random(mesh.n_voxels), 0.0)
    vessel = exchange_maps(density, [3.0, 0.5], [1.0, 0.2], dt)
    cells_vox = rng.permutation(mesh.n_voxels)[:25]
    cells = (cells_vox, rng.uniform(0.5, 1.0, (25, ns)), rng.uniform(0.0, 0.1, (25, ns)))
    solver = _solver(mesh, [0.0, 0.0], 0.0, dt)
    u0 = rng.random((ns,) + mesh.shape)
    two = u0.copy()
    for _ in range(3):
        solver.step_with_sources(two, 1, *cells)
        solver.step_with_sources(two, 1, *vessel)
    one = u0.copy()
    solver.step_with_sources(one, 3, *merge_maps(cells, vessel, mesh.n_voxels))
    np.testing.assert_allclose(one, two, rtol=1e-14, atol=0)


# ------------------------------------------------------------------ stability


def test_huge_exchange_rate_pins_vessel_voxels_to_plasma():
    mesh = Mesh(0, 200, 0, 160, -5, 5, 10, 10, 10, use_2d=True)
    rng = np.random.default_rng(8)
    density = np.zeros(mesh.n_voxels)
    vessel = rng.permutation(mesh.n_voxels)[:40]
    density[vessel] = 1e3
    plasma = np.array([2.0, 0.0])
    dt = 0.01
    solver = _solver(mesh, [1e5, 10.0], 0.0, dt)  # c = 10: a stiff step
    u0 = rng.random((2,) + mesh.shape) * 5.0
    for perm, exact in (([1e12, 1e12], False), ([1e308, 1e308], True)):  # k = 1e15; dt·k overflows
        vox, m, c = exchange_maps(density, perm, plasma, dt)
        assert np.all(np.isfinite(m)) and np.all(np.isfinite(c)) and np.all((m >= 0) & (m <= 1))
        u = u0.copy()
        solver.step_with_sources(u, 20, vox, m, c)
        flat = u.reshape(2, -1)
        assert np.all(np.isfinite(u)) and u.min() >= 0.0 and u.max() <= u0.max()
        if exact:
            assert np.all(m == 0.0) and np.array_equal(c, np.broadcast_to(plasma, c.shape))
            assert np.array_equal(flat[:, vessel], np.broadcast_to(plasma[:, None], (2, 40)))
        else:
            np.testing.assert_allclose(flat[0, vessel], plasma[0], rtol=1e-11)
            assert np.abs(flat[1, vessel]).max() < 1e-11
    # a zero permeability means no exchange at all, not 0/0 nor inf·0 (dt·density overflows)
    for dens, step in ((density, dt), (density * 1e305, 10.0)):
        vox, m, c = exchange_maps(dens, [0.0, 1e12], plasma, step)
        assert np.all(m[:, 0] == 1.0) and np.all(c[:, 0] == 0.0)
        assert np.all(m[:, 1] < 1e-12) and np.all(c[:, 1] == 0.0)


# ------------------------------------------------------------------ input


_GOOD = dict(density=np.array([0.0, 0.1, 0.2]), permeability=np.array([1.0, 2.0]),
             plasma=np.array([1.0, 0.0]))


@pytest.mark.parametrize("change, field", [
    ({"density": [0.0, -0.1, 0.2]}, "density[1]"),
    ({"density": [0.0, np.nan, 0.2]}, "density[1]"),
    ({"density": [np.inf, 0.0, 0.2]}, "density[0]"),
    ({"permeability": [1.0, -2.0]}, "permeability[1]"),
    ({"permeability": [np.inf, 2.0]}, "permeability[0]"),
    ({"plasma": [-1.0, 0.0]}, "plasma[0]"),
    ({"plasma": [1.0, np.nan]}, "plasma[1]"),
    ({"plasma": [1.0, 0.0, 0.0]}, "plasma"),
    ({"permeability": []}, "permeability"),
    ({"dt": 0.0}, "dt"),
    ({"dt": -1.0}, "dt"),
    ({"dt": np.nan}, "dt"),
    ({"dt": "soon"}, "dt"),
])
def test_bad_exchange_input_is_refused(change, field):
    args = dict(_GOOD, dt=0.1) | change
    with pytest.raises(TropismInputError) as err:
        exchange_maps(args["density"], args["permeability"], args["plasma"], args["dt"])
    assert err.value.field == field


@pytest.mark.parametrize("change, field", [
    ({"density": [0.0, -0.1, 0.2]}, "density[1]"),
    ({"voxel_volume": 0.0}, "voxel_volume"),
    ({"voxel_volume": np.inf}, "voxel_volume"),
    ({"fields": np.ones((2, 4))}, "flat_fields"),
    ({"fields": np.ones((3, 3))}, "flat_fields"),
])
def test_bad_rate_input_is_refused(change, field):
    args = dict(_GOOD, fields=np.ones((2, 3)), voxel_volume=1000.0) | change
    with pytest.raises(TropismInputError) as err:
        exchange_rate(args["fields"], args["density"], args["permeability"], args["plasma"],
                      args["voxel_volume"])
    assert err.value.field == field


def test_bad_maps_are_refused():
    ok = (np.array([3, 1]), np.ones((2, 2)), np.zeros((2, 2)))
    cases = [
        ((np.array([3, 3]), np.ones((2, 2)), np.zeros((2, 2))), ok, "first.voxels"),  # repeated voxel
        (ok, (np.array([10]), np.ones((1, 2)), np.zeros((1, 2))), "second.voxels"),  # out of range
        (ok, (np.array([-1]), np.ones((1, 2)), np.zeros((1, 2))), "second.voxels"),
        (ok, (np.array([1]), np.ones((1, 3)), np.zeros((1, 3))), "second"),  # substrates differ
        ((np.array([3, 1]), np.ones((2, 2)), np.zeros((3, 2))), ok, "first"),  # rows differ
        ((np.array([1.5]), np.ones((1, 2)), np.zeros((1, 2))), ok, "first.voxels"),
        (ok, (np.array([2]), np.full((1, 2), np.nan), np.zeros((1, 2))), "second"),
        ((np.array([1]), np.ones((1, 2))), ok, "first"),  # not a triple
    ]
    for first, second, field in cases:
        with pytest.raises(TropismInputError) as err:
            merge_maps(first, second, 10)
        assert err.value.field == field, (field, err.value)
    with pytest.raises(TropismInputError):
        merge_maps(ok, ok, "ten")
