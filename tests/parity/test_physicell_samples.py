"""What PhysiCell's own sample models need (issue 7): empty CSV entries, number_of_cells,
Studio leftovers, one not-simulated list for check and run, and no stray warnings."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from tropism import TissueSolver, load_model
from tropism.errors import UnsupportedElementWarning
from tropism.tissue.diffusion import DiffusionSolver
from tropism.tissue.mesh import Mesh
from tropism.tissue.support import not_simulated

from conftest import TESTS

HERE = TESTS
TEMPLATE = HERE / "fixtures" / "physicell_template"
GROWTH = HERE / "fixtures" / "bench" / "growth_2d"
RULES3 = HERE / "fixtures" / "bench" / "rules_3types"


def _copy(src: Path, tmp_path: Path) -> Path:
    dest = tmp_path / src.name
    shutil.copytree(src, dest)
    return dest / "PhysiCell_settings.xml"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def _line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(needle)


def _cli(*args, cwd) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return subprocess.run([sys.executable, "-m", "tropism.cli", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


# -- cells CSV ------------------------------------------------------------------------------------

def test_empty_volume_entry_means_the_type_default(tmp_path):
    """PhysiCell's rules sample leaves 'volume' empty: the cell keeps its type's volume."""
    xml = _copy(GROWTH, tmp_path)
    csv = xml.parent / "cells.csv"
    lines = csv.read_text().splitlines()
    rows = [lines[0] + ",volume"] + [ln + ("," if k % 2 else ",3000") for k, ln in enumerate(lines[1:])]
    csv.write_text("\n".join(rows) + "\n")
    model = load_model(xml)
    s = TissueSolver(model, seed=1)
    vol = s.agents.volume[: s.agents.n]
    default = model.cell_types[0].volume.total
    assert np.all(np.isfinite(vol)) and np.all(np.isfinite(s.agents.radius[: s.agents.n]))
    assert np.allclose(vol[1::2], default) and np.allclose(vol[0::2], 3000.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(70):  # past a phenotype step and its contact signals
            s.step()


def test_csv_column_reported_only_when_it_carries_values(tmp_path):
    xml = _copy(GROWTH, tmp_path)
    csv = xml.parent / "cells.csv"
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join([lines[0] + ",custom:GFP"] + [ln + "," for ln in lines[1:]]) + "\n")
    assert not any("GFP" in u for u in not_simulated(load_model(xml)))
    csv.write_text("\n".join([lines[0] + ",custom:GFP"] + [ln + ",1" for ln in lines[1:]]) + "\n")
    assert any("custom:GFP" in u for u in not_simulated(load_model(xml)))


# -- number_of_cells ------------------------------------------------------------------------------

def test_number_of_cells_places_random_cells_of_each_type(tmp_path):
    model = load_model(TEMPLATE / "PhysiCell_settings.xml")
    assert model.random_cells_per_type == 5 and len(model.initial_cells) == 0
    a = TissueSolver(model, seed=3).agents
    b = TissueSolver(model, seed=3).agents
    c = TissueSolver(model, seed=4).agents
    pos = a.position[: a.n]
    d = model.domain
    assert a.n == 5 * len(model.cell_types)
    assert np.all((pos[:, 0] >= d.x_min) & (pos[:, 0] <= d.x_max) & (pos[:, 1] >= d.y_min) & (pos[:, 1] <= d.y_max))
    assert np.all(pos[:, 2] == 0.0)  # 2D: z = 0, as PhysiCell's template
    assert np.array_equal(pos, b.position[: b.n])  # the seed fixes the layout
    assert not np.allclose(pos, c.position[: c.n])  # and another seed moves it
    # spread over the domain, not clumped: mean near the centre
    assert abs(pos[:, 0].mean()) < 0.5 * (d.x_max - d.x_min)


def test_random_cells_come_before_csv_cells(tmp_path):
    xml = _copy(GROWTH, tmp_path)
    text = xml.read_text()
    xml.write_text(re.sub(r"(<number_of_cells[^>]*>)0(</number_of_cells>)", r"\g<1>7\g<2>", text))
    model = load_model(xml)
    s = TissueSolver(model, seed=1)
    assert s.agents.n == 7 + len(model.initial_cells)
    csv_first = model.initial_cells.positions[0]
    assert np.allclose(s.agents.position[7], csv_first)


@pytest.mark.parametrize("value,expect", [("-2", "number_of_cells out of range"), ("many", "expected an integer")])
def test_bad_number_of_cells_is_refused(tmp_path, value, expect):
    xml = _copy(TEMPLATE, tmp_path)
    _edit(xml, '(for each cell type)">5<', f'(for each cell type)">{value}<')
    r = _cli("check", xml, cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert expect in " ".join(r.stderr.split()) and "number_of_cells" in r.stderr


# -- what PhysiCell accepts, with a warning -------------------------------------------------------

def test_leftover_sensitivity_for_a_missing_substrate_is_ignored_with_its_line(tmp_path):
    xml = _copy(RULES3, tmp_path)
    _edit(xml, "</chemotaxis>", "</chemotaxis><advanced_chemotaxis><enabled>false</enabled>"
          "<normalize_each_gradient>false</normalize_each_gradient><chemotactic_sensitivities>"
          '<chemotactic_sensitivity substrate="substrate">0.0</chemotactic_sensitivity>'
          "</chemotactic_sensitivities></advanced_chemotaxis>")
    line = _line_of(xml, 'substrate="substrate"')
    with pytest.warns(UnsupportedElementWarning) as rec:
        model = load_model(xml)
    msg = " ".join(str(w.message) for w in rec)
    assert "chemotactic_sensitivity" in msg and "'substrate'" in msg and f"line {line}" in msg
    assert "substrate" not in model.substrate_names


def test_unknown_type_in_affinities_and_self_transformation_are_ignored(tmp_path):
    xml = _copy(RULES3, tmp_path)
    _edit(xml, "<cell_adhesion_affinities>",
          '<cell_adhesion_affinities><cell_adhesion_affinity name="ghost">0.5</cell_adhesion_affinity>')
    _edit(xml, "</phenotype>", '<cell_transformations><transformation_rates>'
          '<transformation_rate name="tumor">0.1</transformation_rate></transformation_rates>'
          '</cell_transformations></phenotype>')
    with pytest.warns(UnsupportedElementWarning) as rec:
        model = load_model(xml)
    msg = " ".join(str(w.message) for w in rec)
    assert "'ghost'" in msg and "transform into itself" in msg
    assert model.cell_type("tumor").transformation_rates["tumor"] == 0.0


def test_secretion_of_a_missing_substrate_is_still_refused(tmp_path):
    """PhysiCell exits on this one, so tropism refuses it too."""
    xml = _copy(RULES3, tmp_path)
    _edit(xml, '<substrate name="chemokine">', '<substrate name="glucose">')
    r = _cli("check", xml, cwd=tmp_path)
    assert r.returncode == 2 and "'glucose'" in r.stderr and "Traceback" not in r.stderr


def test_check_and_run_name_the_same_unsimulated_items(tmp_path):
    xml = _copy(RULES3, tmp_path)
    xml.write_text(re.sub(r"(<attachment_rate[^>]*>)[^<]*", r"\g<1>0.5", xml.read_text(), count=1))
    _edit(xml, "<track_internalized_substrates_in_each_agent>false",
          "<track_internalized_substrates_in_each_agent>true")
    check = " ".join(_cli("check", xml, cwd=tmp_path).stderr.split())
    run = _cli("run", xml, "--out", tmp_path / "out", "--max-time", 0.2, "--no-png", "--threads", 1, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    run_err = " ".join(run.stderr.split())
    for needle in ("cell_definition[tumor]/mechanics/attachment_rate", "track_internalized_substrates_in_each_agent"):
        assert needle in check and needle in run_err, needle


def test_a_model_without_cells_says_so(tmp_path):
    xml = _copy(TEMPLATE, tmp_path)
    _edit(xml, '(for each cell type)">5<', '(for each cell type)">0<')
    r = _cli("check", xml, cwd=tmp_path)
    assert r.returncode == 0 and "places none" in " ".join(r.stderr.split())


# -- diffusion: the per-substrate kernel ----------------------------------------------------------

@pytest.mark.parametrize("use_2d", [True, False])
def test_per_substrate_kernel_equals_the_plane_kernel(use_2d):
    mesh = Mesh(x_min=0, x_max=200, y_min=0, y_max=160, z_min=-10 if use_2d else 0, z_max=10 if use_2d else 120,
                dx=20, dy=20, dz=20, use_2d=use_2d)
    D = np.array([1e5, 1.0, 1e3, 50.0])
    decay = np.array([0.1, 0.0, 1.0, 0.01])
    enabled = np.zeros((4, 6), dtype=bool)
    enabled[0, :4] = True
    values = np.full((4, 6), 20.0)
    rng = np.random.default_rng(1)
    solver = DiffusionSolver(mesh, D, decay, 0.01, enabled, values)
    f0 = rng.random((4,) + mesh.shape)
    vox = np.array([3, 17, 40], dtype=np.int64)
    m = rng.uniform(0.5, 1.0, (3, 4))
    c = rng.uniform(0.0, 0.1, (3, 4))
    out = {}
    for mode in (True, False):
        solver._by_substrate = lambda threads, mode=mode: mode
        f = f0.copy()
        solver.step_with_sources(f, 9, vox, m, c)
        out[mode] = f
    assert np.array_equal(out[True], out[False])
    assert not np.allclose(out[True], f0)


def test_basement_membrane_rules_are_reported(tmp_path):
    xml = _copy(GROWTH, tmp_path)
    with (xml.parent / "rules.csv").open("a") as fh:
        fh.write("tumor,contact with basement membrane,increases,cell-BM adhesion,1,0.5,2,0\n")
    items = " ".join(not_simulated(load_model(xml)))
    assert "cell-BM adhesion" in items and "contact with basement membrane" in items
