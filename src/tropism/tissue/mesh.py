"""Regular Cartesian voxel mesh of the tissue domain, laid out as in BioFVM."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tropism.errors import TropismInputError

# Relative slack when dividing a domain length by a voxel size, so that 1.1/0.1
# (= 11.000000000000002 in floating point) gives 11 voxels and not 12.
_COUNT_TOLERANCE = 1e-9


def _voxel_count(lo: float, hi: float, step: float, axis: str) -> int:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        raise TropismInputError(
            f"domain {axis}_max must be larger than {axis}_min",
            field=f"{axis}_min/{axis}_max",
            value=(lo, hi),
        )
    if not math.isfinite(step) or step <= 0.0:
        raise TropismInputError(
            f"voxel size d{axis} must be positive", field=f"d{axis}", value=step
        )
    ratio = (hi - lo) / step
    # BioFVM rounds the voxel count up (a partial voxel at the max end becomes a whole one).
    return max(1, math.ceil(ratio - _COUNT_TOLERANCE * max(1.0, ratio)))


@dataclass(frozen=True)
class Mesh:
    """Uniform Cartesian voxel mesh, in the conventions of BioFVM.

    Voxel ``(i, j, k)`` has its centre at ``(x_min + (i + 0.5) dx, y_min + (j + 0.5) dy,
    z_min + (k + 0.5) dz)`` and flat index ``i + nx * (j + ny * k)``, which is the C order
    of an array of shape ``(nz, ny, nx)``.

    Parameters
    ----------
    x_min, x_max, y_min, y_max, z_min, z_max : float
        Domain bounds. In 2D the z range given is replaced by ``[-dz/2, dz/2]``, as
        PhysiCell does, so the single voxel layer is centred on ``z = 0``.
    dx, dy, dz : float
        Voxel edge lengths. ``dz`` is still the voxel thickness in 2D, so that
        ``voxel_volume = dx * dy * dz`` as in BioFVM.
    use_2d : bool
        Whether the domain is a single layer of voxels (PhysiCell's ``use_2D``).

    Notes
    -----
    The number of voxels along an axis is ``ceil((max - min) / d)`` (as BioFVM's
    ``Cartesian_Mesh::resize``), with a relative tolerance of 1e-9 against floating-point
    noise; for a range that is a whole multiple of the voxel size it equals
    ``round((max - min) / d)``. When the range is not such a multiple, the mesh extends past
    the max bound, as in BioFVM.
    """

    x_min: float
    x_max: float
    y_min: float
    y_max: float
    z_min: float
    z_max: float
    dx: float
    dy: float
    dz: float
    use_2d: bool = False

    def __post_init__(self) -> None:
        for name in ("x_min", "x_max", "y_min", "y_max", "z_min", "z_max", "dx", "dy", "dz"):
            object.__setattr__(self, name, float(getattr(self, name)))
        object.__setattr__(self, "use_2d", bool(self.use_2d))
        nx = _voxel_count(self.x_min, self.x_max, self.dx, "x")
        ny = _voxel_count(self.y_min, self.y_max, self.dy, "y")
        if self.use_2d:
            if not (math.isfinite(self.dz) and self.dz > 0.0):
                raise TropismInputError("voxel size dz must be positive", field="dz", value=self.dz)
            object.__setattr__(self, "z_min", -0.5 * self.dz)
            object.__setattr__(self, "z_max", 0.5 * self.dz)
            nz = 1
        else:
            nz = _voxel_count(self.z_min, self.z_max, self.dz, "z")
        # Derived sizes are stored once; the dataclass stays frozen for its users.
        object.__setattr__(self, "_n", (nx, ny, nz))

    @property
    def nx(self) -> int:
        """Number of voxels along x."""
        return self._n[0]

    @property
    def ny(self) -> int:
        """Number of voxels along y."""
        return self._n[1]

    @property
    def nz(self) -> int:
        """Number of voxels along z (1 in 2D)."""
        return self._n[2]

    @property
    def n_voxels(self) -> int:
        """Total number of voxels, ``nx * ny * nz``."""
        return self.nx * self.ny * self.nz

    @property
    def shape(self) -> tuple[int, int, int]:
        """Array shape of one substrate field, ``(nz, ny, nx)``."""
        return (self.nz, self.ny, self.nx)

    @property
    def n_dimensions(self) -> int:
        """Number of space dimensions the solver sweeps: 2 or 3."""
        return 2 if self.use_2d else 3

    @property
    def voxel_volume(self) -> float:
        """Volume of one voxel, ``dx * dy * dz`` (also in 2D)."""
        return self.dx * self.dy * self.dz

    def axis_centers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Voxel-centre coordinates along each axis.

        Returns
        -------
        x, y, z : numpy.ndarray
            Float arrays of lengths ``nx``, ``ny`` and ``nz`` (in 2D ``z`` is ``[0.0]``).
        """
        x = self.x_min + (np.arange(self.nx) + 0.5) * self.dx
        y = self.y_min + (np.arange(self.ny) + 0.5) * self.dy
        z = self.z_min + (np.arange(self.nz) + 0.5) * self.dz
        return x, y, z

    def centers(self) -> np.ndarray:
        """Voxel centres in flat voxel order.

        Returns
        -------
        numpy.ndarray
            Float array of shape ``(n_voxels, 3)``; row ``i + nx * (j + ny * k)`` is the
            centre of voxel ``(i, j, k)``.
        """
        x, y, z = self.axis_centers()
        zz, yy, xx = np.meshgrid(z, y, x, indexing="ij")
        return np.stack((xx.ravel(), yy.ravel(), zz.ravel()), axis=1)

    def voxel_index(self, positions: np.ndarray) -> np.ndarray:
        """Flat index of the voxel that contains each position.

        Positions outside the domain are clamped to the nearest boundary voxel (BioFVM's
        ``nearest_voxel_index``); in 2D the z coordinate is ignored.

        Parameters
        ----------
        positions : array_like
            Float array of shape ``(n, 3)`` (a single ``(3,)`` position is accepted too).

        Returns
        -------
        numpy.ndarray
            ``int64`` array of shape ``(n,)``.
        """
        p = np.asarray(positions, dtype=np.float64)
        if p.ndim == 1:
            p = p.reshape(1, -1)
        if p.ndim != 2 or p.shape[1] != 3:
            raise TropismInputError(
                "positions must have shape (n, 3)", field="positions", value=p.shape
            )
        i = _axis_index(p[:, 0], self.x_min, self.dx, self.nx)
        j = _axis_index(p[:, 1], self.y_min, self.dy, self.ny)
        if self.nz == 1:
            return i + self.nx * j
        k = _axis_index(p[:, 2], self.z_min, self.dz, self.nz)
        return i + self.nx * (j + self.ny * k)


def _axis_index(coord: np.ndarray, lo: float, step: float, n: int) -> np.ndarray:
    # Clip in floating point first so that huge or non-finite coordinates cannot overflow
    # the integer conversion; NaN lands in voxel 0.
    f = np.floor((coord - lo) / step)
    f = np.nan_to_num(np.clip(f, 0.0, n - 1), nan=0.0)
    return f.astype(np.int64)
