"""Unit conventions: space in µm, time in min, volumes in µm³.

Substrate concentrations are in whatever unit each substrate declares; the solver never
converts them. Conversions between common time and space units live here so that readers of
PhysiCell files can accept the units PhysiCell allows.
"""

from __future__ import annotations

from .geometry import sphere_radius  # noqa: F401  (kept here for callers of units.sphere_radius)

TIME_TO_MIN = {"min": 1.0, "minute": 1.0, "minutes": 1.0, "s": 1.0 / 60.0, "sec": 1.0 / 60.0,
               "h": 60.0, "hr": 60.0, "hour": 60.0, "hours": 60.0, "day": 1440.0, "days": 1440.0}
SPACE_TO_MICRON = {"micron": 1.0, "microns": 1.0, "um": 1.0, "µm": 1.0, "mm": 1000.0,
                   "cm": 1.0e4, "m": 1.0e6}


def uptake_from_consumption(amol_per_cell_per_s: float, volume_um3: float, solubility_uM_per_mmHg: float,
                            reference_mmHg: float) -> float:
    """First-order oxygen uptake rate (1/min) of a cell consuming ``amol_per_cell_per_s`` at
    ``reference_mmHg``.

    PhysiCell's uptake removes U·ρ·V_cell per minute (ρ in mmHg): with the dissolved oxygen
    α·ρ (α in µM/mmHg) that is U/60 · α·ρ · V_cell mol/s, matched to the measured rate at the
    reference level. Below it a first-order cell consumes proportionally less, as PhysiCell's do.
    """
    if amol_per_cell_per_s < 0 or volume_um3 <= 0 or solubility_uM_per_mmHg <= 0 or reference_mmHg <= 0:
        raise ValueError("consumption >= 0, and volume, solubility and reference level > 0")
    mol_per_s = amol_per_cell_per_s * 1e-18
    dissolved = solubility_uM_per_mmHg * 1e-6 * reference_mmHg      # mol/L
    return 60.0 * mol_per_s / (dissolved * volume_um3 * 1e-15)      # 1 µm³ = 1e-15 L
