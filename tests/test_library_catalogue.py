"""The tissue library as data (issue 10, item 2): every number sourced, in its unit, in range."""

from __future__ import annotations

import shutil

import pytest

from tropism.errors import TropismInputError
from tropism.library import TABLES, load_catalogue, load_rules, parameter_definitions
from tropism.library.catalogue import COLUMNS, _tissue_dir


def test_the_installed_library_loads_and_every_entry_is_sourced():
    cat = load_catalogue()
    defs = parameter_definitions()
    assert cat.entries
    for e in cat.entries:
        assert e.source and e.status in ("V", "U", "F"), (e.file, e.line)
        assert e.parameter in defs[e.table]
        if e.status == "F":
            assert e.fitted_to
    for table in TABLES:
        assert cat.entities(table), table


def test_the_installed_rules_load_with_sources():
    rules = load_rules()
    assert rules and all(r.source and r.status in ("V", "U", "F") for r in rules)


def _copy(tmp_path):
    d = tmp_path / "tissue"
    shutil.copytree(_tissue_dir(), d)
    return d


def _append(d, table, row):
    with open(d / f"{table}.csv", "a", encoding="utf-8") as fh:
        fh.write(",".join(row) + "\n")


@pytest.mark.parametrize("row, words", [
    (["U87", "doubling_time_in_vitro_h", "34", "h", "", "V", "", ""], "without a source"),
    (["U87", "doubling_time_in_vitro", "34", "h", "ATCC", "V", "", ""], "did you mean 'doubling_time_in_vitro_h'"),
    (["U87", "cell_diameter_um", "14", "mm", "ATCC", "V", "", ""], "wrong unit"),
    (["U87", "cell_diameter_um", "1400", "um", "ATCC", "V", "", ""], "out of range"),
    (["U87", "cell_diameter_um", "big", "um", "ATCC", "V", "", ""], "not a number"),
    (["U87", "cxcr4_expression", "lots", "", "ATCC", "V", "", ""], "value not allowed"),
    (["U87", "cell_diameter_um", "14", "um", "fit", "F", "", ""], "must name the targets"),
    (["U87", "cell_diameter_um", "14", "um", "ATCC", "X", "", ""], "unknown status"),
])
def test_a_bad_row_is_refused_with_file_line_and_column(tmp_path, row, words):
    d = _copy(tmp_path)
    _append(d, "cell_lines", row)
    with pytest.raises(TropismInputError, match=words) as exc:
        load_catalogue(d)
    assert exc.value.file.endswith("cell_lines.csv") and "line" in exc.value.field


def test_a_parameter_given_twice_is_refused(tmp_path):
    d = _copy(tmp_path)
    _append(d, "cell_lines", ["X1", "cell_diameter_um", "14", "um", "a", "V", "", ""])
    _append(d, "cell_lines", ["X1", "cell_diameter_um", "15", "um", "b", "V", "", ""])
    with pytest.raises(TropismInputError, match="given twice"):
        load_catalogue(d)


def test_wrong_columns_are_refused(tmp_path):
    d = _copy(tmp_path)
    (d / "substrates.csv").write_text("entity,parameter,value\n")
    with pytest.raises(TropismInputError, match="wrong columns") as exc:
        load_catalogue(d)
    assert ",".join(COLUMNS) in str(exc.value)


def test_an_unknown_entity_gets_the_names_there_are():
    cat = load_catalogue()
    name = cat.entities("cell_lines")[0]
    with pytest.raises(TropismInputError, match=f"did you mean '{name}'"):
        cat.entity("cell_lines", name + "x")


def test_the_model_reference_page_is_not_stale():
    from pathlib import Path
    from tropism.io.model_reference import render
    page = Path(__file__).resolve().parents[1] / "docs" / "model-reference.md"
    assert page.read_text(encoding="utf-8") == render(), "run: tropism reference (docs/model-reference.md is stale)"
