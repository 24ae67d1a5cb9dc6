"""Evaluate a model's CBHG rules over all agents at once (PhysiCell's up/down Hill form).

Rows of one cell type that act on the same behaviour form one response: with
U = Σ_up (s/h)^p and D = Σ_down (s/h)^p, the value is
v = b + (max − b)·U/(1+U), then v ← v + (min − v)·D/(1+D), b the type's base value.
Rows that multiply (tropism's extension, ``Rule.multiplies``) then scale that value:
v ← v · Π (1 + (f − 1)·H), H = (s/h)^p / (1 + (s/h)^p), f the row's fold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..model import Model
from .registry import behaviour_target, not_simulated_in_rule


@dataclass
class _Term:
    signal: tuple[str, int]  #: resolved (kind, index)
    half_max: float
    hill_power: float
    applies_to_dead: bool
    scale: float = 1.0  #: what the blockades acting for the whole run leave of the signal (1 − efficacy)
    #: blockades with a time window: (what it leaves, start, end or None) in min
    windows: list = field(default_factory=list)

    def scale_at(self, t: float | None) -> float:
        """What the blockades leave of the signal at time ``t`` (min)."""
        left = self.scale
        if t is not None:
            for part, start, end in self.windows:
                if start <= t and (end is None or t < end):
                    left *= part
        return left


@dataclass
class RuleGroup:
    """All rows of one (cell type, behaviour) pair."""

    cell_type: int
    parameter: str
    column: int
    up: list[_Term] = field(default_factory=list)
    down: list[_Term] = field(default_factory=list)
    #: rows that multiply the value, each with its fold at saturation
    folds: list[tuple[_Term, float]] = field(default_factory=list)
    max_value: float | None = None
    min_value: float | None = None


def compile_rules(model: Model) -> tuple[list[RuleGroup], list[str]]:
    """Group a model's resolved rules for evaluation; returns the groups and what is not simulated.

    Rules come resolved from the model (``Rule.signal_kind`` ...); the registry says what each
    behaviour sets and which kinds this solver lacks.
    """
    types = model.cell_type_names
    groups: dict[tuple[int, str, int], RuleGroup] = {}
    unsupported: list[str] = []
    blockades = [(iv.cell_types, model.signal(iv.target), 1.0 - iv.efficacy, iv.start_min, iv.end_min)
                 for iv in model.interventions if iv.kind == "block_signal"]
    for rule in model.rules:
        missing = not_simulated_in_rule(rule)
        if missing:
            unsupported += missing
            continue
        param, col = behaviour_target(rule.behaviour_kind, rule.behaviour_index)
        t = types.index(rule.cell_type)
        g = groups.setdefault((t, param, col), RuleGroup(t, param, col))
        sig = (rule.signal_kind, rule.signal_index)
        scale, windows = 1.0, []
        for scope, blocked, left, start, end in blockades:
            if (not scope or rule.cell_type in scope) and blocked == sig:
                if start <= 0.0 and end is None:
                    scale *= left
                else:
                    windows.append((left, start, end))
        term = _Term(sig, rule.half_max, rule.hill_power, rule.applies_to_dead, scale, windows)
        if rule.multiplies:
            g.folds.append((term, rule.saturation))
        elif rule.direction == "increases":
            g.up.append(term)
            g.max_value = rule.saturation if g.max_value is None else max(g.max_value, rule.saturation)
        else:
            g.down.append(term)
            g.min_value = rule.saturation if g.min_value is None else min(g.min_value, rule.saturation)
    return list(groups.values()), unsupported


def _hill(term: _Term, signals, rows: np.ndarray, time: float | None) -> np.ndarray:
    """(s/h)^p of one row for the given agents, with what the blockades leave of s."""
    s = np.maximum(signals(term.signal, rows), 0.0)
    scale = term.scale_at(time)
    if scale != 1.0:
        s = s * scale
    return (s / term.half_max) ** term.hill_power


def _hill_sum(terms: list[_Term], signals, rows: np.ndarray, dead_only: bool, time: float | None) -> np.ndarray:
    total = np.zeros(rows.shape[0])
    for term in terms:
        if dead_only and not term.applies_to_dead:
            continue
        total += _hill(term, signals, rows, time)
    return total


def apply_rules(groups: list[RuleGroup], base: dict[str, np.ndarray], params: dict[str, np.ndarray],
                rows_of_type: list[np.ndarray], dead_rows_of_type: list[np.ndarray], signals,
                time: float | None = None) -> None:
    """Set every ruled behaviour of every agent from its signals.

    ``signals((kind, index), rows)`` returns the signal values of the given agent rows (the
    solver passes :func:`tropism.tissue.registry.read_signal` bound to itself). ``time`` (min)
    decides which time-windowed blockades act.
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
            if dead and not any(t.applies_to_dead for t in g.up + g.down + [f[0] for f in g.folds]):
                continue
            u = _hill_sum(g.up, signals, rows, dead, time)
            d = _hill_sum(g.down, signals, rows, dead, time)
            v = b + (hi - b) * (u / (1.0 + u))
            v = v + (lo - v) * (d / (1.0 + d))
            for term, fold in g.folds:
                if dead and not term.applies_to_dead:
                    continue
                x = _hill(term, signals, rows, time)
                v = v * (1.0 + (fold - 1.0) * (x / (1.0 + x)))
            params[g.parameter][rows, g.column] = v
