"""Exchange of substrates between tissue and blood through a vessel-density field.

Vessels are not resolved as voxels of blood: each voxel carries a vessel surface density
``S_v`` (vessel wall area per tissue volume, 1/µm), and each substrate ``s`` crosses the
wall with permeability ``P_s`` (µm/min), so that in every voxel::

    du_s/dt = ... + k_vs (c_plasma,s − u_s),   k_vs = P_s · S_v   (1/min).

Over one diffusion step ``dt`` the exchange is applied after the diffusion sweeps, as cell
secretion and uptake are, and implicitly, as BioFVM treats its sources and sinks::

    u ← (u + dt·k·c_p) / (1 + dt·k)   i.e.   u ← m·u + c,  m = 1/(1 + dt·k),
                                                      c = dt·k·c_p / (1 + dt·k).

This is the backward-Euler step of the exchange, so it is unconditionally stable and never
overshoots: ``u`` moves towards ``c_p`` and reaches it for ``dt·k → ∞``. The maps have the
form that :meth:`tropism.tissue.diffusion.DiffusionSolver.step_with_sources` applies;
:func:`merge_maps` composes them with the cells' own maps
(:func:`tropism.tissue.secretion.compose_sources`) so that one set is applied per step.

Stability does not mean accuracy: the steady state reached this way has the exchange rate
``k/(1 + dt·k)`` and LOD's splitting error, both first order in ``dt``. Around a vessel disk of
6 voxels' radius (decay length 8 voxels) the profile is within 0.5 % of the analytic one at
``dt·k = 0.005`` and 2.4 % off at ``dt·k = 0.05`` (tests/tissue/test_vessels.py).

Everything here is vectorised NumPy: the voxel loops are whole-array operations, and the
maps are built once per change of the vessel field or of the cells, not every step.
"""

from __future__ import annotations

import numpy as np

from tropism.errors import TropismInputError

__all__ = ["compose_trusted", "exchange_maps", "exchange_rate", "merge_maps"]


# --------------------------------------------------------------------------- validation


def _finite_nonnegative(values, name: str, unit: str) -> np.ndarray:
    a = np.array(values, dtype=np.float64).reshape(-1)
    bad = ~np.isfinite(a) | (a < 0.0)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise TropismInputError(
            f"{name} must be finite and >= 0",
            field=f"{name}[{first}]" if a.size > 1 else name,
            value=float(a[first]),
            allowed=f"finite values >= 0 ({unit})",
        )
    return a


def _per_substrate(values, name: str, unit: str, n_substrates: int | None) -> np.ndarray:
    a = _finite_nonnegative(values, name, unit)
    if n_substrates is not None and a.shape != (n_substrates,):
        raise TropismInputError(
            f"{name} must have one value per substrate",
            field=name,
            value=a.shape,
            allowed=f"shape ({n_substrates},)",
        )
    if a.size == 0:
        raise TropismInputError(f"{name} must list at least one substrate", field=name, value=a.shape,
                                allowed="shape (n_substrates,), n_substrates >= 1")
    return a


def _positive(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TropismInputError(f"{name} must be a number", field=name, value=value,
                                allowed="a finite number > 0") from None
    if not (np.isfinite(v) and v > 0.0):
        raise TropismInputError(f"{name} must be positive", field=name, value=v,
                                allowed="a finite number > 0")
    return v


# --------------------------------------------------------------------------- maps


def exchange_maps(density, permeability, plasma, dt) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-voxel implicit exchange maps ``u ← m·u + c`` for one diffusion step.

    Parameters
    ----------
    density : array_like
        Vessel surface density of each voxel (vessel wall area per tissue volume, 1/µm),
        shape ``(n_voxels,)``; an array of the mesh shape ``(nz, ny, nx)`` is read in flat
        voxel order. Values must be finite and ``>= 0``.
    permeability : array_like
        Wall permeability of each substrate (µm/min), shape ``(n_substrates,)``, finite and
        ``>= 0``.
    plasma : array_like
        Plasma concentration of each substrate, shape ``(n_substrates,)``, finite and
        ``>= 0``, in the units of the fields.
    dt : float
        Diffusion time step (min), ``> 0``.

    Returns
    -------
    voxels : numpy.ndarray
        ``int64``, shape ``(k,)``: the voxels with ``density > 0``, in increasing order.
    m, c : numpy.ndarray
        ``float64``, C-contiguous, shape ``(k, n_substrates)``: ``m = 1/(1 + dt·k)`` and
        ``c = dt·k·c_p/(1 + dt·k)`` with ``k = permeability · density``; ``0 < m <= 1`` and
        ``0 <= c <= c_p`` (``m = 0``, ``c = c_p`` where ``dt·k`` overflows).

    Raises
    ------
    TropismInputError
        A negative or non-finite density, permeability or plasma value, mismatched
        substrate counts, or ``dt <= 0``.

    Notes
    -----
    A substrate with zero permeability gets ``m = 1``, ``c = 0`` (no exchange) in every
    listed voxel, so one voxel list serves all substrates.
    """
    d = _finite_nonnegative(density, "density", "1/µm")
    p = _per_substrate(permeability, "permeability", "µm/min", None)
    cp = _per_substrate(plasma, "plasma", "concentration", p.shape[0])
    dt = _positive(dt, "dt")

    voxels = np.flatnonzero(d > 0.0).astype(np.int64)  # flatnonzero is increasing
    # Overflow of dt·k means instant equilibration with plasma; both forms below give its
    # limit (m = 0, w = 1) without a warning. k is formed before dt multiplies it, so that a
    # zero permeability gives 0, never inf·0. w = dt·k/(1 + dt·k) is written as
    # 1/(1 + 1/(dt·k)) so that it is accurate for small and huge dt·k alike and has no
    # inf/inf; its 1/0 for a zero permeability gives w = 0 exactly.
    with np.errstate(over="ignore", divide="ignore"):
        a = (d[voxels][:, None] * p[None, :]) * dt
        m = 1.0 / (1.0 + a)
        w = 1.0 / (1.0 + 1.0 / a)
    c = w * cp[None, :]
    return voxels, np.ascontiguousarray(m), np.ascontiguousarray(c)


def _check_maps(maps, name: str, n_voxels: int, n_substrates: int | None):
    try:
        v, m, c = maps
    except (TypeError, ValueError):
        raise TropismInputError(f"{name} must be a tuple (voxels, m, c)", field=name,
                                value=type(maps).__name__, allowed="(voxels, m, c)") from None
    v = np.asarray(v)
    if v.ndim != 1 or (v.size and not np.issubdtype(v.dtype, np.integer)):
        raise TropismInputError(f"{name} voxels must be a 1-D integer array", field=f"{name}.voxels",
                                value=(v.shape, str(v.dtype)), allowed="shape (k,), integer")
    v = v.astype(np.int64, copy=False)
    k = v.shape[0]
    m = np.asarray(m, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != k or c.shape != m.shape:
        raise TropismInputError(f"{name} m and c must have one row per voxel", field=name,
                                value=(v.shape, m.shape, c.shape),
                                allowed=f"m, c of shape ({k}, n_substrates)")
    if n_substrates is not None and m.shape[1] != n_substrates:
        raise TropismInputError(f"{name} has a different number of substrates", field=name,
                                value=m.shape[1], allowed=f"{n_substrates} substrates")
    if k and (v.min() < 0 or v.max() >= n_voxels):
        raise TropismInputError(f"{name} voxel index out of range", field=f"{name}.voxels",
                                value=(int(v.min()), int(v.max())), allowed=f"0..{n_voxels - 1}")
    # A repeated voxel would make the scatter below keep only one of its maps.
    if k > 1 and np.unique(v).shape[0] != k:
        raise TropismInputError(f"{name} lists a voxel more than once", field=f"{name}.voxels",
                                value=k - np.unique(v).shape[0], allowed="each voxel at most once")
    if not (np.isfinite(m).all() and np.isfinite(c).all()):
        raise TropismInputError(f"{name} m and c must be finite", field=name, value="non-finite entries",
                                allowed="finite numbers")
    return v, m, c


def merge_maps(first, second, n_voxels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compose two sets of per-voxel affine maps: ``first`` applied, then ``second``.

    Parameters
    ----------
    first, second : tuple of numpy.ndarray
        ``(voxels, m, c)`` as taken by ``DiffusionSolver.step_with_sources``: ``voxels``
        integer, shape ``(k,)``, each voxel at most once, any order; ``m``, ``c`` shape
        ``(k, n_substrates)``, finite.
    n_voxels : int
        Number of voxels of the mesh (the indices must lie in ``0..n_voxels-1``).

    Returns
    -------
    voxels : numpy.ndarray
        ``int64``, shape ``(k,)``: every voxel listed in either set, once, increasing.
    m, c : numpy.ndarray
        ``float64``, C-contiguous, shape ``(k, n_substrates)``. Where both sets list a voxel,
        ``m = m2·m1`` and ``c = m2·c1 + c2``; a voxel in only one set keeps its map bit for
        bit.

    Raises
    ------
    TropismInputError
        Malformed or mismatched map sets, out-of-range or repeated voxels, non-finite
        coefficients.

    Notes
    -----
    The composition is exact algebra; applied, it differs from applying the two sets one
    after the other only by the rounding of one product and one sum per entry, and where
    the kernel's floor at 0 would have clipped the first map's result (a net uptake
    ``c1 < 0`` larger than the density), which exchange and BioFVM-style secretion maps
    (``m > 0``, ``c >= 0``) never do.
    """
    try:
        n_voxels = int(n_voxels)
    except (TypeError, ValueError):
        raise TropismInputError("n_voxels must be an integer", field="n_voxels", value=n_voxels,
                                allowed="an integer >= 0") from None
    v1, m1, c1 = _check_maps(first, "first", n_voxels, None)
    v2, m2, c2 = _check_maps(second, "second", n_voxels, m1.shape[1])

    voxels = np.union1d(v1, v2).astype(np.int64)  # sorted, unique
    ns = m1.shape[1]
    m = np.ones((voxels.shape[0], ns))
    c = np.zeros((voxels.shape[0], ns))
    i1 = np.searchsorted(voxels, v1)
    i2 = np.searchsorted(voxels, v2)
    # Identity everywhere, then first, then second on top: a voxel only in second gets
    # m2·1 = m2 and m2·0 + c2 = c2 exactly, one only in first is never touched again.
    m[i1] = m1
    c[i1] = c1
    c[i2] = m2 * c[i2] + c2
    m[i2] = m2 * m[i2]
    return voxels, m, c


def compose_trusted(first, second, n_voxels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`merge_maps` without its checks, for maps the solver built itself (its hot path:
    the cells' maps change every mechanics step). Where ``second`` lists every voxel (a vessel
    bed everywhere) the result is composed in place of a dense copy, without a union of voxel
    sets. Same arithmetic as :func:`merge_maps`, to the bit."""
    v1, m1, c1 = first
    v2, m2, c2 = second
    if v2.shape[0] != n_voxels:
        return merge_maps(first, second, n_voxels)
    m = m2.copy()
    c = c2.copy()
    if v1.shape[0]:
        m[v1] = m2[v1] * m1
        c[v1] = m2[v1] * c1 + c2[v1]
    return v2, m, c


# --------------------------------------------------------------------------- flux


def exchange_rate(flat_fields, density, permeability, plasma, voxel_volume) -> np.ndarray:
    """Amount of each substrate leaving the tissue into the blood per unit time.

    ``Σ_v V_voxel · P_s · S_v · (u_sv − c_p,s)``: positive when the tissue loses substrate
    to the blood, negative when the blood supplies it.

    Parameters
    ----------
    flat_fields : array_like
        Densities, shape ``(n_substrates, n_voxels)`` (the solver's ``(n_substrates, nz,
        ny, nx)`` fields are accepted too and read in flat voxel order).
    density, permeability, plasma : array_like
        As in :func:`exchange_maps`.
    voxel_volume : float
        Volume of one voxel (µm³), ``> 0``.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_substrates,)``: amount per minute (field units × µm³ / min).

    Raises
    ------
    TropismInputError
        Bad density, permeability, plasma or voxel volume (as in :func:`exchange_maps`), or
        fields whose shape does not match them.

    Notes
    -----
    Evaluated on the fields after a step, ``dt`` times this rate is exactly the amount the
    implicit exchange maps of that step removed (backward Euler: ``u_new − u = dt·k·(c_p −
    u_new)``), up to round-off.
    """
    d = _finite_nonnegative(density, "density", "1/µm")
    p = _per_substrate(permeability, "permeability", "µm/min", None)
    cp = _per_substrate(plasma, "plasma", "concentration", p.shape[0])
    vol = _positive(voxel_volume, "voxel_volume")
    u = np.asarray(flat_fields, dtype=np.float64)
    ns = p.shape[0]
    if u.size != ns * d.shape[0] or u.shape[0] != ns:
        raise TropismInputError(
            "fields do not match the density field and the substrates",
            field="flat_fields",
            value=u.shape,
            allowed=f"shape ({ns}, {d.shape[0]}) or ({ns}, nz, ny, nx)",
        )
    u = u.reshape(ns, -1)
    voxels = np.flatnonzero(d > 0.0)
    # Only vessel voxels contribute; u − c_p is taken before the sum so that a field close
    # to plasma does not lose its small difference to cancellation.
    return vol * p * ((u[:, voxels] - cp[:, None]) @ d[voxels])
