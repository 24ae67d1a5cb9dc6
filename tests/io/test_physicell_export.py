"""`tropism export --physicell`: a scenario's tissue part as a PhysiCell 1.14 project."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tropism.errors import UnsupportedElementWarning
from tropism.io.physicell_export import bake_interventions, export_physicell
from tropism.model.physicell import load_model
from tropism.resolve import build, load_and_check

from conftest import REPO

EXAMPLE = REPO / "examples" / "scenarios" / "subcutaneous_cxcr4_blockade.toml"


def _hill(s, h, n):
    return s ** n / (s ** n + h ** n)


def test_a_partial_blockade_written_into_the_rule_is_the_same_curve():
    m = build(load_and_check(EXAMPLE)).model
    iv = m.interventions[0].model_copy(update={"efficacy": 0.6})
    baked = bake_interventions(m.model_copy(update={"interventions": [iv]}))
    assert baked.interventions == []
    before = {(r.cell_type, r.signal, r.behavior): r for r in m.rules}
    s = np.linspace(0.0, 500.0, 101)
    for r in baked.rules:
        r0 = before[(r.cell_type, r.signal, r.behavior)]
        hit = r.signal == iv.target and r.cell_type in iv.cell_types
        np.testing.assert_allclose(_hill(s, r.half_max, r.hill_power),
                                   _hill(s * (0.4 if hit else 1.0), r0.half_max, r0.hill_power), rtol=1e-9)
    full = bake_interventions(m.model_copy(update={"interventions": [iv.model_copy(update={"efficacy": 1.0})]}))
    assert not any(r.signal == "sdf1" and r.cell_type in m.interventions[0].cell_types for r in full.rules)


def test_the_exported_project_loads_back_as_the_model_written(tmp_path):
    m = build(load_and_check(EXAMPLE)).model
    with pytest.warns(UnsupportedElementWarning, match="arrival"), \
            pytest.warns(UnsupportedElementWarning, match="vessel bed"), \
            pytest.warns(UnsupportedElementWarning, match="PhysiCell has only LOD"):
        target = export_physicell(m, tmp_path / "pc")
    assert sorted(p.name for p in target.parent.iterdir()) == ["PhysiCell_settings.xml", "cells.csv", "rules.csv"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsupportedElementWarning)
        back = load_model(target)
    written = bake_interventions(m)
    assert back.clocks == written.clocks  # the Douglas scheme and its steps included
    assert back.cell_type_names == written.cell_type_names and back.substrate_names == written.substrate_names
    np.testing.assert_allclose(back.initial_cells.positions, written.initial_cells.positions)
    key = lambda r: (r.cell_type, r.signal, r.behavior, r.direction, r.saturation, r.half_max, r.hill_power)  # noqa: E731
    # rules that multiply a behaviour are left out (PhysiCell cannot say them)
    assert sorted(map(key, back.rules)) == sorted(map(key, [r for r in written.rules if not r.multiplies]))
    for a, b in zip(back.cell_types, written.cell_types):
        assert a.cycle.links[0].rate == pytest.approx(b.cycle.links[0].rate)
        assert a.volume.total == pytest.approx(b.volume.total)
        assert a.motility.speed == pytest.approx(b.motility.speed)
    for a, b in zip(back.substrates, written.substrates):
        assert (a.diffusion_coefficient, a.decay_rate, a.dirichlet_value) == pytest.approx(
            (b.diffusion_coefficient, b.decay_rate, b.dirichlet_value))


def test_the_exported_settings_hold_what_physicell_itself_requires(tmp_path):
    # PhysiCell 1.14's template project stops on an empty chemotaxis substrate (even when
    # chemotaxis is off) and on a missing number_of_cells user parameter
    import xml.etree.ElementTree as ET
    m = build(load_and_check(EXAMPLE)).model
    with pytest.warns(UnsupportedElementWarning):
        target = export_physicell(m, tmp_path / "pc")
    root = ET.parse(target).getroot()
    names = {s.get("name") for s in root.iter("variable")}
    subs = [c.findtext("substrate") for c in root.iter("chemotaxis")]
    assert subs and all(s in names for s in subs)
    n = root.find("user_parameters/number_of_cells")
    assert n is not None and n.get("type") == "int" and int(n.text) == 0


def test_a_multiplying_rule_is_left_out_of_physicell_files_with_a_warning(tmp_path):
    m = build(load_and_check(EXAMPLE)).model
    r0 = m.rules[0]
    fold = r0.model_copy(update={"multiplies": True, "saturation": 1.5, "direction": "increases"})
    m = m.model_copy(update={"rules": list(m.rules) + [fold]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnsupportedElementWarning)
        target = export_physicell(m, tmp_path / "pc")
    folds = sum(r.multiplies for r in m.rules)
    assert folds >= 1 and any(f"{folds} rule(s) that multiply" in str(w.message) for w in caught)
    lines = (target.parent / "rules.csv").read_text().splitlines()
    assert len(lines) == len(m.rules) - folds and not any(",1.5," in line for line in lines)
