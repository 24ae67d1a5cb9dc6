"""Diffusion–decay of substrates on the voxel mesh: BioFVM's implicit LOD scheme in Numba.

One time step solves, for every substrate and each space dimension in turn (x, then y,
then z), the implicit 1-D problem along every grid line::

    (1 + 2c + λ dt/d) u_i − c u_{i−1} − c u_{i+1} = u_i_old,   c = D dt / h²,

with no-flux ends (end rows ``1 + c + λ dt/d``), ``d`` the number of dimensions and ``h``
the voxel size along the line (BioFVM's "constant coefficients LOD" solvers). Dirichlet
values are written into their voxels before the sweeps and after each sweep, as BioFVM does.

The tridiagonal systems are solved by the Thomas algorithm with the elimination
coefficients computed once, exactly as BioFVM computes them. Per voxel the forward
elimination is ``u_i = (u_i + c u_{i−1}) * (1 / den_i)`` and the back substitution
``u_i = u_i + (c / den_i) u_{i+1}``; BioFVM divides by ``den_i`` instead of multiplying by
its precomputed reciprocal, which costs twice the time here, so results differ from
BioFVM's at the level of round-off (one rounding per operation), not bit for bit.

Speed comes from the memory layout ``(substrate, z, y, x)``: the y and z sweeps run the
recurrence over whole rows (planes) at a time, so the innermost loop walks contiguous x
and vectorises; the x sweep interleaves a block of neighbouring lines so that independent
recurrences overlap. Every grid line is computed by one thread with the same operations
whatever the thread count, so results do not depend on the number of threads.

This module holds the solver's state (coefficients, Dirichlet voxels, work split, scheme
choice); the schemes' kernels are :mod:`.diffusion_lod` (BioFVM's LOD) and
:mod:`.diffusion_douglas` (the Douglas delta form and its substeps), the gradient stencil
:mod:`.stencil`. ``douglas_factors``, ``douglas_substeps`` and ``FACES`` are re-exported here.
"""

from __future__ import annotations

import numba
import numpy as np

from tropism.errors import TropismInputError
from tropism.model.substrates import FACES
from tropism.tissue.diffusion_douglas import _douglas_steps, douglas_factors, douglas_substeps
from tropism.tissue.diffusion_lod import (_X_BLOCK, _apply_dirichlet_kernel, _lod_step, _lod_step_two_ends,
                                         _lod_steps_by_substrate, _thomas_coefficients)
from tropism.tissue.mesh import Mesh
from tropism.tissue.stencil import gradient_field

__all__ = ["DiffusionSolver", "FACES", "SCHEMES", "douglas_factors", "douglas_substeps"]

#: Time integrators: ``lod`` is BioFVM's (PhysiCell's) locally one-dimensional implicit scheme;
#: ``douglas`` is the delta form whose steady state does not depend on ``dt`` (see
#: :func:`_douglas_steps`), for diffusion steps far longer than PhysiCell's 0.01 min.
SCHEMES = ("lod", "douglas")

# FACES (model.substrates) orders the domain faces in ``dirichlet_enabled`` / ``dirichlet_values``.

# Narrowest column chunk handed to one thread in the y and z sweeps (in doubles): narrow
# chunks lose more to short inner loops and to cache lines shared between threads than
# they gain in balance.
_MIN_Y_CHUNK = 64
_MIN_Z_CHUNK = 256
# A field up to this size stays in one core's cache between sweeps (L2 is 1–2 MiB per
# core on current x86); smaller single planes run on one thread rather than split columns.
_CACHE_RESIDENT_BYTES = 2 * 1024 * 1024

# --------------------------------------------------------------------------- solver


class DiffusionSolver:
    """Implicit LOD diffusion–decay solver with BioFVM's numerics.

    Parameters
    ----------
    mesh : Mesh
        The voxel mesh.
    diffusion_coefficients : array_like
        Diffusion coefficient of each substrate, shape ``(n_substrates,)`` (length²/time).
    decay_rates : array_like
        First-order decay rate of each substrate, shape ``(n_substrates,)`` (1/time).
    dt : float
        Diffusion time step.
    dirichlet_enabled : array_like of bool
        Shape ``(n_substrates, 6)``: whether each domain face imposes a Dirichlet value on
        each substrate, faces ordered as :data:`FACES` (xmin, xmax, ymin, ymax, zmin, zmax).
        In 2D the z faces are ignored.
    dirichlet_values : array_like
        Shape ``(n_substrates, 6)``: the values imposed on those faces.
    substeps : array_like of int, optional
        Douglas only: per substrate, how many steps ``dt`` one of its steps spans (default 1;
        see :func:`douglas_substeps`). A substrate of k substeps steps k·dt at the base steps
        ≡ 0 (mod k) counted by ``steps_taken``.
    scheme : {"lod", "douglas"}
        ``lod`` (default) is BioFVM's scheme, as PhysiCell steps it. ``douglas`` solves the
        same tridiagonal systems for the change over a step (delta form, Dirichlet voxels as
        rows ``w = 0``); its steady state is that of the unsplit equations at any ``dt``, where
        LOD's drifts with ``dt`` (about 5 % at PhysiCell's 0.01 min for oxygen on 20 µm voxels,
        28 % at 0.1 min; ``tests/tissue/test_diffusion.py``), so it allows steps of 0.1 min. It keeps
        its coefficients per voxel (four doubles per voxel and substrate in 2D, six in 3D).

    Notes
    -----
    A face imposes its values on the outermost voxel layer on that side. Where faces meet
    (edges, corners) the later face in :data:`FACES` order decides, for all substrates at
    once, both the value and whether it is active, provided that face is enabled for at
    least one substrate; this is how PhysiCell builds its boundary Dirichlet nodes.
    Interior Dirichlet voxels set with :meth:`set_dirichlet_voxels` take precedence over
    the faces.

    Unlike BioFVM, which uses ``dx`` for every direction, each sweep uses the voxel size of
    its own axis; the two agree on the cubic voxels PhysiCell uses.

    The steady state of repeated steps with a source added between them (as PhysiCell adds
    cell secretion) carries the splitting error of LOD, first order in ``dt``: it is small
    in shell averages around a point source (about 1 % at ``c = D dt / dx² = 1``) but
    single voxels near the source deviate by tens of percent at ``c ≥ 1``.

    Results do not depend on the number of Numba threads.
    """

    def __init__(
        self,
        mesh: Mesh,
        diffusion_coefficients,
        decay_rates,
        dt: float,
        dirichlet_enabled,
        dirichlet_values,
        scheme: str = "lod",
        substeps=None,
    ) -> None:
        if scheme not in SCHEMES:
            raise TropismInputError("unknown diffusion scheme", field="diffusion_scheme", value=scheme,
                                    allowed=", ".join(SCHEMES))
        self.scheme = scheme
        self.mesh = mesh
        D = np.array(diffusion_coefficients, dtype=np.float64).reshape(-1)
        lam = np.array(decay_rates, dtype=np.float64).reshape(-1)
        ns = D.shape[0]
        if lam.shape != (ns,):
            raise TropismInputError(
                "decay_rates must have one value per substrate",
                field="decay_rates",
                value=lam.shape,
                allowed=f"shape ({ns},)",
            )
        if not np.all(np.isfinite(D)) or np.any(D < 0):
            raise TropismInputError(
                "diffusion coefficients must be finite and >= 0",
                field="diffusion_coefficients",
                value=D.tolist(),
            )
        if not np.all(np.isfinite(lam)) or np.any(lam < 0):
            raise TropismInputError(
                "decay rates must be finite and >= 0", field="decay_rates", value=lam.tolist()
            )
        dt = float(dt)
        if not (np.isfinite(dt) and dt > 0):
            raise TropismInputError("dt must be positive", field="dt", value=dt)
        enabled = np.array(dirichlet_enabled, dtype=bool)
        values = np.array(dirichlet_values, dtype=np.float64)
        for name, arr in (("dirichlet_enabled", enabled), ("dirichlet_values", values)):
            if arr.shape != (ns, 6):
                raise TropismInputError(
                    f"{name} must have shape (n_substrates, 6)",
                    field=name,
                    value=arr.shape,
                    allowed=f"shape ({ns}, 6)",
                )

        self.n_substrates = ns
        self.dt = dt
        self.diffusion_coefficients = D
        self.decay_rates = lam
        self.dirichlet_enabled = enabled
        self.dirichlet_values = values
        self.field_shape = (ns,) + mesh.shape

        d = mesh.n_dimensions
        sizes = (mesh.nx, mesh.ny, mesh.nz)
        steps = (mesh.dx, mesh.dy, mesh.dz)
        nmax = max(sizes)
        self._c = np.zeros((ns, 3))
        self._inv = np.ones((ns, 3, nmax))
        self._back = np.zeros((ns, 3, nmax))
        for s in range(ns):
            for a in range(d):
                c = D[s] * dt / steps[a] / steps[a]
                den, back = _thomas_coefficients(sizes[a], c, lam[s] * dt / d)
                self._c[s, a] = c
                self._inv[s, a, : sizes[a]] = 1.0 / den
                self._back[s, a, : sizes[a]] = back
        self._widths: dict[int, tuple[int, int, int]] = {}
        # A single 2D plane is solved in two halves of rows that stay on their own cores
        # (see _lod_step_two_ends); the split row is a block boundary of the x sweep.
        self._half = 0
        if ns == 1 and d == 2 and mesh.ny >= 4:
            self._half = min(max(((mesh.ny // 2 + _X_BLOCK - 1) // _X_BLOCK) * _X_BLOCK, 2), mesh.ny - 2)
        self._scratch = np.zeros((2, mesh.nx))

        self._lam_dt = lam * dt
        k = np.ones(ns, dtype=np.int64) if substeps is None else np.array(substeps, dtype=np.int64).reshape(-1)
        if k.shape != (ns,) or np.any(k < 1) or (scheme != "douglas" and np.any(k != 1)):
            raise TropismInputError("substeps must be one integer >= 1 per substrate (above 1 only for douglas)",
                                    field="substeps", value=k.tolist(), allowed=f"{ns} integers >= 1")
        #: per substrate, how many base steps ``dt`` one of its Douglas steps spans
        self.substeps = k
        #: base steps taken so far; a substrate with k substeps steps at the base steps ≡ 0 mod k
        self.steps_taken = 0
        self._douglas_scratch = np.zeros((0,) + mesh.shape)
        self._no_voxels = np.zeros(0, dtype=np.int64)
        self._no_sources = np.zeros((0, ns))
        self._all_subs = np.arange(ns, dtype=np.int64)
        self._maybe_quiet = list(range(ns))
        self._live_subs = np.zeros(0, dtype=np.int64)
        # whether a step leaves out the substrates that stay zero (see _live); off only to compare
        self.skip_quiet = True
        self._face_mask, self._face_vals = self._face_dirichlet()
        self._set_combined(None)

    # ------------------------------------------------------------------ Dirichlet set-up

    def _face_dirichlet(self):
        m = self.mesh
        ns = self.n_substrates
        mask = np.zeros((ns,) + m.shape, dtype=bool)
        vals = np.zeros((ns,) + m.shape)
        # (face number, index expression of its voxel layer in a (nz, ny, nx) array)
        layers = [(0, np.s_[:, :, 0]), (1, np.s_[:, :, -1]),
                  (2, np.s_[:, 0, :]), (3, np.s_[:, -1, :])]
        if not m.use_2d:
            layers += [(4, np.s_[0, :, :]), (5, np.s_[-1, :, :])]
        for f, sl in layers:
            if not self.dirichlet_enabled[:, f].any():
                continue
            for s in range(ns):
                mask[s][sl] = self.dirichlet_enabled[s, f]
                vals[s][sl] = self.dirichlet_values[s, f]
        return mask, vals

    def _set_combined(self, interior):
        mask = self._face_mask.copy()
        vals = self._face_vals.copy()
        if interior is not None:
            vox, v, on = interior
            for s in range(self.n_substrates):
                sel = on[:, s]
                mask[s].reshape(-1)[vox[sel]] = True
                vals[s].reshape(-1)[vox[sel]] = v[sel, s]
        # Unique, sorted flat indices: each voxel is written once per application, by the
        # one work item of each sweep that owns it (no write races between threads).
        idx = np.flatnonzero(mask.reshape(-1)).astype(np.int64)
        nz, ny, nx = self.mesh.shape
        self._dir_idx = idx
        self._dir_val = vals.reshape(-1)[idx].copy()
        self._fixed = mask
        self._douglas_coefficients = None  # (re)computed at the next Douglas step
        self._dir_x = idx % nx
        self._dir_xy = idx % (nx * ny)
        n_lines = self.n_substrates * nz * ny
        self._line_ptr = np.searchsorted(idx, np.arange(n_lines + 1, dtype=np.int64) * nx)
        lp = self._line_ptr[:: nz * ny]
        self._dir_nonzero = np.array([bool(np.any(self._dir_val[lp[s]:lp[s + 1]] != 0.0))
                                      for s in range(self.n_substrates)])

    def set_dirichlet_voxels(self, voxel_indices, values, enabled) -> None:
        """Set the interior Dirichlet voxels (e.g. blood vessels), replacing earlier ones.

        Parameters
        ----------
        voxel_indices : array_like of int
            Flat voxel indices, shape ``(n,)``. Pass an empty array to clear them.
        values : array_like
            Shape ``(n, n_substrates)``: the value imposed on each substrate.
        enabled : array_like of bool
            Shape ``(n, n_substrates)``: which substrates are imposed in each voxel. Where
            ``enabled`` is false the voxel keeps whatever the domain faces impose, if any.

        Notes
        -----
        If a voxel index is repeated, its last occurrence counts.
        """
        ns = self.n_substrates
        vox = np.asarray(voxel_indices, dtype=np.int64).reshape(-1)
        n = vox.shape[0]
        v = np.asarray(values, dtype=np.float64).reshape(n, ns) if n else np.zeros((0, ns))
        on = np.asarray(enabled, dtype=bool).reshape(n, ns) if n else np.zeros((0, ns), bool)
        if n and (vox.min() < 0 or vox.max() >= self.mesh.n_voxels):
            raise TropismInputError(
                "Dirichlet voxel index out of range",
                field="voxel_indices",
                value=(int(vox.min()), int(vox.max())),
                allowed=f"0..{self.mesh.n_voxels - 1}",
            )
        if n:
            # Keep the last occurrence of each index (NumPy does not promise which of
            # repeated indices wins a fancy assignment).
            _, first_in_reversed = np.unique(vox[::-1], return_index=True)
            keep = n - 1 - first_in_reversed
            vox, v, on = vox[keep], v[keep], on[keep]
        self._set_combined((vox, v, on) if n else None)

    # ------------------------------------------------------------------ stepping

    def _by_substrate(self, threads: int) -> bool:
        """Whether whole substrates are the work items: several of them, each small."""
        ns = self.n_substrates
        voxels = self.mesh.n_voxels
        return ns >= 2 and (threads <= 1 or ns >= threads) and 8 * ns * voxels <= _CACHE_RESIDENT_BYTES

    def _work_split(self, n_threads: int) -> tuple[int, int, int]:
        if self._half:  # one 2D plane: always two halves of rows, on up to two threads
            return min(n_threads, 2), self.mesh.nx, self.mesh.nx * self.mesh.ny
        return self._work_split_planes(n_threads)

    def _work_split_planes(self, n_threads: int) -> tuple[int, int, int]:
        """Threads to use, and column-chunk widths of the y and z sweeps.

        Whole planes are the natural work items: each thread keeps the same part of the
        data from one sweep to the next. When there are fewer planes than threads, columns
        must be split, which moves half the data between cores twice per step; for a field
        that fits in a core's cache that costs more than the second thread saves, so fewer
        threads are used instead. None of this changes the results.
        """
        if n_threads not in self._widths:
            ns, (nz, ny, nx) = self.n_substrates, self.mesh.shape
            threads = n_threads
            if 0 < ns * nz < n_threads and 8 * ns * nz * ny * nx <= _CACHE_RESIDENT_BYTES:
                threads = ns * nz

            def width(n_items, n_cols, min_width):
                if threads <= 1 or n_items == 0 or n_items >= threads:
                    return max(n_cols, 1)
                split = min(-(-threads // n_items), max(1, n_cols // min_width))
                w = -(-n_cols // split)
                # a multiple of 8 doubles (a cache line), so neighbours share fewer lines
                return min(n_cols, -(-w // 8) * 8)

            self._widths[n_threads] = (
                threads,
                width(ns * nz, nx, _MIN_Y_CHUNK),
                width(ns, nx * ny, _MIN_Z_CHUNK),
            )
        return self._widths[n_threads]

    def _check(self, fields, name="fields"):
        if (
            not isinstance(fields, np.ndarray)
            or fields.dtype != np.float64
            or fields.shape != self.field_shape
            or not fields.flags.c_contiguous
            or not fields.flags.writeable
        ):
            got = (
                (getattr(fields, "shape", None), str(getattr(fields, "dtype", type(fields))))
            )
            raise TropismInputError(
                f"{name} must be a writeable C-contiguous float64 array",
                field=name,
                value=got,
                allowed=f"shape {self.field_shape}",
            )

    def apply_dirichlet(self, fields: np.ndarray) -> None:
        """Write all active Dirichlet values (faces and interior voxels) into ``fields``.

        Parameters
        ----------
        fields : numpy.ndarray
            Float64, C-contiguous, shape ``(n_substrates, nz, ny, nx)``; changed in place.
        """
        self._check(fields)
        _apply_dirichlet_kernel(fields, self._dir_idx, self._dir_val)

    def step(self, fields: np.ndarray) -> None:
        """Advance ``fields`` by one diffusion time step ``dt``, in place.

        Parameters
        ----------
        fields : numpy.ndarray
            Float64, C-contiguous, shape ``(n_substrates, nz, ny, nx)``.
        """
        self._check(fields)
        if self.scheme == "douglas":
            self._douglas(fields, 1, self._all_subs, self._no_voxels, self._no_sources, self._no_sources)
            return
        n_threads = numba.get_num_threads()
        threads, y_width, z_width = self._work_split(n_threads)
        if threads != n_threads:
            numba.set_num_threads(threads)  # affects this calling thread only
        try:
            self._run_step(fields, y_width, z_width)
        finally:
            self.steps_taken += 1
            if threads != n_threads:
                numba.set_num_threads(n_threads)

    def _run_step(self, fields, y_width, z_width, voxels=None, m=None, c=None):
        if voxels is None:
            voxels, m, c = self._no_voxels, self._no_sources, self._no_sources
        if self._half:
            _lod_step_two_ends(fields, self._c, self._inv, self._back, self._dir_idx, self._dir_val,
                               self._line_ptr, self._half, self._scratch, voxels, m, c)
            return
        _lod_step(
            fields,
            self._c,
            self._inv,
            self._back,
            self._dir_idx,
            self._dir_val,
            self._dir_x,
            self._dir_xy,
            self._line_ptr,
            self.mesh.n_dimensions,
            y_width,
            z_width,
            voxels,
            m,
            c,
        )

    def step_with_sources(self, fields: np.ndarray, n_steps: int, voxels: np.ndarray, m: np.ndarray,
                          c: np.ndarray) -> None:
        """Advance ``n_steps`` steps, each followed by per-voxel affine sources ρ ← m·ρ + c.

        Parameters
        ----------
        fields : numpy.ndarray
            Float64, C-contiguous, shape ``(n_substrates, nz, ny, nx)``.
        n_steps : int
            Number of diffusion steps.
        voxels : numpy.ndarray
            Flat indices of the voxels with sources, shape ``(k,)``, without repeats.
        m, c : numpy.ndarray
            Affine coefficients per listed voxel and substrate, shape ``(k, n_substrates)``.
            Results below 0 are set to 0.
        """
        self._check(fields)
        if self.scheme == "douglas":
            self._douglas(fields, n_steps, self._live(fields, c), voxels, m, c)
            return
        n_threads = numba.get_num_threads()
        threads, y_width, z_width = self._work_split(n_threads)
        if threads != n_threads:
            numba.set_num_threads(threads)
        if self._half:
            kernel = _lod_step_two_ends
            args = (self._c, self._inv, self._back, self._dir_idx, self._dir_val, self._line_ptr, self._half,
                    self._scratch, voxels, m, c)
        elif self._by_substrate(threads):
            kernel = _lod_steps_by_substrate
            args = (self._c, self._inv, self._back, self._dir_idx, self._dir_val, self._line_ptr,
                    self.mesh.n_dimensions, self._live(fields, c), voxels, m, c)
        else:
            kernel = _lod_step
            args = (self._c, self._inv, self._back, self._dir_idx, self._dir_val, self._dir_x, self._dir_xy,
                    self._line_ptr, self.mesh.n_dimensions, y_width, z_width, voxels, m, c)
        try:
            kernel(fields, *args, int(n_steps))
        finally:
            self.steps_taken += int(n_steps)
            if threads != n_threads:
                numba.set_num_threads(n_threads)

    def _douglas(self, fields, n_steps, subs, voxels, m, c) -> None:
        n_steps = int(n_steps)
        if n_steps <= 0:
            return
        b, k = self.steps_taken, self.substeps
        self.steps_taken += n_steps
        # a substrate of k substeps takes one step of k·dt at each base step ≡ 0 (mod k)
        counts = -((-(b + n_steps)) // k) + ((-b) // k)
        subs = subs[counts[subs] > 0]
        if subs.shape[0] == 0:
            return
        if self._douglas_scratch.shape[0] < subs.shape[0]:
            self._douglas_scratch = np.zeros((self.n_substrates,) + self.mesh.shape)
        if self._douglas_coefficients is None:
            kc = self._c * k[:, None]
            kl = self._lam_dt * k
            self._douglas_coefficients = (kc, kl) + douglas_factors(self._fixed, kc, kl, self.mesh.n_dimensions)
        kc, kl, inv, cp = self._douglas_coefficients
        _douglas_steps(fields, kc, kl, inv, cp, self._dir_idx, self._dir_val, self._line_ptr,
                       self.mesh.n_dimensions, subs, voxels, m, c, self._douglas_scratch, counts,
                       k.astype(np.float64))

    def _live(self, fields: np.ndarray, c: np.ndarray) -> np.ndarray:
        """The substrates a step must sweep: all but those that stay exactly zero.

        A substrate that is zero everywhere, with no nonzero Dirichlet value and no source
        constant, stays zero through a step (the sweeps map 0 to 0, and m·0 + 0 = 0), so
        leaving it out changes no bit of any field. Quiet substrates are common: a library
        scenario declares every substrate its rules may read.
        """
        if not self.skip_quiet or not self._maybe_quiet:
            return self._all_subs
        # a substrate once seen live is swept from then on (always correct): only the ones
        # still quiet are looked at again, so a model without quiet substrates pays nothing
        quiet = [s for s in self._maybe_quiet
                 if not (self._dir_nonzero[s] or (c.shape[0] and c[:, s].any()) or fields[s].any())]
        if len(quiet) < len(self._maybe_quiet):
            self._maybe_quiet = quiet
            self._live_subs = np.array([s for s in range(self.n_substrates) if s not in quiet], dtype=np.int64)
        return self._live_subs

    def gradients(self, fields: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Spatial gradients of all substrates, with BioFVM's stencils.

        Central differences in the interior and one-sided differences in the first and last
        voxel of each line; the z component is 0 in 2D (and along any axis of one voxel).
        The differences are multiplied by ``1 / (2h)`` or ``1 / h`` where BioFVM divides,
        a round-off-level difference.

        Parameters
        ----------
        fields : numpy.ndarray
            Float64, C-contiguous, shape ``(n_substrates, nz, ny, nx)``.
        out : numpy.ndarray, optional
            Float64, C-contiguous, shape ``(n_substrates, nz, ny, nx, 3)`` to write into.

        Returns
        -------
        numpy.ndarray
            The gradients, shape ``(n_substrates, nz, ny, nx, 3)`` (``out`` if given).
        """
        if not (isinstance(fields, np.ndarray) and fields.dtype == np.float64
                and fields.shape == self.field_shape):
            self._check(fields)
        fields = np.ascontiguousarray(fields)
        shape = self.field_shape + (3,)
        if out is None:
            out = np.empty(shape)
        elif (
            not isinstance(out, np.ndarray)
            or out.shape != shape
            or out.dtype != np.float64
            or not out.flags.c_contiguous
        ):
            raise TropismInputError(
                "out must be a C-contiguous float64 array",
                field="out",
                value=getattr(out, "shape", None),
                allowed=f"shape {shape}",
            )
        m = self.mesh
        gradient_field(fields, out, m.dx, m.dy, m.dz)
        return out

