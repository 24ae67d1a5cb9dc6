"""Scenario files (issue 10, item 1): shape, units and contradictions, checked before any step."""

from __future__ import annotations

import copy

import pytest

from tropism.errors import TropismInputError
from tropism.model.experiment import experiment_from_dict, load_experiment

from conftest import REPO

GLIOMA = {  # domain 2000 µm by default
    "host": {"species": "rat", "immune": "nude"},
    "tumour": {"line": "U87", "site": "brain", "hemisphere": "right", "cells": 500},
    "treatment": [{"product": "msc", "source": "bone_marrow", "dose": 1e6, "route": "ia", "artery": "brain",
                   "side": "left"}],
    "intervention": [{"kind": "blockade", "target": "cxcr4", "efficacy": 0.8, "start_h": 0, "end_h": 24}],
    "simulation": {"duration_h": 72, "seed": 3, "domain_um": 500},
}


def _with(path, value=None, delete=False):
    d = copy.deepcopy(GLIOMA)
    node = d
    for k in path[:-1]:
        node = node[k]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return d


def test_a_valid_scenario_reads_back_its_values():
    e = experiment_from_dict(GLIOMA)
    assert e.tumour.hemisphere == "right" and e.treatment[0].side == "left"
    assert e.intervention[0].efficacy == 0.8 and e.simulation.seed == 3


@pytest.mark.parametrize("path, value, field, words", [
    (("host", "specis"), "rat", "host.specis", "did you mean 'species'"),
    (("treatment", 0, "dos"), 5, "treatment[0].dos", "did you mean 'dose'"),
    (("treatment", 0, "dose"), -5, "treatment[0].dose", "greater than 0"),
    (("tumour", "site"), "brian", "tumour.site", "did you mean 'brain'"),
    (("treatment", 0, "times_h"), [0, 100], "treatment[0].times_h", "after the end of the run"),
    (("intervention", 0, "target"), "cxr4", "intervention[0].target", "did you mean 'cxcr4'"),
    (("intervention", 0, "end_h"), 0.0, "intervention[0]", "must be after start_h"),
    (("simulation", "voxel_um"), 150, "simulation", "at least 4 voxels"),
    (("host", "species"), "dog", "host.species", "mouse"),
])
def test_a_bad_field_is_named_with_its_value_and_what_is_allowed(path, value, field, words):
    with pytest.raises(TropismInputError) as exc:
        experiment_from_dict(_with(path, value), file="glioma.toml")
    err = exc.value
    assert err.file == "glioma.toml" and err.field == field, str(err)
    assert words in str(err)


def test_contradictions_between_sections_are_refused():
    no_tumour = _with(("tumour",), delete=True)
    no_tumour["treatment"][0].update(route="intratumoral")
    del no_tumour["treatment"][0]["artery"], no_tumour["treatment"][0]["side"]
    with pytest.raises(TropismInputError, match="intratumoral dose needs a \\[tumour\\]"):
        experiment_from_dict(no_tumour)
    with pytest.raises(TropismInputError, match="needs a hemisphere"):
        experiment_from_dict(_with(("tumour", "hemisphere"), delete=True))
    flank = _with(("tumour", "site"), "subcutaneous")
    with pytest.raises(TropismInputError, match="hemisphere is for brain tumours only"):
        experiment_from_dict(flank)
    iv = copy.deepcopy(GLIOMA)
    iv["treatment"][0]["route"] = "iv"
    with pytest.raises(TropismInputError, match="intra-arterial treatments only"):
        experiment_from_dict(iv)
    with pytest.raises(TropismInputError, match="needs a source"):
        experiment_from_dict(_with(("treatment", 0, "source"), delete=True))
    with pytest.raises(TropismInputError, match="nothing to simulate"):
        experiment_from_dict({"simulation": {"duration_h": 1}})
    body_only = _with(("tumour",), delete=True)
    body_only["simulation"]["readouts"] = ["body", "exosomes"]
    with pytest.raises(TropismInputError, match="'exosomes' reads what a tumour releases") as ei:
        experiment_from_dict(body_only)
    assert ei.value.field == "simulation.readouts"


def test_a_file_that_is_not_toml_is_one_clear_error(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[host\nspecies = 'rat'\n")
    with pytest.raises(TropismInputError, match="not valid TOML") as exc:
        load_experiment(p)
    assert exc.value.file == str(p)
    with pytest.raises(TropismInputError, match="not found"):
        load_experiment(tmp_path / "missing.toml")


# ---- checked against the library (tropism.resolve) -------------------------------------------

from pathlib import Path  # noqa: E402

from tropism.resolve import check_experiment, load_and_check  # noqa: E402

EXAMPLES = REPO / "examples" / "scenarios"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_every_example_scenario_passes_every_check(path):
    load_and_check(path)


def test_a_tumour_line_the_library_lacks_gets_did_you_mean():
    with pytest.raises(TropismInputError, match="did you mean 'U87'") as exc:
        check_experiment(experiment_from_dict(_with(("tumour", "line"), "U78")), file="g.toml")
    assert exc.value.field == "tumour.line"


def test_a_human_line_in_an_immune_competent_animal_is_refused():
    with pytest.raises(TropismInputError, match="human tumour line in an immune-competent rat") as exc:
        check_experiment(experiment_from_dict(_with(("host", "immune"), "competent")))
    assert exc.value.field == "host.immune"


def test_an_unknown_msc_source_and_an_unknown_organ_are_refused():
    with pytest.raises(TropismInputError, match="unknown MSC source"):
        check_experiment(experiment_from_dict(_with(("treatment", 0, "source"), "bone-marrow")))
    with pytest.raises(TropismInputError, match="did you mean 'liver'"):
        check_experiment(experiment_from_dict(_with(("host", "inflamed"), {"livr": 1.0})))
    with pytest.raises(TropismInputError, match=">= 0"):
        experiment_from_dict(_with(("host", "inflamed"), {"liver": -1.0}))
    # irradiation is an intervention with a dose and a time; the old host field is refused with the reason
    with pytest.raises(TropismInputError, match="irradiation is an \\[\\[intervention\\]\\]") as exc:
        check_experiment(experiment_from_dict(_with(("host", "irradiated"), ["lung"])))
    assert exc.value.field == "host.irradiated"


def test_a_blockade_of_a_receptor_no_cell_carries_is_refused(tmp_path):
    import shutil
    from tropism.library import load_catalogue
    from tropism.library.catalogue import _tissue_dir
    d = tmp_path / "tissue"
    shutil.copytree(_tissue_dir(), d)
    with open(d / "cell_lines.csv", "a", encoding="utf-8") as fh:
        fh.write("NOCXCR4,species_of_origin,rat,,test row,U,,\nNOCXCR4,cxcr4_expression,absent,,test row,U,,\n")
    cat = load_catalogue(d)
    e = _with(("tumour", "line"), "NOCXCR4")
    e["treatment"] = []
    with pytest.raises(TropismInputError, match="no cell in this scenario carries CXCR4") as exc:
        check_experiment(experiment_from_dict(e), catalogue=cat)
    assert exc.value.field == "intervention[0].target"
    e["tumour"]["line"] = "U87"      # a line that carries it: not refused
    check_experiment(experiment_from_dict(e), catalogue=cat)
    e["intervention"][0]["target"] = "ccr5"      # U87 carries no CCR5 in the library: refused
    with pytest.raises(TropismInputError, match="no cell in this scenario carries CCR5"):
        check_experiment(experiment_from_dict(e), catalogue=cat)
    e["intervention"][0]["target"] = "pdl1"      # not simulated yet: refused with the reason
    with pytest.raises(TropismInputError, match="not simulated yet"):
        check_experiment(experiment_from_dict(e), catalogue=cat)


def test_tropism_check_reads_a_scenario(tmp_path):
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "tropism.cli", "check", str(EXAMPLES / "glioma_msc_iv.toml")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "U87 in brain" in r.stdout, r.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text((EXAMPLES / "glioma_msc_iv.toml").read_text().replace('line = "U87"', 'line = "U78"'))
    r = subprocess.run([sys.executable, "-m", "tropism.cli", "check", str(bad)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and "tumour.line" in r.stderr and "did you mean 'U87'" in r.stderr
    assert "Traceback" not in r.stderr


def test_every_mistake_of_a_short_file_comes_in_one_report(tmp_path):
    # four mistakes of shape and two of library names: one run names all six
    p = tmp_path / "short.toml"
    p.write_text('[host]\nspecies = "mose"\nimmnue = "nude"\n[tumour]\nline = "U78"\nsite = "brain"\ncells = -3\n'
                 '[[treatment]]\nproduct = "msc"\nsource = "bonemarrow"\ndose = 1e5\nroute = "iv"\n'
                 '[simulation]\nduration_h = -1\n')
    with pytest.raises(TropismInputError) as exc:
        load_and_check(p)
    text = str(exc.value)
    assert text.startswith("6 problems")
    for words in ("host.species", "did you mean 'immune'", "tumour.cells", "simulation.duration_h",
                  "did you mean 'U87'", "did you mean 'bone_marrow'"):
        assert words in text, words
    assert all(e.file == str(p) for e in exc.value.errors)
