"""Cell-catalysed conversion A → B (prodrug activation), against conservation and analytic
Michaelis–Menten kinetics (issue 8, item 9)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tropism import TissueSolver
from tropism.errors import TropismInputError
from tropism.model import (CellType, Clocks, Conversion, Cycle, Domain, InitialCells, Model, Motility,
                           PhaseLink, SaveOptions, Substrate)
from tropism.model.phenotype import default_apoptosis, default_necrosis


def _model(vmax: float, km: float, *, D: float = 0.0, cells: int = 1, a0: float = 1.0) -> Model:
    still = CellType(name="cd_msc", id=0, cycle=Cycle(code=5, links=[PhaseLink(start=0, end=0, rate=0.0)]),
                     apoptosis=default_apoptosis().model_copy(update={"rate": 0.0}),
                     necrosis=default_necrosis().model_copy(update={"rate": 0.0}),
                     motility=Motility(enabled=False, speed=0.0))
    subs = [Substrate(name="5-FC", diffusion_coefficient=D, decay_rate=0.0, initial_condition=a0),
            Substrate(name="5-FU", diffusion_coefficient=D, decay_rate=0.0, initial_condition=0.0)]
    pos = np.array([[-30.0 + 20.0 * k, 0.0, 0.0] for k in range(cells)])
    return Model(domain=Domain(x_min=-100, x_max=100, y_min=-100, y_max=100), clocks=Clocks(max_time=10.0),
                 save=SaveOptions(full_data_enabled=False), substrates=subs, cell_types=[still],
                 initial_cells=InitialCells(positions=pos, types=np.zeros(cells, dtype=np.int64)),
                 conversions=[Conversion(cell_type="cd_msc", substrate="5-FC", product="5-FU", vmax=vmax, km=km,
                                         source="test", status="U")])


def test_a_plus_b_is_conserved_with_diffusion():
    s = TissueSolver(_model(vmax=50.0, km=0.5, D=1e3, cells=4), seed=1)
    total0 = s.fields.sum()
    for _ in range(300):
        s.step()
    a, b = s.fields[0].sum(), s.fields[1].sum()
    assert b > 0.01 * total0  # something was converted
    assert abs((a + b) - total0) <= 1e-10 * total0


def _mm_residual(dt: float) -> tuple[float, float]:
    vmax, km, a0 = 2.0, 0.3, 1.0
    m = _model(vmax=vmax, km=km, a0=a0)
    m.clocks = Clocks(max_time=10.0, dt_diffusion=dt)
    s = TissueSolver(m, seed=1)
    v = s.agents.voxel[0]
    w = s.agents.volume[0] / s.mesh.voxel_volume * vmax
    for _ in range(20):  # 2 min: A falls to about a third, through the saturated and linear regimes
        s.step()
    a = s.flat_fields[0, v]
    assert 0.05 < a < 0.8
    other = np.delete(s.flat_fields[0], v)
    assert np.all(other == a0)  # voxels without the cell are untouched
    assert s.flat_fields[1, v] == pytest.approx(a0 - a, rel=1e-12)
    # the exact solution satisfies km·ln(A0/A) + (A0 − A) = w·t
    return km * math.log(a0 / a) + (a0 - a) - w * s.time, w * s.time


def test_michaelis_menten_in_one_voxel_matches_the_analytic_solution():
    r1, wt = _mm_residual(0.01)
    r2, _ = _mm_residual(0.005)
    assert abs(r1) <= 1e-2 * wt
    # first order in dt: half the step, half the error
    assert abs(r2) == pytest.approx(0.5 * abs(r1), rel=0.1)


@pytest.mark.parametrize("vmax", [1e3, 1e8, 1e15])
def test_stable_at_dt_diffusion_for_any_vmax(vmax):
    s = TissueSolver(_model(vmax=vmax, km=1e-3, D=1e3, cells=3), seed=1)
    prev = s.fields[0].sum()
    for _ in range(30):
        s.step()
        a = s.fields[0].sum()
        assert np.all(np.isfinite(s.fields)) and np.all(s.fields >= 0.0)
        assert a <= prev + 1e-12
        prev = a
    n_voxels = s.mesh.n_voxels  # A started at 1 everywhere, B at 0
    assert abs(s.fields.sum() - n_voxels) <= 1e-10 * n_voxels


def test_no_conversion_without_vmax():
    s = TissueSolver(_model(vmax=0.0, km=1.0, cells=2), seed=1)
    for _ in range(20):
        s.step()
    assert np.all(s.fields[1] == 0.0)


def test_unknown_names_are_refused():
    m = _model(vmax=1.0, km=1.0)
    data = m.model_dump()
    data["conversions"][0]["product"] = "5-FUU"
    with pytest.raises(Exception, match="unknown product '5-FUU'"):
        Model.model_validate({**data, "initial_cells": m.initial_cells})
    assert TropismInputError  # the loaders turn this into one message with the file


def test_writing_a_model_with_conversions_says_what_is_left_out(tmp_path):
    from tropism.errors import UnsupportedElementWarning
    from tropism.model.physicell import write_model
    with pytest.warns(UnsupportedElementWarning, match="conversion"):
        write_model(_model(vmax=1.0, km=1.0), tmp_path / "out")
