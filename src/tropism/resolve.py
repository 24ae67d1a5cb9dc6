"""A scenario checked against the library, before the first step (issue 10).

:func:`check_experiment` refuses what the file alone cannot show to be wrong: a tumour line,
MSC source or host condition the library does not hold (with "did you mean"), a human tumour
line in an immune-competent animal (it would be rejected), and a blockade of a receptor that no
cell in the scenario carries. Building the tissue model and the body scenario from the library
follows the same path.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from .errors import TropismInputError
from .model.experiment import Experiment, load_experiment

#: blockade target -> (library table, parameter that says whether a cell carries it); targets that
#: act on a secreted factor or a process are always meaningful and are not listed
RECEPTORS = {"cxcr4": ("cell_lines", "cxcr4_expression"), "ccr5": ("cell_lines", "ccr5_expression")}
#: immune statuses that accept a xenograft from another species
XENO_HOSTS = ("nude", "scid", "nsg")


def _allowed(name, names) -> str:
    names = list(names)
    near = difflib.get_close_matches(str(name), names, n=1)
    return (f"did you mean {near[0]!r}? " if near else "") + ", ".join(names)


def check_experiment(e: Experiment, file: str | None = None, catalogue=None) -> None:
    """Refuse a scenario the library cannot run (see the module docstring).

    Raises
    ------
    TropismInputError
        Naming the file, the field, the value and what is allowed.
    """
    from .body.library import load_conditions
    from .library import load_catalogue
    cat = catalogue or load_catalogue()
    conditions = load_conditions()
    from .body.library import ORGANS
    for organ in e.host.inflamed:
        if organ not in ORGANS + ("tumour",):
            raise TropismInputError("unknown organ", file=file, field=f"host.inflamed.{organ}", value=organ,
                                    allowed=_allowed(organ, ORGANS + ("tumour",)))
        if organ == "tumour" and e.tumour is None:
            raise TropismInputError("an inflamed tumour needs a [tumour]", file=file, field="host.inflamed.tumour",
                                    value=e.host.inflamed[organ])
    for i, c in enumerate(e.host.conditions):
        if c not in conditions:
            raise TropismInputError("unknown host condition", file=file, field=f"host.conditions[{i}]", value=c,
                                    allowed=_allowed(c, conditions))
    if e.tumour is not None:
        lines = cat.entities("cell_lines")
        if e.tumour.line not in lines:
            raise TropismInputError("unknown tumour line", file=file, field="tumour.line", value=e.tumour.line,
                                    allowed=_allowed(e.tumour.line, lines))
        origin = cat.get("cell_lines", e.tumour.line, "species_of_origin")
        if origin is not None and origin.value != e.host.species and e.host.immune not in XENO_HOSTS:
            raise TropismInputError(
                f"a {origin.value} tumour line in an immune-competent {e.host.species} is rejected",
                file=file, field="host.immune", value=e.host.immune,
                allowed=f"{', '.join(XENO_HOSTS)} for a xenograft, or a {e.host.species} line")
    sources = cat.entities("msc_sources")
    for i, t in enumerate(e.treatment):
        if t.product == "msc" and t.source not in sources:
            raise TropismInputError("unknown MSC source", file=file, field=f"treatment[{i}].source", value=t.source,
                                    allowed=_allowed(t.source, sources))
    for i, iv in enumerate(e.intervention):
        if iv.kind != "blockade" or iv.target not in RECEPTORS:
            continue
        table, parameter = RECEPTORS[iv.target]
        carriers = []
        if e.tumour is not None:
            entry = cat.get(table, e.tumour.line, parameter)
            if entry is None or entry.value != "absent":
                carriers.append(e.tumour.line)
        if iv.target == "cxcr4" and any(t.product == "msc" for t in e.treatment):
            carriers.append("MSCs")  # MSCs carry CXCR4 (Wynn 2004 Blood 104:2643)
        if not carriers:
            raise TropismInputError(f"no cell in this scenario carries {iv.target.upper()}", file=file,
                                    field=f"intervention[{i}].target", value=iv.target,
                                    allowed="a target that a tumour line or a treatment in the scenario carries")


def load_and_check(path: str | Path) -> Experiment:
    """Read a scenario file and check it against the library."""
    e = load_experiment(path)
    check_experiment(e, file=str(path))
    return e
