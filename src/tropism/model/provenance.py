"""Where a parameter's number comes from: its unit, its source and its status.

The curated library gives every number a source and a status — V (seen in the source),
U (recalled or derived: a debt), F (fitted, and to which targets). A model keeps them keyed by
the parameter's path, so a report can print any value with its reference.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, model_validator

from ._base import Record


class ParameterSource(Record):
    """Unit, source and status of one parameter value."""

    unit: str = ""
    source: str = Field("", description="reference: DOI, PMID, book page, or the fit that set it")
    status: str = Field("U", pattern="^[VUF]$", description="V seen in the source, U recalled, F fitted")
    fitted_to: str = Field("", description="for status F: the targets the fit used")

    @model_validator(mode="after")
    def _fitted_names_targets(self) -> "ParameterSource":
        if self.status == "F" and not self.fitted_to:
            raise ValueError("a fitted parameter (status F) must name the targets it was fitted to (fitted_to)")
        return self


_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[([^\]]+)\])?")


def resolve_path(obj: Any, path: str) -> Any:
    """The value at a dotted path; ``name[key]`` picks a list item by its ``name`` (or, for
    unnamed items, its position) or a dict entry.

    Raises ``ValueError`` naming the first step that does not exist.
    """
    current = obj
    for part in path.split("."):
        m = _STEP.fullmatch(part)
        if m is None or not hasattr(current, m.group(1)):
            raise ValueError(f"provenance: no parameter {path!r} (at {part!r})")
        current = getattr(current, m.group(1))
        key = m.group(2)
        if key is None:
            continue
        if isinstance(current, dict) and key in current:
            current = current[key]
        elif isinstance(current, list) and key.isdigit() and not any(getattr(i, "name", None) == key for i in current):
            # an item without a name (a cycle's phase link) is picked by its position
            if int(key) >= len(current):
                raise ValueError(f"provenance: no parameter {path!r} (no {m.group(1)} item {key})")
            current = current[int(key)]
        elif isinstance(current, list):
            found = [item for item in current if getattr(item, "name", None) == key]
            if not found:
                raise ValueError(f"provenance: no parameter {path!r} (no {m.group(1)} named {key!r})")
            current = found[0]
        else:
            raise ValueError(f"provenance: no parameter {path!r} (no {key!r} in {m.group(1)})")
    return current
