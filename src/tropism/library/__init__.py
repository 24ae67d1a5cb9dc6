"""The curated library: biology as data files, each number with its source and status.

Layer 3 of DESIGN.md: this package holds data (TOML, CSV) and the code that loads and checks
it, nothing else. ``body/`` reads its own part (``library/body``, ``library/physiology``);
the tissue part is read here:

load_catalogue() -> Catalogue
    Tumour lines, MSC sources and substrates (``library/tissue/*.csv``), one row per
    (entity, parameter) with unit, source and status (V seen, U recalled or derived, F fitted
    and to what). A row without a source, with an unknown parameter, another unit or a value
    out of range is refused with file, line, column, value and what is allowed.
load_rules() -> list[LibraryRule]
    Mechanisms as CBHG rule rows with their references (``library/tissue/rules.csv``).
"""

from __future__ import annotations

from .catalogue import (TABLES, Catalogue, Entry, LibraryRule, load_catalogue, load_defaults, load_rules,
                        parameter_definitions)

__all__ = ["TABLES", "Catalogue", "Entry", "LibraryRule", "load_catalogue", "load_defaults", "load_rules",
           "parameter_definitions"]
