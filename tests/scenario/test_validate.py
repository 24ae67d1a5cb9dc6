"""The published-findings suite: finding files, arms, criteria, the command and its files.

The coupled rows (P01-P03) take about a minute per arm and seed, so they run in
``tropism validate`` (the closing note quotes the table), not here; the body rows run here.
"""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest

from tropism.errors import TropismInputError
from tropism.findings import Finding, load_finding, load_findings
from tropism.validate import RowResult, judge, run_findings

ISSUE_ROWS = {"P01", "P02", "P03", "P04", "P13", "P14"}


def test_the_library_holds_this_issues_findings_and_each_names_its_source():
    found = {f.id: f for f in load_findings()}
    assert ISSUE_ROWS <= set(found)
    for f in found.values():
        assert f.source and f.criterion
        for arm in f.arm:   # every arm resolves against the library before anything runs
            from tropism.model.experiment import experiment_from_dict
            from tropism.resolve import check_experiment
            check_experiment(experiment_from_dict(f.arm_scenario(arm, 1)))


def test_arms_differ_from_the_base_only_by_what_they_set_and_add():
    f = {x.id: x for x in load_findings()}["P02"]
    control, blocked = (f.arm_scenario(a, 3) for a in f.arm)
    assert control["simulation"] == {**f.scenario["simulation"], "duration_h": 72, "seed": 3}
    assert "intervention" not in control
    extra = blocked.pop("intervention")
    assert extra == [{"kind": "blockade", "target": "cxcr4", "efficacy": 1.0}]
    assert blocked == control
    one = {x.id: x for x in load_findings()}["P01"]
    same, other = (one.arm_scenario(a, 1) for a in one.arm)
    assert (same["treatment"][0]["side"], other["treatment"][0]["side"]) == ("left", "right")
    assert one.scenario["treatment"][0]["side"] == "left"   # the base is not changed by an arm


def _finding(**kw) -> Finding:
    base = dict(id="X1", finding="x", source="test", seeds=2, time_h=1.0, readout="msc_in_tumour",
                scenario={"host": {"species": "mouse"}},
                arm=[{"name": "a"}, {"name": "b"}],
                criterion=[{"kind": "ratio", "numerator": "b", "denominator": "a", "op": "<=", "value": 0.5}])
    base.update(kw)
    return Finding(**base)


def test_criteria_are_judged_on_medians_over_seeds():
    row = RowResult(_finding())
    row.values = {"a": [(1, 10.0), (2, 12.0), (3, 100.0)], "b": [(1, 4.0), (2, 5.0), (3, 6.0)]}
    v, ok = judge(row.finding.criterion[0], row)
    assert v == pytest.approx(5.0 / 12.0) and ok
    f = _finding(criterion=[{"kind": "each", "op": ">=", "value": 6}])
    row.finding = f
    v, ok = judge(f.criterion[0], row)
    assert v == 5.0 and not ok                       # arm b's median is 5
    f = _finding(criterion=[{"kind": "equals", "arm": "a", "value": "liver"}])
    row.values["a"] = [(1, "liver"), (2, "spleen")]
    v, ok = judge(f.criterion[0], row)
    assert not ok and v == "liver; spleen"           # every seed must agree


def test_a_targets_criterion_shows_each_target_row():
    f = _finding(arm=[], scenario={}, readout="", time_h=None,
                 criterion=[{"kind": "targets", "ids": ["T25", "T26"]}])
    row = RowResult(f)
    v, ok = judge(f.criterion[0], row)
    assert v == "2/2" and ok and [t["id"] for t in row.targets] == ["T25", "T26"]


@pytest.mark.parametrize("change, message", [
    (dict(criterion=[{"kind": "ratio", "numerator": "bb", "denominator": "a", "value": 1}]), "did you mean 'b'"),
    (dict(arm=[{"name": "a"}, {"name": "a"}]), "arm names must differ"),
    (dict(readout=""), "needs a readout"),
    (dict(criterion=[{"kind": "targets"}]), "needs ids"),
])
def test_a_malformed_finding_is_refused_with_the_reason(change, message):
    with pytest.raises(Exception, match=message):
        _finding(**change)


def test_a_finding_file_with_a_bad_field_names_file_and_field(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('id = "B1"\nfinding = "x"\nsource = "s"\nseeds = 0\n[[criterion]]\nkind = "targets"\nids = ["T01"]\n')
    with pytest.raises(TropismInputError) as e:
        load_finding(p)
    assert "bad.toml" in str(e.value) and "seeds" in str(e.value)


def test_an_arm_setting_a_field_the_scenario_lacks_is_refused():
    f = _finding(arm=[{"name": "a", "set": {"tumour.0.x": 1}}, {"name": "b"}])
    with pytest.raises(TropismInputError, match="no such field"):
        f.arm_scenario(f.arm[0], 1)


def test_the_body_rows_pass_and_the_command_writes_its_tables(tmp_path):
    r = subprocess.run([sys.executable, "-m", "tropism.cli", "validate", "--only", "P04,P13,P14", "--out",
                        str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(tmp_path / "summary.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {x["id"] for x in rows} == {"P04", "P13", "P14"}
    assert set(rows[0]) == {"id", "criterion", "value", "spread", "pass"} and all(x["pass"] == "True" for x in rows)
    report = (tmp_path / "report.md").read_text()
    assert "| target | range | model | pass |" in report and "T01" in report


def test_a_failing_row_makes_the_command_exit_1(tmp_path):
    # a user's finding in the library's form that the model does not meet: spleen largest at 4 h
    p = tmp_path / "mine.toml"
    p.write_text('id = "U1"\nfinding = "impossible"\nsource = "test"\n'
                 'time_h = 4\nreadout = "largest_label_organ"\nseeds = 1\n'
                 '[scenario]\nhost = { species = "mouse" }\n'
                 'treatment = [{ product = "exosome", dose = 1e10, route = "iv" }]\n'
                 '[[arm]]\nname = "iv"\n[[criterion]]\nkind = "equals"\narm = "iv"\nvalue = "spleen"\n')
    r = subprocess.run([sys.executable, "-m", "tropism.cli", "validate", "--findings", str(p), "--only", "U1",
                        "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 1 and "U1" in r.stdout and "FAIL" in r.stdout
    r = subprocess.run([sys.executable, "-m", "tropism.cli", "validate", "--only", "P99"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "P99" in r.stderr and "Traceback" not in r.stderr


def test_the_same_jobs_give_the_same_numbers_with_two_workers():
    # a coupled finding, 2 h: the tissue's stochastic signals reach the body's count
    f = _finding(time_h=2.0, scenario={"host": {"species": "mouse", "immune": "nude"},
                                       "tumour": {"line": "U87", "site": "subcutaneous", "radius_um": 1500},
                                       "treatment": [{"product": "msc", "source": "bone_marrow", "dose": 1e6,
                                                      "route": "iv"}],
                                       "simulation": {"domain_um": 200}},
                 arm=[{"name": "a"}, {"name": "b", "set": {"host.inflamed": {"tumour": 1.46}}}])
    one = run_findings([f], workers=1)[0]
    two = run_findings([f], workers=2)[0]
    assert one.values == two.values
    assert one.median("b") > one.median("a") > 0.0     # the inflamed arm: more MSCs across
