"""Cell rules in PhysiCell's cell-behaviour hypothesis grammar (CBHG v3).

A rule reads "in cell type T, signal S increases/decreases behaviour B", with a Hill
response (half-max, Hill power) towards a saturation value. Names are resolved here against a
model's substrates and cell types into ``(kind, argument)`` pairs the solver understands, so a
misspelt name is caught before the first step.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from ._base import NonNeg, Record


class Rule(Record):
    """One CBHG v3 row, with where it came from (for error messages)."""

    cell_type: str
    signal: str
    direction: Literal["increases", "decreases"]
    behavior: str
    saturation: float = Field(description="max for 'increases', min for 'decreases'")
    half_max: float = Field(gt=0.0)
    hill_power: NonNeg
    applies_to_dead: bool = False
    source: str = ""
    line: int = 0


# Behaviours whose name is a fixed phrase → kind.
_FIXED_BEHAVIOURS = {
    "cycle entry": "cycle_entry",
    "apoptosis": "apoptosis",
    "necrosis": "necrosis",
    "migration speed": "migration_speed",
    "migration bias": "migration_bias",
    "migration persistence time": "persistence_time",
    "cell-cell adhesion": "adhesion",
    "cell-cell adhesion elastic constant": "attachment_elastic_constant",
    "relative maximum adhesion distance": "relative_max_adhesion_distance",
    "cell-cell repulsion": "repulsion",
    "cell-bm adhesion": "bm_adhesion",
    "cell-bm repulsion": "bm_repulsion",
    "phagocytose apoptotic cell": "phagocytose_apoptotic",
    "phagocytose necrotic cell": "phagocytose_necrotic",
    "phagocytose other dead cell": "phagocytose_other_dead",
    "attack damage rate": "attack_damage_rate",
    "attack duration": "attack_duration",
    "damage rate": "damage_rate",
    "damage repair rate": "damage_repair_rate",
    "cell attachment rate": "attachment_rate",
    "cell detachment rate": "detachment_rate",
    "maximum number of cell attachments": "max_attachments",
    "is_movable": "is_movable",
    "is movable": "is_movable",
    "calcification rate": "calcification_rate",
}
# Behaviours "<prefix> <cell type>".
_TYPE_PREFIXES = {
    "adhesive affinity to ": "adhesive_affinity",
    "phagocytose ": "phagocytose",
    "attack ": "attack",
    "fuse to ": "fuse",
    "transform to ": "transform",
    "transition to ": "transform",
    "immunogenicity to ": "immunogenicity",
    "asymmetric division to ": "asymmetric_division",
}
# Behaviours "<substrate> <suffix>".
_SUBSTRATE_SUFFIXES = {
    " secretion target": "secretion_target",
    " secretion": "secretion",
    " uptake": "uptake",
    " export": "export",
}

#: Behaviour kinds the solver reads; other resolved kinds are accepted but reported unsupported.
SIMULATED_BEHAVIOURS = frozenset({
    "cycle_entry", "exit_phase", "apoptosis", "necrosis", "migration_speed", "migration_bias",
    "persistence_time", "chemotactic_response", "secretion", "secretion_target", "uptake",
    "export", "adhesion", "repulsion", "relative_max_adhesion_distance", "adhesive_affinity",
    "bm_adhesion", "bm_repulsion", "phagocytose_apoptotic", "phagocytose_necrotic",
    "phagocytose_other_dead", "phagocytose", "attack", "fuse", "transform", "immunogenicity",
    "attack_damage_rate", "attack_duration", "damage_rate", "damage_repair_rate", "custom",
    "attachment_elastic_constant", "is_movable",
})


def resolve_behaviour(name: str, substrates: list[str], cell_types: list[str],
                      custom: list[str]) -> tuple[str, int | str] | None:
    """Resolve a behaviour name to ``(kind, argument)``; ``None`` if it is not CBHG.

    The argument is a substrate or cell-type index, a phase index, a custom-data name, or -1.
    """
    text = name.strip()
    low = text.lower()
    if low in _FIXED_BEHAVIOURS:
        return _FIXED_BEHAVIOURS[low], -1
    m = re.fullmatch(r"exit from cycle phase (\d+)", low)
    if m:
        return "exit_phase", int(m.group(1))
    if low.startswith("custom:") or low.startswith("custom "):
        key = text[7:].strip()
        return ("custom", key) if key in custom else None
    if low.startswith("chemotactic response to "):
        sub = text[len("chemotactic response to "):].strip()
        return ("chemotactic_response", substrates.index(sub)) if sub in substrates else None
    for prefix, kind in _TYPE_PREFIXES.items():
        if low.startswith(prefix):
            target = text[len(prefix):].strip()
            if target in cell_types:
                return kind, cell_types.index(target)
    for suffix, kind in _SUBSTRATE_SUFFIXES.items():
        if low.endswith(suffix):
            sub = text[: len(text) - len(suffix)].strip()
            if sub in substrates:
                return kind, substrates.index(sub)
    return None


_FIXED_SIGNALS = {
    "pressure": "pressure",
    "volume": "volume",
    "damage": "damage",
    "dead": "dead",
    "apoptotic": "apoptotic",
    "necrotic": "necrotic",
    "total attack time": "total_attack_time",
    "time": "time",
    "current time": "time",
    "contact with live cell": "contact_live",
    "contact with dead cell": "contact_dead",
    "contact with apoptotic cell": "contact_apoptotic",
    "contact with necrotic cell": "contact_necrotic",
    "contact with other dead cell": "contact_other_dead",
    "contact with basement membrane": "contact_bm",
    "contact with bm": "contact_bm",
    "attacking": "attacking",
    "is attacking": "attacking",
    "damage delivered": "damage_delivered",
    "total damage delivered": "damage_delivered",
    "is dead": "dead",
    "is_apoptotic": "apoptotic",
    "is_necrotic": "necrotic",
    "global time": "time",
    "contact with live cells": "contact_live",
    "contact with dead cells": "contact_dead",
    "contact with apoptotic cells": "contact_apoptotic",
    "contact with necrotic cells": "contact_necrotic",
    "contact with other dead cells": "contact_other_dead",
}

#: Signal kinds the solver computes.
SIMULATED_SIGNALS = frozenset({
    "substrate", "gradient", "pressure", "volume", "damage", "dead", "apoptotic", "necrotic",
    "total_attack_time", "time", "contact_type", "contact_live", "contact_dead",
    "contact_apoptotic", "contact_necrotic", "contact_bm", "custom", "attacking",
    "contact_other_dead", "damage_delivered",
})


def resolve_signal(name: str, substrates: list[str], cell_types: list[str],
                   custom: list[str]) -> tuple[str, int | str] | None:
    """Resolve a signal name to ``(kind, argument)``; ``None`` if it is not CBHG."""
    text = name.strip()
    low = text.lower()
    if text in substrates:
        return "substrate", substrates.index(text)
    if low in _FIXED_SIGNALS:
        return _FIXED_SIGNALS[low], -1
    if low.startswith("intracellular "):
        sub = text[len("intracellular "):].strip()
        return ("intracellular", substrates.index(sub)) if sub in substrates else None
    if low.endswith(" gradient"):
        sub = text[: -len(" gradient")].strip()
        return ("gradient", substrates.index(sub)) if sub in substrates else None
    if low.startswith("contact with "):
        target = text[len("contact with "):].strip()
        return ("contact_type", cell_types.index(target)) if target in cell_types else None
    if low.startswith("custom:") or low.startswith("custom "):
        key = text[7:].strip()
        return ("custom", key) if key in custom else None
    return None
