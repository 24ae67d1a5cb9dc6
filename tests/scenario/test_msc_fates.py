"""MSC fates (issue 20, item 4): MSCs turn into cancer-associated fibroblasts under TGF-beta,
with their own secretion; the MSC source decides whether they can."""

from __future__ import annotations

import numpy as np
import pytest

from tropism.model.experiment import experiment_from_dict
from tropism.resolve import build
from tropism.simulation import Simulation


def _scenario(source="bone_marrow", hours=1.0, immune="nude", line="CT26", readouts=("tumour", "msc"), **extra):
    d = {"host": {"species": "mouse", "immune": immune},
         "tumour": {"line": line, "site": "subcutaneous", "radius_um": 150.0},
         "treatment": [{"product": "msc", "source": source, "dose": 5000, "route": "intratumoral"}],
         "simulation": {"duration_h": hours, "domain_um": 500, "readouts": list(readouts), "save_every_h": 1},
         **extra}
    return experiment_from_dict(d)


def _type(model, name):
    return next(c for c in model.cell_types if c.name == name)


@pytest.mark.parametrize("source, fate", [("bone_marrow", True), ("adipose", True), ("umbilical_cord", False)])
def test_the_source_decides_whether_its_msc_can_become_a_caf(source, fate):
    r = build(_scenario(source))
    msc = f"msc_{source}"
    rules = {(x.cell_type, x.signal, x.behavior) for x in r.model.rules}
    assert ((msc, "tgfb1", f"transform to {msc}_caf") in rules) is fate
    assert (f"{msc}_caf" in r.model.cell_type_names) is fate
    assert r.roles["caf"] == ([f"{msc}_caf"] if fate else [])
    assert r.fate == ({msc: f"{msc}_caf"} if fate else {})


def test_a_caf_is_its_msc_with_the_caf_secretion_and_the_stromal_rules_but_not_the_fate():
    # a CCR5 line whose shedding is read: the CCL5 the cells' touch induces is simulated
    r = build(_scenario(line="MDA-MB-231", immune="scid", readouts=("tumour", "msc", "metastasis")))
    m = r.model
    msc, caf = _type(m, "msc_bone_marrow"), _type(m, "msc_bone_marrow_caf")
    assert caf.volume.total == msc.volume.total and caf.motility.speed == msc.motility.speed
    assert caf.secretion["sdf1"].net_export_rate == pytest.approx(
        2.25 * msc.secretion["sdf1"].net_export_rate, rel=1e-12)
    assert "CAF" in m.provenance["cell_types[msc_bone_marrow_caf].secretion[sdf1].net_export_rate"].source
    of = lambda t: {(x.signal, x.behavior, x.saturation) for x in m.rules if x.cell_type == t}  # noqa: E731
    stromal = {(s, b) for s, b, _ in of("msc_bone_marrow") if not b.startswith("transform")}
    assert stromal <= {(s, b) for s, b, _ in of("msc_bone_marrow_caf")}
    assert not any(b.startswith("transform") for _, b, _ in of("msc_bone_marrow_caf"))
    # the tumour's touch induces 3.28x the MSC's CCL5 in a CAF (both rows read; the larger bounds)
    ccl5 = lambda t: max(sat for s, b, sat in of(t) if b == "ccl5 export")  # noqa: E731
    assert ccl5("msc_bone_marrow_caf") == pytest.approx(3.28 * ccl5("msc_bone_marrow"), rel=1e-9)


def test_a_tgf_beta_blockade_takes_the_fate_away():
    e = _scenario(intervention=[{"kind": "blockade", "target": "tgfb", "efficacy": 1.0}])
    r = build(e)
    (iv,) = [x for x in r.model.interventions if x.kind == "block_signal" and x.target == "tgfb1"]
    assert "msc_bone_marrow" in iv.cell_types


def test_converted_cells_stay_the_products_labelled_cells_and_are_counted_as_cafs():
    from tropism.io.timeseries import TimeSeries
    r = build(_scenario(hours=24.0))
    m = r.model
    # raise the fate's rate so a one-day run converts many cells (the kernel is the generic one)
    rules = [x.model_copy(update={"saturation": 0.01}) if x.behavior.startswith("transform to msc") else x
             for x in m.rules]
    m = m.model_copy(update={"rules": rules})
    series = TimeSeries(None, m, r.roles["tumour"], r.roles["msc"], 15.0, fates=r.fate,
                        groups=r.experiment.simulation.readouts)
    sim = Simulation(m, seed=3, body=r.bodies or None, link=r.links or None)
    sim.run([series])
    a = sim.solver.agents
    n = a.n
    names = m.cell_type_names
    live = a.death_state[:n] == 0
    n_msc = int(np.sum(live & (a.type[:n] == names.index("msc_bone_marrow"))))
    n_caf = int(np.sum(live & (a.type[:n] == names.index("msc_bone_marrow_caf"))))
    assert n_caf > 0
    assert series.value("msc_caf:msc_bone_marrow", 24 * 60.0) == n_caf
    assert series.value("msc_live:msc_bone_marrow", 24 * 60.0) == n_msc + n_caf


def test_the_caf_of_a_primed_msc_keeps_the_priming():
    e = experiment_from_dict({
        "host": {"species": "mouse", "immune": "nude"},
        "tumour": {"line": "CT26", "site": "subcutaneous", "radius_um": 150.0},
        "treatment": [{"product": "msc", "source": "bone_marrow", "dose": 5000, "route": "intratumoral",
                       "primed": True}],
        "simulation": {"duration_h": 1.0, "domain_um": 500}})
    m = build(e).model
    msc, caf = _type(m, "msc_bone_marrow_primed"), _type(m, "msc_bone_marrow_primed_caf")
    naive = _type(build(_scenario()).model, "msc_bone_marrow")
    assert msc.secretion["vegf"].net_export_rate > naive.secretion["vegf"].net_export_rate  # primed
    assert caf.secretion["vegf"].net_export_rate == pytest.approx(msc.secretion["vegf"].net_export_rate)
    assert [c.id for c in m.cell_types] == list(range(len(m.cell_types)))
    assert m.cell_type_names.index("msc_bone_marrow_primed_caf") == m.cell_type_names.index(
        "msc_bone_marrow_primed") + 1
