"""The host's immune cells in a tumour (issue 20, item 1): which the host status has, how fast
they come from blood and how long they stay, killing by contact counted as kills, and what MSCs
change (TGF-β → Tregs, weaker killing; MSC contact → M2 macrophages)."""

from __future__ import annotations

import numpy as np
import pytest

from tropism.model.experiment import experiment_from_dict
from tropism.resolve import build
from tropism.simulation import Simulation

T_CELLS = {"cd8_t", "cd4_t", "treg"}


def _scenario(immune="competent", line="CT26", msc=False, hours=1.0, radius=150.0, **sim):
    d = {"host": {"species": "mouse", "immune": immune},
         "tumour": {"line": line, "site": "subcutaneous", "radius_um": radius},
         "simulation": {"duration_h": hours, "domain_um": 500, "readouts": ["tumour", "immune"], **sim}}
    if msc:
        d["treatment"] = [{"product": "msc", "source": "bone_marrow", "dose": 5000, "route": "intratumoral"}]
    return experiment_from_dict(d)


@pytest.mark.parametrize("status, absent", [("competent", set()), ("nude", T_CELLS), ("scid", T_CELLS),
                                            ("nsg", T_CELLS | {"nk"}), ("nk_depleted", {"nk"})])
def test_a_host_has_the_immune_cells_its_status_allows_in_the_tumour_and_as_arrivals(status, absent):
    line = "CT26" if status in ("competent", "nk_depleted") else "U87"   # a xenograft needs a deficient host
    r = build(_scenario(status, line=line))
    everyone = {"cd8_t", "nk", "cd4_t", "treg", "macrophage", "macrophage_m2"}
    assert set(r.immune) == everyone - absent
    arriving = {a.cell_type for a in r.model.arrivals}
    # from blood: every present type with a blood pool; M2 macrophages only form in the tissue
    assert arriving == everyone - absent - {"macrophage_m2"}
    # none of the absent types in the tissue at the start either
    names = r.model.cell_type_names
    assert not set(names[t] for t in r.model.initial_cells.types) & absent


def test_the_entry_rate_keeps_the_typical_share_at_steady_state_on_the_reference_bed():
    # entry per tumour cell × residence = share, on the subcutaneous bed around cells of the
    # default volume, at a tumour's own TNF-alpha (the adhesion factor is 1 there)
    from tropism.library import load_catalogue, load_defaults
    from tropism.resolve.tables import load_mechanisms
    r = build(_scenario())
    cat = load_catalogue()
    wall = load_mechanisms().sites["subcutaneous"].vessel_density.value * load_defaults()["tumour"]["cell_volume_um3"]["value"]
    for a in r.model.arrivals:
        share = cat.get("cell_lines", "CT26", f"{a.cell_type}_share_of_cells") or \
            cat.get("immune_cells", a.cell_type, "typical_share_of_tumour_cells")
        dep = next(d for d in r.model.departures if d.cell_type == a.cell_type)
        assert a.per_vessel_area_per_min * wall / dep.rate_per_min == pytest.approx(share.value, rel=1e-9)
        assert a.adhesion_reference == pytest.approx(cat.get("substrates", "tnfa", "tissue_level_tumour_ng_per_ml").value)
    # a line's own share replaces the typical one: CT26 holds more CD8 T cells than a cold line
    cold = build(_scenario(line="B16-F10"))
    rate = {a.cell_type: a.per_vessel_area_per_min for a in r.model.arrivals}
    rate_cold = {a.cell_type: a.per_vessel_area_per_min for a in cold.model.arrivals}
    assert rate["cd8_t"] / rate_cold["cd8_t"] == pytest.approx(0.06 / 0.008)
    assert rate["nk"] == rate_cold["nk"]


def test_recruitment_is_the_coefficient_times_the_weighted_vessel_wall():
    from tropism.tissue.solver import TissueSolver
    r = build(_scenario())
    s = TissueSolver(r.model, seed=2)
    s.recruit()
    tumour = s.model.cell_type_names.index("CT26")
    a = s.agents
    held = np.zeros(s.mesh.n_voxels, bool)
    held[a.voxel[: a.n][(a.type[: a.n] == tumour) & (a.death_state[: a.n] == 0)]] = True
    tnf = s.flat_fields[s.model.substrate_names.index("tnfa")]
    for k, arr in enumerate(r.model.arrivals):
        f = lambda u: arr.adhesion_basal + (1 - arr.adhesion_basal) * u / (u + arr.adhesion_half_max)
        wall = float(np.sum(s.vessel_density * held * f(tnf) / f(arr.adhesion_reference))) * s.mesh.voxel_volume
        assert s._arrival_rates[k] == pytest.approx(arr.per_vessel_area_per_min * wall, rel=1e-12)
        assert s._arrival_rates[k] > 0.0


def test_an_established_tumour_starts_with_its_infiltrate_at_each_types_share():
    from tropism.library import load_catalogue
    r = build(_scenario(radius=200.0))
    types = r.model.initial_cells.types
    names = r.model.cell_type_names
    n = len(types)
    cat = load_catalogue()
    for name in ("cd8_t", "macrophage"):
        share = cat.get("cell_lines", "CT26", f"{name}_share_of_cells").value
        assert np.count_nonzero(types == names.index(name)) == round(share * n)
    assert np.count_nonzero(types == names.index("macrophage_m2")) == 0   # forms in the tissue only
    # the same seed draws the same cells; another seed others
    again = build(_scenario(radius=200.0)).model.initial_cells.types
    other = build(_scenario(radius=200.0, seed=7)).model.initial_cells.types
    assert np.array_equal(types, again) and not np.array_equal(types, other)


def _duel(attack: bool):
    """One CD8 T cell beside one tumour cell, nothing else: the T cell attacks for sure (or never);
    the tumour cell neither divides nor dies on its own unless killed."""
    from tropism.model.model import InitialCells
    r = build(_scenario(hours=96.0))
    m = r.model
    names = m.cell_type_names
    types = []
    for ct in m.cell_types:
        if ct.name == "CT26":
            ct = ct.model_copy(update={"cycle": ct.cycle.model_copy(update={"links": [
                ct.cycle.links[0].model_copy(update={"rate": 0.0})]}),
                "apoptosis": ct.apoptosis.model_copy(update={"rate": 0.0 if attack else 0.05})})
        if ct.name == "cd8_t":
            ia = ct.interactions.model_copy(update={"attack_rates": {"CT26": 100.0 if attack else 0.0}})
            ct = ct.model_copy(update={"interactions": ia})
        types.append(ct)
    cells = InitialCells(positions=np.array([[0.0, 0.0, 0.0], [13.0, 0.0, 0.0]]),
                         types=np.array([names.index("CT26"), names.index("cd8_t")]))
    rules = [x for x in m.rules if x.cell_type in ("CT26", "cd8_t") and x.signal in ("damage", "contact with CT26")]
    m = m.model_copy(update={"cell_types": types, "initial_cells": cells, "arrivals": [], "departures": [],
                             "rules": rules})
    sim = Simulation(m, seed=1)
    sim.run()
    return sim.solver, names


def test_a_ctl_kills_by_accumulated_hits_and_only_those_deaths_count_as_kills():
    s, names = _duel(attack=True)
    a = s.agents
    tumour = a.type[: a.n] == names.index("CT26")
    # three 10-min hits (damage 30, the rule's half-max), then death within about a day (the
    # drugs' maximum apoptosis, the one maximum the behaviour has)
    assert a.death_state[: a.n][tumour].tolist() != [0] or not tumour.any()
    assert s.kills[names.index("cd8_t")] == 1 and s.kills.sum() == 1
    # a cell dying on its own, never hit, is no kill
    s, names = _duel(attack=False)
    assert s.kills.sum() == 0
    a = s.agents
    assert not (a.type[: a.n] == names.index("CT26")).any() or a.death_state[0] != 0


def test_msc_tgf_beta_and_contact_reach_the_immune_cells_through_rules_and_a_tgf_beta_blockade_removes_them():
    r = build(_scenario(msc=True))
    got = {(x.cell_type, x.signal, x.behavior) for x in r.model.rules}
    assert ("cd4_t", "tgfb1", "transform to treg") in got
    assert ("cd8_t", "tgfb1", "attack damage rate") in got and ("nk", "tgfb1", "attack damage rate") in got
    assert ("cd8_t", "contact with treg", "attack damage rate") in got
    assert ("macrophage", "contact with msc_bone_marrow", "transform to macrophage_m2") in got
    assert "tgfb1" in r.model.substrate_names   # MSCs make it (defaults.toml prior), immune cells read it
    e = experiment_from_dict({**_scenario(msc=True).model_dump(mode="json", exclude_none=True),
                              "intervention": [{"kind": "blockade", "target": "tgfb", "efficacy": 1.0}]})
    blocked = build(e)
    (iv,) = [x for x in blocked.model.interventions if x.kind == "block_signal" and x.target == "tgfb1"]
    assert {"cd4_t", "cd8_t", "nk"} <= set(iv.cell_types)
    # no TGF-beta maker, no TGF-beta: without MSCs the substrate is not simulated
    assert "tgfb1" not in build(_scenario()).model.substrate_names


def test_the_immune_readouts_follow_each_population_and_its_kills():
    from tropism.io.timeseries import TimeSeries
    r = build(_scenario(hours=2.0, save_every_h=1))
    series = TimeSeries(None, r.model, r.roles["tumour"], [], 15.0, immune_types=r.immune,
                        groups=r.experiment.simulation.readouts)
    Simulation(r.model, seed=1).run([series])
    q = series.quantities()
    for name in r.immune:
        assert f"immune_in_tumour:{name}" in q and f"immune_kills:{name}" in q
    assert series.value("immune_in_tumour:cd8_t", 0.0) > 0
    assert "tumour_mass_volume" in q
    assert series.value("tumour_mass_volume", 0.0) > series.value("tumour_volume", 0.0)  # infiltrate counted
