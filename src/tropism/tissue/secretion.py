"""Cell secretion and uptake, coupled to the fields every diffusion step.

BioFVM updates each voxel's density implicitly for each cell in it:
ρ ← (ρ + Δt·(V_c/V_v)·S·T) / (1 + Δt·(V_c/V_v)·(S + U)), then ρ += Δt·E/V_v for net export E.
Each update is an affine map, so the maps of all cells in a voxel compose into one
ρ ← m·ρ + c. Cells only move at mechanics steps, so the composed maps are built once per
mechanics step and applied at every diffusion step (inside the diffusion kernel) — same
arithmetic, a fraction of the work.
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np


class SecretingCells(NamedTuple):
    """What each agent brings to the fields: its voxel and volume (µm³) and, per substrate,
    secretion rate and target, uptake rate and net export (PhysiCell's four terms)."""

    voxel: np.ndarray
    volume: np.ndarray
    secretion: np.ndarray
    target: np.ndarray
    uptake: np.ndarray
    export: np.ndarray

    @classmethod
    def of(cls, agents) -> "SecretingCells":
        """The bundle of an :class:`~tropism.tissue.agents.Agents` (its own arrays)."""
        a = agents
        return cls(a.voxel, a.volume, a.secretion, a.secretion_target, a.uptake, a.export)


@nb.njit(cache=True)
def compose_sources(n, cells, dt, voxel_volume, n_voxels, slot_of):
    """Compose every cell's implicit source/sink update per voxel.

    ``cells`` is a :class:`SecretingCells`. Returns ``(voxels, m, c)``: the occupied voxels in
    first-seen order and, per substrate, the affine coefficients. ``slot_of`` is scratch of
    length ``n_voxels`` holding -1.
    """
    voxel = cells.voxel
    volume = cells.volume
    secretion = cells.secretion
    target = cells.target
    uptake = cells.uptake
    export = cells.export
    ns = secretion.shape[1]
    voxels = np.empty(n, np.int64)
    m = np.empty((n, ns))
    c = np.empty((n, ns))
    k = 0
    for i in range(n):
        active = False
        for s in range(ns):
            if secretion[i, s] != 0.0 or uptake[i, s] != 0.0 or export[i, s] != 0.0:
                active = True
                break
        if not active:
            continue
        v = voxel[i]
        slot = slot_of[v]
        if slot < 0:
            slot = k
            slot_of[v] = k
            voxels[k] = v
            for s in range(ns):
                m[k, s] = 1.0
                c[k, s] = 0.0
            k += 1
        w = dt * volume[i] / voxel_volume
        for s in range(ns):
            if secretion[i, s] == 0.0 and uptake[i, s] == 0.0 and export[i, s] == 0.0:
                continue  # the identity map: m / 1 and (c + 0) / 1 + 0 leave both as they are
            a = w * secretion[i, s] * target[i, s]
            b = 1.0 + w * (secretion[i, s] + uptake[i, s])
            m[slot, s] /= b
            c[slot, s] = (c[slot, s] + a) / b + dt * export[i, s] / voxel_volume
    for q in range(k):
        slot_of[voxels[q]] = -1
    return voxels[:k].copy(), m[:k].copy(), c[:k].copy()
