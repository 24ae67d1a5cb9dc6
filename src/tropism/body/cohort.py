"""Virtual cohorts: many animals with sampled parameters, solved together.

The MSC model is linear in the amounts, so every animal's solution on a uniform grid is
``x_{k+1} = e^{A h} x_k``; the exponentials of all animals are computed in one batched call and
the stepping is a batched matrix–vector product. Cost grows linearly with the cohort.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import expm

from ..errors import TropismInputError
from .library import load_params
from .model import _msc_system, anatomy, size_classes
from .scenario import Scenario

#: default between-animal variability: log-normal coefficient of variation per parameter (assumed;
#: physiological parameters vary ~10-30 % between animals, Brown 1997 ranges)
DEFAULT_CV = {"cardiac_output_factor": 0.15, "death_arrested_per_min": 0.3, "debris_efflux_per_min": 0.3,
              "blood_loss_per_min": 0.3, "diameter_um": 0.08}


@dataclass
class CohortResult:
    """Amounts for every animal at the sample times.

    Attributes
    ----------
    times_min : ndarray (T,)
    compartments : list[str]
    viable, label : ndarray (N, T, C)
    samples : dict[str, ndarray (N,)]
        The sampled parameter values.
    given : float
        Dose given per animal by the last time.
    """

    times_min: np.ndarray
    compartments: list
    viable: np.ndarray
    label: np.ndarray
    samples: dict
    given: float

    def quantiles(self, compartment: str, what: str = "label", q=(0.05, 0.5, 0.95)) -> np.ndarray:
        """Quantiles over animals of one compartment's % injected dose, shape (len(q), T)."""
        j = self.compartments.index(compartment)
        return np.quantile(100.0 * getattr(self, what)[:, :, j] / self.given, q, axis=0)


def simulate_cohort(sc: Scenario, n: int = 1000, seed: int = 0, cv: dict | None = None,
                    times_h=(1.0, 6.0, 24.0, 72.0, 168.0), step_min: float = 60.0, size_classes_n: int = 6,
                    chunk: int = 2000) -> CohortResult:
    """Simulate ``n`` virtual animals receiving MSCs, with log-normally sampled parameters.

    Parameters
    ----------
    sc : Scenario
        An MSC scenario with a bolus schedule whose interval is a multiple of ``step_min``.
    n : int
        Animals.
    seed : int
        Seed of the sampler (same seed, same cohort).
    cv : dict, optional
        Coefficient of variation per sampled parameter (default ``DEFAULT_CV``).
    times_h : sequence of float
        Sample times, multiples of ``step_min``.
    step_min : float
        Grid step of the exact propagation.
    size_classes_n : int
        Diameter classes per animal (fewer than a single run's, for speed).
    chunk : int
        Animals per batched exponential (memory: chunk × states² × 8 bytes × ~6).

    Returns
    -------
    CohortResult
    """
    if sc.product.kind != "msc":
        raise TropismInputError("cohorts are built for MSC products", field="product.kind", value=sc.product.kind,
                                allowed="msc")
    if sc.schedule.infusion_min > 0:
        raise TropismInputError("cohorts take bolus schedules", field="schedule.infusion_min",
                                value=sc.schedule.infusion_min, allowed="0")
    steps = np.round(np.asarray(times_h, float) * 60.0 / step_min).astype(int)
    per = np.asarray(sc.schedule.start_times_min()) / step_min
    if np.any(np.abs(steps * step_min - np.asarray(times_h) * 60.0) > 1e-6) or np.any(np.abs(per - np.round(per)) > 1e-9):
        raise TropismInputError("cohort sample times and dose times must be multiples of the step",
                                field="times_h", value=tuple(times_h), allowed=f"multiples of {step_min:g} min")
    dose_steps = {int(round(p)) for p in per if round(p) <= steps[-1]}
    cv = {**DEFAULT_CV, **(cv or {})}
    rng = np.random.default_rng(seed)
    base = dict(load_params("msc"))
    base["cardiac_output_factor"] = 1.0
    d0 = sc.product.diameter_um or base["default_diameter_um"]
    samples = {}
    for k, c in cv.items():
        mu = d0 if k == "diameter_um" else base[k]
        s = np.sqrt(np.log1p(c * c))
        samples[k] = mu * np.exp(s * rng.standard_normal(n) - 0.5 * s * s)
    an = anatomy(sc)
    z, w = size_classes(1.0, base["diameter_cv"], size_classes_n)
    comps, viable, label = None, None, None
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        p = dict(base)
        p.update({k: v[lo:hi] for k, v in samples.items() if k != "diameter_um"})
        for zk, wk in zip(z, w):
            s = _msc_system(sc, an, p, samples["diameter_um"][lo:hi] * zk, wk)
            if comps is None:
                comps = list(dict.fromkeys(c for c, _ in s.states))
                viable = np.zeros((n, len(steps), len(comps)))
                label = np.zeros_like(viable)
                agg_v = np.zeros((len(s.states), len(comps)))
                agg_l = np.zeros_like(agg_v)
                for i, (c, kind) in enumerate(s.states):
                    if kind != "cleared":
                        agg_l[i, comps.index(c)] = 1.0
                        if kind != "debris":
                            agg_v[i, comps.index(c)] = 1.0
            A = np.broadcast_to(s.A, (hi - lo,) + s.A.shape[-2:])
            E = expm(A * step_min)
            dose = np.broadcast_to(s.dose, (hi - lo, s.A.shape[-1])) * sc.dose
            x = np.zeros((hi - lo, s.A.shape[-1]))
            ti = 0
            for k in range(steps[-1] + 1):
                if k > 0:
                    x = np.matmul(E, x[..., None])[..., 0]
                if k in dose_steps:
                    x = x + dose
                while ti < len(steps) and steps[ti] == k:
                    viable[lo:hi, ti] += wk * (x @ agg_v)
                    label[lo:hi, ti] += wk * (x @ agg_l)
                    ti += 1
    return CohortResult(steps * step_min, comps, viable, label, samples, sc.dose * len(dose_steps))
