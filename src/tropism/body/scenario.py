"""The body-model scenario: who is treated, with what, how and for how long."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import TropismInputError, did_you_mean
from ..files import read_toml
from .library import ORGANS, load_conditions

TUMOUR_SITES = ("brain", "subcutaneous", "lung", "breast", "bone_marrow")
ROUTES = ("iv", "ia", "intranasal", "intratumoral", "intraperitoneal")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tumour(_Strict):
    """A tumour in one organ, with its own volume and perfusion."""

    site: Literal["brain", "subcutaneous", "lung", "breast", "bone_marrow"] = Field(description="host site")
    volume_mm3: float = Field(100.0, gt=0, description="tumour volume (mm³)")
    perfusion_ml_min_per_ml: Optional[float] = Field(None, gt=0, description="blood flow per volume; default: library")
    hemisphere: Optional[Literal["left", "right"]] = Field(None, description="brain tumours: the side it grows in")
    chemokine: float = Field(1.0, ge=0, le=1, description="the product's chemokine receptor occupancy there (SDF-1 on "
                             "CXCR4), a fraction; a coupled tissue measures it")
    inflammation: float = Field(1.0, ge=0, le=1, description="induction of endothelial adhesion molecules there "
                                "(TNF-α → VCAM-1), a fraction; a coupled tissue measures it")

    @model_validator(mode="after")
    def _side(self):
        if self.hemisphere is not None and self.site != "brain":
            raise ValueError(f"hemisphere is for brain tumours only (site is {self.site!r})")
        return self


#: what a coupled tumour makes itself (released vesicles, shed cells): the only endogenous kinds
ENDOGENOUS_KINDS = ("tumour_exosome", "tumour_cell")


class Product(_Strict):
    """What is given: MSCs (with a diameter), exosomes (with an optional cargo), a named drug/protein,
    tumour cells (IV: an experimental metastasis assay; endogenous: shed by a coupled tumour), or
    tumour exosomes (IV: 'education' of organs; endogenous: released by a coupled tumour)."""

    kind: Literal["msc", "exosome", "drug", "tumour_cell", "tumour_exosome"]
    diameter_um: Optional[float] = Field(None, gt=0, le=100, description="MSC or tumour-cell mean diameter; default: library")
    diameter_cv: Optional[float] = Field(None, ge=0, le=1, description="MSC diameter coefficient of variation")
    name: Optional[str] = Field(None, description="drug or protein name (kind = 'drug')")
    cargo_per_unit: float = Field(0.0, ge=0, description="cargo carried per exosome (any unit)")
    endogenous: bool = Field(False, description="made in the host, never given: a coupled tumour tissue releases it "
                             "into the blood through its vessels (dose 0)")

    @model_validator(mode="after")
    def _drug_named(self):
        if self.kind == "drug" and not self.name:
            raise ValueError("a drug product needs a name")
        return self


class Route(_Strict):
    """Where the dose enters."""

    kind: Literal["iv", "ia", "intranasal", "intratumoral", "intraperitoneal"] = "iv"
    artery: str = Field("brain", description="for 'ia': the organ the artery feeds (carotid = 'brain')")
    side: Optional[Literal["left", "right"]] = Field(None, description="for 'ia' into the brain: which carotid "
                                                     "(its first pass crosses that hemisphere only)")

    @model_validator(mode="after")
    def _artery_known(self):
        allowed = tuple(o for o in ORGANS if o != "lungs") + ("tumour",)
        if self.artery not in allowed:
            raise ValueError(f"unknown artery target {self.artery!r}; allowed: {', '.join(allowed)}")
        if self.side is not None and (self.kind != "ia" or self.artery != "brain"):
            raise ValueError("side (left/right carotid) is for intra-arterial injection into the brain")
        return self


class Schedule(_Strict):
    """Bolus or infusion, once or repeated: ``doses`` every ``interval_h`` from 0, or at the
    given ``times_h`` (any times, e.g. a drug before and after a cell dose)."""

    doses: int = Field(1, ge=1, le=1000)
    interval_h: float = Field(24.0, gt=0)
    infusion_min: float = Field(0.0, ge=0, description="0 = bolus; otherwise the infusion length")
    times_h: Optional[tuple[float, ...]] = Field(None, description="administration times (h); replaces doses and "
                                                 "interval_h")

    @model_validator(mode="after")
    def _times(self):
        if self.times_h is not None:
            if not self.times_h or any(t < 0 for t in self.times_h):
                raise ValueError(f"times_h must list administration times >= 0 h (got {list(self.times_h)})")
            if list(self.times_h) != sorted(self.times_h):
                raise ValueError(f"times_h must be in increasing order (got {list(self.times_h)})")
        return self

    def start_times_min(self) -> list[float]:
        """Every administration's start (min)."""
        if self.times_h is not None:
            return [t * 60.0 for t in self.times_h]
        return [i * self.interval_h * 60.0 for i in range(self.doses)]


class Interventions(_Strict):
    """Factors that change capillary arrest."""

    vasodilator: float = Field(1.0, ge=1.0, le=3.0, description="capillary diameter multiplier")
    anti_adhesion: float = Field(1.0, ge=0.0, le=1.0, description="multiplier on arrest probability")
    sdf1_blockade: float = Field(0.0, ge=0.0, le=1.0, description="efficacy of a CXCR4 or SDF-1 blockade on the "
                                 "MSCs: their directed migration through the tumour's host organ scales by "
                                 "1 - efficacy, as their chemotaxis does in the tissue")


class Scenario(_Strict):
    """A whole-body scenario.

    Parameters
    ----------
    species : {'mouse', 'rat', 'human'}
    body_weight_g : float, optional
        Default: the library's reference animal.
    tumour : Tumour, optional
    product : Product
    dose : float
        Cells, particles (exosomes) or mg (drugs), per administration.
    route : Route
    schedule : Schedule
    duration_h : float
        Simulated time.
    output_interval_min : float
        Spacing of the output table.
    inflammation : dict[str, float]
        Injury/inflammation level per organ (raises extravasation there; opens the BBB in brain).
    niche : dict[str, float]
        How far each organ is conditioned as a pre-metastatic niche, 0-1 (a coupled run sets it
        from the tumour exosomes the organ took up): the loss of the product's cells that crossed
        into it is divided by up to its ``niche_fold``.
    conditions : list[str]
        Host conditions from ``library/body/conditions.toml`` (e.g. ``"cirrhosis"``).
    interventions : Interventions
    """

    species: Literal["mouse", "rat", "human"] = "mouse"
    body_weight_g: Optional[float] = Field(None, gt=0)
    tumour: Optional[Tumour] = None
    product: Product
    dose: float = Field(ge=0)
    route: Route = Route()
    schedule: Schedule = Schedule()
    duration_h: float = Field(168.0, gt=0, le=24 * 365)
    output_interval_min: float = Field(30.0, gt=0)
    inflammation: dict[str, float] = Field(default_factory=dict)
    niche: dict[str, float] = Field(default_factory=dict)
    conditions: tuple[str, ...] = Field((), description="host conditions (library/body/conditions.toml)")
    interventions: Interventions = Interventions()

    @field_validator("conditions")
    @classmethod
    def _known_conditions(cls, value):
        known = load_conditions()
        for c in value:
            if c not in known:
                hint = f" ({did_you_mean(c, known)})" if did_you_mean(c, known) else ""
                raise ValueError(f"unknown host condition {c!r}{hint}; allowed: {', '.join(sorted(known))}")
        if len(set(value)) != len(value):
            raise ValueError("a host condition is listed twice")
        return value

    @model_validator(mode="after")
    def _consistent(self):
        if self.product.endogenous:
            if self.product.kind not in ENDOGENOUS_KINDS:
                raise ValueError(f"a tumour makes only {', '.join(ENDOGENOUS_KINDS)}: product kind "
                                 f"{self.product.kind!r} cannot be endogenous")
            if self.dose != 0:
                raise ValueError(f"an endogenous product is released by the tumour, not given: dose must be 0 "
                                 f"(got {self.dose!r})")
            if self.tumour is None:
                raise ValueError("an endogenous product needs the tumour that releases it")
        elif self.dose == 0:
            raise ValueError("dose must be > 0 (only an endogenous product has none)")
        for organ, level in self.inflammation.items():
            if organ not in ORGANS:
                raise ValueError(f"unknown organ {organ!r} in inflammation; allowed: {', '.join(ORGANS)}")
            if level < 0:
                raise ValueError(f"inflammation level must be >= 0 (got {level!r})")
        if self.niche and self.product.kind != "tumour_cell":
            # only circulating tumour cells are known to colonise a conditioned organ more
            raise ValueError(f"a pre-metastatic niche acts on tumour cells only (product kind is "
                             f"{self.product.kind!r}); allowed: niche with product kind 'tumour_cell'")
        for organ, level in self.niche.items():
            if organ not in ORGANS:
                raise ValueError(f"unknown organ {organ!r} in niche; allowed: {', '.join(ORGANS)}")
            if not 0.0 <= level <= 1.0:
                raise ValueError(f"a niche level is a fraction from 0 to 1 (got {level!r} for {organ})")
        if self.route.kind == "intratumoral" and self.tumour is None:
            raise ValueError("route 'intratumoral' needs a tumour")
        if self.route.kind == "ia" and self.route.artery == "tumour" and self.tumour is None:
            raise ValueError("artery 'tumour' needs a tumour")
        if (self.route.side is not None and self.tumour is not None and self.tumour.site == "brain"
                and self.tumour.hemisphere is None):
            raise ValueError("a carotid side needs the brain tumour's hemisphere (left or right)")
        if self.duration_h * 60 / self.output_interval_min > 200_000:
            raise ValueError("output_interval_min too small for this duration (more than 200000 rows)")
        return self


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario TOML file.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    Scenario

    Raises
    ------
    TropismInputError
        If the file is missing, not TOML, or a field is wrong (names file, field, value and what is allowed).
    """
    return scenario_from_dict(read_toml(path, "scenario file"), file=str(path))


def scenario_from_dict(data: dict, file: str | None = None) -> Scenario:
    """Validate a scenario given as a dict; errors become one TropismInputError."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        e = exc.errors()[0]
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"]
        allowed = None
        ctx = e.get("ctx") or {}
        if e["type"] == "literal_error":
            allowed = str(ctx.get("expected", ""))
        elif e["type"] == "extra_forbidden":
            msg, allowed = "unknown field", "see docs/body_model.md for the scenario fields"
        elif e["type"] == "missing":
            msg = "required field missing"
        elif "gt" in ctx or "ge" in ctx or "lt" in ctx or "le" in ctx:
            allowed = ", ".join(f"{k} {v}" for k, v in ctx.items())
        elif e["type"] == "value_error":
            msg = str(ctx.get("error", msg))
        value = e.get("input") if e["type"] != "missing" else None
        if isinstance(value, dict):
            value = None
        raise TropismInputError(msg, file=file, field=loc, value=value, allowed=allowed) from None
