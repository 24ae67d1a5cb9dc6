"""The built-in benchmark cases are the shared PhysiCell bench models (same domain, cells, clocks)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from scipy.spatial import cKDTree

from tropism.bench import CASES, SPACING, case_model, packed_positions
from tropism.model.physicell import load_model

from conftest import REPO

BENCH = REPO.parent / "shared" / "bench"


def test_packed_disc_spacing_and_radius():
    p = packed_positions(1000, 2)
    d = np.linalg.norm(p[:, None, :] - p[None, :, :], axis=-1)
    np.fill_diagonal(d, np.inf)
    assert d.min(axis=1).max() == pytest.approx(SPACING, rel=1e-9)
    assert SPACING == pytest.approx(15.98, abs=0.01)
    # N points on a hexagonal lattice of spacing s fill a disc of area N·s²·√3/2
    r = np.hypot(p[:, 0], p[:, 1]).max()
    assert r == pytest.approx(np.sqrt(1000 * SPACING**2 * np.sqrt(3) / 2 / np.pi), rel=0.05)


@pytest.mark.skipif(not BENCH.is_dir(), reason="shared/bench not beside the checkout")
@pytest.mark.parametrize("name", [c for c in CASES if (BENCH / c).is_dir()])
def test_builtin_case_matches_shared_files(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = load_model(BENCH / name / "PhysiCell_settings.xml")
    ours = case_model(name)
    assert ours.domain == ref.domain
    assert ours.clocks == ref.clocks
    assert len(ours.initial_cells) == len(ref.initial_cells)
    # the same lattice points; only which points fill the outermost shell may differ
    dist, _ = cKDTree(ref.initial_cells.positions).query(ours.initial_cells.positions)
    assert np.mean(dist < 0.01) > 0.99
    s_ours, s_ref = ours.substrates[0], ref.substrates[0]
    for f in ("diffusion_coefficient", "decay_rate", "initial_condition", "dirichlet_enabled", "dirichlet_value"):
        assert getattr(s_ours, f) == getattr(s_ref, f), f
    t_ours, t_ref = ours.cell_types[0], ref.cell_types[0]
    assert t_ours.secretion["oxygen"].uptake_rate == t_ref.secretion["oxygen"].uptake_rate
    assert t_ours.volume == t_ref.volume
    assert t_ours.mechanics.cell_cell_adhesion_strength == t_ref.mechanics.cell_cell_adhesion_strength


def test_packed_ball_is_the_nearest_lattice_points():
    p = packed_positions(5000, 3)
    r = np.linalg.norm(p, axis=1)
    # every fcc point closer than the farthest chosen one is chosen (no holes inside)
    a = SPACING * np.sqrt(2.0)
    g = np.arange(-12, 13)
    base = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    offs = np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]])
    lattice = (base[:, None, :] + offs[None]).reshape(-1, 3) * a
    inside = np.linalg.norm(lattice, axis=1) < r.max() - 1e-6
    assert inside.sum() <= len(p)
    d, _ = cKDTree(p).query(lattice[inside])
    assert d.max() < 1e-6
