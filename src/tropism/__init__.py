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
    A full run with PhysiCell-compatible output (and, with a body attached, the exchanges).
Simulation, BodyLink
    The coupler: the tissue and the body on one clock through typed ports.
body
    The whole-body compartment model (``tropism.body.simulate``).
parity
    Side-by-side population parity with PhysiCell (``tropism.parity.compare``).
TropismInputError
    The one exception raised for bad input.
"""

import importlib
import os

from .tissue.threads import wait_policy as _wait_policy; _wait_policy()  # before OpenMP starts

from .errors import TropismInputError, UnsupportedElementWarning
from .capabilities import register_rule_check

# the loaders report what the tissue solver does not simulate; imported when first asked
register_rule_check("tropism.tissue.registry:not_simulated_in_rule")

# Names are imported on first use (PEP 562): a command pays only for what it touches, so
# `tropism --help` does not load Numba, SciPy and Matplotlib.
_LAZY = {
    "body": (".body", None),
    "parity": (".parity", None),
    "load_model": (".model.physicell", "load_model"),
    "model_to_xml_string": (".model.physicell", "model_to_xml_string"),
    "write_model": (".model.physicell", "write_model"),
    "RunSummary": (".run", "RunSummary"),
    "run_model": (".run", "run_model"),
    "Simulation": (".simulation", "Simulation"),
    "BodyLink": (".model.coupling", "BodyLink"),
    "TissueSolver": (".tissue.solver", "TissueSolver"),
    "set_threads": (".tissue.solver", "set_threads"),
    **{name: (".model", name) for name in ("CellType", "Clocks", "Cycle", "DeathModel", "Domain", "InitialCells",
                                           "Model", "Motility", "Rule", "RunOptions", "SaveOptions",
                                           "SecretionParameters", "Substrate", "Volume")},
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'tropism' has no attribute {name!r}")
    module, attr = _LAZY[name]
    mod = importlib.import_module(module, __name__)
    value = mod if attr is None else getattr(mod, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0"

__all__ = [
    "body", "CellType", "Clocks", "Cycle", "DeathModel", "Domain", "InitialCells", "Model", "Motility", "Rule",
    "BodyLink", "RunOptions", "RunSummary", "SaveOptions", "Simulation", "SecretionParameters", "Substrate", "TissueSolver",
    "TropismInputError", "UnsupportedElementWarning", "Volume", "__version__", "load_model",
    "model_to_xml_string", "parity", "run_model", "set_threads", "write_model",
]
