"""The step as scheduled operations (issue 8, item 3): PhysiCell's order, and a new operation
added without editing the solver's loop."""

from __future__ import annotations

import numpy as np
import pytest

from tropism import TissueSolver, load_model
from tropism.tissue.agents import STATE_FIELDS
from tropism.tissue.operations import CLOCKS, Operation, Schedule
from tropism.tissue.parameters import AGENT_PARAMETERS

from conftest import bench_models


def _rules_3types():
    return load_model(bench_models() / "rules_3types" / "PhysiCell_settings.xml")


def test_standard_order_is_physicells():
    s = TissueSolver(_rules_3types(), seed=1)
    assert s.schedule.names("phenotype") == ["transform", "rules", "volume", "damage", "death_cycle", "removal",
                                             "division"]
    assert s.schedule.names("mechanics") == ["neighbours", "walls", "motility", "interactions", "positions"]
    assert s.schedule.names("diffusion") == ["diffuse"]
    assert s.schedule.names("exchange") == []  # no arrivals or departures in a PhysiCell model


def test_operations_name_real_arrays():
    s = TissueSolver(_rules_3types(), seed=1)
    known = set(STATE_FIELDS) | set(AGENT_PARAMETERS) | {"fields", "sources", "conversion_weights", "arrived",
                                                        "departed", "arrival rates", "vessel density"}
    for clock in CLOCKS:
        for op in s.schedule.operations[clock]:
            for name in op.reads + op.writes:
                assert name.startswith("<") or name in known, f"{clock}/{op.name}: {name}"


def test_a_new_operation_runs_in_its_clock_without_editing_the_loop():
    s = TissueSolver(_rules_3types(), seed=1)
    calls = {"exchange": 0, "diffusion": 0, "phenotype": []}
    s.schedule.add(Operation("count", "exchange", lambda sv: calls.__setitem__("exchange", calls["exchange"] + 1)))

    def per_step(sv, n_steps):
        assert n_steps == 1  # a non-batch operation makes the clock step one at a time
        calls["diffusion"] += 1

    s.schedule.add(Operation("probe", "diffusion", per_step), after="diffuse")
    s.schedule.add(Operation("seen", "phenotype", lambda sv: calls["phenotype"].append(sv.agents.n)),
                   before="division")
    for _ in range(120):
        s.step()
    assert calls["exchange"] == 120
    assert calls["diffusion"] == 120 * s.diffusion_per_mechanics
    assert len(calls["phenotype"]) == 120 // s.mechanics_per_phenotype
    with pytest.raises(ValueError, match="no operation"):
        s.schedule.add(Operation("x", "mechanics", lambda sv: None), after="forces")
    with pytest.raises(ValueError, match="unknown clock"):
        Operation("x", "hourly", lambda sv: None)


def test_a_schedule_runs_batched_only_when_every_operation_allows_it():
    seen = []
    sch = Schedule()
    sch.add(Operation("a", "diffusion", lambda s, k: seen.append(("a", k)), batch=True))
    sch.run_diffusion(None, 5)
    sch.add(Operation("b", "diffusion", lambda s, k: seen.append(("b", k))))
    sch.run_diffusion(None, 2)
    assert seen == [("a", 5), ("a", 1), ("b", 1), ("a", 1), ("b", 1)]


def test_removing_an_operation_removes_its_effect():
    m = _rules_3types()
    s = TissueSolver(m, seed=1)
    s.schedule.remove("phenotype", "division")
    n0 = s.agents.n
    for _ in range(600):
        s.step()
    assert s.agents.n <= n0  # no cell divided
    full = TissueSolver(m, seed=1)
    for _ in range(600):
        full.step()
    assert full.agents.n > n0
    assert np.all(np.isfinite(s.agents.position[: s.agents.n]))
