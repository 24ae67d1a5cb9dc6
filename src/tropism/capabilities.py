"""What the solvers simulate, as the loaders ask it — without ``model/`` importing a solver.

It sits beside ``errors`` and ``units`` (the first layer): the loaders and the solvers both
use it, and it imports nothing of theirs. A solver is registered by the name of the function
that checks a resolved rule (``"module:function"``); the module is imported when a loader
first asks, so registering costs a command nothing. The package registers the tissue
solver's registry (``tropism.tissue.registry:not_simulated_in_rule``). A loader asks
:func:`not_simulated_in_rule` for each rule it reads, so an unsupported signal or behaviour
is reported with its line at load time.
"""

from __future__ import annotations

import importlib
from typing import Callable

_RULE_CHECKS: list[str] = []


def register_rule_check(target: str) -> None:
    """Register ``"module:function"``: it returns what of a resolved rule a solver does not simulate."""
    if ":" not in target:
        raise ValueError(f"a rule check is named 'module:function' (got {target!r})")
    if target not in _RULE_CHECKS:
        _RULE_CHECKS.append(target)


def _check(target: str) -> Callable[[object], list[str]]:
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def not_simulated_in_rule(rule) -> list[str]:
    """What some registered solver does not simulate in this resolved rule (a ``tropism.model.Rule``)."""
    items: list[str] = []
    for target in _RULE_CHECKS:
        items += [item for item in _check(target)(rule) if item not in items]
    return items
