"""Engineered MSCs (issue 21): ``treatment.engineering`` names payloads from the library, each a
factor the MSCs secrete (TRAIL, IFN-beta) or an enzyme turning a prodrug the scenario gives into
a drug (cytosine deaminase: 5-FC -> 5-FU; HSV-TK: ganciclovir -> its triphosphate). Each test
turns one payload on and off: on, its readout moves as the library documents; off, or without
its prodrug, nothing changes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tropism.errors import TropismInputError
from tropism.io.timeseries import TimeSeries
from tropism.model.experiment import experiment_from_dict
from tropism.resolve import PG_PER_1E6_PER_DAY, build
from tropism.resolve.tables import load_mechanisms
from tropism.simulation import Simulation

FIVE_FC = {"product": "drug", "name": "5-FC", "dose": 12.5, "route": "intraperitoneal"}  # 500 mg/kg, 25 g
GCV = {"product": "drug", "name": "ganciclovir", "dose": 1.25, "route": "intraperitoneal"}  # 50 mg/kg


def _scenario(line="MDA-MB-231", engineering="trail", hours=1.0, immune="scid", dose=20000, extra=(),
              source="bone_marrow"):
    msc = {"product": "msc", "source": source, "dose": dose, "route": "intratumoral"}
    if engineering:
        msc["engineering"] = engineering
    return experiment_from_dict({
        "host": {"species": "mouse", "immune": immune},
        "tumour": {"line": line, "site": "subcutaneous", "radius_um": 150.0},
        "treatment": [msc, *extra],
        "simulation": {"duration_h": hours, "domain_um": 500, "readouts": ["tumour", "msc"], "save_every_h": 6}})


def _run(e, seed=2):
    r = build(e)
    ts = TimeSeries(None, r.model, r.roles["tumour"], r.roles["msc"], 15.0, fates=r.fate)
    sim = Simulation(r.model, seed=seed, body=r.bodies or None, link=r.links or None)
    sim.run([ts])
    return ts, r, sim


def _live_tumour(e, seed=2):
    ts, r, _ = _run(e, seed)
    return ts.value("tumour_live_cells", e.simulation.duration_h * 60.0), r


# ------------------------------------------------------------------------------ refusals

def test_an_unknown_payload_is_refused_with_the_ones_there_are():
    with pytest.raises(TropismInputError) as exc:
        build(_scenario(engineering="ifn_gamma_ray"))
    assert exc.value.field == "treatment[0].engineering" and "trail" in exc.value.allowed
    assert "cytosine_deaminase" in exc.value.allowed and "hsv_tk" in exc.value.allowed


def test_a_payload_of_the_field_not_simulated_yet_is_refused_with_its_reason():
    with pytest.raises(TropismInputError, match="not simulated yet") as exc:
        build(_scenario(engineering="oncolytic_adenovirus"))
    assert exc.value.value == "oncolytic_adenovirus"


def test_a_line_whose_response_the_library_does_not_know_is_refused():
    # A375: no trail_sensitivity row; accepting it would give a payload that silently does nothing
    with pytest.raises(TropismInputError, match="trail_sensitivity"):
        build(_scenario(line="A375", immune="nude"))


def test_a_payload_named_twice_is_refused():
    with pytest.raises(TropismInputError, match="named twice"):
        _scenario(engineering=["trail", "trail"])


# ------------------------------------------------------------------------------ TRAIL

def test_trail_msc_secrete_the_payload_and_only_sensitive_lines_read_it():
    r = build(_scenario())
    m = r.model
    assert r.roles["msc"] == ["msc_bone_marrow_trail"]
    payload = load_mechanisms().payloads["trail"]
    msc = next(c for c in m.cell_types if c.name == "msc_bone_marrow_trail")
    assert msc.secretion["trail"].net_export_rate == pytest.approx(payload.rate.value * PG_PER_1E6_PER_DAY)
    assert "payload.trail" in m.provenance["cell_types[msc_bone_marrow_trail].secretion[trail].net_export_rate"].source
    reads = {(x.cell_type, x.behavior) for x in m.rules if x.signal == "trail"}
    # death through the receptor, a route of its own; MSCs are resistant (Sasportas 2009)
    assert reads == {("MDA-MB-231", "death receptor apoptosis")}
    # a resistant line: nobody reads TRAIL, so it is not even simulated
    resistant = build(_scenario(line="HT-29", immune="nude"))
    assert "trail" not in resistant.model.substrate_names
    naive = build(_scenario(engineering=None))
    assert "trail" not in naive.model.substrate_names and naive.roles["msc"] == ["msc_bone_marrow"]


def test_trail_kills_a_sensitive_line_and_spares_a_resistant_one():
    on, _ = _live_tumour(_scenario(hours=24.0))
    off, _ = _live_tumour(_scenario(engineering=None, hours=24.0))
    assert on < 0.6 * off
    # HT-29 is resistant: the engineered MSCs change nothing at all (same seed, same numbers)
    res_on, _ = _live_tumour(_scenario(line="HT-29", immune="nude", hours=24.0))
    res_off, _ = _live_tumour(_scenario(line="HT-29", immune="nude", engineering=None, hours=24.0))
    assert res_on == res_off and off > 0


def test_death_receptor_rules_are_left_out_of_physicell_files_with_a_warning(tmp_path):
    from tropism.model.physicell.write import write_model
    m = build(_scenario()).model
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write_model(m, tmp_path)
    assert any("death-receptor apoptosis" in str(w.message) for w in caught)
    assert ",trail," not in (tmp_path / "rules.csv").read_text()


# ------------------------------------------------------------------------------ IFN-beta

def test_ifn_beta_msc_hold_back_a_sensitive_line():
    e_on = _scenario(line="A375", immune="nsg", engineering="ifn_beta", hours=48.0, dose=5000)
    e_off = _scenario(line="A375", immune="nsg", engineering=None, hours=48.0, dose=5000)
    ts_on, r, sim = _run(e_on)
    ts_off, _, _ = _run(e_off)
    grown_on = ts_on.value("tumour_live_cells", 2880.0) - ts_on.value("tumour_live_cells", 0.0)
    grown_off = ts_off.value("tumour_live_cells", 2880.0) - ts_off.value("tumour_live_cells", 0.0)
    assert grown_off > 0 and grown_on < 0.5 * grown_off
    # the rule multiplies cycle entry by at most its fold (cells keep a little of their cycle)
    rule = next(x for x in r.model.rules if x.signal == "ifn_beta")
    assert rule.multiplies and rule.behavior == "cycle entry" and 0 < rule.saturation < 1


# ------------------------------------------------------------------------------ prodrugs

def test_cd_msc_without_5fc_are_naive_msc_and_with_it_make_5fu_that_kills():
    kw = dict(line="HT-29", immune="nude", hours=48.0, dose=3000)
    no_fc = _scenario(engineering="cytosine_deaminase", **kw)
    r = build(no_fc)
    assert not r.model.conversions and "fluorouracil" not in r.model.substrate_names
    n_cd, _ = _live_tumour(no_fc)
    n_naive, _ = _live_tumour(_scenario(engineering=None, **kw))
    assert n_cd == n_naive  # the enzyme without its prodrug does nothing at all
    times = [0, 24]
    n_fc, r_fc = _live_tumour(_scenario(engineering="cytosine_deaminase", extra=[dict(FIVE_FC, times_h=times)], **kw))
    conv = r_fc.model.conversions
    assert [(c.cell_type, c.substrate, c.product) for c in conv] == [
        ("msc_bone_marrow_cytosine_deaminase", "flucytosine", "fluorouracil"),
        ("msc_bone_marrow_cytosine_deaminase_caf", "flucytosine", "fluorouracil")]
    # 5-FC alone, without the enzyme, leaves the tumour as it was
    n_fc_naive, r_naive = _live_tumour(_scenario(engineering=None, extra=[dict(FIVE_FC, times_h=times)], **kw))
    assert "fluorouracil" not in r_naive.model.substrate_names
    assert n_fc < 0.7 * n_cd and n_fc_naive > 0.9 * n_naive


def test_the_resolved_conversion_conserves_prodrug_plus_drug():
    r = build(_scenario(line="HT-29", immune="nude", engineering="cytosine_deaminase", dose=20000,
                        extra=[dict(FIVE_FC, times_h=[0])]))
    from tropism import TissueSolver
    m = r.model
    subs = [s.model_copy(update={"decay_rate": 0.0, "dirichlet_enabled": False,
                                 "initial_condition": 500.0 if s.name == "flucytosine" else s.initial_condition})
            for s in m.substrates]
    # LOD: the Douglas scheme clips the undershoots of sharp fields to 0, which is not conservative
    m = m.model_copy(update={"substrates": subs, "vessels": None, "arrivals": [], "interventions": [],
                             "clocks": m.clocks.model_copy(update={"diffusion_scheme": "lod"})})
    msc = m.cell_types.index(next(c for c in m.cell_types if c.name == "msc_bone_marrow_cytosine_deaminase"))
    pos = np.array([[-40.0 + 20.0 * k, 0.0, 0.0] for k in range(5)])
    from tropism.model.model import InitialCells
    m = m.model_copy(update={"initial_cells": InitialCells(positions=pos, types=np.full(5, msc, dtype=np.int64))})
    s = TissueSolver(m, seed=1)
    a, b = m.substrate_names.index("flucytosine"), m.substrate_names.index("fluorouracil")
    total0 = s.fields[a].sum() + s.fields[b].sum()
    for _ in range(200):
        s.step()
    made = s.fields[b].sum()
    assert made > 1e-3 * total0
    assert s.fields[a].sum() + made == pytest.approx(total0, rel=1e-10)


def test_tk_msc_kill_what_they_touch_only_with_ganciclovir():
    kw = dict(line="HT-29", immune="nude", hours=72.0, dose=20000, engineering="hsv_tk")
    r = build(_scenario(**kw))
    assert not r.model.conversions and "ganciclovir_triphosphate" not in r.model.substrate_names
    off, _ = _live_tumour(_scenario(**kw))
    naive, _ = _live_tumour(_scenario(**{**kw, "engineering": None}))
    assert off == naive
    ts, r_on, sim = _run(_scenario(extra=[dict(GCV, times_h=[0, 24, 48])], **kw))
    on = ts.value("tumour_live_cells", 72 * 60.0)
    assert on < 0.8 * off
    # the triphosphate stays where TK cells make it (gap-junction reach, a few cells)
    sub = r_on.model.substrates[r_on.model.substrate_names.index("ganciclovir_triphosphate")]
    assert (sub.diffusion_coefficient / sub.decay_rate) ** 0.5 < 50.0
    # the TK cells themselves die of it (the safety switch)
    msc_on = ts.value("msc_live:msc_bone_marrow_hsv_tk", 72 * 60.0)
    ts_off, _, _ = _run(_scenario(**kw))
    assert msc_on < ts_off.value("msc_live:msc_bone_marrow_hsv_tk", 72 * 60.0)


def test_two_payloads_make_one_cell_type_with_both():
    r = build(_scenario(engineering=["trail", "hsv_tk"], extra=[dict(GCV, times_h=[0])]))
    name = "msc_bone_marrow_trail_hsv_tk"
    assert r.roles["msc"] == [name]
    assert any(c.cell_type == name and c.product == "ganciclovir_triphosphate" for c in r.model.conversions)
    assert next(c for c in r.model.cell_types if c.name == name).secretion["trail"].net_export_rate > 0


# ------------------------------------------------------------------------------ IL-12

def _il12_run(immune, engineering):
    e = experiment_from_dict({
        "host": {"species": "mouse", "immune": immune},
        "tumour": {"line": "CT26", "site": "subcutaneous", "radius_um": 150.0},
        "treatment": [{"product": "msc", "source": "bone_marrow", "dose": 20000, "route": "intratumoral",
                       **({"engineering": engineering} if engineering else {})}],
        "simulation": {"duration_h": 48.0, "domain_um": 500, "readouts": ["tumour", "msc", "immune"],
                       "save_every_h": 48}})
    r = build(e)
    ts = TimeSeries(None, r.model, r.roles["tumour"], r.roles["msc"], 15.0, immune_types=r.immune, fates=r.fate,
                    groups=e.simulation.readouts)
    Simulation(r.model, seed=3, body=r.bodies or None, link=r.links or None).run([ts])
    kills = sum(ts.value(f"immune_kills:{n}", 2880.0) for n in r.immune if f"immune_kills:{n}" in ts.quantities())
    return r, kills, ts.value("tumour_live_cells", 2880.0)


def test_il12_msc_act_through_the_host_s_killers_and_not_without_them():
    r, kills_on, live_on = _il12_run("competent", "il12")
    assert {(x.cell_type, x.behavior) for x in r.model.rules if x.signal == "il12"} == {
        ("nk", "attack damage rate"), ("cd8_t", "attack damage rate")}
    _, kills_off, live_off = _il12_run("competent", None)
    assert kills_on > kills_off and live_on < live_off
    # an NSG mouse has neither NK cells nor CTLs: nothing reads IL-12, nothing changes
    r_nsg, _, live_nsg_on = _il12_run("nsg", "il12")
    assert "il12" not in r_nsg.model.substrate_names
    assert live_nsg_on == _il12_run("nsg", None)[2]


def test_every_payload_names_what_the_library_has():
    from tropism.body.library import load_params
    from tropism.library import load_catalogue, load_rules
    molecules = set(load_params("molecules")) - {"aliases"}
    substrates = set(load_catalogue().entities("substrates"))
    read = {r.signal for r in load_rules()}
    for name, p in load_mechanisms().payloads.items():
        made = p.secretes or p.into
        assert (p.secretes in substrates) if p.secretes else (p.converts in molecules and p.into in molecules | substrates), name
        assert made in read, f"{name}: no rule reads {made}"  # a payload whose product nothing reads does nothing
        assert (p.rate if p.secretes else p.vmax).source, name


def test_a_payload_without_a_tumour_is_refused():
    # without a tumour only the body runs, where no payload acts: accepting it would ignore it
    e = experiment_from_dict({"host": {"species": "mouse", "immune": "nude"},
                              "treatment": [{"product": "msc", "source": "bone_marrow", "dose": 1e6, "route": "iv",
                                             "engineering": "trail"}],
                              "simulation": {"duration_h": 24}})
    with pytest.raises(TropismInputError, match="acts in the tumour tissue") as exc:
        build(e)
    assert exc.value.field == "treatment[0].engineering"
