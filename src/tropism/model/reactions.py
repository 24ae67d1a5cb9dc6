"""Reactions cells run on the fields: a cell type converting substrate A into B.

Prodrug activation is the model case: cytosine-deaminase MSCs turn 5-FC into 5-FU, HSV-TK
cells phosphorylate ganciclovir. PhysiCell's files cannot say this, so it comes from the
library and scenarios; the tissue solver runs it in every diffusion step.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ._base import Fraction, NonNeg, Positive, Record


class Conversion(Record):
    """Cells of ``cell_type`` convert ``substrate`` into ``product`` at Michaelis–Menten speed.

    Per voxel, dA/dt = −Σ_cells (V_cell/V_voxel)·vmax·A/(km + A) and dB/dt = +yield·(same),
    with yield 1 (one molecule of prodrug gives one of drug).
    """

    cell_type: str
    substrate: str
    product: str
    vmax: NonNeg = Field(description="substrate units per min, per unit of cell volume fraction")
    km: Positive = Field(description="substrate units")
    source: str = ""
    status: str = Field("U", pattern="^[VUF]$", description="V seen in the source, U recalled, F fitted")


class Arrival(Record):
    """Cells of ``cell_type`` entering the tissue at ``rate_per_min`` (Poisson), at voxels drawn
    in proportion to ``weight``: a substrate, ``"vessel density"`` (the model's vessel bed), a
    cell type (its live cells per voxel: the vessels of a tumour), or uniform if empty; with
    ``within`` set, only voxels that hold a live cell of that type (cells arrive in the tumour).

    ``adhesion`` names a substrate that induces the endothelial adhesion molecules arriving
    cells need (TNF-α → VCAM-1): the weight is then multiplied by
    ``basal + (1 − basal)·u/(u + half_max)``, so cells cross where the wall is activated; with
    ``adhesion_reference`` > 0 that factor is divided by its value at the reference level (an
    entry rate derived in tissue at that level keeps its value there).

    The coupler sets the rate from the body model at every exchange; a scenario may fix it.
    With ``per_vessel_area_per_min`` > 0 the tissue sets it instead, at every phenotype step:
    that many cells per µm² of the weighted vessel wall (weight × voxel volume, summed), e.g.
    leukocytes recruited from a blood pool the body keeps constant.
    """

    cell_type: str
    rate_per_min: NonNeg = 0.0
    per_vessel_area_per_min: NonNeg = Field(0.0, description="cells/(µm² min): recruitment from blood by vessel wall")
    weight: str = ""
    within: str = Field("", description="a cell type: only voxels holding its live cells take arrivals (the tumour)")
    adhesion: str = ""
    adhesion_half_max: Positive = Field(1.0, description="substrate units")
    adhesion_basal: Fraction = Field(1.0, description="adhesion without the signal, as a fraction of the maximum")
    adhesion_reference: NonNeg = Field(0.0, description="a level the adhesion factor is divided by its value at "
                                       "(0: not normalised): rates measured at that level stay as measured")
    source: str = ""
    status: str = Field("U", pattern="^[VUF]$", description="V seen in the source, U recalled, F fitted")


class Intervention(Record):
    """A treatment acting on mechanisms, not on one finding: applied through the rules and the
    per-type tables, the same way for every cell type it names.

    - ``block_signal``: every rule term reading signal ``target`` in ``cell_types`` sees the
      signal × (1 − ``efficacy``) — a receptor blockade (CXCR4 blockade: the SDF-1 terms of
      CXCR4-bearing types);
    - ``scale_behaviour``: the base value of behaviour ``target`` × ``factor``;
    - ``remove_source``: the types' secretion of substrate ``target`` is set to 0;
    - ``irradiate``: at ``start_min`` every live cell of ``cell_types`` dies with probability
      1 − exp(−α·D − β·D²) (linear-quadratic survival with ``alpha_per_gy`` and ``beta_per_gy2``).

    ``cell_types`` empty means every type. A blockade or a scaling acts from ``start_min`` to
    ``end_min``; outside that window the cells behave as if it were not there.
    """

    def active(self, t: float) -> bool:
        """Whether it acts at time ``t`` (min)."""
        return self.start_min <= t and (self.end_min is None or t < self.end_min)

    @property
    def windowed(self) -> bool:
        """Whether it acts for part of the run only (opens after 0 or closes)."""
        return self.start_min > 0.0 or self.end_min is not None

    kind: Literal["block_signal", "scale_behaviour", "remove_source", "irradiate"]
    target: str = ""
    cell_types: list[str] = Field(default_factory=list)
    efficacy: Fraction = 1.0
    factor: NonNeg = 1.0
    start_min: NonNeg = Field(0.0, description="when it starts acting (min)")
    end_min: float | None = Field(None, description="when it stops (min); None: the end of the run")
    dose_gy: NonNeg = Field(0.0, description="irradiate: the dose, given at start_min")
    alpha_per_gy: NonNeg = Field(0.0, description="irradiate: linear-quadratic alpha of the types (1/Gy)")
    beta_per_gy2: NonNeg = Field(0.0, description="irradiate: linear-quadratic beta of the types (1/Gy²)")
    source: str = ""
    status: str = Field("U", pattern="^[VUF]$", description="V seen in the source, U recalled, F fitted")


class Departure(Record):
    """Cells of ``cell_type`` leaving the tissue through vessels (intravasation) to the body.

    A live cell in a voxel with vessels leaves with probability 1 − exp(−r·dt) per mechanics
    step, r its ``intravasation`` behaviour (base ``rate_per_min``, changed by rules such as
    "hypoxia increases intravasation").
    """

    cell_type: str
    rate_per_min: NonNeg = 0.0
    source: str = ""
    status: str = Field("U", pattern="^[VUF]$", description="V seen in the source, U recalled, F fitted")


class Angiogenesis(Record):
    """Vessels that grow with an angiogenic signal and regress without it, per voxel::

        dS/dt = g·H·S·(1 − S/S_max) − r·(1 − H)·(S − S_stable)⁺ − r_n·f_n·S,

    H = v^n/(v^n + K^n) of the signal ``v`` (VEGF) in the voxel (× what a blockade of it
    leaves), f_n the share of the voxel's cells that are necrotic. Mature vessels up to
    ``stable_density`` need no signal; new ones above it regress when the signal is gone.
    Before that, the bed is carried with the tissue the cells push (∂S/∂t + ∇·(S w) = 0,
    ``tissue.angiogenesis.advect_density``): growing tumour tissue brings no vessels of its own.
    """

    signal: str = Field(description="the angiogenic substrate (VEGF)")
    half_max: Positive = Field(description="signal level of half-maximal growth (substrate units)")
    hill_power: Positive = 1.0
    growth_rate: NonNeg = Field(description="g, 1/min: endothelial proliferation at saturating signal")
    max_density: Positive = Field(description="S_max, vessel surface per tissue volume (1/µm)")
    regression_rate: NonNeg = Field(0.0, description="r, 1/min: loss of immature vessels without the signal")
    stable_density: NonNeg = Field(0.0, description="S_stable (1/µm): mature vessels that need no signal")
    necrotic_regression_rate: NonNeg = Field(0.0, description="r_n, 1/min: collapse where cells are necrotic")
    source: str = ""
    status: str = Field("U", pattern="^[VUF]$", description="V seen in the source, U recalled, F fitted")


class VesselBed(Record):
    """Perfused vessels as a vessel-surface density field exchanging substrates with plasma.

    Each voxel exchanges substrate s at rate P_s·S_v·(plasma_s − local), S_v its vessel
    surface per tissue volume (1/µm) and P_s the permeability (µm/min). ``surface_density``
    fills every voxel, ``region_density`` the voxels of ``region_type``'s starting cells (a
    tumour's own bed); a scenario may draw a bed (``TissueSolver.set_vessel_density``); with
    ``angiogenesis`` the density grows and regresses (:class:`Angiogenesis`).
    ``plasma`` holds the plasma concentrations until the body model sets them.
    """

    surface_density: NonNeg = Field(0.0, description="vessel surface per tissue volume, 1/µm")
    region_type: str = Field("", description="a cell type: voxels holding its cells at the start take region_density")
    region_density: NonNeg = Field(0.0, description="starting vessel surface density there (1/µm)")
    permeability: dict[str, NonNeg] = Field(default_factory=dict, description="µm/min per substrate")
    plasma: dict[str, NonNeg] = Field(default_factory=dict, description="plasma level per substrate")
    angiogenesis: Angiogenesis | None = None
    source: str = ""
    status: str = Field("U", pattern="^[VUF]$", description="V seen in the source, U recalled, F fitted")
