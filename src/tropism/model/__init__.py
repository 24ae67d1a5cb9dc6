"""What is simulated, as validated data: domain, clocks, substrates, cell types, rules."""

from .domain import Clocks, Domain, RunOptions, SaveOptions
from .model import InitialCells, Model, UserParameter
from .phenotype import (CYCLE_TOPOLOGIES, AdvancedChemotaxis, CellType, Chemotaxis, CustomDatum, Cycle,
                        DeathModel, DeathParameters, Interactions, Mechanics, Motility, PhaseLink,
                        SecretionParameters, Volume)
from .reactions import Arrival, Conversion, Intervention
from .rules import Rule, resolve_behaviour, resolve_signal
from .substrates import FACES, Substrate

__all__ = [
    "AdvancedChemotaxis", "Arrival", "CYCLE_TOPOLOGIES", "CellType", "Chemotaxis", "Clocks", "Conversion", "CustomDatum", "Cycle",
    "DeathModel", "DeathParameters", "Domain", "FACES", "InitialCells", "Interactions", "Intervention", "Mechanics",
    "Model", "Motility", "PhaseLink", "Rule", "RunOptions", "SaveOptions", "SecretionParameters",
    "Substrate", "UserParameter", "Volume", "resolve_behaviour", "resolve_signal",
]
