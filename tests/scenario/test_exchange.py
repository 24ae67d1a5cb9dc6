"""Vessels, departures and the body–tissue coupler (issue 8, items 8 and 9).

Vessels and departures against analytic expectations in the tissue solver; the coupler
against conservation: every cell the body sends is one the tissue received, and the body's
total changes by exactly what crossed the ports.
"""

from __future__ import annotations


import numpy as np
import pytest

from tropism import TissueSolver
from tropism.body import load_scenario
from tropism.errors import TropismInputError
from tropism.model import (Arrival, CellType, Clocks, Cycle, Departure, Domain, InitialCells, Model, Motility,
                           PhaseLink, Rule, SaveOptions, Substrate, VesselBed)
from tropism.model.coupling import BodyLink, MoleculeLink
from tropism.model.phenotype import default_apoptosis, default_necrosis
from tropism.simulation import Simulation

from conftest import REPO

GLIOMA = REPO / "examples" / "body" / "msc_carotid_glioma_rat.toml"


def _still(name: str, tid: int) -> CellType:
    return CellType(name=name, id=tid, cycle=Cycle(code=5, links=[PhaseLink(start=0, end=0, rate=0.0)]),
                    apoptosis=default_apoptosis().model_copy(update={"rate": 0.0}),
                    necrosis=default_necrosis().model_copy(update={"rate": 0.0}),
                    motility=Motility(enabled=False, speed=0.0))


def _model(*, cells: int = 0, vessels: VesselBed | None = None, departures=(), arrivals=(), rules=(),
           max_time: float = 60.0, decay: float = 0.0, types=("msc",), drug0: float = 0.0) -> Model:
    rng = np.random.default_rng(0)
    pos = np.column_stack([rng.uniform(-190, 190, cells), rng.uniform(-90, 90, cells), np.zeros(cells)])
    subs = [Substrate(name="drug", diffusion_coefficient=1000.0, decay_rate=decay, initial_condition=drug0),
            Substrate(name="sdf1", diffusion_coefficient=0.0, decay_rate=0.0, initial_condition=2.0)]
    return Model(domain=Domain(x_min=-200, x_max=200, y_min=-100, y_max=100),
                 clocks=Clocks(max_time=max_time), save=SaveOptions(full_data_enabled=False), substrates=subs,
                 cell_types=[_still(t, k) for k, t in enumerate(types)],
                 initial_cells=InitialCells(positions=pos, types=np.zeros(cells, dtype=np.int64)),
                 vessels=vessels, departures=list(departures), arrivals=list(arrivals), rules=list(rules))


# -- vessels -----------------------------------------------------------------------------------

def test_uniform_vessels_reach_the_analytic_steady_level():
    # no cells, no boundary values: du/dt = -λu + k(cp - u) everywhere, k = P·S
    bed = VesselBed(surface_density=0.02, permeability={"drug": 5.0}, plasma={"drug": 3.0})
    s = TissueSolver(_model(vessels=bed, decay=0.05), seed=1)
    k, lam, cp = 0.02 * 5.0, 0.05, 3.0
    for _ in range(600):  # 60 min, 6 decay times of k + λ
        s.step()
    expected = k * cp / (k + lam)
    u = s.fields[0]
    assert np.allclose(u, u.mean(), rtol=1e-12)
    # the implicit update's steady state is exact; the time left is exp(-(k+λ)·60) ≈ 1e-4
    assert abs(u.mean() - expected) <= 2e-4 * expected
    # what the vessels take into blood is V·k·(u − cp) (negative: blood feeds the tissue)
    volume = s.mesh.n_voxels * s.mesh.voxel_volume
    assert np.isclose(s.vessel_release()[0], volume * k * (u.mean() - cp), rtol=1e-12)
    assert s.fields[1].min() == 2.0  # a substrate with no permeability is untouched


def test_vessel_bed_can_be_drawn_and_plasma_changed():
    bed = VesselBed(surface_density=0.0, permeability={"drug": 5.0}, plasma={"drug": 1.0})
    s = TissueSolver(_model(vessels=bed), seed=1)
    x = s.mesh.centers()[:, 0]
    s.set_vessel_density(np.where(x < 0.0, 0.05, 0.0))
    for _ in range(100):
        s.step()
    left, right = s.flat_fields[0][x < -150].mean(), s.flat_fields[0][x > 150].mean()
    assert left > 5 * right > 0.0  # fed where the vessels are, diffused to the rest
    s.set_plasma(0, 0.0)
    before = s.flat_fields[0].sum()
    for _ in range(10):
        s.step()
    assert s.flat_fields[0].sum() < before  # plasma cleared: the vessels now drain the tissue
    with pytest.raises(ValueError, match="vessel density"):
        s.set_vessel_density(np.full(3, 1.0))


def test_unknown_vessel_substrate_is_refused():
    with pytest.raises(Exception, match="unknown substrate"):
        _model(vessels=VesselBed(surface_density=0.01, permeability={"oxygen": 1.0}))


# -- departures --------------------------------------------------------------------------------

@pytest.mark.parametrize("rate", [0.002, 0.02])
def test_departures_follow_exponential_loss(rate):
    n0 = 2000
    bed = VesselBed(surface_density=0.01)
    s = TissueSolver(_model(cells=n0, vessels=bed, departures=[Departure(cell_type="msc", rate_per_min=rate)]), seed=3)
    steps = 600
    for _ in range(steps):
        s.step()
    t = steps * s.dt_mechanics
    p = np.exp(-rate * t)
    assert abs(s.agents.n - n0 * p) <= 3.0 * np.sqrt(n0 * p * (1 - p)) + 1.0
    assert int(s.departed[0]) == n0 - s.agents.n  # every cell that left was counted for the body


def test_a_rule_drives_intravasation_and_no_vessels_means_no_departure():
    # sdf1 = 2 everywhere: the rule sets rate = 0 + (0.05 - 0)·(2/1)^1/(1 + 2) = 1/30 per min
    rule = Rule(cell_type="msc", signal="sdf1", direction="increases", behavior="intravasation", saturation=0.05,
                half_max=1.0, hill_power=1.0)
    n0 = 2000
    dep = [Departure(cell_type="msc", rate_per_min=0.0)]
    s = TissueSolver(_model(cells=n0, vessels=VesselBed(surface_density=0.01), departures=dep, rules=[rule]), seed=4)
    for _ in range(300):
        s.step()
    p = np.exp(-(0.05 * 2.0 / 3.0) * 30.0)
    assert abs(s.agents.n - n0 * p) <= 3.0 * np.sqrt(n0 * p * (1 - p)) + 1.0
    none = TissueSolver(_model(cells=200, vessels=None, departures=dep, rules=[rule]), seed=4)
    for _ in range(300):
        none.step()
    assert none.agents.n == 200 and none.departed.sum() == 0


# -- the coupler -------------------------------------------------------------------------------

def coupled_parts(max_time: float = 240.0, **link):
    """A tissue with MSCs arriving at and leaving through vessels, coupled to the rat glioma
    scenario: (model, body scenario, link)."""
    bed = VesselBed(surface_density=0.01, permeability={"drug": 2.0})
    # drug in the tissue, none in plasma: the vessels release it
    model = _model(cells=300, vessels=bed, max_time=max_time, types=("msc", "tumour"), drug0=1.0,
                   arrivals=[Arrival(cell_type="msc", weight="vessel density")],
                   departures=[Departure(cell_type="msc", rate_per_min=0.01)])
    model.initial_cells.types[150:] = 1
    args = dict(product_type="msc", share=1.0, tumour_types=["tumour"], chemokine="sdf1",
                release=[MoleculeLink(substrate="drug", state=("venous_blood", "viable"), scale=0.5)])
    args.update(link)
    return model, load_scenario(GLIOMA), BodyLink(**args)


def _coupled(max_time: float = 240.0, **link):
    model, scenario, lk = coupled_parts(max_time, **link)
    return Simulation(model, seed=7, body=scenario, link=lk)


def test_every_cell_the_body_sends_the_tissue_receives():
    sim = _coupled()
    body0 = sim.body
    total0 = sum(body0.amounts().values())
    sim.run()
    s, cp = sim.solver, sim.coupler
    arrived = sum(x.arrived for _, x in sim.exchanges)
    departed = sum(x.departed for _, x in sim.exchanges)
    assert arrived > 20 and departed > 0
    assert arrived == int(s.arrived[0]) == cp.sent
    assert departed == int(s.departed[0]) == cp.received
    # the body's total changes by exactly what crossed the ports (no dose is due in 240 min)
    released = sum(0.5 * x.released_per_min["drug"] * (x.time - x.t0) for _, x in sim.exchanges)
    assert released > 0.0
    total = sum(sim.body.amounts().values())
    assert abs(total - (total0 - arrived + departed + released)) <= 1e-9 * total0
    # the tissue's arrivals follow the body's inflow × share (Poisson, within 3σ)
    expected = sum(b2t.arrival_rate_per_min * (t2b.time - t2b.t0) for b2t, t2b in sim.exchanges)
    assert abs(arrived - expected) <= 3.0 * np.sqrt(expected) + 1.0
    assert sim.body.t == pytest.approx(s.time)
    # tumour volume and chemokine measured in the tissue reach the body: SDF-1 at 2 with the
    # link's Kd of 1 occupies 2/3 of the receptors
    last = sim.exchanges[-1][1]
    assert last.chemokine == pytest.approx(2.0 / 3.0) and last.tumour_volume_mm3 == pytest.approx(50.0)


def test_a_receptor_blockade_on_the_product_lowers_the_occupancy_the_body_reads():
    from tropism.model import Intervention
    model, scenario, lk = coupled_parts(30.0, chemokine_half_max=4.0, inflammation="sdf1", inflammation_half_max=2.0)
    block = Intervention(kind="block_signal", target="sdf1", cell_types=["msc"], efficacy=0.75, source="test")
    other = Intervention(kind="block_signal", target="sdf1", cell_types=["tumour"], efficacy=1.0, source="test")
    levels = []
    for ivs in ([], [block], [other]):
        sim = Simulation(model.model_copy(update={"interventions": ivs}), seed=7, body=scenario, link=lk)
        sim.run()
        levels.append((sim.exchanges[-1][1].chemokine, sim.exchanges[-1][1].inflammation))
    assert levels[0] == pytest.approx((2.0 / 6.0, 0.5))
    assert levels[1] == pytest.approx((0.25 * 2.0 / 6.0, 0.5))   # the MSCs' CXCR4 blocked by 75 %
    assert levels[2] == pytest.approx(levels[0])                  # a blockade on another type: none


def test_the_body_reads_the_perfusion_of_the_tumours_live_share():
    # Half the tumour cells' volume necrotic: the body's tumour takes half the viable tissue's
    # perfusion, and so half its blood flow; without the port it keeps its own.
    from tropism.body.model import anatomy
    model, scenario, lk = coupled_parts(12.0, perfusion_viable_ml_min_per_ml=0.3)
    sim = Simulation(model, seed=7, body=scenario, link=lk)
    a = sim.solver.agents
    tumour = np.flatnonzero(a.type[: a.n] == 1)
    dead = tumour[: len(tumour) // 2]
    a.death_state[dead] = 2                       # necrotic (swelling)
    a.volume[tumour] = 2494.0
    sim.run()
    live_share = (len(tumour) - len(dead)) / len(tumour)
    last = sim.exchanges[-1][1]
    assert last.perfusion_ml_min_per_ml == pytest.approx(0.3 * live_share)
    built = sim.body.scenario.tumour
    assert built.perfusion_ml_min_per_ml == pytest.approx(0.3 * live_share, rel=0.011)  # within inputs_rtol
    flow = anatomy(sim.body.scenario).flow["tumour"]
    assert flow == pytest.approx(built.perfusion_ml_min_per_ml * built.volume_mm3 / 1000.0)
    plain = Simulation(model, seed=7, body=scenario, link=coupled_parts(12.0)[2])
    plain.run()
    assert plain.exchanges[-1][1].perfusion_ml_min_per_ml is None
    assert plain.body.scenario.tumour.perfusion_ml_min_per_ml == scenario.tumour.perfusion_ml_min_per_ml


@pytest.mark.parametrize("exchange_min", [None, 9.0])  # 9 min: the 120-min save falls inside an interval
def test_coupled_state_round_trips_through_a_checkpoint(exchange_min):
    class Keep:
        state = None

        def checkpoint(self, snap, state):
            if snap.loop_step == 1200:
                self.state = {k: np.array(v, copy=True) for k, v in state.items()}

    def coupled():
        sim = _coupled(exchange_min=exchange_min)
        sim.model.save.full_data_enabled = True
        sim.model.save.full_data_interval = 120.0
        return sim

    whole, keep = coupled(), Keep()
    whole.run([keep])
    resumed = coupled()
    resumed.load_state(keep.state)
    resumed.run(loop_step=1200, saves=2, resumed=True)
    a, b = whole.solver.agents, resumed.solver.agents
    assert a.n == b.n and np.array_equal(a.position[: a.n], b.position[: b.n])
    for x, y in zip(whole.body.x, resumed.body.x):
        assert np.array_equal(x, y)
    k = len(resumed.exchanges)
    assert k >= 10 and whole.exchanges[-k:] == resumed.exchanges  # both ports, every exchange after the save


def test_no_body_runs_exactly_as_the_solver():
    model = _model(cells=50, vessels=VesselBed(surface_density=0.01), max_time=30.0)
    sim = Simulation(model, seed=2)
    sim.run()
    solo = TissueSolver(model, seed=2)
    for _ in range(300):
        solo.step()
    assert np.array_equal(sim.solver.agents.position[:50], solo.agents.position[:50])
    assert sim.body is None and sim.exchanges == []


@pytest.mark.parametrize("link, message", [
    (dict(product_type="tumour"), "needs an arrival"),
    (dict(tumour_types=["ghost"]), "unknown tumour cell type"),
    (dict(chemokine="oxygen"), "unknown chemokine substrate"),
    (dict(arrival_state=("tumour", "nowhere")), "no such body state"),
])
def test_bad_links_are_refused(link, message):
    with pytest.raises(TropismInputError, match=message):
        _coupled(**link)


def test_writing_physicell_files_says_what_they_cannot_hold(tmp_path):
    from tropism import write_model
    from tropism.errors import UnsupportedElementWarning
    model, _, _ = coupled_parts()
    with pytest.warns(UnsupportedElementWarning, match="1 arrival.*1 departure.*the vessel bed"):
        write_model(model, tmp_path)
