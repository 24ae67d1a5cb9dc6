"""The experiment a user describes in a scenario file (TOML): host, tumour, treatments,
interventions and what to simulate.

This is the file's shape and the checks that need nothing but the file: names of fields, units
in their names, ranges, and contradictions between sections (an intratumoral dose without a
tumour, a hemisphere for a tumour outside the brain, a dose after the end of the run). Names
that refer to the library (a tumour line, an MSC source, a blockade target no cell carries)
are checked when the scenario is resolved against the library, still before the first step.

Every error names the file, the field (``treatment[2].dose``), the value and what is allowed; a
misspelt field name gets "did you mean".
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import TropismInputError, did_you_mean
from ..files import read_toml

SPECIES = ("mouse", "rat", "human")
IMMUNE = ("competent", "nude", "scid", "nsg", "nk_depleted")
SITES = ("brain", "subcutaneous", "lung", "breast", "bone_marrow")
PRODUCTS = ("msc", "exosome", "drug")
ROUTES = ("iv", "ia", "intranasal", "intratumoral", "intraperitoneal")
BLOCKADE_TARGETS = ("cxcr4", "sdf1", "ccl5", "ccr5", "il6", "tgfb", "vegf", "hif1a_msc", "tumour_exosome_release",
                    "pdl1")
READOUTS = ("tumour", "msc", "vessels", "oxygen", "substrates", "body", "immune", "exosomes", "metastasis")
#: what timeseries.csv holds unless a scenario says: every group but the tumour's exosomes and the
#: cells it sheds (circulating, seeded in organs), which cost a body product each (the vesicles a
#: diffusing substrate too) and are simulated only when read
DEFAULT_READOUTS = READOUTS[:-2]


class _AtField(ValueError):
    """A cross-section contradiction that knows which field it is about."""

    def __init__(self, field: str, message: str, value):
        self.field, self.value = field, value
        super().__init__(message)


def _near(name, names) -> str:
    hint = did_you_mean(name, names)
    return f" ({hint})" if hint else ""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Host(_Section):
    """Who is treated."""

    species: Literal["mouse", "rat", "human"] = Field("mouse", description="host species")
    immune: Literal["competent", "nude", "scid", "nsg", "nk_depleted"] = Field(
        "competent", description="immune status: competent, nude (no T cells), scid/nsg (no T, B; NSG also no NK), "
                                 "nk_depleted")
    body_weight_g: Optional[float] = Field(None, gt=0, description="default: the library's reference animal")
    conditions: tuple[str, ...] = Field((), description="host conditions from library/body/conditions.toml")
    inflamed: dict[str, float] = Field(default_factory=dict,
                                       description="organ (or 'tumour') -> TNF-α level there (ng/mL): an inflamed site")
    irradiated: tuple[str, ...] = Field((), description="organs or 'tumour' irradiated before treatment")

    @model_validator(mode="after")
    def _levels(self):
        for organ, level in self.inflamed.items():
            if level < 0:
                raise _AtField(f"inflamed.{organ}", "an inflammation level must be >= 0", level)
        return self


class Tumour(_Section):
    """The tumour: a library line at a site, with a starting size."""

    line: str = Field(description="tumour line from the library (e.g. U87, 4T1)")
    site: Literal["brain", "subcutaneous", "lung", "breast", "bone_marrow"]
    hemisphere: Optional[Literal["left", "right"]] = Field(None, description="brain tumours only")
    cells: Optional[int] = Field(None, gt=0, description="starting number of tumour cells")
    radius_um: Optional[float] = Field(None, gt=0, le=20000, description="starting radius (µm)")
    dimensions: Literal[2, 3] = Field(2, description="2 = a section through the tumour, 3 = the whole volume")

    @model_validator(mode="after")
    def _size_and_side(self):
        if self.cells is None and self.radius_um is None:
            raise ValueError("give the starting size as cells or radius_um")
        if self.cells is not None and self.radius_um is not None:
            raise ValueError("give the starting size as cells or radius_um, not both")
        if self.site == "brain" and self.hemisphere is None:
            raise ValueError("a brain tumour needs a hemisphere (left or right)")
        if self.site != "brain" and self.hemisphere is not None:
            raise ValueError(f"hemisphere is for brain tumours only (site is {self.site!r})")
        return self


class Treatment(_Section):
    """One product given by one route on a schedule."""

    product: Literal["msc", "exosome", "drug"]
    source: Optional[str] = Field(None, description="MSC source from the library (bone_marrow, adipose, umbilical_cord)")
    engineering: tuple[str, ...] = Field((), description="payload(s) of an engineered MSC from the library "
                                         "(e.g. \"trail\", or [\"trail\", \"hsv_tk\"])")
    primed: bool = Field(False, description="MSCs licensed with IFN-gamma + TNF-alpha before injection")
    name: Optional[str] = Field(None, description="drug or protein name (product = drug)")
    dose: float = Field(gt=0, description="cells, vesicles or mg per administration")
    route: Literal["iv", "ia", "intranasal", "intratumoral", "intraperitoneal"]
    artery: Optional[str] = Field(None, description="intra-arterial: the organ the artery feeds (carotid = brain)")
    side: Optional[Literal["left", "right"]] = Field(None, description="intra-arterial into the brain: which carotid")
    times_h: tuple[float, ...] = Field((0.0,), description="administration times (h from the start)")
    infusion_min: float = Field(0.0, ge=0, description="0 = bolus")

    @field_validator("engineering", mode="before")
    @classmethod
    def _one_or_several(cls, v):
        # one payload may be named alone; several as a list
        if v is None:
            return ()
        return (v,) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _consistent(self):
        if len(set(self.engineering)) != len(self.engineering):
            raise ValueError(f"a payload is named twice in engineering (got {list(self.engineering)})")
        if any(t < 0 for t in self.times_h):
            raise ValueError(f"administration times must be >= 0 h (got {list(self.times_h)})")
        if not self.times_h:
            raise ValueError("give at least one administration time")
        if self.product == "msc" and self.source is None:
            raise ValueError("an MSC treatment needs a source (bone_marrow, adipose or umbilical_cord)")
        if self.product != "msc" and (self.source or self.engineering or self.primed):
            raise ValueError("source, engineering and primed describe MSCs only")
        if self.product == "drug" and not self.name:
            raise ValueError("a drug treatment needs a name")
        if self.route == "ia" and self.artery is None:
            raise ValueError("an intra-arterial treatment needs an artery (the organ it feeds, e.g. brain)")
        if self.route != "ia" and (self.artery or self.side):
            raise ValueError("artery and side are for intra-arterial treatments only")
        if self.side is not None and self.artery != "brain":
            raise ValueError("side (left/right carotid) is for intra-arterial injection into the brain")
        return self


class Intervention(_Section):
    """A blockade, a vasodilator or irradiation, over a time window."""

    kind: Literal["blockade", "vasodilator", "irradiation"]
    target: Optional[str] = Field(None, description="blockade target: " + ", ".join(BLOCKADE_TARGETS))
    efficacy: float = Field(1.0, ge=0, le=1, description="fraction of the target's effect removed")
    start_h: float = Field(0.0, ge=0)
    end_h: Optional[float] = Field(None, ge=0, description="default: the end of the run")
    factor: Optional[float] = Field(None, ge=1, le=3, description="vasodilator: capillary diameter multiplier")
    dose_gy: Optional[float] = Field(None, gt=0, le=100, description="irradiation dose (Gy)")

    @model_validator(mode="after")
    def _consistent(self):
        if self.kind == "blockade":
            if self.target not in BLOCKADE_TARGETS:
                raise _AtField("target", f"unknown blockade target{_near(self.target, BLOCKADE_TARGETS)}; allowed: "
                               + ", ".join(BLOCKADE_TARGETS), self.target)
        elif self.target is not None:
            raise _AtField("target", f"target is for blockades only (kind is {self.kind!r})", self.target)
        if self.kind == "vasodilator" and self.factor is None:
            raise ValueError("a vasodilator needs a factor (capillary diameter multiplier, 1-3)")
        if self.kind == "irradiation" and self.dose_gy is None:
            raise ValueError("irradiation needs dose_gy")
        if self.end_h is not None and self.end_h <= self.start_h:
            raise ValueError(f"end_h ({self.end_h}) must be after start_h ({self.start_h})")
        return self


class SimulationSpec(_Section):
    """What to simulate and keep."""

    duration_h: float = Field(gt=0, le=24 * 365, description="simulated time (h)")
    domain_um: float = Field(2000.0, gt=0, le=20000, description="side of the tissue domain (µm)")
    voxel_um: float = Field(20.0, gt=0, le=200, description="diffusion voxel size (µm)")
    seed: int = Field(0, ge=0, description="random seed: same seed, same numbers")
    save_every_h: float = Field(6.0, gt=0, description="interval between saved snapshots (h)")
    readouts: tuple[str, ...] = Field(DEFAULT_READOUTS, description="quantities in timeseries.csv: "
                                      + ", ".join(READOUTS) + "; default all but exosomes and metastasis (the "
                                      "tumour's own vesicles, and the cells it sheds into the blood: "
                                      "simulated only when read)")
    dt_diffusion_min: Optional[float] = Field(None, gt=0, le=10, description="diffusion step (min); default: "
                                              "the library's for the run's dimensions")
    dt_mechanics_min: Optional[float] = Field(None, gt=0, le=60, description="mechanics step (min); default: the library's")
    dt_phenotype_min: Optional[float] = Field(None, gt=0, le=600, description="phenotype step (min); default: the library's")
    diffusion_scheme: Optional[Literal["lod", "douglas"]] = Field(
        None, description="lod (PhysiCell's) or douglas (steady state free of dt); default: the library's")

    @model_validator(mode="after")
    def _consistent(self):
        bad = [r for r in self.readouts if r not in READOUTS]
        if bad:
            raise ValueError(f"unknown readout {bad[0]!r}" + _near(bad[0], READOUTS) + f"; allowed: {', '.join(READOUTS)}")
        if self.voxel_um * 4 > self.domain_um:
            raise ValueError(f"the domain ({self.domain_um} µm) must span at least 4 voxels of {self.voxel_um} µm")
        return self


class Experiment(_Section):
    """A scenario file: everything an in-silico experiment needs."""

    title: str = ""
    host: Host = Host()
    tumour: Optional[Tumour] = None
    treatment: tuple[Treatment, ...] = ()
    intervention: tuple[Intervention, ...] = ()
    simulation: SimulationSpec

    @model_validator(mode="after")
    def _consistent(self):
        end = self.simulation.duration_h
        for i, t in enumerate(self.treatment):
            if t.route == "intratumoral" and self.tumour is None:
                raise _AtField(f"treatment[{i}].route", "an intratumoral dose needs a [tumour]", t.route)
            if t.artery == "tumour" and self.tumour is None:
                raise _AtField(f"treatment[{i}].artery", "artery 'tumour' needs a [tumour]", t.artery)
            late = [x for x in t.times_h if x >= end]
            if late:
                raise _AtField(f"treatment[{i}].times_h", f"a dose at or after the end of the run ({end} h)", late[0])
        for i, iv in enumerate(self.intervention):
            if iv.start_h >= end:
                raise _AtField(f"intervention[{i}].start_h", f"starts at or after the end of the run ({end} h)",
                               iv.start_h)
            if iv.kind == "irradiation" and self.tumour is None and not self.host.irradiated:
                raise _AtField(f"intervention[{i}].kind", "irradiation needs a [tumour] or host.irradiated organs",
                               iv.kind)
        if self.tumour is None and not self.treatment:
            raise ValueError("nothing to simulate: give a [tumour], a [[treatment]] or both")
        made = [r for r in self.simulation.readouts if r in ("exosomes", "metastasis")]
        if made and self.tumour is None:
            raise _AtField("simulation.readouts", f"'{made[0]}' reads what a tumour releases: it needs a [tumour]",
                           made[0])
        return self


def _fields_at(loc: tuple) -> list[str]:
    """The field names allowed where ``loc`` points (for "did you mean")."""
    model: type[BaseModel] = Experiment
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        f = model.model_fields.get(str(part))
        if f is None:
            return []
        ann = f.annotation
        inner = [a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and issubclass(a, BaseModel)]
        if not inner and hasattr(ann, "__args__"):
            inner = [a for arg in ann.__args__ for a in getattr(arg, "__args__", ()) if isinstance(a, type)
                     and issubclass(a, BaseModel)]
        if not inner:
            return []
        model = inner[0]
    return list(model.model_fields)


def _location(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def experiment_from_dict(data: dict, file: str | None = None) -> Experiment:
    """Validate a scenario given as a dict; every problem of it comes in one report
    (:class:`~tropism.errors.TropismInputErrors` when there are several)."""
    from ..errors import raise_all
    try:
        return Experiment.model_validate(data)
    except ValidationError as exc:
        raise_all([_error(e, file) for e in exc.errors()])


def _error(e: dict, file: str | None) -> TropismInputError:
    """One pydantic error as the message a user reads (file, field, value, what is allowed)."""
    loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    field = _location(loc)
    msg, allowed = e["msg"], None
    ctx = e.get("ctx") or {}
    err = ctx.get("error")
    if isinstance(err, _AtField):
        top = err.field.split(".")[0].split("[")[0]
        where = err.field if top in Experiment.model_fields or not loc else f"{field}.{err.field}"
        return TropismInputError(str(err), file=file, field=where, value=err.value)
    if e["type"] == "extra_forbidden":
        names = _fields_at(loc)
        msg = f"unknown field{_near(loc[-1], names)}"
        allowed = ", ".join(names) or None
    elif e["type"] == "missing":
        msg = "required field missing"
    elif e["type"] == "literal_error":
        allowed = str(ctx.get("expected", ""))
        msg = "value not allowed" + _near(e.get("input"), [s.strip(" '") for s in allowed.split(",")])
    elif e["type"] == "value_error":
        msg = str(err) if err is not None else msg
    elif any(k in ctx for k in ("gt", "ge", "lt", "le")):
        allowed = ", ".join(f"{k} {v}" for k, v in ctx.items())
    value = e.get("input") if e["type"] != "missing" else None
    if isinstance(value, dict):
        value = None
    return TropismInputError(msg, file=file, field=field, value=value, allowed=allowed)


def load_experiment(path: str | Path) -> Experiment:
    """Read and check a scenario file.

    Parameters
    ----------
    path : str or Path
        A TOML file with ``[host]``, ``[tumour]``, ``[[treatment]]``, ``[[intervention]]`` and
        ``[simulation]`` (see ``docs/scenarios.md``).

    Returns
    -------
    Experiment

    Raises
    ------
    TropismInputError
        For a missing file, bad TOML, or a field that is wrong: names the file, the field, the
        value and what is allowed.
    """
    return experiment_from_dict(read_toml(path, "scenario file"), file=str(path))
