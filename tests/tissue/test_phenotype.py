"""Phenotype clock of the tissue solver: cycle, apoptosis, volume and rules.

Populations are compared with their analytic laws as medians over seeds. The solver, like
PhysiCell, draws each stochastic event with probability rate·dt per phenotype step (dt = 6
min), so a population with per-cell rate r grows as (1 + r·dt)^(t/dt), i.e. at the discrete
rate ln(1 + r·dt)/dt, and one dying at rate a decays at −ln(1 − a·dt)/dt. The tests use
those discrete rates (and check them against the continuous ones, 0.5 % apart here).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tropism.model import (CellType, Clocks, Cycle, Domain, InitialCells, Mechanics, Model, Motility, PhaseLink,
                           Rule, Substrate)
from tropism.model.phenotype import default_apoptosis, default_necrosis
from tropism.tissue.agents import APOPTOTIC, LIVE
from tropism.tissue.rules import apply_rules, compile_rules
from tropism.tissue.solver import TissueSolver

from conftest import REPO

DT = 6.0
SEEDS = (1, 2, 3, 4, 5)


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def cell_type(name="a", *, cycle_rate=0.0, apoptosis=0.0, necrosis=0.0, type_id=0, interacting=False) -> CellType:
    mech = (Mechanics() if interacting else
            Mechanics(cell_cell_adhesion_strength=0.0, cell_cell_repulsion_strength=0.0))
    return CellType(name=name, id=type_id,
                    cycle=Cycle(code=5, name="live", links=[PhaseLink(start=0, end=0, rate=cycle_rate)]),
                    apoptosis=default_apoptosis().model_copy(update={"rate": apoptosis}),
                    necrosis=default_necrosis().model_copy(update={"rate": necrosis}),
                    mechanics=mech, motility=Motility(enabled=False))


def population_model(ct: CellType, n: int, *, half=1000.0, seed=0, clocks=None, substrates=(), rules=(),
                     positions=None) -> Model:
    """Non-interacting cells (no adhesion, no repulsion) spread over a big 2D domain.

    With nothing to compute between cells, all three clocks can be the phenotype step."""
    if positions is None:
        rng = np.random.default_rng(1000 + seed)
        positions = np.c_[rng.uniform(-0.8 * half, 0.8 * half, (n, 2)), np.zeros(n)]
    m = Model(domain=Domain(x_min=-half, x_max=half, y_min=-half, y_max=half),
              clocks=clocks or Clocks(max_time=1440.0, dt_diffusion=DT, dt_mechanics=DT, dt_phenotype=DT),
              substrates=list(substrates), cell_types=[ct], rules=list(rules),
              initial_cells=InitialCells(positions=np.asarray(positions, float),
                                         types=np.zeros(len(positions), dtype=np.int64)))
    m.options = m.options.model_copy(update={"random_seed": seed})
    return m


def fitted_rate(times, counts) -> float:
    """Least-squares slope of log N against t, each point weighted by its counting error
    (var log N ≈ 1/N, so the few-cell tail of a decay does not dominate)."""
    counts = np.asarray(counts, float)
    return float(np.polyfit(np.asarray(times), np.log(counts), 1, w=np.sqrt(counts))[0])


# --------------------------------------------------------------------------- growth
R_CYCLE = 1.0 / 600.0


def growth_rate(seed: int, n0: int = 1000, t_end: float = 1440.0) -> float:
    s = TissueSolver(population_model(cell_type(cycle_rate=R_CYCLE), n0, seed=seed))
    times, counts = [0.0], [n0]
    while s.time < t_end - 1e-9:
        s.step()
        times.append(s.time)
        counts.append(int(s.live_counts()[0]))
    assert s.agents.n == counts[-1]  # nobody died
    return fitted_rate(times, counts)


def test_free_growth_is_exponential_at_the_cycle_rate():
    rates = [growth_rate(seed) for seed in SEEDS]
    discrete = math.log1p(R_CYCLE * DT) / DT  # probability rate·dt per 6-min step (PhysiCell)
    median = float(np.median(rates))
    assert median / discrete == pytest.approx(1.0, abs=0.05), (rates, discrete)
    assert median / R_CYCLE == pytest.approx(1.0, abs=0.05), (rates, R_CYCLE)
    # seeds really differ
    assert len(set(rates)) == len(rates)


def test_division_probability_is_rate_times_dt():
    """A fast cycle (p = r·dt = 0.1 per step) tells rate·dt (0.1) from 1 − exp(−r·dt) (0.095)."""
    r = 1.0 / 60.0
    trials = divisions = 0
    fractions = []
    for seed in range(1, 11):  # ≈ 2e5 trials in all: standard error 0.7 %, the two laws 5 % apart
        s = TissueSolver(population_model(cell_type(cycle_rate=r), 1000, seed=seed, half=2000.0))
        t0, d0 = trials, divisions
        for _ in range(12):
            before = s.agents.n
            s.step()
            trials += before
            divisions += s.agents.n - before
        fractions.append((divisions - d0) / (trials - t0))
    f = divisions / trials
    assert f == pytest.approx(r * DT, rel=0.025), fractions
    assert abs(f - r * DT) < abs(f - (1.0 - math.exp(-r * DT))), fractions


# --------------------------------------------------------------------------- apoptosis
A_APOPTOSIS = 1.0 / 600.0
APOPTOSIS_DURATION = 516.0


def apoptosis_run(seed: int, n0: int = 3000, t_end: float = 1440.0):
    s = TissueSolver(population_model(cell_type(apoptosis=A_APOPTOSIS), n0, seed=seed))
    a = s.agents
    times, live = [0.0], [n0]
    died_at: dict[int, float] = {}  # id → time of the phenotype step that killed it
    gone_at: dict[int, float] = {}
    oldest = 0.0
    present = set(range(n0))
    while s.time < t_end - 1e-9:
        t_step = s.time  # the phenotype step runs at the start of the interval
        s.step()
        n = a.n
        ids = a.id[:n]
        st = a.death_state[:n]
        for i in ids[(st == APOPTOTIC)]:
            died_at.setdefault(int(i), t_step)
        now = set(ids.tolist())
        for i in present - now:
            gone_at[int(i)] = t_step
        present = now
        if np.any(st == APOPTOTIC):
            oldest = max(oldest, float(a.death_elapsed[:n][st == APOPTOTIC].max()))
        times.append(s.time)
        live.append(int(np.count_nonzero(st == LIVE)))
    return s, fitted_rate(times, live), died_at, gone_at, oldest


def test_apoptosis_decay_and_removal_after_516_min():
    rates, delays, oldest_all = [], [], []
    for seed in SEEDS:
        s, rate, died_at, gone_at, oldest = apoptosis_run(seed)
        rates.append(-rate)
        oldest_all.append(oldest)
        assert set(gone_at) <= set(died_at)  # only dead cells are removed
        delays += [gone_at[i] - died_at[i] for i in gone_at]
        # every cell that died more than 516 min before the end is gone, the others are there
        t_end = s.time
        still = set(s.agents.id[:s.agents.n].tolist())
        for i, t in died_at.items():
            if t_end - t > APOPTOSIS_DURATION + DT:
                assert i not in still
            elif t_end - t < APOPTOSIS_DURATION - DT:
                assert i in still
        assert np.all(s.live_counts() + np.count_nonzero(s.agents.death_state[:s.agents.n] == APOPTOTIC)
                      == s.agents.n)
    discrete = -math.log1p(-A_APOPTOSIS * DT) / DT
    median = float(np.median(rates))
    assert median / discrete == pytest.approx(1.0, abs=0.05), (rates, discrete)
    assert median / A_APOPTOSIS == pytest.approx(1.0, abs=0.05)
    # removal 516 min after death (to within one phenotype step), never later
    delays = np.array(delays)
    assert delays.size > 1000
    assert np.all(delays >= APOPTOSIS_DURATION - DT - 1e-9), delays.min()
    assert np.all(delays <= APOPTOSIS_DURATION + 1e-9), delays.max()
    assert max(oldest_all) <= APOPTOSIS_DURATION
    assert max(oldest_all) >= APOPTOSIS_DURATION - DT - 1e-9


# --------------------------------------------------------------------------- volume
def test_daughters_regrow_to_the_target_volume():
    ct = cell_type(cycle_rate=1.0 / DT)  # probability 1: divides at the first phenotype step
    target = ct.volume.total
    s = TissueSolver(population_model(ct, 1, positions=[[0.0, 0.0, 0.0]]))
    a = s.agents
    assert a.volume[0] == pytest.approx(target)
    s.step()
    assert a.n == 2
    a.cycle_rate[:2] = 0.0  # no further divisions: watch the two daughters regrow
    v0 = a.volume[:2].copy()
    np.testing.assert_allclose(v0, 0.5 * target, rtol=1e-12)  # mass is split, not created
    np.testing.assert_allclose(a.radius[:2], np.cbrt(3.0 * v0 / (4.0 * np.pi)), rtol=1e-12)
    history = [v0]
    while s.time < 2400.0:
        s.step()
        history.append(a.volume[:2].copy())
    history = np.array(history)
    assert np.all(np.diff(history, axis=0) >= -1e-9)  # monotone regrowth
    # half-way after a few hours, complete after 40 h
    t = DT * np.arange(len(history))
    mid = history[np.searchsorted(t, 240.0)]
    assert np.all((mid > 0.6 * target) & (mid < 0.99 * target)), mid
    np.testing.assert_allclose(history[-1], target, rtol=0.01)
    # compartments back at their targets: nuclear volume and fluid fraction
    nuclear = a.nuclear_solid[:2] + a.nuclear_fluid[:2]
    np.testing.assert_allclose(nuclear, ct.volume.nuclear, rtol=0.01)
    fluid = (a.nuclear_fluid[:2] + a.cyto_fluid[:2]) / a.volume[:2]
    np.testing.assert_allclose(fluid, ct.volume.fluid_fraction, rtol=0.01)
    np.testing.assert_allclose(a.radius[:2], np.cbrt(3.0 * a.volume[:2] / (4.0 * np.pi)), rtol=1e-12)


def test_population_volume_is_cells_times_type_volume():
    """After growth stops and the last daughters have regrown, every cell has the type's volume."""
    ct = cell_type(cycle_rate=R_CYCLE * 3)
    s = TissueSolver(population_model(ct, 100, seed=7))
    for _ in range(100):  # 600 min of growth
        s.step()
    a = s.agents
    assert a.n > 150
    a.cycle_rate[:a.n] = 0.0
    for _ in range(400):  # 2400 min to regrow
        s.step()
    total = float(a.volume[:a.n].sum())
    assert total == pytest.approx(a.n * ct.volume.total, rel=0.01)


# --------------------------------------------------------------------------- rules
def hill(s, half, power):
    u = (np.maximum(s, 0.0) / half) ** power
    return u / (1.0 + u)


def rules_model():
    """growth_2d's three oxygen rules, plus a drug that raises necrosis (both directions on one
    behaviour). Oxygen and drug fields do not evolve (D = 0, decay 0, no uptake)."""
    ct = cell_type("tumor", cycle_rate=0.0, apoptosis=1e-3, necrosis=3e-3)
    subs = [Substrate(name="oxygen", units="mmHg", diffusion_coefficient=0.0, decay_rate=0.0),
            Substrate(name="drug", diffusion_coefficient=0.0, decay_rate=0.0)]
    rules = [
        Rule(cell_type="tumor", signal="oxygen", direction="increases", behavior="cycle entry",
             saturation=1e-3, half_max=12.0, hill_power=4.0),
        Rule(cell_type="tumor", signal="oxygen", direction="decreases", behavior="apoptosis",
             saturation=1e-5, half_max=6.0, hill_power=4.0),
        Rule(cell_type="tumor", signal="oxygen", direction="decreases", behavior="necrosis",
             saturation=0.0, half_max=8.0, hill_power=8.0),
        Rule(cell_type="tumor", signal="drug", direction="increases", behavior="necrosis",
             saturation=1e-2, half_max=1.0, hill_power=2.0),
    ]
    # one cell at the centre of each voxel of a 10 × 10 grid
    c = -90.0 + 20.0 * np.arange(10)
    x, y = np.meshgrid(c, c)
    pos = np.c_[x.ravel(), y.ravel(), np.zeros(x.size)]
    clocks = Clocks(max_time=60.0, dt_diffusion=0.1, dt_mechanics=0.1, dt_phenotype=DT)
    return population_model(ct, len(pos), half=100.0, positions=pos, substrates=subs, rules=rules, clocks=clocks)


def set_fields(s):
    centers = s.mesh.centers()
    shape = s.fields.shape[1:]
    oxygen = 0.2 * (centers[:, 0] + 100.0) + 0.05 * (centers[:, 1] + 100.0)  # 2 … 47.5 mmHg
    drug = 0.015 * (centers[:, 1] + 100.0)  # 0.15 … 2.85
    s.fields[0] = oxygen.reshape(shape)
    s.fields[1] = drug.reshape(shape)


def expected_behaviour(o2, drug):
    b_cycle, b_apo, b_nec = 0.0, 1e-3, 3e-3
    cycle = b_cycle + (1e-3 - b_cycle) * hill(o2, 12.0, 4.0)  # up only: [base, max]
    apoptosis = b_apo + (1e-5 - b_apo) * hill(o2, 6.0, 4.0)  # down only: [min, base]
    # up and down on one behaviour: up first towards max(sat, base), then down towards min
    up = b_nec + (1e-2 - b_nec) * hill(drug, 1.0, 2.0)
    necrosis = up + (0.0 - up) * hill(o2, 8.0, 8.0)
    return cycle, apoptosis, necrosis


def test_rules_follow_the_hill_formula():
    s = TissueSolver(rules_model())
    set_fields(s)
    a = s.agents
    n = a.n
    s.apply_rules()
    o2 = s.flat_fields[0, a.voxel[:n]]
    drug = s.flat_fields[1, a.voxel[:n]]
    assert o2.min() < 6.0 and o2.max() > 40.0  # spans all half-maxes
    cycle, apoptosis, necrosis = expected_behaviour(o2, drug)
    np.testing.assert_allclose(a.cycle_rate[:n, 0], cycle, rtol=1e-12, atol=0)
    np.testing.assert_allclose(a.apoptosis_rate[:n, 0], apoptosis, rtol=1e-12, atol=0)
    np.testing.assert_allclose(a.necrosis_rate[:n, 0], necrosis, rtol=1e-12, atol=1e-18)
    # a dead cell is left alone by rules that do not apply to the dead
    a.death_state[0] = APOPTOTIC
    a.cycle_rate[0, 0] = 0.123
    s.apply_rules()
    assert a.cycle_rate[0, 0] == 0.123
    np.testing.assert_allclose(a.cycle_rate[1:n, 0], cycle[1:], rtol=1e-12)


def test_rules_are_applied_at_each_phenotype_step():
    """Through solver.step(): the values the rules set are those of the formula, and they drive
    the cycle (no division without oxygen, as cycle entry's base is 0)."""
    s = TissueSolver(rules_model())
    set_fields(s)
    fields0 = s.fields.copy()
    a = s.agents
    s.step()
    np.testing.assert_array_equal(s.fields, fields0)  # D = 0, no uptake: fields unchanged
    n = a.n
    ids = a.id[:n]
    orig = (ids < 100) & (a.death_state[:n] == LIVE) & (a.phase_elapsed[:n] > 0)  # did not divide or die
    assert orig.sum() > 80
    o2 = s.flat_fields[0, a.voxel[:n]][orig]
    drug = s.flat_fields[1, a.voxel[:n]][orig]
    cycle, apoptosis, necrosis = expected_behaviour(o2, drug)
    np.testing.assert_allclose(a.cycle_rate[:n, 0][orig], cycle, rtol=1e-12)
    np.testing.assert_allclose(a.apoptosis_rate[:n, 0][orig], apoptosis, rtol=1e-12)
    np.testing.assert_allclose(a.necrosis_rate[:n, 0][orig], necrosis, rtol=1e-12, atol=1e-18)


def test_apply_rules_directly():
    """apply_rules on synthetic signals: b + (max − b)·U/(1+U), U = (s/h)^n, per PhysiCell."""
    m = rules_model()
    groups, unsupported = compile_rules(m)
    assert unsupported == []
    assert len(groups) == 3  # cycle entry, apoptosis, necrosis (two rows share one group)
    from tropism.tissue.parameters import TypeTables
    tb = TypeTables(m)
    n = 7
    o2 = np.array([0.0, 3.0, 6.0, 8.0, 12.0, 24.0, 1e3])
    drug = np.array([0.0, 0.5, 1.0, 2.0, 0.0, 1.0, 1e3])
    params = {name: np.repeat(tb.base[name], n, axis=0) for name in tb.base}

    def signals(sig, rows):
        kind, arg = sig
        assert kind == "substrate"
        return (o2 if arg == 0 else drug)[rows]

    rows = [np.arange(n)]
    apply_rules(groups, tb.base, params, rows, [np.zeros(0, np.int64)], signals)
    cycle, apoptosis, necrosis = expected_behaviour(o2, drug)
    np.testing.assert_allclose(params["cycle_rate"][:, 0], cycle, rtol=1e-12)
    np.testing.assert_allclose(params["apoptosis_rate"][:, 0], apoptosis, rtol=1e-12)
    np.testing.assert_allclose(params["necrosis_rate"][:, 0], necrosis, rtol=1e-12, atol=1e-18)
    # exact points: s = h gives half-way, s = 0 the base, s → ∞ the saturation
    assert params["cycle_rate"][4, 0] == pytest.approx(0.5e-3, rel=1e-12)
    assert params["cycle_rate"][0, 0] == 0.0
    assert params["cycle_rate"][6, 0] == pytest.approx(1e-3, rel=1e-7)  # U = (1000/12)^4
    assert params["apoptosis_rate"][2, 0] == pytest.approx(0.5 * (1e-3 + 1e-5), rel=1e-12)
    assert params["apoptosis_rate"][0, 0] == pytest.approx(1e-3, rel=1e-12)
    assert params["necrosis_rate"][0, 0] == pytest.approx(3e-3, rel=1e-12)  # no drug, no oxygen: base
    # drug at its half-max: half-way up to 1e-2; oxygen 6 (below its half-max 8) pulls towards 0
    h = 0.75 ** 8 / (1.0 + 0.75 ** 8)
    assert params["necrosis_rate"][2, 0] == pytest.approx((3e-3 + 0.5 * (1e-2 - 3e-3)) * (1.0 - h), rel=1e-12)
    assert params["necrosis_rate"][3, 0] == pytest.approx(
        (3e-3 + (1e-2 - 3e-3) * 0.8) * 0.5, rel=1e-12)  # drug 2 → U = 4 → 0.8; oxygen 8 → half


def test_a_multiplying_rule_scales_what_the_other_rules_make():
    """A ``multiplies`` row (a growth factor) multiplies the value of the up/down rows by
    1 + (f − 1)·H: where oxygen allows no division it adds none; at the oxygen rule's
    saturation it lifts the rate above that rule's maximum, which an "increases" row cannot."""
    m = rules_model()
    fold = Rule(cell_type="tumor", signal="drug", direction="increases", behavior="cycle entry",
                saturation=1.5, half_max=1.0, hill_power=1.0, multiplies=True)
    m = m.model_copy(update={"rules": list(m.rules) + [fold]})
    from tropism.model.rules import resolve_rule
    m = m.model_copy(update={"rules": [resolve_rule(r, m.substrate_names, m.cell_type_names, [], [])
                                       for r in m.rules]})
    groups, _ = compile_rules(m)
    from tropism.tissue.parameters import TypeTables
    tb = TypeTables(m)
    o2 = np.array([0.0, 12.0, 1e3, 1e3, 12.0])
    drug = np.array([1e3, 1.0, 0.0, 1.0, 3.0])
    params = {name: np.repeat(tb.base[name], len(o2), axis=0) for name in tb.base}
    apply_rules(groups, tb.base, params, [np.arange(len(o2))], [np.zeros(0, np.int64)],
                lambda sig, rows: (o2 if sig[1] == 0 else drug)[rows])
    oxygen_only = 1e-3 * hill(o2, 12.0, 4.0)
    expected = oxygen_only * (1.0 + 0.5 * drug / (1.0 + drug))
    np.testing.assert_allclose(params["cycle_rate"][:, 0], expected, rtol=1e-12)
    assert params["cycle_rate"][0, 0] == 0.0  # no oxygen: the factor has nothing to multiply
    assert params["cycle_rate"][3, 0] == pytest.approx(1.25e-3, rel=1e-6)  # above the oxygen rule's max
    # necrosis and apoptosis are untouched by a cycle-entry fold
    ref = {name: np.repeat(tb.base[name], len(o2), axis=0) for name in tb.base}
    groups0, _ = compile_rules(rules_model())
    apply_rules(groups0, tb.base, ref, [np.arange(len(o2))], [np.zeros(0, np.int64)],
                lambda sig, rows: (o2 if sig[1] == 0 else drug)[rows])
    np.testing.assert_array_equal(params["necrosis_rate"], ref["necrosis_rate"])


def test_bench_growth_rules_if_available():
    """The shared growth_2d model's rules, read from its CSV, give the same Hill values."""
    from pathlib import Path

    from tropism.model.physicell import load_model
    path = REPO.parent / "shared" / "bench" / "growth_2d" / "PhysiCell_settings.xml"
    if not path.is_file():
        pytest.skip("shared bench models not available")
    m = load_model(path)
    s = TissueSolver(m)
    centers = s.mesh.centers()
    s.fields[0] = (40.0 * (centers[:, 0] - m.domain.x_min) / (m.domain.x_max - m.domain.x_min)).reshape(
        s.fields.shape[1:])
    s.apply_rules()
    a = s.agents
    n = a.n
    o2 = s.flat_fields[0, a.voxel[:n]]
    np.testing.assert_allclose(a.cycle_rate[:n, 0], 0.0 + 1e-3 * hill(o2, 12.0, 4.0), rtol=1e-12)
    np.testing.assert_allclose(a.apoptosis_rate[:n, 0], 1e-3 + (1e-5 - 1e-3) * hill(o2, 6.0, 4.0), rtol=1e-12)
    np.testing.assert_allclose(a.necrosis_rate[:n, 0], 3e-3 * (1.0 - hill(o2, 8.0, 8.0)), rtol=1e-12, atol=1e-18)
