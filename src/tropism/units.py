"""Unit conventions: space in µm, time in min, volumes in µm³.

Substrate concentrations are in whatever unit each substrate declares; the solver never
converts them. Conversions between common time and space units live here so that readers of
PhysiCell files can accept the units PhysiCell allows.
"""

from __future__ import annotations

TIME_TO_MIN = {"min": 1.0, "minute": 1.0, "minutes": 1.0, "s": 1.0 / 60.0, "sec": 1.0 / 60.0,
               "h": 60.0, "hr": 60.0, "hour": 60.0, "hours": 60.0, "day": 1440.0, "days": 1440.0}
SPACE_TO_MICRON = {"micron": 1.0, "microns": 1.0, "um": 1.0, "µm": 1.0, "mm": 1000.0,
                   "cm": 1.0e4, "m": 1.0e6}


def sphere_radius(volume: float) -> float:
    """Radius (µm) of a sphere of the given volume (µm³)."""
    return (volume * 3.0 / (4.0 * 3.141592653589793)) ** (1.0 / 3.0)
