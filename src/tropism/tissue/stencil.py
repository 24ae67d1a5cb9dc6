"""The finite-difference stencil of substrate gradients, one copy for the field and the cells.

BioFVM's convention: central differences inside the domain, one-sided at its faces, zero
along an axis one voxel thick.
"""

from __future__ import annotations

from numba import njit, prange

__all__ = ["difference", "gradient_field"]


@njit(inline="always")
def difference(j, n, inv_h):
    """Indices (high, low) and factor of the difference along an axis of ``n`` voxels of width
    ``1 / inv_h`` at index ``j``: central inside, one-sided at both ends, zero on an axis of one
    voxel (BioFVM's ``compute_all_gradient_vectors``). The derivative is
    ``(u[high] - u[low]) * factor``."""
    if n < 2:
        return 0, 0, 0.0
    if j == 0:
        return 1, 0, inv_h
    if j == n - 1:
        return n - 1, n - 2, inv_h
    return j + 1, j - 1, 0.5 * inv_h


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def gradient_field(u, g, dx, dy, dz):
    """Gradients ``g[s, k, j, i, :]`` of every substrate field ``u[s, k, j, i]`` on a mesh of
    voxel widths ``dx, dy, dz``, by :func:`difference` along each axis."""
    ns, nz, ny, nx = u.shape
    # One work item per x-row: it reads neighbouring rows and writes its own row of
    # 3-vectors, all three components in one pass so the stores stay contiguous.
    for it in prange(ns * nz * ny):
        j = it % ny
        k = (it // ny) % nz
        s = it // (ny * nz)
        row = u[s, k, j]
        out = g[s, k, j]
        jh, jl, fy = difference(j, ny, 1.0 / dy)
        kh, kl, fz = difference(k, nz, 1.0 / dz)
        yh = u[s, k, jh]
        yl = u[s, k, jl]
        zh = u[s, kh, j]
        zl = u[s, kl, j]
        fx = 0.5 / dx
        for i in range(1, nx - 1):
            out[i, 0] = (row[i + 1] - row[i - 1]) * fx
            out[i, 1] = (yh[i] - yl[i]) * fy
            out[i, 2] = (zh[i] - zl[i]) * fz
        for i in (0, nx - 1):
            if nx < 2:
                out[i, 0] = 0.0
            elif i == 0:
                out[i, 0] = (row[1] - row[0]) * (2.0 * fx)
            else:
                out[i, 0] = (row[i] - row[i - 1]) * (2.0 * fx)
            out[i, 1] = (yh[i] - yl[i]) * fy
            out[i, 2] = (zh[i] - zl[i]) * fz
