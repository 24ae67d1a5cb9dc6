"""Interventions through the rules and tables: blockade, behaviour scaling, source removal
(issue 8, item 9)."""

from __future__ import annotations

import numpy as np
import pytest

from tropism import TissueSolver
from tropism.model import (CellType, Clocks, Cycle, Domain, InitialCells, Intervention, Model, Motility,
                           PhaseLink, Rule, SaveOptions, SecretionParameters, Substrate)
from tropism.model.phenotype import default_apoptosis, default_necrosis

BASE, MAX, HALF, HILL = 1e-4, 1e-2, 20.0, 2.0


def _type(name: str, tid: int, **secretion) -> CellType:
    return CellType(name=name, id=tid, cycle=Cycle(code=5, links=[PhaseLink(start=0, end=0, rate=BASE)]),
                    apoptosis=default_apoptosis().model_copy(update={"rate": 1e-5}),
                    necrosis=default_necrosis().model_copy(update={"rate": 0.0}),
                    motility=Motility(enabled=False, speed=0.0),
                    secretion={k: SecretionParameters(**v) for k, v in secretion.items()})


def _model(interventions=()) -> Model:
    subs = [Substrate(name="sdf1", diffusion_coefficient=0.0, decay_rate=0.0, initial_condition=30.0),
            Substrate(name="vegf", diffusion_coefficient=100.0, decay_rate=0.0, initial_condition=0.0)]
    types = [_type("msc", 0, vegf={"secretion_rate": 1.0, "secretion_target": 1.0}), _type("tumor", 1)]
    rules = [Rule(cell_type=t, signal="sdf1", direction="increases", behavior="cycle entry", saturation=MAX,
                  half_max=HALF, hill_power=HILL) for t in ("msc", "tumor")]
    rules.append(Rule(cell_type="msc", signal="sdf1", direction="increases", behavior="vegf secretion",
                      saturation=2.0, half_max=HALF, hill_power=HILL))
    pos = np.array([[0.0, 0.0, 0.0], [40.0, 0.0, 0.0]])
    return Model(domain=Domain(x_min=-100, x_max=100, y_min=-100, y_max=100), clocks=Clocks(max_time=10.0),
                 save=SaveOptions(full_data_enabled=False), substrates=subs, cell_types=types, rules=rules,
                 initial_cells=InitialCells(positions=pos, types=np.array([0, 1])),
                 interventions=list(interventions))


def _hill(signal: float) -> float:
    u = (signal / HALF) ** HILL
    return BASE + (MAX - BASE) * u / (1.0 + u)


def _cycle_rates(model: Model) -> np.ndarray:
    s = TissueSolver(model, seed=1)
    s.step()  # the phenotype step at t = 0 applies the rules
    return s.agents.cycle_rate[: s.agents.n, 0].copy()


@pytest.mark.parametrize("efficacy", [0.0, 0.5, 0.9, 1.0])
def test_blockade_scales_the_signal_in_the_named_type_only(efficacy):
    iv = Intervention(kind="block_signal", target="sdf1", cell_types=["msc"], efficacy=efficacy, source="test")
    msc, tumor = _cycle_rates(_model([iv]))
    assert msc == pytest.approx(_hill(30.0 * (1.0 - efficacy)), rel=1e-12)
    assert tumor == pytest.approx(_hill(30.0), rel=1e-12)


def test_scale_behaviour_changes_the_base_value():
    iv = Intervention(kind="scale_behaviour", target="apoptosis", cell_types=["tumor"], factor=0.0, source="test")
    s = TissueSolver(_model([iv]), seed=1)
    s.step()
    assert s.agents.apoptosis_rate[0, 0] == pytest.approx(1e-5)
    assert s.agents.apoptosis_rate[1, 0] == 0.0


def test_removed_source_stays_removed_even_under_a_rule():
    s = TissueSolver(_model(), seed=1)
    for _ in range(30):
        s.step()
    assert s.fields[1].sum() > 0.0
    iv = Intervention(kind="remove_source", target="vegf", cell_types=["msc"], source="test")
    s = TissueSolver(_model([iv]), seed=1)
    for _ in range(30):
        s.step()
    assert s.fields[1].sum() == 0.0


@pytest.mark.parametrize("iv,expect", [
    (dict(kind="block_signal", target="oxygen"), "unknown signal"),
    (dict(kind="block_signal", target="vegf"), "no rule"),
    (dict(kind="block_signal", target="sdf1", cell_types=["nk"]), "unknown cell type"),
    (dict(kind="scale_behaviour", target="teleport"), "unknown behaviour"),
    (dict(kind="remove_source", target="il6"), "unknown substrate"),
])
def test_impossible_interventions_are_refused(iv, expect):
    with pytest.raises(Exception, match=expect):
        _model([Intervention(**iv)])
