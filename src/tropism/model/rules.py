"""Cell rules in PhysiCell's cell-behaviour hypothesis grammar (CBHG v3).

A rule reads "in cell type T, signal S increases/decreases behaviour B", with a Hill
response (half-max, Hill power) towards a saturation value. This module is the grammar: it
resolves names against a model's substrates, cell types and custom variables into a kind and
an index (:func:`resolve_rule`, the one place rule names are resolved and refused, with the
full list of allowed names). Which kinds a solver simulates is the solver's business (see
``tropism.tissue.registry``); ``model/`` keeps no solver knowledge.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from ..errors import TropismInputError
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
    #: tropism's extension of the grammar: the saturation is a fold by which the signal
    #: multiplies the value the base and the other rows give (v × (1 + (fold − 1)·H)), instead
    #: of a value the behaviour moves towards; PhysiCell's rule files cannot say it
    multiplies: bool = False
    source: str = ""
    line: int = 0
    #: Resolved by :func:`resolve_rule` (every loader's model holds resolved rules): the signal's
    #: kind and index (substrate, cell type or custom column; -1 for none), the behaviour's
    #: kind and index (substrate, cell type, cycle phase or custom column; -1 for none).
    signal_kind: str = ""
    signal_index: int = -1
    behaviour_kind: str = ""
    behaviour_index: int = -1


# Behaviours whose name is a fixed phrase → kind.
_FIXED_BEHAVIOURS = {
    "cycle entry": "cycle_entry",
    "apoptosis": "apoptosis",
    # tropism's: apoptosis started by a death receptor (TRAIL, FasL), which the intrinsic
    # pathway's survival signals do not block; PhysiCell's files cannot say it
    "death receptor apoptosis": "death_receptor_apoptosis",
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
    # leaving the tissue through a vessel (to the body); not a PhysiCell behaviour
    "intravasation": "intravasation",
    "intravasation rate": "intravasation",
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


def signal_names(substrates: list[str], cell_types: list[str], custom: list[str]) -> str:
    """Every signal name the grammar accepts for these substrates, types and custom variables."""
    names = list(substrates) + [f"{s} gradient" for s in substrates] + [f"intracellular {s}" for s in substrates]
    names += list(_FIXED_SIGNALS) + [f"contact with {t}" for t in cell_types] + [f"custom:{c}" for c in custom]
    return ", ".join(names)


def behaviour_names(substrates: list[str], cell_types: list[str], custom: list[str]) -> str:
    """Every behaviour name the grammar accepts for these substrates, types and custom variables."""
    names = list(_FIXED_BEHAVIOURS) + ["exit from cycle phase <N>"]
    names += [f"{s}{suffix}" for s in substrates for suffix in _SUBSTRATE_SUFFIXES]
    names += [f"chemotactic response to {s}" for s in substrates]
    names += [f"{prefix}{t}" for prefix in _TYPE_PREFIXES for t in cell_types]
    names += [f"custom:{c}" for c in custom]
    return ", ".join(names)


def _index(arg: int | str, custom_columns: list[str]) -> int:
    # a custom variable's index is its column among all types' custom variables
    return custom_columns.index(arg) if isinstance(arg, str) else int(arg)


def resolve_rule(rule: Rule, substrates: list[str], cell_types: list[str], custom_of_type: list[str],
                 custom_columns: list[str]) -> Rule:
    """Resolve a rule's names into kinds and indices; refuse a name the grammar does not know.

    Parameters
    ----------
    rule : Rule
        The rule as read (its ``source`` and ``line`` name it in messages).
    substrates, cell_types : list of str
        The model's substrate and cell-type names, in index order.
    custom_of_type : list of str
        Custom variables of the rule's cell type (a rule may read and set only those).
    custom_columns : list of str
        Custom variables of all types in column order (what a custom index counts).

    Returns
    -------
    Rule
        A copy with ``signal_kind/index`` and ``behaviour_kind/index`` set.

    Raises
    ------
    TropismInputError
        Naming the rules file, the line and column, the value and every allowed name.
    """
    where = f"line {rule.line}, " if rule.line else ""
    if rule.cell_type not in cell_types:
        raise TropismInputError("unknown cell type", file=rule.source or None,
                                field=f"{where}column 1 (cell_type)", value=rule.cell_type,
                                allowed=", ".join(cell_types))
    sig = resolve_signal(rule.signal, substrates, cell_types, custom_of_type)
    if sig is None:
        raise TropismInputError(f"unknown signal for cell type '{rule.cell_type}'", file=rule.source or None,
                                field=f"{where}column 2 (signal)", value=rule.signal,
                                allowed=signal_names(substrates, cell_types, custom_of_type))
    beh = resolve_behaviour(rule.behavior, substrates, cell_types, custom_of_type)
    if beh is None:
        raise TropismInputError(f"unknown behavior for cell type '{rule.cell_type}'", file=rule.source or None,
                                field=f"{where}column 4 (behavior)", value=rule.behavior,
                                allowed=behaviour_names(substrates, cell_types, custom_of_type))
    return rule.model_copy(update=dict(signal_kind=sig[0], signal_index=_index(sig[1], custom_columns),
                                       behaviour_kind=beh[0], behaviour_index=_index(beh[1], custom_columns)))
