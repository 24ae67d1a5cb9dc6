"""What is simulated, as validated data: domain, clocks, substrates, cell types, rules."""

from .domain import Clocks, Domain, RunOptions, SaveOptions
from .model import InitialCells, Model, UserParameter
from .phenotype import (CYCLE_TOPOLOGIES, AdvancedChemotaxis, CellType, Chemotaxis, CustomDatum, Cycle,
                        DeathModel, DeathParameters, Interactions, Mechanics, Motility, PhaseLink,
                        SecretionParameters, Volume)
from .provenance import ParameterSource
from .reactions import Angiogenesis, Arrival, Conversion, Departure, Intervention, VesselBed
from .rules import Rule, behaviour_names, resolve_behaviour, resolve_rule, resolve_signal, signal_names
from .substrates import FACES, Substrate

__all__ = [
    "AdvancedChemotaxis", "Angiogenesis", "Arrival", "CYCLE_TOPOLOGIES", "CellType", "Chemotaxis", "Clocks", "Conversion", "CustomDatum", "Cycle", "Departure",
    "DeathModel", "DeathParameters", "Domain", "FACES", "InitialCells", "Interactions", "Intervention", "Mechanics",
    "Model", "Motility", "ParameterSource", "PhaseLink", "Rule", "RunOptions", "SaveOptions", "SecretionParameters",
    "Substrate", "UserParameter", "VesselBed", "Volume", "behaviour_names", "resolve_behaviour", "resolve_rule",
    "resolve_signal", "signal_names",
]
