"""Reading and writing PhysiCell 1.14 settings (XML + cells CSV + rules CSV)."""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from tropism.errors import TropismInputError, UnsupportedElementWarning
from tropism.model import Model
from tropism.model.physicell import load_model, model_to_xml_string, write_model

from conftest import bench_models

BENCH = bench_models()  # ../shared/bench, or the in-repo copies of growth_2d and rules_3types

# What the benchmark files say: cells, cell types, rules, substrates, x_min, use_2D, max_time.
EXPECTED = {
    "diffusion_2d": (1, ["probe"], 0, ["oxygen"], -2100.0, True, 60.0),
    "diffusion_3d": (1, ["probe"], 0, ["oxygen"], -400.0, False, 60.0),
    "growth_2d": (1000, ["tumor"], 3, ["oxygen"], -500.0, True, 1440.0),
    "mech_2d_10k": (10000, ["tumor"], 0, ["oxygen"], -1000.0, True, 120.0),
    "mech_2d_50k": (50000, ["tumor"], 0, ["oxygen"], -2100.0, True, 60.0),
    "mech_3d_10k": (10000, ["tumor"], 0, ["oxygen"], -400.0, False, 60.0),
    "rules_3types": (1300, ["tumor", "carrier", "effector"], 8, ["oxygen", "chemokine", "payload"],
                     -750.0, True, 1440.0),
}


def _load_quiet(path: Path | str) -> Model:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the benchmark models use nothing unsupported
        return load_model(path)


def _copy(name: str, tmp_path: Path) -> Path:
    dest = tmp_path / name
    shutil.copytree(BENCH / name, dest, copy_function=shutil.copyfile)
    return dest


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, count))


def _line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(needle)


def _assert_same(a: Model, b: Model) -> None:
    skip = {"source", "base_dir", "unsupported", "initial_cells", "rules"}
    assert a.model_dump(exclude=skip) == b.model_dump(exclude=skip)
    assert [r.model_dump(exclude={"source", "line"}) for r in a.rules] == \
           [r.model_dump(exclude={"source", "line"}) for r in b.rules]
    ca, cb = a.initial_cells, b.initial_cells
    np.testing.assert_array_equal(ca.positions, cb.positions)
    np.testing.assert_array_equal(ca.types, cb.types)
    assert ca.extra.keys() == cb.extra.keys()
    for key in ca.extra:
        np.testing.assert_array_equal(ca.extra[key], cb.extra[key])


# -- the benchmark models ------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bench_model_loads(name: str) -> None:
    if not (BENCH / name).is_dir():
        pytest.skip(f"{name}: shared/bench not beside the checkout")
    n_cells, types, n_rules, subs, x_min, use_2d, max_time = EXPECTED[name]
    m = _load_quiet(BENCH / name / "PhysiCell_settings.xml")
    assert len(m.initial_cells) == n_cells
    assert m.initial_cells.positions.shape == (n_cells, 3)
    assert m.cell_type_names == types
    assert len(m.rules) == n_rules
    assert m.substrate_names == subs
    assert m.domain.x_min == x_min and m.domain.x_max == -x_min and m.domain.use_2d is use_2d
    assert m.domain.dx == m.domain.dy == m.domain.dz == 20.0
    assert (m.clocks.max_time, m.clocks.dt_diffusion, m.clocks.dt_mechanics, m.clocks.dt_phenotype) == \
           (max_time, 0.01, 0.1, 6.0)
    oxygen = m.substrates[0]
    assert (oxygen.diffusion_coefficient, oxygen.decay_rate) == (100000.0, 0.1)
    assert oxygen.dirichlet_enabled and oxygen.dirichlet_value == 38.0
    assert all(oxygen.face(f) == (True, 38.0) for f in ("xmin", "xmax", "zmax"))
    assert m.options.random_seed == 1 and m.options.omp_num_threads == 2
    assert m.unsupported == []
    assert Path(m.source).name == "PhysiCell_settings.xml" and m.base_dir == BENCH / name


def test_rules_3types_details() -> None:
    m = _load_quiet(BENCH / "rules_3types")  # a folder is accepted too
    counts = np.bincount(m.initial_cells.types, minlength=3)
    assert counts.tolist() == [1000, 200, 100]  # tumor, carrier, effector
    carrier, effector, tumor = m.cell_type("carrier"), m.cell_type("effector"), m.cell_type("tumor")
    assert carrier.motility.chemotaxis.enabled and carrier.motility.chemotaxis.substrate == "chemokine"
    assert carrier.motility.chemotaxis.direction == 1.0
    assert (carrier.motility.speed, carrier.motility.persistence_time, carrier.motility.migration_bias) == \
           (2.0, 5.0, 0.2)
    assert effector.interactions.attack_damage_rate == 0.5
    assert effector.interactions.attack_duration == 30.0
    assert tumor.apoptosis.rate == 1e-5 and tumor.necrosis.rate == 0.003
    assert tumor.necrosis.durations == [0.0, 86400.0]
    assert tumor.secretion["chemokine"].secretion_rate == 0.5
    assert carrier.secretion["payload"].secretion_target == 1.0
    assert tumor.cycle.code == 5 and tumor.cycle.links[0].rate == 0.0
    assert m.substrates[1].dirichlet_enabled is False
    r = m.rules[-1]
    assert (r.cell_type, r.signal, r.direction, r.behavior) == \
           ("effector", "contact with tumor", "decreases", "migration speed")
    assert (r.saturation, r.half_max, r.hill_power, r.applies_to_dead) == (0.2, 0.5, 2.0, False)
    assert r.line == 8 and Path(r.source).name == "rules.csv"
    assert m.user_parameters["number_of_cells"].value == "0"
    assert m.user_parameters["number_of_cells"].type == "int"


# -- round trip ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["rules_3types", "growth_2d"])
def test_round_trip(name: str, tmp_path: Path) -> None:
    m = _load_quiet(BENCH / name / "PhysiCell_settings.xml")
    out = write_model(m, tmp_path / "out")
    assert out == tmp_path / "out" / "PhysiCell_settings.xml"
    assert sorted(p.name for p in out.parent.iterdir()) == ["PhysiCell_settings.xml", "cells.csv", "rules.csv"]
    assert "<filename>cells.csv</filename>" in out.read_text()
    m2 = _load_quiet(out)
    _assert_same(m, m2)
    assert model_to_xml_string(m2) == out.read_text()


def test_round_trip_keeps_faces_extras_and_inheritance(tmp_path: Path) -> None:
    d = _copy("growth_2d", tmp_path)
    xml = d / "PhysiCell_settings.xml"
    _edit(xml, "</Dirichlet_boundary_condition>",
          "</Dirichlet_boundary_condition><Dirichlet_options>"
          '<boundary_value ID="xmin" enabled="false">5</boundary_value>'
          '<boundary_value ID="ymax" enabled="true">7.5</boundary_value></Dirichlet_options>')
    _edit(xml, "</cell_definitions>",
          '<cell_definition name="fast" ID="1" parent_type="tumor"><phenotype><motility>'
          "<speed>3</speed></motility></phenotype></cell_definition></cell_definitions>")
    (d / "cells.csv").write_text("x,y,z,type,volume\n0,0,0,tumor,2000\n10,0,0,fast,\n20,0,0,fast,s\n")
    m = _load_quiet(xml)
    ox = m.substrates[0]
    assert ox.face("xmin") == (False, 5.0) and ox.face("ymax") == (True, 7.5) and ox.face("xmax") == (True, 38.0)
    fast, tumor = m.cell_type("fast"), m.cell_type("tumor")
    assert fast.motility.speed == 3.0
    assert fast.apoptosis.rate == tumor.apoptosis.rate == 0.001  # inherited from parent_type
    assert fast.secretion["oxygen"].uptake_rate == 10.0
    assert m.initial_cells.types.tolist() == [0, 1, 1]
    np.testing.assert_array_equal(m.initial_cells.extra["volume"], [2000.0, np.nan, np.nan])
    _assert_same(m, _load_quiet(write_model(m, tmp_path / "out")))


# -- other accepted input --------------------------------------------------------------------------

def test_v1_cells_units_seed_and_comments(tmp_path: Path) -> None:
    d = _copy("growth_2d", tmp_path)
    xml = d / "PhysiCell_settings.xml"
    (d / "cells.csv").write_text("0,0,0,0\n\n12.5,-3,0,0\n")
    _edit(xml, '<max_time units="min">1440</max_time>', '<max_time units="hours">2</max_time>')
    _edit(xml, "<random_seed>1</random_seed>", "<random_seed>system_clock</random_seed>")
    (d / "rules.csv").write_text("// a comment\n\n# another\ntumor,oxygen,increases,cycle entry,0.001,12,4,0\n")
    m = _load_quiet(xml)
    assert len(m.initial_cells) == 2 and m.initial_cells.positions[1].tolist() == [12.5, -3.0, 0.0]
    assert m.clocks.max_time == 120.0
    assert m.options.random_seed == 0
    assert len(m.rules) == 1 and m.rules[0].line == 4


def test_disabled_cells_and_rules(tmp_path: Path) -> None:
    d = _copy("growth_2d", tmp_path)
    xml = d / "PhysiCell_settings.xml"
    _edit(xml, '<cell_positions type="csv" enabled="true">', '<cell_positions type="csv" enabled="false">')
    _edit(xml, 'format="csv" enabled="true"', 'format="csv" enabled="false"')
    (d / "cells.csv").unlink()
    m = _load_quiet(xml)
    assert len(m.initial_cells) == 0 and m.rules == []


# -- bad input -------------------------------------------------------------------------------------

def _error(xml: Path) -> str:
    with pytest.raises(TropismInputError) as info:
        load_model(xml)
    return str(info.value)


def test_malformed_xml(tmp_path: Path) -> None:
    xml = _copy("growth_2d", tmp_path) / "PhysiCell_settings.xml"
    _edit(xml, "<dx>20</dx>", "<dx>20</dy>")
    msg = _error(xml)
    assert str(xml) in msg and "malformed XML" in msg
    assert f"line {_line_of(xml, '<dx>20</dy>')}, column" in msg


def test_negative_decay_rate(tmp_path: Path) -> None:
    xml = _copy("growth_2d", tmp_path) / "PhysiCell_settings.xml"
    _edit(xml, '<decay_rate units="1/min">0.1</decay_rate>', '<decay_rate units="1/min">-0.1</decay_rate>')
    msg = _error(xml)
    line = _line_of(xml, "-0.1</decay_rate>")
    assert str(xml) in msg
    assert f"microenvironment_setup/variable[oxygen]/physical_parameter_set/decay_rate (line {line})" in msg
    assert "-0.1" in msg and ">= 0" in msg


def test_non_number_dx(tmp_path: Path) -> None:
    xml = _copy("growth_2d", tmp_path) / "PhysiCell_settings.xml"
    _edit(xml, "<dx>20</dx>", "<dx>twenty</dx>")
    msg = _error(xml)
    assert str(xml) in msg and f"domain/dx (line {_line_of(xml, 'twenty')})" in msg
    assert "'twenty'" in msg and "number" in msg


def test_unknown_cell_type_in_rule(tmp_path: Path) -> None:
    d = _copy("rules_3types", tmp_path)
    with (d / "rules.csv").open("a") as fh:
        fh.write("tumour,oxygen,increases,cycle entry,0.001,12,4,0\n")
    msg = _error(d / "PhysiCell_settings.xml")
    assert str(d / "rules.csv") in msg and "line 9" in msg and "'tumour'" in msg
    assert "allowed: tumor, carrier, effector" in msg


def test_unknown_substrate_in_rule(tmp_path: Path) -> None:
    d = _copy("rules_3types", tmp_path)
    with (d / "rules.csv").open("a") as fh:
        fh.write("tumor,glucose,increases,cycle entry,0.001,12,4,0\n")
    msg = _error(d / "PhysiCell_settings.xml")
    assert str(d / "rules.csv") in msg and "line 9" in msg and "signal" in msg and "'glucose'" in msg
    assert "allowed: oxygen, chemokine, payload" in msg and "contact with carrier" in msg


def test_unknown_substrate_in_rule_behaviour(tmp_path: Path) -> None:
    d = _copy("rules_3types", tmp_path)
    with (d / "rules.csv").open("a") as fh:
        fh.write("tumor,oxygen,increases,glucose uptake,0.001,12,4,0\n")
    msg = _error(d / "PhysiCell_settings.xml")
    assert "line 9" in msg and "behavior" in msg and "'glucose uptake'" in msg and "oxygen uptake" in msg


def test_unknown_type_in_cells_csv(tmp_path: Path) -> None:
    d = _copy("growth_2d", tmp_path)
    with (d / "cells.csv").open("a") as fh:
        fh.write("1.0,2.0,0.0,tumour\n")
    msg = _error(d / "PhysiCell_settings.xml")
    assert str(d / "cells.csv") in msg and "line 1002" in msg and "'tumour'" in msg and "allowed: tumor" in msg


def test_missing_cells_file(tmp_path: Path) -> None:
    d = _copy("growth_2d", tmp_path)
    xml = d / "PhysiCell_settings.xml"
    (d / "cells.csv").unlink()
    msg = _error(xml)
    line = _line_of(xml, "<filename>cells.csv</filename>")
    assert str(xml) in msg and f"initial_conditions/cell_positions/filename (line {line})" in msg
    assert "not found" in msg and str(d / "cells.csv") in msg


def test_bad_cycle_code(tmp_path: Path) -> None:
    xml = _copy("growth_2d", tmp_path) / "PhysiCell_settings.xml"
    _edit(xml, '<cycle code="5" name="live">', '<cycle code="4" name="live">')
    msg = _error(xml)
    assert str(xml) in msg and f"cycle[live] (line {_line_of(xml, 'cycle code=')})" in msg
    assert "'4'" in msg and "0 (advanced Ki67)" in msg and "5 (live)" in msg


def test_csv_row_with_too_few_columns(tmp_path: Path) -> None:
    d = _copy("growth_2d", tmp_path)
    with (d / "cells.csv").open("a") as fh:
        fh.write("1.0,2.0,tumor\n")
    msg = _error(d / "PhysiCell_settings.xml")
    assert str(d / "cells.csv") in msg and "line 1002" in msg and "columns" in msg and "1.0,2.0,tumor" in msg


def test_rule_row_with_too_few_columns(tmp_path: Path) -> None:
    d = _copy("growth_2d", tmp_path)
    with (d / "rules.csv").open("a") as fh:
        fh.write("tumor,oxygen,increases,apoptosis,0.1\n")
    msg = _error(d / "PhysiCell_settings.xml")
    assert str(d / "rules.csv") in msg and "line 4" in msg and "8 columns" in msg


@pytest.mark.parametrize("old,new,expect", [
    ('version="3.0"', 'version="2.0"', "3.0"),
    ("<dt_mechanics units=\"min\">0.1</dt_mechanics>", "<dt_mechanics units=\"min\">10</dt_mechanics>",
     "dt_diffusion <= dt_mechanics <= dt_phenotype"),
    ('<max_time units="min">', '<max_time units="fortnight">', "fortnight"),
    ("<domain>", "<domainx>", "required element <domain> is missing"),
    ('<Dirichlet_boundary_condition units="mmHg" enabled="true">38</Dirichlet_boundary_condition>',
     '<Dirichlet_boundary_condition units="mmHg" enabled="true">38</Dirichlet_boundary_condition>'
     '<Dirichlet_options><boundary_value ID="left" enabled="true">1</boundary_value></Dirichlet_options>',
     "xmin, xmax, ymin, ymax, zmin, zmax"),
    ('<uptake_rate units="1/min">10</uptake_rate>', '<uptake_rate units="1/min">-1</uptake_rate>', ">= 0"),
    ('<substrate name="oxygen">', '<substrate name="glucose">', "'glucose'"),
    ('<duration index="0" fixed_duration="true">516</duration>',
     '<duration index="0" fixed_duration="true">-516</duration>', "apoptosis.durations.0"),
    ('<rate start_index="0" end_index="0" fixed_duration="false">0</rate>',
     '<rate start_index="0" end_index="1" fixed_duration="false">0</rate>', "allowed: 0->0"),
    ("<use_2D>true</use_2D>", "<use_2D>maybe</use_2D>", "true, false"),
])
def test_other_bad_values(tmp_path: Path, old: str, new: str, expect: str) -> None:
    xml = _copy("growth_2d", tmp_path) / "PhysiCell_settings.xml"
    _edit(xml, old, new)
    if old == "<domain>":
        _edit(xml, "</domain>", "</domainx>")
    msg = _error(xml)
    assert str(xml) in msg and expect in msg


def test_unknown_chemotaxis_substrate(tmp_path: Path) -> None:
    xml = _copy("rules_3types", tmp_path) / "PhysiCell_settings.xml"
    _edit(xml, "<substrate>chemokine</substrate>", "<substrate>chemokin</substrate>")
    msg = _error(xml)
    assert re.search(r"cell_definition\[carrier\]/phenotype/motility/options/chemotaxis/substrate \(line \d+\)", msg)
    assert "'chemokin'" in msg and "oxygen, chemokine, payload" in msg


# -- unsupported elements --------------------------------------------------------------------------

def test_unsupported_element_gives_one_warning(tmp_path: Path) -> None:
    xml = _copy("growth_2d", tmp_path) / "PhysiCell_settings.xml"
    _edit(xml, "</phenotype>",
          '<intracellular type="maboss"><bnd_filename>model.bnd</bnd_filename></intracellular></phenotype>')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = load_model(xml)
    ours = [w for w in caught if issubclass(w.category, UnsupportedElementWarning)]
    assert len(ours) == 1 and len(caught) == 1
    path = "cell_definitions/cell_definition[tumor]/phenotype/intracellular"
    assert path in str(ours[0].message)
    assert m.unsupported == [path]


def test_several_unsupported_items_in_one_warning(tmp_path: Path) -> None:
    d = _copy("growth_2d", tmp_path)
    xml = d / "PhysiCell_settings.xml"
    _edit(xml, "<maximum_number_of_attachments>12</maximum_number_of_attachments>",
          "<maximum_number_of_attachments>12</maximum_number_of_attachments><options>"
          '<set_relative_equilibrium_distance enabled="true">1.8</set_relative_equilibrium_distance>'
          '<set_absolute_equilibrium_distance enabled="false">15</set_absolute_equilibrium_distance>'
          "</options>")
    _edit(xml, "</PhysiCell_settings>", "<extra_section><x>1</x></extra_section></PhysiCell_settings>")
    with (d / "rules.csv").open("a") as fh:
        fh.write("tumor,intracellular oxygen,increases,cell-cell adhesion,1,0.5,2,0\n")
    with pytest.warns(UnsupportedElementWarning) as record:
        m = load_model(xml)
    assert len(record) == 1
    assert m.unsupported == [
        "cell_definitions/cell_definition[tumor]/phenotype/mechanics/options/set_relative_equilibrium_distance",
        "extra_section",
        "rule signal 'intracellular oxygen'",
    ]
    for item in m.unsupported:
        assert item in str(record[0].message)
