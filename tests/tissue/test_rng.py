"""Counter-based random numbers: no two purposes, agents, neighbours or types share a draw."""

from __future__ import annotations

import numpy as np

from tropism.tissue import rng


def _old_uniform_k(seed, agent_id, step, stream, k):
    # the packing before issue 8: stream*64 + k in one word (and ids*64 + k for types)
    return rng.uniform(seed, agent_id, step, stream * 64 + k)


def _keys(draw):
    """Draws of every (stream, neighbour index) of agents 0..9 at one step."""
    out = []
    for agent in range(10):
        for stream in range(1, 14):
            for k in range(0, 200):
                out.append(draw(7, agent, 123, stream, k))
    return np.array(out)


def test_no_collisions_for_many_neighbours_and_types():
    draws = _keys(rng.uniform_k)
    # 26,000 uniforms in [0, 1) at 53 bits: a repeat is a collision of counters, not chance
    assert np.unique(draws).size == draws.size


def test_the_old_packing_collides():
    """The same check on the old layout finds repeats: the test can fail."""
    draws = _keys(_old_uniform_k)
    assert np.unique(draws).size < draws.size
    # e.g. attack (stream 8) with neighbour 64 was attack-end (stream 9) with neighbour 0
    assert _old_uniform_k(1, 5, 9, rng.STREAM_ATTACK, 64) == _old_uniform_k(1, 5, 9, rng.STREAM_ATTACK_END, 0)
    assert rng.uniform_k(1, 5, 9, rng.STREAM_ATTACK, 64) != rng.uniform_k(1, 5, 9, rng.STREAM_ATTACK_END, 0)


def test_type_draws_do_not_alias_the_next_agent():
    """Transformations draw per target type: type 62 of agent i must not be agent i+1's draw."""
    ids = np.arange(100, dtype=np.int64)
    a = rng.uniform_array(3, ids, 4, rng.STREAM_TRANSFORM, 64)
    b = rng.uniform_array(3, ids + 1, 4, rng.STREAM_TRANSFORM, 0)
    assert not np.any(a == b)
    old_a = rng.uniform_array(3, ids * 64 + 64, 4, rng.STREAM_TRANSFORM)
    old_b = rng.uniform_array(3, (ids + 1) * 64, 4, rng.STREAM_TRANSFORM)
    assert np.array_equal(old_a, old_b)


def test_uniforms_are_uniform():
    u = rng.uniform_array(11, np.arange(200_000, dtype=np.int64), 0, rng.STREAM_CYCLE, 3)
    assert u.min() >= 0.0 and u.max() < 1.0
    hist, _ = np.histogram(u, bins=20, range=(0.0, 1.0))
    expected = u.size / 20
    chi2 = float(np.sum((hist - expected) ** 2 / expected))
    assert chi2 < 45.0  # 19 degrees of freedom: p ≈ 1e-3
