"""Exact piecewise solution of linear compartment systems with boluses and infusions."""

from __future__ import annotations

import numpy as np
from scipy.linalg import expm


def dose_events(starts_min, infusion_min: float, amount: float, end_min: float):
    """Administration times, and the infusion windows.

    Parameters
    ----------
    starts_min : sequence of float
        Start of every administration (min), e.g. ``Schedule.start_times_min()``.
    infusion_min : float
        0 for boluses, else each administration's infusion length (min).
    amount : float
        Amount per administration.
    end_min : float
        Administrations starting after this are left out.

    Returns
    -------
    boluses : list[tuple[float, float]]
        (time, amount) for bolus schedules.
    infusions : list[tuple[float, float, float]]
        (start, stop, rate per min) for infusion schedules.
    """
    starts = [t for t in starts_min if t <= end_min]
    if infusion_min > 0:
        return [], [(t, t + infusion_min, amount / infusion_min) for t in starts]
    return [(t, amount) for t in starts], []


def propagate(A: np.ndarray, dose: np.ndarray, times: np.ndarray, boluses, infusions) -> np.ndarray:
    """Amounts at ``times`` for ``dx/dt = A x + u(t) dose``.

    ``u`` is a sum of boluses (Dirac at given times) and constant-rate infusions. Between
    breakpoints the solution is exact: ``x(t+h) = e^{Ah} x + (∫_0^h e^{As} ds) dose u``, both
    blocks from one exponential of the augmented matrix ``[[A, I], [0, 0]]`` (Van Loan), cached
    per step length so a uniform output grid costs a handful of exponentials.

    Parameters
    ----------
    A : ndarray (..., n, n)
        Leading axes are independent systems solved together (MSC size classes, animals).
    dose : ndarray (..., n)
        Distribution of one unit of administered amount over the states.
    times : ndarray (T,)
        Increasing output times (min), starting at 0 or later.
    boluses : list of (time, amount)
    infusions : list of (start, stop, rate)

    Returns
    -------
    ndarray (T, ..., n)
    """
    n = A.shape[-1]
    batch = np.broadcast_shapes(A.shape[:-2], np.shape(dose)[:-1])
    dose = np.broadcast_to(dose, batch + (n,))
    times = np.asarray(times, float)
    brk = {float(t) for t in times}
    brk.update(t for t, _ in boluses)
    for a, b, _ in infusions:
        brk.update((a, b))
    end = times[-1]
    grid = np.array(sorted(t for t in brk if 0.0 <= t <= end))
    bolus_at: dict = {}
    for t, amt in boluses:
        bolus_at[t] = bolus_at.get(t, 0.0) + amt
    want = {float(t): i for i, t in enumerate(times)}
    out = np.zeros((len(times),) + batch + (n,))
    cache: dict = {}
    has_inf = bool(infusions)

    def step(h):
        key = int(h * 1e6 + 0.5)  # step lengths equal to 1e-6 min share one exponential
        if key not in cache:
            if has_inf:
                M = np.zeros(A.shape[:-2] + (2 * n, 2 * n))
                M[..., :n, :n] = A * h
                M[..., :n, n:] = np.eye(n) * h
                E = expm(M)
                cache[key] = (E[..., :n, :n], np.einsum("...ij,...j->...i", E[..., :n, n:], dose))
            else:
                cache[key] = (expm(A * h), None)
        return cache[key]

    x = np.zeros(batch + (n,))
    t_prev = grid[0]
    for k, t in enumerate(grid):
        if k > 0:
            h = t - t_prev
            if h > 0:
                E, G = step(h)
                x = np.einsum("...ij,...j->...i", E, x)
                if has_inf:
                    mid = 0.5 * (t_prev + t)
                    rate = sum(r for a, b, r in infusions if a <= mid < b)
                    if rate:
                        x = x + G * rate
        if t in bolus_at:
            x = x + dose * bolus_at[t]
        if t in want:
            out[want[t]] = x
        t_prev = t
    return out


def given_by(times: np.ndarray, boluses, infusions) -> np.ndarray:
    """Cumulative amount administered by each time (doses at time t count at t)."""
    times = np.asarray(times, float)
    g = np.zeros_like(times)
    for t, amt in boluses:
        g += np.where(times >= t, amt, 0.0)
    for a, b, r in infusions:
        g += r * np.clip(times - a, 0.0, b - a)
    return g
