"""A scenario checked against the library, before the first step (issue 10).

:func:`check_experiment` refuses what the file alone cannot show to be wrong: a tumour line,
MSC source or host condition the library does not hold (with "did you mean"), a human tumour
line in an immune-competent animal (it would be rejected), and a blockade of a receptor that no
cell in the scenario carries. Building the tissue model and the body scenario from the library
follows the same path.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from .errors import TropismInputError
from .model.experiment import Experiment, load_experiment
from .units import uptake_from_consumption

#: blockade target -> (library table, parameter that says whether a cell carries it); targets that
#: act on a secreted factor or a process are always meaningful and are not listed
RECEPTORS = {"cxcr4": ("cell_lines", "cxcr4_expression"), "ccr5": ("cell_lines", "ccr5_expression")}
#: immune statuses that accept a xenograft from another species
XENO_HOSTS = ("nude", "scid", "nsg")


def _allowed(name, names) -> str:
    names = list(names)
    near = difflib.get_close_matches(str(name), names, n=1)
    return (f"did you mean {near[0]!r}? " if near else "") + ", ".join(names)


def check_experiment(e: Experiment, file: str | None = None, catalogue=None) -> None:
    """Refuse a scenario the library cannot run (see the module docstring).

    Raises
    ------
    TropismInputError
        Naming the file, the field, the value and what is allowed.
    """
    from .body.library import load_conditions
    from .library import load_catalogue
    cat = catalogue or load_catalogue()
    conditions = load_conditions()
    from .body.library import ORGANS
    for organ in e.host.inflamed:
        if organ not in ORGANS + ("tumour",):
            raise TropismInputError("unknown organ", file=file, field=f"host.inflamed.{organ}", value=organ,
                                    allowed=_allowed(organ, ORGANS + ("tumour",)))
        if organ == "tumour" and e.tumour is None:
            raise TropismInputError("an inflamed tumour needs a [tumour]", file=file, field="host.inflamed.tumour",
                                    value=e.host.inflamed[organ])
    for i, organ in enumerate(e.host.irradiated):
        if organ not in ORGANS + ("tumour",):
            raise TropismInputError("unknown organ", file=file, field=f"host.irradiated[{i}]", value=organ,
                                    allowed=_allowed(organ, ORGANS + ("tumour",)))
        if organ == "tumour" and e.tumour is None:
            raise TropismInputError("an irradiated tumour needs a [tumour]", file=file, field=f"host.irradiated[{i}]",
                                    value=organ)
    for i, c in enumerate(e.host.conditions):
        if c not in conditions:
            raise TropismInputError("unknown host condition", file=file, field=f"host.conditions[{i}]", value=c,
                                    allowed=_allowed(c, conditions))
    if e.tumour is not None:
        lines = cat.entities("cell_lines")
        if e.tumour.line not in lines:
            raise TropismInputError("unknown tumour line", file=file, field="tumour.line", value=e.tumour.line,
                                    allowed=_allowed(e.tumour.line, lines))
        origin = cat.get("cell_lines", e.tumour.line, "species_of_origin")
        if origin is not None and origin.value != e.host.species and e.host.immune not in XENO_HOSTS:
            raise TropismInputError(
                f"a {origin.value} tumour line in an immune-competent {e.host.species} is rejected",
                file=file, field="host.immune", value=e.host.immune,
                allowed=f"{', '.join(XENO_HOSTS)} for a xenograft, or a {e.host.species} line")
    sources = cat.entities("msc_sources")
    for i, t in enumerate(e.treatment):
        if t.product == "msc" and t.source not in sources:
            raise TropismInputError("unknown MSC source", file=file, field=f"treatment[{i}].source", value=t.source,
                                    allowed=_allowed(t.source, sources))
    for i, iv in enumerate(e.intervention):
        if iv.kind != "blockade" or iv.target not in RECEPTORS:
            continue
        table, parameter = RECEPTORS[iv.target]
        carriers = []
        if e.tumour is not None:
            entry = cat.get(table, e.tumour.line, parameter)
            if entry is None or entry.value != "absent":
                carriers.append(e.tumour.line)
        if iv.target == "cxcr4" and any(t.product == "msc" for t in e.treatment):
            carriers.append("MSCs")  # MSCs carry CXCR4 (Wynn 2004 Blood 104:2643)
        if not carriers:
            raise TropismInputError(f"no cell in this scenario carries {iv.target.upper()}", file=file,
                                    field=f"intervention[{i}].target", value=iv.target,
                                    allowed="a target that a tumour line or a treatment in the scenario carries")


def load_and_check(path: str | Path) -> Experiment:
    """Read a scenario file and check it against the library."""
    e = load_experiment(path)
    check_experiment(e, file=str(path))
    return e


# ---------------------------------------------------------------------------------------------
# building the model: scenario + library -> tissue Model, body scenario, coupling

#: substrates every scenario model carries: oxygen (mmHg) and the factors the library's rules read
SUBSTRATES = ("oxygen", "sdf1", "pdgfbb", "il6", "tnfa", "vegf")
#: pg per 1e6 cells per 24 h -> net export per cell in (ng/mL)·µm³/min: 1 pg = 1e9 (ng/mL)·µm³
PG_PER_1E6_PER_DAY = 1e9 / (1e6 * 1440.0)
#: library secretion parameter -> substrate, per table
SECRETION = {"cell_lines": {"sdf1_secretion_pg_per_1e6_cells_per_24h": "sdf1",
                            "vegf_secretion_pg_per_1e6_cells_per_24h": "vegf",
                            "tnfa_secretion_pg_per_1e6_cells_per_24h": "tnfa",
                            "il6_secretion_pg_per_1e6_cells_per_24h": "il6"},
             "msc_sources": {"vegf_pg_per_1e6_cells_per_24h": "vegf", "il6_pg_per_1e6_cells_per_24h": "il6",
                             "sdf1_pg_per_1e6_cells_per_24h": "sdf1"}}
#: blockade target -> (signal blocked in rules, cell roles whose rules read it)
BLOCKS = {"cxcr4": ("sdf1", ("msc",)), "sdf1": ("sdf1", ("msc", "tumour")), "il6": ("il6", ("msc", "tumour")),
          "vegf": ("vegf", ("msc", "tumour"))}


class Resolved:
    """A scenario resolved against the library.

    Attributes
    ----------
    experiment : Experiment
    model : tropism.model.Model
        The tissue part (cell types, substrates, rules, initial cells, arrivals), every number
        in ``model.provenance`` with its source.
    body : tropism.body.Scenario or None
        The whole-body part (the first treatment), or None without a treatment.
    link : tropism.model.coupling.BodyLink or None
    link_provenance : dict
        The link's numbers (``chemokine_half_max``, ...) → ParameterSource.
    roles : dict
        ``"tumour"`` and ``"msc"`` → the cell-type names that play them.
    hypoxic_mmHg : float
        The library's hypoxic threshold (for the hypoxic fraction readout).
    """

    def __init__(self, experiment, model, body, link, roles=None, hypoxic_mmHg=15.0, link_provenance=None):
        self.experiment, self.model, self.body, self.link = experiment, model, body, link
        self.link_provenance = link_provenance or {}
        self.roles = roles or {"tumour": [], "msc": []}
        self.hypoxic_mmHg = hypoxic_mmHg


def _record(prov: dict, path: str, unit: str, source: str, status: str, fitted_to: str = "") -> None:
    from .model.provenance import ParameterSource
    prov[path] = ParameterSource(unit=unit, source=source, status=status, fitted_to=fitted_to)


def _number(cat, table: str, entity: str | None, parameter: str, default: dict | None, prov: dict, path: str,
            convert=lambda v: v) -> float:
    """The library's value converted by ``convert``, or else the default prior as it stands (a
    default is given in the unit of the model parameter); either is recorded against ``path``."""
    e = cat.get(table, entity, parameter) if entity else None
    if e is not None and isinstance(e.value, float):
        _record(prov, path, e.unit, f"{e.source} [library {table}: {entity}.{parameter}]", e.status, e.fitted_to)
        return convert(e.value)
    if default is None:
        raise TropismInputError("no value in the library", field=f"{table}.{entity}.{parameter}")
    return _prior(default, prov, path)


def _prior(default: dict, prov: dict, path: str) -> float:
    """A ``defaults.toml`` entry, recorded against ``path`` as a default prior."""
    _record(prov, path, default.get("unit", ""), f"{default['source']} [default prior]", default["status"])
    return float(default["value"])


def _clocks(sim, d: dict, three_d: bool, prov: dict, file: str | None):
    """The run's time steps and diffusion scheme: the scenario's where it sets them, else the
    library's (in 2D the Douglas scheme and longer steps; in 3D PhysiCell's LOD and steps)."""
    from .model.domain import Clocks
    dim = "3d" if three_d else "2d"
    chosen = {}
    for field, key in (("dt_diffusion", f"dt_diffusion_{dim}_min"), ("dt_mechanics", f"dt_mechanics_{dim}_min"),
                       ("dt_phenotype", "dt_phenotype_min"), ("diffusion_scheme", f"diffusion_scheme_{dim}")):
        own = getattr(sim, f"{field}_min" if field.startswith("dt_") else field)
        if own is not None:
            chosen[field] = own
            _record(prov, f"clocks.{field}", "min" if field.startswith("dt_") else "", "scenario file", "V")
        else:
            chosen[field] = d[key]["value"]
            _record(prov, f"clocks.{field}", d[key].get("unit", ""), f"{d[key]['source']} [default prior]",
                    d[key]["status"])
    try:
        return Clocks(max_time=sim.duration_h * 60.0, **chosen)
    except ValueError as exc:
        msg = str(exc).splitlines()[-1].removeprefix("Value error, ")
        raise TropismInputError(msg, file=file, field="simulation.dt_diffusion_min, dt_mechanics_min, dt_phenotype_min",
                                value=(chosen["dt_diffusion"], chosen["dt_mechanics"], chosen["dt_phenotype"]),
                                allowed="dt_diffusion <= dt_mechanics <= dt_phenotype") from None


def _sphere(d_um: float) -> float:
    """Volume (µm³) of a sphere of diameter ``d_um``."""
    import numpy as np
    return float(np.pi / 6 * d_um ** 3)


def _volume(total: float):
    """A cell volume with PhysiCell's default nuclear share (540 of 2494 µm³)."""
    from .model.phenotype import Volume
    base = Volume()
    return Volume(total=total, nuclear=total * base.nuclear / base.total)


def _rate(doubling_h: float) -> float:
    """Cycle rate (1/min) of a population doubling every ``doubling_h`` hours."""
    import numpy as np
    return float(np.log(2) / (doubling_h * 60.0))


def _kd_ng_ml(cat, substrate: str, prov: dict) -> float:
    """A receptor's Kd for ``substrate`` in ng/mL (nM × kDa), recorded against the coupling."""
    kd = cat.get("substrates", substrate, "receptor_kd_nM")
    mw = cat.get("substrates", substrate, "molecular_weight_kda")
    if kd is None or mw is None:
        raise TropismInputError("no receptor Kd or molecular weight in the library", field=f"substrates.{substrate}")
    worst = "U" if "U" in (kd.status, mw.status) else "V"
    _record(prov, "chemokine_half_max", "ng/mL", f"{kd.source}; x {mw.source}", worst)
    return float(kd.value) * float(mw.value)


def _adhesion(cat, prov: dict) -> dict:
    """TNF-α's half-maximal and basal VCAM-1 induction, from the library."""
    out = {}
    for key, parameter in (("half_max", "vcam1_half_max_ng_per_ml"), ("basal", "vcam1_basal_fraction")):
        out[key] = _number(cat, "substrates", "tnfa", parameter, None, prov, f"adhesion_{key}")
    return out


def _disc(radius: float, spacing: float) -> "np.ndarray":
    """Cell centres filling a disc (hexagonal packing), z = 0."""
    import numpy as np
    pts = []
    dy = spacing * np.sqrt(3) / 2
    n = int(radius // dy) + 1
    for j in range(-n, n + 1):
        y = j * dy
        off = 0.5 * spacing * (j % 2)
        m = int(radius // spacing) + 1
        for i in range(-m, m + 1):
            x = i * spacing + off
            if x * x + y * y <= radius * radius:
                pts.append((x, y, 0.0))
    return np.array(pts, float).reshape(-1, 3)


def _ball(radius: float, spacing: float) -> "np.ndarray":
    """Cell centres filling a ball (hexagonal layers stacked at the close-packing height)."""
    import numpy as np
    dz = spacing * np.sqrt(2.0 / 3.0)
    layers = []
    for k in range(-int(radius // dz), int(radius // dz) + 1):
        z = k * dz
        r = np.sqrt(max(radius * radius - z * z, 0.0))
        layer = _disc(r, spacing)
        if k % 2:
            layer = layer + np.array([spacing / 2, spacing / (2 * np.sqrt(3)), 0.0])
        layer[:, 2] = z
        layers.append(layer)
    return np.concatenate(layers) if layers else np.zeros((0, 3))


def build(e: Experiment, file: str | None = None, catalogue=None) -> Resolved:
    """Resolve a checked scenario into a tissue model, a body scenario and their coupling.

    The tumour line becomes a cell type whose cycle rate is ln 2 over its doubling time, whose
    volume is that of a sphere of its diameter, and whose secretion is the library's per-cell
    rate (pg per 1e6 cells per 24 h → (ng/mL)·µm³/min). Each MSC source becomes a cell type that
    arrives from the body (anywhere in the domain until vessels are drawn per site). The library's rules apply by role (``tumour``,
    ``msc``). Where the library has no measurement the value comes from
    ``library/tissue/defaults.toml`` (PhysiCell's priors); either way ``model.provenance`` says
    which.

    Parameters
    ----------
    e : Experiment
        A scenario that passed :func:`check_experiment`.
    """
    import numpy as np
    from .library import load_catalogue, load_defaults, load_rules
    from .model import Model
    from .model.domain import Clocks, Domain, RunOptions, SaveOptions
    from .model.model import InitialCells
    from .model.phenotype import AdvancedChemotaxis, CellType, Cycle, Motility, PhaseLink, SecretionParameters
    from .model.reactions import Arrival, Intervention
    from .model.rules import Rule
    from .model.substrates import Substrate

    check_experiment(e, file=file, catalogue=catalogue)
    cat = catalogue or load_catalogue()
    dflt = load_defaults()
    prov: dict = {}
    sim = e.simulation
    half = sim.domain_um / 2
    three_d = e.tumour is not None and e.tumour.dimensions == 3
    domain = Domain(x_min=-half, x_max=half, y_min=-half, y_max=half,
                    z_min=-half if three_d else -sim.voxel_um / 2, z_max=half if three_d else sim.voxel_um / 2,
                    dx=sim.voxel_um, dy=sim.voxel_um, dz=sim.voxel_um, use_2d=not three_d)
    d = dflt["domain"]
    clocks = _clocks(sim, d, three_d, prov, file)

    substrates = []
    for name in SUBSTRATES:
        D = _number(cat, "substrates", name, "diffusion_coefficient_um2_per_min", None, prov,
                    f"substrates[{name}].diffusion_coefficient")
        k = _number(cat, "substrates", name, "decay_rate_per_min", None, prov, f"substrates[{name}].decay_rate")
        if name == "oxygen":
            o2 = d["oxygen_boundary_mmHg"]
            _record(prov, "substrates[oxygen].dirichlet_value", "mmHg", o2["source"] + " [default prior]", o2["status"])
            substrates.append(Substrate(name=name, units="mmHg", diffusion_coefficient=D, decay_rate=k,
                                        initial_condition=o2["value"], dirichlet_enabled=True,
                                        dirichlet_value=o2["value"]))
        elif name == "tnfa" and e.tumour is not None:
            # the site's TNF-α (an inflamed site's, else a tumour's own) surrounds the tumour
            # and fills it at the start
            if "tumour" in e.host.inflamed:
                level = float(e.host.inflamed["tumour"])
                _record(prov, "substrates[tnfa].dirichlet_value", "ng/mL", "scenario [host] inflamed.tumour", "V")
            else:
                level = _number(cat, "substrates", "tnfa", "tissue_level_tumour_ng_per_ml", None, prov,
                                "substrates[tnfa].dirichlet_value")
            substrates.append(Substrate(name=name, units="ng/mL", diffusion_coefficient=D, decay_rate=k,
                                        initial_condition=level, dirichlet_enabled=True, dirichlet_value=level))
        else:
            substrates.append(Substrate(name=name, units="ng/mL", diffusion_coefficient=D, decay_rate=k))

    types, roles = [], {"tumour": [], "msc": []}

    def secretion(table, entity, type_name, o2_default, volume_um3):
        sec = {s: SecretionParameters() for s in SUBSTRATES}
        path = f"cell_types[{type_name}].secretion[oxygen].uptake_rate"
        if table == "cell_lines" and cat.get(table, entity, "oxygen_consumption_rate_amol_per_cell_per_s") is not None:
            u = _number(cat, table, entity, "oxygen_consumption_rate_amol_per_cell_per_s", None, prov, path,
                        convert=lambda q: uptake_from_consumption(
                            q, volume_um3, dflt["oxygen"]["solubility_uM_per_mmHg"]["value"],
                            dflt["oxygen"]["uptake_reference_mmHg"]["value"]))
            o2 = dflt["oxygen"]
            # a measured rate through the conversion's constants is only as good as the weakest
            status = "U" if "U" in (prov[path].status, o2["solubility_uM_per_mmHg"]["status"],
                                    o2["uptake_reference_mmHg"]["status"]) else prov[path].status
            prov[path] = prov[path].model_copy(update={
                "unit": "1/min", "status": status,
                "source": prov[path].source + f"; converted at {o2['uptake_reference_mmHg']['value']:g} mmHg with O2 "
                f"solubility {o2['solubility_uM_per_mmHg']['value']:g} uM/mmHg (defaults.toml [oxygen])"})
        else:
            u = _prior(o2_default, prov, path)
        sec["oxygen"] = SecretionParameters(uptake_rate=u)
        for parameter, sub in SECRETION[table].items():
            if cat.get(table, entity, parameter) is not None:
                rate = _number(cat, table, entity, parameter, None, prov,
                               f"cell_types[{type_name}].secretion[{sub}].net_export_rate",
                               convert=lambda v: v * PG_PER_1E6_PER_DAY)
                sec[sub] = SecretionParameters(net_export_rate=rate)
        return sec

    if e.tumour is not None:
        line, name = e.tumour.line, e.tumour.line
        td = dflt["tumour"]
        prior = dict(td["doubling_time_h"], value=_rate(td["doubling_time_h"]["value"]), unit="1/min")
        doubling = _number(cat, "cell_lines", line, "doubling_time_in_vitro_h", prior, prov,
                           f"cell_types[{name}].cycle.links[0].rate", convert=_rate)
        vol = _number(cat, "cell_lines", line, "cell_diameter_um", td["cell_volume_um3"], prov,
                      f"cell_types[{name}].volume.total", convert=_sphere)
        types.append(CellType(name=name, id=len(types),
                              cycle=Cycle(code=5, name="live", links=[PhaseLink(start=0, end=0, rate=doubling)]),
                              volume=_volume(vol),
                              secretion=secretion("cell_lines", line, name, td["oxygen_uptake_per_min"], vol)))
        roles["tumour"].append(name)
    sources = sorted({t.source for t in e.treatment if t.product == "msc"})
    md = dflt["msc"]
    for src in sources:
        name = f"msc_{src}"
        vol = _number(cat, "msc_sources", src, "diameter_um", md["cell_volume_um3"], prov,
                      f"cell_types[{name}].volume.total", convert=_sphere)
        prior = dict(md["doubling_time_h"], value=_rate(md["doubling_time_h"]["value"]), unit="1/min")
        cycle = _number(cat, "msc_sources", src, "doubling_time_h", prior, prov,
                        f"cell_types[{name}].cycle.links[0].rate", convert=_rate)
        speed = _number(cat, "msc_sources", src, "random_speed_um_per_min", md["speed_um_per_min"], prov,
                        f"cell_types[{name}].motility.speed")
        pers = _number(cat, "msc_sources", src, "persistence_time_min", md["persistence_time_min"], prov,
                       f"cell_types[{name}].motility.persistence_time")
        _record(prov, f"cell_types[{name}].motility.migration_bias", "", md["migration_bias"]["source"] + " [default prior]",
                md["migration_bias"]["status"])
        # CBHG "chemotactic response to X" rules set these sensitivities; they start at 0
        adv = AdvancedChemotaxis(enabled=True, sensitivities={s: 0.0 for s in SUBSTRATES})
        types.append(CellType(name=name, id=len(types),
                              cycle=Cycle(code=5, name="live", links=[PhaseLink(start=0, end=0, rate=cycle)]),
                              volume=_volume(vol),
                              motility=Motility(enabled=True, speed=speed, persistence_time=pers,
                                                migration_bias=md["migration_bias"]["value"], advanced_chemotaxis=adv),
                              secretion=secretion("msc_sources", src, name, md["oxygen_uptake_per_min"], vol)))
        roles["msc"].append(name)

    rules = []
    for r in load_rules():
        for type_name in roles.get(r.cell_type, [r.cell_type] if r.cell_type in [t.name for t in types] else []):
            rules.append(Rule(cell_type=type_name, signal=r.signal, direction=r.direction, behavior=r.behaviour,
                              saturation=r.max_response, half_max=r.half_max, hill_power=r.hill_power,
                              applies_to_dead=r.applies_to_dead, source=f"{r.file}:{r.line} ({r.source})",
                              line=r.line))

    cells = InitialCells()
    if e.tumour is not None:
        spacing = (types[0].volume.total * 6 / np.pi) ** (1 / 3)
        fill = _ball if three_d else _disc
        if e.tumour.radius_um is not None:
            pos = fill(min(e.tumour.radius_um, half - sim.voxel_um), spacing)
        else:
            # the n cells nearest the centre of a packing wide enough to hold them
            r = spacing
            pos = fill(r, spacing)
            while len(pos) < e.tumour.cells:
                r *= 1.2
                pos = fill(r, spacing)
            pos = pos[np.argsort(np.linalg.norm(pos, axis=1), kind="stable")[: e.tumour.cells]]
        cells = InitialCells(positions=pos, types=np.zeros(len(pos), dtype=np.int64))

    interventions = []
    for i, iv in enumerate(e.intervention):
        # the model applies an intervention for the whole run: refuse what it would get wrong
        if iv.kind == "irradiation":
            raise TropismInputError("irradiation is not simulated yet", file=file, field=f"intervention[{i}].kind",
                                    value=iv.kind, allowed="blockade, vasodilator")
        if iv.start_h > 0 or (iv.end_h is not None and iv.end_h < sim.duration_h):
            raise TropismInputError("an intervention acts for the whole run for now", file=file,
                                    field=f"intervention[{i}].start_h/end_h", value=f"{iv.start_h}-{iv.end_h}",
                                    allowed=f"start_h = 0 and end_h at or after {sim.duration_h:g} h (or left out)")
        if iv.kind == "blockade" and iv.target not in BLOCKS:
            raise TropismInputError("this blockade is not simulated yet", file=file, field=f"intervention[{i}].target",
                                    value=iv.target, allowed=", ".join(BLOCKS))
        if iv.kind == "blockade":
            signal, who = BLOCKS[iv.target]
            interventions.append(Intervention(kind="block_signal", target=signal,
                                              cell_types=[n for role in who for n in roles[role]],
                                              efficacy=iv.efficacy, source=f"scenario intervention {iv.target}",
                                              status="V"))
    # MSCs cross the tumour's vessels where the wall is activated: sites ∝ tumour cells × VCAM-1
    link_prov: dict = {}
    adhesion = _adhesion(cat, link_prov)
    arrivals = [Arrival(cell_type=n, weight=roles["tumour"][0] if roles["tumour"] else "", adhesion="tnfa",
                        adhesion_half_max=adhesion["half_max"], adhesion_basal=adhesion["basal"],
                        source="rate set by the body model at each exchange", status="U")
                for n in roles["msc"]]
    for k in range(len(arrivals)):
        for key in ("half_max", "basal"):
            prov[f"arrivals[{k}].adhesion_{key}"] = link_prov[f"adhesion_{key}"]
    model = Model(domain=domain, clocks=clocks, save=SaveOptions(full_data_interval=sim.save_every_h * 60.0,
                                                                  svg_interval=sim.save_every_h * 60.0),
                  options=RunOptions(random_seed=sim.seed), substrates=substrates, cell_types=types,
                  initial_cells=cells, rules=rules, arrivals=arrivals, interventions=interventions,
                  provenance=prov, source=file or "")
    body, link = _body(e, roles, adhesion["half_max"])
    if link is not None:
        link = link.model_copy(update={"chemokine": "sdf1", "chemokine_half_max": _kd_ng_ml(cat, "sdf1", link_prov),
                                       "inflammation": "tnfa", "inflammation_half_max": adhesion["half_max"],
                                       "perfusion_viable_ml_min_per_ml": _viable_perfusion(body, link_prov)})
    hyp = cat.get("substrates", "oxygen", "hypoxic_threshold")
    if link is not None:
        link_prov["inflammation_half_max"] = link_prov["adhesion_half_max"]
    link_prov = {k: v for k, v in link_prov.items() if not k.startswith("adhesion_")}
    return Resolved(e, model, body, link, roles, float(hyp.value) if hyp is not None else 15.0, link_prov)


def _viable_perfusion(body, prov: dict) -> float:
    """The species' tumour perfusion (library/physiology), read as that of viable tumour tissue:
    the coupled body scales it by the live share of the tissue's tumour (necrosis is unperfused)."""
    from .body.library import physiology_entry
    entry = physiology_entry(body.species, "tumour", "perfusion_ml_min_per_ml")
    _record(prov, "perfusion_viable_ml_min_per_ml", "mL/min/mL",
            f"{entry['source']} [library physiology/{body.species}.toml: tumour.perfusion_ml_min_per_ml, read as the "
            "perfusion of viable tumour tissue: necrotic regions carry no flow (Vaupel P, Kallinowski F, Okunieff P "
            "1989 Cancer Res 49:6449)]", entry.get("status", "U"))
    return float(entry["value"])


#: scenario tumour site -> body-model site (a lung tumour is fed by bronchial, systemic arteries)
BODY_SITES = {"brain": "brain", "subcutaneous": "subcutaneous", "lung": "lung", "breast": "breast"}


def _body(e: Experiment, roles: dict, tnf_half_max: float = 1.0):
    """The first treatment as a body scenario, and the link that brings its cells to the tissue."""
    import numpy as np
    from .body.scenario import scenario_from_dict
    from .model.coupling import BodyLink
    if not e.treatment:
        return None, None
    if len(e.treatment) > 1:
        raise TropismInputError("one treatment per scenario for now: the body model carries one product",
                                field="treatment[1]", value=e.treatment[1].product,
                                allowed="a single [[treatment]] (several doses of it: times_h)")
    t = e.treatment[0]
    times = sorted(t.times_h)
    gaps = np.diff(times)
    if len(times) > 1 and not np.allclose(gaps, gaps[0]):
        raise TropismInputError("the body model takes evenly spaced doses", field="treatment[0].times_h",
                                value=list(times), allowed="times with one interval, e.g. [0, 24, 48]")
    sc = {"species": e.host.species, "dose": t.dose, "duration_h": e.simulation.duration_h,
          "product": {"kind": t.product}, "route": {"kind": t.route},
          "schedule": {"doses": len(times), "interval_h": float(gaps[0]) if len(times) > 1 else 24.0,
                       "infusion_min": t.infusion_min},
          # an inflamed organ's TNF-α as the induction of adhesion molecules the body reads
          "inflammation": {k: v / (v + tnf_half_max) for k, v in e.host.inflamed.items() if k != "tumour"},
          "conditions": list(e.host.conditions)}
    if e.host.body_weight_g:
        sc["body_weight_g"] = e.host.body_weight_g
    if t.product == "drug":
        sc["product"]["name"] = t.name
    if t.artery:
        sc["route"]["artery"] = t.artery
    if t.side:
        sc["route"]["side"] = t.side
    if e.tumour is not None and e.tumour.site in BODY_SITES:
        r_um = e.tumour.radius_um or 0.5 * (e.tumour.cells * 2494.0 * 6 / np.pi) ** (1 / 3)
        sc["tumour"] = {"site": BODY_SITES[e.tumour.site], "volume_mm3": max(4 / 3 * np.pi * (r_um / 1000) ** 3, 1e-3),
                        "hemisphere": e.tumour.hemisphere}
    if times[0] > 0:
        raise TropismInputError("the coupled body model starts with the first dose", field="treatment[0].times_h",
                                value=list(t.times_h), allowed="a first dose at 0 h")
    vaso = [iv.factor for iv in e.intervention if iv.kind == "vasodilator"]
    if vaso:
        sc["interventions"] = {"vasodilator": float(np.prod(vaso))}
    # blockades that take the MSCs' SDF-1 sensing away act on their migration in the body too
    sdf1 = [iv.efficacy for iv in e.intervention
            if iv.kind == "blockade" and iv.target in BLOCKS and BLOCKS[iv.target][0] == "sdf1"]
    if sdf1 and t.product == "msc":
        sc.setdefault("interventions", {})["sdf1_blockade"] = 1.0 - float(np.prod([1.0 - x for x in sdf1]))
    body = scenario_from_dict(sc)
    link = None
    if t.product == "msc" and e.tumour is not None and e.tumour.site in BODY_SITES:
        link = BodyLink(product_type=f"msc_{t.source}", tumour_types=roles["tumour"])
    return body, link
