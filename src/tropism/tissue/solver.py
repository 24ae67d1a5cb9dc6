"""The agent-based tissue solver: agents in diffusing fields on PhysiCell's three clocks."""

from __future__ import annotations

import math

import numba
import numpy as np

from ..model import Model
from . import rng
from .agents import APOPTOTIC, LIVE, NECROTIC_LYSED, NECROTIC_SWELLING, Agents
from .diffusion import DiffusionSolver
from .interactions import FUSED, interact
from .mechanics import (cell_velocities, contact_counts, motility, spring_velocities, update_positions,
                        wall_velocities)
from .mesh import Mesh
from .neighbors import build_grid, grid_geometry, voxel_indices
from .parameters import AGENT_PARAMETERS, TypeTables
from .phenotype import death_and_cycle, update_volumes
from .registry import behaviour_target, read_signal
from .rules import apply_rules, compile_rules
from .arrivals import arrival_sites, poisson
from .reactions import conversion_weights, convert
from .secretion import compose_sources
from .support import check_memory, not_simulated

_VOLUME_FIELDS = ("volume", "nuclear_solid", "nuclear_fluid", "cyto_solid", "cyto_fluid")
_FACES = ("xmin", "xmax", "ymin", "ymax", "zmin", "zmax")
_INTERACTION_PARAMETERS = ("attack", "phag_live", "fusion", "phag_apoptotic", "phag_necrotic", "phag_other_dead")


#: Below both sizes a step runs on one thread (measured: 2-core machine, growth_2d case).
SERIAL_AGENTS = 3000
SERIAL_VOXELS = 8000


def _sphere_radius(volume: np.ndarray) -> np.ndarray:
    return np.cbrt(volume * (3.0 / (4.0 * math.pi)))


class TissueSolver:
    """Run a :class:`~tropism.model.Model` as agents in diffusing substrate fields.

    Parameters
    ----------
    model : Model
        The validated model (see :func:`tropism.load_model`).
    seed : int, optional
        Random seed; defaults to the model's ``options.random_seed``.

    Notes
    -----
    Each mechanics interval runs its diffusion sub-steps (with cell sources and sinks), the
    phenotype step when one is due (rules, volume, death, cycle, division, removal — at t = 0
    and every ``dt_phenotype``), then one mechanics step (forces, motility, contact
    interactions, position update), the order PhysiCell 1.14 uses.
    """

    def __init__(self, model: Model, seed: int | None = None) -> None:
        check_memory(model)  # before the first allocation: refuse rather than crash
        self.model = model
        self.seed = int(model.options.random_seed if seed is None else seed) & 0x7FFFFFFFFFFFFFFF
        d = model.domain
        self.use_2d = bool(d.use_2d)
        self.mesh = Mesh(x_min=d.x_min, x_max=d.x_max, y_min=d.y_min, y_max=d.y_max, z_min=d.z_min,
                         z_max=d.z_max, dx=d.dx, dy=d.dy, dz=d.dz, use_2d=d.use_2d)
        self.lo = np.array([d.x_min, d.y_min, d.z_min])
        self.hi = np.array([d.x_max, d.y_max, d.z_max])
        self.spacing = np.array([d.dx, d.dy, d.dz])
        self.shape = np.array(self.mesh.shape, dtype=np.int64)
        # the voxel layer's own lower corner (in 2D PhysiCell centres it on z = 0)
        self.mesh_lo = np.array([self.mesh.x_min, self.mesh.y_min, self.mesh.z_min])
        subs = model.substrates
        self.n_substrates = len(subs)
        self.n_types = len(model.cell_types)
        self.tables = TypeTables(model)
        c = model.clocks
        self.dt_diffusion, self.dt_mechanics, self.dt_phenotype = c.dt_diffusion, c.dt_mechanics, c.dt_phenotype
        self.diffusion_per_mechanics = max(1, int(round(c.dt_mechanics / c.dt_diffusion)))
        self.mechanics_per_phenotype = max(1, int(round(c.dt_phenotype / c.dt_mechanics)))
        self.fields = np.zeros((self.n_substrates,) + self.mesh.shape)
        for s, sub in enumerate(subs):
            self.fields[s] = sub.initial_condition
        enabled = np.zeros((self.n_substrates, 6), dtype=bool)
        values = np.zeros((self.n_substrates, 6))
        for s, sub in enumerate(subs):
            for f, face in enumerate(_FACES):
                enabled[s, f], values[s, f] = sub.face(face)
        if not any(sub.dirichlet_enabled for sub in subs):
            # PhysiCell creates boundary Dirichlet nodes only when some variable enables them
            enabled[:] = False
        self.diffusion = DiffusionSolver(self.mesh, np.array([s.diffusion_coefficient for s in subs]),
                                         np.array([s.decay_rate for s in subs]), self.dt_diffusion,
                                         enabled, values)
        if self.n_substrates:
            self.diffusion.apply_dirichlet(self.fields)
        self.rule_groups, _ = compile_rules(model)
        self.unsupported_rules = not_simulated(model)
        self.agents = Agents(self.n_substrates, self.n_types, len(self.tables.custom_names),
                             capacity=max(64, 2 * len(model.initial_cells)))
        self.time = 0.0
        self.mechanics_step = 0
        self.phenotype_step = 0
        self._slot_of = np.full(self.mesh.n_voxels, -1, dtype=np.int64)
        # scratch for the mechanics kernel's bin-ordered copies (grown with the agents)
        self._near = np.empty((0, 8))
        self._near_affinity = np.empty((0, max(self.n_types, 1)))
        self._sources = (np.zeros(0, np.int64), np.zeros((0, self.n_substrates)), np.zeros((0, self.n_substrates)))
        if model.random_cells_per_type:
            # PhysiCell's template places these before reading the cells CSV
            self.add_cells(*self.random_cells(model.random_cells_per_type))
        ic = model.initial_cells
        if len(ic):
            rows = self.add_cells(ic.positions, ic.types, volumes=ic.extra.get("volume"))
            self._set_csv_behaviours(rows, ic.extra)
        self._interactions_active = self._any_interaction()
        subs, names = model.substrate_names, model.cell_type_names
        self._conversions = [(subs.index(c.substrate), subs.index(c.product), float(c.km)) for c in model.conversions]
        self._conversion_types = [(names.index(c.cell_type), float(c.vmax)) for c in model.conversions]
        self._conversion_weights: list = []
        self._arrival_rates = np.array([a.rate_per_min for a in model.arrivals], dtype=float)
        self._arrival_types = np.array([names.index(a.cell_type) for a in model.arrivals], dtype=np.int64)
        self._arrival_weight = [subs.index(a.weight) if a.weight else -1 for a in model.arrivals]
        #: cells that entered through arrivals, per cell type (the body port's counter)
        self.arrived = np.zeros(self.n_types, dtype=np.int64)
        self._centers: np.ndarray | None = None
        self._contact_cache = None
        self._refresh_sources()

    # ----------------------------------------------------------------- agents
    @property
    def flat_fields(self) -> np.ndarray:
        """Fields as (n_substrates, n_voxels), a view sharing memory with ``fields``."""
        return self.fields.reshape(self.n_substrates, -1)

    def add_cells(self, positions: np.ndarray, types: np.ndarray, volumes: np.ndarray | None = None) -> np.ndarray:
        """Add live cells of the given types at the given positions (µm); returns their rows."""
        positions = np.asarray(positions, dtype=float).reshape(-1, 3)
        types = np.asarray(types, dtype=np.int64)
        a = self.agents
        rows = a.append(types.shape[0])
        r = np.arange(rows.start, rows.stop)
        a.type[r] = types
        a.position[r] = positions
        if self.use_2d:
            a.position[r, 2] = 0.0
        self._reset_rows(r, types, volumes)
        a.voxel[r] = self.mesh.voxel_index(a.position[r])
        self._interactions_active = self._any_interaction()
        return r

    def random_cells(self, per_type: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions and types of ``per_type`` cells of each type, uniform in the domain.

        As PhysiCell's template ``setup_tissue``: x, y (and z in 3D) uniform over the domain's
        bounding box, z = 0 in 2D, all cells of type 0 first. The draws are keyed by the seed
        and the cell's index, so a seed always gives the same layout.
        """
        n = per_type * self.n_types
        idx = np.arange(n, dtype=np.int64)
        pos = np.zeros((n, 3))
        for axis in range(2 if self.use_2d else 3):
            u = rng.uniform_array(self.seed, idx, axis, rng.STREAM_PLACEMENT)
            pos[:, axis] = self.lo[axis] + u * (self.hi[axis] - self.lo[axis])
        return pos, np.repeat(np.arange(self.n_types, dtype=np.int64), per_type)

    def _set_csv_behaviours(self, rows: np.ndarray, extra: dict[str, np.ndarray]) -> None:
        """Cells-CSV v2 columns named after a behaviour set that behaviour per cell (as PhysiCell)."""
        for label, values in extra.items():
            if label == "volume":
                continue
            beh = self.model.behaviour(label)
            target = None if beh is None else behaviour_target(*beh)
            if target is None:
                continue  # reported by not_simulated
            vals = np.asarray(values, dtype=float)
            ok = ~np.isnan(vals)
            self.agents.arrays[target[0]][rows[ok], target[1]] = vals[ok]

    def _reset_rows(self, r: np.ndarray, types: np.ndarray, volumes: np.ndarray | None = None) -> None:
        a, tb = self.agents, self.tables
        vol = tb.volume[types]
        total = vol[:, 0].copy()
        if volumes is not None:
            # an empty volume entry in a cells CSV means the type's default, as in PhysiCell
            given = np.asarray(volumes, dtype=float)
            ok = np.isfinite(given) & (given > 0.0)
            total[ok] = given[ok]
        scale = total / vol[:, 0]
        ff, nuclear = vol[:, 1], vol[:, 2] * scale
        fluid = ff * total
        a.volume[r] = total
        a.nuclear_fluid[r] = ff * nuclear
        a.nuclear_solid[r] = nuclear - ff * nuclear
        a.cyto_fluid[r] = fluid - ff * nuclear
        a.cyto_solid[r] = (total - nuclear) - (fluid - ff * nuclear)
        a.calcified_fraction[r] = vol[:, 6]
        # a volume given per cell (cells CSV) becomes that cell's target too, as in PhysiCell
        a.target_solid_nuclear[r] = a.nuclear_solid[r]
        a.target_cyto_to_nuclear[r] = (vol[:, 0] - vol[:, 2]) / np.maximum(vol[:, 2], 1e-12)
        a.target_fluid_fraction[r] = ff
        a.fluid_change_rate[r] = vol[:, 3]
        a.cyto_change_rate[r] = vol[:, 4]
        a.nuclear_change_rate[r] = vol[:, 5]
        a.calcification_rate[r] = vol[:, 7]
        a.rupture_volume[r] = vol[:, 8] * total
        a.radius[r] = _sphere_radius(total)
        a.phase[r] = 0
        a.phase_elapsed[r] = 0.0
        a.death_state[r] = LIVE
        a.death_elapsed[r] = 0.0
        a.attack_target[r] = -1
        a.motility_vector[r] = 0.0
        for name in AGENT_PARAMETERS:
            a.arrays[name][r] = tb.base[name][types]

    # ----------------------------------------------------------------- clocks
    def _grid(self):
        a = self.agents
        n = a.n
        rmax = float(a.radius[:n].max()) if n else 1.0
        rel = float(max(1.0, a.rel_max_adh[:n].max())) if n else 1.0
        size, dims = grid_geometry(self.lo, self.hi, 2.0 * rmax * rel, self.use_2d, n)
        start, order, _ = build_grid(a.position, n, self.lo, size, dims)
        return start, order, size, dims

    def _refresh_sources(self) -> None:
        a = self.agents
        n = a.n
        voxel_indices(a.position, n, self.mesh_lo, self.spacing, self.shape, a.voxel)
        if self.n_substrates == 0:
            return
        self._sources = compose_sources(n, a.voxel, a.volume, a.secretion, a.secretion_target, a.uptake,
                                        a.export, self.dt_diffusion, self.mesh.voxel_volume,
                                        self.mesh.n_voxels, self._slot_of)
        if self._conversions:
            live = a.death_state[:n] == LIVE
            self._conversion_weights = [
                conversion_weights(n, a.voxel, a.volume, a.type, live, t, vmax, self.mesh.voxel_volume,
                                   self.mesh.n_voxels, self._slot_of)
                for t, vmax in self._conversion_types]

    def _diffusion_steps(self, k: int) -> None:
        if self.n_substrates == 0 or k == 0:
            return
        vox, m, c = self._sources
        if not self._conversions:
            self.diffusion.step_with_sources(self.fields, k, vox, m, c)
            return
        flat = self.flat_fields
        for _ in range(k):  # conversions act between diffusion steps, so step one at a time
            self.diffusion.step_with_sources(self.fields, 1, vox, m, c)
            for (a, b, km), (cvox, w) in zip(self._conversions, self._conversion_weights):
                convert(flat, cvox, w, a, b, km, self.dt_diffusion)

    def step(self) -> None:
        """Advance one mechanics interval (dt_mechanics), with its diffusion and phenotype steps."""
        threads = numba.get_num_threads()
        small = self.agents.n < SERIAL_AGENTS and self.mesh.n_voxels * max(self.n_substrates, 1) < SERIAL_VOXELS
        if small and threads > 1:
            # a small tissue gains nothing from threads, and on a busy machine every parallel
            # launch can wait a scheduler slice for its second thread; results are identical
            numba.set_num_threads(1)
        try:
            self._step()
        finally:
            if small and threads > 1:
                numba.set_num_threads(threads)

    def _step(self) -> None:
        self._diffusion_steps(1)
        if self.mechanics_step % self.mechanics_per_phenotype == 0:
            self._phenotype()
        self._mechanics()
        if self._arrival_rates.size:
            self._arrivals()
        self._diffusion_steps(self.diffusion_per_mechanics - 1)
        self.mechanics_step += 1
        self.time = self.mechanics_step * self.dt_mechanics

    # ----------------------------------------------------------------- mechanics
    def _mechanics(self) -> None:
        a = self.agents
        n = a.n
        if n == 0:
            return
        dt = self.dt_mechanics
        start, order, size, dims = self._grid()
        if self._near.shape[0] < n:
            self._near = np.empty((a.capacity, 8))
            self._near_affinity = np.empty((a.capacity, self.n_types))
        cell_velocities(n, a.position, a.radius, a.type, a.repulsion[:, 0], a.adhesion[:, 0],
                        a.rel_max_adh[:, 0], a.affinity, start, order, self.lo, size, dims, a.velocity,
                        a.pressure, self._near, self._near_affinity)
        if self.model.options.virtual_wall_at_domain_edge:
            wall_velocities(n, a.position, a.radius, self.lo, self.hi, self.use_2d, a.velocity)
        tb = self.tables
        motility(n, self.seed, self.mechanics_step, dt, a.id, a.type, a.death_state, tb.motile, tb.motility_2d,
                 a.speed[:, 0], a.persistence[:, 0], a.bias[:, 0], a.chemo_sens, tb.normalize_gradients,
                 self.model.calculate_gradients, a.voxel, self.fields, self.shape, self.spacing, self.use_2d,
                 a.motility_vector, a.velocity)
        removed = np.zeros(n, dtype=np.int64)
        if self._interactions_active:
            absorbed_by = np.full(n, -1, dtype=np.int64)
            interact(n, self.seed, self.mechanics_step, dt, a.id, a.type, a.death_state, a.position, a.radius,
                     a.volume, a.rel_max_adh[:, 0], start, order, self.lo, size, dims, a.attack,
                     a.immunogenicity, a.attack_damage_rate[:, 0], a.attack_duration[:, 0], a.attack_target,
                     a.damage, a.total_attack_time, a.damage_delivered, a.phag_apoptotic[:, 0],
                     a.phag_necrotic[:, 0], a.phag_other_dead[:, 0], a.phag_live, a.fusion, removed,
                     absorbed_by)
            spring_velocities(n, a.position, a.type, a.attack_target, a.elastic_constant[:, 0], a.affinity,
                              a.velocity)
            self._absorb(removed, absorbed_by)
        update_positions(n, dt, a.position, a.velocity, a.previous_velocity, a.is_movable[:, 0], self.lo,
                         self.hi, self.use_2d, self.model.options.virtual_wall_at_domain_edge)
        if removed.any():
            a.compact(removed == 0)
        self._refresh_sources()

    def _any_interaction(self) -> bool:
        """Whether any agent can attack, eat or fuse (checked when behaviours change)."""
        a = self.agents
        n = a.n
        return any(np.any(a.arrays[c][:n] > 0.0) for c in _INTERACTION_PARAMETERS) or bool(
            np.any(a.attack_target[:n] >= 0))

    def _absorb(self, removed: np.ndarray, absorbed_by: np.ndarray) -> None:
        """Add eaten and fused cells to their eaters (PhysiCell's ingest_cell / fuse_cell)."""
        eaten = np.nonzero(removed)[0]
        if eaten.size == 0:
            return
        a = self.agents
        for j in eaten:  # a handful per step at most
            i = absorbed_by[j]
            if removed[j] == FUSED:
                w = a.volume[i] + a.volume[j]
                a.position[i] = (a.volume[i] * a.position[i] + a.volume[j] * a.position[j]) / w
                for name in _VOLUME_FIELDS[1:]:
                    a.arrays[name][i] += a.arrays[name][j]
                a.target_solid_nuclear[i] += a.target_solid_nuclear[j]
            else:
                # ingestion: all of the prey's matter joins the eater's cytoplasm; targets unchanged
                a.cyto_fluid[i] += a.nuclear_fluid[j] + a.cyto_fluid[j]
                a.cyto_solid[i] += a.nuclear_solid[j] + a.cyto_solid[j]
            a.volume[i] = sum(a.arrays[name][i] for name in _VOLUME_FIELDS[1:])
            a.radius[i] = _sphere_radius(a.volume[i])

    def _transform(self) -> None:
        """Live cells change type with probability rate·dt (PhysiCell's standard transformations)."""
        a, tb = self.agents, self.tables
        n = a.n
        rates = a.transform[:n]
        if not np.any(rates > 0.0):
            return
        live = a.death_state[:n] == LIVE
        new_type = np.full(n, -1, dtype=np.int64)
        for t in range(self.n_types):
            u = _uniforms(self.seed, a.id[:n], self.phenotype_step, t, rng.STREAM_TRANSFORM)
            hit = live & (new_type < 0) & (rates[:, t] > 0) & (u <= rates[:, t] * self.dt_phenotype)
            hit &= a.type[:n] != t
            new_type[hit] = t
        rows = np.nonzero(new_type >= 0)[0]
        if rows.size == 0:
            return
        new_types = new_type[rows]
        a.type[rows] = new_types
        for name in AGENT_PARAMETERS:
            a.arrays[name][rows] = tb.base[name][new_types]
        vol = tb.volume[new_types]
        a.target_solid_nuclear[rows] = vol[:, 2] * (1.0 - vol[:, 1])
        a.target_cyto_to_nuclear[rows] = (vol[:, 0] - vol[:, 2]) / np.maximum(vol[:, 2], 1e-12)
        a.target_fluid_fraction[rows] = vol[:, 1]
        a.phase[rows] = 0
        a.phase_elapsed[rows] = 0.0

    # ----------------------------------------------------------------- phenotype
    def _phenotype(self) -> None:
        a, tb = self.agents, self.tables
        n = a.n
        if n == 0:
            self.phenotype_step += 1
            return
        dt = self.dt_phenotype
        self._transform()
        if self.rule_groups:
            self._apply_rules()
        update_volumes(n, dt, a.volume, a.nuclear_solid, a.nuclear_fluid, a.cyto_solid, a.cyto_fluid,
                       a.calcified_fraction, a.target_solid_nuclear, a.target_cyto_to_nuclear,
                       a.target_fluid_fraction, a.fluid_change_rate, a.cyto_change_rate,
                       a.nuclear_change_rate, a.calcification_rate, a.radius)
        dmg_rate, repair = a.damage_rate[:n, 0], a.damage_repair_rate[:n, 0]
        if np.any(dmg_rate > 1e-8) or np.any(repair > 1e-8):
            a.damage[:n] = (a.damage[:n] + dt * dmg_rate) / (1.0 + dt * repair)
        divide = np.empty(n, dtype=bool)
        remove = np.empty(n, dtype=bool)
        newly_dead = np.empty(n, dtype=np.int64)
        death_and_cycle(n, self.seed, self.phenotype_step, dt, a.id, a.type, a.death_state, a.death_elapsed,
                        a.phase, a.phase_elapsed, a.cycle_rate, tb.n_phases, tb.phase_next, tb.phase_divides,
                        tb.phase_fixed, a.apoptosis_rate[:, 0], a.necrosis_rate[:, 0], tb.apoptosis_duration,
                        tb.necrosis_lysed_duration, a.volume, a.rupture_volume, divide, remove, newly_dead)
        lysed = np.nonzero((a.death_state[:n] == NECROTIC_LYSED) & (a.death_elapsed[:n] == 0.0))[0]
        if lysed.size:
            # a ruptured cell loses its fluid at the lysed rate (PhysiCell's lysed-phase entry)
            a.target_fluid_fraction[lysed] = 0.0
            a.fluid_change_rate[lysed] = tb.death_rates[a.type[lysed], 1, 1]
            # a lysed cell is inactive in BioFVM: it no longer exchanges with the fields
            for name in ("secretion", "uptake", "export"):
                a.arrays[name][lysed] = 0.0
        self._start_death(np.nonzero(newly_dead == 1)[0], APOPTOTIC)
        self._start_death(np.nonzero(newly_dead == 2)[0], NECROTIC_SWELLING)
        if remove.any():
            keep = ~remove
            a.compact(keep)
            divide = divide[keep]
        parents = np.nonzero(divide)[0]
        if parents.size:
            self._divide(parents)
        self._interactions_active = self._any_interaction()
        self.phenotype_step += 1

    def _start_death(self, rows: np.ndarray, state: int) -> None:
        if rows.size == 0:
            return
        a, tb = self.agents, self.tables
        k = 0 if state == APOPTOTIC else 1
        t = a.type[rows]
        rates = tb.death_rates[t, k]
        a.death_state[rows] = state
        a.attack_target[rows] = -1
        # PhysiCell's start_death: secretion and export off, uptake cut to a tenth, motility off.
        a.secretion[rows] = 0.0
        a.export[rows] = 0.0
        a.uptake[rows] *= 0.1
        a.speed[rows] = 0.0
        a.motility_vector[rows] = 0.0
        a.target_solid_nuclear[rows] = 0.0
        a.target_fluid_fraction[rows] = 0.0 if state == APOPTOTIC else 1.0
        a.fluid_change_rate[rows] = rates[:, 0]
        a.cyto_change_rate[rows] = rates[:, 2]
        a.nuclear_change_rate[rows] = rates[:, 3]
        a.calcification_rate[rows] = tb.death_calcification[t, k]
        a.rupture_volume[rows] = tb.rupture[t, k] * a.volume[rows]

    def _divide(self, parents: np.ndarray) -> None:
        a = self.agents
        m = parents.size
        rows = a.append(m)
        kids = np.arange(rows.start, rows.stop)
        for name, arr in a.arrays.items():
            if name != "id":
                arr[kids] = arr[parents]
        for name in _VOLUME_FIELDS:
            a.arrays[name][parents] *= 0.5
            a.arrays[name][kids] = a.arrays[name][parents]
        radius_before = a.radius[parents].copy()
        radius = _sphere_radius(a.volume[parents])
        a.radius[parents] = radius
        a.radius[kids] = radius
        ids = a.id[parents]
        # PhysiCell's offset: a random point on the unit sphere times the parent's radius; in 2D
        # its in-plane part (not renormalised). Daughter at x + u, parent at x − u/2.
        theta = 2.0 * np.pi * _uniforms(self.seed, ids, self.phenotype_step, 0)
        cz = 2.0 * _uniforms(self.seed, ids, self.phenotype_step, 1) - 1.0
        s = np.sqrt(np.maximum(0.0, 1.0 - cz * cz))
        u = np.stack([s * np.cos(theta), s * np.sin(theta), np.zeros(m) if self.use_2d else cz], axis=1)
        u *= radius_before[:, None]
        a.position[kids] = a.position[parents] + u
        a.position[parents] -= 0.5 * u
        a.total_attack_time[parents] = 0.0
        a.total_attack_time[kids] = 0.0
        a.attack_target[kids] = -1
        a.previous_velocity[kids] = 0.0
        a.motility_vector[kids] = 0.0
        a.phase_elapsed[kids] = 0.0
        a.voxel[kids] = self.mesh.voxel_index(a.position[kids])

    # ----------------------------------------------------------------- rules
    def _apply_rules(self) -> None:
        a = self.agents
        n = a.n
        types = a.type[:n]
        live = a.death_state[:n] == LIVE
        rows_of_type = [np.nonzero((types == t) & live)[0] for t in range(self.n_types)]
        dead_rows = [np.nonzero((types == t) & ~live)[0] for t in range(self.n_types)]
        self._contact_cache = None  # contact counts are computed once per rules pass, if read

        def signals(sig, rows):
            return read_signal(self, sig[0], sig[1], rows)

        apply_rules(self.rule_groups, self.tables.base, a.arrays, rows_of_type, dead_rows, signals)
        blocked = self.tables.no_secretion
        if blocked.any():  # a removed source stays removed whatever the rules say
            for t, s in zip(*np.nonzero(blocked)):
                rows = np.nonzero(types == t)[0]
                a.secretion[rows, s] = 0.0
                a.export[rows, s] = 0.0

    def contact_signals(self) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`contacts` of this rules pass (computed on first read)."""
        if self._contact_cache is None:
            self._contact_cache = self.contacts()
        return self._contact_cache

    def contacts(self) -> tuple[np.ndarray, np.ndarray]:
        """Neighbour counts within adhesion reach: (per type, per death state), each (n, k)."""
        a = self.agents
        n = a.n
        by_type = np.zeros((n, self.n_types))
        by_state = np.zeros((n, 4))
        if n:
            start, order, size, dims = self._grid()
            contact_counts(n, a.position, a.radius, a.type, a.death_state, a.rel_max_adh[:, 0], start, order,
                           self.lo, size, dims, self.n_types, by_type, by_state)
        return by_type, by_state

    def gradient_norm(self, substrate: int, rows: np.ndarray) -> np.ndarray:
        """|∇c| of one substrate in the voxels of the given agents (BioFVM's stencils)."""
        g = self.diffusion.gradients(self.fields)[substrate].reshape(-1, 3)
        return np.linalg.norm(g[self.agents.voxel[rows]], axis=1)

    # ----------------------------------------------------------------- exchange
    def set_arrival_rate(self, k: int, rate_per_min: float) -> None:
        """Set arrival ``k``'s rate (cells/min), e.g. from the body model at an exchange."""
        if not rate_per_min >= 0.0:
            raise ValueError(f"arrival rate must be >= 0 (got {rate_per_min!r})")
        self._arrival_rates[k] = float(rate_per_min)

    def _arrivals(self) -> None:
        """Add this mechanics step's arrivals (Poisson counts, sites ∝ weight)."""
        dt = self.dt_mechanics
        for k, rate in enumerate(self._arrival_rates):
            count = poisson(self.seed, k, self.mechanics_step, rate * dt)
            if count == 0:
                continue
            if self._centers is None:
                self._centers = self.mesh.centers()  # once per run, only if cells arrive
            w = self._arrival_weight[k]
            weights = np.maximum(self.flat_fields[w], 0.0) if w >= 0 else np.ones(self.mesh.n_voxels)
            cumulative = np.cumsum(weights)
            if cumulative[-1] <= 0.0:
                continue  # nowhere to enter (no vessels): the cells stay in the body
            pos = arrival_sites(self.seed, k, self.mechanics_step, count, cumulative, self._centers, self.spacing,
                                self.use_2d)
            pos = np.clip(pos, self.lo, self.hi)
            t = int(self._arrival_types[k])
            self.add_cells(pos, np.full(count, t, dtype=np.int64))
            self.arrived[t] += count
        self._refresh_sources()

    # ----------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything that the next steps depend on, as arrays (for checkpoints).

        Agents (every column, live rows only), fields, clocks and counters. Random draws are
        keyed by (seed, id, step, purpose), so restoring this continues the run exactly.
        """
        a = self.agents
        out = {f"agent.{k}": v[: a.n].copy() for k, v in a.arrays.items()}
        out.update({"fields": self.fields.copy(), "seed": np.int64(self.seed), "time": np.float64(self.time),
                    "mechanics_step": np.int64(self.mechanics_step),
                    "phenotype_step": np.int64(self.phenotype_step), "next_id": np.int64(a.next_id),
                    "n_agents": np.int64(a.n), "arrived": self.arrived.copy(),
                    "arrival_rates": self._arrival_rates.copy()})
        return out

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore a :meth:`state_dict` taken from a solver of the same model."""
        a = self.agents
        n = int(state["n_agents"])
        if state["fields"].shape != self.fields.shape:
            raise ValueError(f"checkpoint fields {state['fields'].shape} do not fit this model {self.fields.shape}")
        a.n = 0
        a.reserve(n)
        for k in a.arrays:
            a.arrays[k][:n] = state[f"agent.{k}"]
        a.n = n
        a.next_id = int(state["next_id"])
        self.fields[...] = state["fields"]
        self.seed = int(state["seed"])
        self.time = float(state["time"])
        self.mechanics_step = int(state["mechanics_step"])
        self.phenotype_step = int(state["phenotype_step"])
        self.arrived[...] = state["arrived"]
        self._arrival_rates[...] = state["arrival_rates"]
        self._interactions_active = self._any_interaction()
        self._refresh_sources()

    # ----------------------------------------------------------------- views
    def live_counts(self) -> np.ndarray:
        """Live agents per cell type."""
        a = self.agents
        n = a.n
        live = a.death_state[:n] == LIVE
        return np.bincount(a.type[:n][live], minlength=self.n_types)

    def phase_code(self) -> np.ndarray:
        """PhysiCell phase code of every agent (cycle phase, or 100/101/102 for the dead)."""
        a = self.agents
        n = a.n
        codes = self.tables.phase_code[a.type[:n], a.phase[:n]].copy()
        st = a.death_state[:n]
        codes[st == APOPTOTIC] = 100
        codes[st == NECROTIC_SWELLING] = 101
        codes[st == NECROTIC_LYSED] = 102
        return codes


def _uniforms(seed: int, ids: np.ndarray, step: int, k: int, stream: int = rng.STREAM_DIVISION) -> np.ndarray:
    return rng.uniform_array(seed, ids, step, stream, k)


def set_threads(threads: int | None) -> int:
    """Set the kernel thread count (None: all cores); returns the count in use."""
    if threads is not None:
        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    return numba.get_num_threads()
