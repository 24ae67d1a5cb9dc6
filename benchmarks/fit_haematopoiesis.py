"""Offline calibration of ``library/body/haematopoiesis.toml`` (not run by the package).

Fits ``niche_recovery_per_d``, ``msc_niche_gain`` and ``platelet_feedback_gamma`` by
least squares to:

* T25: neutrophils >= 0.5e9/L at 13.31 d with MSCs;
* T26: platelets >= 20e9/L at 14.25 d with MSCs;
* T27: granulocyte recovery 12 vs 15 d with vs without MSCs, used as the effect size:
  without MSCs neutrophils recover 3 d later (13.31 + 3 = 16.31 d);

with a penalty keeping counts within 5 % of baseline at day 60 without MSCs.  All other
parameters stay at their library (sourced) values.  Usage::

    python benchmarks/fit_haematopoiesis.py
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

from tropism.body.haematopoiesis import default_parameters, recovery_days, simulate_recovery

FITTED = ["niche_recovery_per_d", "msc_niche_gain", "platelet_feedback_gamma"]
T25, T26, T27_DELAY = 13.31, 14.25, 15.0 - 12.0


def _params(x: np.ndarray) -> dict[str, float]:
    return {n: float(np.exp(v)) for n, v in zip(FITTED, x)}


def _residuals(x: np.ndarray) -> np.ndarray:
    p = _params(x)
    with_msc = recovery_days(True, p)
    without = recovery_days(False, p)
    late = simulate_recovery(False, 60.0, p)
    base = default_parameters()
    r = [
        with_msc["neutrophil_days"] - T25,
        with_msc["platelet_days"] - T26,
        without["neutrophil_days"] - (T25 + T27_DELAY),
        10.0 * max(0.0, 0.95 - late["neutrophils"][-1] / base["neutrophil_baseline"]),
        10.0 * max(0.0, 0.95 - late["platelets"][-1] / base["platelet_baseline"]),
    ]
    return np.nan_to_num(np.asarray(r), nan=50.0)


def main() -> None:
    x0 = np.log([0.1, 1.0, 0.2])
    fit = least_squares(_residuals, x0, diff_step=1e-3)
    p = _params(fit.x)
    for k, v in p.items():
        print(f"{k} = {v:.4g}")
    print("residuals:", fit.fun)
    for msc in (True, False):
        print("msc" if msc else "no msc", recovery_days(msc, {k: float(f"{v:.4g}") for k, v in p.items()}))


if __name__ == "__main__":
    main()
