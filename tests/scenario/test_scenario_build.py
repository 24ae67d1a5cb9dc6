"""A scenario resolved against the library into a tissue model, a body scenario and their link
(issue 10): every number traced to the library or to a declared prior."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tropism.library import load_catalogue, load_defaults
from tropism.model.experiment import experiment_from_dict, load_experiment
from tropism.resolve import PG_PER_1E6_PER_DAY, build

from conftest import REPO

EXAMPLES = REPO / "examples" / "scenarios"


@pytest.fixture(scope="module")
def glioma():
    return build(load_experiment(EXAMPLES / "glioma_msc_ia_same_side.toml"))


def test_the_tumour_line_sets_cycle_and_volume_from_the_library(glioma):
    cat = load_catalogue()
    u87 = glioma.model.cell_types[0]
    assert u87.name == "U87"
    doubling = cat.get("cell_lines", "U87", "doubling_time_in_vitro_h").value
    # the measured doubling is the rate at saturating oxygen (the library's oxygen rule); the
    # cell's rate without oxygen is 0
    (o2,) = [r for r in glioma.model.rules if r.cell_type == "U87" and r.behavior == "cycle entry"
             and r.signal == "oxygen"]
    assert o2.saturation == pytest.approx(math.log(2) / (doubling * 60)) and o2.direction == "increases"
    assert u87.cycle.links[0].rate == 0.0
    d = cat.get("cell_lines", "U87", "cell_diameter_um").value
    assert u87.volume.total == pytest.approx(math.pi / 6 * d ** 3)
    src = glioma.model.provenance["cell_types[U87].cycle.links[0].rate"]
    assert "U87.doubling_time_in_vitro_h" in src.source and src.status == "U"


def test_a_missing_measurement_takes_the_declared_prior_and_says_so():
    # GL261 has no doubling time in the library: the default prior, marked as such
    e = experiment_from_dict({"host": {"species": "mouse"},
                              "tumour": {"line": "GL261", "site": "brain", "hemisphere": "left", "cells": 100},
                              "simulation": {"duration_h": 1, "domain_um": 400}})
    r = build(e)
    prior = load_defaults()["tumour"]["doubling_time_h"]
    (o2,) = [x for x in r.model.rules if x.behavior == "cycle entry" and x.signal == "oxygen"]
    assert o2.saturation == pytest.approx(math.log(2) / (prior["value"] * 60))
    assert "[default prior]" in r.model.provenance["cell_types[GL261].cycle.links[0].rate"].source
    assert len(r.model.initial_cells.positions) == 100 and r.body is None and r.link is None


def test_secretion_is_converted_from_pg_per_million_cells_per_day():
    # 1 pg = 1e9 (ng/mL)·µm³, so 1 pg per 1e6 cells per 24 h is 1e9 / (1e6 · 1440) per cell per min
    assert PG_PER_1E6_PER_DAY == pytest.approx(0.69444, rel=1e-4)
    e = experiment_from_dict({"host": {"species": "mouse"},
                              "tumour": {"line": "LLC", "site": "subcutaneous", "cells": 10},
                              "treatment": [{"product": "msc", "source": "adipose", "dose": 1e5, "route": "iv"}],
                              "simulation": {"duration_h": 1, "domain_um": 400}})
    r = build(e)
    msc = next(t for t in r.model.cell_types if t.name == "msc_adipose")
    vegf = load_catalogue().get("msc_sources", "adipose", "vegf_pg_per_1e6_cells_per_24h").value
    # the measured (culture, normoxic) rate is the floor HIF-1's oxygen rule brings it to; without
    # oxygen the cell makes the library's hypoxic fold of it
    (hif,) = [x for x in r.model.rules if x.cell_type == "msc_adipose" and x.behavior == "vegf export"]
    assert hif.saturation == pytest.approx(vegf * PG_PER_1E6_PER_DAY) and hif.direction == "decreases"
    assert msc.secretion["vegf"].net_export_rate == pytest.approx(5 * vegf * PG_PER_1E6_PER_DAY)
    assert r.link.product_type == "msc_adipose" and r.model.arrivals[0].cell_type == "msc_adipose"


def test_a_measured_oxygen_consumption_becomes_the_first_order_uptake_that_consumes_it():
    # A549: 88.8 amol/s per cell (Molter 2008). PhysiCell's uptake U removes U·ρ·V per minute;
    # at the reference level ρ with dissolved α·ρ (mol/L) that must be the measured rate
    from tropism.units import uptake_from_consumption

    e = experiment_from_dict({"host": {"species": "mouse", "immune": "nude"},
                              "tumour": {"line": "A549", "site": "lung", "cells": 10},
                              "simulation": {"duration_h": 1, "domain_um": 400}})
    r = build(e)
    a549 = r.model.cell_types[0]
    o2 = load_defaults()["oxygen"]
    alpha, ref = o2["solubility_uM_per_mmHg"]["value"] * 1e-6, o2["uptake_reference_mmHg"]["value"]
    u = a549.secretion["oxygen"].uptake_rate
    consumed_amol_per_s = u / 60.0 * alpha * ref * a549.volume.total * 1e-15 * 1e18
    assert consumed_amol_per_s == pytest.approx(load_catalogue().get(
        "cell_lines", "A549", "oxygen_consumption_rate_amol_per_cell_per_s").value, rel=1e-12)
    src = r.model.provenance["cell_types[A549].secretion[oxygen].uptake_rate"]
    assert "Molter" in src.source and "converted at" in src.source and src.status == "U" and src.unit == "1/min"
    # a line without a measurement keeps the declared prior
    glioma_u87 = build(load_experiment(EXAMPLES / "glioma_msc_ia_same_side.toml")).model
    assert glioma_u87.cell_types[0].secretion["oxygen"].uptake_rate == load_defaults()["tumour"]["oxygen_uptake_per_min"]["value"]
    with pytest.raises(ValueError):
        uptake_from_consumption(-1.0, 1000.0, 1.34, 38.0)


def test_every_library_rule_applies_to_its_role_and_every_number_has_a_source(glioma):
    m = glioma.model
    roles = {"tumour": ["U87"], "msc": ["msc_bone_marrow"], "caf": ["msc_bone_marrow_caf"]} | {
        name: [name] for name in glioma.immune}
    assert glioma.roles["caf"] == roles["caf"]
    assert glioma.immune == ["nk", "macrophage", "macrophage_m2"]  # a nude host: no T cells
    from tropism.library import load_rules
    subs = set(m.substrate_names) | {"pressure", "damage"}  # signals of the cell itself
    cat = load_catalogue()

    def applies(r):
        if r.applies_to.startswith("has:"):
            from tropism.resolve.check import carries
            return r.cell_type == "tumour" and carries(cat, "U87", r.applies_to[4:])
        return not r.applies_to or r.applies_to in ("U87", "bone_marrow", *glioma.immune)
    # every row of a role in the scenario, for a line it applies to, whose factor some cell makes
    def readable(signal):  # a factor some cell makes, or the touch of a role the scenario has
        return signal in subs or signal.removeprefix("contact with ") in roles

    def made(behaviour):  # a secretion of a factor the scenario does not simulate is left out
        from tropism.resolve.tissue import _behaviour_substrate
        sub = _behaviour_substrate(behaviour)
        return not sub or sub in subs

    def carriers(r):  # a CAF keeps every stromal row of its MSC but the fate
        return roles[r.cell_type] + (roles["caf"] if r.cell_type == "msc" and r.behaviour != "transform to caf"
                                     else [])
    expected = sum(len(carriers(r)) for r in load_rules() if r.cell_type in roles and applies(r)
                   and readable(r.signal) and made(r.behaviour))
    assert len(m.rules) == expected and expected >= 8
    assert all(r.signal_kind and r.behaviour_kind for r in m.rules)    # resolved by the model
    assert m.provenance and all(p.source for p in m.provenance.values())


def test_a_cxcr4_blockade_blocks_the_msc_sdf1_rules():
    r = build(load_experiment(EXAMPLES / "subcutaneous_cxcr4_blockade.toml"))
    (iv,) = r.model.interventions
    assert iv.kind == "block_signal" and iv.target == "sdf1" and iv.cell_types == ["msc_bone_marrow"]
    assert iv.efficacy == 0.9


def test_the_body_gets_the_route_schedule_and_tumour(glioma):
    b = glioma.body
    assert b.species == "rat" and b.route.kind == "ia" and b.route.artery == "brain"
    assert b.tumour.site == "brain" and b.tumour.volume_mm3 == pytest.approx(4 / 3 * np.pi * 0.4 ** 3)
    # the tumour's perfusion flows back from the tissue: the library's, for its viable share
    from tropism.body.library import load_physiology
    assert glioma.link.perfusion_viable_ml_min_per_ml == load_physiology("rat").tumour_perfusion
    assert "viable tumour tissue" in glioma.link_provenance["perfusion_viable_ml_min_per_ml"].source
    e = experiment_from_dict({"host": {"species": "mouse"},
                              "tumour": {"line": "4T1", "site": "subcutaneous", "cells": 10},
                              "treatment": [{"product": "msc", "source": "bone_marrow", "dose": 1e5, "route": "iv",
                                             "times_h": [0, 24, 48]}],
                              "simulation": {"duration_h": 72, "domain_um": 400}})
    b = build(e).body
    assert b.schedule.start_times_min() == [0.0, 24 * 60.0, 48 * 60.0]
    # any administration times: uneven and not starting at 0
    e2 = e.model_copy(update={"treatment": (e.treatment[0].model_copy(update={"times_h": (6.0, 24.0, 60.0)}),)})
    assert build(e2).body.schedule.start_times_min() == [360.0, 1440.0, 3600.0]


def test_tropism_run_runs_a_scenario_coupled_to_the_body(tmp_path):
    import subprocess
    import sys
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "tropism.cli", "run", str(EXAMPLES / "glioma_msc_iv.toml"),
                        "--max-time", "30", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    for name in ("exchange.csv", "body.csv", "final.xml", "timeseries.csv"):
        assert (out / name).is_file(), name
    assert (out / "homing.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("dims", [2, 3])
def test_a_starting_size_in_cells_places_that_many_without_overlap(dims):
    e = experiment_from_dict({"host": {"species": "mouse"},
                              "tumour": {"line": "LLC", "site": "subcutaneous", "cells": 300, "dimensions": dims},
                              "simulation": {"duration_h": 1, "domain_um": 600}})
    m = build(e).model
    pos = m.initial_cells.positions
    assert len(pos) == 300
    if dims == 2:
        assert np.all(pos[:, 2] == 0)
    else:
        assert np.ptp(pos[:, 2]) > 0
    from scipy.spatial.distance import pdist
    d_cell = (m.cell_types[0].volume.total * 6 / np.pi) ** (1 / 3)
    assert pdist(pos).min() >= 0.99 * d_cell


def test_timeseries_counts_what_the_run_holds(tmp_path):
    """The tidy series against counts taken straight from the run's own final state."""
    import csv
    from tropism.io.timeseries import TimeSeries
    from tropism.run import run_model
    e = experiment_from_dict({"host": {"species": "mouse"},
                              "tumour": {"line": "LLC", "site": "subcutaneous", "cells": 200},
                              "treatment": [{"product": "msc", "source": "bone_marrow", "dose": 1e6, "route": "iv"}],
                              "simulation": {"duration_h": 1, "domain_um": 600, "save_every_h": 0.5}})
    r = build(e)
    out = tmp_path / "run"
    ts = TimeSeries(out, r.model, r.roles["tumour"], r.roles["msc"], r.hypoxic_mmHg)
    run_model(r.model, out, png=False, body=r.body, link=r.link, extra_recorders=[ts])
    rows = list(csv.DictReader((out / "timeseries.csv").read_text().splitlines()))
    times = sorted({float(x["time_min"]) for x in rows if x["quantity"] == "tumour_live_cells"})
    assert times == [0.0, 30.0, 60.0]                      # initial, one save, the end (not twice)
    last = {x["quantity"]: float(x["value"]) for x in rows if float(x["time_min"]) == 60.0}
    pops = list(csv.DictReader((out / "populations.csv").read_text().splitlines()))[-1]
    assert float(pops["time_min"]) == 60.0 and last["tumour_live_cells"] == float(pops["LLC_live"])
    assert last["msc_in_tumour:msc_bone_marrow"] <= float(pops["msc_bone_marrow_live"])
    assert 0 <= last["hypoxic_fraction"] <= 1 and last["tumour_extent"] > 0
    body = {x["quantity"]: float(x["value"]) for x in rows if x["quantity"].startswith("body_viable:")}
    assert body and sum(body.values()) <= 1e6 * (1 + 1e-9)    # the body never holds more than was given


def test_every_treatment_gets_its_own_body_and_link_and_interventions_act_or_are_refused():
    from tropism.errors import TropismInputError
    e = experiment_from_dict({"host": {"species": "mouse"},
                              "tumour": {"line": "LLC", "site": "subcutaneous", "cells": 10},
                              "treatment": [{"product": "msc", "source": "bone_marrow", "dose": 1e5, "route": "iv"},
                                            {"product": "drug", "name": "paclitaxel", "dose": 0.4, "route": "iv",
                                             "times_h": [2, 30]},
                                            {"product": "exosome", "dose": 1e9, "route": "iv"}],
                              "simulation": {"duration_h": 40, "domain_um": 400}})
    r = build(e)
    # and the tumour's own exosomes, which its CD8 T cells sense (exosomal PD-L1), after them
    assert [b.product.kind for b in r.bodies] == ["msc", "drug", "exosome", "tumour_exosome"]
    assert r.bodies[1].schedule.start_times_min() == [120.0, 1800.0]
    assert [lk.product_type for lk in r.links] == ["msc_bone_marrow", "", "", ""]
    # the drug is a tissue substrate supplied by the vessels from its plasma level, and what the
    # tissue takes up is debited from the plasma
    assert "paclitaxel" in r.model.substrate_names and r.model.vessels.permeability["paclitaxel"] > 0
    (p,) = r.links[1].plasma
    (q,) = r.links[1].release
    assert p.substrate == q.substrate == "paclitaxel" and p.state == q.state == ("plasma", "viable")
    base = {"host": {"species": "mouse"}, "tumour": {"line": "LLC", "site": "subcutaneous", "cells": 10},
            "treatment": [{"product": "msc", "source": "bone_marrow", "dose": 1e5, "route": "iv"}],
            "simulation": {"duration_h": 10, "domain_um": 400}}
    for iv, words in (({"kind": "blockade", "target": "hif1a_msc", "start_h": 2}, "not a window"),
                      ({"kind": "blockade", "target": "pdl1"}, "not simulated yet"),
                      ({"kind": "vasodilator", "factor": 1.5, "start_h": 1}, "whole run")):
        with pytest.raises(TropismInputError, match=words):
            build(experiment_from_dict({**base, "intervention": [iv]}))
    r = build(experiment_from_dict({**base, "intervention": [{"kind": "vasodilator", "factor": 1.5}]}))
    assert r.body.interventions.vasodilator == 1.5
    # a CXCR4 blockade from 2 h: in the MSCs' rules from then on, and in the body from the first
    # exchange after it opens (not at the start)
    r = build(experiment_from_dict({**base, "intervention": [{"kind": "blockade", "target": "cxcr4", "start_h": 2}]}))
    (iv,) = [x for x in r.model.interventions if x.kind == "block_signal"]
    assert iv.start_min == 120.0 and iv.cell_types == ["msc_bone_marrow"] and r.body.interventions.sdf1_blockade == 0
    r = build(experiment_from_dict({**base, "intervention": [{"kind": "irradiation", "dose_gy": 2, "start_h": 3}]}))
    kinds = sorted((iv.kind, tuple(iv.cell_types)) for iv in r.model.interventions)
    assert ("irradiate", ("LLC",)) in kinds and ("irradiate", ("msc_bone_marrow",)) in kinds
    assert all(iv.start_min == 180.0 for iv in r.model.interventions)


def _msc_drift(blocked: bool, seed: int) -> float:
    """Mean x displacement (µm) of library MSCs in a fixed SDF-1 gradient over 4 h."""
    from tropism import TissueSolver
    from tropism.model import InitialCells, Intervention
    e = experiment_from_dict({"host": {"species": "mouse"},
                              "treatment": [{"product": "msc", "source": "bone_marrow", "dose": 1e5, "route": "iv"}],
                              "simulation": {"duration_h": 4, "domain_um": 600}})
    m = build(e).model
    # a fixed gradient: no diffusion or decay of SDF-1; the MSCs alone, no body
    subs = [s.model_copy(update={"diffusion_coefficient": 0.0, "decay_rate": 0.0}) if s.name == "sdf1" else s
            for s in m.substrates]
    rng = np.random.default_rng(seed)
    pos = np.column_stack([rng.uniform(-60, 60, 80), rng.uniform(-200, 200, 80), np.zeros(80)])
    ivs = [Intervention(kind="block_signal", target="sdf1", cell_types=["msc_bone_marrow"], efficacy=1.0,
                        source="test")] if blocked else []
    # the MSCs' own CXCL12 would pile up where they sit (no diffusion here): the fixed gradient alone
    types = [c.model_copy(update={"secretion": {k: v.model_copy(update={"net_export_rate": 0.0})
                                                for k, v in c.secretion.items()}}) for c in m.cell_types]
    m = m.model_copy(update={"substrates": subs, "arrivals": [], "interventions": ivs, "cell_types": types,
                             "initial_cells": InitialCells(positions=pos, types=np.zeros(80, dtype=np.int64))})
    s = TissueSolver(m, seed=seed)
    x = s.mesh.centers()[:, 0].reshape(s.fields.shape[1:])
    s.fields[m.substrate_names.index("sdf1")] = 36.0 + 0.05 * x      # ng/mL, about the rule's half-max
    # MSCs divide (61 h doubling): follow the founding cells by ID, not by row
    n0 = s.agents.n
    start = dict(zip(s.agents.arrays["id"][:n0].tolist(), s.agents.position[:n0, 0].tolist()))
    while s.time < 240.0 - 1e-9:
        s.step()
    ids = s.agents.arrays["id"][: s.agents.n].tolist()
    x = s.agents.position[: s.agents.n, 0]
    moved = [x[i] - start[k] for i, k in enumerate(ids) if k in start]
    assert len(moved) == n0                    # every founder is still there to measure
    return float(np.mean(moved))


def test_the_library_sdf1_rule_moves_mscs_up_the_gradient_and_a_cxcr4_blockade_stops_it():
    """The CBHG row 'msc, sdf1, increases, chemotactic response to sdf1' switched on and off."""
    on = [_msc_drift(False, seed) for seed in (1, 2, 3)]
    off = [_msc_drift(True, seed) for seed in (1, 2, 3)]
    assert min(on) > 20.0                      # up the gradient, every seed
    assert max(abs(v) for v in off) < 10.0     # blocked: a random walk, no drift
