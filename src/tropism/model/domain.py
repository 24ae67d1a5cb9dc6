"""Where and when: the simulated box, the three clocks, saving and run options."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from ._base import NonNeg, Positive, Record


#: Diffusion steps per mechanics step, and mechanics steps per run, that a run may ask for.
MAX_SUBSTEPS = 1e5
MAX_MECHANICS_STEPS = 1e10
#: µm: no tissue model spans a kilometre; beyond it coordinates lose their precision.
MAX_EXTENT = 1e9


class Domain(Record):
    """Axis-aligned box (µm) split into voxels of size dx × dy × dz.

    In 2D (``use_2d``) there is one voxel layer in z and cells stay in the plane z = 0.
    """

    x_min: float = -500.0
    x_max: float = 500.0
    y_min: float = -500.0
    y_max: float = 500.0
    z_min: float = -10.0
    z_max: float = 10.0
    dx: Positive = 20.0
    dy: Positive = 20.0
    dz: Positive = 20.0
    use_2d: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> "Domain":
        for a in "xyz":
            lo, hi = getattr(self, f"{a}_min"), getattr(self, f"{a}_max")
            if not hi > lo:
                raise ValueError(f"{a}_max ({hi}) must be greater than {a}_min ({lo})")
            if max(abs(lo), abs(hi), getattr(self, f"d{a}")) > MAX_EXTENT:
                raise ValueError(f"{a} bounds and voxel size must lie within ±{MAX_EXTENT:.0e} µm (1 km); "
                                 f"got [{lo:g}, {hi:g}], d{a} = {getattr(self, f'd{a}'):g}")
        return self


class Clocks(Record):
    """PhysiCell's three time steps (min), the end time (min) and the diffusion integrator.

    ``diffusion_scheme`` is ``lod`` (BioFVM's, as PhysiCell) or ``douglas`` (its steady state
    does not move with ``dt_diffusion``; see :class:`tropism.tissue.diffusion.DiffusionSolver`).
    A settings file names it in ``<overall><diffusion_scheme>``, which PhysiCell ignores.
    """

    max_time: NonNeg = 1440.0
    dt_diffusion: Positive = 0.01
    dt_mechanics: Positive = 0.1
    dt_phenotype: Positive = 6.0
    diffusion_scheme: Literal["lod", "douglas"] = "lod"

    @model_validator(mode="after")
    def _nested(self) -> "Clocks":
        if not (self.dt_diffusion <= self.dt_mechanics <= self.dt_phenotype):
            raise ValueError(
                "time steps must satisfy dt_diffusion <= dt_mechanics <= dt_phenotype "
                f"(got {self.dt_diffusion}, {self.dt_mechanics}, {self.dt_phenotype})"
            )
        # beyond these a run never ends (PhysiCell's own samples use 10 and ~1e5)
        if self.dt_mechanics / self.dt_diffusion > MAX_SUBSTEPS:
            raise ValueError(f"dt_mechanics / dt_diffusion = {self.dt_mechanics / self.dt_diffusion:.3g} "
                             f"diffusion steps per mechanics step; at most {MAX_SUBSTEPS:.0e} are allowed")
        if self.max_time / self.dt_mechanics > MAX_MECHANICS_STEPS:
            raise ValueError(f"max_time / dt_mechanics = {self.max_time / self.dt_mechanics:.3g} mechanics steps; "
                             f"at most {MAX_MECHANICS_STEPS:.0e} are allowed")
        return self


class SaveOptions(Record):
    """What the run writes and how often (min)."""

    folder: str = "output"
    full_data_interval: Positive = 60.0
    full_data_enabled: bool = True
    svg_interval: Positive = 60.0
    svg_enabled: bool = False


class RunOptions(Record):
    """Seed, threads and domain-edge behaviour."""

    random_seed: int = 0
    omp_num_threads: int = 1
    virtual_wall_at_domain_edge: bool = True
    disable_automated_spring_adhesions: bool = False
