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
