"""Building the tissue model of a scenario from the library: generic, no biology of its own.

What each cell secretes is read from the library's parameter names (``<substrate>_secretion_
pg_per_1e6_cells_per_24h`` for lines, ``<substrate>_pg_per_1e6_cells_per_24h`` for MSC
sources); which rules apply is the rule table's role and ``applies_to`` columns; what a blockade
or a treatment property does is ``interventions.toml``; where the tumour grows and on which
vessel bed is ``sites.toml``. A number the library lacks comes from ``defaults.toml``; either
way ``Model.provenance`` records its source.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from ..errors import TropismInputError
from ..geometry import sphere_volume_from_diameter
from ..units import uptake_from_consumption
from .check import carries
from .tables import load_mechanisms

#: pg per 1e6 cells per 24 h -> net export per cell in (ng/mL)·µm³/min: 1 pg = 1e9 (ng/mL)·µm³
PG_PER_1E6_PER_DAY = 1e9 / (1e6 * 1440.0)
#: the library parameters that are a secretion rate, per table: the substrate is the prefix
SECRETION = {"cell_lines": re.compile(r"^([a-z0-9_]+?)_secretion_pg_per_1e6_cells_per_24h$"),
             "msc_sources": re.compile(r"^([a-z0-9_]+?)_pg_per_1e6_cells_per_24h$"),
             "immune_cells": re.compile(r"^([a-z0-9_]+?)_pg_per_1e6_cells_per_24h$")}
#: the defaults.toml section whose ``<substrate>_pg_per_1e6_cells_per_24h`` priors a cell of
#: the table takes where the library has no measurement of its own
DEFAULT_SECRETION = {"cell_lines": "tumour_secretion", "msc_sources": "msc_secretion", "immune_cells": "immune_secretion"}
_PRIOR_KEY = re.compile(r"^([a-z0-9_]+?)_pg_per_1e6_cells_per_24h$")
#: a default prior counted in particles (vesicles): ``<substrate>_particles_per_cell_per_h``
_PARTICLE_KEY = re.compile(r"^([a-z0-9_]+?)_particles_per_cell_per_h$")
#: particles per cell per hour -> net export in (particles/nL)·µm³/min: 1 particle = 1e6 (particles/nL)·µm³
PARTICLES_PER_H = 1e6 / 60.0
#: the defaults.toml section holding a role's ``<substrate>_receptors_per_cell``
DEFAULT_ROLE = {"cell_lines": "tumour", "msc_sources": "msc", "immune_cells": "immune"}
#: the substrates.csv constants of a ligand's clearing receptor
RECEPTOR_KINETICS = ("receptor_association_per_M_per_s", "receptor_dissociation_per_s",
                     "receptor_internalisation_per_s")
AVOGADRO = 6.02214076e23


def receptor_clearance_um3_per_min(kon: float, koff: float, kint: float, receptors: float) -> float:
    """Volume of fluid a cell clears of a ligand per minute through its receptors (µm³/min).

    Far below the Kd the free receptors are the total ``receptors``; a bound complex either
    dissociates (``koff``) or is internalised (``kint``), so the ligand leaves at
    kon·R·kint/(kint + koff) per molar concentration (L/s), ×1e15 µm³/L ×60 s/min.
    """
    return kon * kint / (kint + koff) * receptors / AVOGADRO * 1e15 * 60.0


def default_secreted(dflt: dict, table: str) -> dict[str, dict]:
    """substrate -> the default prior of a cell of ``table`` without its own measurement."""
    out = {}
    for key, entry in dflt.get(DEFAULT_SECRETION[table], {}).items():
        m = _PRIOR_KEY.match(key)
        if m:
            out[m.group(1)] = dict(entry, value=entry["value"] * PG_PER_1E6_PER_DAY, unit="(ng/mL) um^3/min")
        m = _PARTICLE_KEY.match(key)
        if m:
            out[m.group(1)] = dict(entry, value=entry["value"] * PARTICLES_PER_H, unit="(particles/nL) um^3/min")
    return out


def record(prov: dict, path: str, unit: str, source: str, status: str, fitted_to: str = "") -> None:
    from ..model.provenance import ParameterSource
    prov[path] = ParameterSource(unit=unit, source=source, status=status, fitted_to=fitted_to)


def number(cat, table: str, entity: str | None, parameter: str, default: dict | None, prov: dict, path: str,
           convert=lambda v: v) -> float:
    """The library's value converted by ``convert``, or else the default prior as it stands (a
    default is given in the unit of the model parameter); either is recorded against ``path``."""
    e = cat.get(table, entity, parameter) if entity else None
    if e is not None and isinstance(e.value, float):
        record(prov, path, e.unit, f"{e.source} [library {table}: {entity}.{parameter}]", e.status, e.fitted_to)
        return convert(e.value)
    if default is None:
        raise TropismInputError("no value in the library", field=f"{table}.{entity}.{parameter}")
    return prior(default, prov, path)


def prior(default: dict, prov: dict, path: str) -> float:
    """A ``defaults.toml`` entry, recorded against ``path`` as a default prior."""
    record(prov, path, default.get("unit", ""), f"{default['source']} [default prior]", default["status"],
           default.get("fitted_to", ""))
    return float(default["value"])




def _sphere(d_um: float) -> float:
    return float(sphere_volume_from_diameter(d_um))


def _volume(total: float):
    """A cell volume with PhysiCell's default nuclear share (540 of 2494 µm³)."""
    from ..model.phenotype import Volume
    base = Volume()
    return Volume(total=total, nuclear=total * base.nuclear / base.total)


def _rate(doubling_h: float) -> float:
    """Cycle rate (1/min) of a population doubling every ``doubling_h`` hours."""
    return float(np.log(2) / (doubling_h * 60.0))


def molecule(name: str, species: str) -> tuple[str, dict]:
    """A drug's canonical library name and its kinetic parameters in ``species``."""
    from ..body.library import load_params
    from ..body.model import molecule_parameters
    lib = load_params("molecules")
    key = name.lower().replace("-", "_").replace(" ", "_")
    key = lib.get("aliases", {}).get(key, key)
    return key, molecule_parameters(name, species)


# ---------------------------------------------------------------------------------------------
# behaviours whose value the builder reads and sets on a cell type (for fold responses and
# modifiers): "<substrate> export", "<substrate> secretion", "cycle entry", "apoptosis"

def _get_base(ct, behaviour: str, subs: list[str]) -> float:
    kind, arg = _behaviour(behaviour, subs)
    if kind == "export":
        return ct.secretion[arg].net_export_rate if arg in ct.secretion else 0.0
    if kind == "secretion":
        return ct.secretion[arg].secretion_rate if arg in ct.secretion else 0.0
    if kind == "cycle":
        return ct.cycle.links[0].rate
    return ct.apoptosis.rate


def _set_base(ct, behaviour: str, subs: list[str], value: float) -> None:
    from ..model.phenotype import SecretionParameters
    kind, arg = _behaviour(behaviour, subs)
    if kind in ("export", "secretion"):
        sp = ct.secretion.get(arg, SecretionParameters())
        field = "net_export_rate" if kind == "export" else "secretion_rate"
        ct.secretion[arg] = sp.model_copy(update={field: value})
    elif kind == "cycle":
        ct.cycle.links[0] = ct.cycle.links[0].model_copy(update={"rate": value})
    else:
        ct.apoptosis = ct.apoptosis.model_copy(update={"rate": value})


def _behaviour(behaviour: str, subs: list[str]) -> tuple[str, str]:
    low = behaviour.strip().lower()
    for suffix in (" export", " secretion"):
        if low.endswith(suffix) and low[: -len(suffix)] in subs:
            return suffix.strip(), low[: -len(suffix)]
    if low == "cycle entry":
        return "cycle", ""
    if low == "apoptosis":
        return "apoptosis", ""
    raise TropismInputError("a fold response or a modifier acts on a behaviour the builder can read",
                            field="behaviour", value=behaviour,
                            allowed="'<substrate> export', '<substrate> secretion', 'cycle entry', 'apoptosis'")


# ---------------------------------------------------------------------------------------------


class TissueBuilder:
    """Builds the parts of a checked scenario's tissue ``Model`` (see the module docstring).

    :func:`tropism.resolve.build` calls, in order, :meth:`plan_types`, :meth:`substrate_names`,
    :meth:`build_types`, :meth:`rules`, :meth:`substrates`, :meth:`interventions` and
    :meth:`vessel_bed`. On the way it fills ``roles`` (role → cell-type names), ``entity`` (type
    → library line or MSC source), ``msc_of`` (treatment index → MSC type), ``drugs`` (treatment
    index → substrate) and ``prov`` (parameter path → source).
    """

    def __init__(self, e, cat, dflt, rules, file: str | None):
        self.e, self.cat, self.dflt, self.lib_rules, self.file = e, cat, dflt, rules, file
        self.mech = load_mechanisms()
        self.prov: dict = {}
        self.roles: dict[str, list[str]] = {"tumour": [], "msc": [], "caf": []}
        #: MSC type -> the cancer-associated fibroblast type it becomes (where the library has a
        #: row "transform to caf" for its source)
        self.fate: dict[str, str] = {}
        #: the host's immune cell types in this scenario (each is also its own role)
        self.immune: list[str] = []
        self.entity: dict[str, str] = {}
        self.types: list = []
        self.drugs: dict[int, str] = {}
        #: drugs engineered cells make of a prodrug the scenario gives (tissue substrates)
        self.products: set[str] = set()
        self.pathway_left: dict[tuple[str, str], float] = {}  # (role, pathway) -> what silencing leaves
        self.intravasation: dict[str, float] = {}  # tumour type -> base shedding rate (1/min), when read

    # -- substrates ---------------------------------------------------------------------------
    def _secreted(self, table: str, entity: str) -> dict[str, str]:
        """substrate -> library parameter of a cell's measured secretion."""
        out = {}
        for e in self.cat.entries:
            if e.table == table and e.entity == entity:
                m = SECRETION[table].match(e.parameter)
                if m:
                    out[m.group(1)] = e.parameter
        return out

    def _applicable(self, r, type_name: str) -> bool:
        at = r.applies_to
        if not at:
            return True
        entity = self.entity[type_name]
        if at.startswith("has:"):
            return self.roles_of(type_name) == "tumour" and carries(self.cat, entity, at[4:])
        return at == entity

    def roles_of(self, type_name: str) -> str:
        return next(role for role, names in self.roles.items() if type_name in names)

    def table_of(self, type_name: str) -> str:
        """The library table a cell type's numbers come from."""
        if type_name in self.immune:
            return "immune_cells"
        return "cell_lines" if self.roles_of(type_name) == "tumour" else "msc_sources"

    def substrate_names(self) -> list[str]:
        """oxygen; VEGF (read by the vessel bed) and TNF-α (endothelial activation) with a
        tumour; SDF-1 with MSCs (the body reads their CXCR4 occupancy); every drug given; and
        each factor a rule of a cell in the scenario reads that some cell in it makes."""
        e = self.e
        names = ["oxygen"]
        if e.tumour is not None:
            names += ["vegf", "tnfa"]
        if any(t.product == "msc" for t in e.treatment):
            names.append("sdf1")
        for i, t in enumerate(e.treatment):
            if t.product == "drug":
                key, _ = molecule(t.name, e.host.species)
                self.drugs[i] = key
                if key not in names:
                    names.append(key)
        made = set()
        for type_name, entity in self.entity.items():
            table = self.table_of(type_name)
            made |= set(self._secreted(table, entity)) | set(default_secreted(self.dflt, table))
        # what engineered MSCs carry: a factor they secrete, or the drug their enzyme makes of a
        # prodrug the scenario gives
        for t in e.treatment:
            for p in (self.mech.payloads[n] for n in t.engineering):
                if p.secretes:
                    made.add(p.secretes)
                elif self._given(p.converts):
                    made.add(p.into)
                    self.products.add(p.into)
        known = set(self.cat.entities("substrates"))
        # a factor a signal induces in a cell that has none at rest (e.g. CCL5 de novo) is made too
        for r in self.lib_rules:
            if r.response == "pg_per_1e6_cells_per_24h" and any(
                    self._applicable(r, n) for n in self.roles.get(r.cell_type, [])):
                made.add(_behaviour_substrate(r.behaviour))
        applicable = [r for r in self.lib_rules
                      if any(self._applicable(r, n) for n in self.roles.get(r.cell_type, []))
                      # no cell leaves unless the scenario follows the ones that do
                      and not (r.behaviour == "intravasation" and "metastasis" not in e.simulation.readouts)]
        # what some cell here senses: a rule's signal, or the attractant of its chemotaxis
        sensed = {r.signal for r in applicable} | {_behaviour_substrate(r.behaviour) for r in applicable
                                                   if r.behaviour.lower().startswith("chemotactic response to ")}
        for r in applicable:
            for s in (r.signal, _behaviour_substrate(r.behaviour)):
                # a factor is simulated where a cell makes it and a cell (or the vessel bed) senses it
                if s and (s in known or s in self.products) and s in made and s not in names \
                        and (s in sensed or s in names):
                    names.append(s)
        # what a cell here releases that the vessels carry into the blood, when the scenario reads
        # it (its readout, or a blockade of its release): the body then follows it
        names += sorted(s for s in made & known if s not in names and self.carried_to_blood(s) and self._read(s))
        return names

    def _given(self, drug: str) -> bool:
        """Whether the scenario gives ``drug`` (a molecule's canonical name) through the body."""
        return any(molecule(t.name, self.e.host.species)[0] == drug for t in self.e.treatment if t.product == "drug")

    def _molecular(self, substrate: str) -> bool:
        """A substrate whose tissue numbers follow from its molecule (a drug, or a drug an
        enzyme makes that substrates.csv does not describe)."""
        return substrate in self.drugs.values() or (substrate in self.products
                                                    and substrate not in self.cat.entities("substrates"))

    def conversions(self, subs):
        """The prodrug conversions of engineered MSCs (and of the CAFs they become), where the
        scenario gives the prodrug and the drug made is simulated."""
        from ..model.reactions import Conversion
        out = []
        for i, name in self.msc_of.items():
            for p in (self.mech.payloads[n] for n in self.e.treatment[i].engineering):
                if not p.converts or p.converts not in subs or p.into not in subs:
                    continue
                for type_name in [name] + ([self.fate[name]] if name in self.fate else []):
                    k = len(out)
                    for key, num in (("vmax", p.vmax), ("km", p.km)):
                        record(self.prov, f"conversions[{k}].{key}", num.unit,
                               f"{num.source} [library interventions.toml: payload.{p.name}]", num.status)
                    out.append(Conversion(cell_type=type_name, substrate=p.converts, product=p.into,
                                          vmax=p.vmax.value, km=p.km.value, source=p.source, status=p.vmax.status))
        return out

    def _read(self, substrate: str) -> bool:
        """Whether the scenario reads a released substrate: the 'exosomes' readout (vesicles), or
        a blockade of a behaviour of it."""
        e = self.e
        unit = self.cat.get("substrates", substrate, "concentration_unit")
        if "exosomes" in e.simulation.readouts and unit is not None and unit.value == "particles/nL":
            return True
        for iv in e.intervention:
            b = self.mech.blockades.get(iv.target) if iv.kind == "blockade" else None
            if b is not None and b.behaviour and _behaviour_substrate(b.behaviour) == substrate:
                return True
        return False

    def released_to_blood(self, subs) -> dict[str, str]:
        """substrate -> the body model that distributes it, for each non-drug substrate of the
        scenario the vessels carry into the blood."""
        out = {}
        for s in subs:
            if self._molecular(s) or not self.carried_to_blood(s):
                continue
            kind = self.cat.get("substrates", s, "body_product")
            if kind is None:
                raise TropismInputError("a substrate carried into the blood needs the body model that follows it",
                                        field=f"substrates.{s}.body_product", allowed="exosome, tumour_exosome")
            out[s] = kind.value
        return out

    def carried_to_blood(self, substrate: str) -> bool:
        """Whether the library gives ``substrate`` a vessel permeability (it reaches the blood)."""
        return self.cat.get("substrates", substrate, "vessel_permeability_um_per_min") is not None

    # -- cell types ----------------------------------------------------------------------------
    def _secretion(self, table, entity, type_name, o2_default, volume_um3, subs):
        from ..model.phenotype import SecretionParameters
        cat, dflt, prov = self.cat, self.dflt, self.prov
        sec = {s: SecretionParameters() for s in subs}
        path = f"cell_types[{type_name}].secretion[oxygen].uptake_rate"
        if table == "cell_lines" and cat.get(table, entity, "oxygen_consumption_rate_amol_per_cell_per_s") is not None:
            o2 = dflt["oxygen"]
            u = number(cat, table, entity, "oxygen_consumption_rate_amol_per_cell_per_s", None, prov, path,
                       convert=lambda q: uptake_from_consumption(q, volume_um3, o2["solubility_uM_per_mmHg"]["value"],
                                                                 o2["uptake_reference_mmHg"]["value"]))
            # a measured rate through the conversion's constants is only as good as the weakest
            status = "U" if "U" in (prov[path].status, o2["solubility_uM_per_mmHg"]["status"],
                                    o2["uptake_reference_mmHg"]["status"]) else prov[path].status
            prov[path] = prov[path].model_copy(update={
                "unit": "1/min", "status": status,
                "source": prov[path].source + f"; converted at {o2['uptake_reference_mmHg']['value']:g} mmHg with O2 "
                f"solubility {o2['solubility_uM_per_mmHg']['value']:g} uM/mmHg (defaults.toml [oxygen])"})
        else:
            u = prior(o2_default, prov, path)
        sec["oxygen"] = SecretionParameters(uptake_rate=u)
        measured = self._secreted(table, entity)
        defaults = default_secreted(dflt, table)
        for sub in subs:
            where = f"cell_types[{type_name}].secretion[{sub}].net_export_rate"
            if sub in measured:
                rate = number(cat, table, entity, measured[sub], None, prov, where,
                              convert=lambda v: v * PG_PER_1E6_PER_DAY)
            elif sub in defaults:
                rate = prior(defaults[sub], prov, where)
            else:
                continue
            sec[sub] = SecretionParameters(net_export_rate=rate)
        for sub in subs:
            uptake = self._receptor_uptake(table, type_name, sub, volume_um3)
            if uptake:
                sec[sub] = sec[sub].model_copy(update={"uptake_rate": uptake})
        return sec

    def _receptor_uptake(self, table, type_name, sub, volume_um3) -> float:
        """A cell's first-order uptake of ``sub`` (1/min, per its volume) through the receptors the
        role's defaults give it, at the ligand's kinetics in substrates.csv; 0 where either is
        missing. Receptor-mediated internalisation is how tissue clears a growth factor it binds."""
        count = self.dflt.get(DEFAULT_ROLE[table], {}).get(f"{sub}_receptors_per_cell")
        kinetics = [self.cat.get("substrates", sub, k) for k in RECEPTOR_KINETICS]
        if count is None or any(k is None for k in kinetics):
            return 0.0
        kon, koff, kint = (k.value for k in kinetics)
        rate = receptor_clearance_um3_per_min(kon, koff, kint, count["value"]) / volume_um3
        status = "U" if "U" in [count["status"]] + [k.status for k in kinetics] else "V"
        record(self.prov, f"cell_types[{type_name}].secretion[{sub}].uptake_rate", "1/min",
               f"{count['source']} [default prior], cleared at kon {kon:g}/M/s, koff {koff:g}/s, internalisation "
               f"{kint:g}/s ({kinetics[0].source} [library substrates: {sub}])", status)
        return rate

    def _tumour_type(self, subs):
        from ..model.phenotype import CellType, Cycle, PhaseLink
        cat, prov, e = self.cat, self.prov, self.e
        line = name = e.tumour.line
        td = self.dflt["tumour"]
        p = dict(td["doubling_time_h"], value=_rate(td["doubling_time_h"]["value"]), unit="1/min")
        doubling = number(cat, "cell_lines", line, "doubling_time_in_vitro_h", p, prov,
                          f"cell_types[{name}].cycle.links[0].rate", convert=_rate)
        vol = number(cat, "cell_lines", line, "cell_diameter_um", td["cell_volume_um3"], prov,
                     f"cell_types[{name}].volume.total", convert=_sphere)
        return CellType(name=name, id=0, cycle=Cycle(code=5, name="live", links=[PhaseLink(start=0, end=0,
                                                                                            rate=doubling)]),
                        volume=_volume(vol), secretion=self._secretion("cell_lines", line, name,
                                                                       td["oxygen_uptake_per_min"], vol, subs))

    def _msc_type(self, t, subs, name):
        from ..model.phenotype import AdvancedChemotaxis, CellType, Cycle, Motility, PhaseLink
        cat, prov, md = self.cat, self.prov, self.dflt["msc"]
        src = t.source
        vol = number(cat, "msc_sources", src, "diameter_um", md["cell_volume_um3"], prov,
                     f"cell_types[{name}].volume.total", convert=_sphere)
        p = dict(md["doubling_time_h"], value=_rate(md["doubling_time_h"]["value"]), unit="1/min")
        cycle = number(cat, "msc_sources", src, "doubling_time_h", p, prov, f"cell_types[{name}].cycle.links[0].rate",
                       convert=_rate)
        speed = number(cat, "msc_sources", src, "random_speed_um_per_min", md["speed_um_per_min"], prov,
                       f"cell_types[{name}].motility.speed")
        pers = number(cat, "msc_sources", src, "persistence_time_min", md["persistence_time_min"], prov,
                      f"cell_types[{name}].motility.persistence_time")
        record(prov, f"cell_types[{name}].motility.migration_bias", "", md["migration_bias"]["source"]
               + " [default prior]", md["migration_bias"]["status"])
        # CBHG "chemotactic response to X" rules set these sensitivities; they start at 0
        adv = AdvancedChemotaxis(enabled=True, sensitivities={s: 0.0 for s in subs})
        secretion = self._secretion("msc_sources", src, name, md["oxygen_uptake_per_min"], vol, subs)
        for payload in (self.mech.payloads[n] for n in t.engineering):
            if payload.secretes in secretion:
                rate = payload.rate
                secretion[payload.secretes] = secretion[payload.secretes].model_copy(
                    update={"net_export_rate": rate.value * PG_PER_1E6_PER_DAY})
                record(prov, f"cell_types[{name}].secretion[{payload.secretes}].net_export_rate",
                       "(ng/mL) um^3/min", f"{rate.source} [library interventions.toml: payload.{payload.name}]; "
                       f"{rate.value:g} pg/1e6 cells/24 h", rate.status)
        return CellType(name=name, id=0, cycle=Cycle(code=5, name="live", links=[PhaseLink(start=0, end=0, rate=cycle)]),
                        volume=_volume(vol),
                        motility=Motility(enabled=True, speed=speed, persistence_time=pers,
                                          migration_bias=md["migration_bias"]["value"], advanced_chemotaxis=adv),
                        secretion=secretion)

    def _caf_type(self, msc, subs):
        """An MSC type's cancer-associated fibroblast: the MSC's cell (size, cycle, motility,
        secretion, provenance) with the library's CAF modifiers on its measured values."""
        name = self.fate[msc.name]
        caf = msc.model_copy(deep=True, update={"name": name})
        for path in [p for p in self.prov if p.startswith(f"cell_types[{msc.name}]")]:
            self.prov[f"cell_types[{name}]" + path[len(f"cell_types[{msc.name}]"):]] = self.prov[path]
        for mod in self.mech.modifiers.values():
            if mod.role != "caf" or _behaviour_substrate(mod.behaviour) not in subs:
                continue
            _set_base(caf, mod.behaviour, subs, _get_base(caf, mod.behaviour, subs) * mod.factor)
            path = f"cell_types[{name}].secretion[{_behaviour_substrate(mod.behaviour)}].net_export_rate"
            before = self.prov[path].source if path in self.prov else ""
            record(self.prov, path, "(ng/mL) um^3/min",
                   f"{before}; x {mod.factor:g} as a CAF ({mod.source}) [library interventions.toml: "
                   f"modifier.{mod.name}]", mod.status)
        return caf

    def plan_types(self):
        """The cell types' names and roles, before their parameters (the substrates depend on them)."""
        e = self.e
        if e.tumour is not None:
            self.entity[e.tumour.line] = e.tumour.line
            self.roles["tumour"].append(e.tumour.line)
        self.msc_of: dict[int, str] = {}
        for i, t in enumerate(e.treatment):
            if t.product != "msc":
                continue
            name = "_".join(("msc", t.source) + t.engineering) + ("_primed" if t.primed else "")
            if name in self.entity:
                # a second treatment of the same cells is its own type: each body product counts
                # the cells it sends and they arrive by its own route
                name = f"{name}_{i}"
            self.msc_of[i] = name
            self.entity[name] = t.source
            self.roles["msc"].append(name)
        # an MSC source the library says can turn into a CAF gets that fate as a type of its own
        for name in list(self.roles["msc"]):
            if any(r.cell_type == "msc" and r.behaviour == "transform to caf" and self._applicable(r, name)
                   for r in self.lib_rules):
                caf = f"{name}_caf"
                self.fate[name] = caf
                self.entity[caf] = self.entity[name]
                self.roles["caf"].append(caf)
        from .immune import present
        for name in present(self.cat, e):
            self.immune.append(name)
            self.entity[name] = name
            self.roles[name] = [name]

    # -- mechanisms -----------------------------------------------------------------------------
    def _left(self, role: str, pathway: str) -> float:
        return self.pathway_left.get((role, pathway), 1.0) if pathway else 1.0

    def _modifiers(self, subs):
        """Treatment properties on the cells' measured values (priming), before the rules."""
        for i, name in self.msc_of.items():
            t = self.e.treatment[i]
            if not t.primed:
                continue
            mod = self.mech.modifiers["primed"]
            ct = next(c for c in self.types if c.name == name)
            left = self._left("msc", mod.pathway)
            f = 1.0 + (mod.factor - 1.0) * left
            _set_base(ct, mod.behaviour, subs, _get_base(ct, mod.behaviour, subs) * f)
            path = f"cell_types[{name}].secretion[{_behaviour_substrate(mod.behaviour)}].net_export_rate"
            before = self.prov[path].source if path in self.prov else ""
            record(self.prov, path, "(ng/mL) um^3/min",
                   f"{before}; x {f:g} primed ({mod.source}) [library interventions.toml: modifier.primed]", "U")

    def rules(self, subs):
        """The library's rule rows for every type they apply to, with fold responses read."""
        out = []
        for r in self.lib_rules:
            names = list(self.roles.get(r.cell_type, []))
            if r.cell_type == "msc" and r.behaviour != "transform to caf":
                names += self.roles["caf"]  # a CAF is still the stromal cell it was
            for type_name in names:
                if not self._applicable(r, type_name):
                    continue
                signals = self._signals(r.signal)
                if not signals:
                    continue
                row = replace(r, behaviour=f"transform to {self.fate[type_name]}") \
                    if r.behaviour == "transform to caf" else r
                # one row read once per type (a fold moves the base once), then one rule per
                # further type whose touch it reads
                made = self._rule(row, type_name, signals[0], subs)
                out += [rule.model_copy(update={"signal": signal}) for rule in made for signal in signals]
        return out

    def _signals(self, signal: str) -> list[str]:
        """A library signal for this scenario: ``contact with <role>`` is one per cell type of the
        role (none when the scenario has none); any other signal is itself."""
        target = signal[len("contact with "):].strip() if signal.startswith("contact with ") else ""
        if target in self.roles:
            return [f"contact with {name}" for name in self.roles[target]]
        return [signal]

    def _rule(self, r, type_name: str, signal: str, subs) -> list:
        """The model rule of library row ``r`` for one cell type and signal (none if it would read 0)."""
        from ..model.rules import Rule, resolve_signal
        if resolve_signal(signal, subs, list(self.entity), []) is None:
            return []  # a factor no cell in this scenario makes: the rule would read 0
        beh_sub = _behaviour_substrate(r.behaviour)
        if beh_sub and beh_sub not in subs:
            return []
        ct = next(c for c in self.types if c.name == type_name)
        left = self._left(r.cell_type, r.pathway)
        sat = r.max_response
        if r.response == "fold" and r.behaviour != "intravasation":
            base = _get_base(ct, r.behaviour, subs)
            fold = 1.0 + (r.max_response - 1.0) * left
            if r.direction == "increases":
                sat = fold * base
            else:  # the measured value is reached at full signal; without it, fold × measured
                _set_base(ct, r.behaviour, subs, fold * base)
                sat = base
        elif r.response == "multiplies":
            sat = 1.0 + (r.max_response - 1.0) * left
        elif r.response == "pg_per_1e6_cells_per_24h":
            sat = r.max_response * PG_PER_1E6_PER_DAY * left
        elif r.behaviour == "intravasation":
            # the tumour's shedding rate (when the scenario reads metastasis) is the base a fold moves
            base = self.intravasation.get(type_name, 0.0)
            if base <= 0.0:
                return []
            sat = base * (1.0 + (r.max_response - 1.0) * left) if r.response == "fold" else r.max_response
        elif r.response == "measured_at_max":
            sat = _get_base(ct, r.behaviour, subs)
            _set_base(ct, r.behaviour, subs, 0.0)
        elif r.pathway and left < 1.0:
            base = _get_base(ct, r.behaviour, subs)
            sat = base + (sat - base) * left
        return [Rule(cell_type=type_name, signal=signal, direction=r.direction, behavior=r.behaviour,
                     saturation=sat, half_max=r.half_max, hill_power=r.hill_power,
                     applies_to_dead=r.applies_to_dead, multiplies=r.response == "multiplies",
                     source=f"{r.file}:{r.line} ({r.source})", line=r.line)]

    def interventions(self, subs, rules):
        """Scenario blockades and irradiations as model interventions, from the library's table."""
        from ..model.reactions import Intervention
        out, e, cat = [], self.e, self.cat
        for iv in e.intervention:
            window = dict(start_min=iv.start_h * 60.0, end_min=None if iv.end_h is None else iv.end_h * 60.0)
            if iv.kind == "blockade":
                b = self.mech.blockades[iv.target]
                if b.pathway:
                    continue  # read when the cells' rules and modifiers were built
                src = f"scenario blockade of {iv.target} ({b.source}) [library interventions.toml: blockade.{iv.target}]"
                if b.behaviour:
                    scope = [n for role in b.carriers if role != "vessels"
                             for n in (self.immune if role == "immune" else self.roles[role])]
                    if scope and _behaviour_substrate(b.behaviour) in subs:
                        out.append(Intervention(kind="scale_behaviour", target=b.behaviour, cell_types=scope,
                                                factor=1.0 - iv.efficacy, source=src, status=b.status, **window))
                    continue
                # the receptor's ligand, and the touch of the cells that present it
                for signal in [b.signal] + [f"contact with {n}" for role in b.contact for n in self.roles[role]]:
                    readers = {r.cell_type for r in rules if r.signal == signal}
                    scope = []
                    for role in ("msc", "tumour", "immune"):
                        if role not in b.carriers:
                            continue
                        for name in (self.immune if role == "immune" else self.roles[role]):
                            if role == "tumour" and b.requires and not carries(cat, self.entity[name], b.requires):
                                continue
                            if name in readers:
                                scope.append(name)
                    if scope:
                        out.append(Intervention(kind="block_signal", target=signal, cell_types=scope,
                                                efficacy=iv.efficacy, source=src, status=b.status, **window))
                if "vessels" in b.carriers and b.signal in subs and b.signal == "vegf":
                    out.append(Intervention(kind="block_signal", target=b.signal, cell_types=[],
                                            efficacy=iv.efficacy, source=src + "; read by the vessel bed",
                                            status=b.status, **window))
            elif iv.kind == "irradiation":
                rad = self.dflt["radiation"]
                for role in ("tumour", "msc"):
                    for name in self.roles[role]:
                        table = "cell_lines" if role == "tumour" else "msc_sources"
                        pa = rad["lq_alpha_per_gy"] if role == "tumour" else rad["msc_lq_alpha_per_gy"]
                        pb = rad["lq_beta_per_gy2"] if role == "tumour" else rad["msc_lq_beta_per_gy2"]
                        k = len(out)
                        a = number(cat, table, self.entity[name], "lq_alpha_per_gy", pa, self.prov,
                                   f"interventions[{k}].alpha_per_gy")
                        bb = number(cat, table, self.entity[name], "lq_beta_per_gy2", pb, self.prov,
                                    f"interventions[{k}].beta_per_gy2")
                        out.append(Intervention(kind="irradiate", cell_types=[name], dose_gy=iv.dose_gy,
                                                alpha_per_gy=a, beta_per_gy2=bb, start_min=iv.start_h * 60.0,
                                                source="scenario irradiation; linear-quadratic survival", status="V"))
                mod = self.mech.modifiers.get("irradiation")
                if mod is not None and self.roles[mod.role] and _behaviour_substrate(mod.behaviour) in subs:
                    end = None if mod.duration_h is None else (iv.start_h + mod.duration_h) * 60.0
                    out.append(Intervention(kind="scale_behaviour", target=mod.behaviour,
                                            cell_types=list(self.roles[mod.role]), factor=mod.factor,
                                            start_min=iv.start_h * 60.0, end_min=end,
                                            source=f"{mod.source} [library interventions.toml: modifier.irradiation]",
                                            status=mod.status))
        return out

    def vessel_bed(self, subs):
        """The host's vessel bed (site), the tumour's own where it starts, growing with VEGF."""
        from ..model.reactions import Angiogenesis, VesselBed
        e, prov, d = self.e, self.prov, self.dflt["vessels"]
        site = self.mech.sites[e.tumour.site]
        vd = site.vessel_density
        record(prov, "vessels.surface_density", vd.unit, f"{vd.source} [library sites.toml: {site.name}]", vd.status)
        tumour = self.roles["tumour"][0]
        region = number(self.cat, "cell_lines", e.tumour.line, "vessel_surface_density_per_um",
                        {"value": vd.value, "unit": vd.unit, "source": f"the host bed it grows in: {vd.source}",
                         "status": vd.status}, prov, "vessels.region_density")
        perm = {"oxygen": prior(d["oxygen_permeability_um_per_min"], prov, "vessels.permeability[oxygen]")}
        plasma = {"oxygen": number(self.cat, "substrates", "oxygen", "vessel_value", None, prov,
                                   "vessels.plasma[oxygen]")}
        for key in subs:
            if self._molecular(key):  # a drug the blood brings, or one made here the blood washes out
                perm[key] = prior(d["molecule_permeability_um_per_min"], prov, f"vessels.permeability[{key}]")
        for key in subs:
            if key not in perm and self.carried_to_blood(key):
                perm[key] = number(self.cat, "substrates", key, "vessel_permeability_um_per_min", None, prov,
                                   f"vessels.permeability[{key}]")
        angio = Angiogenesis(signal="vegf", half_max=d["vegf_half_max_ng_per_ml"]["value"],
                             hill_power=d["hill_power"]["value"], growth_rate=d["growth_rate_per_min"]["value"],
                             max_density=d["max_surface_density_per_um"]["value"],
                             regression_rate=d["regression_rate_per_min"]["value"], stable_density=vd.value,
                             necrotic_regression_rate=d["necrotic_regression_rate_per_min"]["value"],
                             source="defaults.toml [vessels] and sites.toml", status="U")
        for field, key in (("half_max", "vegf_half_max_ng_per_ml"), ("hill_power", "hill_power"),
                           ("growth_rate", "growth_rate_per_min"), ("max_density", "max_surface_density_per_um"),
                           ("regression_rate", "regression_rate_per_min"),
                           ("necrotic_regression_rate", "necrotic_regression_rate_per_min")):
            prior(d[key], prov, f"vessels.angiogenesis.{field}")
        record(prov, "vessels.angiogenesis.stable_density", vd.unit,
               f"the host's mature bed: {vd.source} [library sites.toml: {site.name}]", vd.status)
        return VesselBed(surface_density=vd.value, region_type=tumour, region_density=region, permeability=perm,
                         plasma=plasma, angiogenesis=angio, source="library sites.toml, defaults.toml [vessels]",
                         status="U")

    def substrates(self, subs):
        from ..model.substrates import Substrate
        cat, prov, e = self.cat, self.prov, self.e
        d = self.dflt["domain"]
        out = []
        for name in subs:
            if self._molecular(name):
                from ..body.library import load_params
                m = load_params("molecules")[name]
                dd = self.dflt["drug"]
                ref = dd["tissue_diffusion_reference_um2_per_min"]
                D = ref["value"] * (66500.0 / m["molecular_weight_g_per_mol"]) ** (1.0 / 3.0)
                record(prov, f"substrates[{name}].diffusion_coefficient", "um^2/min",
                       f"{ref['source']} with the molecular weight {m['molecular_weight_g_per_mol']:g} g/mol "
                       "(library/body/molecules.toml) [default prior]", "U")
                k = prior(dd["tissue_decay_per_min"], prov, f"substrates[{name}].decay_rate")
                out.append(Substrate(name=name, units="uM", diffusion_coefficient=D, decay_rate=k))
                continue
            D = number(cat, "substrates", name, "diffusion_coefficient_um2_per_min", None, prov,
                       f"substrates[{name}].diffusion_coefficient")
            k = number(cat, "substrates", name, "decay_rate_per_min", None, prov, f"substrates[{name}].decay_rate")
            if name == "oxygen":
                o2 = d["oxygen_boundary_mmHg"]
                record(prov, "substrates[oxygen].dirichlet_value", "mmHg", o2["source"] + " [default prior]",
                       o2["status"])
                out.append(Substrate(name=name, units="mmHg", diffusion_coefficient=D, decay_rate=k,
                                     initial_condition=o2["value"], dirichlet_enabled=True,
                                     dirichlet_value=o2["value"]))
            elif name == "tnfa" and e.tumour is not None:
                # the site's TNF-α (an inflamed site's, else a tumour's own) surrounds the tumour
                # and fills it at the start
                if "tumour" in e.host.inflamed:
                    level = float(e.host.inflamed["tumour"])
                    record(prov, "substrates[tnfa].dirichlet_value", "ng/mL", "scenario [host] inflamed.tumour", "V")
                else:
                    level = number(cat, "substrates", "tnfa", "tissue_level_tumour_ng_per_ml", None, prov,
                                   "substrates[tnfa].dirichlet_value")
                out.append(Substrate(name=name, units="ng/mL", diffusion_coefficient=D, decay_rate=k,
                                     initial_condition=level, dirichlet_enabled=True, dirichlet_value=level))
            else:
                unit = cat.get("substrates", name, "concentration_unit")
                out.append(Substrate(name=name, units=unit.value if unit is not None else "ng/mL",
                                     diffusion_coefficient=D, decay_rate=k))
        return out

    def build_types(self, subs):
        """Every cell type, its measured values set, priming applied; returns them in order."""
        e = self.e
        # pathway silencings in the scenario: what each leaves of the pathway, per carrier role
        for iv in e.intervention:
            if iv.kind == "blockade" and iv.target in self.mech.blockades:
                b = self.mech.blockades[iv.target]
                if b.pathway:
                    for role in b.carriers:
                        key = (role, b.pathway)
                        self.pathway_left[key] = self.pathway_left.get(key, 1.0) * (1.0 - iv.efficacy)
        if e.tumour is not None:
            self.types.append(self._tumour_type(subs))
            if "metastasis" in e.simulation.readouts:
                self.intravasation[e.tumour.line] = prior(self.dflt["tumour"]["intravasation_per_min"], self.prov,
                                                          "departures[0].rate_per_min")
        done = set()
        for i, name in self.msc_of.items():
            if name not in done:
                self.types.append(self._msc_type(e.treatment[i], subs, name))
                done.add(name)
        from .immune import immune_type
        for name in self.immune:
            self.types.append(immune_type(self, name, subs))
        for k, ct in enumerate(self.types):
            ct.id = k
        self._modifiers(subs)
        # a CAF is copied from its MSC once the treatment's properties (priming) are on it
        for msc_name, caf_name in self.fate.items():
            k = next(j for j, c in enumerate(self.types) if c.name == msc_name)
            self.types.insert(k + 1, self._caf_type(self.types[k], subs))
        for k, ct in enumerate(self.types):
            ct.id = k
        return self.types


def _behaviour_substrate(behaviour: str) -> str:
    low = behaviour.strip().lower()
    for prefix in ("chemotactic response to ",):
        if low.startswith(prefix):
            return low[len(prefix):].strip()
    for suffix in (" export", " secretion", " uptake"):
        if low.endswith(suffix):
            return low[: -len(suffix)].strip()
    return ""
