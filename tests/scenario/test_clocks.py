"""The solver's clocks for scenarios: the library's per dimension, a scenario's own, refused
when inconsistent, kept through PhysiCell's file, and answering as PhysiCell's clocks do."""

from __future__ import annotations

import numpy as np
import pytest

from tropism.errors import TropismInputError
from tropism import load_model, model_to_xml_string, write_model
from tropism.model.experiment import experiment_from_dict
from tropism.resolve import build
from tropism.tissue.solver import TissueSolver

LOD_PHYSICELL = {"dt_diffusion": 0.01, "dt_mechanics": 0.1, "dt_phenotype": 6.0, "diffusion_scheme": "lod"}


def _experiment(dims=2, hours=1.0, radius=150.0, domain=600.0, **sim):
    return experiment_from_dict({"host": {"species": "mouse", "immune": "nude"},
                                 "tumour": {"line": "U87", "site": "brain", "hemisphere": "right",
                                            "radius_um": radius, "dimensions": dims},
                                 "simulation": {"duration_h": hours, "domain_um": domain, **sim}})


def test_2d_scenarios_take_douglas_and_longer_steps_3d_keeps_physicell_clocks():
    two = build(_experiment(2)).model.clocks
    assert (two.diffusion_scheme, two.dt_diffusion, two.dt_mechanics, two.dt_phenotype) == ("douglas", 0.1, 0.5, 6.0)
    three = build(_experiment(3, radius=60.0, domain=200.0)).model
    c = three.clocks
    assert (c.diffusion_scheme, c.dt_diffusion, c.dt_mechanics) == ("lod", 0.01, 0.1)
    assert "default prior" in build(_experiment(2)).model.provenance["clocks.dt_mechanics"].source
    # oxygen, which the tumour cells take up at 10/min, keeps 0.1 min; the slow cytokines step
    # once per mechanics interval (tissue/diffusion.douglas_substeps)
    model = build(_experiment(2)).model
    k = TissueSolver(model).diffusion.substeps
    assert k[model.substrate_names.index("oxygen")] == 1
    assert all(k[i] == 5 for i, n in enumerate(model.substrate_names) if n != "oxygen")


def test_a_scenario_sets_its_own_clocks_and_an_inconsistent_set_is_refused():
    own = build(_experiment(2, dt_diffusion_min=0.01, dt_mechanics_min=0.1, diffusion_scheme="lod")).model
    assert (own.clocks.diffusion_scheme, own.clocks.dt_diffusion, own.clocks.dt_mechanics) == ("lod", 0.01, 0.1)
    assert own.provenance["clocks.dt_diffusion"].source == "scenario file"
    with pytest.raises(TropismInputError) as err:
        build(_experiment(2, dt_diffusion_min=2.0), file="x.toml")
    text = str(err.value)
    assert "x.toml" in text and "dt_diffusion_min" in text and "dt_diffusion <= dt_mechanics" in text
    with pytest.raises(TropismInputError, match="douglas"):
        experiment_from_dict({"simulation": {"duration_h": 1, "diffusion_scheme": "adi"}})


def test_the_scheme_survives_physicell_settings_and_a_file_without_it_is_lod(tmp_path):
    # PhysiCell's files hold no vessel bed, nor cells that come from or go to a body
    model = build(_experiment(2)).model.model_copy(update={"vessels": None, "arrivals": [], "departures": []})
    text = model_to_xml_string(model)
    assert "<diffusion_scheme>douglas</diffusion_scheme>" in text
    back = load_model(write_model(model, tmp_path))
    assert back.clocks == model.clocks
    lod = model.model_copy(update={"clocks": model.clocks.model_copy(update=LOD_PHYSICELL)})
    assert "diffusion_scheme" not in model_to_xml_string(lod)


def _state(model, seed):
    s = TissueSolver(model, seed=seed)
    while s.time < model.clocks.max_time - 1e-9:
        s.step()
    a = s.agents
    live = a.death_state[: a.n] == 0
    region = np.zeros(s.mesh.n_voxels, bool)
    region[a.voxel[: a.n][live]] = True
    o2 = s.flat_fields[0]
    return live.sum(), o2[region].mean(), o2.min()


def test_the_library_2d_clocks_answer_as_physicells_over_half_a_day():
    # The tumour grows and starves its core as under PhysiCell's clocks: live cells within
    # 2 %, and the tumour's oxygen within 5 % (most of it LOD's own drift at 0.01 min, which
    # the Douglas scheme removes), over two seeds.
    # without the vessel bed, as PhysiCell's sample tumours: oxygen only from the domain's edge
    model = build(_experiment(2, hours=8.0)).model.model_copy(update={"vessels": None})
    physicell = model.model_copy(update={"clocks": model.clocks.model_copy(update=LOD_PHYSICELL)})
    ours = [_state(model, seed) for seed in (1, 2)]
    ref = [_state(physicell, seed) for seed in (1, 2)]
    live_ours, live_ref = np.median([o[0] for o in ours]), np.median([r[0] for r in ref])
    o2_ours, o2_ref = np.median([o[1] for o in ours]), np.median([r[1] for r in ref])
    assert live_ref > 1.2 * np.pi * 150**2 / (np.pi * 8.4**2)  # it grew (U87 packs ~ 1 cell per 220 µm²)
    assert abs(live_ours / live_ref - 1) < 0.02, (live_ours, live_ref)
    assert abs(o2_ours / o2_ref - 1) < 0.05, (o2_ours, o2_ref)
    assert o2_ref < 0.9 * 38.0  # the tumour really consumes oxygen


def test_a_restored_solver_continues_its_substeps_as_the_uninterrupted_one():
    # the slow cytokines step at base steps ≡ 0 (mod 5): a solver rebuilt from a state taken
    # between mechanics steps must keep that phase, or its fields drift from the run never stopped
    model = build(_experiment(2, hours=1.0, radius=120.0, domain=400.0)).model
    whole = TissueSolver(model, seed=3)
    for _ in range(12):
        whole.step()
    first = TissueSolver(model, seed=3)
    for _ in range(5):
        first.step()
    again = TissueSolver(model, seed=3)
    again.load_state(first.state_dict())
    assert again.diffusion.steps_taken == first.diffusion.steps_taken == 25
    for _ in range(7):
        again.step()
    np.testing.assert_array_equal(again.fields, whole.fields)
    n = whole.agents.n
    np.testing.assert_array_equal(again.agents.position[:n], whole.agents.position[:n])
