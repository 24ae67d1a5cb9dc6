"""BioFVM's locally one-dimensional (LOD) implicit scheme: the Numba kernels of
:class:`~tropism.tissue.diffusion.DiffusionSolver`'s ``lod`` scheme, and the line sweeps and
Dirichlet writes the Douglas scheme shares.

One step solves, for every substrate and each space dimension in turn, the implicit 1-D
problem along every grid line by the Thomas algorithm with BioFVM's elimination
coefficients (:func:`_thomas_coefficients`); see :mod:`tropism.tissue.diffusion` for the
equations, the memory layout and why results do not depend on the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Lines of the x sweep handled together by one thread: enough independent recurrences to
# hide the latency of each step of the recurrence, few enough to stay in L1 cache.
_X_BLOCK = 16

_JIT = dict(parallel=True, fastmath=False, cache=True, nogil=True)


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


@njit(fastmath=False, cache=True, nogil=True)
def _apply_dirichlet_kernel(u, dir_idx, dir_val):
    _apply_dirichlet(u.reshape(u.size), dir_idx, dir_val, 0, dir_idx.shape[0])


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
