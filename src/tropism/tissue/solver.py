"""The agent-based tissue solver: agents in diffusing fields on PhysiCell's three clocks."""

from __future__ import annotations

import numpy as np

from ..model import FACES, Model
from . import population, rng, threads
from .agents import APOPTOTIC, LIVE, NECROTIC_LYSED, NECROTIC_SWELLING, Agents
from .arrivals import arrival_sites, poisson
from .diffusion import DiffusionSolver, douglas_substeps
from .mechanics import ContactCells, ForceOutput, ScanScratch, contact_counts, contact_grid, neighbour_forces
from .mesh import Mesh
from .neighbors import voxel_indices
from .parameters import TypeTables
from .reactions import conversion_weights
from .registry import behaviour_target, read_signal
from .rules import apply_rules, compile_rules
from .secretion import SecretingCells, compose_sources
from .standard import standard_schedule
from .support import check_memory, not_simulated
from .threads import set_threads  # noqa: F401  (tropism.set_threads, run_model)
from .vessels import compose_trusted, exchange_maps, exchange_rate

_INTERACTION_PARAMETERS = ("attack", "phag_live", "fusion", "phag_apoptotic", "phag_necrotic", "phag_other_dead")


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
    A step is the operations of :attr:`schedule` (see ``tissue.operations`` and
    ``tissue.standard``) on PhysiCell 1.14's clocks: each mechanics interval runs one
    diffusion step, the phenotype operations when due (rules, volume, death, cycle, division,
    removal — at t = 0 and every ``dt_phenotype``), the mechanics operations (neighbour list,
    forces, motility, contact interactions, positions), the exchange operations (arrivals,
    departures), then the rest of its diffusion steps.

    Attributes
    ----------
    schedule : Schedule
        The operations of each clock; add one with ``schedule.add``.
    arrived, departed : numpy.ndarray
        Cells that entered (arrivals) and left (departures) the tissue, per cell type: the
        body port's counters.
    departure_expected : numpy.ndarray
        The sum of every eligible cell's leaving probability over the steps, per type: how many
        cells the same tissue sheds on average (the rest of a tumour the domain holds a part of).
    bin_reach : float
        Bins of the neighbour scan cover this many ordinary extents (2: one pair's reach);
        another value changes the bins and the summation order, never the pairs.
    """

    bin_reach = 2.0

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
            for f, face in enumerate(FACES):
                enabled[s, f], values[s, f] = sub.face(face)
        if not any(sub.dirichlet_enabled for sub in subs):
            # PhysiCell creates boundary Dirichlet nodes only when some variable enables them
            enabled[:] = False
        D = np.array([s.diffusion_coefficient for s in subs])
        decay = np.array([s.decay_rate for s in subs])
        substeps = None
        if c.diffusion_scheme == "douglas" and self.n_substrates:
            spacing = (self.mesh.dx, self.mesh.dy) if self.mesh.use_2d else (self.mesh.dx, self.mesh.dy, self.mesh.dz)
            substeps = douglas_substeps(D, decay, self._source_stiffness(model), self.dt_diffusion, spacing,
                                        self.diffusion_per_mechanics)
        self.diffusion = DiffusionSolver(self.mesh, D, decay, self.dt_diffusion, enabled, values,
                                         scheme=c.diffusion_scheme, substeps=substeps)
        if self.n_substrates:
            self.diffusion.apply_dirichlet(self.fields)
        self.rule_groups, _ = compile_rules(model)
        self.unsupported_rules = not_simulated(model)
        self.schedule = standard_schedule(model)
        self.agents = Agents(self.n_substrates, self.n_types, len(self.tables.custom_names),
                             capacity=max(64, 2 * len(model.initial_cells)))
        self.time = 0.0
        self.mechanics_step = 0
        self.phenotype_step = 0
        #: per-step hand-over between operations (divisions marked, cells absorbed ...)
        self.scratch: dict = {}
        #: time-windowed behaviour scalings now applied (indices into model.interventions)
        self.windows_applied: set = set()
        self._slot_of = np.full(self.mesh.n_voxels, -1, dtype=np.int64)
        # scratch for the neighbour scan's bin-ordered copies and the neighbour list (grown)
        self._near = np.empty((0, 8))
        self._near_affinity = np.empty((0, max(self.n_types, 1)))
        self._nbr = np.empty((0, 32), dtype=np.int32)
        self._nbr_count = np.empty(0, dtype=np.int64)
        self._nbr_fresh = False
        self.sources = (np.zeros(0, np.int64), np.zeros((0, self.n_substrates)), np.zeros((0, self.n_substrates)))
        self._contact_cache = None
        subs_n, names = model.substrate_names, model.cell_type_names
        self.conversion_pairs = [(subs_n.index(c.substrate), subs_n.index(c.product), float(c.km))
                                 for c in model.conversions]
        self._conversion_types = [(names.index(c.cell_type), float(c.vmax)) for c in model.conversions]
        self.conversion_weights: list = []
        self._arrival_rates = np.array([a.rate_per_min for a in model.arrivals], dtype=float)
        self._arrival_types = np.array([names.index(a.cell_type) for a in model.arrivals], dtype=np.int64)
        self.arrived = np.zeros(self.n_types, dtype=np.int64)
        self.departed = np.zeros(self.n_types, dtype=np.int64)
        self.departure_expected = np.zeros(self.n_types)
        #: cells that started to die carrying damage, by the type of the last cell that damaged them
        self.kills = np.zeros(self.n_types, dtype=np.int64)
        #: damage at which a death counts as a kill, per victim type: the half-max of its rule
        #: "damage increases apoptosis" (none: its deaths are never kills)
        self.kill_damage = np.full(self.n_types, np.inf)
        #: whether some rule sets death-receptor apoptosis (the death step then adds it)
        self.receptor_death = any(rule.behaviour_kind == "death_receptor_apoptosis" for rule in model.rules)
        for rule in model.rules:
            if (rule.signal_kind == "damage" and rule.behaviour_kind == "apoptosis" and rule.direction == "increases"
                    and not rule.multiplies):
                k = names.index(rule.cell_type)
                self.kill_damage[k] = min(self.kill_damage[k], rule.half_max)
        self._centers: np.ndarray | None = None
        vb = model.vessels
        #: vessel surface per tissue volume in each voxel (1/µm), flat
        self.vessel_density = np.full(self.mesh.n_voxels, vb.surface_density if vb else 0.0)
        self.permeability = np.array([vb.permeability.get(n, 0.0) if vb else 0.0 for n in subs_n])
        self.plasma = np.array([vb.plasma.get(n, 0.0) if vb else 0.0 for n in subs_n])
        self._vessel_maps = None
        #: amount of each substrate that crossed the vessel walls into the blood so far (negative:
        #: taken up from plasma), summed over diffusion steps for the substrates a port reads
        self.vessel_exchanged = np.zeros(self.n_substrates)
        self._exchange_tracked = np.zeros(self.n_substrates, dtype=bool)
        if model.random_cells_per_type:
            # PhysiCell's template places these before reading the cells CSV
            self.add_cells(*self.random_cells(model.random_cells_per_type))
        ic = model.initial_cells
        if len(ic):
            rows = self.add_cells(ic.positions, ic.types, volumes=ic.extra.get("volume"))
            self._set_csv_behaviours(rows, ic.extra)
        if vb is not None and vb.region_type and len(ic):
            # the tumour's own bed where its starting cells are
            held = self.mesh.voxel_index(ic.positions[ic.types == names.index(vb.region_type)])
            self.vessel_density[np.unique(held)] = vb.region_density
        self.interactions_active = self._any_interaction()
        self.refresh_sources()

    # ----------------------------------------------------------------- agents
    @property
    def flat_fields(self) -> np.ndarray:
        """Fields as (n_substrates, n_voxels), a view sharing memory with ``fields``."""
        return self.fields.reshape(self.n_substrates, -1)

    def add_cells(self, positions: np.ndarray, types: np.ndarray, volumes: np.ndarray | None = None) -> np.ndarray:
        """Add live cells of the given types at the given positions (µm); returns their rows."""
        r = population.add(self.agents, self.tables, positions, types, self.use_2d, volumes)
        a = self.agents
        a.voxel[r] = self.mesh.voxel_index(a.position[r])
        self.interactions_active = self._any_interaction()
        self.positions_changed()
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

    def positions_changed(self) -> None:
        """Agents moved, came or went: the neighbour list must be rebuilt before it is read."""
        self._nbr_fresh = False

    # ----------------------------------------------------------------- neighbours
    def _grid(self):
        a = self.agents
        n = a.n
        return contact_grid(a.position, a.radius, a.rel_max_adh[:, 0], n, self.lo, self.hi, self.use_2d,
                            self.bin_reach)

    def neighbours(self, with_forces: bool = False, with_list: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Build the neighbour list (and, ``with_forces``, the mechanics velocities and pressure).

        Returns ``(nbr, count)``: agent i's neighbours are ``nbr[i, :count[i]]`` in bin order.
        ``with_list=False`` only sums the forces (a step in which nothing reads the list).
        """
        a = self.agents
        n = a.n
        if self._near.shape[0] < n:
            self._near = np.empty((a.capacity, 8))
            self._near_affinity = np.empty((a.capacity, self.n_types))
        if self._nbr.shape[0] < n:
            self._nbr = np.empty((a.capacity, self._nbr.shape[1]), dtype=np.int32)
            self._nbr_count = np.zeros(a.capacity, dtype=np.int64)
        grid = self._grid()
        while True:
            neighbour_forces(n, ContactCells.of(a), grid, ForceOutput(a.velocity, a.pressure, self._nbr, self._nbr_count),
                             ScanScratch(self._near, self._near_affinity), with_forces=with_forces,
                             with_list=with_list)
            if not with_list:
                self._nbr_fresh = False
                return self._nbr, self._nbr_count
            widest = int(self._nbr_count[:n].max()) if n else 0
            if widest <= self._nbr.shape[1]:
                break
            # a crowded tissue: widen the list and scan again (forces are overwritten, not summed)
            self._nbr = np.empty((self._nbr.shape[0], widest + 8), dtype=np.int32)
        self._nbr_fresh = True
        return self._nbr, self._nbr_count

    def neighbour_list(self) -> tuple[np.ndarray, np.ndarray]:
        """The current neighbour list, rebuilt (without forces) if agents moved since."""
        if not self._nbr_fresh:
            return self.neighbours(with_forces=False)
        return self._nbr, self._nbr_count

    # ----------------------------------------------------------------- clocks
    def refresh_sources(self) -> None:
        """Voxel of each agent, and the per-voxel source maps of cells (and vessels) for diffusion."""
        a = self.agents
        n = a.n
        voxel_indices(a.position, n, self.mesh_lo, self.spacing, self.shape, a.voxel)
        if self.n_substrates == 0:
            return
        cells = compose_sources(n, SecretingCells.of(a), self.dt_diffusion, self.mesh.voxel_volume,
                                self.mesh.n_voxels, self._slot_of)
        vessels = self._vessels()
        self.sources = cells if vessels is None else compose_trusted(cells, vessels, self.mesh.n_voxels)
        if self.conversion_pairs:
            live = a.death_state[:n] == LIVE
            self.conversion_weights = [
                conversion_weights(n, a.voxel, a.volume, a.type, live, t, vmax, self.mesh.voxel_volume,
                                   self.mesh.n_voxels, self._slot_of)
                for t, vmax in self._conversion_types]

    def _vessels(self):
        if self._vessel_maps is None:  # rebuilt only when the bed or plasma levels change
            active = np.any(self.permeability > 0.0) and np.any(self.vessel_density > 0.0)
            self._vessel_maps = (exchange_maps(self.vessel_density, self.permeability, self.plasma, self.dt_diffusion)
                                 if active else False)
        return None if self._vessel_maps is False else self._vessel_maps  # False: no vessel exchanges anything

    def step(self) -> None:
        """Advance one mechanics interval (dt_mechanics), with its diffusion and phenotype steps."""
        with threads.for_step(self):  # all threads or one, whichever is faster now (tissue/threads.py)
            self._step()

    def _step(self) -> None:
        sch = self.schedule
        if self.n_substrates:
            sch.run_diffusion(self, 1)
        if self.mechanics_step % self.mechanics_per_phenotype == 0:
            if self.agents.n:
                sch.run("phenotype", self)
                self.interactions_active = self._any_interaction()
            self.phenotype_step += 1
        if self.agents.n:
            sch.run("mechanics", self)
        sch.run("exchange", self)
        self.scratch.clear()
        if self.n_substrates:
            sch.run_diffusion(self, self.diffusion_per_mechanics - 1)
        self.mechanics_step += 1
        self.time = self.mechanics_step * self.dt_mechanics

    def _source_stiffness(self, model) -> np.ndarray:
        """Per substrate, the largest rate (1/min) at which cells or vessels may pull it to a
        level: uptake and secretion rates of every type, the most a rule can raise them to, and
        vessel exchange (what :func:`~tropism.tissue.diffusion.douglas_substeps` weighs)."""
        b = self.tables.base
        stiff = np.zeros(self.n_substrates)
        if self.n_types:
            stiff = np.maximum(b["uptake"][: self.n_types].max(axis=0), b["secretion"][: self.n_types].max(axis=0))
        for r in model.rules:
            beh = model.behaviour(r.behavior)
            target = None if beh is None else behaviour_target(*beh)
            if target is not None and target[0] in ("uptake", "secretion") and r.direction == "increases":
                if r.multiplies:  # after the other rows: a fold on the most they make
                    continue
                stiff[target[1]] = max(stiff[target[1]], r.saturation)
        for r in model.rules:
            beh = model.behaviour(r.behavior)
            target = None if beh is None else behaviour_target(*beh)
            if r.multiplies and target is not None and target[0] in ("uptake", "secretion") and r.direction == "increases":
                stiff[target[1]] *= r.saturation
        vb = model.vessels
        if vb is not None:
            # the densest the bed can become: its start, the region's, or what vessels grow to
            most = max(vb.surface_density, vb.region_density,
                       vb.angiogenesis.max_density if vb.angiogenesis is not None else 0.0)
            for name, perm in vb.permeability.items():
                stiff[model.substrate_names.index(name)] += perm * most
        return stiff

    def scale_behaviour(self, iv, factor: float, cells: bool = True) -> None:
        """Scale the behaviour a ``scale_behaviour`` intervention names by ``factor``: the types'
        base value, their rule curves (a rule's saturation of it) and, with ``cells``, the value
        their live and dead cells hold now."""
        param, col = behaviour_target(*self.model.behaviour(iv.target))
        names = self.model.cell_type_names
        types = [names.index(t) for t in iv.cell_types] if iv.cell_types else list(range(len(names)))
        self.tables.base[param][types, col] *= factor
        if cells:
            a = self.agents
            self.agents.arrays[param][np.nonzero(np.isin(a.type[: a.n], types))[0], col] *= factor
        for g in self.rule_groups:
            if g.cell_type in types and g.parameter == param and g.column == col:
                g.max_value = None if g.max_value is None else g.max_value * factor
                g.min_value = None if g.min_value is None else g.min_value * factor

    def signal_scale(self, substrate: str, cell_type: str | None = None) -> float:
        """What the blockades acting now leave of a signal: Π (1 − efficacy) over the
        ``block_signal`` interventions on ``substrate`` active at this time whose scope holds
        ``cell_type`` (``None``: those that name no cell type, e.g. a blockade read by vessels)."""
        left = 1.0
        for iv in self.model.interventions:
            if iv.kind != "block_signal" or iv.target != substrate or not iv.active(self.time):
                continue
            if (cell_type is None and not iv.cell_types) or (cell_type is not None and
                                                              (not iv.cell_types or cell_type in iv.cell_types)):
                left *= 1.0 - iv.efficacy
        return left

    def grow_vessels(self, dt: float) -> None:
        """Step the vessel bed's density by ``dt`` minutes: carried (and thinned) by the growing
        tissue, then angiogenesis and regression."""
        from .angiogenesis import advect_density, necrotic_share, step_density, tissue_velocity
        angio = self.model.vessels.angiogenesis
        a = self.agents
        n = a.n
        sig = self.flat_fields[self.model.substrate_names.index(angio.signal)]
        nec = necrotic_share(self.mesh.n_voxels, a.voxel[:n], a.death_state[:n])
        bed = self.vessel_density
        if n:
            # the cells' pushing, not their own crawling, moves the tissue the vessels are part of
            pushed = a.velocity[:n] - a.motility_vector[:n]
            w = tissue_velocity(self.mesh.n_voxels, a.voxel[:n], a.volume[:n], pushed, self.mesh.voxel_volume)
            bed = advect_density(bed, w, self.mesh.shape, (self.mesh.dx, self.mesh.dy, self.mesh.dz), dt)
        new = step_density(bed, sig, nec, angio, dt, self.signal_scale(angio.signal))
        if not np.array_equal(new, self.vessel_density):
            self.vessel_density = new
            self._vessel_maps = None  # the sources are composed anew at the next refresh

    def _any_interaction(self) -> bool:
        """Whether any agent can attack, eat or fuse (checked when behaviours change)."""
        a = self.agents
        n = a.n
        return any(np.any(a.arrays[c][:n] > 0.0) for c in _INTERACTION_PARAMETERS) or bool(
            np.any(a.attack_target[:n] >= 0))

    # ----------------------------------------------------------------- rules
    def apply_rules(self) -> None:
        """Set every ruled behaviour from its signals (the registry reads them)."""
        a = self.agents
        n = a.n
        types = a.type[:n]
        live = a.death_state[:n] == LIVE
        rows_of_type = [np.nonzero((types == t) & live)[0] for t in range(self.n_types)]
        dead_rows = [np.nonzero((types == t) & ~live)[0] for t in range(self.n_types)]
        self._contact_cache = None  # contact counts are computed once per rules pass, if read

        def signals(sig, rows):
            return read_signal(self, sig[0], sig[1], rows)

        apply_rules(self.rule_groups, self.tables.base, a.arrays, rows_of_type, dead_rows, signals, self.time)
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
            nbr, count = self.neighbour_list()
            contact_counts(n, a.position, a.radius, a.type, a.death_state, a.rel_max_adh[:, 0], nbr, count,
                           self.n_types, by_type, by_state)
        return by_type, by_state

    def gradient_norm(self, substrate: int, rows: np.ndarray) -> np.ndarray:
        """|∇c| of one substrate in the voxels of the given agents (BioFVM's stencils)."""
        g = self.diffusion.gradients(self.fields)[substrate].reshape(-1, 3)
        return np.linalg.norm(g[self.agents.voxel[rows]], axis=1)

    # ----------------------------------------------------------------- exchange (body port)
    def set_arrival_rate(self, k: int, rate_per_min: float) -> None:
        """Set arrival ``k``'s rate (cells/min), e.g. from the body model at an exchange."""
        if not rate_per_min >= 0.0:
            raise ValueError(f"arrival rate must be >= 0 (got {rate_per_min!r})")
        self._arrival_rates[k] = float(rate_per_min)

    def set_plasma(self, substrate: int, value: float) -> None:
        """Set the plasma level of one substrate (the vessels' boundary value)."""
        if not value >= 0.0:
            raise ValueError(f"plasma level must be >= 0 (got {value!r})")
        if self.plasma[substrate] != value:
            self.plasma[substrate] = float(value)
            self._vessel_maps = None
            self.refresh_sources()

    def set_vessel_density(self, density: np.ndarray) -> None:
        """Set the vessel surface density of every voxel (1/µm), e.g. a drawn vessel bed."""
        d = np.asarray(density, dtype=float).reshape(-1)
        if d.shape != (self.mesh.n_voxels,) or not np.all(np.isfinite(d)) or np.any(d < 0.0):
            raise ValueError(f"vessel density must be {self.mesh.n_voxels} finite values >= 0 (one per voxel)")
        self.vessel_density = d.copy()
        self._vessel_maps = None
        self.refresh_sources()

    def track_vessel_exchange(self, substrate: int) -> None:
        """Sum what substrate ``substrate`` exchanges with the blood in every diffusion step
        (:attr:`vessel_exchanged`): a body port reads it."""
        self._exchange_tracked[substrate] = True

    def vessel_release(self) -> np.ndarray:
        """Amount of each substrate passing from tissue into blood per minute, now."""
        return exchange_rate(self.flat_fields, self.vessel_density, self.permeability, self.plasma,
                             self.mesh.voxel_volume)

    def tracked_release(self) -> np.ndarray:
        """:meth:`vessel_release` of the tracked substrates only (0 for the others), without the
        public function's checks: the diffusion operation calls it around every batch."""
        out = np.zeros(self.n_substrates)
        rows = np.nonzero(self._exchange_tracked)[0]
        if self._vessels() is None or rows.size == 0:
            return out
        vox = self._vessel_maps[0]
        u = self.flat_fields[rows][:, vox]
        out[rows] = self.mesh.voxel_volume * self.permeability[rows] * (
            (u - self.plasma[rows, None]) @ self.vessel_density[vox])
        return out

    def _arrival_weights(self, k: int) -> np.ndarray:
        arrival = self.model.arrivals[k]
        name, subs, types = arrival.weight, self.model.substrate_names, self.model.cell_type_names
        if name in subs:  # a substrate of that name comes first
            w = np.maximum(self.flat_fields[subs.index(name)], 0.0)
        elif name == "vessel density":
            w = self.vessel_density
        elif name in types:
            a = self.agents
            n = a.n
            live = (a.type[:n] == types.index(name)) & (a.death_state[:n] == LIVE)
            w = np.bincount(a.voxel[:n][live], minlength=self.mesh.n_voxels).astype(np.float64)
        else:
            w = np.ones(self.mesh.n_voxels)
        if arrival.within:
            a = self.agents
            n = a.n
            live = (a.type[:n] == types.index(arrival.within)) & (a.death_state[:n] == LIVE)
            w = w * (np.bincount(a.voxel[:n][live], minlength=self.mesh.n_voxels) > 0)
        if arrival.adhesion:
            u = np.maximum(self.flat_fields[subs.index(arrival.adhesion)], 0.0)
            b = arrival.adhesion_basal
            w = w * (b + (1.0 - b) * u / (u + arrival.adhesion_half_max))
            ref = arrival.adhesion_reference
            if ref > 0.0:
                w = w / (b + (1.0 - b) * ref / (ref + arrival.adhesion_half_max))
        return w

    def recruit(self) -> None:
        """Set the rate of each arrival recruited by vessel wall (``per_vessel_area_per_min``):
        that coefficient × the weighted vessel surface, Σ weight × voxel volume (µm²)."""
        for k, arrival in enumerate(self.model.arrivals):
            if arrival.per_vessel_area_per_min > 0.0:
                area = float(self._arrival_weights(k).sum()) * self.mesh.voxel_volume
                self._arrival_rates[k] = arrival.per_vessel_area_per_min * area

    def add_arrivals(self) -> None:
        """Add this mechanics step's arrivals (Poisson counts, sites ∝ weight)."""
        dt = self.dt_mechanics
        added = False
        for k, rate in enumerate(self._arrival_rates):
            count = poisson(self.seed, k, self.mechanics_step, rate * dt)
            if count == 0:
                continue
            if self._centers is None:
                self._centers = self.mesh.centers()  # once per run, only if cells arrive
            cumulative = np.cumsum(self._arrival_weights(k))
            if cumulative[-1] <= 0.0:
                continue  # nowhere to enter (no vessels): the cells stay in the body
            pos = arrival_sites(self.seed, k, self.mechanics_step, count, cumulative, self._centers, self.spacing,
                                self.use_2d)
            pos = np.clip(pos, self.lo, self.hi)
            t = int(self._arrival_types[k])
            self.add_cells(pos, np.full(count, t, dtype=np.int64))
            self.arrived[t] += count
            added = True
        if added:  # the positions operation composed the sources just before
            self.refresh_sources()

    def remove_departures(self) -> None:
        """Live cells in voxels with vessels leave with probability 1 − exp(−r·dt), r their
        intravasation rate; they are counted per type in :attr:`departed` for the body."""
        a = self.agents
        n = a.n
        if n == 0:
            return
        rate = a.intravasation[:n, 0]
        rows = np.flatnonzero((rate > 0.0) & (a.death_state[:n] == LIVE))
        rows = rows[self.vessel_density[a.voxel[rows]] > 0.0]
        if rows.size == 0:
            return
        # draws keyed by agent id: drawing for the eligible rows only gives each the same number
        u = rng.uniform_array(self.seed, a.id[rows], self.mechanics_step, rng.STREAM_DEPARTURE, 0)
        p = -np.expm1(-rate[rows] * self.dt_mechanics)
        self.departure_expected += np.bincount(a.type[rows], weights=p, minlength=self.n_types)
        leave = np.zeros(n, dtype=bool)
        leave[rows[u < p]] = True
        if not leave.any():
            return
        self.departed += np.bincount(a.type[:n][leave], minlength=self.n_types)
        population.remove(a, leave)
        self.positions_changed()
        self.refresh_sources()

    # ----------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything that the next steps depend on, as arrays (for checkpoints).

        Agents (every column, live rows only), fields, clocks, counters and the vessel bed.
        Random draws are keyed by (seed, id, step, purpose), so restoring this continues the
        run exactly.
        """
        a = self.agents
        out = {f"agent.{k}": v[: a.n].copy() for k, v in a.arrays.items()}
        out.update({"fields": self.fields.copy(), "seed": np.int64(self.seed), "time": np.float64(self.time),
                    "mechanics_step": np.int64(self.mechanics_step),
                    "phenotype_step": np.int64(self.phenotype_step), "next_id": np.int64(a.next_id),
                    "n_agents": np.int64(a.n), "arrived": self.arrived.copy(), "departed": self.departed.copy(),
                    "departure_expected": self.departure_expected.copy(), "kills": self.kills.copy(),
                    "arrival_rates": self._arrival_rates.copy(), "plasma": self.plasma.copy(),
                    "vessel_density": self.vessel_density.copy(), "vessel_exchanged": self.vessel_exchanged.copy()})
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
        # a checkpoint falls between mechanics steps: the diffusion steps of those taken
        self.diffusion.steps_taken = self.mechanics_step * self.diffusion_per_mechanics
        self.phenotype_step = int(state["phenotype_step"])
        self.arrived[...] = state["arrived"]
        self._arrival_rates[...] = state["arrival_rates"]
        for key, arr in (("departed", self.departed), ("departure_expected", self.departure_expected),
                         ("kills", self.kills),
                         ("plasma", self.plasma), ("vessel_density", self.vessel_density),
                         ("vessel_exchanged", self.vessel_exchanged)):
            if key in state:  # absent in checkpoints written before vessels existed
                arr[...] = state[key]
        self._vessel_maps = None
        # windowed scalings open at this time: the restored cells carry them, the tables not yet
        self.windows_applied = set()
        for k, iv in enumerate(self.model.interventions):
            if iv.kind == "scale_behaviour" and iv.windowed and iv.active(self.time):
                self.scale_behaviour(iv, max(iv.factor, 1e-12), cells=False)  # as standard.windows
                self.windows_applied.add(k)
        self.interactions_active = self._any_interaction()
        self.positions_changed()
        self.refresh_sources()

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
