"""Evaluate a model's CBHG rules over all agents at once (PhysiCell's up/down Hill form).

Rows of one cell type that act on the same behaviour form one response: with
U = Σ_up (s/h)^p and D = Σ_down (s/h)^p, the value is
v = b + (max − b)·U/(1+U), then v ← v + (min − v)·D/(1+D), b the type's base value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import TropismInputError
from ..model import Model, resolve_behaviour, resolve_signal
from ..model.rules import SIMULATED_BEHAVIOURS, SIMULATED_SIGNALS
from .parameters import BEHAVIOUR_TO_PARAMETER, custom_names


@dataclass
class _Term:
    signal: tuple[str, int | str]
    half_max: float
    hill_power: float
    applies_to_dead: bool
    scale: float = 1.0  #: what a blockade leaves of the signal (1 − efficacy)


@dataclass
class RuleGroup:
    """All rows of one (cell type, behaviour) pair."""

    cell_type: int
    parameter: str
    column: int
    up: list[_Term] = field(default_factory=list)
    down: list[_Term] = field(default_factory=list)
    max_value: float | None = None
    min_value: float | None = None


def compile_rules(model: Model) -> tuple[list[RuleGroup], list[str]]:
    """Group a model's rules for evaluation; returns the groups and unsupported names."""
    subs, types = model.substrate_names, model.cell_type_names
    customs = custom_names(model)
    groups: dict[tuple[int, str, int], RuleGroup] = {}
    unsupported: list[str] = []
    for rule in model.rules:
        where = f"line {rule.line}" if rule.line else "rule"
        if rule.cell_type not in types:
            raise TropismInputError("unknown cell type in rule", file=rule.source, field=f"{where}: cell_type",
                                    value=rule.cell_type, allowed=", ".join(types))
        sig = resolve_signal(rule.signal, subs, types, customs)
        if sig is None:
            raise TropismInputError("unknown signal in rule", file=rule.source, field=f"{where}: signal",
                                    value=rule.signal,
                                    allowed=f"a substrate ({', '.join(subs)}), 'contact with <type>' "
                                            f"({', '.join(types)}), pressure, volume, damage, dead, ...")
        beh = resolve_behaviour(rule.behavior, subs, types, customs)
        if beh is None:
            raise TropismInputError("unknown behaviour in rule", file=rule.source, field=f"{where}: behavior",
                                    value=rule.behavior,
                                    allowed="a CBHG behaviour, e.g. 'cycle entry', 'apoptosis', "
                                            "'<substrate> secretion', 'attack <type>'")
        if sig[0] not in SIMULATED_SIGNALS:
            unsupported.append(f"rule signal '{rule.signal}'")
            continue
        if beh[0] not in SIMULATED_BEHAVIOURS:
            unsupported.append(f"rule behaviour '{rule.behavior}'")
            continue
        kind, arg = beh
        param = BEHAVIOUR_TO_PARAMETER[kind]
        if kind == "custom":
            col = customs.index(arg)
        elif kind == "cycle_entry":
            col = 0
        else:
            col = max(int(arg), 0)
        t = types.index(rule.cell_type)
        g = groups.setdefault((t, param, col), RuleGroup(t, param, col))
        scale = 1.0
        for iv in model.interventions:
            if iv.kind == "block_signal" and (not iv.cell_types or rule.cell_type in iv.cell_types) \
                    and resolve_signal(iv.target, subs, types, customs) == sig:
                scale *= 1.0 - iv.efficacy
        term = _Term(sig, rule.half_max, rule.hill_power, rule.applies_to_dead, scale)
        if rule.direction == "increases":
            g.up.append(term)
            g.max_value = rule.saturation if g.max_value is None else max(g.max_value, rule.saturation)
        else:
            g.down.append(term)
            g.min_value = rule.saturation if g.min_value is None else min(g.min_value, rule.saturation)
    return list(groups.values()), unsupported


def _hill_sum(terms: list[_Term], signals, rows: np.ndarray, dead_only: bool) -> np.ndarray:
    total = np.zeros(rows.shape[0])
    for term in terms:
        if dead_only and not term.applies_to_dead:
            continue
        s = np.maximum(signals(term.signal, rows), 0.0)
        if term.scale != 1.0:
            s = s * term.scale
        total += (s / term.half_max) ** term.hill_power
    return total


def apply_rules(groups: list[RuleGroup], base: dict[str, np.ndarray], params: dict[str, np.ndarray],
                rows_of_type: list[np.ndarray], dead_rows_of_type: list[np.ndarray], signals) -> None:
    """Set every ruled behaviour of every agent from its signals.

    ``signals(kind_arg, rows)`` returns the signal values of the given agent rows.
    Live agents use all rows of a group; dead agents only rows that apply to dead cells.
    """
    for g in groups:
        b = base[g.parameter][g.cell_type, g.column]
        # PhysiCell's bounds: max over up saturations (and the base if any down row), min over
        # down saturations (and the base if any up row).
        hi = b if g.max_value is None else (max(g.max_value, b) if g.down else g.max_value)
        lo = b if g.min_value is None else (min(g.min_value, b) if g.up else g.min_value)
        for rows, dead in ((rows_of_type[g.cell_type], False), (dead_rows_of_type[g.cell_type], True)):
            if rows.shape[0] == 0:
                continue
            if dead and not any(t.applies_to_dead for t in g.up + g.down):
                continue
            u = _hill_sum(g.up, signals, rows, dead)
            d = _hill_sum(g.down, signals, rows, dead)
            v = b + (hi - b) * (u / (1.0 + u))
            v = v + (lo - v) * (d / (1.0 + d))
            params[g.parameter][rows, g.column] = v
