"""Body scenarios: loading, and one clear error for every kind of bad input."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tropism.body import load_scenario, simulate
from tropism.errors import TropismInputError

from conftest import REPO

EXAMPLES = REPO / "examples" / "body"

BAD = [
    ('species = "dog"\ndose = 1\n[product]\nkind = "msc"\n', "species", "dog"),
    ('dose = -5\n[product]\nkind = "msc"\n', "dose", -5),
    ('dose = 1\n[product]\nkind = "virus"\n', "product.kind", "virus"),
    ('dose = 1\n[product]\nkind = "msc"\n[route]\nkind = "oral"\n', "route.kind", "oral"),
    ('dose = 1\n[product]\nkind = "msc"\n[route]\nkind = "ia"\nartery = "toe"\n', "route", None),
    ('dose = 1\n[product]\nkind = "msc"\n[route]\nkind = "intratumoral"\n', "(top level)", None),
    ('dose = 1\ncolour = "red"\n[product]\nkind = "msc"\n', "colour", "red"),
    ('[product]\nkind = "msc"\n', "dose", None),
    ('dose = 1\n[product]\nkind = "msc"\n[tumour]\nsite = "liver"\n', "tumour.site", "liver"),
    ('dose = 1\n[product]\nkind = "drug"\n', "product", None),
    ('dose = 1 [\n', None, None),
    ('dose = 0\n[product]\nkind = "msc"\n', "(top level)", None),                       # only what a tumour makes
    ('dose = 5\n[product]\nkind = "tumour_exosome"\nendogenous = true\n[tumour]\nsite = "brain"\n', "(top level)", None),
    ('dose = 0\n[product]\nkind = "tumour_exosome"\nendogenous = true\n', "(top level)", None),  # needs its tumour
    ('dose = 0\n[product]\nkind = "msc"\nendogenous = true\n[tumour]\nsite = "brain"\n', "(top level)", None),
]


@pytest.mark.parametrize("text,field,value", BAD)
def test_bad_scenarios_raise_one_clear_error(tmp_path, text, field, value):
    p = tmp_path / "s.toml"
    p.write_text(text)
    with pytest.raises(TropismInputError) as ei:
        load_scenario(p)
    e = ei.value
    assert e.file == str(p)
    if field is not None:
        assert e.field == field
    if value is not None:
        assert e.value == value


def test_unknown_drug_and_species_without_data():
    from tropism.body import scenario_from_dict
    with pytest.raises(TropismInputError, match="unknown drug"):
        simulate(scenario_from_dict({"dose": 1, "product": {"kind": "drug", "name": "aspirin"}}))
    with pytest.raises(TropismInputError, match="no kinetic parameters"):
        simulate(scenario_from_dict({"species": "mouse", "dose": 1, "product": {"kind": "drug", "name": "vegf"}}))
    with pytest.raises(TropismInputError, match="too large"):
        simulate(scenario_from_dict({"dose": 1, "product": {"kind": "msc"},
                                     "tumour": {"site": "brain", "volume_mm3": 300}}))


def test_missing_file():
    with pytest.raises(TropismInputError, match="not found"):
        load_scenario("/nonexistent/x.toml")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_examples_run(path):
    r = simulate(load_scenario(path))
    assert r.mass_balance_error() < 1e-9


def test_cli_body(tmp_path):
    fig = tmp_path / "f.png"
    run = subprocess.run([sys.executable, "-m", "tropism.cli", "body", str(EXAMPLES / "msc_iv_mouse.toml"),
                          "--out", str(fig), "--check-targets"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "T01" in run.stdout and "FAIL" not in run.stdout and "mass balance" in run.stdout
    assert fig.stat().st_size > 1000
    bad = tmp_path / "bad.toml"
    bad.write_text('dose = 1\n[product]\nkind = "drug"\nname = "aspirin"\n')
    run = subprocess.run([sys.executable, "-m", "tropism.cli", "body", str(bad)], capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 2
    assert str(bad) in run.stderr and "product.name" in run.stderr and "Traceback" not in run.stderr
    # a product only a tumour tissue feeds: alone, the body would stay empty, so it is refused
    alone = tmp_path / "alone.toml"
    alone.write_text('dose = 0\n[product]\nkind = "tumour_cell"\nendogenous = true\n[tumour]\nsite = "lung"\n')
    run = subprocess.run([sys.executable, "-m", "tropism.cli", "body", str(alone)], capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 2 and "product.endogenous" in run.stderr and "Traceback" not in run.stderr


def test_haematopoiesis_missing_reports_not_built(monkeypatch):
    import sys as _sys
    from tropism.body.targets import check_targets
    monkeypatch.setitem(_sys.modules, "tropism.body.haematopoiesis", None)  # import now raises ImportError
    rows = {r["id"]: r for r in check_targets(["T25", "T26", "T27", "T16"])}
    assert rows["T25"]["model"] == "not built" and rows["T25"]["pass"] is None
    assert rows["T16"]["pass"] is True
