"""The model: everything a run needs, as validated data (no numerics)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from ._base import Record
from .domain import Clocks, Domain, RunOptions, SaveOptions
from .phenotype import CellType
from .provenance import ParameterSource, resolve_path
from .reactions import Arrival, Conversion, Departure, Intervention, VesselBed
from .rules import Rule, resolve_behaviour, resolve_rule, resolve_signal
from .substrates import Substrate


@dataclass
class InitialCells:
    """Cells placed at the start: positions (µm) and cell-type indices, plus optional columns.

    ``extra`` holds v2-CSV columns beyond x, y, z, type (e.g. ``volume``), one value per cell.
    """

    positions: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    types: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.types.shape[0])


class UserParameter(Record):
    """A ``<user_parameters>`` entry, kept so the model can be written back unchanged."""

    value: str
    type: str = "double"
    units: str = "dimensionless"
    description: str = ""


class Model(Record):
    """A complete tissue model: domain, clocks, substrates, cell types, initial cells, rules."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, arbitrary_types_allowed=True)

    domain: Domain = Field(default_factory=Domain)
    clocks: Clocks = Field(default_factory=Clocks)
    save: SaveOptions = Field(default_factory=SaveOptions)
    options: RunOptions = Field(default_factory=RunOptions)
    substrates: list[Substrate] = Field(default_factory=list)
    calculate_gradients: bool = True
    track_internalized_substrates: bool = False
    cell_types: list[CellType] = Field(default_factory=list)
    initial_cells: InitialCells = Field(default_factory=InitialCells)
    rules: list[Rule] = Field(default_factory=list)
    #: Cell-catalysed conversions of one substrate into another (not expressible in PhysiCell files).
    conversions: list[Conversion] = Field(default_factory=list)
    #: Cells entering the tissue (from the body, through vessels) at a rate, at weighted sites.
    arrivals: list[Arrival] = Field(default_factory=list)
    #: Cells leaving the tissue through vessels (intravasation), handed to the body.
    departures: list[Departure] = Field(default_factory=list)
    #: The tissue's perfused vessels: exchange of substrates with plasma.
    vessels: VesselBed | None = None
    #: Blockades and other treatments acting on signals, behaviours and sources.
    interventions: list[Intervention] = Field(default_factory=list)
    #: Unit and source of any parameter, keyed by its path (``cell_types[MSC].motility.speed``).
    provenance: dict[str, ParameterSource] = Field(default_factory=dict)
    user_parameters: dict[str, UserParameter] = Field(default_factory=dict)
    #: Cells of each type placed uniformly at random in the domain before the cells CSV:
    #: PhysiCell's template project does this for its user parameter ``number_of_cells``.
    random_cells_per_type: int = Field(default=0, ge=0)
    #: Names of elements that were read but are not simulated; reported once per run.
    unsupported: list[str] = Field(default_factory=list)
    #: The file the model came from (for messages), and the folder relative paths start from.
    source: str = ""
    base_dir: Path = Path(".")

    @model_validator(mode="after")
    def _resolve_rules(self) -> "Model":
        # every loader's model holds resolved rules; in-place so that validate_assignment
        # does not re-enter this validator
        subs, types, columns = self.substrate_names, self.cell_type_names, self.custom_names
        for k, rule in enumerate(self.rules):
            own = list(self.cell_types[types.index(rule.cell_type)].custom_data) if rule.cell_type in types else []
            self.rules[k] = resolve_rule(rule, subs, types, own, columns)
        return self

    @model_validator(mode="after")
    def _conversions_name_what_exists(self) -> "Model":
        types, subs = self.cell_type_names, self.substrate_names
        for k, c in enumerate(self.conversions):
            if c.cell_type not in types:
                raise ValueError(f"conversions[{k}]: unknown cell type {c.cell_type!r}; allowed: {', '.join(types)}")
            for what in ("substrate", "product"):
                name = getattr(c, what)
                if name not in subs:
                    raise ValueError(f"conversions[{k}]: unknown {what} {name!r}; allowed: {', '.join(subs)}")
            if c.substrate == c.product:
                raise ValueError(f"conversions[{k}]: substrate and product must differ (got {c.substrate!r})")
        for k, a in enumerate(self.arrivals):
            if a.cell_type not in types:
                raise ValueError(f"arrivals[{k}]: unknown cell type {a.cell_type!r}; allowed: {', '.join(types)}")
            if a.weight and a.weight != "vessel density" and a.weight not in subs and a.weight not in types:
                raise ValueError(f"arrivals[{k}]: unknown weight {a.weight!r}; allowed: a substrate "
                                 f"({', '.join(subs)}), a cell type ({', '.join(types)}), 'vessel density' "
                                 "(the vessel bed) or empty for uniform sites")
            if a.adhesion and a.adhesion not in subs:
                raise ValueError(f"arrivals[{k}]: unknown adhesion signal {a.adhesion!r}; allowed: {', '.join(subs)}")
            if a.within and a.within not in types:
                raise ValueError(f"arrivals[{k}]: unknown cell type {a.within!r} in within; allowed: {', '.join(types)}")
        for k, dep in enumerate(self.departures):
            if dep.cell_type not in types:
                raise ValueError(f"departures[{k}]: unknown cell type {dep.cell_type!r}; allowed: {', '.join(types)}")
        if self.vessels is not None:
            for what in ("permeability", "plasma"):
                for name in getattr(self.vessels, what):
                    if name not in subs:
                        raise ValueError(f"vessels.{what}: unknown substrate {name!r}; allowed: {', '.join(subs)}")
            vb = self.vessels
            if vb.region_type and vb.region_type not in types:
                raise ValueError(f"vessels.region_type: unknown cell type {vb.region_type!r}; allowed: {', '.join(types)}")
            if vb.angiogenesis is not None and vb.angiogenesis.signal not in subs:
                raise ValueError(f"vessels.angiogenesis.signal: unknown substrate {vb.angiogenesis.signal!r}; "
                                 f"allowed: {', '.join(subs)}")
        for k, iv in enumerate(self.interventions):
            _check_intervention(k, iv, self)
        for path in self.provenance:
            resolve_path(self, path)  # a source for a parameter that does not exist is a typo
        return self

    #: Line numbers of each ``unsupported`` entry in the source file (for messages).
    _lines: dict[str, list[int]] = PrivateAttr(default_factory=dict)

    def where(self, item: str) -> str:
        """An ``unsupported`` entry with the line(s) of the source file it came from."""
        lines = self._lines.get(item)
        if not lines:
            return item
        shown = ", ".join(str(n) for n in lines[:5]) + (", ..." if len(lines) > 5 else "")
        return f"{item} (line{'s' if len(lines) > 1 else ''} {shown})"

    @property
    def substrate_names(self) -> list[str]:
        """Substrate names in field order."""
        return [s.name for s in self.substrates]

    @property
    def cell_type_names(self) -> list[str]:
        """Cell-type names in ID order."""
        return [c.name for c in self.cell_types]

    @property
    def custom_names(self) -> list[str]:
        """Custom-variable names over all cell types, in first-seen order (their columns)."""
        names: list[str] = []
        for ct in self.cell_types:
            for key in ct.custom_data:
                if key not in names:
                    names.append(key)
        return names

    def signal(self, name: str) -> tuple[str, int] | None:
        """A signal name resolved to (kind, index) against this model; None if unknown."""
        sig = resolve_signal(name, self.substrate_names, self.cell_type_names, self.custom_names)
        return None if sig is None else (sig[0], _column(sig[1], self.custom_names))

    def behaviour(self, name: str) -> tuple[str, int] | None:
        """A behaviour name resolved to (kind, index) against this model; None if unknown."""
        beh = resolve_behaviour(name, self.substrate_names, self.cell_type_names, self.custom_names)
        return None if beh is None else (beh[0], _column(beh[1], self.custom_names))

    def parameter(self, path: str) -> tuple[object, ParameterSource | None]:
        """The value at ``path`` (e.g. ``cell_types[MSC].motility.speed``) and its unit and source."""
        return resolve_path(self, path), self.provenance.get(path)

    def cell_type(self, name: str) -> CellType:
        """The cell type called ``name``; ``KeyError`` if there is none."""
        for c in self.cell_types:
            if c.name == name:
                return c
        raise KeyError(name)


def _column(arg: int | str, customs: list[str]) -> int:
    return customs.index(arg) if isinstance(arg, str) else int(arg)


def _check_intervention(k: int, iv, model: "Model") -> None:
    types, subs = model.cell_type_names, model.substrate_names
    customs = model.custom_names
    for t in iv.cell_types:
        if t not in types:
            raise ValueError(f"interventions[{k}]: unknown cell type {t!r}; allowed: {', '.join(types)}")
    scope = iv.cell_types or types
    if iv.end_min is not None and iv.end_min <= iv.start_min:
        raise ValueError(f"interventions[{k}]: end_min ({iv.end_min}) must be after start_min ({iv.start_min})")
    if iv.kind == "irradiate":
        return
    if iv.kind == "block_signal":
        sig = model.signal(iv.target)
        if sig is None:
            raise ValueError(f"interventions[{k}]: unknown signal {iv.target!r}")
        readers = [r for r in model.rules if r.cell_type in scope and (r.signal_kind, r.signal_index) == sig]
        angio = model.vessels.angiogenesis if model.vessels is not None else None
        if not readers and not (angio is not None and not iv.cell_types and angio.signal == iv.target):
            # a blockade nothing feels is a mistake in the scenario, not a no-op
            raise ValueError(f"interventions[{k}]: no rule of {', '.join(scope)} reads {iv.target!r}; "
                             "block a signal some rule of those types uses")
    elif iv.kind == "scale_behaviour":
        if resolve_behaviour(iv.target, subs, types, customs) is None:
            raise ValueError(f"interventions[{k}]: unknown behaviour {iv.target!r}")
    elif iv.target not in subs:
        raise ValueError(f"interventions[{k}]: unknown substrate {iv.target!r}; allowed: {', '.join(subs)}")
