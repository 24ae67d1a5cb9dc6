"""tropism: MSCs, exosomes and tumours — a whole-body model coupled to an agent-based tissue model.

Public API
----------
load_model, write_model, model_to_xml_string
    PhysiCell settings XML (+ cells and rules CSV) in and out.
Model and its records (Domain, Clocks, Substrate, CellType, Rule, ...)
    What is simulated, as validated data.
TissueSolver
    The agent-based tissue solver.
run_model, RunSummary
    A full run with PhysiCell-compatible output.
body
    The whole-body compartment model (``tropism.body.simulate``).
TropismInputError
    The one exception raised for bad input.
"""

from . import body
from .errors import TropismInputError, UnsupportedElementWarning
from .model import (CellType, Clocks, Cycle, DeathModel, Domain, InitialCells, Model, Motility, Rule, RunOptions,
                    SaveOptions, SecretionParameters, Substrate, Volume)
from .model.physicell import load_model, model_to_xml_string, write_model
from .simulation import RunSummary, run_model
from .tissue.solver import TissueSolver, set_threads

__version__ = "0.1.0"

__all__ = [
    "body", "CellType", "Clocks", "Cycle", "DeathModel", "Domain", "InitialCells", "Model", "Motility", "Rule",
    "RunOptions", "RunSummary", "SaveOptions", "SecretionParameters", "Substrate", "TissueSolver",
    "TropismInputError", "UnsupportedElementWarning", "Volume", "__version__", "load_model",
    "model_to_xml_string", "run_model", "set_threads", "write_model",
]
