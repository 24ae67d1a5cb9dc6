"""Rule signals computed by the solver: substrate gradient and contact counts."""

from __future__ import annotations

import numpy as np
import pytest

from tropism.model import (CellType, Clocks, Cycle, Domain, InitialCells, Model, Motility, PhaseLink, Rule,
                           Substrate)
from tropism.tissue.solver import TissueSolver


def _model(rule: Rule, positions: np.ndarray) -> Model:
    cell = CellType(name="msc", id=0, cycle=Cycle(code=5, links=[PhaseLink(start=0, end=0, rate=0.0)]),
                    motility=Motility(enabled=True, speed=1.0, persistence_time=5.0, migration_bias=0.0))
    cell.apoptosis.rate = 0.0
    sdf1 = Substrate(name="SDF1", diffusion_coefficient=0.0, decay_rate=0.0, initial_condition=0.0)
    return Model(domain=Domain(x_min=-200, x_max=200, y_min=-200, y_max=200), clocks=Clocks(max_time=60.0),
                 substrates=[sdf1], cell_types=[cell], rules=[rule],
                 initial_cells=InitialCells(positions=positions, types=np.zeros(len(positions), dtype=np.int64)))


def test_gradient_signal_drives_a_rule():
    rule = Rule(cell_type="msc", signal="SDF1 gradient", direction="increases", behavior="migration speed",
                saturation=3.0, half_max=0.01, hill_power=2.0)
    pos = np.array([[-100.0, 0.0, 0.0], [0.0, 50.0, 0.0], [100.0, -50.0, 0.0]])
    solver = TissueSolver(_model(rule, pos))
    x = solver.mesh.centers()[:, 0].reshape(solver.fields.shape[1:])
    slope = 0.02  # per µm, along x
    solver.fields[0] = slope * (x - x.min())
    solver.step()  # phenotype step at t = 0 applies the rules
    u = (slope / 0.01) ** 2
    expected = 1.0 + (3.0 - 1.0) * u / (1.0 + u)
    np.testing.assert_allclose(solver.agents.speed[:3, 0], expected, rtol=1e-12)


def test_contact_signal_counts_neighbours_within_adhesion_reach():
    rule = Rule(cell_type="msc", signal="contact with msc", direction="decreases", behavior="migration speed",
                saturation=0.0, half_max=1.0, hill_power=1.0)
    # a pair in contact (12 µm apart < 1.25·2·8.41) and one cell alone
    pos = np.array([[0.0, 0.0, 0.0], [12.0, 0.0, 0.0], [150.0, 150.0, 0.0]])
    solver = TissueSolver(_model(rule, pos))
    solver.step()
    speed = solver.agents.speed[:3, 0]
    assert speed[0] == pytest.approx(0.5) and speed[1] == pytest.approx(0.5)  # one neighbour: 1·(1 − 1/2)
    assert speed[2] == pytest.approx(1.0)
