"""Tumour cells shed into the blood (issue 20, item 2, first part): tumour cells at vessels leave
the tissue (intravasation), the body carries them with the circulating-cell physics (arrest by
size, death in blood, extravasation), and extravasated cells are the organs' metastatic seeds.
Every shed cell appears in the body once, and the rest of the tumour (not simulated) sheds the
same cells' expected number."""

from __future__ import annotations

import numpy as np
import pytest

from tropism.model.experiment import experiment_from_dict
from tropism.resolve import build
from tropism.simulation import Simulation


def _scenario(hours=48.0, readouts=("tumour", "metastasis")):
    return experiment_from_dict({"host": {"species": "mouse", "immune": "competent"},
                                 "tumour": {"line": "4T1", "site": "breast", "radius_um": 200},
                                 "simulation": {"duration_h": hours, "domain_um": 600, "readouts": list(readouts)}})


def test_every_shed_cell_appears_in_the_body_once_for_the_whole_tumour():
    r = build(_scenario())
    (dep,) = [d for d in r.model.departures if d.cell_type == "4T1"]
    assert dep.cell_type == "4T1" and dep.rate_per_min == pytest.approx(3.2e-3 / 1440, rel=0.02)
    assert r.product_labels()[-1] == ("metastasis", "cells") and r.links[-1].whole_tumour_departures
    # a faster shedding than the library's, so that a short run sheds enough cells to count
    fast = r.model.model_copy(update={"departures": [dep.model_copy(update={"rate_per_min": 2e-4})]
                                      + [d for d in r.model.departures if d is not dep]})
    from tropism.io.timeseries import TimeSeries
    series = TimeSeries(None, fast, r.roles["tumour"], [], 15.0, products=r.product_labels(), treatments=0)
    sim = Simulation(fast, seed=3, body=r.bodies, link=r.links)
    sim.run([series])
    c = sim.couplers[-1]
    shed = int(sim.solver.departed[0])
    assert shed > 20 and c.received == shed
    # the domain's cells as they left, the rest of the tumour at the same cells' mean
    expected = float(sim.solver.departure_expected[0])
    whole = shed + expected * (1.0 - c.share) / c.share
    assert sum(c.state.amounts().values()) == pytest.approx(whole, rel=1e-9)
    assert abs(shed - expected) < 4.0 * np.sqrt(expected)  # the draws follow their probabilities
    seeds = series.value("metastatic_seeds", fast.clocks.max_time)
    lungs = series.value("metastatic_seeds:lungs", fast.clocks.max_time)
    assert 0.0 < seeds < whole and lungs > 0.8 * seeds   # the lungs' capillaries meet them first


def test_cells_are_shed_only_where_the_scenario_reads_them():
    plain = build(_scenario(readouts=("tumour",)))
    assert [d for d in plain.model.departures if d.cell_type == "4T1"] == [] and not plain.shed
    assert not any(b.product.kind == "tumour_cell" for b in plain.bodies)


def _iv(hours, params=None, **product):
    from tropism.body import simulate
    from tropism.body.scenario import scenario_from_dict
    return simulate(scenario_from_dict({"species": "mouse", "dose": 1e5, "duration_h": hours,
                                        "output_interval_min": 10.0,
                                        "product": {"kind": "tumour_cell", **product}}), params=params)


def test_cells_that_no_capillary_holds_die_in_the_blood_at_the_circulating_tumour_cells_half_life():
    from tropism.body.library import load_params
    k = load_params("tumour_cell")["blood_loss_per_min"]
    # too small for any capillary, and no splenic filtration: only death in the blood removes them
    r = _iv(3.0, params={"splenic_filtration": 0.0}, diameter_um=4.0)
    blood = [j for j, c in enumerate(r.compartments) if c.endswith("_blood")]
    viable = r.viable[:, blood].sum(axis=1)
    t = np.asarray(r.times_h) * 60.0
    assert np.allclose(viable / viable[0], np.exp(-k * t), rtol=0.02)
    assert np.log(2) / k / 60.0 == pytest.approx(1.7, rel=0.01)   # within Meng 2004's 1-2.4 h


def test_iv_tumour_cells_lodge_in_the_lungs_and_most_arrested_cells_extravasate_within_a_day():
    r = _iv(24.0)
    lungs = r.compartments.index("lungs")
    # an experimental metastasis assay: the lungs hold most of the dose
    others = [r.viable[-1, j] for j, c in enumerate(r.compartments) if c != "lungs"]
    assert r.viable[-1, lungs] > 0.7 * 1e5 and r.viable[-1, lungs] > 5 * max(others)
    # Koop 1995: more than 80 % of arrested cells survive and are out of the vessels by 24 h
    assert r.tissue[-1].sum() > 0.8 * 1e5


def _breast(msc=True, intervention=(), hours=2.0, line="MDA-MB-231", readouts=("tumour", "metastasis")):
    d = {"host": {"species": "mouse", "immune": "scid"},
         "tumour": {"line": line, "site": "breast", "radius_um": 150},
         "intervention": list(intervention),
         "simulation": {"duration_h": hours, "domain_um": 500, "readouts": list(readouts)}}
    if msc:
        d["treatment"] = [{"product": "msc", "source": "bone_marrow", "dose": 20000, "route": "intratumoral"}]
    return experiment_from_dict(d)


def test_msc_ccl5_is_induced_by_contact_and_raises_the_shedding_of_ccr5_cells_as_emt():
    from tropism.resolve import PG_PER_1E6_PER_DAY
    r = build(_breast())
    rules = {(x.cell_type, x.signal, x.behavior): x for x in r.model.rules}
    made = rules[("msc_bone_marrow", "contact with MDA-MB-231", "ccl5 export")]
    assert made.saturation == pytest.approx(10000 * PG_PER_1E6_PER_DAY)      # none at rest, induced
    assert r.model.cell_types[1].secretion["ccl5"].net_export_rate == 0.0
    base = r.model.departures[0].rate_per_min
    emt = rules[("MDA-MB-231", "ccl5", "intravasation")]
    assert emt.saturation == pytest.approx(7 * base) and emt.half_max == pytest.approx(8.7)
    # the EMT fold moves the shedding rate: without the metastasis readout no cell leaves, and no
    # CCL5 rule or substrate is there to pay for
    quiet = build(_breast(readouts=("tumour",)))
    assert "ccl5" not in quiet.model.substrate_names
    assert not any(x.behavior == "intravasation" for x in quiet.model.rules)
    # a line without CCR5 does not read it; a CCR5 blockade of it is refused
    llc = build(_breast(line="LLC", intervention=()))
    assert not any(x.signal == "ccl5" for x in llc.model.rules)
    from tropism.errors import TropismInputError
    with pytest.raises(TropismInputError, match="carries CCR5"):
        build(_breast(line="LLC", intervention=[{"kind": "blockade", "target": "ccr5"}]))


def test_cells_touching_msc_ccl5_shed_more_and_a_ccl5_blockade_takes_it_away():
    def top(intervention=()):
        r = build(_breast(intervention=intervention))
        sim = Simulation(r.model, seed=4, body=r.bodies, link=r.links)
        sim.run()
        a = sim.solver.agents
        tumour = a.type[: a.n] == 0
        return r.model.departures[0].rate_per_min, a.intravasation[: a.n, 0][tumour]
    base, free = top()
    _, blocked = top([{"kind": "blockade", "target": "ccl5", "efficacy": 1.0}])
    # EMT by CCL5 near the MSCs on top of what the tumour's own exosomes do
    assert free.max() > 2.0 * blocked.max() and blocked.max() < 2.0 * base and free.max() <= 7.0 * base


def test_a_conditioned_niche_keeps_the_cells_that_reach_it_alive():
    from tropism.body import simulate
    from tropism.body.library import load_params
    from tropism.body.scenario import scenario_from_dict
    p = load_params("tumour_cell")

    def lungs(niche):
        res = simulate(scenario_from_dict({"species": "mouse", "dose": 1e5, "duration_h": 168.0, "niche": niche,
                                           "output_interval_min": 60.0, "product": {"kind": "tumour_cell"}}))
        return float(res.tissue[-1, res.compartments.index("lungs")])
    plain, full = lungs({}), lungs({"lungs": 1.0})
    # the extravasated cells' loss divided by niche_fold: for cells that crossed in the first
    # hours, the ratio at a week is about exp(k t (1 - 1/fold))
    k, t = p["death_tissue_per_min"], 168 * 60.0
    assert plain > 0 and full / plain == pytest.approx(np.exp(k * (t - 330.0) * (1 - 1 / p["niche_fold"])), rel=0.02)
    with pytest.raises(ValueError, match="niche"):
        scenario_from_dict({"species": "mouse", "dose": 1e5, "niche": {"lungs": 1.5}, "product": {"kind": "tumour_cell"}})
    # MSCs are not known to follow a niche: the field would change nothing for them, so it is refused
    with pytest.raises(ValueError, match="tumour cells only"):
        scenario_from_dict({"species": "mouse", "dose": 1e5, "niche": {"lungs": 0.5}, "product": {"kind": "msc"}})


def test_the_tumours_exosomes_taken_up_by_an_organ_set_its_niche_for_the_shed_cells():
    e = experiment_from_dict({"host": {"species": "mouse", "immune": "nude"},
                              "tumour": {"line": "LLC", "site": "lung", "radius_um": 1500},
                              "simulation": {"duration_h": 3.0, "domain_um": 400,
                                             "readouts": ["tumour", "metastasis", "exosomes"]}})
    r = build(e)
    shed = r.links[-1]
    assert shed.niche_from == "tumour_exosome" and shed.niche_half_max_per_g == pytest.approx(1e11)
    sim = Simulation(r.model, seed=1, body=r.bodies, link=r.links)
    sim.run()
    cp, source = sim.couplers[-1], sim.couplers[-1].niche_source
    took = source.state.amounts()[("lungs", "cleared")] / cp.organ_g["lungs"]
    assert took > 0 and cp.niche()["lungs"] == pytest.approx(took / (took + 1e11))
    # the body of the shed cells is built on a niche within the link's tolerance (absolute, a
    # fraction) of the one measured: a level rising from 0 does not rebuild it at every exchange
    assert abs(cp.state.scenario.niche.get("lungs", 0.0) - cp.niche()["lungs"]) <= cp.link.inputs_rtol
    from tropism.body.step import BodyInputs, _with_inputs
    sc = cp.state.scenario
    moved = _with_inputs(sc, BodyInputs(niche={"lungs": 0.5}), rtol=cp.link.inputs_rtol)
    assert moved is not sc and moved.niche == {"lungs": 0.5}
    assert _with_inputs(moved, BodyInputs(niche={"lungs": 0.52}), rtol=0.05) is moved
