"""Mechanics and motility of the tissue solver against analytic results.

* two overlapping cells relax to PhysiCell's potential equilibrium (and, without adhesion,
  separate along the analytic 1/t law towards contact);
* a symmetric push keeps the centroid fixed;
* the virtual wall pushes a cell back into the domain and never lets it out;
* chemotactic drift equals v·E[ĝ·normalise(b ĝ + (1 − b) ξ)];
* runs are bit-identical for 1 and 2 kernel threads.
"""

from __future__ import annotations

import numpy as np
import pytest

from tropism.model import (CellType, Chemotaxis, Clocks, Cycle, Domain, InitialCells, Mechanics, Model, Motility,
                           PhaseLink, SecretionParameters, Substrate)
from tropism.model.phenotype import default_apoptosis, default_necrosis
from tropism.tissue.solver import TissueSolver, set_threads

from conftest import needs_threads

ADH, REP, REL = 0.4, 10.0, 1.25


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def cell_type(name="a", *, adhesion=ADH, repulsion=REP, cycle_rate=0.0, apoptosis=0.0, necrosis=0.0,
              motility=None, secretion=None, type_id=0) -> CellType:
    return CellType(
        name=name, id=type_id,
        cycle=Cycle(code=5, name="live", links=[PhaseLink(start=0, end=0, rate=cycle_rate)]),
        apoptosis=default_apoptosis().model_copy(update={"rate": apoptosis}),
        necrosis=default_necrosis().model_copy(update={"rate": necrosis}),
        mechanics=Mechanics(cell_cell_adhesion_strength=adhesion, cell_cell_repulsion_strength=repulsion,
                            relative_maximum_adhesion_distance=REL),
        motility=motility or Motility(enabled=False),
        secretion=secretion or {},
    )


def make_model(positions, cell_types, *, half=100.0, use_2d=True, substrates=(), dt_diffusion=0.1,
               types=None, seed=0) -> Model:
    positions = np.asarray(positions, dtype=float).reshape(-1, 3)
    z = (-10.0, 10.0) if use_2d else (-half, half)
    types = np.zeros(len(positions), dtype=np.int64) if types is None else np.asarray(types, dtype=np.int64)
    m = Model(domain=Domain(x_min=-half, x_max=half, y_min=-half, y_max=half, z_min=z[0], z_max=z[1],
                            use_2d=use_2d),
              clocks=Clocks(max_time=60.0, dt_diffusion=dt_diffusion, dt_mechanics=0.1, dt_phenotype=6.0),
              substrates=list(substrates), cell_types=list(cell_types),
              initial_cells=InitialCells(positions=positions, types=types))
    m.options = m.options.model_copy(update={"random_seed": seed})
    return m


def distance(solver) -> float:
    p = solver.agents.position
    return float(np.linalg.norm(p[0] - p[1]))


def equilibrium_distance(r1, r2, adh=ADH, rep=REP, rel=REL) -> float:
    """Root of sqrt(rep)(1 − d/R) = sqrt(adh)(1 − d/S), R = r1 + r2, S = rel·(r1 + r2)."""
    big_r, s = r1 + r2, rel * (r1 + r2)
    return (np.sqrt(rep) - np.sqrt(adh)) / (np.sqrt(rep) / big_r - np.sqrt(adh) / s)


# --------------------------------------------------------------------------- two cells
@pytest.mark.parametrize("start", [8.0, 14.0, 18.0])
def test_two_cells_relax_to_potential_equilibrium(start):
    """From overlapping (8, 14 µm) or just adhering (18 µm, inside the 21 µm reach) they settle at d_eq within 1 %."""
    inert = Substrate(name="inert", diffusion_coefficient=0.0, decay_rate=0.0, initial_condition=1.0)
    m = make_model([[-start / 2, 3.0, 0.0], [start / 2, 3.0, 0.0]], [cell_type()], substrates=[inert])
    s = TissueSolver(m)
    r = s.agents.radius[:2].copy()
    d_eq = equilibrium_distance(r[0], r[1])
    # sanity of the analytic root: forces balance there and it lies between contact and reach
    assert np.sqrt(REP) * (1 - d_eq / r.sum()) == pytest.approx(np.sqrt(ADH) * (1 - d_eq / (REL * r.sum())))
    assert 0.9 * r.sum() < d_eq < r.sum()
    for _ in range(2000):
        s.step()
    d = distance(s)
    assert abs(d - d_eq) / d_eq < 0.01, (d, d_eq)
    # volumes did not change (no cycling, no death), so the radii used for d_eq still hold
    np.testing.assert_allclose(s.agents.radius[:2], r, rtol=1e-12)
    # the pair moved apart along the line of centres only, symmetrically
    p = s.agents.position[:2]
    np.testing.assert_allclose(p[:, 1], 3.0, atol=1e-9)
    assert p[0, 0] + p[1, 0] == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_array_equal(s.fields, 1.0)


def test_without_adhesion_cells_separate_to_contact():
    """Pure repulsion: the gap e = 1 − d/R closes as de/dt = −(2 rep/R) e², so
    e(t) = 1/(1/e0 + 2 rep t/R); d → R from below and no force acts once d ≥ R."""
    m = make_model([[-5.0, 0.0, 0.0], [5.0, 0.0, 0.0]], [cell_type(adhesion=0.0)])
    s = TissueSolver(m)
    big_r = float(s.agents.radius[:2].sum())
    e0 = 1.0 - distance(s) / big_r
    history = []
    for _ in range(2000):
        s.step()
        history.append(distance(s))
    history = np.array(history)
    assert np.all(np.diff(history) > 0.0)  # monotone separation
    assert np.all(history < big_r)  # never overshoots contact
    d = history[-1]
    assert d >= 0.99 * big_r
    e_exact = 1.0 / (1.0 / e0 + 2.0 * REP * s.time / big_r)
    e = 1.0 - d / big_r
    assert e == pytest.approx(e_exact, rel=0.05), (e, e_exact)

    # beyond contact and without adhesion nothing moves
    m2 = make_model([[-0.55 * big_r, 0.0, 0.0], [0.55 * big_r, 0.0, 0.0]], [cell_type(adhesion=0.0)])
    s2 = TissueSolver(m2)
    p0 = s2.agents.position[:2].copy()
    for _ in range(50):
        s2.step()
    np.testing.assert_array_equal(s2.agents.position[:2], p0)


@pytest.mark.parametrize("use_2d", [True, False])
def test_symmetric_push_keeps_centroid(use_2d):
    c = np.array([13.7, -21.3, 0.0 if use_2d else 7.9])
    u = np.array([3.1, 1.7, 0.0 if use_2d else -2.3])
    m = make_model([c - u, c + u], [cell_type()], use_2d=use_2d)
    s = TissueSolver(m)
    d0 = distance(s)
    for _ in range(500):
        s.step()
        centroid = s.agents.position[:2].mean(axis=0)
        np.testing.assert_allclose(centroid, c, rtol=0, atol=1e-9)
    assert distance(s) > d0 + 5.0  # they really were pushed apart
    # and along the initial line of centres
    sep = s.agents.position[1] - s.agents.position[0]
    np.testing.assert_allclose(sep / np.linalg.norm(sep), u / np.linalg.norm(u), atol=1e-9)


# --------------------------------------------------------------------------- walls
@pytest.mark.parametrize("start", [[98.0, 0.0, 0.0], [0.0, -99.5, 0.0], [99.0, 99.0, 0.0]])
def test_virtual_wall_pushes_cell_back(start):
    half = 100.0
    m = make_model([start], [cell_type()], half=half)
    s = TissueSolver(m)
    r = float(s.agents.radius[0])
    gap0 = half - np.abs(np.asarray(start[:2])).max()
    assert gap0 < r
    for _ in range(300):
        s.step()
        p = s.agents.position[0]
        assert np.all(np.abs(p[:2]) <= half), p
    gap = half - np.abs(s.agents.position[0, :2]).max()
    assert gap > gap0
    # pushed out to about one radius from the wall (the wall acts only within a radius; a cell
    # started very close gets a strong first kick and may overshoot a little, as with
    # PhysiCell's explicit Adams-Bashforth step), then at rest
    assert 0.95 * r <= gap <= 1.5 * r, (gap, r)
    x = s.agents.position[0].copy()
    for _ in range(10):
        s.step()
    assert np.abs(s.agents.position[0] - x).max() < 1e-2


def test_wall_holds_a_cell_that_swims_outwards():
    """A motile cell with full bias up a gradient towards the wall stays inside the domain."""
    half = 100.0
    mot = Motility(enabled=True, speed=5.0, persistence_time=1.0, migration_bias=1.0,
                   chemotaxis=Chemotaxis(enabled=True, substrate="c", direction=1.0))
    sub = Substrate(name="c", diffusion_coefficient=0.0, decay_rate=0.0)
    m = make_model([[60.0, 0.0, 0.0]], [cell_type(motility=mot)], half=half, substrates=[sub])
    s = TissueSolver(m)
    s.fields[0] = s.mesh.centers()[:, 0].reshape(s.fields.shape[1:])
    xs = []
    for _ in range(400):
        s.step()
        xs.append(s.agents.position[0, 0])
        assert s.agents.position[0, 0] <= half
    # it reached the wall zone and is held where 100(1 − d/r)² balances its speed 5
    r = float(s.agents.radius[0])
    d_expected = r * (1.0 - np.sqrt(5.0 / 100.0))
    assert half - xs[-1] == pytest.approx(d_expected, rel=0.02)


# --------------------------------------------------------------------------- chemotaxis
def expected_drift_factor(b: float, k: int = 400_000) -> float:
    """E[ĝ·normalise(b ĝ + (1 − b) ξ)] for ξ uniform on the unit circle (midpoint rule)."""
    th = (np.arange(k) + 0.5) * (2.0 * np.pi / k)
    x = b + (1.0 - b) * np.cos(th)
    y = (1.0 - b) * np.sin(th)
    return float(np.mean(x / np.hypot(x, y)))


def chemotaxis_run(bias, speed=1.0, n=400, steps=200, seed=3, slope=(0.1, 0.0)):
    mot = Motility(enabled=True, speed=speed, persistence_time=0.1, migration_bias=bias,
                   chemotaxis=Chemotaxis(enabled=True, substrate="c", direction=1.0))
    sub = Substrate(name="c", diffusion_coefficient=0.0, decay_rate=0.0)
    rng = np.random.default_rng(seed)
    pos = np.c_[rng.uniform(-200.0, 200.0, (n, 2)), np.zeros(n)]
    m = make_model(pos, [cell_type(adhesion=0.0, repulsion=0.0, motility=mot)], half=300.0, substrates=[sub],
                   dt_diffusion=0.01, seed=seed)
    s = TissueSolver(m)
    centers = s.mesh.centers()
    ramp = (5.0 + slope[0] * centers[:, 0] + slope[1] * centers[:, 1]).reshape(s.fields.shape[1:])
    s.fields[0] = ramp
    p0 = s.agents.position[:n].copy()
    for _ in range(steps):
        s.step()
    # D = 0, decay 0, no sources: the diffusion sub-steps leave the ramp exactly as it was
    np.testing.assert_array_equal(s.fields[0], ramp)
    assert s.agents.n == n
    return (s.agents.position[:n] - p0).mean(axis=0) / s.time


def test_chemotactic_drift_matches_expectation():
    v, b = 1.0, 0.4
    factor = expected_drift_factor(b)
    drift = chemotaxis_run(b, speed=v)
    assert drift[0] == pytest.approx(v * factor, rel=0.05), (drift, v * factor)
    assert abs(drift[1]) < 0.05 * v  # no drift across the gradient
    # the rough statement, drift ≈ v·b, holds near b = 0.4 (factor/b = 0.89)
    assert drift[0] == pytest.approx(v * b, rel=0.25)


def test_chemotactic_drift_follows_a_diagonal_gradient():
    v, b = 2.0, 0.4
    g = np.array([0.03, -0.04]) / 0.05
    drift = chemotaxis_run(b, speed=v, slope=(0.03, -0.04), seed=5)
    along = drift[:2] @ g
    across = drift[:2] @ np.array([-g[1], g[0]])
    assert along == pytest.approx(v * expected_drift_factor(b), rel=0.05)
    assert abs(across) < 0.05 * v


def test_no_bias_no_drift():
    v = 1.0
    drift = chemotaxis_run(0.0, speed=v)
    assert np.all(np.abs(drift[:2]) < 0.05 * v), drift


# --------------------------------------------------------------------------- threads
def busy_model() -> Model:
    rng = np.random.default_rng(11)
    n = 300
    pos = np.c_[rng.uniform(-150.0, 150.0, (n, 2)), np.zeros(n)]
    oxygen = Substrate(name="oxygen", units="mmHg", diffusion_coefficient=1e5, decay_rate=0.1,
                       initial_condition=38.0, dirichlet_enabled=True, dirichlet_value=38.0)
    mot = Motility(enabled=True, speed=1.0, persistence_time=2.0, migration_bias=0.3,
                   chemotaxis=Chemotaxis(enabled=True, substrate="oxygen", direction=1.0))
    tumor = cell_type("tumor", cycle_rate=0.01, apoptosis=0.004, necrosis=0.002,
                      secretion={"oxygen": SecretionParameters(uptake_rate=10.0, secretion_target=0.0)})
    walker = cell_type("walker", type_id=1, cycle_rate=0.005, apoptosis=0.002, motility=mot,
                       secretion={"oxygen": SecretionParameters(uptake_rate=2.0, secretion_target=0.0)})
    return make_model(pos, [tumor, walker], half=200.0, substrates=[oxygen], dt_diffusion=0.01,
                      types=rng.integers(0, 2, n), seed=42)


def run_busy(threads: int, steps: int = 300):
    assert set_threads(threads) == threads
    s = TissueSolver(busy_model())
    for _ in range(steps):
        s.step()
    n = s.agents.n
    return s, {name: arr[:n].copy() for name, arr in s.agents.arrays.items()}, s.fields.copy()


@needs_threads(2)
def test_bit_identical_across_thread_counts():
    s1, a1, f1 = run_busy(1)
    s2, a2, f2 = run_busy(2)
    n0 = 300
    # the run did something: divisions, deaths, motion, uptake
    assert s1.agents.n != n0 or np.any(a1["death_state"] != 0)
    assert np.any(a1["death_state"] != 0) and a1["id"].max() >= n0
    assert f1.min() < 38.0
    assert a1.keys() == a2.keys()
    for name in ("position", "type", "volume", "id", "death_state", "phase", "velocity", "motility_vector"):
        assert a1[name].tobytes() == a2[name].tobytes(), name
    for name in a1:
        np.testing.assert_array_equal(a1[name], a2[name], err_msg=name)
    assert f1.tobytes() == f2.tobytes()
