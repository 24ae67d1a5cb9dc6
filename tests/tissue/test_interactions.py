"""The contact-interaction kernel on hand-built agents whose outcome is known exactly.

Rates with rate·dt far above 1 make an event certain (every uniform is below 1), a zero rate
makes it impossible; where a rate is in between, the expected outcome is read from the same
counter-based draw the kernel makes (``rng.uniform``), so each step is checked, not a mean.
"""

from __future__ import annotations

import numpy as np
import pytest

from tropism.tissue import rng
from tropism.tissue.interactions import EATEN, FUSED, interact
from tropism.tissue.states import APOPTOTIC, LIVE, NECROTIC_LYSED, NECROTIC_SWELLING

SEED = 7
DT = 0.1
SURE = 1e9  # rate·dt ≫ 1: the event happens at the first chance


class Agents:
    """``n`` agents of ``n_types`` types on the x axis (radius 5, touching at spacing 10)."""

    def __init__(self, x, types, n_types=2):
        n = len(x)
        self.n = n
        self.ids = np.arange(100, 100 + n, dtype=np.int64)
        self.type = np.asarray(types, dtype=np.int64)
        self.death_state = np.full(n, LIVE, dtype=np.int64)
        self.pos = np.zeros((n, 3))
        self.pos[:, 0] = x
        self.radius = np.full(n, 5.0)
        self.volume = np.full(n, 2494.0)
        self.rel_max_adh = np.full(n, 1.25)
        self.attack = np.zeros((n, n_types))
        self.immunogenicity = np.ones((n, n_types))
        self.attack_damage_rate = np.zeros(n)
        self.attack_duration = np.full(n, 1e30)  # an attack never ends by chance
        self.phag_apoptotic = np.zeros(n)
        self.phag_necrotic = np.zeros(n)
        self.phag_other_dead = np.zeros(n)
        self.phag_live = np.zeros((n, n_types))
        self.fusion = np.zeros((n, n_types))
        self.attack_target = np.full(n, -1, dtype=np.int64)
        self.damage = np.zeros(n)
        self.total_attack_time = np.zeros(n)
        self.damage_delivered = np.zeros(n)
        self.last_attacker = np.zeros(n, dtype=np.int64)

    def step(self, step=0):
        """One kernel call with every agent's neighbours all the others, in index order."""
        n = self.n
        nbr = np.array([[j for j in range(n) if j != i] for i in range(n)], dtype=np.int64).reshape(n, n - 1)
        count = np.full(n, n - 1, dtype=np.int64)
        removed = np.zeros(n, dtype=np.int64)
        absorbed_by = np.full(n, -1, dtype=np.int64)
        interact(n, (SEED, step, DT),
                 (self.ids, self.type, self.death_state, self.pos, self.radius, self.volume, self.rel_max_adh),
                 (nbr, count),
                 (self.attack, self.immunogenicity, self.attack_damage_rate, self.attack_duration,
                  self.phag_apoptotic, self.phag_necrotic, self.phag_other_dead, self.phag_live, self.fusion),
                 (self.attack_target, self.damage, self.total_attack_time, self.damage_delivered,
                  self.last_attacker),
                 (removed, absorbed_by))
        return removed, absorbed_by


def draw(agent_id, step, stream, k):
    return rng.uniform(SEED, agent_id, step, stream, k)


# ---------------------------------------------------------------------- attack


def test_a_sure_attack_accrues_damage_rate_times_dt_each_step():
    a = Agents([0.0, 10.0], [0, 1])
    a.attack[0, 1] = SURE
    a.attack_damage_rate[0] = 2.0
    expected = 0.0
    for step in range(3):
        removed, _ = a.step(step)
        expected += 2.0 * DT
        assert not removed.any()
        assert a.attack_target.tolist() == [1, -1]
        assert a.damage.tolist() == [0.0, expected]
        assert a.damage_delivered.tolist() == [expected, 0.0]
        assert a.total_attack_time[1] == pytest.approx(DT * (step + 1), rel=1e-15)
        assert a.last_attacker.tolist() == [0, 1]  # 1 + the attacker's type; 0: never damaged
    assert a.damage[1] == pytest.approx(0.6, rel=1e-15)


def test_attack_is_by_type_and_scaled_by_the_targets_immunogenicity():
    a = Agents([0.0, 10.0, -10.0], [0, 1, 0])
    a.attack[0, 1] = SURE       # agent 0 attacks type 1 only
    a.immunogenicity[1, 0] = 0.0  # ... but agent 1 is invisible to type 0
    a.attack_damage_rate[0] = 2.0
    a.step()
    assert a.attack_target.tolist() == [-1, -1, -1] and not a.damage.any()
    a.immunogenicity[1, 0] = 1e-3  # rate·immunogenicity·dt = 1e5: sure again
    a.step()
    assert a.attack_target.tolist() == [1, -1, -1] and a.damage[1] == 2.0 * DT


def test_an_attack_starts_when_the_draw_is_below_rate_times_dt():
    a = Agents([0.0, 10.0], [0, 1])
    a.attack[0, 1] = 5.0  # probability 0.5 per step
    a.attack_damage_rate[0] = 1.0
    for step in range(40):
        a.step(step)
        if a.attack_target[0] >= 0:
            break
    first = next(s for s in range(40) if draw(a.ids[0], s, rng.STREAM_ATTACK, 1) < 5.0 * DT)
    assert step == first
    assert a.damage[1] == 1.0 * DT


def test_an_attack_ends_when_the_target_dies_or_after_its_duration():
    a = Agents([0.0, 10.0], [0, 1])
    a.attack[0, 1] = SURE
    a.attack_damage_rate[0] = 2.0
    a.step(0)
    assert a.attack_target[0] == 1
    a.death_state[1] = APOPTOTIC
    a.attack[0, 1] = 0.0
    a.step(1)
    assert a.attack_target[0] == -1 and a.damage[1] == 2.0 * DT  # no damage to a dead target

    b = Agents([0.0, 10.0], [0, 1])
    b.attack[0, 1] = SURE
    b.attack_damage_rate[0] = 2.0
    b.attack_duration[0] = 1e-9  # dt/duration ≫ 1: ends in the step it started, after its damage
    b.step(0)
    assert b.attack_target[0] == -1 and b.damage[1] == 2.0 * DT and b.total_attack_time[1] == DT


def test_no_interaction_beyond_the_adhesion_reach_or_with_a_vanished_cell():
    # reach = 1.25·5 + 1.25·5 = 12.5 µm
    a = Agents([0.0, 12.5], [0, 1])
    a.attack[0, 1] = a.phag_live[0, 1] = a.fusion[0, 1] = SURE
    removed, _ = a.step()
    assert not removed.any() and a.attack_target[0] == -1
    a.pos[1, 0] = 12.49
    a.volume[1] = 0.0
    removed, _ = a.step()
    assert not removed.any() and a.attack_target[0] == -1


def test_a_dead_attacker_drops_its_target():
    a = Agents([0.0, 10.0], [0, 1])
    a.attack[0, 1] = SURE
    a.attack_damage_rate[0] = 2.0
    a.step(0)
    a.death_state[0] = NECROTIC_SWELLING
    a.step(1)
    assert a.attack_target[0] == -1 and a.damage[1] == 2.0 * DT


# ---------------------------------------------------------------------- phagocytosis


@pytest.mark.parametrize("state, column", [(APOPTOTIC, "phag_apoptotic"), (NECROTIC_SWELLING, "phag_necrotic"),
                                           (NECROTIC_LYSED, "phag_necrotic")])
def test_a_dead_neighbour_is_eaten_by_the_rate_of_its_death(state, column):
    a = Agents([0.0, 10.0], [0, 0])
    a.death_state[1] = state
    for other in ("phag_apoptotic", "phag_necrotic", "phag_other_dead"):
        getattr(a, other)[0] = 0.0 if other == column else SURE
    removed, _ = a.step()
    # only the matching rate is zero: nothing eaten
    assert not removed.any()
    getattr(a, column)[0] = SURE
    removed, absorbed_by = a.step()
    assert removed.tolist() == [0, EATEN] and absorbed_by.tolist() == [-1, 0]


def test_one_meal_per_step_the_first_neighbour_in_the_list():
    a = Agents([0.0, 10.0, -10.0], [0, 0, 0])
    a.death_state[1:] = APOPTOTIC
    a.phag_apoptotic[0] = SURE
    removed, absorbed_by = a.step()
    assert removed.tolist() == [0, EATEN, 0] and absorbed_by.tolist() == [-1, 0, -1]


def test_phagocytosis_happens_when_the_draw_is_below_rate_times_dt():
    a = Agents([0.0, 10.0], [0, 0])
    a.death_state[1] = APOPTOTIC
    a.phag_apoptotic[0] = 3.0  # probability 0.3 per step
    first = next(s for s in range(100) if draw(a.ids[0], s, rng.STREAM_PHAGOCYTOSIS, 1) < 3.0 * DT)
    for step in range(first + 1):
        removed, absorbed_by = a.step(step)
        assert bool(removed[1]) == (step == first), step
    assert absorbed_by[1] == 0


def test_a_live_neighbour_is_eaten_with_the_live_rate_of_its_type():
    a = Agents([0.0, 10.0, -10.0], [0, 0, 1])
    a.phag_live[0, 1] = SURE  # eats type 1 (agent 2), never its own type (agent 1)
    removed, absorbed_by = a.step()
    assert removed.tolist() == [0, 0, EATEN] and absorbed_by.tolist() == [-1, -1, 0]


# ---------------------------------------------------------------------- fusion


def test_fusion_absorbs_one_live_neighbour_of_the_fusing_type():
    a = Agents([0.0, 10.0, -10.0], [0, 1, 1])
    a.fusion[0, 1] = SURE
    removed, absorbed_by = a.step()
    assert removed.tolist() == [0, FUSED, 0] and absorbed_by.tolist() == [-1, 0, -1]


def test_an_agent_may_eat_and_fuse_in_one_step_but_not_the_same_neighbour():
    a = Agents([0.0, 10.0, -10.0], [0, 1, 1])
    a.phag_live[0, 1] = SURE
    a.fusion[0, 1] = SURE
    removed, absorbed_by = a.step()
    # the first neighbour is eaten (and skipped for the rest), the second fused
    assert removed.tolist() == [0, EATEN, FUSED] and absorbed_by.tolist() == [-1, 0, 0]


def test_an_absorbed_agent_does_not_act_in_the_same_step():
    # agent 0 eats agent 1 first; agent 1 would have fused agent 2, but it is gone
    a = Agents([0.0, 10.0, 20.0], [0, 1, 0])
    a.phag_live[0, 1] = SURE
    a.fusion[1, 0] = SURE
    removed, absorbed_by = a.step()
    assert removed.tolist() == [0, EATEN, 0] and absorbed_by.tolist() == [-1, 0, -1]
