"""Arrivals: agents entering at sites drawn ∝ a weight, at a given rate (issue 8, item 9)."""

from __future__ import annotations

import numpy as np
import pytest

from tropism import TissueSolver
from tropism.model import (Arrival, CellType, Clocks, Cycle, Domain, InitialCells, Model, Motility, PhaseLink,
                           SaveOptions, Substrate)
from tropism.model.phenotype import default_apoptosis, default_necrosis


def _model(rate: float, weight: str = "") -> Model:
    msc = CellType(name="msc", id=0, cycle=Cycle(code=5, links=[PhaseLink(start=0, end=0, rate=0.0)]),
                   apoptosis=default_apoptosis().model_copy(update={"rate": 0.0}),
                   necrosis=default_necrosis().model_copy(update={"rate": 0.0}),
                   motility=Motility(enabled=False, speed=0.0))
    vessels = Substrate(name="vessels", diffusion_coefficient=0.0, decay_rate=0.0, initial_condition=1.0)
    return Model(domain=Domain(x_min=-200, x_max=200, y_min=-100, y_max=100), clocks=Clocks(max_time=10.0),
                 save=SaveOptions(full_data_enabled=False), substrates=[vessels], cell_types=[msc],
                 initial_cells=InitialCells(),
                 arrivals=[Arrival(cell_type="msc", rate_per_min=rate, weight=weight, source="test")])


@pytest.mark.parametrize("rate", [0.05, 2.0, 40.0])
def test_count_matches_rate_times_time_within_3_sigma(rate):
    s = TissueSolver(_model(rate), seed=5)
    steps = 2000
    for _ in range(steps):
        s.step()
    expected = rate * steps * s.dt_mechanics
    assert abs(s.agents.n - expected) <= 3.0 * np.sqrt(expected) + 1.0
    assert int(s.arrived[0]) == s.agents.n  # what entered is what the port counted


def test_sites_follow_the_weight_field():
    s = TissueSolver(_model(20.0, weight="vessels"), seed=2)
    x = s.mesh.centers()[:, 0]
    s.flat_fields[0] = np.where(x > 0.0, 3.0, 1.0)  # three times the vessel density on the right
    for _ in range(500):
        s.step()
    pos = s.agents.position[: s.agents.n]
    n = pos.shape[0]
    right = float(np.mean(pos[:, 0] > 0.0))
    assert abs(right - 0.75) <= 3.0 * np.sqrt(0.75 * 0.25 / n)
    d = s.model.domain
    assert np.all((pos[:, 0] >= d.x_min) & (pos[:, 0] <= d.x_max) & (pos[:, 1] >= d.y_min) & (pos[:, 1] <= d.y_max))


def test_same_seed_same_arrivals_and_rate_can_change():
    a, b = TissueSolver(_model(3.0), seed=9), TissueSolver(_model(3.0), seed=9)
    for _ in range(100):
        a.step()
        b.step()
    assert a.agents.n == b.agents.n and np.array_equal(a.agents.position[: a.agents.n], b.agents.position[: b.agents.n])
    a.set_arrival_rate(0, 0.0)
    n = a.agents.n
    for _ in range(100):
        a.step()
    assert a.agents.n == n


def test_unknown_weight_is_refused():
    with pytest.raises(Exception, match="unknown weight"):
        _model(1.0, weight="vesels")
