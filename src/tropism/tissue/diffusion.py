"""Diffusion–decay of substrates on the voxel mesh: BioFVM's implicit LOD scheme in Numba.

One time step solves, for every substrate and each space dimension in turn (x, then y,
then z), the implicit 1-D problem along every grid line::

    (1 + 2c + λ dt/d) u_i − c u_{i−1} − c u_{i+1} = u_i_old,   c = D dt / h²,

with no-flux ends (end rows ``1 + c + λ dt/d``), ``d`` the number of dimensions and ``h``
the voxel size along the line (BioFVM's "constant coefficients LOD" solvers). Dirichlet
values are written into their voxels before the sweeps and after each sweep, as BioFVM does.

The tridiagonal systems are solved by the Thomas algorithm with the elimination
coefficients computed once, exactly as BioFVM computes them. Per voxel the forward
elimination is ``u_i = (u_i + c u_{i−1}) * (1 / den_i)`` and the back substitution
``u_i = u_i + (c / den_i) u_{i+1}``; BioFVM divides by ``den_i`` instead of multiplying by
its precomputed reciprocal, which costs twice the time here, so results differ from
BioFVM's at the level of round-off (one rounding per operation), not bit for bit.

Speed comes from the memory layout ``(substrate, z, y, x)``: the y and z sweeps run the
recurrence over whole rows (planes) at a time, so the innermost loop walks contiguous x
and vectorises; the x sweep interleaves a block of neighbouring lines so that independent
recurrences overlap. Every grid line is computed by one thread with the same operations
whatever the thread count, so results do not depend on the number of threads.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from tropism.errors import TropismInputError
from tropism.model.substrates import FACES
from tropism.tissue.mesh import Mesh
from tropism.tissue.stencil import gradient_field

__all__ = ["DiffusionSolver", "FACES", "SCHEMES", "douglas_factors", "douglas_substeps"]

#: Time integrators: ``lod`` is BioFVM's (PhysiCell's) locally one-dimensional implicit scheme;
#: ``douglas`` is the delta form whose steady state does not depend on ``dt`` (see
#: :func:`_douglas_steps`), for diffusion steps far longer than PhysiCell's 0.01 min.
SCHEMES = ("lod", "douglas")

# FACES (model.substrates) orders the domain faces in ``dirichlet_enabled`` / ``dirichlet_values``.

# Lines of the x sweep handled together by one thread: enough independent recurrences to
# hide the latency of each step of the recurrence, few enough to stay in L1 cache.
_X_BLOCK = 16
# Narrowest column chunk handed to one thread in the y and z sweeps (in doubles): narrow
# chunks lose more to short inner loops and to cache lines shared between threads than
# they gain in balance.
_MIN_Y_CHUNK = 64
_MIN_Z_CHUNK = 256
# A field up to this size stays in one core's cache between sweeps (L2 is 1–2 MiB per
# core on current x86); smaller single planes run on one thread rather than split columns.
_CACHE_RESIDENT_BYTES = 2 * 1024 * 1024

_JIT = dict(parallel=True, fastmath=False, cache=True, nogil=True)


# --------------------------------------------------------------------------- kernels


@njit(inline="always")
def _x_block(lines, l0, m, c, inv, back):
    # Thomas solve of m consecutive x-lines; the line loop is innermost so that the m
    # recurrences are independent in each step and overlap in the pipeline.
    nx = lines.shape[1]
    blk = lines[l0 : l0 + m]
    d = inv[0]
    for l in range(m):
        blk[l, 0] *= d
    for i in range(1, nx):
        d = inv[i]
        for l in range(m):
            blk[l, i] = (blk[l, i] + c * blk[l, i - 1]) * d
    for i in range(nx - 2, -1, -1):
        b = back[i]
        for l in range(m):
            blk[l, i] += b * blk[l, i + 1]


@njit(inline="always")
def _columns(a, i0, i1, c, inv, back):
    # Thomas solve along axis 0 of the 2-D array a, for its columns i0..i1-1. Rows are
    # sliced so that the inner loops start at 0 and run over contiguous memory: that is the
    # form Numba/LLVM vectorises.
    n = a.shape[0]
    w = i1 - i0
    r = a[0, i0:i1]
    d = inv[0]
    for i in range(w):
        r[i] *= d
    for j in range(1, n):
        d = inv[j]
        prev = a[j - 1, i0:i1]
        r = a[j, i0:i1]
        for i in range(w):
            r[i] = (r[i] + c * prev[i]) * d
    for j in range(n - 2, -1, -1):
        b = back[j]
        nxt = a[j + 1, i0:i1]
        r = a[j, i0:i1]
        for i in range(w):
            r[i] += b * nxt[i]


@njit(inline="always")
def _apply_dirichlet(flat, idx, val, q0, q1):
    for q in range(q0, q1):
        flat[idx[q]] = val[q]


@njit(inline="always")
def _apply_dirichlet_columns(flat, idx, val, col, q0, q1, i0, i1):
    # Entries q0..q1-1 whose column (position within a row or a plane) is in i0..i1-1.
    for q in range(q0, q1):
        if i0 <= col[q] < i1:
            flat[idx[q]] = val[q]


@njit(**_JIT)
def _lod_step(u, c, inv, back, dir_idx, dir_val, dir_x, dir_xy, line_ptr, n_dims,
              y_width, z_width, src_voxels, src_m, src_c, n_steps=1):
    """``n_steps`` LOD steps of all substrates, in place; see :class:`DiffusionSolver`.

    The steps loop inside the compiled call: a small domain would otherwise spend much of
    its time crossing from Python into compiled code.

    Dirichlet entries ``dir_idx`` (flat indices into ``u``, sorted) are applied inside the
    sweeps, by the work item that owns each voxel: ``line_ptr[L]`` is the first entry on
    x-line ``L``; ``dir_x`` / ``dir_xy`` are the entries' positions within their row and
    their xy plane. ``y_width`` / ``z_width`` are the column-chunk widths of the y and z
    sweeps; they change the work split, never the results.
    """
    for _rep in range(n_steps):
        ns, nz, ny, nx = u.shape
        flat = u.reshape(u.size)

        # x: blocks of consecutive lines; a block never straddles two substrates so that each
        # uses one set of coefficients. Dirichlet before the sweep and after it.
        lines = u.reshape(ns * nz * ny, nx)
        per_sub = nz * ny
        nb_sub = (per_sub + _X_BLOCK - 1) // _X_BLOCK
        for it in prange(ns * nb_sub):
            s = it // nb_sub
            l0 = s * per_sub + (it % nb_sub) * _X_BLOCK
            m = min(_X_BLOCK, (s + 1) * per_sub - l0)
            q0 = line_ptr[l0]
            q1 = line_ptr[l0 + m]
            _apply_dirichlet(flat, dir_idx, dir_val, q0, q1)
            _x_block(lines, l0, m, c[s, 0], inv[s, 0], back[s, 0])
            _apply_dirichlet(flat, dir_idx, dir_val, q0, q1)

        # y: each (substrate, z) plane is an (ny, nx) array solved along axis 0.
        nch = (nx + y_width - 1) // y_width
        for it in prange(ns * nz * nch):
            p = it // nch
            i0 = (it % nch) * y_width
            i1 = min(i0 + y_width, nx)
            s = p // nz
            _columns(u[s, p % nz], i0, i1, c[s, 1], inv[s, 1], back[s, 1])
            q0 = line_ptr[p * ny]
            q1 = line_ptr[(p + 1) * ny]
            if nch == 1:
                _apply_dirichlet(flat, dir_idx, dir_val, q0, q1)
            else:
                _apply_dirichlet_columns(flat, dir_idx, dir_val, dir_x, q0, q1, i0, i1)

        if n_dims == 3:
            # z: each substrate is an (nz, ny*nx) array solved along axis 0.
            m_xy = ny * nx
            vol = u.reshape(ns, nz, m_xy)
            nch = (m_xy + z_width - 1) // z_width
            for it in prange(ns * nch):
                s = it // nch
                i0 = (it % nch) * z_width
                i1 = min(i0 + z_width, m_xy)
                _columns(vol[s], i0, i1, c[s, 2], inv[s, 2], back[s, 2])
                q0 = line_ptr[s * per_sub]
                q1 = line_ptr[(s + 1) * per_sub]
                if nch == 1:
                    _apply_dirichlet(flat, dir_idx, dir_val, q0, q1)
                else:
                    _apply_dirichlet_columns(flat, dir_idx, dir_val, dir_xy, q0, q1, i0, i1)

        # Cells' sources and sinks, composed per voxel by the caller: ρ ← mρ + c, floored at 0.
        # Done here, in the same compiled call, because a small domain would otherwise spend
        # most of its time crossing from Python into compiled code.
        per_s = nz * ny * nx
        if src_voxels.shape[0] == 0:  # no parallel launch for nothing
            continue
        for q in prange(src_voxels.shape[0]):
            v = src_voxels[q]
            for s in range(ns):
                val = src_m[q, s] * flat[s * per_s + v] + src_c[q, s]
                flat[s * per_s + v] = val if val > 0.0 else 0.0


@njit(**_JIT)
def _lod_step_two_ends(u, c, inv, back, dir_idx, dir_val, line_ptr, half, scratch, src_voxels, src_m,
                       src_c, n_steps=1):
    """One LOD step of a single 2D plane, its rows split in two halves that never swap cores.

    Each half x-solves its own rows; the y solve eliminates downwards in the top half and
    upwards in the bottom half (the matrix is symmetric end to end, so the bottom half uses
    the same pivots mirrored), the two meet in a 2 × 2 solve of rows ``half − 1`` and
    ``half``, and each half back-substitutes outwards. The arithmetic is the same whether the
    two halves run on one thread or two, so results do not depend on the thread count.
    """
    for _rep in range(n_steps):
        ny, nx = u.shape[2], u.shape[3]
        flat = u.reshape(u.size)
        plane = u[0, 0]
        cx, invx, backx = c[0, 0], inv[0, 0], back[0, 0]
        cy, invy, backy = c[0, 1], inv[0, 1], back[0, 1]
        for h in prange(2):
            r0 = 0 if h == 0 else half
            r1 = half if h == 0 else ny
            for l0 in range(r0, r1, _X_BLOCK):
                k = min(_X_BLOCK, r1 - l0)
                _apply_dirichlet(flat, dir_idx, dir_val, line_ptr[l0], line_ptr[l0 + k])
                _x_block(plane, l0, k, cx, invx, backx)
                _apply_dirichlet(flat, dir_idx, dir_val, line_ptr[l0], line_ptr[l0 + k])
            if h == 0:
                row = plane[0]
                d = invy[0]
                for i in range(nx):
                    row[i] *= d
                for j in range(1, half):
                    d = invy[j]
                    prev = plane[j - 1]
                    row = plane[j]
                    for i in range(nx):
                        row[i] = (row[i] + cy * prev[i]) * d
                for i in range(nx):
                    scratch[0, i] = plane[half - 1, i]
            else:
                row = plane[ny - 1]
                d = invy[0]
                for i in range(nx):
                    row[i] *= d
                for j in range(ny - 2, half - 1, -1):
                    d = invy[ny - 1 - j]
                    nxt = plane[j + 1]
                    row = plane[j]
                    for i in range(nx):
                        row[i] = (row[i] + cy * nxt[i]) * d
                for i in range(nx):
                    scratch[1, i] = plane[half, i]
        b_top = backy[half - 1]
        b_bottom = backy[ny - 1 - half]
        pivot = 1.0 - b_top * b_bottom
        for h in prange(2):
            if h == 0:
                row = plane[half - 1]
                for i in range(nx):
                    row[i] = (scratch[0, i] + b_top * scratch[1, i]) / pivot
                for j in range(half - 2, -1, -1):
                    b = backy[j]
                    nxt = plane[j + 1]
                    row = plane[j]
                    for i in range(nx):
                        row[i] += b * nxt[i]
                _apply_dirichlet(flat, dir_idx, dir_val, line_ptr[0], line_ptr[half])
            else:
                row = plane[half]
                for i in range(nx):
                    upper = (scratch[0, i] + b_top * scratch[1, i]) / pivot
                    row[i] = scratch[1, i] + b_bottom * upper
                for j in range(half + 1, ny):
                    b = backy[ny - 1 - j]
                    prev = plane[j - 1]
                    row = plane[j]
                    for i in range(nx):
                        row[i] += b * prev[i]
                _apply_dirichlet(flat, dir_idx, dir_val, line_ptr[half], line_ptr[ny])
        if src_voxels.shape[0] == 0:
            continue
        for q in prange(src_voxels.shape[0]):
            v = src_voxels[q]
            val = src_m[q, 0] * flat[v] + src_c[q, 0]
            flat[v] = val if val > 0.0 else 0.0


@njit(**_JIT)
def _lod_steps_by_substrate(u, c, inv, back, dir_idx, dir_val, line_ptr, n_dims, subs, src_voxels, src_m,
                            src_c, n_steps):
    """``n_steps`` LOD steps with each substrate on one thread for all of its steps.

    Substrates never interact within a mechanics interval (cell sources are per substrate),
    so a small multi-substrate field needs one parallel launch per call instead of three
    per step. Only the substrates listed in ``subs`` are stepped. Every line sees the same
    operations in the same order as in :func:`_lod_step`, so the results are identical to it.
    """
    ns, nz, ny, nx = u.shape
    flat = u.reshape(u.size)
    lines = u.reshape(ns * nz * ny, nx)
    per_sub = nz * ny
    per_s = nz * ny * nx
    m_xy = ny * nx
    for si in prange(subs.shape[0]):
        s = subs[si]
        l_start = s * per_sub
        q0 = line_ptr[l_start]
        q1 = line_ptr[l_start + per_sub]
        vol = u[s].reshape(nz, m_xy)
        for _rep in range(n_steps):
            for l0 in range(l_start, l_start + per_sub, _X_BLOCK):
                m = min(_X_BLOCK, l_start + per_sub - l0)
                _apply_dirichlet(flat, dir_idx, dir_val, line_ptr[l0], line_ptr[l0 + m])
                _x_block(lines, l0, m, c[s, 0], inv[s, 0], back[s, 0])
                _apply_dirichlet(flat, dir_idx, dir_val, line_ptr[l0], line_ptr[l0 + m])
            for z in range(nz):
                _columns(u[s, z], 0, nx, c[s, 1], inv[s, 1], back[s, 1])
            _apply_dirichlet(flat, dir_idx, dir_val, q0, q1)
            if n_dims == 3:
                _columns(vol, 0, m_xy, c[s, 2], inv[s, 2], back[s, 2])
                _apply_dirichlet(flat, dir_idx, dir_val, q0, q1)
            for q in range(src_voxels.shape[0]):
                v = src_voxels[q]
                val = src_m[q, s] * flat[s * per_s + v] + src_c[q, s]
                flat[s * per_s + v] = val if val > 0.0 else 0.0


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


@njit(fastmath=False, cache=True, nogil=True)
def _apply_dirichlet_kernel(u, dir_idx, dir_val):
    _apply_dirichlet(u.reshape(u.size), dir_idx, dir_val, 0, dir_idx.shape[0])


# --------------------------------------------------------------------------- solver


def _thomas_coefficients(n, c, decay_dt_share):
    """Elimination coefficients of one tridiagonal system, computed as BioFVM does.

    Returns ``den`` (the pivots) and ``back`` (``c / den``, the back-substitution factors).
    """
    diag = 1.0 + c
    diag_end = diag + decay_dt_share  # no-flux end rows: 1 + c + λ dt/d
    diag = diag + c + decay_dt_share  # interior rows: 1 + 2c + λ dt/d
    den = np.full(n, diag)
    den[0] = den[-1] = diag_end
    if n == 1:
        den[0] = 1.0 + decay_dt_share
    back = np.empty(n)
    back[0] = c / den[0]
    for i in range(1, n):
        # den_i = diag_i − c² / den_{i−1}, in BioFVM's operation order.
        den[i] += c * (-c / den[i - 1])
        back[i] = c / den[i]
    return den, back


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


class DiffusionSolver:
    """Implicit LOD diffusion–decay solver with BioFVM's numerics.

    Parameters
    ----------
    mesh : Mesh
        The voxel mesh.
    diffusion_coefficients : array_like
        Diffusion coefficient of each substrate, shape ``(n_substrates,)`` (length²/time).
    decay_rates : array_like
        First-order decay rate of each substrate, shape ``(n_substrates,)`` (1/time).
    dt : float
        Diffusion time step.
    dirichlet_enabled : array_like of bool
        Shape ``(n_substrates, 6)``: whether each domain face imposes a Dirichlet value on
        each substrate, faces ordered as :data:`FACES` (xmin, xmax, ymin, ymax, zmin, zmax).
        In 2D the z faces are ignored.
    dirichlet_values : array_like
        Shape ``(n_substrates, 6)``: the values imposed on those faces.
    substeps : array_like of int, optional
        Douglas only: per substrate, how many steps ``dt`` one of its steps spans (default 1;
        see :func:`douglas_substeps`). A substrate of k substeps steps k·dt at the base steps
        ≡ 0 (mod k) counted by ``steps_taken``.
    scheme : {"lod", "douglas"}
        ``lod`` (default) is BioFVM's scheme, as PhysiCell steps it. ``douglas`` solves the
        same tridiagonal systems for the change over a step (delta form, Dirichlet voxels as
        rows ``w = 0``); its steady state is that of the unsplit equations at any ``dt``, where
        LOD's drifts with ``dt`` (about 5 % at PhysiCell's 0.01 min for oxygen on 20 µm voxels,
        28 % at 0.1 min; ``tests/test_diffusion.py``), so it allows steps of 0.1 min. It keeps
        its coefficients per voxel (four doubles per voxel and substrate in 2D, six in 3D).

    Notes
    -----
    A face imposes its values on the outermost voxel layer on that side. Where faces meet
    (edges, corners) the later face in :data:`FACES` order decides, for all substrates at
    once, both the value and whether it is active, provided that face is enabled for at
    least one substrate; this is how PhysiCell builds its boundary Dirichlet nodes.
    Interior Dirichlet voxels set with :meth:`set_dirichlet_voxels` take precedence over
    the faces.

    Unlike BioFVM, which uses ``dx`` for every direction, each sweep uses the voxel size of
    its own axis; the two agree on the cubic voxels PhysiCell uses.

    The steady state of repeated steps with a source added between them (as PhysiCell adds
    cell secretion) carries the splitting error of LOD, first order in ``dt``: it is small
    in shell averages around a point source (about 1 % at ``c = D dt / dx² = 1``) but
    single voxels near the source deviate by tens of percent at ``c ≥ 1``.

    Results do not depend on the number of Numba threads.
    """

    def __init__(
        self,
        mesh: Mesh,
        diffusion_coefficients,
        decay_rates,
        dt: float,
        dirichlet_enabled,
        dirichlet_values,
        scheme: str = "lod",
        substeps=None,
    ) -> None:
        if scheme not in SCHEMES:
            raise TropismInputError("unknown diffusion scheme", field="diffusion_scheme", value=scheme,
                                    allowed=", ".join(SCHEMES))
        self.scheme = scheme
        self.mesh = mesh
        D = np.array(diffusion_coefficients, dtype=np.float64).reshape(-1)
        lam = np.array(decay_rates, dtype=np.float64).reshape(-1)
        ns = D.shape[0]
        if lam.shape != (ns,):
            raise TropismInputError(
                "decay_rates must have one value per substrate",
                field="decay_rates",
                value=lam.shape,
                allowed=f"shape ({ns},)",
            )
        if not np.all(np.isfinite(D)) or np.any(D < 0):
            raise TropismInputError(
                "diffusion coefficients must be finite and >= 0",
                field="diffusion_coefficients",
                value=D.tolist(),
            )
        if not np.all(np.isfinite(lam)) or np.any(lam < 0):
            raise TropismInputError(
                "decay rates must be finite and >= 0", field="decay_rates", value=lam.tolist()
            )
        dt = float(dt)
        if not (np.isfinite(dt) and dt > 0):
            raise TropismInputError("dt must be positive", field="dt", value=dt)
        enabled = np.array(dirichlet_enabled, dtype=bool)
        values = np.array(dirichlet_values, dtype=np.float64)
        for name, arr in (("dirichlet_enabled", enabled), ("dirichlet_values", values)):
            if arr.shape != (ns, 6):
                raise TropismInputError(
                    f"{name} must have shape (n_substrates, 6)",
                    field=name,
                    value=arr.shape,
                    allowed=f"shape ({ns}, 6)",
                )

        self.n_substrates = ns
        self.dt = dt
        self.diffusion_coefficients = D
        self.decay_rates = lam
        self.dirichlet_enabled = enabled
        self.dirichlet_values = values
        self.field_shape = (ns,) + mesh.shape

        d = mesh.n_dimensions
        sizes = (mesh.nx, mesh.ny, mesh.nz)
        steps = (mesh.dx, mesh.dy, mesh.dz)
        nmax = max(sizes)
        self._c = np.zeros((ns, 3))
        self._inv = np.ones((ns, 3, nmax))
        self._back = np.zeros((ns, 3, nmax))
        for s in range(ns):
            for a in range(d):
                c = D[s] * dt / steps[a] / steps[a]
                den, back = _thomas_coefficients(sizes[a], c, lam[s] * dt / d)
                self._c[s, a] = c
                self._inv[s, a, : sizes[a]] = 1.0 / den
                self._back[s, a, : sizes[a]] = back
        self._widths: dict[int, tuple[int, int, int]] = {}
        # A single 2D plane is solved in two halves of rows that stay on their own cores
        # (see _lod_step_two_ends); the split row is a block boundary of the x sweep.
        self._half = 0
        if ns == 1 and d == 2 and mesh.ny >= 4:
            self._half = min(max(((mesh.ny // 2 + _X_BLOCK - 1) // _X_BLOCK) * _X_BLOCK, 2), mesh.ny - 2)
        self._scratch = np.zeros((2, mesh.nx))

        self._lam_dt = lam * dt
        k = np.ones(ns, dtype=np.int64) if substeps is None else np.array(substeps, dtype=np.int64).reshape(-1)
        if k.shape != (ns,) or np.any(k < 1) or (scheme != "douglas" and np.any(k != 1)):
            raise TropismInputError("substeps must be one integer >= 1 per substrate (above 1 only for douglas)",
                                    field="substeps", value=k.tolist(), allowed=f"{ns} integers >= 1")
        #: per substrate, how many base steps ``dt`` one of its Douglas steps spans
        self.substeps = k
        #: base steps taken so far; a substrate with k substeps steps at the base steps ≡ 0 mod k
        self.steps_taken = 0
        self._douglas_scratch = np.zeros((0,) + mesh.shape)
        self._no_voxels = np.zeros(0, dtype=np.int64)
        self._no_sources = np.zeros((0, ns))
        self._all_subs = np.arange(ns, dtype=np.int64)
        self._maybe_quiet = list(range(ns))
        self._live_subs = np.zeros(0, dtype=np.int64)
        # whether a step leaves out the substrates that stay zero (see _live); off only to compare
        self.skip_quiet = True
        self._face_mask, self._face_vals = self._face_dirichlet()
        self._set_combined(None)

    # ------------------------------------------------------------------ Dirichlet set-up

    def _face_dirichlet(self):
        m = self.mesh
        ns = self.n_substrates
        mask = np.zeros((ns,) + m.shape, dtype=bool)
        vals = np.zeros((ns,) + m.shape)
        # (face number, index expression of its voxel layer in a (nz, ny, nx) array)
        layers = [(0, np.s_[:, :, 0]), (1, np.s_[:, :, -1]),
                  (2, np.s_[:, 0, :]), (3, np.s_[:, -1, :])]
        if not m.use_2d:
            layers += [(4, np.s_[0, :, :]), (5, np.s_[-1, :, :])]
        for f, sl in layers:
            if not self.dirichlet_enabled[:, f].any():
                continue
            for s in range(ns):
                mask[s][sl] = self.dirichlet_enabled[s, f]
                vals[s][sl] = self.dirichlet_values[s, f]
        return mask, vals

    def _set_combined(self, interior):
        mask = self._face_mask.copy()
        vals = self._face_vals.copy()
        if interior is not None:
            vox, v, on = interior
            for s in range(self.n_substrates):
                sel = on[:, s]
                mask[s].reshape(-1)[vox[sel]] = True
                vals[s].reshape(-1)[vox[sel]] = v[sel, s]
        # Unique, sorted flat indices: each voxel is written once per application, by the
        # one work item of each sweep that owns it (no write races between threads).
        idx = np.flatnonzero(mask.reshape(-1)).astype(np.int64)
        nz, ny, nx = self.mesh.shape
        self._dir_idx = idx
        self._dir_val = vals.reshape(-1)[idx].copy()
        self._fixed = mask
        self._douglas_coefficients = None  # (re)computed at the next Douglas step
        self._dir_x = idx % nx
        self._dir_xy = idx % (nx * ny)
        n_lines = self.n_substrates * nz * ny
        self._line_ptr = np.searchsorted(idx, np.arange(n_lines + 1, dtype=np.int64) * nx)
        lp = self._line_ptr[:: nz * ny]
        self._dir_nonzero = np.array([bool(np.any(self._dir_val[lp[s]:lp[s + 1]] != 0.0))
                                      for s in range(self.n_substrates)])

    def set_dirichlet_voxels(self, voxel_indices, values, enabled) -> None:
        """Set the interior Dirichlet voxels (e.g. blood vessels), replacing earlier ones.

        Parameters
        ----------
        voxel_indices : array_like of int
            Flat voxel indices, shape ``(n,)``. Pass an empty array to clear them.
        values : array_like
            Shape ``(n, n_substrates)``: the value imposed on each substrate.
        enabled : array_like of bool
            Shape ``(n, n_substrates)``: which substrates are imposed in each voxel. Where
            ``enabled`` is false the voxel keeps whatever the domain faces impose, if any.

        Notes
        -----
        If a voxel index is repeated, its last occurrence counts.
        """
        ns = self.n_substrates
        vox = np.asarray(voxel_indices, dtype=np.int64).reshape(-1)
        n = vox.shape[0]
        v = np.asarray(values, dtype=np.float64).reshape(n, ns) if n else np.zeros((0, ns))
        on = np.asarray(enabled, dtype=bool).reshape(n, ns) if n else np.zeros((0, ns), bool)
        if n and (vox.min() < 0 or vox.max() >= self.mesh.n_voxels):
            raise TropismInputError(
                "Dirichlet voxel index out of range",
                field="voxel_indices",
                value=(int(vox.min()), int(vox.max())),
                allowed=f"0..{self.mesh.n_voxels - 1}",
            )
        if n:
            # Keep the last occurrence of each index (NumPy does not promise which of
            # repeated indices wins a fancy assignment).
            _, first_in_reversed = np.unique(vox[::-1], return_index=True)
            keep = n - 1 - first_in_reversed
            vox, v, on = vox[keep], v[keep], on[keep]
        self._set_combined((vox, v, on) if n else None)

    # ------------------------------------------------------------------ stepping

    def _by_substrate(self, threads: int) -> bool:
        """Whether whole substrates are the work items: several of them, each small."""
        ns = self.n_substrates
        voxels = self.mesh.n_voxels
        return ns >= 2 and (threads <= 1 or ns >= threads) and 8 * ns * voxels <= _CACHE_RESIDENT_BYTES

    def _work_split(self, n_threads: int) -> tuple[int, int, int]:
        if self._half:  # one 2D plane: always two halves of rows, on up to two threads
            return min(n_threads, 2), self.mesh.nx, self.mesh.nx * self.mesh.ny
        return self._work_split_planes(n_threads)

    def _work_split_planes(self, n_threads: int) -> tuple[int, int, int]:
        """Threads to use, and column-chunk widths of the y and z sweeps.

        Whole planes are the natural work items: each thread keeps the same part of the
        data from one sweep to the next. When there are fewer planes than threads, columns
        must be split, which moves half the data between cores twice per step; for a field
        that fits in a core's cache that costs more than the second thread saves, so fewer
        threads are used instead. None of this changes the results.
        """
        if n_threads not in self._widths:
            ns, (nz, ny, nx) = self.n_substrates, self.mesh.shape
            threads = n_threads
            if 0 < ns * nz < n_threads and 8 * ns * nz * ny * nx <= _CACHE_RESIDENT_BYTES:
                threads = ns * nz

            def width(n_items, n_cols, min_width):
                if threads <= 1 or n_items == 0 or n_items >= threads:
                    return max(n_cols, 1)
                split = min(-(-threads // n_items), max(1, n_cols // min_width))
                w = -(-n_cols // split)
                # a multiple of 8 doubles (a cache line), so neighbours share fewer lines
                return min(n_cols, -(-w // 8) * 8)

            self._widths[n_threads] = (
                threads,
                width(ns * nz, nx, _MIN_Y_CHUNK),
                width(ns, nx * ny, _MIN_Z_CHUNK),
            )
        return self._widths[n_threads]

    def _check(self, fields, name="fields"):
        if (
            not isinstance(fields, np.ndarray)
            or fields.dtype != np.float64
            or fields.shape != self.field_shape
            or not fields.flags.c_contiguous
            or not fields.flags.writeable
        ):
            got = (
                (getattr(fields, "shape", None), str(getattr(fields, "dtype", type(fields))))
            )
            raise TropismInputError(
                f"{name} must be a writeable C-contiguous float64 array",
                field=name,
                value=got,
                allowed=f"shape {self.field_shape}",
            )

    def apply_dirichlet(self, fields: np.ndarray) -> None:
        """Write all active Dirichlet values (faces and interior voxels) into ``fields``.

        Parameters
        ----------
        fields : numpy.ndarray
            Float64, C-contiguous, shape ``(n_substrates, nz, ny, nx)``; changed in place.
        """
        self._check(fields)
        _apply_dirichlet_kernel(fields, self._dir_idx, self._dir_val)

    def step(self, fields: np.ndarray) -> None:
        """Advance ``fields`` by one diffusion time step ``dt``, in place.

        Parameters
        ----------
        fields : numpy.ndarray
            Float64, C-contiguous, shape ``(n_substrates, nz, ny, nx)``.
        """
        self._check(fields)
        if self.scheme == "douglas":
            self._douglas(fields, 1, self._all_subs, self._no_voxels, self._no_sources, self._no_sources)
            return
        n_threads = numba.get_num_threads()
        threads, y_width, z_width = self._work_split(n_threads)
        if threads != n_threads:
            numba.set_num_threads(threads)  # affects this calling thread only
        try:
            self._run_step(fields, y_width, z_width)
        finally:
            self.steps_taken += 1
            if threads != n_threads:
                numba.set_num_threads(n_threads)

    def _run_step(self, fields, y_width, z_width, voxels=None, m=None, c=None):
        if voxels is None:
            voxels, m, c = self._no_voxels, self._no_sources, self._no_sources
        if self._half:
            _lod_step_two_ends(fields, self._c, self._inv, self._back, self._dir_idx, self._dir_val,
                               self._line_ptr, self._half, self._scratch, voxels, m, c)
            return
        _lod_step(
            fields,
            self._c,
            self._inv,
            self._back,
            self._dir_idx,
            self._dir_val,
            self._dir_x,
            self._dir_xy,
            self._line_ptr,
            self.mesh.n_dimensions,
            y_width,
            z_width,
            voxels,
            m,
            c,
        )

    def step_with_sources(self, fields: np.ndarray, n_steps: int, voxels: np.ndarray, m: np.ndarray,
                          c: np.ndarray) -> None:
        """Advance ``n_steps`` steps, each followed by per-voxel affine sources ρ ← m·ρ + c.

        Parameters
        ----------
        fields : numpy.ndarray
            Float64, C-contiguous, shape ``(n_substrates, nz, ny, nx)``.
        n_steps : int
            Number of diffusion steps.
        voxels : numpy.ndarray
            Flat indices of the voxels with sources, shape ``(k,)``, without repeats.
        m, c : numpy.ndarray
            Affine coefficients per listed voxel and substrate, shape ``(k, n_substrates)``.
            Results below 0 are set to 0.
        """
        self._check(fields)
        if self.scheme == "douglas":
            self._douglas(fields, n_steps, self._live(fields, c), voxels, m, c)
            return
        n_threads = numba.get_num_threads()
        threads, y_width, z_width = self._work_split(n_threads)
        if threads != n_threads:
            numba.set_num_threads(threads)
        if self._half:
            kernel = _lod_step_two_ends
            args = (self._c, self._inv, self._back, self._dir_idx, self._dir_val, self._line_ptr, self._half,
                    self._scratch, voxels, m, c)
        elif self._by_substrate(threads):
            kernel = _lod_steps_by_substrate
            args = (self._c, self._inv, self._back, self._dir_idx, self._dir_val, self._line_ptr,
                    self.mesh.n_dimensions, self._live(fields, c), voxels, m, c)
        else:
            kernel = _lod_step
            args = (self._c, self._inv, self._back, self._dir_idx, self._dir_val, self._dir_x, self._dir_xy,
                    self._line_ptr, self.mesh.n_dimensions, y_width, z_width, voxels, m, c)
        try:
            kernel(fields, *args, int(n_steps))
        finally:
            self.steps_taken += int(n_steps)
            if threads != n_threads:
                numba.set_num_threads(n_threads)

    def _douglas(self, fields, n_steps, subs, voxels, m, c) -> None:
        n_steps = int(n_steps)
        if n_steps <= 0:
            return
        b, k = self.steps_taken, self.substeps
        self.steps_taken += n_steps
        # a substrate of k substeps takes one step of k·dt at each base step ≡ 0 (mod k)
        counts = -((-(b + n_steps)) // k) + ((-b) // k)
        subs = subs[counts[subs] > 0]
        if subs.shape[0] == 0:
            return
        if self._douglas_scratch.shape[0] < subs.shape[0]:
            self._douglas_scratch = np.zeros((self.n_substrates,) + self.mesh.shape)
        if self._douglas_coefficients is None:
            kc = self._c * k[:, None]
            kl = self._lam_dt * k
            self._douglas_coefficients = (kc, kl) + douglas_factors(self._fixed, kc, kl, self.mesh.n_dimensions)
        kc, kl, inv, cp = self._douglas_coefficients
        _douglas_steps(fields, kc, kl, inv, cp, self._dir_idx, self._dir_val, self._line_ptr,
                       self.mesh.n_dimensions, subs, voxels, m, c, self._douglas_scratch, counts,
                       k.astype(np.float64))

    def _live(self, fields: np.ndarray, c: np.ndarray) -> np.ndarray:
        """The substrates a step must sweep: all but those that stay exactly zero.

        A substrate that is zero everywhere, with no nonzero Dirichlet value and no source
        constant, stays zero through a step (the sweeps map 0 to 0, and m·0 + 0 = 0), so
        leaving it out changes no bit of any field. Quiet substrates are common: a library
        scenario declares every substrate its rules may read.
        """
        if not self.skip_quiet or not self._maybe_quiet:
            return self._all_subs
        # a substrate once seen live is swept from then on (always correct): only the ones
        # still quiet are looked at again, so a model without quiet substrates pays nothing
        quiet = [s for s in self._maybe_quiet
                 if not (self._dir_nonzero[s] or (c.shape[0] and c[:, s].any()) or fields[s].any())]
        if len(quiet) < len(self._maybe_quiet):
            self._maybe_quiet = quiet
            self._live_subs = np.array([s for s in range(self.n_substrates) if s not in quiet], dtype=np.int64)
        return self._live_subs

    def gradients(self, fields: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Spatial gradients of all substrates, with BioFVM's stencils.

        Central differences in the interior and one-sided differences in the first and last
        voxel of each line; the z component is 0 in 2D (and along any axis of one voxel).
        The differences are multiplied by ``1 / (2h)`` or ``1 / h`` where BioFVM divides,
        a round-off-level difference.

        Parameters
        ----------
        fields : numpy.ndarray
            Float64, C-contiguous, shape ``(n_substrates, nz, ny, nx)``.
        out : numpy.ndarray, optional
            Float64, C-contiguous, shape ``(n_substrates, nz, ny, nx, 3)`` to write into.

        Returns
        -------
        numpy.ndarray
            The gradients, shape ``(n_substrates, nz, ny, nx, 3)`` (``out`` if given).
        """
        if not (isinstance(fields, np.ndarray) and fields.dtype == np.float64
                and fields.shape == self.field_shape):
            self._check(fields)
        fields = np.ascontiguousarray(fields)
        shape = self.field_shape + (3,)
        if out is None:
            out = np.empty(shape)
        elif (
            not isinstance(out, np.ndarray)
            or out.shape != shape
            or out.dtype != np.float64
            or not out.flags.c_contiguous
        ):
            raise TropismInputError(
                "out must be a C-contiguous float64 array",
                field="out",
                value=getattr(out, "shape", None),
                allowed=f"shape {shape}",
            )
        m = self.mesh
        gradient_field(fields, out, m.dx, m.dy, m.dz)
        return out

