"""Cell types and their phenotype parameters, in PhysiCell's vocabulary and units.

Rates are 1/min, times min, volumes µm³, speeds µm/min. Defaults are PhysiCell 1.14's
defaults for an element a settings file leaves out.
"""

from __future__ import annotations

from pydantic import Field

from ._base import Fraction, NonNeg, Positive, Record

#: PhysiCell cycle-model codes we simulate → (phase codes, links (start, end, divides_at_exit)).
#: Phase codes are PhysiCell's (``PhysiCell_constants.h``) so output is read the same way.
CYCLE_TOPOLOGIES: dict[int, tuple[str, tuple[int, ...], tuple[tuple[int, int, bool], ...]]] = {
    0: ("advanced Ki67", (3, 0, 1), ((0, 1, False), (1, 2, True), (2, 0, False))),
    1: ("Ki67 (basic)", (3, 2), ((0, 1, False), (1, 0, True))),
    2: ("flow cytometry model (basic)", (4, 10, 11), ((0, 1, False), (1, 2, False), (2, 0, True))),
    5: ("live", (14,), ((0, 0, True),)),
    6: ("flow cytometry model (separated)", (4, 10, 12, 13),
        ((0, 1, False), (1, 2, False), (2, 3, False), (3, 0, True))),
    7: ("cycling-quiescent model", (18, 17), ((0, 1, False), (1, 0, True))),
}
APOPTOSIS_CODE = 100
NECROSIS_CODE = 101


class PhaseLink(Record):
    """Transition from phase ``start`` to ``end`` at ``rate`` (1/min); fixed = deterministic."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    rate: NonNeg
    fixed_duration: bool = False


class Cycle(Record):
    """A PhysiCell cycle model (``code`` as in ``CYCLE_TOPOLOGIES``) and its transition rates."""

    code: int = 5
    name: str = "live"
    links: list[PhaseLink] = Field(default_factory=lambda: [PhaseLink(start=0, end=0, rate=0.00072)])

    def rate(self, start: int) -> float:
        """Exit rate (1/min) of phase ``start``."""
        for link in self.links:
            if link.start == start:
                return link.rate
        return 0.0


class DeathParameters(Record):
    """Volume changes of a dying cell (rates 1/min)."""

    unlysed_fluid_change_rate: NonNeg = 0.05
    lysed_fluid_change_rate: NonNeg = 0.0
    cytoplasmic_biomass_change_rate: NonNeg = 1.0 / 60.0
    nuclear_biomass_change_rate: NonNeg = 0.35 / 60.0
    calcification_rate: NonNeg = 0.0
    relative_rupture_volume: Positive = 2.0


class DeathModel(Record):
    """Apoptosis (code 100) or necrosis (code 101): entry rate, phase durations, volume changes."""

    code: int
    name: str
    rate: NonNeg = 0.0
    durations: list[NonNeg] = Field(default_factory=list)
    fixed: list[bool] = Field(default_factory=list)
    parameters: DeathParameters = Field(default_factory=DeathParameters)


def default_apoptosis() -> DeathModel:
    """PhysiCell's default apoptosis: 516 min, then removal."""
    return DeathModel(code=APOPTOSIS_CODE, name="apoptosis", rate=5.31667e-05,
                      durations=[516.0], fixed=[True])


def default_necrosis() -> DeathModel:
    """PhysiCell's default necrosis: swell to rupture, lyse, removal after 60 days."""
    return DeathModel(
        code=NECROSIS_CODE, name="necrosis", rate=0.0, durations=[0.0, 86400.0], fixed=[True, True],
        parameters=DeathParameters(unlysed_fluid_change_rate=1.11667e-2, lysed_fluid_change_rate=8.33333e-4,
                                   cytoplasmic_biomass_change_rate=5.33333e-5,
                                   nuclear_biomass_change_rate=2.16667e-3),
    )


class Volume(Record):
    """Target volumes (µm³) and the rates at which a cell relaxes to them (1/min)."""

    total: Positive = 2494.0
    fluid_fraction: Fraction = 0.75
    nuclear: Positive = 540.0
    fluid_change_rate: NonNeg = 0.05
    cytoplasmic_biomass_change_rate: NonNeg = 0.0045
    nuclear_biomass_change_rate: NonNeg = 0.0055
    calcified_fraction: Fraction = 0.0
    calcification_rate: NonNeg = 0.0
    relative_rupture_volume: Positive = 2.0


class Mechanics(Record):
    """Centre-based potentials (PhysiCell units: µm/min per µm of overlap) and attachments."""

    cell_cell_adhesion_strength: NonNeg = 0.4
    cell_cell_repulsion_strength: NonNeg = 10.0
    cell_BM_adhesion_strength: NonNeg = 4.0
    cell_BM_repulsion_strength: NonNeg = 100.0
    relative_maximum_adhesion_distance: NonNeg = 1.25
    cell_adhesion_affinities: dict[str, NonNeg] = Field(default_factory=dict)
    attachment_elastic_constant: NonNeg = 0.01
    attachment_rate: NonNeg = 0.0
    detachment_rate: NonNeg = 0.0
    maximum_number_of_attachments: int = Field(default=12, ge=0)
    is_movable: bool = True


class Chemotaxis(Record):
    """Bias up (direction 1) or down (−1) one substrate's gradient."""

    enabled: bool = False
    substrate: str = ""
    direction: float = 1.0


class AdvancedChemotaxis(Record):
    """Bias along a weighted sum of several substrates' gradients."""

    enabled: bool = False
    normalize_each_gradient: bool = False
    sensitivities: dict[str, float] = Field(default_factory=dict)


class Motility(Record):
    """Persistent biased random walk (speed µm/min, persistence min, bias 0–1)."""

    speed: NonNeg = 1.0
    persistence_time: NonNeg = 1.0
    migration_bias: Fraction = 0.5
    enabled: bool = False
    use_2d: bool = True
    chemotaxis: Chemotaxis = Field(default_factory=Chemotaxis)
    advanced_chemotaxis: AdvancedChemotaxis = Field(default_factory=AdvancedChemotaxis)


class SecretionParameters(Record):
    """Per-substrate secretion (1/min towards ``secretion_target``), uptake (1/min), export (amount/min)."""

    secretion_rate: NonNeg = 0.0
    secretion_target: float = 1.0
    uptake_rate: NonNeg = 0.0
    net_export_rate: float = 0.0


class Interactions(Record):
    """Contact interactions; per-type rates are keyed by the target cell type's name."""

    apoptotic_phagocytosis_rate: NonNeg = 0.0
    necrotic_phagocytosis_rate: NonNeg = 0.0
    other_dead_phagocytosis_rate: NonNeg = 0.0
    live_phagocytosis_rates: dict[str, NonNeg] = Field(default_factory=dict)
    attack_rates: dict[str, NonNeg] = Field(default_factory=dict)
    immunogenicities: dict[str, NonNeg] = Field(default_factory=dict)
    fusion_rates: dict[str, NonNeg] = Field(default_factory=dict)
    attack_damage_rate: NonNeg = 1.0
    attack_duration: NonNeg = 0.1
    damage_rate: NonNeg = 0.0
    damage_repair_rate: NonNeg = 0.0


class CustomDatum(Record):
    """A user-defined per-cell variable (``custom:NAME`` in rules)."""

    value: float = 0.0
    units: str = "dimensionless"
    conserved: bool = False
    description: str = ""


class CellType(Record):
    """One cell definition: its name, PhysiCell ID and full phenotype."""

    name: str
    id: int = Field(ge=0)
    cycle: Cycle = Field(default_factory=Cycle)
    apoptosis: DeathModel = Field(default_factory=default_apoptosis)
    necrosis: DeathModel = Field(default_factory=default_necrosis)
    volume: Volume = Field(default_factory=Volume)
    mechanics: Mechanics = Field(default_factory=Mechanics)
    motility: Motility = Field(default_factory=Motility)
    secretion: dict[str, SecretionParameters] = Field(default_factory=dict)
    interactions: Interactions = Field(default_factory=Interactions)
    transformation_rates: dict[str, NonNeg] = Field(default_factory=dict)
    custom_data: dict[str, CustomDatum] = Field(default_factory=dict)
