"""What each labelling method reports, and the body's test set compared on those readouts.

An experiment does not see "cells": a radiolabel or a lipophilic dye stays with debris and
with the phagocytes that cleared it, a luciferase reporter shines only in live cells. Each
method maps to one of three model readouts (``library/validation/label_methods.csv``, with
sources):

- ``viable``: intact cells or vesicles;
- ``label``: viable plus debris still in the body (MSC);
- ``viable+degraded``: intact vesicles plus what was degraded in each organ, where the label
  stays (exosomes; a cumulative upper bound — no excretion of the freed label is modelled);
  what plasma eliminated is not in a blood sample.

:func:`check_test_set` runs every row of ``library/validation/body_test_set.csv`` — published
measurements the model was never fitted to — as its source ran it, and compares the row with
the readout of its own method: pass inside the published range, or within a factor of 2 of a
point value.
"""

from __future__ import annotations

import csv
import math
from functools import lru_cache

import numpy as np

from ..errors import TropismInputError
from .library import _library_dir
from .result import BodyResult
from .scenario import scenario_from_dict

READOUTS = ("viable", "label", "viable+degraded")
BLOOD = ("venous_blood", "arterial_blood", "plasma")


def label_methods() -> dict[str, dict]:
    """Method name → row of ``label_methods.csv`` (readouts per product, what it reports, source)."""
    return {k: dict(v) for k, v in _label_methods().items()}


@lru_cache(maxsize=1)
def _label_methods() -> dict[str, dict]:
    # read once: every readout of every ensemble member asks
    path = _library_dir() / "validation" / "label_methods.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = {r["method"]: r for r in csv.DictReader(fh)}
    for name, r in rows.items():
        for col in ("msc_readout", "exosome_readout"):
            if r[col] not in READOUTS:
                raise TropismInputError("unknown readout", file=str(path), field=f"{name}: {col}", value=r[col],
                                        allowed=", ".join(READOUTS))
        fates = sorted({f for f, _ in _label_fates()})
        if r["debris_fate"] not in fates:
            raise TropismInputError("unknown debris fate", file=str(path), field=f"{name}: debris_fate",
                                    value=r["debris_fate"], allowed=", ".join(fates) + " (label_fates.csv)")
    return rows


def label_parameters(method: str, product: str) -> dict:
    """Body parameters that labelling ``method`` changes for ``product``.

    A label's fate after its cell dies is physics of the label, not of the cell: particles stay
    in the macrophages that took up the dead cell, soluble labels leave with the debris
    (``library/validation/label_fates.csv``, with sources). Viable cells are unaffected, so
    only the label readout moves.
    """
    methods = _label_methods()
    if method not in methods:
        raise TropismInputError("unknown label method", field="label_method", value=method,
                                allowed=", ".join(methods))
    return dict(_label_fates().get((methods[method]["debris_fate"], product), {}))


@lru_cache(maxsize=1)
def _label_fates() -> dict:
    path = _library_dir() / "validation" / "label_fates.csv"
    out: dict = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            entry = out.setdefault((r["fate"], r["product"]), {})
            if r["parameter"]:
                if not r["source"].strip():
                    raise TropismInputError("label fate without a source", file=str(path),
                                            field=f"{r['fate']}: {r['parameter']}", value=r["value"],
                                            allowed="every library number names its source")
                entry[r["parameter"]] = float(r["value"])
    return out


def readout(r: BodyResult, method: str) -> np.ndarray:
    """Amount per compartment over time, shape (T, C), as labelling ``method`` would report it."""
    methods = _label_methods()
    if method not in methods:
        raise TropismInputError("unknown label method", field="label_method", value=method,
                                allowed=", ".join(methods))
    kind = methods[method]["exosome_readout" if r.product == "exosome" else "msc_readout"]
    if kind == "viable" or r.product == "drug":
        return r.viable
    if kind == "label":
        return r.label
    degraded = np.zeros_like(r.viable)
    for j, c in enumerate(r.compartments):
        # vesicles eliminated from plasma leave the blood (their freed label is excreted): a blood
        # sample does not see them; organs keep the label of what they degraded
        if c in r.delivered and c not in BLOOD:
            degraded[:, j] = r.delivered[c]
    return r.label + degraded


def _organ_series(r: BodyResult, values: np.ndarray, organ: str) -> np.ndarray:
    if organ == "whole_body":
        keep = [j for j, c in enumerate(r.compartments) if c not in BLOOD]
        return values[:, keep].sum(axis=1)
    if organ == "plasma":
        name = "plasma" if "plasma" in r.compartments else "venous_blood"
        return values[:, r.compartments.index(name)]
    if organ not in r.compartments:
        raise TropismInputError("organ not in this scenario's body", field="organ", value=organ,
                                allowed=", ".join(r.compartments + ["whole_body"]))
    return values[:, r.compartments.index(organ)]


def _half_life(t_h: np.ndarray, y: np.ndarray) -> float:
    """Time (h) from the peak to half of it; inf if it never halves."""
    k = int(np.argmax(y))
    below = np.nonzero(y[k:] <= 0.5 * y[k])[0]
    return float(t_h[k + below[0]] - t_h[k]) if below.size else math.inf


def _num(text: str) -> float | None:
    text = (text or "").strip()
    return float(text) if text else None


def load_test_set() -> list[dict]:
    """The rows of ``library/validation/body_test_set.csv``."""
    path = _library_dir() / "validation" / "body_test_set.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _scenario(row: dict):
    product = row["product"]
    time_h = float(row["time_h"]) if row["time_h"] else 24.0
    measure = row["measure"]
    horizon = 24.0 if measure == "alpha_half_life_min" else max(time_h, 1.0) * (4.0 if measure.startswith("half_life") else 1.0)
    dose = _num(row["dose"]) or (1e6 if product == "msc" else 1e10)
    sc: dict = {"species": row["species"], "dose": dose, "duration_h": horizon,
                "output_interval_min": min(15.0, horizon * 60.0 / 200.0),
                "product": {"kind": product}, "route": {"kind": row["route"]}}
    if row.get("diameter_um"):
        sc["product"]["diameter_um"] = float(row["diameter_um"])
    if row["route"] == "ia":
        sc["route"]["artery"] = row["artery"] or "brain"
    if row.get("tumour_site"):
        sc["tumour"] = {"site": row["tumour_site"], "volume_mm3": _num(row.get("tumour_mm3", "")) or 100.0}
    if row.get("host"):  # host conditions of the source's patients or animals (library/body/conditions.toml)
        sc["conditions"] = [c.strip() for c in row["host"].split(";") if c.strip()]
    if row.get("inflammation"):  # "organ:level;..." — an injured organ of the source's disease model
        sc["inflammation"] = {k.strip(): float(v) for k, v in (x.split(":") for x in row["inflammation"].split(";"))}
    return scenario_from_dict(sc)


def _times(row: dict, sc) -> np.ndarray:
    # fine enough for minute-scale half-lives, and the row's own time on the grid
    end = sc.duration_h * 60.0
    t = np.concatenate([np.arange(0.0, min(end, 240.0), 0.25), np.linspace(0.0, end, 401)])
    if row["time_h"]:
        t = np.append(t, float(row["time_h"]) * 60.0)
    return np.unique(t)


def model_value(row: dict, params: dict | None = None) -> float:
    """The model's value for one test-set row, on the row's own readout."""
    from . import simulate
    sc = _scenario(row)
    p = {**(params or {}), **label_parameters(row["label_method"], row["product"])}
    return _value(row, simulate(sc, params=p or None, times_min=_times(row, sc)))


def model_band(row: dict) -> tuple[float, float, float]:
    """(5th, 50th, 95th percentile) of the row's model value over the fitted ensembles."""
    from .uncertainty import band
    sc = _scenario(row)
    return band(sc, lambda r: _value(row, r), times_min=_times(row, sc),
                fixed=label_parameters(row["label_method"], row["product"]))


def _value(row: dict, r: BodyResult) -> float:
    time_h = float(row["time_h"]) if row["time_h"] else 24.0
    measure = row["measure"]
    values = readout(r, row["label_method"])
    if measure == "alpha_half_life_min":
        # the fast phase of a two-exponential fit to the first 24 h, as the source papers fit it
        from .targets import biexponential_rates
        y = _organ_series(r, values, row["organ"])
        win = r.times_min <= 24 * 60.0
        ka, _ = biexponential_rates(r.times_min[win], y[win])
        return float(np.log(2) / ka)
    if measure.startswith("half_life"):
        t = _half_life(r.times_h, _organ_series(r, values, row["organ"]))
        return t * 60.0 if measure == "half_life_min" else t
    i = int(np.argmin(np.abs(r.times_h - time_h)))
    if measure == "fraction_of_dose":
        return float(_organ_series(r, values, row["organ"])[i] / r.total_dose)
    if measure == "share_of_recovered":
        organs = [o.strip() for o in row["denominator"].split(";") if o.strip()]
        total = sum(_organ_series(r, values, o)[i] for o in organs)
        return float(_organ_series(r, values, row["organ"])[i] / total) if total > 0 else math.nan
    raise TropismInputError("unknown measure in the test set", field="measure", value=measure,
                            allowed="fraction_of_dose, share_of_recovered, half_life_h, half_life_min, alpha_half_life_min")


def accepted(row: dict) -> tuple[float, float]:
    """The interval a model value must meet: the published range, or a factor of 2 around a point."""
    lo, hi, point = _num(row["low"]), _num(row["high"]), _num(row["value"])
    if lo is not None and hi is not None:
        return lo, hi
    return point / 2.0, point * 2.0


def passes(row: dict, value: float, high: float | None = None) -> bool:
    """Whether ``value`` (or the band ``value``–``high``) meets :func:`accepted`."""
    a, b = accepted(row)
    top = value if high is None else high
    if not (math.isfinite(value) and math.isfinite(top)):
        return False
    return bool(value <= b and top >= a)


def check_test_set(bands: bool = True) -> list[dict]:
    """Every test-set row with the model's value on its readout, its ensemble band, and whether
    the band meets the published range (the library value alone with ``bands=False``)."""
    out = []
    for row in load_test_set():
        v = model_value(row)
        lo, mid, hi = model_band(row) if bands else (v, v, v)
        lo, hi = min(lo, v), max(hi, v)
        out.append({**row, "model": v, "band": (lo, hi), "pass": passes(row, lo, hi)})
    return out
