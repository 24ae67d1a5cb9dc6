"""Population changes: add, reset, divide, start dying, transform, absorb and remove agents.

Each function changes the agent arrays for a set of rows, the way PhysiCell 1.14 changes a
cell's phenotype when it happens; the operations (``tissue.operations``) decide when.
"""

from __future__ import annotations

import numpy as np

from ..geometry import sphere_radius
from . import rng
from .agents import Agents
from .interactions import FUSED
from .parameters import AGENT_PARAMETERS, TypeTables
from .states import APOPTOTIC, LIVE

VOLUME_FIELDS = ("volume", "nuclear_solid", "nuclear_fluid", "cyto_solid", "cyto_fluid")


def reset_rows(a: Agents, tb: TypeTables, r: np.ndarray, types: np.ndarray,
               volumes: np.ndarray | None = None) -> None:
    """New live agents of ``types`` in rows ``r``: the type's volumes and behaviour base values.

    ``volumes`` (µm³) overrides the total volume per row where finite and positive; an
    empty entry in a cells CSV means the type's default, as in PhysiCell.
    """
    vol = tb.volume[types]
    total = vol[:, 0].copy()
    if volumes is not None:
        given = np.asarray(volumes, dtype=float)
        ok = np.isfinite(given) & (given > 0.0)
        total[ok] = given[ok]
    scale = total / vol[:, 0]
    ff, nuclear = vol[:, 1], vol[:, 2] * scale
    fluid = ff * total
    a.volume[r] = total
    a.nuclear_fluid[r] = ff * nuclear
    a.nuclear_solid[r] = nuclear - ff * nuclear
    a.cyto_fluid[r] = fluid - ff * nuclear
    a.cyto_solid[r] = (total - nuclear) - (fluid - ff * nuclear)
    a.calcified_fraction[r] = vol[:, 6]
    # a volume given per cell (cells CSV) becomes that cell's target too, as in PhysiCell
    a.target_solid_nuclear[r] = a.nuclear_solid[r]
    a.target_cyto_to_nuclear[r] = (vol[:, 0] - vol[:, 2]) / np.maximum(vol[:, 2], 1e-12)
    a.target_fluid_fraction[r] = ff
    a.fluid_change_rate[r] = vol[:, 3]
    a.cyto_change_rate[r] = vol[:, 4]
    a.nuclear_change_rate[r] = vol[:, 5]
    a.calcification_rate[r] = vol[:, 7]
    a.rupture_volume[r] = vol[:, 8] * total
    a.radius[r] = sphere_radius(total)
    a.phase[r] = 0
    a.phase_elapsed[r] = 0.0
    a.death_state[r] = LIVE
    a.death_elapsed[r] = 0.0
    a.attack_target[r] = -1
    a.motility_vector[r] = 0.0
    for name in AGENT_PARAMETERS:
        a.arrays[name][r] = tb.base[name][types]


def add(a: Agents, tb: TypeTables, positions: np.ndarray, types: np.ndarray, use_2d: bool,
        volumes: np.ndarray | None = None) -> np.ndarray:
    """Append live agents at ``positions`` (µm); returns their rows."""
    positions = np.asarray(positions, dtype=float).reshape(-1, 3)
    types = np.asarray(types, dtype=np.int64)
    rows = a.append(types.shape[0])
    r = np.arange(rows.start, rows.stop)
    a.type[r] = types
    a.position[r] = positions
    if use_2d:
        a.position[r, 2] = 0.0
    reset_rows(a, tb, r, types, volumes)
    return r


def start_death(a: Agents, tb: TypeTables, rows: np.ndarray, state: int) -> None:
    """Rows enter apoptosis or necrosis (PhysiCell's ``start_death``)."""
    if rows.size == 0:
        return
    k = 0 if state == APOPTOTIC else 1
    t = a.type[rows]
    rates = tb.death_rates[t, k]
    a.death_state[rows] = state
    a.attack_target[rows] = -1
    # secretion and export off, uptake cut to a tenth, motility off
    a.secretion[rows] = 0.0
    a.export[rows] = 0.0
    a.uptake[rows] *= 0.1
    a.speed[rows] = 0.0
    a.motility_vector[rows] = 0.0
    a.target_solid_nuclear[rows] = 0.0
    a.target_fluid_fraction[rows] = 0.0 if state == APOPTOTIC else 1.0
    a.fluid_change_rate[rows] = rates[:, 0]
    a.cyto_change_rate[rows] = rates[:, 2]
    a.nuclear_change_rate[rows] = rates[:, 3]
    a.calcification_rate[rows] = tb.death_calcification[t, k]
    a.rupture_volume[rows] = tb.rupture[t, k] * a.volume[rows]


def lyse(a: Agents, tb: TypeTables, rows: np.ndarray) -> None:
    """Ruptured necrotic cells: fluid lost at the lysed rate, no more exchange with the fields."""
    a.target_fluid_fraction[rows] = 0.0
    a.fluid_change_rate[rows] = tb.death_rates[a.type[rows], 1, 1]
    # a lysed cell is inactive in BioFVM
    for name in ("secretion", "uptake", "export"):
        a.arrays[name][rows] = 0.0


def divide(a: Agents, parents: np.ndarray, seed: int, step: int, use_2d: bool) -> np.ndarray:
    """Each parent splits in two equal halves; returns the daughters' rows.

    PhysiCell's offset: a random point on the unit sphere times the parent's radius (in 2D
    its in-plane part, not renormalised); daughter at x + u, parent at x − u/2.
    """
    m = parents.size
    rows = a.append(m)
    kids = np.arange(rows.start, rows.stop)
    for name, arr in a.arrays.items():
        if name != "id":
            arr[kids] = arr[parents]
    for name in VOLUME_FIELDS:
        a.arrays[name][parents] *= 0.5
        a.arrays[name][kids] = a.arrays[name][parents]
    radius_before = a.radius[parents].copy()
    radius = sphere_radius(a.volume[parents])
    a.radius[parents] = radius
    a.radius[kids] = radius
    ids = a.id[parents]
    theta = 2.0 * np.pi * rng.uniform_array(seed, ids, step, rng.STREAM_DIVISION, 0)
    cz = 2.0 * rng.uniform_array(seed, ids, step, rng.STREAM_DIVISION, 1) - 1.0
    s = np.sqrt(np.maximum(0.0, 1.0 - cz * cz))
    u = np.stack([s * np.cos(theta), s * np.sin(theta), np.zeros(m) if use_2d else cz], axis=1)
    u *= radius_before[:, None]
    a.position[kids] = a.position[parents] + u
    a.position[parents] -= 0.5 * u
    a.total_attack_time[parents] = 0.0
    a.total_attack_time[kids] = 0.0
    a.attack_target[kids] = -1
    a.previous_velocity[kids] = 0.0
    a.motility_vector[kids] = 0.0
    a.phase_elapsed[kids] = 0.0
    return kids


def transform(a: Agents, tb: TypeTables, seed: int, step: int, dt: float) -> np.ndarray:
    """Live cells change type with probability rate·dt (PhysiCell's standard transformations).

    Returns the rows that changed type.
    """
    n = a.n
    rates = a.transform[:n]
    if not np.any(rates > 0.0):
        return np.zeros(0, dtype=np.int64)
    live = a.death_state[:n] == LIVE
    new_type = np.full(n, -1, dtype=np.int64)
    for t in range(rates.shape[1]):
        u = rng.uniform_array(seed, a.id[:n], step, rng.STREAM_TRANSFORM, t)
        hit = live & (new_type < 0) & (rates[:, t] > 0) & (u <= rates[:, t] * dt)
        hit &= a.type[:n] != t
        new_type[hit] = t
    rows = np.nonzero(new_type >= 0)[0]
    if rows.size == 0:
        return rows
    new_types = new_type[rows]
    a.type[rows] = new_types
    for name in AGENT_PARAMETERS:
        a.arrays[name][rows] = tb.base[name][new_types]
    vol = tb.volume[new_types]
    a.target_solid_nuclear[rows] = vol[:, 2] * (1.0 - vol[:, 1])
    a.target_cyto_to_nuclear[rows] = (vol[:, 0] - vol[:, 2]) / np.maximum(vol[:, 2], 1e-12)
    a.target_fluid_fraction[rows] = vol[:, 1]
    a.phase[rows] = 0
    a.phase_elapsed[rows] = 0.0
    return rows


def absorb(a: Agents, removed: np.ndarray, absorbed_by: np.ndarray) -> None:
    """Add eaten and fused cells to their eaters (PhysiCell's ``ingest_cell`` / ``fuse_cell``)."""
    eaten = np.nonzero(removed)[0]
    for j in eaten:  # a handful per step at most
        i = absorbed_by[j]
        if removed[j] == FUSED:
            w = a.volume[i] + a.volume[j]
            a.position[i] = (a.volume[i] * a.position[i] + a.volume[j] * a.position[j]) / w
            for name in VOLUME_FIELDS[1:]:
                a.arrays[name][i] += a.arrays[name][j]
            a.target_solid_nuclear[i] += a.target_solid_nuclear[j]
        else:
            # ingestion: all of the prey's matter joins the eater's cytoplasm; targets unchanged
            a.cyto_fluid[i] += a.nuclear_fluid[j] + a.cyto_fluid[j]
            a.cyto_solid[i] += a.nuclear_solid[j] + a.cyto_solid[j]
        a.volume[i] = sum(a.arrays[name][i] for name in VOLUME_FIELDS[1:])
        a.radius[i] = sphere_radius(a.volume[i])


def remove(a: Agents, gone: np.ndarray) -> np.ndarray:
    """Remove rows where ``gone`` is True, keeping order; returns old → new index (-1 gone)."""
    return a.compact(~np.asarray(gone, dtype=bool))
