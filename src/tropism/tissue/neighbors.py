"""Uniform-grid neighbour search: agents binned by a counting sort, scanned bin by bin."""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def build_grid(pos, n, lo, size, dims):
    """Bin the first ``n`` positions into a grid of ``dims`` bins of edge ``size`` from ``lo``.

    Returns ``(start, order, bin_of)``: agents of bin ``b`` are ``order[start[b]:start[b+1]]``,
    in increasing agent index (a serial counting sort, so the order never depends on threads).
    """
    nbins = dims[0] * dims[1] * dims[2]
    bin_of = np.empty(n, np.int64)
    counts = np.zeros(nbins + 1, np.int64)
    for i in range(n):
        b = 0
        stride = 1
        for a in range(3):
            c = int((pos[i, a] - lo[a]) / size)
            if c < 0:
                c = 0
            elif c >= dims[a]:
                c = dims[a] - 1
            b += c * stride
            stride *= dims[a]
        bin_of[i] = b
        counts[b + 1] += 1
    for b in range(nbins):
        counts[b + 1] += counts[b]
    fill = counts[:-1].copy()
    order = np.empty(n, np.int64)
    for i in range(n):
        b = bin_of[i]
        order[fill[b]] = i
        fill[b] += 1
    return counts, order, bin_of


def grid_geometry(lo: np.ndarray, hi: np.ndarray, reach: float, use_2d: bool):
    """Bin edge and bin counts for interaction reach ``reach`` (µm) over box [lo, hi]."""
    size = max(float(reach), 1e-6)
    dims = np.maximum(np.ceil((hi - lo) / size).astype(np.int64), 1)
    if use_2d:
        dims[2] = 1
    return size, dims
