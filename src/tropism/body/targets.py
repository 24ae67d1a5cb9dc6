"""Calibration targets the body layer answers for (ids from calibration_targets.csv).

Each check runs the model the way the source experiment was run and compares the model's number
with the published range. Interpretations (which readout, which time) are documented in
docs/body_model.md, section "Calibration".
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

from .library import load_params
from .model import drug_system, exosome_system, first_pass_arrest
from .scenario import scenario_from_dict

BLOOD = ("venous_blood", "arterial_blood", "plasma")

#: id -> (quantity, low, high, units, source)
TARGETS = {
    "T01": ("fraction of IV MSCs arrested in lungs on first pass", 0.8, 0.99, "fraction", "Lee 2009 Cell Stem Cell 5:54"),
    "T02": ("half-time of MSC label clearance from lungs after IV", 12.0, 36.0, "h", "Lee 2009"),
    "T03": ("viable MSCs in all tissues other than lung, 0.25-6 h", 0.0, 0.002, "fraction of dose", "Lee 2009"),
    "T04": ("organ holding most label at 1 h; 24 h", "lungs; liver", None, "organ", "Eggenhofer 2012 Front Immunol 3:297"),
    "T05": ("organs holding viable MSCs at 1 h; after 24 h", "lungs; none", None, "organ", "Eggenhofer 2012"),
    "T07": ("IA first-pass arrest at precapillaries (rat cremaster, 23 um MSC)", 0.85, 0.99, "fraction", "Toma 2009 Circ Res 104:398"),
    "T09": ("exosome plasma alpha half-life (IV, mouse)", 6.85, 8.79, "min", "Kim 2019 Pharmaceutics 11:649"),
    "T10": ("exosome plasma beta half-life", 149.0, 792.0, "min", "Kim 2019"),
    "T11": ("exosome clearance", 0.010, 0.025, "mL/min", "Kim 2019"),
    "T12": ("exosome steady-state volume of distribution", 2.0, 4.5, "mL", "Kim 2019"),
    "T13": ("exosome mean residence time", 2.5, 4.5, "h", "Kim 2019"),
    "T14": ("VEGF165 terminal half-life (human)", 20.0, 47.0, "min", "Eppler 2002 Clin Pharmacol Ther"),
    "T15": ("TGF-beta1 terminal half-life (rat)", 61.0, 163.0, "min", "Zioncheck 1994 Pharm Res 11:213"),
    "T16": ("TRAIL half-life (mouse)", 3.0, 5.0, "min", "Kelley 2001 J Pharmacol Exp Ther"),
    "T17": ("IFN-beta half-life (mouse)", 45.0, 65.0, "min", "Pepinsky 2001 J Pharmacol Exp Ther"),
    "T25": ("neutrophil recovery with MSC co-transplant", 13.31 - 1.5, 13.31 + 1.5, "d", "seed clinical study (P14: +-1.5 d)"),
    "T26": ("platelet recovery with MSC co-transplant", 14.25 - 1.5, 14.25 + 1.5, "d", "seed clinical study (P14: +-1.5 d)"),
    "T27": ("recovery without MSC later than with MSC", 1.0, None, "d", "Chinese retrospective study; P14 (>= 1 d later)"),
}

#: viable MSCs above this share of the dose count as "present" in an organ (detection limit, cf. T03)
PRESENT = 0.002
#: "none after 24 h": total viable MSCs at 24 h below this share of the dose (imaging detection limit, assumed)
NONE_AFTER = 0.05


def msc_iv_mouse(params: dict | None = None, hours: float = 48.0):
    """The Lee 2009 / Eggenhofer 2012 experiment: 1e6 MSCs IV into a mouse."""
    from . import simulate
    sc = scenario_from_dict({"species": "mouse", "product": {"kind": "msc"}, "dose": 1e6,
                             "duration_h": hours, "output_interval_min": 15.0})
    return simulate(sc, params=params)


def msc_targets(params: dict | None = None) -> dict:
    """Model values for T01-T05 and T07 (numbers, or organ strings for T04/T05)."""
    r = msc_iv_mouse(params)
    dose = r.total_dose
    t_h = r.times_h
    lung = r.column("lungs", "label") / dose
    ip = int(np.argmax(lung))
    after = np.nonzero(lung[ip:] <= 0.5 * lung[ip])[0]
    if after.size:
        k = ip + after[0]
        # linear interpolation between the bracketing output times
        t_half = np.interp(0.5 * lung[ip], [lung[k], lung[k - 1]], [t_h[k], t_h[k - 1]]) - t_h[ip]
    else:
        t_half = np.inf
    organs = [c for c in r.compartments if c not in BLOOD and c not in ("nasal", "peritoneum")]
    oi = [r.compartments.index(c) for c in organs]
    not_lung = [r.compartments.index(c) for c in organs if c != "lungs"]
    early = (t_h >= 0.25) & (t_h <= 6.0)
    t03 = float(np.max(r.viable[early][:, not_lung].sum(axis=1)) / dose)

    def top(t):
        i = int(np.argmin(np.abs(t_h - t)))
        return organs[int(np.argmax(r.label[i, oi]))]

    i1 = int(np.argmin(np.abs(t_h - 1.0)))
    i24 = int(np.argmin(np.abs(t_h - 24.0)))
    present1 = [c for c in organs if r.viable[i1, r.compartments.index(c)] / dose > PRESENT]
    viable24 = float(r.viable[i24:, oi].sum(axis=1).max() / dose)
    t05 = f"{'+'.join(present1) or 'none'}; {'none' if viable24 < NONE_AFTER else f'{viable24:.3f} of dose'}"
    return {
        "T01": first_pass_arrest("mouse", "lungs", params=params),
        "T02": float(t_half),
        "T03": t03,
        "T04": f"{top(1.0)}; {top(24.0)}",
        "T05": t05,
        "T07": first_pass_arrest("rat", "muscle", diameter_um=23.0, params=params),
        "_viable24": viable24,
    }


def exosome_pk(params: dict | None = None) -> dict:
    """Kim 2019 readouts for an IV exosome bolus in the library mouse: T09-T13.

    Clearance, Vss and MRT are exact (moments from the rate matrix); the two half-lives come from a
    bi-exponential fit to the simulated plasma curve over 0-24 h, as in the paper.
    """
    sc = scenario_from_dict({"species": "mouse", "product": {"kind": "exosome"}, "dose": 1.0, "duration_h": 24})
    s = exosome_system(sc, params=params)
    live = [i for i, (c, k) in enumerate(s.states) if k != "cleared" and c not in ("nasal", "peritoneum")]
    A = s.A[np.ix_(live, live)]
    x0 = s.dose[live]
    ip = live.index(s.index("plasma", "viable"))
    from .library import load_physiology
    vp = load_physiology("mouse").plasma_volume_ml
    Ainv = np.linalg.inv(A)
    auc = -(Ainv @ x0)[ip] / vp               # ∫ C dt
    aumc = (Ainv @ Ainv @ x0)[ip] / vp        # ∫ t C dt
    cl = 1.0 / auc
    mrt = aumc / auc
    t = np.concatenate([np.linspace(0, 60, 61), np.linspace(75, 1440, 92)])
    lam, V = np.linalg.eig(A)
    coef = V[ip] * np.linalg.solve(V, x0)          # plasma amount = sum_j coef_j exp(lam_j t)
    c = (np.exp(np.outer(t, lam)) @ coef).real / vp

    ka, kb = biexponential_rates(t, c)
    return {"T09": np.log(2) / ka, "T10": np.log(2) / kb, "T11": cl, "T12": cl * mrt, "T13": mrt / 60.0}


def biexponential_rates(t_min, conc) -> tuple[float, float]:
    """Fast and slow rates (1/min) of a two-exponential fit to a plasma curve, as PK papers fit them.

    Returns NaNs when the fit does not converge.
    """
    t = np.asarray(t_min, float)
    c = np.asarray(conc, float)
    keep = c > 0
    t, c = t[keep], c[keep]

    def biexp(tt, la, ka, lb, kb):
        return np.log(np.exp(la - ka * tt) + np.exp(lb - kb * tt))

    # a two-exponential fit to a many-exponential curve has several local optima: start from a
    # grid and keep the best, so that nearly equal curves give nearly equal half-lives
    best, ka, kb = np.inf, np.nan, np.nan
    y = np.log(c)
    for fast in (0.03, 0.1, 0.3):
        for slow in (0.0005, 0.002, 0.008):
            try:
                with warnings.catch_warnings():
                    # only the rates are read: an inestimable covariance does not matter
                    warnings.simplefilter("ignore", OptimizeWarning)
                    warnings.simplefilter("ignore", RuntimeWarning)
                    popt, _ = curve_fit(biexp, t, y, p0=(np.log(c[0]), fast, np.log(c[0] / 5), slow), maxfev=20000)
            except RuntimeError:
                continue
            sse = float(np.sum((biexp(t, *popt) - y) ** 2))
            if np.isfinite(sse) and sse < best:
                best = sse
                ka, kb = sorted([abs(popt[1]), abs(popt[3])], reverse=True)
    return float(ka), float(kb)


def protein_half_lives() -> dict:
    """Terminal plasma half-lives (slowest eigenvalue of the disposition system) for T14-T17."""
    out = {}
    for tid, name, species in (("T14", "vegf165", "human"), ("T15", "tgf_beta1", "rat"),
                               ("T16", "trail", "mouse"), ("T17", "ifn_beta", "mouse")):
        sc = scenario_from_dict({"species": species, "product": {"kind": "drug", "name": name}, "dose": 1.0})
        s = drug_system(sc)
        live = [i for i, (c, k) in enumerate(s.states) if c in ("plasma", "peripheral") and k != "cleared"]
        lam = np.linalg.eigvals(s.A[np.ix_(live, live)]).real
        lam = lam[lam < -1e-12]
        out[tid] = float(np.log(2) / np.min(np.abs(lam)))
    return out


def haematopoiesis_targets() -> dict | None:
    """T25-T27 from the haematopoiesis module, or None if it is not built yet."""
    try:
        from .haematopoiesis import recovery_days  # built by another module owner
    except ImportError:
        return None
    w, wo = recovery_days(True), recovery_days(False)
    return {"T25": w["neutrophil_days"], "T26": w["platelet_days"],
            "T27": min(wo["neutrophil_days"] - w["neutrophil_days"], wo["platelet_days"] - w["platelet_days"])}


def check_targets(ids=None, params: dict | None = None, product: str = "msc") -> list[dict]:
    """Compare the model with every body target.

    Parameters
    ----------
    ids : iterable of str, optional
        Restrict to these target ids.
    params : dict, optional
        Overrides of ``product``'s library parameters (e.g. one fit of an ensemble).
    product : {'msc', 'exosome'}
        Whose parameters ``params`` overrides.

    Returns
    -------
    list of dict
        ``id, quantity, range, model, pass`` (``pass`` is None for targets not built).
    """
    want = set(ids) if ids else set(TARGETS)
    values: dict = {}
    if want & {"T01", "T02", "T03", "T04", "T05", "T07"}:
        values.update(msc_targets(params if product == "msc" else None))
    if want & {"T09", "T10", "T11", "T12", "T13"}:
        values.update(exosome_pk(params if product == "exosome" else None))
    if want & {"T14", "T15", "T16", "T17"}:
        values.update(protein_half_lives())
    hem = haematopoiesis_targets() if want & {"T25", "T26", "T27"} else None
    if hem:
        values.update(hem)
    rows = []
    for tid, (q, lo, hi, unit, src) in TARGETS.items():
        if tid not in want:
            continue
        v = values.get(tid)
        if v is None:
            rows.append({"id": tid, "quantity": q, "range": _rng(lo, hi, unit), "model": "not built", "pass": None,
                         "source": src})
            continue
        if isinstance(lo, str):
            ok = v == lo
        else:
            ok = bool(np.isfinite(v)) and v >= lo - 1e-12 and (hi is None or v <= hi + 1e-12)
        # a Python bool: NumPy's False is not ``False`` to an identity test
        rows.append({"id": tid, "quantity": q, "range": _rng(lo, hi, unit), "model": _fmt(v, unit), "pass": bool(ok),
                     "value": v, "source": src})
    return rows


def _rng(lo, hi, unit):
    if isinstance(lo, str):
        return lo
    if hi is None:
        return f">= {lo:g} {unit}"
    return f"{lo:g}-{hi:g} {unit}"


def _fmt(v, unit):
    if isinstance(v, str):
        return v
    return f"{v:.4g} {unit}"
