"""Benchmark cases (the shared PhysiCell bench models, rebuilt in code) and their timing.

The cases mirror ``shared/bench`` of the steering repository: the same domains, clocks,
substrate and cell parameters, and the same packed layouts (hexagonal discs and fcc balls with
15.98 µm spacing, the N lattice points nearest the origin). ``run_case`` times the main loop
only — no set-up, no JIT compilation, no saves — as PhysiCell's "total wall time" does.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .geometry import packed_points, sphere_radius
from .model import (CellType, Clocks, Cycle, Domain, InitialCells, Model, Motility, PhaseLink,
                    SaveOptions, SecretionParameters, Substrate)
from .model.phenotype import default_apoptosis, default_necrosis

#: µm: 0.95 diameters of a 2494 µm³ cell (15.984), the spacing of the shared bench layouts
SPACING = 0.95 * 2.0 * float(sphere_radius(2494.0))

#: PhysiCell 1.14.2's loop on bench_models/rules_sample (s): median of 9 runs paired with tropism, 2026-12-01.
PHYSICELL_RULES_SAMPLE_LOOP_S = 41.0

#: name → (dimension, half-width µm, cells, max_time min, kind); PhysiCell 1.14.2's figures on
#: the reference 2-core machine (shared/bench/README.md).
CASES: dict[str, dict] = {
    "mech_2d_10k": dict(dim=2, half=1000.0, cells=10_000, max_time=120.0, physicell_agent=5.62e5),
    "mech_2d_50k": dict(dim=2, half=2100.0, cells=50_000, max_time=60.0, physicell_agent=4.00e5),
    "mech_3d_10k": dict(dim=3, half=400.0, cells=10_000, max_time=60.0, physicell_agent=1.91e5),
    "diffusion_2d": dict(dim=2, half=2100.0, cells=0, max_time=60.0, physicell_voxel=6.47e7),
    "diffusion_3d": dict(dim=3, half=400.0, cells=0, max_time=60.0, physicell_voxel=4.30e7),
    # a million cells in a 3D ball with three substrates (oxygen, a drug, a chemokine)
    "million_3d": dict(dim=3, half=1000.0, cells=1_000_000, max_time=0.5, substrates=3),
    # PhysiCell 1.14.2's rules_sample (6 types, 5 substrates, 27 rules), 1440 min, shipped in
    # bench_models/; PhysiCell's loop time is its "total wall time" on this project's 2-core
    # machine, 2 OpenMP threads, measured beside tropism (benchmarks/bench_rules_sample.py)
    "rules_sample": dict(model="rules_sample", cells=1300, physicell_loop_s=PHYSICELL_RULES_SAMPLE_LOOP_S),
}


def packed_positions(n: int, dim: int, spacing: float = SPACING) -> np.ndarray:
    """The ``n`` points of a hexagonal (2D) or fcc (3D) lattice nearest the origin
    (:func:`tropism.geometry.packed_points`)."""
    return packed_points(n, spacing, dim)


def case_model(name: str) -> Model:
    """Build one benchmark case as a model (no shared files needed)."""
    c = CASES[name]
    half, dim = c["half"], c["dim"]
    z = (-10.0, 10.0) if dim == 2 else (-half, half)
    domain = Domain(x_min=-half, x_max=half, y_min=-half, y_max=half, z_min=z[0], z_max=z[1],
                    dx=20, dy=20, dz=20, use_2d=dim == 2)
    diffusion_only = c["cells"] == 0
    oxygen = Substrate(name="oxygen", units="mmHg", diffusion_coefficient=1e5, decay_rate=0.1,
                       initial_condition=0.0 if diffusion_only else 38.0, dirichlet_enabled=True,
                       dirichlet_value=38.0)
    apoptosis = default_apoptosis().model_copy(update={"rate": 0.0})
    necrosis = default_necrosis().model_copy(update={"rate": 0.0})
    cell = CellType(name="probe" if diffusion_only else "tumor", id=0,
                    cycle=Cycle(code=5, name="live", links=[PhaseLink(start=0, end=0, rate=0.0)]),
                    apoptosis=apoptosis, necrosis=necrosis, motility=Motility(enabled=False, speed=0.0),
                    secretion={"oxygen": SecretionParameters(uptake_rate=0.0 if diffusion_only else 10.0,
                                                             secretion_target=0.0)})
    substrates = [oxygen]
    if c.get("substrates", 1) == 3:
        # a drug and a chemokine with generic-cytokine transport (PhysiCell cancer–immune sample)
        substrates += [Substrate(name=name, diffusion_coefficient=1000.0, decay_rate=0.016) for name in ("drug", "chemokine")]
        cell.secretion["chemokine"] = SecretionParameters(secretion_rate=0.1, secretion_target=1.0)
        cell.secretion["drug"] = SecretionParameters(uptake_rate=0.1)
    n = max(c["cells"], 1)
    positions = packed_positions(c["cells"], dim) if c["cells"] else np.zeros((1, 3))
    return Model(domain=domain, clocks=Clocks(max_time=c["max_time"]), substrates=substrates, cell_types=[cell],
                 save=SaveOptions(full_data_enabled=False),
                 initial_cells=InitialCells(positions=positions, types=np.zeros(n, dtype=np.int64)),
                 source=f"<bench:{name}>")


def bundled_model(name: str) -> Model:
    """A PhysiCell model shipped in ``tropism/bench_models/<name>/`` (warnings silenced)."""
    import warnings
    from .model.physicell import load_model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_model(Path(__file__).parent / "bench_models" / name / "PhysiCell_settings.xml")


def _warm_up(model: Model) -> None:
    # compile every kernel once on a tiny copy, so the timed loop measures running, not compiling
    from .tissue.solver import TissueSolver
    small = model.model_copy(deep=True)
    d = small.domain
    small.domain = d.model_copy(update={"x_min": -100.0, "x_max": 100.0, "y_min": -100.0, "y_max": 100.0,
                                        **({} if d.use_2d else {"z_min": -100.0, "z_max": 100.0})})
    small.initial_cells = InitialCells(positions=packed_positions(20, 3 if not d.use_2d else 2),
                                       types=np.zeros(20, dtype=np.int64))
    s = TissueSolver(small)
    for _ in range(2):
        s.step()


def run_case(name: str, threads: int | None = None, models_dir: str | Path | None = None) -> dict:
    """Time one case's main loop; returns a dict of figures (see ``tropism bench``)."""
    from .tissue.solver import TissueSolver, set_threads
    set_threads(threads)
    c = CASES.get(name, {})
    if models_dir is not None and (Path(models_dir) / name).is_dir():
        from .model.physicell import load_model
        model = load_model(Path(models_dir) / name / "PhysiCell_settings.xml")
    elif "model" in c:
        model = bundled_model(c["model"])
    else:
        model = case_model(name)
    _warm_up(model)
    solver = TissueSolver(model)
    n_steps = int(round(model.clocks.max_time / model.clocks.dt_mechanics))
    agent_steps = 0
    step_times = []
    t0 = time.perf_counter()
    for _ in range(n_steps):
        agent_steps += solver.agents.n
        ts = time.perf_counter()
        solver.step()
        step_times.append(time.perf_counter() - ts)
    wall = time.perf_counter() - t0
    voxels = solver.mesh.n_voxels
    diffusion_steps = n_steps * solver.diffusion_per_mechanics
    mech_case = c.get("cells", 1) > 0
    pc_loop = c.get("physicell_loop_s", 0.0)
    return {
        "case": name,
        "agents": int(solver.agents.n),
        "voxels": int(voxels),
        "substrates": int(solver.n_substrates),
        "mechanics_steps": n_steps,
        "diffusion_steps": diffusion_steps,
        "wall_s": wall,
        "agent_steps_per_s": agent_steps / wall if mech_case else 0.0,
        "voxel_updates_per_s": voxels * solver.n_substrates * diffusion_steps / wall,
        # for a whole model, PhysiCell's rate is the same agent-steps over its own loop time
        "physicell_agent_steps_per_s": agent_steps / pc_loop if pc_loop else c.get("physicell_agent", 0.0),
        "physicell_loop_s": pc_loop,
        "physicell_voxel_updates_per_s": c.get("physicell_voxel", 0.0),
        "threads": int(set_threads(None)),
        "mechanics_step_s": float(np.median(step_times)),
        "peak_rss_mib": _peak_rss_mib(),
    }


def _peak_rss_mib() -> float:
    try:
        import resource
    except ImportError:  # not on Windows
        return float("nan")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
