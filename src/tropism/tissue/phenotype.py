"""Cycle, death and volume: the phenotype clock's kernels (PhysiCell's standard models)."""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from ..geometry import FOUR_THIRDS_PI
from .agents import APOPTOTIC, LIVE, NECROTIC_LYSED, NECROTIC_SWELLING
from .rng import STREAM_APOPTOSIS, STREAM_CYCLE, STREAM_NECROSIS, uniform


class VolumeArrays(NamedTuple):
    """What the volume model reads and writes, per agent: the compartments (µm³), their
    targets and relaxation rates (1/min), and the radius it keeps in step with the volume."""

    volume: np.ndarray
    nuclear_solid: np.ndarray
    nuclear_fluid: np.ndarray
    cyto_solid: np.ndarray
    cyto_fluid: np.ndarray
    calcified: np.ndarray
    target_solid_nuclear: np.ndarray
    target_cyto_to_nuclear: np.ndarray
    target_fluid_fraction: np.ndarray
    fluid_rate: np.ndarray
    cyto_rate: np.ndarray
    nuclear_rate: np.ndarray
    calcification_rate: np.ndarray
    radius: np.ndarray

    @classmethod
    def of(cls, agents) -> "VolumeArrays":
        """The bundle of an :class:`~tropism.tissue.agents.Agents` (its own arrays, written in place)."""
        a = agents
        return cls(a.volume, a.nuclear_solid, a.nuclear_fluid, a.cyto_solid, a.cyto_fluid, a.calcified_fraction,
                   a.target_solid_nuclear, a.target_cyto_to_nuclear, a.target_fluid_fraction,
                   a.fluid_change_rate, a.cyto_change_rate, a.nuclear_change_rate, a.calcification_rate, a.radius)


@nb.njit(parallel=True, cache=True)
def update_volumes(n, dt, arrays):
    """PhysiCell's standard volume model: each compartment relaxes to its target at its rate.

    ``arrays`` is a :class:`VolumeArrays`.
    """
    # fields bound to names before the loop: Numba 0.62 loses writes made through a tuple's
    # fields inside a parallel loop (tests/tissue/test_numba_tuples.py)
    volume = arrays.volume
    nuclear_solid = arrays.nuclear_solid
    nuclear_fluid = arrays.nuclear_fluid
    cyto_solid = arrays.cyto_solid
    cyto_fluid = arrays.cyto_fluid
    calcified = arrays.calcified
    target_solid_nuclear = arrays.target_solid_nuclear
    target_cyto_to_nuclear = arrays.target_cyto_to_nuclear
    target_fluid_fraction = arrays.target_fluid_fraction
    fluid_rate = arrays.fluid_rate
    cyto_rate = arrays.cyto_rate
    nuclear_rate = arrays.nuclear_rate
    calcification_rate = arrays.calcification_rate
    radius = arrays.radius
    for i in nb.prange(n):
        total = volume[i]
        nuclear = nuclear_solid[i] + nuclear_fluid[i]
        fluid = nuclear_fluid[i] + cyto_fluid[i]
        fluid += dt * fluid_rate[i] * (target_fluid_fraction[i] * total - fluid)
        if fluid < 0.0:
            fluid = 0.0
        nf = fluid * (nuclear / total) if total > 0.0 else 0.0
        cf = fluid - nf
        ns = nuclear_solid[i] + dt * nuclear_rate[i] * (target_solid_nuclear[i] - nuclear_solid[i])
        if ns < 0.0:
            ns = 0.0
        target_cyto = target_cyto_to_nuclear[i] * target_solid_nuclear[i]
        cs = cyto_solid[i] + dt * cyto_rate[i] * (target_cyto - cyto_solid[i])
        if cs < 0.0:
            cs = 0.0
        nuclear_solid[i] = ns
        nuclear_fluid[i] = nf
        cyto_solid[i] = cs
        cyto_fluid[i] = cf
        calcified[i] += dt * calcification_rate[i] * (1.0 - calcified[i])
        v = ns + nf + cs + cf
        volume[i] = v
        radius[i] = (v / FOUR_THIRDS_PI) ** (1.0 / 3.0)


@nb.njit(parallel=True, cache=True)
def death_and_cycle(n, keys, cells, cycle, death, out):
    """One phenotype step of death checks and cycle/death-phase progression.

    Live cells first test apoptosis then necrosis (probability rate·dt each, as PhysiCell), and
    a cell that did not die advances its cycle: a stochastic phase exits with probability
    rate·dt, a fixed-duration phase once its elapsed time exceeds 1/rate − dt/2. Dead cells advance their death phases:
    apoptotic cells are removed after their duration; necrotic cells swell until they reach
    their rupture volume, lyse, and are removed after the lysed duration.
    Writes flags into ``divide``, ``remove`` and ``newly_dead`` (1 apoptosis, 2 necrosis).

    Arguments come grouped: ``keys`` (seed, step, dt); ``cells`` (ids, type, death state,
    death elapsed, phase, phase elapsed, volume, rupture volume); ``cycle`` (per-agent phase
    exit rates, and per type: phase count, next phase, divides, fixed duration); ``death``
    (per-agent apoptosis and necrosis rates, per-type apoptotic and lysed durations);
    ``out`` (divide, remove, newly_dead).
    """
    seed, step, dt = keys
    # arrays by index, never unpacked: Numba 0.62 loses writes through arrays unpacked from
    # a tuple in a parallel function (tests/tissue/test_numba_tuples.py)
    ids = cells[0]
    ctype = cells[1]
    death_state = cells[2]
    death_elapsed = cells[3]
    phase = cells[4]
    phase_elapsed = cells[5]
    volume = cells[6]
    rupture_volume = cells[7]
    cycle_rate = cycle[0]
    n_phases = cycle[1]
    phase_next = cycle[2]
    phase_divides = cycle[3]
    phase_fixed = cycle[4]
    apoptosis_rate = death[0]
    necrosis_rate = death[1]
    apoptosis_duration = death[2]
    lysed_duration = death[3]
    divide = out[0]
    remove = out[1]
    newly_dead = out[2]
    for i in nb.prange(n):
        divide[i] = False
        remove[i] = False
        newly_dead[i] = 0
        t = ctype[i]
        state = death_state[i]
        if state == LIVE:
            pid = ids[i]
            # the death step already counts towards the first death phase, as in PhysiCell
            if uniform(seed, pid, step, STREAM_APOPTOSIS) < apoptosis_rate[i] * dt:
                newly_dead[i] = 1
                death_elapsed[i] = dt
                continue
            if uniform(seed, pid, step, STREAM_NECROSIS) < necrosis_rate[i] * dt:
                newly_dead[i] = 2
                death_elapsed[i] = dt
                continue
            p = phase[i]
            phase_elapsed[i] += dt
            rate = cycle_rate[i, p]
            go = False
            if rate > 0.0:
                if phase_fixed[t, p]:
                    go = phase_elapsed[i] > 1.0 / rate - 0.5 * dt
                else:
                    go = uniform(seed, pid, step, STREAM_CYCLE) < rate * dt
            if go:
                if phase_divides[t, p]:
                    divide[i] = True
                phase[i] = phase_next[t, p]
                phase_elapsed[i] = 0.0
        else:
            death_elapsed[i] += dt
            if state == APOPTOTIC:
                if death_elapsed[i] > apoptosis_duration[t] - 0.5 * dt:
                    remove[i] = True
            elif state == NECROTIC_SWELLING:
                if volume[i] >= rupture_volume[i]:
                    death_state[i] = NECROTIC_LYSED
                    death_elapsed[i] = 0.0
            elif state == NECROTIC_LYSED:
                if death_elapsed[i] > lysed_duration[t] - 0.5 * dt:
                    remove[i] = True
