"""MSC homing across the two scales, one mechanism at a time.

- in the tissue, arriving MSCs cross where tumour cells are and the wall is activated
  (TNF-α → VCAM-1: weight × (basal + (1 − basal)·u/(u + K)));
- a carotid injection's first pass crosses one hemisphere only;
- an inflamed site's TNF-α reaches the body as VCAM-1 induction and raises capture there.
"""

from __future__ import annotations

import numpy as np
import pytest

from tropism import TissueSolver
from tropism.body import simulate
from tropism.model import (CellType, Clocks, Cycle, Domain, InitialCells, Model, Motility, PhaseLink, SaveOptions,
                           Substrate)
from tropism.model.phenotype import Mechanics
from tropism.model.phenotype import default_apoptosis, default_necrosis
from tropism.model.reactions import Arrival


def _still(name: str, tid: int) -> CellType:
    """A cell that neither moves, divides, dies nor pushes: where it arrives is where it stays."""
    return CellType(name=name, id=tid, cycle=Cycle(code=5, links=[PhaseLink(start=0, end=0, rate=0.0)]),
                    apoptosis=default_apoptosis().model_copy(update={"rate": 0.0}),
                    necrosis=default_necrosis().model_copy(update={"rate": 0.0}),
                    motility=Motility(enabled=False, speed=0.0),
                    mechanics=Mechanics(cell_cell_adhesion_strength=0.0, cell_cell_repulsion_strength=0.0))


def _arrivals(adhesion: str, tnf_left: float, tnf_right: float, seed: int, basal: float = 0.1):
    """x positions of MSCs arriving for 10 min into a tumour occupying the central band
    |x| < 100 µm of a 400 µm domain, TNF-α held at ``tnf_left`` for x < 0 and ``tnf_right`` above."""
    rng = np.random.default_rng(0)
    n = 400
    pos = np.column_stack([rng.uniform(-95, 95, n), rng.uniform(-95, 95, n), np.zeros(n)])
    subs = [Substrate(name="tnfa", diffusion_coefficient=0.0, decay_rate=0.0)]
    m = Model(domain=Domain(x_min=-200, x_max=200, y_min=-100, y_max=100), clocks=Clocks(max_time=10.0),
              save=SaveOptions(full_data_enabled=False), substrates=subs,
              cell_types=[_still("tumour", 0), _still("msc", 1)],
              initial_cells=InitialCells(positions=pos, types=np.zeros(n, dtype=np.int64)),
              arrivals=[Arrival(cell_type="msc", weight="tumour", adhesion=adhesion, adhesion_half_max=1.0,
                                adhesion_basal=basal)])
    s = TissueSolver(m, seed=seed)
    x = s.mesh.centers()[:, 0].reshape(s.fields.shape[1:])
    s.fields[0] = np.where(x < 0, tnf_left, tnf_right)
    s.set_arrival_rate(0, 60.0)
    while s.time < 10.0 - 1e-9:
        s.step()
    a = s.agents
    return a.position[: a.n][a.type[: a.n] == 1, 0], float(np.mean(pos[:, 0] < 0))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_msc_arrivals_land_only_where_tumour_cells_are(seed):
    x, left = _arrivals("", 0.0, 0.0, seed)
    assert len(x) > 500
    assert np.all(np.abs(x) <= 100.0)            # the tumour's voxels (20 µm) and no further
    assert abs(np.mean(x < 0) - left) < 0.06     # no adhesion signal: as the tumour cells lie (3 sd)


def test_activated_endothelium_takes_arrivals_in_proportion_to_vcam1_induction():
    # TNF-α 3 (three half-maxima) on the left, none on the right, basal 0.1:
    # induction left 0.1 + 0.9·0.75 = 0.775, right 0.1, times the tumour cells on each side
    for seed in (1, 2, 3):
        x, left = _arrivals("tnfa", 3.0, 0.0, seed)
        expected = left * 0.775 / (left * 0.775 + (1 - left) * 0.1)
        assert abs(np.mean(x < 0) - expected) < 0.04       # 3 sd of 600 draws
        # switched off (no adhesion signal named): the same field has no effect
        x, left = _arrivals("", 3.0, 0.0, seed)
        assert abs(np.mean(x < 0) - left) < 0.06


def _glioma(side: str | None, hemisphere: str = "left", **tumour):
    route = {"kind": "ia", "artery": "brain"}
    if side:
        route["side"] = side
    return {"species": "rat", "dose": 1e6, "duration_h": 1, "output_interval_min": 1, "route": route,
            "product": {"kind": "msc"},
            "tumour": {"site": "brain", "volume_mm3": 20.0, "hemisphere": hemisphere, **tumour}}


def test_a_carotid_first_pass_crosses_one_hemisphere():
    from tropism.body.model import _first_pass_beds, anatomy
    from tropism.body.scenario import scenario_from_dict
    whole = _first_pass_beds(scenario_from_dict(_glioma(None)), anatomy(scenario_from_dict(_glioma(None))))
    same = _first_pass_beds(scenario_from_dict(_glioma("left")), anatomy(scenario_from_dict(_glioma("left"))))
    other = _first_pass_beds(scenario_from_dict(_glioma("right")), anatomy(scenario_from_dict(_glioma("right"))))
    an = anatomy(scenario_from_dict(_glioma("left")))
    qt, qb = an.flow["tumour"], an.flow["brain"]
    assert whole["tumour"] == pytest.approx(qt / (qt + qb))
    assert same["tumour"] == pytest.approx(qt / (qt + qb / 2))     # half the brain's flow, all of the tumour's
    assert "tumour" not in other and other["brain"] == 1.0          # the other carotid's territory


def test_same_side_injection_puts_more_cells_in_the_tumour_than_the_opposite_side():
    same = simulate(_glioma("left"))
    other = simulate(_glioma("right"))
    t = 60.0
    in_same = same.at(t, "viable")["tumour"]
    in_other = other.at(t, "viable")["tumour"]
    assert in_same > 2 * in_other > 0        # the opposite side reaches it only after the lungs


def test_a_side_needs_the_tumour_hemisphere_and_a_carotid():
    from tropism.body.scenario import scenario_from_dict
    from tropism.errors import TropismInputError
    sc = _glioma("left")
    sc["tumour"].pop("hemisphere")
    with pytest.raises(TropismInputError, match="hemisphere"):
        scenario_from_dict(sc)
    sc = _glioma(None)
    sc["route"] = {"kind": "iv", "side": "left"}
    with pytest.raises(TropismInputError, match="side"):
        scenario_from_dict(sc)


def test_cells_that_crossed_into_the_host_organ_migrate_to_its_tumour():
    """Brain → tumour through the parenchyma at directed speed / half the organ's width; off, none."""
    from tropism.body.library import load_params
    from tropism.body.model import anatomy
    from tropism.body.scenario import scenario_from_dict
    # opposite side, and a tumour with no chemokine or VCAM-1: few cells cross into it directly
    sc = _glioma("right", chemokine=0.0, inflammation=0.0)
    sc["duration_h"] = 72
    sc["output_interval_min"] = 60
    on = simulate(sc)
    off = simulate(sc, params={"parenchymal_migration_um_per_min": 0.0})
    t = 72 * 60.0
    j = on.compartments.index("tumour")
    b = on.compartments.index("brain")
    assert on.tissue[-1, j] > 3 * off.tissue[-1, j]
    assert on.tissue[-1, b] < off.tissue[-1, b]
    # conservation: what the tumour gains the brain's parenchyma loses, whatever the rate
    assert on.tissue[-1, j] + on.tissue[-1, b] <= off.tissue[-1, j] + off.tissue[-1, b] + 1e-9
    # the rate is the library's speed over half the (host) brain's width
    an = anatomy(scenario_from_dict(sc))
    width = (an.volume["brain"] * 1e12) ** (1 / 3)
    rate = load_params("msc")["parenchymal_migration_um_per_min"] / (0.5 * width)
    assert 1e-5 < rate < 1e-2 and on.at(t, "viable")["tumour"] > 0


def test_an_sdf1_blockade_takes_the_directed_migration_through_the_parenchyma_away():
    """The body's brain → tumour migration is chemotaxis: a CXCR4/SDF-1 blockade scales it by 1 − e."""
    sc = _glioma("right", chemokine=0.0, inflammation=0.0)
    sc["duration_h"] = 72
    sc["output_interval_min"] = 60
    j = "tumour"
    free = simulate(sc).at(72 * 60.0, "viable")[j]
    none = simulate(sc, params={"parenchymal_migration_um_per_min": 0.0}).at(72 * 60.0, "viable")[j]
    full = simulate({**sc, "interventions": {"sdf1_blockade": 1.0}}).at(72 * 60.0, "viable")[j]
    half = simulate({**sc, "interventions": {"sdf1_blockade": 0.5}}).at(72 * 60.0, "viable")[j]
    assert full == pytest.approx(none, rel=1e-9)
    assert none < half < free
    # a blockade of 0.5 is the library's speed halved, nothing else
    from tropism.body.library import load_params
    slow = simulate(sc, params={"parenchymal_migration_um_per_min":
                                0.5 * load_params("msc")["parenchymal_migration_um_per_min"]})
    assert half == pytest.approx(slow.at(72 * 60.0, "viable")[j], rel=1e-9)


def test_a_scenario_blockade_of_cxcr4_reaches_the_body():
    from tropism.resolve import build
    from tropism.model.experiment import Experiment
    d = {"host": {"species": "mouse", "immune": "nude"},
         "tumour": {"line": "U87", "site": "brain", "hemisphere": "left", "radius_um": 300},
         "treatment": [{"product": "msc", "source": "bone_marrow", "dose": 1e6, "route": "iv"}],
         "intervention": [{"kind": "blockade", "target": "cxcr4", "efficacy": 0.8}],
         "simulation": {"duration_h": 24, "domain_um": 400}}
    body = build(Experiment.model_validate(d)).body
    assert body.interventions.sdf1_blockade == pytest.approx(0.8)
    d.pop("intervention")
    assert build(Experiment.model_validate(d)).body.interventions.sdf1_blockade == 0.0
