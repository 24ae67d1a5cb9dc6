"""The tissue solver's registry: the signals it reads and the behaviours it sets.

Two tables. ``SIGNALS`` maps a resolved signal kind (see :func:`tropism.model.resolve_rule`)
to the function that reads it for a set of agents; ``BEHAVIOURS`` maps a behaviour kind to the
agent parameter whose column a rule sets (the column is the behaviour's index: substrate,
cell type, cycle phase or custom variable; 0 for a scalar). An entry with a ``note`` is
accepted but does nothing in this solver (a basement-membrane signal reads 0, say), and the
note says so. What a model uses and these tables lack or mark is named by
:func:`not_simulated_in_rule` — the one place that decides it; the loaders ask it through
:mod:`tropism.capabilities` (the package registers it there).

Adding a signal or a behaviour is one entry here (plus, for a behaviour, the kernel that
reads its parameter).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from .states import APOPTOTIC, LIVE, NECROTIC_SWELLING

if TYPE_CHECKING:
    from ..model.rules import Rule

#: ``read(solver, index, rows) -> values`` for the agents in ``rows``.
Reader = Callable[[object, int, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class SignalEntry:
    """How one signal kind is read; ``note`` set: read as 0 here, and reported."""

    read: Reader
    note: str = ""


@dataclass(frozen=True)
class BehaviourEntry:
    """The agent parameter one behaviour kind sets, and the operation and kernel that act on it
    (``docs/model-reference.md`` maps every library rule through them); ``note`` set: nothing
    reads it here."""

    parameter: str
    note: str = ""
    operation: str = ""
    kernel: str = ""


_SOURCES = ("diffuse", "tissue.secretion.compose_sources -> DiffusionSolver.step_with_sources")
_DEATH = ("death_cycle", "tissue.phenotype.death_and_cycle")
_MOTION = ("motility", "tissue.mechanics.motility")
_FORCES = ("neighbours", "tissue.mechanics.neighbour_forces")
_CONTACT = ("interactions", "tissue.interactions.interact")


def _b(parameter: str, where: tuple[str, str], note: str = "") -> BehaviourEntry:
    return BehaviourEntry(parameter, note, where[0], where[1])


def _contacts(solver, rows):
    return solver.contact_signals()


def _zero(solver, index, rows):
    return np.zeros(rows.shape[0])


def _state(code: int, at_least: bool = False) -> Reader:
    def read(solver, index, rows):
        st = solver.agents.death_state[rows]
        return ((st >= code) if at_least else (st == code)).astype(float)
    return read


def _column(name: str) -> Reader:
    def read(solver, index, rows):
        return solver.agents.arrays[name][rows]
    return read


_NO_BM = "no basement membrane is simulated; it reads 0"

SIGNALS: dict[str, SignalEntry] = {
    "substrate": SignalEntry(lambda s, i, rows: s.flat_fields[i, s.agents.voxel[rows]]),
    "gradient": SignalEntry(lambda s, i, rows: s.gradient_norm(i, rows)),
    "pressure": SignalEntry(_column("pressure")),
    "volume": SignalEntry(_column("volume")),
    "damage": SignalEntry(_column("damage")),
    "total_attack_time": SignalEntry(_column("total_attack_time")),
    "damage_delivered": SignalEntry(_column("damage_delivered")),
    "dead": SignalEntry(lambda s, i, rows: (s.agents.death_state[rows] != LIVE).astype(float)),
    "apoptotic": SignalEntry(_state(APOPTOTIC)),
    "necrotic": SignalEntry(_state(NECROTIC_SWELLING, at_least=True)),
    "attacking": SignalEntry(lambda s, i, rows: (s.agents.attack_target[rows] >= 0).astype(float)),
    "time": SignalEntry(lambda s, i, rows: np.full(rows.shape[0], s.time)),
    "custom": SignalEntry(lambda s, i, rows: s.agents.custom[rows, i]),
    "contact_type": SignalEntry(lambda s, i, rows: _contacts(s, rows)[0][rows, i]),
    "contact_live": SignalEntry(lambda s, i, rows: _contacts(s, rows)[1][rows, 0]),
    "contact_dead": SignalEntry(lambda s, i, rows: _contacts(s, rows)[1][rows, 1:].sum(axis=1)),
    "contact_apoptotic": SignalEntry(lambda s, i, rows: _contacts(s, rows)[1][rows, 1]),
    "contact_necrotic": SignalEntry(lambda s, i, rows: _contacts(s, rows)[1][rows, 2] + _contacts(s, rows)[1][rows, 3]),
    # PhysiCell counts no "other dead" cells (its death models are apoptosis and necrosis)
    "contact_other_dead": SignalEntry(_zero),
    "contact_bm": SignalEntry(_zero, note=_NO_BM),
}

BEHAVIOURS: dict[str, BehaviourEntry] = {
    "cycle_entry": _b("cycle_rate", _DEATH),
    "exit_phase": _b("cycle_rate", _DEATH),
    "apoptosis": _b("apoptosis_rate", _DEATH),
    "death_receptor_apoptosis": _b("receptor_apoptosis_rate", _DEATH),
    "necrosis": _b("necrosis_rate", _DEATH),
    "migration_speed": _b("speed", _MOTION),
    "migration_bias": _b("bias", _MOTION),
    "persistence_time": _b("persistence", _MOTION),
    "chemotactic_response": _b("chemo_sens", _MOTION),
    "secretion": _b("secretion", _SOURCES),
    "secretion_target": _b("secretion_target", _SOURCES),
    "uptake": _b("uptake", _SOURCES),
    "export": _b("export", _SOURCES),
    "adhesion": _b("adhesion", _FORCES),
    "repulsion": _b("repulsion", _FORCES),
    "relative_max_adhesion_distance": _b("rel_max_adh", _FORCES),
    "adhesive_affinity": _b("affinity", _FORCES),
    "bm_adhesion": _b("bm_adhesion", ("", ""), note="no basement membrane is simulated"),
    "bm_repulsion": _b("bm_repulsion", ("", ""), note="no basement membrane is simulated"),
    "attachment_elastic_constant": _b("elastic_constant", ("interactions", "tissue.mechanics.spring_velocities")),
    "phagocytose_apoptotic": _b("phag_apoptotic", _CONTACT),
    "phagocytose_necrotic": _b("phag_necrotic", _CONTACT),
    "phagocytose_other_dead": _b("phag_other_dead", _CONTACT),
    "phagocytose": _b("phag_live", _CONTACT),
    "attack": _b("attack", _CONTACT),
    "fuse": _b("fusion", _CONTACT),
    "transform": _b("transform", ("transform", "tissue.population.transform")),
    "immunogenicity": _b("immunogenicity", _CONTACT),
    "attack_damage_rate": _b("attack_damage_rate", _CONTACT),
    "attack_duration": _b("attack_duration", _CONTACT),
    "damage_rate": _b("damage_rate", ("damage", "tissue.standard.damage")),
    "damage_repair_rate": _b("damage_repair_rate", ("damage", "tissue.standard.damage")),
    "is_movable": _b("is_movable", ("positions", "tissue.mechanics.update_positions")),
    "intravasation": _b("intravasation", ("departures", "TissueSolver.remove_departures")),
    "custom": _b("custom", ("rules", "tissue.rules.apply_rules")),
}

#: model-level mechanisms (not rule behaviours): what runs them
MECHANISMS: dict[str, tuple[str, str]] = {
    "vessel exchange (oxygen, drugs)": ("diffuse", "tissue.vessels.exchange_maps -> DiffusionSolver.step_with_sources"),
    "angiogenesis and vessel regression": ("vessels", "tissue.angiogenesis.step_density"),
    "vessel bed carried by the tissue": ("vessels", "tissue.angiogenesis.advect_density"),
    "signal blockade": ("rules", "tissue.rules.apply_rules (a term's signal x what the blockade leaves)"),
    "behaviour scaling in a time window": ("windows", "tissue.standard.windows"),
    "irradiation (linear-quadratic)": ("irradiate", "tissue.standard.irradiate -> population.start_death"),
    "arrivals from the body": ("arrivals", "TissueSolver.add_arrivals"),
    "recruitment from blood by vessel wall (immune cells)": ("recruitment", "TissueSolver.recruit"),
    "departures to the body (shed cells, immune cells leaving)": ("departures", "TissueSolver.remove_departures"),
    "kills counted by the killer's type": ("death_cycle", "tissue.standard.death_cycle"),
    "cell-catalysed conversion": ("conversions", "tissue.reactions.convert"),
}


def behaviour_target(kind: str, index: int) -> tuple[str, int] | None:
    """The (agent parameter, column) a resolved behaviour sets; None if not simulated."""
    entry = BEHAVIOURS.get(kind)
    return None if entry is None else (entry.parameter, max(int(index), 0))


def read_signal(solver, kind: str, index: int, rows: np.ndarray) -> np.ndarray:
    """Values of one resolved signal for the agents in ``rows``."""
    return SIGNALS[kind].read(solver, index, rows)


def not_simulated_in_rule(rule: "Rule") -> list[str]:
    """What of a resolved rule this solver does not simulate: missing kinds by name."""
    items = []
    if rule.signal_kind not in SIGNALS:
        items.append(f"rule signal '{rule.signal}'")
    if rule.behaviour_kind not in BEHAVIOURS:
        items.append(f"rule behaviour '{rule.behavior}'")
    return items


def noted_in_rule(rule: "Rule") -> list[str]:
    """What of a resolved rule is accepted but does nothing here, with the reason."""
    items = []
    sig, beh = SIGNALS.get(rule.signal_kind), BEHAVIOURS.get(rule.behaviour_kind)
    if beh is not None and beh.note:
        items.append(f"rule behaviour '{rule.behavior}' ({beh.note})")
    if sig is not None and sig.note:
        items.append(f"rule signal '{rule.signal}' ({sig.note})")
    return items

