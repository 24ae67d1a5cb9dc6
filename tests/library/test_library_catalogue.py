"""The tissue library as data (issue 10, item 2): every number sourced, in its unit, in range."""

from __future__ import annotations

import shutil

import pytest

from tropism.errors import TropismInputError
from tropism.library import TABLES, load_catalogue, load_rules, parameter_definitions
from tropism.library.catalogue import COLUMNS, _tissue_dir

from conftest import REPO


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


@pytest.mark.parametrize("direction, fold, ok", [("increases", "1.5", True), ("increases", "0.5", False),
                                                 ("decreases", "0.5", True), ("decreases", "2", False)])
def test_a_multiplying_rule_row_keeps_its_direction(tmp_path, direction, fold, ok):
    d = _copy(tmp_path)
    _append(d, "rules", ["tumour", "", "hgf", direction, "cycle entry", "multiplies", fold, "24.5", "1", "0", "",
                         "a source", "U", "", ""])
    if ok:
        assert load_rules(d / "rules.csv")[-1].response == "multiplies"
    else:
        with pytest.raises(TropismInputError, match="multiplies it by") as exc:
            load_rules(d / "rules.csv")
        assert exc.value.file.endswith("rules.csv") and "max_response" in exc.value.field


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
    page = REPO / "docs" / "model-reference.md"
    assert page.read_text(encoding="utf-8") == render(), "run: tropism reference (docs/model-reference.md is stale)"


def test_every_parameter_says_which_code_reads_it_and_that_code_does():
    # a parameter marked as read must appear in the module named (by its name, or for a
    # secretion rate by the name pattern that module parses); the rest say why they are not read
    import importlib
    import inspect

    from tropism.library import parameter_definitions
    for table, defs in parameter_definitions().items():
        for name, d in defs.items():
            rb = d.get("read_by", "")
            assert rb, f"{table}.{name}: no read_by"
            if rb.startswith("not read"):
                continue
            module = rb.split(" ")[0].split(":")[0]
            target = module.rsplit(".", 1)
            try:
                src = inspect.getsource(importlib.import_module(module))
            except ModuleNotFoundError:  # a function of a module
                src = inspect.getsource(getattr(importlib.import_module(target[0]), target[1]))
            # names the module builds from a pattern: a secretion rate, a per-type share, a per-species count
            pattern = next((p for p in ("pg_per_1e6_cells_per_24h", "_share_of_cells", "blood_count_")
                            if p in name), None)
            if "carries" in rb:  # read through library rows that name it
                from tropism.library import load_rules
                from tropism.resolve.tables import load_mechanisms
                named = [r.applies_to for r in load_rules()] + [b.requires for b in load_mechanisms().blockades.values()]
                assert any(name in x for x in named), f"{table}.{name}: no library row reads it"
                continue
            assert name in src or (pattern and pattern in src), f"{table}.{name}: {module} does not read it"


def test_every_registry_behaviour_names_an_operation_of_the_schedule_and_a_kernel_that_exists():
    import importlib

    from tropism.tissue.registry import BEHAVIOURS, MECHANISMS
    from tropism.tissue.standard import standard_schedule
    from tropism.model import Model
    ops = {op.name for ops in standard_schedule(Model()).operations.values() for op in ops}
    ops |= {"windows", "irradiate", "vessels", "arrivals", "departures", "conversions", "recruitment"}  # added when a model uses them
    for kind, entry in list(BEHAVIOURS.items()) + [(k, type("E", (), {"operation": v[0], "kernel": v[1],
                                                                       "note": ""})) for k, v in MECHANISMS.items()]:
        if entry.note:
            continue
        assert entry.operation in ops, (kind, entry.operation)
        first = entry.kernel.split(" ")[0]
        if first.startswith("tissue."):
            mod, fn = first.rsplit(".", 1)
            assert hasattr(importlib.import_module(f"tropism.{mod}"), fn), (kind, first)
        else:  # a method of the solver or the diffusion solver
            from tropism.tissue.diffusion import DiffusionSolver
            from tropism.tissue.solver import TissueSolver
            cls, fn = first.split(".")
            assert hasattr({"TissueSolver": TissueSolver, "DiffusionSolver": DiffusionSolver}[cls], fn), (kind, first)



def test_every_line_says_how_it_grows_in_culture():
    # the PhysiCell contact-inhibition prior applies to adherent lines only (rules.csv): a line
    # without the property would lose it without a word
    cat = load_catalogue()
    lines = cat.entities("cell_lines")
    modes = {line: cat.get("cell_lines", line, "growth_in_culture") for line in lines}
    assert all(m is not None and m.value in ("adherent", "suspension") for m in modes.values()), modes
    assert modes["K562"].value == "suspension"
