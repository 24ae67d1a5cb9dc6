"""Speed choices (bin size, thread count) change at most the round-off, never the answer."""

from __future__ import annotations

import numpy as np

import tropism.tissue.solver as solver_module
from tropism.bench import case_model, packed_positions
from tropism.model import InitialCells
from tropism.tissue.solver import TissueSolver, set_threads

from conftest import needs_threads


def _model():
    model = case_model("mech_2d_10k")
    pos = packed_positions(2000, 2)
    pos += np.random.default_rng(5).normal(0.0, 2.0, pos.shape) * [1, 1, 0]  # out of equilibrium
    model.initial_cells = InitialCells(positions=pos, types=np.zeros(len(pos), dtype=np.int64))
    return model


def _run(model, steps=60):
    s = TissueSolver(model)
    for _ in range(steps):
        s.step()
    return s.agents.position[: s.agents.n].copy(), s.fields.copy()


def test_bin_size_changes_only_round_off(monkeypatch):
    model = _model()
    ref_pos, ref_fields = _run(model)
    # other bins, other summation order
    monkeypatch.setattr(solver_module.TissueSolver, "bin_reach", 1.7 * solver_module.TissueSolver.bin_reach)
    pos, fields = _run(model)
    np.testing.assert_allclose(pos, ref_pos, rtol=0, atol=1e-9)
    np.testing.assert_allclose(fields, ref_fields, rtol=1e-12, atol=1e-12)
    assert np.abs(ref_pos - model.initial_cells.positions).max() > 0.5  # the cells really moved


def _same_bits_on_one_and_two_threads(model, steps):
    try:
        set_threads(1)
        one = _run(model, steps=steps)
        set_threads(2)
        two = _run(model, steps=steps)
    finally:
        set_threads(2)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])


@needs_threads(2)
def test_thread_count_changes_nothing():
    _same_bits_on_one_and_two_threads(_model(), 30)


@needs_threads(2)
def test_thread_count_changes_nothing_with_large_agents_among_small_ones():
    # a few cells twice the others' radius are scanned apart (mechanics._large_agents); their
    # pairs are summed in a fixed order, so one thread and two give the same bits
    model = _model()
    ct = model.cell_types[0]
    big = ct.model_copy(update={"name": "big", "id": 1,
                                "volume": ct.volume.model_copy(update={"total": 8.0 * ct.volume.total})})
    types = model.initial_cells.types.copy()
    types[::97] = 1
    model = model.model_copy(update={"cell_types": [ct, big],
                                     "initial_cells": InitialCells(positions=model.initial_cells.positions,
                                                                   types=types)})
    from tropism.tissue.mechanics import ordinary_extent
    probe = TissueSolver(model)
    n = probe.agents.n
    e_cut, e_max = ordinary_extent(probe.agents.radius[:n], probe.agents.rel_max_adh[:n, 0])
    assert e_cut < e_max  # the large cells are scanned apart
    _same_bits_on_one_and_two_threads(model, 20)
