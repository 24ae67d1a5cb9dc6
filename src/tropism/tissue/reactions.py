"""Cell-catalysed conversion of one substrate into another, once per diffusion step.

Per voxel with catalysing cells, w = Σ (V_cell/V_voxel)·vmax (built when cells move, at
mechanics steps). The step is linearly implicit in A with the saturation taken at the old
value: A ← A / (1 + Δt·w/(km + A_old)), B ← B + (A_old − A). Whatever Δt·w, A stays in
[0, A_old] (no overshoot, no negative density) and A + B is unchanged to round-off; for
small Δt it is Michaelis–Menten kinetics to first order.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def conversion_weights(n, voxel, volume, ctype, live, cell_type, vmax, voxel_volume, n_voxels, slot_of):
    """Voxels holding live cells of ``cell_type`` and their Σ (V_cell/V_voxel)·vmax."""
    voxels = np.empty(n, np.int64)
    w = np.empty(n)
    k = 0
    for i in range(n):
        if ctype[i] != cell_type or not live[i]:
            continue
        v = voxel[i]
        s = slot_of[v]
        if s < 0:
            s = k
            slot_of[v] = k
            voxels[k] = v
            w[k] = 0.0
            k += 1
        w[s] += volume[i] / voxel_volume * vmax
    for q in range(k):
        slot_of[voxels[q]] = -1
    return voxels[:k].copy(), w[:k].copy()


@nb.njit(cache=True)
def convert(flat, voxels, w, a, b, km, dt):
    """One step of A → B in the listed voxels of ``flat`` (n_substrates, n_voxels)."""
    for q in range(voxels.shape[0]):
        v = voxels[q]
        old = flat[a, v]
        if old <= 0.0:
            continue
        new = old / (1.0 + dt * w[q] / (km + old))
        flat[a, v] = new
        flat[b, v] += old - new
