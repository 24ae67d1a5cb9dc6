"""Contact interactions per mechanics step: phagocytosis, attack and fusion.

These change other agents (a target's damage, an eaten cell's removal), so they run serially in
agent order: the outcome never depends on which thread got there first.
"""

from __future__ import annotations

import numba as nb

from .agents import APOPTOTIC, LIVE, NECROTIC_LYSED, NECROTIC_SWELLING
from .rng import STREAM_ATTACK, STREAM_ATTACK_END, STREAM_FUSION, STREAM_PHAGOCYTOSIS, uniform_k

EATEN = 1
FUSED = 2


@nb.njit(cache=True)
def interact(n, keys, cells, nbrs, rates, state, out):
    """One mechanics step of contact interactions, as PhysiCell 1.14's standard model.

    Each live agent scans its neighbours (centres closer than rel_i·r_i + rel_j·r_j) in the
    step's neighbour list (bin order, see ``mechanics.neighbour_forces``). A dead neighbour is eaten with probability (apoptotic / necrotic / other-dead
    phagocytosis rate)·dt; a live one is eaten with the live-phagocytosis rate of its type,
    becomes the attack target with probability attack_rate[type]·immunogenicity·dt (at most
    one target at a time), or fuses with the fusion rate — at most one of each per step.
    Then an ongoing attack adds attack_damage_rate·dt to the target's damage and dt to its
    total attack time, and ends with probability dt/attack_duration or when the target died.
    ``removed`` gets EATEN or FUSED and ``absorbed_by`` the eater for removed agents.

    Arguments come grouped: ``keys`` (seed, step, dt); ``cells`` (ids, type, death state,
    position, radius, volume, relative adhesion reach); ``nbrs`` (neighbour list, counts);
    ``rates`` (attack, immunogenicity, attack damage rate, attack duration, apoptotic /
    necrotic / other-dead phagocytosis, live phagocytosis, fusion); ``state`` (attack target,
    damage, total attack time, damage delivered); ``out`` (removed, absorbed_by).
    """
    seed, step, dt = keys
    # arrays by index, never unpacked: Numba 0.62 loses writes through arrays unpacked from
    # a tuple in a parallel function (tests/tissue/test_numba_tuples.py)
    ids = cells[0]
    ctype = cells[1]
    death_state = cells[2]
    pos = cells[3]
    radius = cells[4]
    volume = cells[5]
    rel_max_adh = cells[6]
    nbr = nbrs[0]
    nbr_count = nbrs[1]
    attack = rates[0]
    immunogenicity = rates[1]
    attack_damage_rate = rates[2]
    attack_duration = rates[3]
    phag_apoptotic = rates[4]
    phag_necrotic = rates[5]
    phag_other_dead = rates[6]
    phag_live = rates[7]
    fusion = rates[8]
    attack_target = state[0]
    damage = state[1]
    total_attack_time = state[2]
    damage_delivered = state[3]
    last_attacker = state[4]
    removed = out[0]
    absorbed_by = out[1]
    n_types = attack.shape[1]
    for i in range(n):
        if death_state[i] != LIVE or removed[i] != 0:
            attack_target[i] = -1
            continue
        pid = ids[i]
        ti = ctype[i]
        # most agents can neither eat, attack nor fuse: skip their neighbour scan
        # (an agent with no rate draws nothing in the scan, so skipping it changes no result)
        active = phag_apoptotic[i] > 0.0 or phag_necrotic[i] > 0.0 or phag_other_dead[i] > 0.0
        if not active:
            for t in range(n_types):
                if phag_live[i, t] > 0.0 or attack[i, t] > 0.0 or fusion[i, t] > 0.0:
                    active = True
                    break
        if not active and attack_target[i] < 0:
            continue
        xi, yi, zi = pos[i, 0], pos[i, 1], pos[i, 2]
        ate = False
        fused = False
        attacked = False
        k = 0
        for m in range(nbr_count[i] if active else 0):
            j = nbr[i, m]
            if removed[j] != 0:
                continue
            dx = xi - pos[j, 0]
            dy = yi - pos[j, 1]
            dz = zi - pos[j, 2]
            reach = rel_max_adh[i] * radius[i] + rel_max_adh[j] * radius[j]
            if dx * dx + dy * dy + dz * dz >= reach * reach or volume[j] < 1e-15:
                continue
            tj = ctype[j]
            sj = death_state[j]
            k += 1
            if sj != LIVE:
                if sj == APOPTOTIC:
                    r = phag_apoptotic[i]
                elif sj == NECROTIC_SWELLING or sj == NECROTIC_LYSED:
                    r = phag_necrotic[i]
                else:
                    r = phag_other_dead[i]
                if not ate and r > 0.0 and uniform_k(seed, pid, step, STREAM_PHAGOCYTOSIS, k) < r * dt:
                    removed[j] = EATEN
                    absorbed_by[j] = i
                    ate = True
                continue
            r = phag_live[i, tj]
            if not ate and r > 0.0 and uniform_k(seed, pid, step, STREAM_PHAGOCYTOSIS, k) < r * dt:
                removed[j] = EATEN
                absorbed_by[j] = i
                ate = True
                continue
            r = attack[i, tj] * immunogenicity[j, ti]
            if (not attacked and attack_target[i] < 0 and r > 0.0
                    and uniform_k(seed, pid, step, STREAM_ATTACK, k) < r * dt):
                attack_target[i] = j
                attacked = True
            r = fusion[i, tj]
            if not fused and r > 0.0 and uniform_k(seed, pid, step, STREAM_FUSION, k) < r * dt:
                removed[j] = FUSED
                absorbed_by[j] = i
                fused = True
        j = attack_target[i]
        if j >= 0:
            target_dead = death_state[j] != LIVE or removed[j] != 0
            if not target_dead and volume[j] >= 1e-15:
                dmg = attack_damage_rate[i] * dt
                damage[j] += dmg
                total_attack_time[j] += dt
                damage_delivered[i] += dmg
                last_attacker[j] = ti + 1
            if target_dead or uniform_k(seed, pid, step, STREAM_ATTACK_END, 0) < dt / (1e-15 + attack_duration[i]):
                attack_target[i] = -1
