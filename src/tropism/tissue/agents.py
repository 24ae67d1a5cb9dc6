"""Agents as a structure of arrays, with room to grow and order-preserving removal."""

from __future__ import annotations

import numpy as np

from .parameters import AGENT_PARAMETERS, widths
from .states import APOPTOTIC, LIVE, NECROTIC_LYSED, NECROTIC_SWELLING

__all__ = ["APOPTOTIC", "LIVE", "NECROTIC_LYSED", "NECROTIC_SWELLING", "STATE_FIELDS", "Agents"]

#: State arrays: name → (dtype, columns; 0 = one-dimensional).
STATE_FIELDS: dict[str, tuple[type, int]] = {
    "id": (np.int64, 0),
    "type": (np.int64, 0),
    "position": (np.float64, 3),
    "velocity": (np.float64, 3),
    "previous_velocity": (np.float64, 3),
    "motility_vector": (np.float64, 3),  # µm/min, redrawn with probability dt/persistence
    "radius": (np.float64, 0),
    # volumes (µm³): total, nuclear solid, nuclear fluid, cytoplasmic solid, cytoplasmic fluid
    "volume": (np.float64, 0),
    "nuclear_solid": (np.float64, 0),
    "nuclear_fluid": (np.float64, 0),
    "cyto_solid": (np.float64, 0),
    "cyto_fluid": (np.float64, 0),
    "calcified_fraction": (np.float64, 0),
    # relaxation targets and rates of the volume model
    "target_solid_nuclear": (np.float64, 0),
    "target_cyto_to_nuclear": (np.float64, 0),
    "target_fluid_fraction": (np.float64, 0),
    "fluid_change_rate": (np.float64, 0),
    "cyto_change_rate": (np.float64, 0),
    "nuclear_change_rate": (np.float64, 0),
    "calcification_rate": (np.float64, 0),
    "rupture_volume": (np.float64, 0),
    "phase": (np.int64, 0),
    "phase_elapsed": (np.float64, 0),
    "death_state": (np.int64, 0),
    "death_elapsed": (np.float64, 0),
    "damage": (np.float64, 0),
    "damage_delivered": (np.float64, 0),
    "total_attack_time": (np.float64, 0),
    "attack_target": (np.int64, 0),  # agent index, -1 when not attacking
    "last_attacker": (np.int64, 0),  # 1 + type of the last cell that damaged it; 0: never damaged
    "pressure": (np.float64, 0),
    "bm_contact": (np.float64, 0),
    "voxel": (np.int64, 0),
}


class Agents:
    """All agents of a tissue: ``n`` live rows of arrays with capacity ``capacity``.

    ``state`` holds what the agent is (position, volumes, phase...); ``params`` holds the
    behaviour values rules can change (``AGENT_PARAMETERS``). Arrays are accessed as
    attributes: ``agents.position`` is the full-capacity array; use ``[:agents.n]``.
    """

    def __init__(self, n_substrates: int, n_types: int, n_custom: int, capacity: int = 1024) -> None:
        self.n = 0
        self.next_id = 0
        self.capacity = max(int(capacity), 16)
        self._widths = widths(n_substrates, n_types, n_custom)
        self.arrays: dict[str, np.ndarray] = {}
        for name, (dtype, cols) in STATE_FIELDS.items():
            self.arrays[name] = np.zeros((self.capacity, cols) if cols else self.capacity, dtype=dtype)
        for name in AGENT_PARAMETERS:
            self.arrays[name] = np.zeros((self.capacity, self._widths[name]))
        self.arrays["attack_target"][:] = -1
        self._bind()

    def _bind(self) -> None:
        # each array is also a plain attribute: the mechanics step reads ~60 of them per step,
        # and a __getattr__ call per read costs more than a small tissue's kernels save
        self.__dict__.update(self.arrays)

    def __getattr__(self, name: str) -> np.ndarray:
        arrays = self.__dict__.get("arrays")
        if arrays is not None and name in arrays:
            return arrays[name]
        raise AttributeError(name)

    def reserve(self, total: int) -> None:
        """Make room for ``total`` agents, growing geometrically."""
        if total <= self.capacity:
            return
        cap = self.capacity
        while cap < total:
            cap *= 2
        for name, arr in self.arrays.items():
            new = np.zeros((cap,) + arr.shape[1:], dtype=arr.dtype)
            new[: self.n] = arr[: self.n]
            if name == "attack_target":
                new[self.n:] = -1
            self.arrays[name] = new
        self.capacity = cap
        self._bind()

    def append(self, count: int) -> slice:
        """Add ``count`` agents with fresh ids; returns their row slice (state zero, no attack target)."""
        self.reserve(self.n + count)
        rows = slice(self.n, self.n + count)
        # rows past n may hold a removed agent's values (compact leaves them): start clean
        for arr in self.arrays.values():
            arr[rows] = 0
        self.arrays["id"][rows] = np.arange(self.next_id, self.next_id + count)
        self.arrays["attack_target"][rows] = -1
        self.next_id += count
        self.n += count
        return rows

    def compact(self, keep: np.ndarray) -> np.ndarray:
        """Remove rows where ``keep`` is False, keeping order; returns old → new index (-1 gone)."""
        n = self.n
        keep = np.asarray(keep[:n], dtype=bool)
        new_index = np.full(n, -1, dtype=np.int64)
        m = int(keep.sum())
        new_index[keep] = np.arange(m)
        if m == n:
            return new_index
        # rows before the first removed one stay where they are; the rest move up, gathered
        # by one index array (a boolean mask would be turned into indices once per array)
        first = int(np.argmin(keep))
        src = np.flatnonzero(keep[first:]) + first
        for arr in self.arrays.values():
            arr[first:m] = arr[src]
        target = self.arrays["attack_target"][:m]
        has = target >= 0
        target[has] = new_index[target[has]]
        self.n = m
        return new_index
