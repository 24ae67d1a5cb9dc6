"""Whole-body compartment model: mass balance, routes, analytic checks, calibration targets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tropism.body import first_pass_arrest, load_physiology, scenario_from_dict, simulate
from tropism.body.library import ORGANS, fitted_entries
from tropism.body.model import arrest_probability, size_classes, systems
from tropism.body.solve import propagate
from tropism.errors import TropismInputError

ROUTES = [{"kind": "iv"}, {"kind": "ia", "artery": "brain"}, {"kind": "ia", "artery": "gut"},
          {"kind": "ia", "artery": "tumour"}, {"kind": "intranasal"}, {"kind": "intratumoral"},
          {"kind": "intraperitoneal"}]


def scen(kind="msc", route=None, **kw):
    d = {"species": "mouse", "product": {"kind": kind}, "dose": 1e6, "duration_h": 72,
         "tumour": {"site": "subcutaneous", "volume_mm3": 200}, "route": route or {"kind": "iv"}}
    if kind == "drug":
        d["product"]["name"] = "trail"
    d.update(kw)
    return scenario_from_dict(d)


@pytest.mark.parametrize("kind", ["msc", "exosome", "drug"])
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r["kind"] + r.get("artery", ""))
def test_mass_balance_every_route(kind, route):
    r = simulate(scen(kind, route, schedule={"doses": 3, "interval_h": 12}))
    assert r.mass_balance_error() < 1e-9
    # dose = all compartments + cleared, and label = viable + dead
    np.testing.assert_allclose(r.label.sum(1) + r.cleared, r.given, rtol=1e-9, atol=1e-9 * r.total_dose)
    np.testing.assert_allclose(r.label.sum(1), r.viable.sum(1) + r.dead, rtol=1e-12, atol=1e-6)
    assert r.given[-1] == pytest.approx(3e6)
    assert np.all(r.label >= -1e-9 * r.total_dose)


def test_infusion_mass_balance_and_spread():
    bol = simulate(scen(schedule={"doses": 2, "interval_h": 6}))
    inf = simulate(scen(schedule={"doses": 2, "interval_h": 6, "infusion_min": 60}))
    assert inf.mass_balance_error() < 1e-9
    i = int(np.argmin(np.abs(inf.times_min - 30)))
    assert inf.given[i] == pytest.approx(0.5e6)
    assert bol.given[i] == pytest.approx(1e6)


def test_expm_solver_matches_analytic_two_compartment():
    k1, k2 = 0.3, 0.05
    A = np.array([[-k1, 0, 0], [k1, -k2, 0], [0, k2, 0.0]])
    t = np.linspace(0, 60, 61)
    x = propagate(A, np.array([1.0, 0, 0]), t, [(0.0, 1.0)], [])
    b = k1 / (k1 - k2) * (np.exp(-k2 * t) - np.exp(-k1 * t))
    np.testing.assert_allclose(x[:, 0], np.exp(-k1 * t), rtol=1e-12)
    np.testing.assert_allclose(x[:, 1], b, rtol=1e-10, atol=1e-14)
    # constant infusion into a one-compartment model: (R/k)(1 - e^{-kt})
    A1 = np.array([[-k2, 0], [k2, 0.0]])
    y = propagate(A1, np.array([1.0, 0]), t, [], [(0.0, 100.0, 2.0)])
    np.testing.assert_allclose(y[:, 0], 2.0 / k2 * (1 - np.exp(-k2 * t)), rtol=1e-10)


def test_drug_plasma_concentration_analytic():
    sc = scenario_from_dict({"species": "mouse", "product": {"kind": "drug", "name": "IFN-beta"}, "dose": 1.0,
                             "duration_h": 4, "output_interval_min": 5})
    r = simulate(sc)
    v1 = 50.0 * 0.02
    expect = 1.0 / v1 * np.exp(-math.log(2) / 55.0 * r.times_min)
    np.testing.assert_allclose(r.plasma_concentration(), expect, rtol=1e-9)


def test_smaller_cells_pass_lungs_more_often_and_interventions():
    big = first_pass_arrest("mouse", "lungs", diameter_um=25)
    small = first_pass_arrest("mouse", "lungs", diameter_um=15)
    assert small < big
    p = {"arrest_ratio_half": 3.35, "arrest_ratio_width": 0.08}
    assert arrest_probability(20, 5, p, vasodilator=1.3) < arrest_probability(20, 5, p)
    assert arrest_probability(20, 5, p, anti_adhesion=0.5) == pytest.approx(0.5 * arrest_probability(20, 5, p))
    d, w = size_classes(20.0, 0.16, 12)
    assert w.sum() == pytest.approx(1.0) and np.exp(np.sum(w * np.log(d))) == pytest.approx(20 * math.exp(-0.5 * math.log1p(0.16**2)), rel=1e-2)


def test_routes_put_dose_where_expected():
    ia = simulate(scen(route={"kind": "ia", "artery": "brain"}, duration_h=1))
    assert ia.at(60)["brain"] > ia.at(60)["lungs"]
    it = simulate(scen(route={"kind": "intratumoral"}, duration_h=6))
    assert it.at(360, "tissue")["tumour"] > 0.3 * 1e6
    nas = simulate(scen("exosome", {"kind": "intranasal"}, duration_h=6))
    ivx = simulate(scen("exosome", {"kind": "iv"}, duration_h=6))
    assert nas.delivered["brain"][-1] > 2 * ivx.delivered["brain"][-1]


def test_tumour_chemokine_and_bbb_inflammation_raise_homing():
    lo = simulate(scen(tumour={"site": "subcutaneous", "volume_mm3": 200, "chemokine": 0.1}, duration_h=72))
    hi = simulate(scen(tumour={"site": "subcutaneous", "volume_mm3": 200, "chemokine": 1.0}, duration_h=72))
    assert hi.at(72 * 60, "tissue")["tumour"] > 2 * lo.at(72 * 60, "tissue")["tumour"]
    calm = simulate(scen(route={"kind": "ia", "artery": "brain"}, tumour=None, duration_h=24))
    inflamed = simulate(scen(route={"kind": "ia", "artery": "brain"}, tumour=None, inflammation={"brain": 2.0},
                             duration_h=24))
    assert inflamed.at(1440, "tissue")["brain"] > 2 * calm.at(1440, "tissue")["brain"]


def test_label_versus_viable_and_debris_goes_to_liver():
    r = simulate(scen(tumour=None, duration_h=48))
    assert r.at(48 * 60, "label")["liver"] > 0.3 * 1e6
    assert r.at(48 * 60, "viable")["liver"] < 1e3


def test_exosome_liver_largest_at_4h_P13():
    r = simulate(scen("exosome", tumour=None, duration_h=4))
    organs = {k: v for k, v in r.at(240).items() if k in ORGANS}
    assert max(organs, key=organs.get) == "liver"


def test_calibration_targets_all_pass():
    from tropism.body.targets import check_targets
    rows = check_targets()
    failed = [r for r in rows if r["pass"] is False]
    assert not failed, failed
    built = {r["id"] for r in rows if r["pass"] is not None}
    assert {"T01", "T02", "T03", "T04", "T05", "T07", "T09", "T10", "T11", "T12", "T13",
            "T14", "T15", "T16", "T17"} <= built


def test_fitted_parameters_are_marked_with_targets():
    rows = [r for r in fitted_entries() if r["file"] in ("msc.toml", "exosome.toml", "molecules.toml")]
    names = {r["parameter"] for r in rows}
    assert {"arrest_ratio_half", "death_arrested_per_min", "uptake_per_min"} <= names
    assert all(r["targets"] for r in rows)


def test_physiology_files_consistent():
    for sp in ("mouse", "rat", "human"):
        ph = load_physiology(sp)
        assert sum(v for k, v in ph.flow_fraction.items() if k != "lungs") == pytest.approx(1.0)
        assert sum(ph.volume_ml.values()) + ph.blood_volume_ml == pytest.approx(ph.body_weight_g, rel=1e-3)


def test_results_tidy_table_and_percent():
    r = simulate(scen(duration_h=2))
    rows = r.to_rows()
    assert len(rows) == len(r.times_min) * len(r.compartments)
    assert set(rows[0]) == {"time_min", "compartment", "viable", "label", "tissue"}
    pid = r.percent_injected_dose()
    assert pid[-1].sum() + 100 * r.cleared[-1] / r.total_dose == pytest.approx(100.0)


def test_systems_columns_sum_to_zero():
    for kind in ("msc", "exosome", "drug"):
        for s in systems(scen(kind)):
            np.testing.assert_allclose(s.A.sum(-2), 0.0, atol=1e-12)
            np.testing.assert_allclose(s.dose.sum(-1), 1.0)
            assert np.sum(s.weight) == pytest.approx(1.0)


def test_cohort_small_and_deterministic():
    from tropism.body.cohort import simulate_cohort
    sc = scen(tumour=None, duration_h=24)
    a = simulate_cohort(sc, n=40, seed=3, times_h=(1.0, 24.0))
    b = simulate_cohort(sc, n=40, seed=3, times_h=(1.0, 24.0))
    np.testing.assert_array_equal(a.label, b.label)
    # mass: label + cleared <= given, and lungs dominate at 1 h in every animal
    assert np.all(a.label.sum(-1) <= a.given * (1 + 1e-9))
    j = a.compartments.index("lungs")
    assert np.all(a.label[:, 0, j] > 0.5 * a.given)
    # the cohort's median animal is close to the single reference run
    ref = simulate(sc).at(1440)["lungs"] / 1e6 * 100
    assert abs(np.median(a.quantiles("lungs")[1, 1]) - ref) < 15
    with pytest.raises(TropismInputError):
        simulate_cohort(scen("exosome"), n=2)
