"""How a whole-body scenario is attached to a tissue model: which ports carry what.

The coupler (``tropism.simulation``) exchanges between the two on one clock. Body → tissue:
the rate at which viable cells of the product arrive in the tumour (cells/min; the tissue's
share of it), and the plasma level of molecules (the vessels' boundary values). Tissue →
body: cells leaving through vessels, substrates released into blood, the tumour's volume and
its chemokine receptor occupancy and adhesion-molecule induction.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from ._base import Record

#: (compartment, kind) of a body state, e.g. ("tumour", "tissue").
BodyStateKey = tuple[str, str]


class MoleculeLink(Record):
    """One substrate linked to one body state; ``scale`` converts body amount into tissue units.

    For ``plasma``: the substrate's plasma level is scale × amount in ``state``. For
    ``release``: the body state gains scale × the amount of substrate leaving the tissue, and
    with ``whole_tumour`` that amount divided by the tissue's share of the tumour: what the
    whole tumour releases when the tissue is a part of it (a product the tumour makes itself).
    """

    substrate: str
    state: BodyStateKey
    scale: float = Field(1.0, gt=0.0)
    whole_tumour: bool = False


class BodyLink(Record):
    """The ports between a body scenario and a tissue model.

    Parameters
    ----------
    product_type : str
        The tissue cell type the body's product becomes in the tumour; the model needs an
        arrival of this type (its rate is set by the body).
    arrival_state : (str, str)
        The body state whose inflow is cells arriving in the tumour.
    departure_state : (str, str)
        The body state that receives cells leaving the tissue through vessels.
    share : float, optional
        The share of the body's tumour the tissue domain holds; default the domain's volume
        over the tumour's volume (at most 1).
    exchange_min : float, optional
        Minutes between exchanges (a multiple of dt_mechanics); default dt_phenotype.
    tumour_types : list of str
        Tissue cell types whose volume is the tumour's; the body's tumour volume follows
        their total volume relative to t = 0. Empty: the body keeps its own volume.
    chemokine, inflammation : str
        Tissue substrates the body's tumour extravasation reads, measured as their mean over
        the voxels that hold tumour cells (the whole domain if ``tumour_types`` is empty) and
        passed as fractions: the product's receptor occupancy ``c/(c + chemokine_half_max)``
        (SDF-1 on CXCR4), times what a ``block_signal`` intervention on that substrate leaves
        of it for the product, and the induction of endothelial adhesion molecules
        ``c/(c + inflammation_half_max)`` (TNF-α → VCAM-1).
    chemokine_half_max, inflammation_half_max : float
        In the substrate's units: the receptor's Kd, the inducer's half-maximal level.
    plasma, release : list of MoleculeLink
        Body → tissue plasma levels and tissue → body releases through vessels.
    perfusion_viable_ml_min_per_ml : float, optional
        Blood flow per volume of viable tumour tissue (mL/min/mL). The body's tumour perfusion
        is this times the share of the tumour cells' volume that is alive: necrotic tissue is
        not perfused. ``None`` leaves the body's own tumour perfusion.
    inputs_rtol : float
        The body rebuilds its systems on the tissue's measured tumour inputs (volume,
        receptor occupancy, adhesion induction) once one has moved by more than this share
        since the last build (:func:`tropism.body.advance`); 0 rebuilds at every exchange.
        At 1 % a 14-day glioma run rebuilds a few hundred times instead of 3,360.
    """

    product_type: str
    #: the product's cells are the tumour's own, shed through its vessels: none arrive, and each
    #: departure from the tissue stands for 1/share of the whole tumour's
    whole_tumour_departures: bool = False
    arrival_state: BodyStateKey = ("tumour", "tissue")
    departure_state: BodyStateKey = ("venous_blood", "viable")
    share: float | None = Field(None, gt=0.0, le=1.0)
    exchange_min: float | None = Field(None, gt=0.0)
    tumour_types: list[str] = Field(default_factory=list)
    chemokine: str = ""
    inflammation: str = ""
    chemokine_half_max: float = Field(1.0, gt=0.0)
    inflammation_half_max: float = Field(1.0, gt=0.0)
    plasma: list[MoleculeLink] = Field(default_factory=list)
    release: list[MoleculeLink] = Field(default_factory=list)
    perfusion_viable_ml_min_per_ml: float | None = Field(None, gt=0.0)
    inputs_rtol: float = Field(0.01, ge=0.0, lt=1.0)
    #: a substrate another link releases into the body (tumour exosomes) whose cumulative uptake
    #: by an organ's cells, per gram, conditions that organ as a niche for this product:
    #: level = u/(u + ``niche_half_max_per_g``)
    niche_from: str = ""
    niche_half_max_per_g: float = Field(1.0, gt=0.0)

    @field_validator("arrival_state", "departure_state")
    @classmethod
    def _two_names(cls, v):
        if len(v) != 2 or not all(isinstance(x, str) and x for x in v):
            raise ValueError("a body state is (compartment, kind), e.g. ('tumour', 'tissue')")
        return tuple(v)
