"""Haematopoietic recovery after HDC + autologous PBSC graft, with and without MSCs.

Targets: T25, T26, T27 (/work/shared/data/calibration_targets.csv) and phenomenon P14.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tropism.body.haematopoiesis import default_parameters, recovery_days, simulate_recovery
from tropism.errors import TropismInputError

T25_NEUTROPHIL_D = 13.31
T26_PLATELET_D = 14.25
TOL_D = 1.5  # P14


@pytest.fixture(scope="module")
def days_msc():
    return recovery_days(True)


@pytest.fixture(scope="module")
def days_no_msc():
    return recovery_days(False)


def test_targets_with_msc(days_msc):
    assert abs(days_msc["neutrophil_days"] - T25_NEUTROPHIL_D) <= TOL_D
    assert abs(days_msc["platelet_days"] - T26_PLATELET_D) <= TOL_D


def test_p14_without_msc_later_by_one_day(days_msc, days_no_msc):
    assert days_no_msc["neutrophil_days"] >= days_msc["neutrophil_days"] + 1.0
    assert days_no_msc["platelet_days"] >= days_msc["platelet_days"] + 1.0


def test_t27_direction(days_msc, days_no_msc):
    # T27: granulocytes 12 d with vs 15 d without MSCs -> with MSCs earlier
    delay = days_no_msc["neutrophil_days"] - days_msc["neutrophil_days"]
    assert delay > 0.0
    assert delay == pytest.approx(15.0 - 12.0, abs=1.5)


@pytest.mark.parametrize("msc", [True, False])
def test_counts_shape_and_units(msc):
    out = simulate_recovery(msc, days=40.0)
    assert set(out) == {"t_days", "neutrophils", "platelets"}
    t, n, p = out["t_days"], out["neutrophils"], out["platelets"]
    assert isinstance(t, np.ndarray) and t.shape == n.shape == p.shape
    assert t[0] == 0.0 and t[-1] == pytest.approx(40.0)
    assert np.all(np.diff(t) > 0)


@pytest.mark.parametrize("msc", [True, False])
def test_nadir_below_thresholds_and_no_negative_counts(msc):
    out = simulate_recovery(msc, days=60.0)
    n, p = out["neutrophils"], out["platelets"]
    assert np.all(n >= 0.0) and np.all(p >= 0.0)
    assert n.min() < 0.5
    assert p.min() < 20.0
    # the nadir comes after the graft, not at day 0
    assert out["t_days"][np.argmin(n)] > 0.0
    assert out["t_days"][np.argmin(p)] > 0.0


@pytest.mark.parametrize("msc", [True, False])
def test_return_to_baseline_by_day_60(msc):
    base = default_parameters()
    out = simulate_recovery(msc, days=60.0)
    assert out["neutrophils"][-1] == pytest.approx(base["neutrophil_baseline"], rel=0.10)
    assert out["platelets"][-1] == pytest.approx(base["platelet_baseline"], rel=0.10)
    assert base["neutrophil_baseline"] == pytest.approx(4.0)
    assert base["platelet_baseline"] == pytest.approx(250.0)


def test_recovery_day_is_threshold_crossing():
    d = recovery_days(True)
    out = simulate_recovery(True, days=40.0)
    t, n, p = out["t_days"], out["neutrophils"], out["platelets"]
    after = t > d["neutrophil_days"] + 0.1
    assert np.all(n[after & (t < d["neutrophil_days"] + 3)] >= 0.5)
    before = (t < d["neutrophil_days"] - 0.1) & (t > t[np.argmin(n)])
    assert np.all(n[before] < 0.5)
    assert np.all(p[(t > t[np.argmin(p)]) & (t < d["platelet_days"] - 0.1)] < 20.0)


def test_params_override_changes_result():
    slow = recovery_days(True, {"msc_niche_gain": 0.0})
    assert slow["neutrophil_days"] == pytest.approx(recovery_days(False)["neutrophil_days"])
    # no graft: no recovery
    none = recovery_days(True, {"graft_seed": 0.0})
    assert math.isnan(none["neutrophil_days"]) and math.isnan(none["platelet_days"])


def test_library_parameters_have_sources():
    import tomllib

    from tropism.body.haematopoiesis import PARAMETER_FILE

    with PARAMETER_FILE.open("rb") as fh:
        lib = tomllib.load(fh)["parameters"]
    for name, entry in lib.items():
        assert entry.get("source"), name
        if entry.get("fitted"):
            assert entry.get("targets"), name


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"not_a_parameter": 1.0}, "not_a_parameter"),
        ({"niche_recovery_per_d": -0.1}, "niche_recovery_per_d"),
        ({"progenitor_expansion_per_d": float("nan")}, "progenitor_expansion_per_d"),
        ({"neutrophil_mtt_d": 0.0}, "neutrophil_mtt_d"),
        ({"graft_seed": "lots"}, "graft_seed"),
        ({"platelet_age_stages": 2.5}, "platelet_age_stages"),
    ],
)
def test_bad_params_raise(params, field):
    for call in (lambda: simulate_recovery(True, params=params), lambda: recovery_days(False, params)):
        with pytest.raises(TropismInputError) as err:
            call()
        assert err.value.field == field
        assert err.value.allowed
        msg = str(err.value)
        assert field in msg and "allowed" in msg and "got" in msg


def test_bad_days_raise():
    with pytest.raises(TropismInputError) as err:
        simulate_recovery(True, days=-5)
    assert err.value.field == "days"
