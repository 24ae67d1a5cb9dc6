"""Counter-based random numbers: a pure function of (seed, agent id, step, stream, index).

A shared sequential stream would make results depend on the order threads visit agents;
hashing the counters instead gives every agent its own reproducible numbers, so the same
seed gives the same run with any thread count.
"""

from __future__ import annotations

import numba as nb
import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0

#: Stream numbers, one per use, so two uses in one step never share a number.
STREAM_CYCLE = 1
STREAM_APOPTOSIS = 2
STREAM_NECROSIS = 3
STREAM_DIVISION = 4
STREAM_MOTILITY_TURN = 5
STREAM_MOTILITY_DIR = 6
STREAM_ATTACK = 8
STREAM_ATTACK_END = 9
STREAM_PHAGOCYTOSIS = 10
STREAM_FUSION = 11
STREAM_TRANSFORM = 12
STREAM_PLACEMENT = 13
STREAM_ARRIVAL_COUNT = 14
STREAM_ARRIVAL_SITE = 15
STREAM_ARRIVAL_POSITION = 16
STREAM_DEPARTURE = 17
STREAM_IRRADIATION = 18


@nb.njit(inline="always")
def _mix(z):
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@nb.njit(inline="always")
def uniform(seed, agent_id, step, stream, index=0):
    """Uniform number in [0, 1) determined by five integer counters (numba-callable).

    Each counter is its own 64-bit word, mixed in turn: (seed, stream), agent id, step,
    index. No packing of two counters into one word, so no two distinct tuples share a
    key, whatever the number of agents, types, neighbours or steps.
    """
    h = _mix(np.uint64(seed) * _GOLDEN + np.uint64(stream))
    h = _mix(h ^ (np.uint64(agent_id) * _GOLDEN))
    h = _mix(h ^ (np.uint64(step) + _GOLDEN))
    h = _mix(h ^ (np.uint64(index) * _M1 + _GOLDEN))
    return float(h >> _S11) * _INV53


@nb.njit(inline="always")
def uniform_k(seed, agent_id, step, stream, k):
    """The k-th uniform number of one (agent, step, stream) triple."""
    return uniform(seed, agent_id, step, stream, k)


@nb.njit(cache=True)
def uniform_array(seed, ids, step, stream, index=0):
    """Vector of uniforms, one per agent id (for tests and vectorised draws)."""
    out = np.empty(ids.shape[0])
    for i in range(ids.shape[0]):
        out[i] = uniform(seed, ids[i], step, stream, index)
    return out
