"""One resolution of rule names, the solver's registry, and parameter provenance (issue 8, items 1-2)."""

from __future__ import annotations

import numpy as np
import pytest

from tropism.errors import TropismInputError
from tropism.model import (CellType, Domain, Model, ParameterSource, Rule, Substrate, resolve_rule)
from tropism.model import rules as grammar
from tropism.tissue import registry
from tropism.tissue.parameters import AGENT_PARAMETERS


def _model(rules=(), provenance=None) -> Model:
    return Model(domain=Domain(x_min=-50, x_max=50, y_min=-50, y_max=50),
                 substrates=[Substrate(name="oxygen"), Substrate(name="sdf1")],
                 cell_types=[CellType(name="tumour", id=0), CellType(name="msc", id=1)],
                 rules=list(rules), provenance=provenance or {})


def _rule(signal="sdf1", behavior="migration bias", cell_type="msc") -> Rule:
    return Rule(cell_type=cell_type, signal=signal, direction="increases", behavior=behavior, saturation=0.8,
                half_max=1.0, hill_power=2.0)


def test_every_model_holds_resolved_rules():
    m = _model([_rule(), _rule("contact with tumour", "transform to tumour"), _rule("oxygen", "sdf1 secretion")])
    kinds = [(r.signal_kind, r.signal_index, r.behaviour_kind, r.behaviour_index) for r in m.rules]
    assert kinds == [("substrate", 1, "migration_bias", -1), ("contact_type", 0, "transform", 0),
                     ("substrate", 0, "secretion", 1)]


@pytest.mark.parametrize("rule, words", [
    (_rule(signal="sdf-1"), ["unknown signal", "sdf-1", "sdf1 gradient", "contact with msc"]),
    (_rule(behavior="migration bais"), ["unknown behavior", "migration bais", "migration bias", "attack tumour"]),
    (_rule(cell_type="nk"), ["unknown cell type", "nk", "tumour, msc"]),
])
def test_a_bad_name_is_refused_with_every_allowed_name(rule, words):
    with pytest.raises(Exception) as exc:
        _model([rule])
    text = str(exc.value)
    for w in words:
        assert w in text
    # the same function gives the loaders' message (file, line, column)
    with pytest.raises(TropismInputError) as direct:
        resolve_rule(rule.model_copy(update={"source": "rules.csv", "line": 7}), ["oxygen", "sdf1"],
                     ["tumour", "msc"], [], [])
    assert direct.value.file == "rules.csv" and direct.value.field.startswith("line 7, column")


def test_registry_tables_are_consistent_with_the_grammar_and_the_agents():
    for kind, entry in registry.BEHAVIOURS.items():
        assert entry.parameter in AGENT_PARAMETERS, kind
    # every fixed behaviour and signal of the grammar is either in the registry or reported
    for kind in set(grammar._FIXED_BEHAVIOURS.values()):
        r = _rule(behavior=next(k for k, v in grammar._FIXED_BEHAVIOURS.items() if v == kind))
        resolved = _model([r]).rules[0]
        assert (kind in registry.BEHAVIOURS) != bool(registry.not_simulated_in_rule(resolved)), kind


def test_what_the_registry_lacks_is_reported_once_by_name():
    m = _model([_rule(signal="intracellular oxygen"), _rule(signal="intracellular oxygen", behavior="apoptosis"),
                _rule(behavior="cell-bm adhesion")])
    from tropism.tissue.support import not_simulated
    items = not_simulated(m)
    assert items.count("rule signal 'intracellular oxygen'") == 1
    assert any("cell-bm adhesion" in i and "basement membrane" in i for i in items)


def test_a_new_signal_is_one_registry_entry(monkeypatch):
    from tropism import TissueSolver
    from tropism.model import InitialCells
    m = _model([_rule(signal="volume", behavior="migration bias")])
    m.initial_cells = InitialCells(positions=np.zeros((1, 3)), types=np.array([1]))
    s = TissueSolver(m, seed=1)
    # replace how "volume" is read: the rule now sees 1.0 whatever the cell's volume
    monkeypatch.setitem(registry.SIGNALS, "volume", registry.SignalEntry(lambda sv, i, rows: np.ones(rows.shape[0])))
    s.apply_rules()
    b = m.cell_type("msc").motility.migration_bias
    assert s.agents.bias[0, 0] == pytest.approx(b + (0.8 - b) * 0.5)  # (1/1)^2 / (1 + 1) = 1/2
    monkeypatch.undo()
    s.apply_rules()  # the cell's own volume again: (V/1)^2 is huge, so the bias saturates
    assert s.agents.bias[0, 0] == pytest.approx(0.8, rel=1e-6)


def test_parameters_carry_unit_and_source():
    src = ParameterSource(unit="µm/min", source="doi:10.1000/x", status="V")
    m = _model(provenance={"cell_types[msc].motility.speed": src})
    value, where = m.parameter("cell_types[msc].motility.speed")
    assert value == m.cell_type("msc").motility.speed and where.unit == "µm/min"
    with pytest.raises(Exception, match="no parameter"):
        _model(provenance={"cell_types[msc].motility.sped": src})
    with pytest.raises(Exception, match="fitted_to"):
        ParameterSource(unit="1/min", source="fit", status="F")
