"""PhysiCell 1.14's standard operations, as a :class:`~tropism.tissue.operations.Schedule`.

Each function is one operation of :func:`standard_schedule`; it reads and writes the solver's
agents and fields through the kernels. The order of each clock is PhysiCell 1.14's.
"""

from __future__ import annotations

import numpy as np

from . import population, rng
from .interactions import interact
from .mechanics import motility, spring_velocities, update_positions, wall_velocities
from .operations import Operation, Schedule
from .phenotype import VolumeArrays, death_and_cycle, update_volumes
from .reactions import convert
from .states import APOPTOTIC, LIVE, NECROTIC_LYSED, NECROTIC_SWELLING


# ----------------------------------------------------------------------------- diffusion
def diffuse(s, n_steps: int) -> None:
    """LOD diffusion–decay steps with the composed cell and vessel sources.

    For substrates a body port reads, the exchange with the blood over the steps is summed in
    ``s.vessel_exchanged``: the trapezoid of the exchange rate before and after the steps (the
    exchange is implicit in each step; this is its integral to second order in the batch).
    """
    vox, m, c = s.sources
    tracked = s._exchange_tracked.any() and s._vessels() is not None
    if tracked:
        before = s.tracked_release()
    s.diffusion.step_with_sources(s.fields, n_steps, vox, m, c)
    if tracked:
        s.vessel_exchanged += 0.5 * (before + s.tracked_release()) * (n_steps * s.dt_diffusion)


def conversions(s, n_steps: int) -> None:
    """Cell-catalysed conversion A → B after each diffusion step."""
    flat = s.flat_fields
    for _ in range(n_steps):
        for (a, b, km), (cvox, w) in zip(s.conversion_pairs, s.conversion_weights):
            convert(flat, cvox, w, a, b, km, s.dt_diffusion)


# ----------------------------------------------------------------------------- phenotype
def windows(s) -> None:
    """Scalings of a behaviour with a time window: applied to the types' base value and their
    cells when the window opens, undone when it closes (rules keep acting on top)."""
    for k, iv in enumerate(s.model.interventions):
        if iv.kind != "scale_behaviour" or not iv.windowed:
            continue
        on = iv.active(s.time)
        if on == (k in s.windows_applied):
            continue
        # a full block scales by 1e-12, not 0, so that closing the window restores the values
        f = max(iv.factor, 1e-12)
        s.scale_behaviour(iv, f if on else 1.0 / f)
        if on:
            s.windows_applied.add(k)
        else:
            s.windows_applied.discard(k)


def irradiate(s) -> None:
    """Irradiations due in this phenotype interval: every live cell of the named types dies
    (apoptosis) with probability 1 − exp(−α·D − β·D²), the linear-quadratic survival."""
    a = s.agents
    n = a.n
    t, dt = s.time, s.dt_phenotype
    for k, iv in enumerate(s.model.interventions):
        if iv.kind != "irradiate" or not (t - dt < iv.start_min <= t or (iv.start_min == 0.0 and t == 0.0)):
            continue
        names = s.model.cell_type_names
        types = [names.index(x) for x in iv.cell_types] if iv.cell_types else list(range(len(names)))
        hit = np.isin(a.type[:n], types) & (a.death_state[:n] == LIVE)
        p_die = -np.expm1(-(iv.alpha_per_gy * iv.dose_gy + iv.beta_per_gy2 * iv.dose_gy ** 2))
        u = rng.uniform_array(s.seed, a.id[:n], s.phenotype_step, rng.STREAM_IRRADIATION, k)
        population.start_death(a, s.tables, np.nonzero(hit & (u < p_die))[0], APOPTOTIC)


def vessels(s) -> None:
    """The vessel bed grows with its angiogenic signal and regresses without it."""
    s.grow_vessels(s.dt_phenotype)


def transform(s) -> None:
    rows = population.transform(s.agents, s.tables, s.seed, s.phenotype_step, s.dt_phenotype)
    if rows.size:
        s.scratch["transformed"] = rows


def rules(s) -> None:
    if s.rule_groups:
        s.apply_rules()


def volume(s) -> None:
    a = s.agents
    update_volumes(a.n, s.dt_phenotype, VolumeArrays.of(a))


def damage(s) -> None:
    a = s.agents
    n, dt = a.n, s.dt_phenotype
    dmg_rate, repair = a.damage_rate[:n, 0], a.damage_repair_rate[:n, 0]
    if np.any(dmg_rate > 1e-8) or np.any(repair > 1e-8):
        a.damage[:n] = (a.damage[:n] + dt * dmg_rate) / (1.0 + dt * repair)


def death_cycle(s) -> None:
    """Death and cycle transitions; divisions and removals are marked for the next operations."""
    a, tb = s.agents, s.tables
    n = a.n
    divide = np.empty(n, dtype=bool)
    remove = np.empty(n, dtype=bool)
    newly_dead = np.empty(n, dtype=np.int64)
    # the death-receptor route is summed in only where a rule sets it (no copy for other models)
    apoptosis = a.apoptosis_rate[:n, 0] + a.receptor_apoptosis_rate[:n, 0] if s.receptor_death else a.apoptosis_rate[:, 0]
    death_and_cycle(n, (s.seed, s.phenotype_step, s.dt_phenotype),
                    (a.id, a.type, a.death_state, a.death_elapsed, a.phase, a.phase_elapsed, a.volume,
                     a.rupture_volume),
                    (a.cycle_rate, tb.n_phases, tb.phase_next, tb.phase_divides, tb.phase_fixed),
                    (apoptosis, a.necrosis_rate[:, 0], tb.apoptosis_duration, tb.necrosis_lysed_duration),
                    (divide, remove, newly_dead))
    lysed = np.nonzero((a.death_state[:n] == NECROTIC_LYSED) & (a.death_elapsed[:n] == 0.0))[0]
    if lysed.size:
        population.lyse(a, tb, lysed)
    # kills: apoptosis of cells carrying the damage their rule kills at (attributed to the type
    # of the last cell that damaged them)
    dying = (newly_dead[:n] == 1) & (a.damage[:n] >= s.kill_damage[a.type[:n]])
    if dying.any():
        by = a.last_attacker[:n][dying]
        by = by[by > 0] - 1
        if by.size:
            s.kills += np.bincount(by, minlength=s.n_types)
    population.start_death(a, tb, np.nonzero(newly_dead == 1)[0], APOPTOTIC)
    population.start_death(a, tb, np.nonzero(newly_dead == 2)[0], NECROTIC_SWELLING)
    s.scratch["divide"], s.scratch["remove"] = divide, remove


def removal(s) -> None:
    remove = s.scratch.get("remove")
    if remove is not None and remove.any():
        population.remove(s.agents, remove)
        s.scratch["divide"] = s.scratch["divide"][~remove]
        s.positions_changed()


def division(s) -> None:
    divide = s.scratch.get("divide")
    parents = np.nonzero(divide)[0] if divide is not None else np.zeros(0, np.int64)
    if parents.size:
        kids = population.divide(s.agents, parents, s.seed, s.phenotype_step, s.use_2d)
        s.agents.voxel[kids] = s.mesh.voxel_index(s.agents.position[kids])
        s.positions_changed()


# ----------------------------------------------------------------------------- mechanics
def neighbours(s) -> None:
    # in a mechanics step only the contact interactions read the list (the rules at the next
    # phenotype step see moved agents and rebuild it), so it is written only when they run
    s.neighbours(with_forces=True, with_list=s.interactions_active)


def walls(s) -> None:
    if s.model.options.virtual_wall_at_domain_edge:
        a = s.agents
        wall_velocities(a.n, a.position, a.radius, s.lo, s.hi, s.use_2d, a.velocity)


def motion(s) -> None:
    a, tb = s.agents, s.tables
    motility(a.n, (s.seed, s.mechanics_step, s.dt_mechanics), (a.id, a.type, a.death_state, a.voxel),
             (tb.motile, tb.motility_2d, a.speed[:, 0], a.persistence[:, 0], a.bias[:, 0], a.chemo_sens,
              tb.normalize_gradients),
             (s.model.calculate_gradients, s.fields, s.shape, s.spacing, s.use_2d), (a.motility_vector, a.velocity))

def contact_interactions(s) -> None:
    if not s.interactions_active:
        return
    a = s.agents
    n = a.n
    nbr, count = s.neighbour_list()
    removed = np.zeros(n, dtype=np.int64)
    absorbed_by = np.full(n, -1, dtype=np.int64)
    interact(n, (s.seed, s.mechanics_step, s.dt_mechanics),
             (a.id, a.type, a.death_state, a.position, a.radius, a.volume, a.rel_max_adh[:, 0]), (nbr, count),
             (a.attack, a.immunogenicity, a.attack_damage_rate[:, 0], a.attack_duration[:, 0], a.phag_apoptotic[:, 0],
              a.phag_necrotic[:, 0], a.phag_other_dead[:, 0], a.phag_live, a.fusion),
             (a.attack_target, a.damage, a.total_attack_time, a.damage_delivered, a.last_attacker), (removed, absorbed_by))
    spring_velocities(n, a.position, a.type, a.attack_target, a.elastic_constant[:, 0], a.affinity, a.velocity)
    if removed.any():
        population.absorb(a, removed, absorbed_by)
        s.scratch["absorbed"] = removed


def positions(s) -> None:
    a = s.agents
    update_positions(a.n, s.dt_mechanics, a.position, a.velocity, a.previous_velocity, a.is_movable[:, 0], s.lo,
                     s.hi, s.use_2d, s.model.options.virtual_wall_at_domain_edge)
    removed = s.scratch.pop("absorbed", None)
    if removed is not None:
        population.remove(a, removed != 0)
    s.positions_changed()
    s.refresh_sources()


# ----------------------------------------------------------------------------- exchange
def recruitment(s) -> None:
    s.recruit()


def arrivals(s) -> None:
    s.add_arrivals()


def departures(s) -> None:
    s.remove_departures()


_AGENT_STATE = ("position", "radius", "type", "death_state")


def standard_schedule(model) -> Schedule:
    """PhysiCell 1.14's operations for ``model`` (conversions, arrivals, departures only if used)."""
    sch = Schedule()
    add = sch.add
    add(Operation("diffuse", "diffusion", diffuse, reads=("sources", "fields"), writes=("fields",), batch=True))
    if model.conversions:
        add(Operation("conversions", "diffusion", conversions, reads=("fields", "conversion_weights"),
                      writes=("fields",)))
    ivs = model.interventions
    if any(iv.kind == "scale_behaviour" and iv.windowed for iv in ivs):
        add(Operation("windows", "phenotype", windows, reads=("time",), writes=("<behaviours>",)))
    if any(iv.kind == "irradiate" for iv in ivs):
        add(Operation("irradiate", "phenotype", irradiate, reads=("time", "death_state"),
                      writes=("death_state", "death_elapsed")))
    add(Operation("transform", "phenotype", transform, reads=("transform", "death_state"),
                  writes=("type", "phase", "phase_elapsed", "<behaviours>")))
    add(Operation("rules", "phenotype", rules, reads=("<signals>",), writes=("<behaviours>",)))
    if model.vessels is not None and model.vessels.angiogenesis is not None:
        add(Operation("vessels", "phenotype", vessels, reads=("vessel density", "fields", "death_state"),
                      writes=("vessel density",)))
    add(Operation("volume", "phenotype", volume, reads=("volume", "target_solid_nuclear"),
                  writes=("volume", "nuclear_solid", "nuclear_fluid", "cyto_solid", "cyto_fluid", "radius")))
    add(Operation("damage", "phenotype", damage, reads=("damage_rate", "damage_repair_rate"), writes=("damage",)))
    add(Operation("death_cycle", "phenotype", death_cycle,
                  reads=("cycle_rate", "apoptosis_rate", "receptor_apoptosis_rate", "necrosis_rate", "phase",
                         "death_state"),
                  writes=("phase", "phase_elapsed", "death_state", "death_elapsed", "<divide>", "<remove>")))
    add(Operation("removal", "phenotype", removal, reads=("<remove>",), writes=("<rows>",)))
    add(Operation("division", "phenotype", division, reads=("<divide>",), writes=("<rows>", "position")))
    add(Operation("neighbours", "mechanics", neighbours, reads=_AGENT_STATE + ("repulsion", "adhesion",
                  "rel_max_adh", "affinity"), writes=("<neighbour list>", "velocity", "pressure")))
    add(Operation("walls", "mechanics", walls, reads=("position", "radius"), writes=("velocity",)))
    add(Operation("motility", "mechanics", motion, reads=("speed", "persistence", "bias", "chemo_sens", "fields"),
                  writes=("motility_vector", "velocity")))
    add(Operation("interactions", "mechanics", contact_interactions,
                  reads=("<neighbour list>", "attack", "phag_live", "fusion", "immunogenicity"),
                  writes=("attack_target", "damage", "total_attack_time", "damage_delivered", "velocity",
                          "<absorbed>")))
    add(Operation("positions", "mechanics", positions, reads=("velocity", "<absorbed>"),
                  writes=("position", "previous_velocity", "<rows>", "sources")))
    if any(a.per_vessel_area_per_min > 0.0 for a in model.arrivals):
        add(Operation("recruitment", "phenotype", recruitment, reads=("vessel density", "fields", "type"),
                      writes=("arrival rates",)))
    if model.arrivals:
        add(Operation("arrivals", "exchange", arrivals, reads=("arrival rates", "vessel density"),
                      writes=("<rows>", "arrived")))
    if model.departures:
        add(Operation("departures", "exchange", departures, reads=("intravasation", "vessel density"),
                      writes=("<rows>", "departed")))
    return sch
