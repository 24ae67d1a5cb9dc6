"""The tumour's environment in the tissue solver: vessels that grow and regress, time-windowed
interventions, irradiation (issue 19). Each mechanism in isolation: on, its readout moves the
documented way; off, it does not."""

import numpy as np
import pytest

from tropism.model import (Angiogenesis, CellType, Clocks, Cycle, Domain, InitialCells, Intervention, Model,
                           PhaseLink, Rule, Substrate, VesselBed)
from tropism.tissue.angiogenesis import riccati_solution, signal_response
from tropism.tissue.solver import TissueSolver

ANGIO = Angiogenesis(signal="vegf", half_max=6.75, hill_power=1.0, growth_rate=9.6e-5, max_density=0.04,
                     regression_rate=7.9e-5, stable_density=0.011, necrotic_regression_rate=7.9e-5)


def _model(vegf=0.0, cells=0, angio=ANGIO, interventions=(), rules=(), max_time=60.0, density=0.011):
    sub = [Substrate(name="vegf", diffusion_coefficient=0.0, decay_rate=0.0, initial_condition=vegf)]
    ct = CellType(name="tumour", id=0, cycle=Cycle(code=5, name="live", links=[PhaseLink(start=0, end=0, rate=0.0)]))
    ct.apoptosis.rate = 0.0  # cells that neither divide nor die: the clocks run, nothing else moves
    rng = np.random.default_rng(0)
    pos = np.c_[rng.uniform(-90, 90, (cells, 2)), np.zeros(cells)]
    return Model(domain=Domain(x_min=-100, x_max=100, y_min=-100, y_max=100, z_min=-10, z_max=10, dx=20, dy=20, dz=20),
                 clocks=Clocks(dt_diffusion=0.1, dt_mechanics=0.5, dt_phenotype=6.0, max_time=max_time),
                 substrates=sub, cell_types=[ct],
                 initial_cells=InitialCells(positions=pos, types=np.zeros(cells, dtype=np.int64)),
                 vessels=VesselBed(surface_density=density, angiogenesis=angio), interventions=list(interventions),
                 rules=list(rules))


@pytest.mark.parametrize("vegf", [2.0, 6.75, 60.0])
def test_vessel_density_under_constant_vegf_follows_the_analytic_solution(vegf):
    # no diffusion, decay or cells: the VEGF level stays put, so H is constant in every voxel
    s = TissueSolver(_model(vegf=vegf, cells=1, max_time=0.0))
    s.agents.position[0] = (95.0, 95.0, 0.0)  # one quiescent cell so the phenotype clock runs
    S0 = float(s.vessel_density[0])
    days = 21
    while s.time < days * 1440.0 - 1e-9:
        s.step()
    H = float(signal_response(np.array([vegf]), ANGIO.half_max, ANGIO.hill_power)[0])
    exact = riccati_solution(S0, H, ANGIO, s.time)
    assert s.vessel_density[0] == pytest.approx(exact, rel=2e-3)
    # it moved: up towards S_max with VEGF above its half-max, and the direction is documented
    assert exact > S0 * 1.2 if vegf >= 6.75 else exact != S0


def test_without_vegf_new_vessels_regress_to_the_mature_bed_and_the_bed_stays():
    s = TissueSolver(_model(vegf=0.0, cells=1, density=0.03))
    s.agents.position[0] = (95.0, 95.0, 0.0)
    while s.time < 7 * 1440.0:
        s.step()
    # Mancuso 2006: 50-60 % of tumour vessels lost in 7 d; here the excess over the mature bed
    excess = (s.vessel_density[0] - 0.011) / (0.03 - 0.011)
    assert excess == pytest.approx(np.exp(-7.9e-5 * s.time), rel=2e-3)
    flat = TissueSolver(_model(vegf=0.0, cells=1, density=0.011))
    flat.agents.position[0] = (95.0, 95.0, 0.0)
    for _ in range(200):
        flat.step()
    assert np.all(flat.vessel_density == 0.011)


def test_a_vegf_blockade_stops_growth_only_inside_its_window():
    block = Intervention(kind="block_signal", target="vegf", efficacy=1.0, start_min=0.0, end_min=3 * 1440.0)
    s = TissueSolver(_model(vegf=60.0, cells=1, interventions=[block]))
    s.agents.position[0] = (95.0, 95.0, 0.0)
    free = TissueSolver(_model(vegf=60.0, cells=1))
    free.agents.position[0] = (95.0, 95.0, 0.0)
    while s.time < 3 * 1440.0 - 1e-9:
        s.step()
        free.step()
    assert s.vessel_density[0] == pytest.approx(0.011)  # blocked: nothing above the mature bed grew
    assert free.vessel_density[0] > 0.0125
    d = s.vessel_density[0]
    for _ in range(2 * 1440):
        s.step()
    assert s.vessel_density[0] > d * 1.05  # the window closed: growth resumed


def test_necrosis_collapses_the_bed():
    s = TissueSolver(_model(vegf=0.0, cells=40, density=0.011))
    from tropism.tissue import population
    from tropism.tissue.states import NECROTIC_SWELLING
    population.start_death(s.agents, s.tables, np.arange(s.agents.n), NECROTIC_SWELLING)
    held = np.unique(s.agents.voxel[: s.agents.n])
    s.grow_vessels(600.0)
    assert np.all(s.vessel_density[held] < 0.011) and np.all(np.delete(s.vessel_density, held) == 0.011)


def test_irradiation_kills_the_linear_quadratic_share_at_its_time():
    ivs = [Intervention(kind="irradiate", cell_types=["tumour"], dose_gy=2.0, alpha_per_gy=0.3, beta_per_gy2=0.03,
                        start_min=60.0)]
    s = TissueSolver(_model(cells=4000, angio=None, interventions=ivs, density=0.0))
    from tropism.tissue.agents import LIVE
    while s.time < 59.0:
        s.step()
    assert np.all(s.agents.death_state[: s.agents.n] == LIVE)  # nothing before the dose
    while s.time < 70.0:
        s.step()
    dead = np.mean(s.agents.death_state[: s.agents.n] != LIVE)
    p = 1.0 - np.exp(-(0.3 * 2.0 + 0.03 * 4.0))
    assert abs(dead - p) <= 3.0 * np.sqrt(p * (1 - p) / 4000)


def test_a_windowed_scaling_acts_only_inside_its_window():
    sc = Intervention(kind="scale_behaviour", target="cycle entry", cell_types=["tumour"], factor=4.0,
                      start_min=30.0, end_min=90.0)
    m = _model(cells=10, angio=None, interventions=[sc], density=0.0)
    m.cell_types[0].cycle.links[0].rate = 0.001
    s = TissueSolver(m)
    seen = []
    while s.time < 120.0:
        s.step()
        seen.append((s.time, float(s.agents.cycle_rate[0, 0])))
    before = [r for t, r in seen if t < 30.0]
    inside = [r for t, r in seen if 45.0 <= t < 90.0]
    after = [r for t, r in seen if t > 100.0]
    assert before[-1] == pytest.approx(0.001) and inside[-1] == pytest.approx(0.004)
    assert after[-1] == pytest.approx(0.001)


def test_the_vessel_bed_is_carried_by_the_tissue_conserved_and_thinned_where_it_swells():
    from tropism.tissue.angiogenesis import advect_density, tissue_velocity
    nz, ny, nx, h, a = 1, 1, 60, 20.0, 1e-3
    x = (np.arange(nx) + 0.5) * h
    w = np.zeros((nz, ny, nx, 3))
    w[..., 0] = a * (x - x.mean())          # tissue swelling at a uniform rate: div w = a
    S = np.full(nx, 0.01)
    dt, t = 6.0, 600.0
    for _ in range(int(t / dt)):
        S = advect_density(S, w, (nz, ny, nx), (h, h, h), dt)
    # conservation: no surface crosses the domain's edge
    assert S.sum() == pytest.approx(0.01 * nx, rel=1e-12)
    # the swelling interior thins as exp(-a t) (explicit steps: (1 - a dt)^(t/dt), 0.2 % below)
    assert np.allclose(S[20:40], 0.01 * np.exp(-a * t), rtol=5e-3)
    # a front carried at constant speed moves by speed x time (upwind: it also spreads)
    S = np.where(x < 300.0, 0.02, 0.01)
    w[..., 0] = 0.5
    for _ in range(20):
        S = advect_density(S, w, (nz, ny, nx), (h, h, h), 6.0)
    centre = x[np.argmin(np.abs(S - 0.015))]
    assert centre == pytest.approx(300.0 + 0.5 * 120.0, abs=h)
    # a voxel's tissue velocity: its cells' volume-weighted mean, times the share they fill
    v = tissue_velocity(2, np.array([0, 0, 1]), np.array([1000.0, 3000.0, 8000.0]),
                        np.array([[1.0, 0, 0], [0.0, 0, 0], [0, 2.0, 0]]), 8000.0)
    assert np.allclose(v, [[0.25 * 0.5, 0, 0], [0, 2.0, 0]])


def test_still_cells_leave_the_bed_where_it_is_and_pushing_cells_carry_it():
    # cells 40 µm apart never touch: nothing pushes, the bed stays to the bit
    apart = _model(vegf=0.0, max_time=60.0, density=0.011)
    grid = np.array([(x, y, 0.0) for x in (-60.0, -20.0, 20.0, 60.0) for y in (-60.0, -20.0, 20.0, 60.0)])
    apart = apart.model_copy(update={"initial_cells": InitialCells(positions=grid, types=np.zeros(16, dtype=np.int64))})
    s = TissueSolver(apart)
    before = s.vessel_density.copy()
    for _ in range(120):
        s.step()
    assert np.array_equal(s.vessel_density, before)
    # 40 cells dropped on top of one another push apart: the bed moves with them, none is lost
    # (no regression, which would trim what piles up above the mature bed)
    still = ANGIO.model_copy(update={"regression_rate": 0.0, "necrotic_regression_rate": 0.0})
    s = TissueSolver(_model(vegf=0.0, cells=40, max_time=60.0, density=0.011, angio=still))
    for _ in range(120):
        s.step()
    assert not np.allclose(s.vessel_density, before)
    assert s.vessel_density.sum() == pytest.approx(before.sum(), rel=1e-12)
