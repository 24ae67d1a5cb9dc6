"""Sphere and packing geometry: the formulas every layer uses, written once (layer 1: imports
nothing of tropism).

Lengths in µm, volumes in µm³; each function takes a number or a NumPy array.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["FOUR_THIRDS_PI", "HEXAGONAL_AREA_PER_POINT", "FCC_VOLUME_PER_POINT", "sphere_volume",
           "sphere_volume_from_diameter", "sphere_radius", "lattice_cell", "packed_radius", "lattice_points",
           "packed_points"]

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


def lattice_points(radius: float, spacing: float, dim: int) -> np.ndarray:
    """The points of a hexagonal (2D, z = 0) or face-centred cubic (3D) lattice of
    nearest-neighbour distance ``spacing``, one point at the origin, within ``radius`` of it.

    Generated one row (2D) or layer (3D) at a time, so a million points need ~100 MB, not GBs.
    """
    chunks = [np.zeros((0, 3))]
    r2 = radius * radius
    if dim == 2:
        row = spacing * HEXAGONAL_AREA_PER_POINT
        k = int(math.ceil(radius / row)) + 1
        i = np.arange(-2 * k, 2 * k + 1)
        for j in range(-k, k + 1):
            x = (i + 0.5 * j) * spacing
            y = np.full(x.shape, j * row)
            keep = x * x + y * y <= r2
            chunks.append(np.stack([x[keep], y[keep], np.zeros(int(keep.sum()))], axis=1))
    else:
        a = spacing * math.sqrt(2.0)  # the cubic cell of an fcc lattice
        k = int(math.ceil(radius / a)) + 1
        g = np.arange(-k, k + 1, dtype=float)
        gx, gy = np.meshgrid(g, g, indexing="ij")
        for gz in g:
            for off in ((0.0, 0.0, 0.0), (0.0, 0.5, 0.5), (0.5, 0.0, 0.5), (0.5, 0.5, 0.0)):
                x, y, z = (gx.ravel() + off[0]) * a, (gy.ravel() + off[1]) * a, (gz + off[2]) * a
                keep = x * x + y * y + z * z <= r2
                chunks.append(np.stack([x[keep], y[keep], np.full(int(keep.sum()), z)], axis=1))
    return np.concatenate(chunks)


def packed_points(n: int, spacing: float, dim: int) -> np.ndarray:
    """The ``n`` points of :func:`lattice_points` nearest the origin (ties broken by position,
    so the choice is the same on every machine)."""
    if n == 0:
        return np.zeros((0, 3))
    pts = lattice_points(1.1 * packed_radius(n, spacing, dim) + 2.0 * spacing, spacing, dim)
    r = np.einsum("ij,ij->i", pts, pts)
    order = np.lexsort((pts[:, 2], pts[:, 1], pts[:, 0], np.round(r, 6)))
    if order.size < n:
        raise ValueError(f"lattice too small for {n} points")
    return pts[order[:n]]
