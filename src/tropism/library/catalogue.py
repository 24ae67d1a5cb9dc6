"""Loading and checking the tissue library's tables (see the package docstring)."""

from __future__ import annotations

import csv
import math
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ..errors import TropismInputError, allowed_with_hint

#: the parameter tables, one CSV each under ``library/tissue``
TABLES = ("cell_lines", "msc_sources", "immune_cells", "substrates")
COLUMNS = ("entity", "parameter", "value", "unit", "source", "status", "fitted_to", "notes")
RULE_COLUMNS = ("cell_type", "applies_to", "signal", "direction", "behaviour", "response", "max_response", "half_max",
                "hill_power", "applies_to_dead", "pathway", "source", "status", "fitted_to", "notes")
#: how a rule row's ``max_response`` is read: as the behaviour's value (empty), as a fold of the
#: cell's measured value (``fold``: for "increases" the maximum is fold × measured; for
#: "decreases" the cell's value without the signal is fold × measured and the signal brings it
#: down to the measured one, e.g. hypoxia raising VEGF), or ``measured_at_max`` (the measured
#: value is reached at saturating signal and without the signal the behaviour is 0), or
#: ``pg_per_1e6_cells_per_24h`` (a secretion the signal induces, in the unit cultures measure it),
#: or ``multiplies`` (the signal multiplies whatever the other rules and the base make of the
#: behaviour, by up to max_response at saturation: a growth factor that raises division 1.5×
#: wherever oxygen lets the cell divide at all; "increases" takes a fold >= 1, "decreases" <= 1)
RESPONSES = ("", "fold", "measured_at_max", "pg_per_1e6_cells_per_24h", "multiplies")
STATUSES = ("V", "U", "F")


def _tissue_dir() -> Path:
    return Path(str(resources.files("tropism") / "library" / "tissue"))


@dataclass(frozen=True)
class _Sourced:
    source: str
    status: str
    fitted_to: str
    notes: str
    file: str
    line: int


@dataclass(frozen=True)
class Entry(_Sourced):
    """One number (or text) of the library with where it comes from (``source``, ``status``
    V/U/F, ``fitted_to``, ``notes``, and the ``file`` and ``line`` it was read from)."""

    table: str = ""
    entity: str = ""
    parameter: str = ""
    value: float | str = ""
    unit: str = ""


@dataclass(frozen=True)
class LibraryRule(_Sourced):
    """A mechanism as a CBHG rule row, with its reference."""

    cell_type: str = ""
    signal: str = ""
    direction: str = ""
    behaviour: str = ""
    max_response: float = 0.0
    half_max: float = 1.0
    hill_power: float = 1.0
    applies_to_dead: bool = False
    #: a line, an MSC source, or ``has:<parameter>`` (the line's text parameter says it carries
    #: the receptor: present and not "absent"; ``has:a=x`` a value; ``has:a&b`` both); empty:
    #: every cell of the role
    applies_to: str = ""
    #: how max_response is read (``RESPONSES``)
    response: str = ""
    #: the pathway the mechanism runs through (``hif1a``): a blockade of it removes the row's effect
    pathway: str = ""


class Catalogue:
    """The entries of every table, by table, entity and parameter."""

    def __init__(self, entries: list[Entry]):
        self.entries = list(entries)
        self._index = {(e.table, e.entity, e.parameter): e for e in self.entries}

    def entities(self, table: str) -> list[str]:
        """Entity names of one table, in file order."""
        seen: list[str] = []
        for e in self.entries:
            if e.table == table and e.entity not in seen:
                seen.append(e.entity)
        return seen

    def get(self, table: str, entity: str, parameter: str) -> Entry | None:
        """The entry, or None if the library has no value for it."""
        return self._index.get((table, entity, parameter))

    def entity(self, table: str, name: str) -> dict[str, Entry]:
        """Every parameter of one entity; an unknown name is refused with the names there are."""
        if name not in self.entities(table):
            raise TropismInputError(f"unknown {table.rstrip('s').replace('_', ' ')}", field=table, value=name,
                                    allowed=_allowed(name, self.entities(table)))
        return {e.parameter: e for e in self.entries if e.table == table and e.entity == name}


def _allowed(name: str, names) -> str:
    return allowed_with_hint(name, names)


@lru_cache(maxsize=1)
def parameter_definitions() -> dict[str, dict[str, dict]]:
    """``parameters.toml``: table → parameter → {kind, unit, min, max, choices, meaning}."""
    path = _tissue_dir() / "parameters.toml"
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def _read_rows(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = tuple(reader.fieldnames or ())
            if header != columns:
                raise TropismInputError("wrong columns", file=str(path), field="header", value=",".join(header),
                                        allowed=",".join(columns))
            return [(reader.line_num, row) for row in reader]
    except FileNotFoundError:
        raise TropismInputError("library file missing", file=str(path)) from None


def _provenance(path: Path, line: int, row: dict) -> None:
    where = f"line {line}"
    if not row["source"].strip():
        raise TropismInputError("a number without a source", file=str(path), field=f"{where}: source",
                                value=row.get("value", ""), allowed="every library number names its source")
    if row["status"] not in STATUSES:
        raise TropismInputError("unknown status", file=str(path), field=f"{where}: status", value=row["status"],
                                allowed="V (seen in the source), U (recalled or derived), F (fitted)")
    if row["status"] == "F" and not row["fitted_to"].strip():
        raise TropismInputError("a fitted number must name the targets it was fitted to", file=str(path),
                                field=f"{where}: fitted_to", value="", allowed="target or finding ids, e.g. T01;P02")


def _entry(table: str, path: Path, line: int, row: dict, defs: dict) -> Entry:
    where = f"line {line}"
    name = row["parameter"]
    if name not in defs:
        raise TropismInputError("unknown parameter", file=str(path), field=f"{where}: parameter", value=name,
                                allowed=_allowed(name, defs))
    d = defs[name]
    _provenance(path, line, row)
    text = row["value"].strip()
    if d["kind"] == "number":
        try:
            value: float | str = float(text)
        except ValueError:
            raise TropismInputError("not a number", file=str(path), field=f"{where}: value ({name})", value=text,
                                    allowed=f"a number in {d['unit']}") from None
        if not math.isfinite(value) or not d["min"] <= value <= d["max"]:
            raise TropismInputError("value out of range", file=str(path), field=f"{where}: value ({name})",
                                    value=text, allowed=f"{d['min']} to {d['max']} {d['unit']}")
        if row["unit"] != d["unit"]:
            raise TropismInputError("wrong unit", file=str(path), field=f"{where}: unit ({name})", value=row["unit"],
                                    allowed=d["unit"])
    else:
        value = text
        if "choices" in d and text not in d["choices"]:
            raise TropismInputError("value not allowed", file=str(path), field=f"{where}: value ({name})", value=text,
                                    allowed=", ".join(d["choices"]))
    return Entry(row["source"].strip(), row["status"], row["fitted_to"].strip(), row["notes"].strip(), str(path), line,
                 table=table, entity=row["entity"].strip(), parameter=name, value=value, unit=row["unit"])


def load_catalogue(directory: str | Path | None = None) -> Catalogue:
    """Read and check every parameter table of the tissue library.

    Parameters
    ----------
    directory : str or Path, optional
        A directory with the tables (default: the installed library), e.g. a user's own.

    Returns
    -------
    Catalogue

    Raises
    ------
    TropismInputError
        Naming the file, line, column, value and what is allowed.
    """
    base = Path(directory) if directory is not None else _tissue_dir()
    defs = parameter_definitions()
    entries: list[Entry] = []
    for table in TABLES:
        path = base / f"{table}.csv"
        seen: dict[tuple[str, str], int] = {}
        for line, row in _read_rows(path, COLUMNS):
            e = _entry(table, path, line, row, defs[table])
            key = (e.entity, e.parameter)
            if key in seen:
                raise TropismInputError("a parameter given twice", file=str(path), field=f"line {line}: parameter",
                                        value=f"{e.entity} {e.parameter}", allowed=f"once (first on line {seen[key]})")
            seen[key] = line
            entries.append(e)
    return Catalogue(entries)


def load_rules(path: str | Path | None = None) -> list[LibraryRule]:
    """Read and check ``library/tissue/rules.csv`` (names are resolved when a model is built)."""
    path = Path(path) if path is not None else _tissue_dir() / "rules.csv"
    out = []
    for line, row in _read_rows(path, RULE_COLUMNS):
        where = f"line {line}"
        _provenance(path, line, row)
        if row["direction"] not in ("increases", "decreases"):
            raise TropismInputError("unknown direction", file=str(path), field=f"{where}: direction",
                                    value=row["direction"], allowed="increases, decreases")
        nums = {}
        for col in ("max_response", "half_max", "hill_power"):
            try:
                nums[col] = float(row[col])
            except ValueError:
                raise TropismInputError("not a number", file=str(path), field=f"{where}: {col}", value=row[col],
                                        allowed="a number") from None
            if not math.isfinite(nums[col]) or nums[col] < 0:
                raise TropismInputError("must be a finite number >= 0", file=str(path), field=f"{where}: {col}",
                                        value=row[col], allowed=">= 0")
        if nums["half_max"] <= 0 or nums["hill_power"] <= 0:
            raise TropismInputError("half-max and Hill power must be positive", file=str(path),
                                    field=f"{where}: half_max/hill_power", value=f"{row['half_max']}/{row['hill_power']}",
                                    allowed="> 0")
        if row["response"] not in RESPONSES:
            raise TropismInputError("unknown response", file=str(path), field=f"{where}: response",
                                    value=row["response"], allowed="empty (the behaviour's value), fold, measured_at_max, "
                                    "pg_per_1e6_cells_per_24h, multiplies")
        if row["response"] == "fold" and nums["max_response"] <= 0:
            raise TropismInputError("a fold must be positive", file=str(path), field=f"{where}: max_response",
                                    value=row["max_response"], allowed="> 0")
        up = row["direction"] == "increases"
        if row["response"] == "multiplies" and (nums["max_response"] < 1.0 if up else nums["max_response"] > 1.0):
            raise TropismInputError(f"a factor that {row['direction']} a behaviour multiplies it by "
                                    f"{'at least' if up else 'at most'} 1", file=str(path),
                                    field=f"{where}: max_response", value=row["max_response"],
                                    allowed=">= 1" if up else "0 to 1")
        if row["response"] == "pg_per_1e6_cells_per_24h" and not re.search(r" (export|secretion)$", row["behaviour"]):
            raise TropismInputError("a rate in pg per 1e6 cells per 24 h is a secretion", file=str(path),
                                    field=f"{where}: behaviour", value=row["behaviour"],
                                    allowed="'<substrate> export' or '<substrate> secretion'")
        if row["applies_to_dead"] not in ("0", "1"):
            raise TropismInputError("applies_to_dead is 0 or 1", file=str(path), field=f"{where}: applies_to_dead",
                                    value=row["applies_to_dead"], allowed="0, 1")
        out.append(LibraryRule(row["source"].strip(), row["status"], row["fitted_to"].strip(), row["notes"].strip(),
                               str(path), line, cell_type=row["cell_type"].strip(), signal=row["signal"].strip(),
                               direction=row["direction"], behaviour=row["behaviour"].strip(),
                               max_response=nums["max_response"], half_max=nums["half_max"],
                               hill_power=nums["hill_power"], applies_to_dead=row["applies_to_dead"] == "1",
                               applies_to=row["applies_to"].strip(), response=row["response"],
                               pathway=row["pathway"].strip()))
    return out


@lru_cache(maxsize=1)
def load_defaults() -> dict[str, dict[str, dict]]:
    """``defaults.toml``: the priors a model takes where the library has no measurement
    (section → name → {value, unit, source, status}); every entry must carry a source."""
    from ..files import read_toml
    path = _tissue_dir() / "defaults.toml"
    data = read_toml(path, "library file")
    for section, entries in data.items():
        for name, e in entries.items():
            if not isinstance(e, dict) or "value" not in e or not str(e.get("source", "")).strip():
                raise TropismInputError("a default without a source", file=str(path), field=f"{section}.{name}",
                                        value=e, allowed="{value, unit, source, status}")
            if e.get("status") not in STATUSES:
                raise TropismInputError("unknown status", file=str(path), field=f"{section}.{name}.status",
                                        value=e.get("status"), allowed="V, U, F")
    return data
