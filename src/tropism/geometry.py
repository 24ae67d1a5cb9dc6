"""Sphere and packing geometry: the formulas every layer uses, written once (layer 1: imports
nothing of tropism).

Lengths in µm, volumes in µm³; each function takes a number or a NumPy array.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["FOUR_THIRDS_PI", "HEXAGONAL_AREA_PER_POINT", "FCC_VOLUME_PER_POINT", "sphere_volume",
           "sphere_volume_from_diameter", "sphere_radius", "lattice_cell", "packed_radius"]

#: 4π/3: the volume of a sphere of unit radius (a Numba kernel may read it as a constant)
FOUR_THIRDS_PI = 4.0 * math.pi / 3.0
#: area per point of a hexagonal lattice of unit spacing (√3/2)
HEXAGONAL_AREA_PER_POINT = math.sqrt(3.0) / 2.0
#: volume per point of a face-centred cubic lattice of unit nearest-neighbour spacing (1/√2)
FCC_VOLUME_PER_POINT = 1.0 / math.sqrt(2.0)


def sphere_volume(radius):
    """Volume of a sphere of radius ``radius``: 4/3 π r³."""
    return FOUR_THIRDS_PI * radius ** 3


def sphere_volume_from_diameter(diameter):
    """Volume of a sphere of diameter ``diameter``: π/6 d³."""
    return math.pi / 6.0 * diameter ** 3


def sphere_radius(volume):
    """Radius of a sphere of volume ``volume``: ∛(3V / 4π)."""
    return np.cbrt(volume * (3.0 / (4.0 * math.pi)))


def lattice_cell(spacing, dim: int):
    """Area (2D, hexagonal lattice) or volume (3D, fcc lattice) each point of a close packing
    of spacing ``spacing`` fills."""
    return spacing ** 2 * HEXAGONAL_AREA_PER_POINT if dim == 2 else spacing ** 3 * FCC_VOLUME_PER_POINT


def packed_radius(n, spacing, dim: int):
    """Radius of the disc (2D) or ball (3D) that ``n`` close-packed points of spacing
    ``spacing`` fill."""
    filled = n * lattice_cell(spacing, dim)
    return np.sqrt(filled / math.pi) if dim == 2 else np.cbrt(filled / FOUR_THIRDS_PI)
