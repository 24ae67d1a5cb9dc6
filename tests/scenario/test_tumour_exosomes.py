"""Tumour exosomes (issue 20, item 3, first part): tumour cells release vesicles into the tissue,
the vessels carry them into the blood, and the body distributes them to the organs; every
vesicle released is in the tissue, crossed into the blood, or is in the body; blocking release
(GW4869, Rab27a knock-down) lowers it by its efficacy, inside its time window only."""

from __future__ import annotations

import numpy as np
import pytest

from tropism.model.experiment import experiment_from_dict
from tropism.resolve import build
from tropism.simulation import Simulation

SUB = "tumour_exosome"


READ = ("tumour", "exosomes")


def _scenario(hours=3.0, intervention=(), readouts=READ, immune="competent"):
    return experiment_from_dict({"host": {"species": "mouse", "immune": immune},
                                 "tumour": {"line": "CT26", "site": "subcutaneous", "radius_um": 100},
                                 "intervention": list(intervention),
                                 "simulation": {"duration_h": hours, "domain_um": 400, "readouts": list(readouts)}})


def _still(model):
    """The model with its tumour cells neither dividing nor dying, and no loss of vesicles in the
    tissue: what they release can then be counted by hand."""
    types = []
    for c in model.cell_types:
        links = [lk.model_copy(update={"rate": 0.0}) for lk in c.cycle.links]
        types.append(c.model_copy(update={"cycle": c.cycle.model_copy(update={"links": links}),
                                          "apoptosis": c.apoptosis.model_copy(update={"rate": 0.0}),
                                          "necrosis": c.necrosis.model_copy(update={"rate": 0.0})}))
    subs = [s.model_copy(update={"decay_rate": 0.0}) if s.name == SUB else s for s in model.substrates]
    return model.model_copy(update={"cell_types": types, "substrates": subs, "rules": []})


def test_every_vesicle_released_is_in_the_tissue_or_crossed_into_the_body_and_the_body_keeps_them_all():
    r = build(_scenario())
    assert r.released == {SUB: "tumour_exosome"}
    assert r.product_labels()[-1] == (SUB, "particles")
    model = _still(r.model)
    sim = Simulation(model, seed=1, body=r.bodies, link=r.links)
    n = int(sim.solver.live_counts()[0])
    sim.run()
    s = sim.solver
    j = model.substrate_names.index(SUB)
    rate = model.cell_types[0].secretion[SUB].net_export_rate * 1e-6          # particles per cell per min
    released = n * rate * model.clocks.max_time
    in_tissue = float(s.flat_fields[j].sum()) * s.mesh.voxel_volume * 1e-6
    crossed = float(s.vessel_exchanged[j]) * 1e-6
    assert int(s.live_counts()[0]) == n
    assert rate == pytest.approx(60.0 / 60.0)                                  # the library's 60 per cell per hour
    assert crossed > 0.0
    # the exchange is booked from the split diffusion step's fields: exact to a few 1e-5
    assert in_tissue + crossed == pytest.approx(released, rel=1e-4)
    # the body holds what the whole tumour sent: the section's share scaled up, nothing lost
    c = sim.couplers[0]
    in_body = sum(c.state.amounts().values())
    assert in_body == pytest.approx(crossed / c.share, rel=1e-6)
    organs = {o: v for (o, kind), v in c.state.amounts().items() if kind != "cleared" and o != "plasma"}
    assert max(organs, key=organs.get) == "liver"


def _released_into_blood(efficacy=None, **window):
    iv = [] if efficacy is None else [{"kind": "blockade", "target": "tumour_exosome_release",
                                       "efficacy": efficacy, **window}]
    r = build(_scenario(intervention=iv))
    sim = Simulation(_still(r.model), seed=1, body=r.bodies, link=r.links)
    sim.run()
    s = sim.solver
    j = r.model.substrate_names.index(SUB)
    return (float(s.flat_fields[j].sum()) * s.mesh.voxel_volume + float(s.vessel_exchanged[j])) * 1e-6, sim


def test_blocking_release_lowers_it_by_the_efficacy_and_only_inside_its_window():
    free, _ = _released_into_blood()
    assert _released_into_blood(0.6)[0] == pytest.approx(0.4 * free, rel=1e-6)
    assert _released_into_blood(1.0)[0] == pytest.approx(0.0, abs=1e-6 * free)
    # a full block for the second of three hours: a third of the release is missing, and the
    # cells export at their full rate again once the window closes
    windowed, sim = _released_into_blood(1.0, start_h=1.0, end_h=2.0)
    assert windowed == pytest.approx(2.0 / 3.0 * free, rel=2e-3)
    a = sim.solver.agents
    col = sim.solver.model.substrate_names.index(SUB)
    tumour = a.type[: a.n] == 0
    assert np.allclose(a.export[: a.n, col][tumour], sim.solver.model.cell_types[0].secretion[SUB].net_export_rate)


def test_vesicles_are_simulated_only_where_the_scenario_reads_them():
    # not read (the default readouts, no T cells to sense their PD-L1): no substrate, no body
    # product, nothing to pay for
    plain = build(_scenario(readouts=("tumour", "body"), immune="nude"))
    assert SUB not in plain.model.substrate_names and plain.released == {} and plain.bodies == []
    # a competent host's CD8 T cells sense them (exosomal PD-L1): simulated, and followed in the body
    sensed = build(_scenario(readouts=("tumour", "body")))
    assert SUB in sensed.model.substrate_names and sensed.released == {SUB: "tumour_exosome"}
    assert any(r.cell_type == "cd8_t" and r.signal == SUB for r in sensed.model.rules)
    # read through a blockade of their release, even without the readout
    blocked = build(_scenario(readouts=("tumour",), intervention=[{"kind": "blockade",
                                                                   "target": "tumour_exosome_release"}]))
    assert SUB in blocked.model.substrate_names and blocked.released == {SUB: "tumour_exosome"}
    # the readout group holds the vesicles in tissue, plasma and every organ
    from tropism.io.timeseries import TimeSeries
    r = build(_scenario(hours=0.5))
    series = TimeSeries(None, r.model, r.roles["tumour"], [], 15.0, products=r.product_labels(), groups=READ,
                        treatments=0)
    Simulation(r.model, seed=1, body=r.bodies, link=r.links).run([series])
    q = series.quantities()
    assert f"tumour_mean:{SUB}" in q and f"plasma:{SUB}" in q and f"body_amount:{SUB}:liver" in q
    assert series.value(f"taken_up:{SUB}:liver", 30.0) > series.value(f"taken_up:{SUB}:lungs", 30.0) > 0.0
    assert not any(x.startswith("body_viable") for x in q)


def test_without_a_tumour_nothing_is_released_and_a_blockade_of_release_names_its_inhibitors():
    r = build(experiment_from_dict({"host": {"species": "mouse"}, "treatment": [
        {"product": "exosome", "dose": 1e9, "route": "iv"}], "simulation": {"duration_h": 1.0}}))
    assert r.released == {} and len(r.bodies) == 1
    src = build(_scenario(intervention=[{"kind": "blockade", "target": "tumour_exosome_release"}])).model
    (iv,) = src.interventions
    assert iv.kind == "scale_behaviour" and iv.factor == 0.0 and "GW4869" in iv.source


def test_tumour_exosomes_given_iv_reach_liver_lungs_and_spleen_in_the_measured_ratios():
    from tropism.body import simulate
    from tropism.body.scenario import scenario_from_dict
    r = simulate(scenario_from_dict({"species": "mouse", "dose": 1e9, "duration_h": 4.0,
                                     "product": {"kind": "tumour_exosome"}}))
    at4 = dict(zip(r.compartments, r.viable[-1]))
    # Morishita 2015 (B16BL6 exosomes, 4 h): liver 28 %, lung 7 %, spleen 1.6 % of the dose
    assert 28 / 7 * 0.9 < at4["liver"] / at4["lungs"] < 28 / 7 * 1.1
    assert 28 / 1.6 * 0.8 < at4["liver"] / at4["spleen"] < 28 / 1.6 * 1.25
    # and the tumour's own vesicles go to that body product
    assert build(_scenario()).bodies[-1].product.kind == "tumour_exosome"
