"""Reactions cells run on the fields: a cell type converting substrate A into B.

Prodrug activation is the model case: cytosine-deaminase MSCs turn 5-FC into 5-FU, HSV-TK
cells phosphorylate ganciclovir. PhysiCell's files cannot say this, so it comes from the
library and scenarios; the tissue solver runs it in every diffusion step.
"""

from __future__ import annotations

from pydantic import Field

from ._base import NonNeg, Positive, Record


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
    in proportion to the substrate ``weight`` (e.g. a vessel-density field; uniform if empty).

    The coupler sets the rate from the body model at every exchange; a scenario may fix it.
    """

    cell_type: str
    rate_per_min: NonNeg = 0.0
    weight: str = ""
    source: str = ""
    status: str = Field("U", pattern="^[VUF]$", description="V seen in the source, U recalled, F fitted")
