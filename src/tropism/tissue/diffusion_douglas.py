"""The Douglas delta-form scheme: the Numba kernel of
:class:`~tropism.tissue.diffusion.DiffusionSolver`'s ``douglas`` scheme, its factorisations
and the per-substrate substeps it allows (:func:`douglas_substeps`).

Its steady state does not depend on ``dt``, so it takes diffusion steps far longer than
PhysiCell's 0.01 min (see :func:`_douglas_steps`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .diffusion_lod import _JIT, _X_BLOCK, _apply_dirichlet

__all__ = ["douglas_factors", "douglas_substeps"]


@njit(inline="always")
def _factored_x(lines, inv, cp, c, l0, m):
    # Thomas solve of m consecutive x-lines with per-voxel coefficients (douglas_factors);
    # the line loop is innermost so that the m recurrences overlap, as in _x_block
    nx = lines.shape[1]
    blk = lines[l0 : l0 + m]
    fi = inv[l0 : l0 + m]
    fc = cp[l0 : l0 + m]
    for l in range(m):
        blk[l, 0] *= fi[l, 0]
    for i in range(1, nx):
        for l in range(m):
            blk[l, i] = (blk[l, i] + c * blk[l, i - 1]) * fi[l, i]
    for i in range(nx - 2, -1, -1):
        for l in range(m):
            blk[l, i] += fc[l, i] * blk[l, i + 1]


@njit(inline="always")
def _factored_columns(a, inv, cp, c):
    # Thomas solve along axis 0 of the 2-D array a with per-element coefficients
    n, width = a.shape
    r = a[0]
    f = inv[0]
    for i in range(width):
        r[i] *= f[i]
    for j in range(1, n):
        prev = a[j - 1]
        r = a[j]
        f = inv[j]
        for i in range(width):
            r[i] = (r[i] + c * prev[i]) * f[i]
    for j in range(n - 2, -1, -1):
        nxt = a[j + 1]
        r = a[j]
        g = cp[j]
        for i in range(width):
            r[i] += g[i] * nxt[i]


@njit(**_JIT)
def _douglas_steps(u, c, lam_dt, invs, cps, dir_idx, dir_val, line_ptr, n_dims, subs, src_voxels, src_m, src_c,
                   scratch, n_steps, ratio):
    """``n_steps[s]`` Douglas (delta-form) steps of each substrate s of ``subs``, each on one thread.

    One step solves, for the change ``w`` of the field over ``dt``::

        (I + dt K) (I − dt A_x) (I − dt A_y) [(I − dt A_z)] w = dt (A u − K u + s)

    where ``A`` is diffusion–decay (decay shared between the axes' factors as LOD shares
    it), and ``K``, ``s`` the cells' (and vessels') uptake and supply recovered from the
    affine source maps (ρ ← m ρ + c is BioFVM's implicit ρ ← (ρ + dt s) / (1 + dt K)); then
    ``u ← u + w``. Dirichlet voxels are rows ``w = 0`` of every factor. The fixed point is
    ``A u − K u + s = 0``, the steady state of the unsplit equations whatever ``dt`` (LOD's
    moves with ``dt``), and every factor is implicit, so the scheme is unconditionally stable.
    ``invs``, ``cps`` are the factors' elimination coefficients per axis and voxel
    (:func:`douglas_factors`). A substrate whose step is ``ratio[s]`` times the one the maps
    were composed for (``c``, ``lam_dt`` and the factors are already its own) takes its K and s
    from them anew: m' = 1/(1 + r(1/m − 1)), c' = r (c/m) m'.
    """
    ns, nz, ny, nx = u.shape
    flat = u.reshape(u.size)
    per_sub = nz * ny
    per_s = nz * ny * nx
    m_xy = ny * nx
    for si in prange(subs.shape[0]):
        s = subs[si]
        w = scratch[si]
        wf = w.reshape(per_s)
        wl = w.reshape(per_sub, nx)
        us = u[s]
        uf = us.reshape(per_s)
        ix = invs[0, s].reshape(per_sub, nx)
        px = cps[0, s].reshape(per_sub, nx)
        q0 = line_ptr[s * per_sub]
        q1 = line_ptr[(s + 1) * per_sub]
        cx, cy, cz = c[s, 0], c[s, 1], c[s, 2]
        ld = lam_dt[s]
        r = ratio[s]
        for _rep in range(n_steps[s]):
            _apply_dirichlet(flat, dir_idx, dir_val, q0, q1)
            # the residual dt (A u), with no-flux ends as the end rows of the tridiagonal systems:
            # each face's flux is added to one side and taken from the other
            for z in range(nz):
                for y in range(ny):
                    row = us[z, y]
                    out = w[z, y]
                    for x in range(nx):
                        out[x] = -ld * row[x]
                    for x in range(nx - 1):
                        d = cx * (row[x + 1] - row[x])
                        out[x] += d
                        out[x + 1] -= d
                for y in range(ny - 1):
                    a0 = us[z, y]
                    a1 = us[z, y + 1]
                    o0 = w[z, y]
                    o1 = w[z, y + 1]
                    for x in range(nx):
                        d = cy * (a1[x] - a0[x])
                        o0[x] += d
                        o1[x] -= d
            if n_dims == 3:
                for z in range(nz - 1):
                    for y in range(ny):
                        a0 = us[z, y]
                        a1 = us[z + 1, y]
                        o0 = w[z, y]
                        o1 = w[z + 1, y]
                        for x in range(nx):
                            d = cz * (a1[x] - a0[x])
                            o0[x] += d
                            o1[x] -= d
            # (I + dt K)⁻¹ with K, s from the maps: m = 1/(1 + dt K), c = dt s m
            for q in range(src_voxels.shape[0]):
                v = src_voxels[q]
                mq = src_m[q, s]
                cq = src_c[q, s]
                if r != 1.0:
                    mk = 1.0 / (1.0 + r * (1.0 / mq - 1.0))
                    cq = r * (cq / mq) * mk
                    mq = mk
                wf[v] = mq * wf[v] + (mq - 1.0) * uf[v] + cq
            # the factors: a Dirichlet voxel's coefficients are 0, so w = 0 there after each
            for l0 in range(0, per_sub, _X_BLOCK):
                _factored_x(wl, ix, px, cx, l0, min(_X_BLOCK, per_sub - l0))
            for z in range(nz):
                _factored_columns(w[z], invs[1, s, z], cps[1, s, z], cy)
            if n_dims == 3:
                _factored_columns(w.reshape(nz, m_xy), invs[2, s].reshape(nz, m_xy), cps[2, s].reshape(nz, m_xy), cz)
            for i in range(per_s):
                val = uf[i] + wf[i]
                uf[i] = val if val > 0.0 else 0.0


def douglas_factors(fixed: np.ndarray, c: np.ndarray, lam_dt: np.ndarray, n_dims: int):
    """Elimination coefficients of the Douglas factors ``I − dt A_axis``, per axis and voxel.

    Parameters
    ----------
    fixed : numpy.ndarray of bool
        Dirichlet voxels, shape ``(n_substrates, nz, ny, nx)``: rows ``w = 0``.
    c : numpy.ndarray
        ``D dt / h²`` per substrate and axis, shape ``(n_substrates, 3)``.
    lam_dt : numpy.ndarray
        Decay × dt per substrate, shared equally between the axes' factors (as LOD shares it).
    n_dims : int
        2 or 3.

    Returns
    -------
    inv, cp : numpy.ndarray
        Shape ``(3, n_substrates, nz, ny, nx)``: per voxel, the reciprocal pivot of the
        forward elimination and the back-substitution factor (both 0 in a Dirichlet voxel).
        Row ``j`` of a line is ``(1 + λdt/d + c·neighbours) w_j − c w_{j−1} − c w_{j+1}``,
        no-flux at the ends.
    """
    ns = fixed.shape[0]
    inv = np.zeros((3,) + fixed.shape)
    cp = np.zeros((3,) + fixed.shape)
    free = (~fixed).astype(np.float64)
    for ax in range(n_dims):
        axis = 3 - ax  # x is the last axis of (substrate, z, y, x)
        f = np.moveaxis(free, axis, -1)
        iv = np.moveaxis(inv[ax], axis, -1)
        cq = np.moveaxis(cp[ax], axis, -1)
        n = f.shape[-1]
        cc = c[:, ax].reshape((ns,) + (1,) * (f.ndim - 2))
        base = 1.0 + lam_dt.reshape(cc.shape) / n_dims
        prev = np.zeros(f.shape[:-1])
        for j in range(n):
            nb = (1.0 if j > 0 else 0.0) + (1.0 if j < n - 1 else 0.0)
            iv[..., j] = f[..., j] / (base + cc * nb - cc * prev)
            cq[..., j] = (cc if j < n - 1 else 0.0) * iv[..., j]
            prev = cq[..., j]
    return inv, cp


def douglas_substeps(diffusion_coefficients, decay_rates, stiffness, dt: float, spacing, per_mechanics: int):
    """Per substrate, how many base steps ``dt`` one Douglas step may span.

    The stiffest substrate (largest D·dt/h², or largest (decay + uptake or secretion rate)·dt)
    sets how coarse a step the base ``dt`` is allowed to be; every other substrate takes the
    longest step, a divisor of ``per_mechanics`` (one mechanics interval at most), at which it
    is no coarser in either measure. In the glioma example oxygen (D = 10⁵ µm²/min, cells take
    it up at 10/min) keeps 0.1 min while SDF-1 and TNF-α (D ≤ 10³, no uptake) step once per
    0.5-min mechanics interval: at that step their D·dt/h² is 1.25 against oxygen's 25.

    Parameters
    ----------
    diffusion_coefficients, decay_rates, stiffness : array_like
        Per substrate: µm²/min, 1/min, and the largest rate (1/min) at which cells or vessels
        take it up or drive it towards a target (before BioFVM's volume factor, at most 1).
    dt : float
        The base diffusion step (min).
    spacing : array_like
        Voxel edges along the solved axes (µm).
    per_mechanics : int
        Base steps per mechanics interval.
    """
    D = np.asarray(diffusion_coefficients, float)
    rate = np.asarray(decay_rates, float) + np.asarray(stiffness, float)
    h2 = float(np.min(spacing)) ** 2
    c, q = D * dt / h2, rate * dt
    c_ref, q_ref = (1.0 + 1e-12) * c.max(initial=0.0), (1.0 + 1e-12) * q.max(initial=0.0)
    divisors = [k for k in range(int(per_mechanics), 0, -1) if per_mechanics % k == 0]
    return np.array([next(k for k in divisors if c[s] * k <= c_ref and q[s] * k <= q_ref) for s in range(D.shape[0])],
                    dtype=np.int64)
