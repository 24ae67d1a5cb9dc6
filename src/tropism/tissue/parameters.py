"""Per-cell-type parameter tables built from a model, and the behaviour slots rules write to.

Every behaviour a rule can change has a per-agent column (see ``AGENT_PARAMETERS``); its
per-type base value lives in the same-named table here. Rules overwrite agent columns from the
base values each phenotype step, as PhysiCell does.
"""

from __future__ import annotations

import numpy as np

from ..model import CYCLE_TOPOLOGIES, Model
from .registry import behaviour_target

MAX_PHASES = 4

#: Agent parameter name → width kind: "1" scalar, "phase", "substrate", "type", "custom".
AGENT_PARAMETERS: dict[str, str] = {
    "cycle_rate": "phase",
    "apoptosis_rate": "1",
    # death through a death receptor (TRAIL, FasL): a second apoptosis route, summed with the
    # first at death time; the survival signals that rows put on "apoptosis" do not reach it
    "receptor_apoptosis_rate": "1",
    "necrosis_rate": "1",
    "speed": "1",
    "persistence": "1",
    "bias": "1",
    "chemo_sens": "substrate",
    "secretion": "substrate",
    "secretion_target": "substrate",
    "uptake": "substrate",
    "export": "substrate",
    "adhesion": "1",
    "repulsion": "1",
    "rel_max_adh": "1",
    "bm_adhesion": "1",
    "bm_repulsion": "1",
    "elastic_constant": "1",
    "affinity": "type",
    "phag_apoptotic": "1",
    "phag_necrotic": "1",
    "phag_other_dead": "1",
    "phag_live": "type",
    "attack": "type",
    "fusion": "type",
    "transform": "type",
    "immunogenicity": "type",
    "attack_damage_rate": "1",
    "attack_duration": "1",
    "damage_rate": "1",
    "damage_repair_rate": "1",
    "is_movable": "1",
    "intravasation": "1",
    "custom": "custom",
}

def widths(n_substrates: int, n_types: int, n_custom: int) -> dict[str, int]:
    """Column count of every agent parameter (1 for scalars)."""
    size = {"1": 1, "phase": MAX_PHASES, "substrate": n_substrates, "type": n_types, "custom": n_custom}
    return {name: size[kind] for name, kind in AGENT_PARAMETERS.items()}


def custom_names(model: Model) -> list[str]:
    """Union of custom-data names over all cell types, in first-seen order."""
    return model.custom_names


class TypeTables:
    """Per-type arrays: behaviour base values plus the constants kernels need.

    Attributes
    ----------
    base : dict[str, np.ndarray]
        Behaviour base values, shape (n_types, width) per ``AGENT_PARAMETERS`` name.
    n_phases, phase_next, phase_divides, phase_fixed, phase_code : np.ndarray
        Cycle topology per type (padded to ``MAX_PHASES``).
    """

    def __init__(self, model: Model) -> None:
        subs = model.substrate_names
        types = model.cell_type_names
        customs = custom_names(model)
        nt, ns, nc = len(types), len(subs), len(customs)
        self.custom_names = customs
        w = widths(ns, nt, nc)
        self.base = {name: np.zeros((nt, w[name])) for name in AGENT_PARAMETERS}
        self.cycle_code = np.zeros(nt, np.int64)
        self.n_phases = np.ones(nt, np.int64)
        self.phase_next = np.zeros((nt, MAX_PHASES), np.int64)
        self.phase_divides = np.zeros((nt, MAX_PHASES), np.bool_)
        self.phase_fixed = np.zeros((nt, MAX_PHASES), np.bool_)
        self.phase_code = np.zeros((nt, MAX_PHASES), np.int64)
        # death: [apoptosis, necrosis] parameters
        self.apoptosis_duration = np.zeros(nt)
        self.necrosis_lysed_duration = np.zeros(nt)
        self.death_rates = np.zeros((nt, 2, 4))  # unlysed fluid, lysed fluid, cyto, nuclear
        self.death_calcification = np.zeros((nt, 2))
        self.rupture = np.zeros((nt, 2))
        # volume
        self.volume = np.zeros((nt, 9))
        self.motile = np.zeros(nt, np.bool_)
        self.motility_2d = np.ones(nt, np.bool_)
        self.normalize_gradients = np.zeros(nt, np.bool_)
        self.advanced_chemotaxis = np.zeros(nt, np.bool_)
        self.max_attachments = np.zeros(nt, np.int64)
        self.custom_default = np.zeros((nt, nc))
        for t, ct in enumerate(model.cell_types):
            self._fill(t, ct, subs, types, customs)
        for dep in model.departures:
            self.base["intravasation"][types.index(dep.cell_type)] = dep.rate_per_min
        self._intervene(model, subs, types, customs)

    def _intervene(self, model, subs, types, customs) -> None:
        """Interventions on base values: scale a behaviour, remove a source (rules keep acting
        on top of the changed base; a removed source also stops rules from adding it back)."""
        self.no_secretion = np.zeros((len(types), len(subs)), dtype=bool)
        for iv in model.interventions:
            rows = [types.index(t) for t in iv.cell_types] if iv.cell_types else list(range(len(types)))
            if iv.windowed:
                continue  # a time window: applied and undone as the run passes it (standard.windows)
            if iv.kind == "scale_behaviour":
                target = behaviour_target(*model.behaviour(iv.target))
                if target is None:
                    continue  # reported by not_simulated
                self.base[target[0]][rows, target[1]] *= iv.factor
            elif iv.kind == "remove_source":
                s = subs.index(iv.target)
                self.base["secretion"][rows, s] = 0.0
                self.base["export"][rows, s] = 0.0
                self.no_secretion[rows, s] = True

    def _fill(self, t, ct, subs, types, customs) -> None:
        b = self.base
        name, phases, links = CYCLE_TOPOLOGIES[ct.cycle.code]
        self.cycle_code[t] = ct.cycle.code
        self.n_phases[t] = len(phases)
        for k, code in enumerate(phases):
            self.phase_code[t, k] = code
        for start, end, divides in links:
            self.phase_next[t, start] = end
            self.phase_divides[t, start] = divides
        for link in ct.cycle.links:
            if link.start < MAX_PHASES:
                b["cycle_rate"][t, link.start] = link.rate
                self.phase_fixed[t, link.start] = link.fixed_duration
        b["apoptosis_rate"][t] = ct.apoptosis.rate
        b["necrosis_rate"][t] = ct.necrosis.rate
        self.apoptosis_duration[t] = ct.apoptosis.durations[0] if ct.apoptosis.durations else 516.0
        d = ct.necrosis.durations
        self.necrosis_lysed_duration[t] = d[1] if len(d) > 1 else 86400.0
        for k, dm in enumerate((ct.apoptosis, ct.necrosis)):
            p = dm.parameters
            self.death_rates[t, k] = (p.unlysed_fluid_change_rate, p.lysed_fluid_change_rate,
                                      p.cytoplasmic_biomass_change_rate, p.nuclear_biomass_change_rate)
            self.death_calcification[t, k] = p.calcification_rate
            self.rupture[t, k] = p.relative_rupture_volume
        v = ct.volume
        self.volume[t] = (v.total, v.fluid_fraction, v.nuclear, v.fluid_change_rate,
                          v.cytoplasmic_biomass_change_rate, v.nuclear_biomass_change_rate,
                          v.calcified_fraction, v.calcification_rate, v.relative_rupture_volume)
        m = ct.motility
        self.motile[t] = m.enabled
        self.motility_2d[t] = m.use_2d
        b["speed"][t] = m.speed
        b["persistence"][t] = m.persistence_time
        b["bias"][t] = m.migration_bias
        if m.advanced_chemotaxis.enabled:
            self.advanced_chemotaxis[t] = True
            self.normalize_gradients[t] = m.advanced_chemotaxis.normalize_each_gradient
            for sub, s in m.advanced_chemotaxis.sensitivities.items():
                if sub in subs:
                    b["chemo_sens"][t, subs.index(sub)] = s
        elif m.chemotaxis.enabled and m.chemotaxis.substrate in subs:
            b["chemo_sens"][t, subs.index(m.chemotaxis.substrate)] = m.chemotaxis.direction
        for sub, sp in ct.secretion.items():
            if sub in subs:
                i = subs.index(sub)
                b["secretion"][t, i] = sp.secretion_rate
                b["secretion_target"][t, i] = sp.secretion_target
                b["uptake"][t, i] = sp.uptake_rate
                b["export"][t, i] = sp.net_export_rate
        mech = ct.mechanics
        b["adhesion"][t] = mech.cell_cell_adhesion_strength
        b["repulsion"][t] = mech.cell_cell_repulsion_strength
        b["rel_max_adh"][t] = mech.relative_maximum_adhesion_distance
        b["bm_adhesion"][t] = mech.cell_BM_adhesion_strength
        b["bm_repulsion"][t] = mech.cell_BM_repulsion_strength
        b["elastic_constant"][t] = mech.attachment_elastic_constant
        b["is_movable"][t] = 1.0 if mech.is_movable else 0.0
        self.max_attachments[t] = mech.maximum_number_of_attachments
        # PhysiCell's default affinity to a type not listed is 1.
        b["affinity"][t] = 1.0
        for other, a in mech.cell_adhesion_affinities.items():
            if other in types:
                b["affinity"][t, types.index(other)] = a
        ia = ct.interactions
        b["phag_apoptotic"][t] = ia.apoptotic_phagocytosis_rate
        b["phag_necrotic"][t] = ia.necrotic_phagocytosis_rate
        b["phag_other_dead"][t] = ia.other_dead_phagocytosis_rate
        b["immunogenicity"][t] = 1.0
        for table, source in (("phag_live", ia.live_phagocytosis_rates), ("attack", ia.attack_rates),
                              ("fusion", ia.fusion_rates), ("immunogenicity", ia.immunogenicities),
                              ("transform", ct.transformation_rates)):
            for other, r in source.items():
                if other in types:
                    b[table][t, types.index(other)] = r
        b["attack_damage_rate"][t] = ia.attack_damage_rate
        b["attack_duration"][t] = ia.attack_duration
        b["damage_rate"][t] = ia.damage_rate
        b["damage_repair_rate"][t] = ia.damage_repair_rate
        for key, datum in ct.custom_data.items():
            self.custom_default[t, customs.index(key)] = datum.value
        b["custom"][t] = self.custom_default[t]
