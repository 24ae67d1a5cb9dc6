"""A scenario resolved against the library into a tissue model, body scenarios and their links.

Split by concern: :mod:`.check` refuses what the library cannot run (every problem of a file
at once), :mod:`.tissue` builds the tissue model, :mod:`.body` makes one body scenario per
treatment and links it to the tissue, :mod:`.tables` reads the mechanism tables (sites,
blockades, modifiers). The builder knows no biology: the library's tables say which substrates
a cell makes, which rules apply to whom, what a blockade or a priming does.
"""

from __future__ import annotations

from .check import allowed, check_experiment, load_and_check
from .tissue import PG_PER_1E6_PER_DAY

__all__ = ["PG_PER_1E6_PER_DAY", "Resolved", "allowed", "build", "check_experiment", "load_and_check"]


class Resolved:
    """A scenario resolved against the library.

    Attributes
    ----------
    experiment : Experiment
    model : tropism.model.Model
        The tissue part (cell types, substrates, rules, initial cells, arrivals, vessel bed),
        every number in ``model.provenance`` with its source.
    bodies : list of tropism.body.Scenario
        One whole-body scenario per treatment, then one per product the tumour releases into
        the blood (``released``).
    links : list of BodyLink
        The link of each body to the tissue (empty without a tumour).
    link_provenance : dict
        The links' numbers (``chemokine_half_max``, ...) → ParameterSource.
    roles : dict
        ``"tumour"``, ``"msc"`` and ``"caf"`` (MSCs turned fibroblasts) → the cell-type names
        that play them; each immune type is a role of its own.
    drugs : dict
        Treatment index → the tissue substrate of that drug.
    hypoxic_mmHg : float
        The library's hypoxic threshold (for the hypoxic fraction readout).
    """

    def __init__(self, experiment, model, bodies, links, roles=None, hypoxic_mmHg=15.0, link_provenance=None,
                 drugs=None, msc_of=None, released=None, shed=False, immune=None, fate=None):
        self.experiment, self.model = experiment, model
        self.bodies, self.links = list(bodies), list(links)
        self.link_provenance = link_provenance or {}
        self.roles = roles or {"tumour": [], "msc": []}
        self.hypoxic_mmHg = hypoxic_mmHg
        self.drugs = drugs or {}
        #: treatment index -> the MSC cell type it becomes
        self.msc_of = msc_of or {}
        #: substrate -> body model of what the tumour releases into the blood (after the treatments)
        self.released = released or {}
        #: whether the last body follows the tumour cells the tissue sheds (product "metastasis")
        self.shed = shed
        #: the host's immune cell types in the tissue
        self.immune = list(immune or [])
        #: MSC type -> the cancer-associated fibroblast type it can become
        self.fate = dict(fate or {})

    @property
    def body(self):
        """The first treatment's body scenario, or None without a treatment."""
        return self.bodies[0] if self.experiment.treatment else None

    def product_labels(self) -> list[tuple[str, str]]:
        """(label, unit) of each treatment's body product: the MSC type, the drug, "exosome"."""
        out = []
        for i, t in enumerate(self.experiment.treatment):
            if t.product == "msc":
                out.append((self.msc_of.get(i, f"msc_{t.source}"), "cells"))
            elif t.product == "drug":
                out.append((self.drugs.get(i, t.name), "mg"))
            else:
                out.append(("exosome", "particles"))
        out += [(sub, "particles") for sub in self.released]
        if self.shed:
            out.append(("metastasis", "cells"))
        return out

    @property
    def link(self):
        """The first treatment's link, or None (no tumour or no treatment)."""
        return self.links[0] if self.links and self.experiment.treatment else None


def _clocks(sim, d: dict, three_d: bool, prov: dict, file: str | None):
    """The run's time steps and diffusion scheme: the scenario's where it sets them, else the
    library's (in 2D the Douglas scheme and longer steps; in 3D PhysiCell's LOD and steps)."""
    from ..errors import TropismInputError
    from ..model.domain import Clocks
    from .tissue import record
    dim = "3d" if three_d else "2d"
    chosen = {}
    for field, key in (("dt_diffusion", f"dt_diffusion_{dim}_min"), ("dt_mechanics", f"dt_mechanics_{dim}_min"),
                       ("dt_phenotype", "dt_phenotype_min"), ("diffusion_scheme", f"diffusion_scheme_{dim}")):
        own = getattr(sim, f"{field}_min" if field.startswith("dt_") else field)
        if own is not None:
            chosen[field] = own
            record(prov, f"clocks.{field}", "min" if field.startswith("dt_") else "", "scenario file", "V")
        else:
            chosen[field] = d[key]["value"]
            record(prov, f"clocks.{field}", d[key].get("unit", ""), f"{d[key]['source']} [default prior]",
                   d[key]["status"])
    try:
        return Clocks(max_time=sim.duration_h * 60.0, **chosen)
    except ValueError as exc:
        msg = str(exc).splitlines()[-1].removeprefix("Value error, ")
        raise TropismInputError(msg, file=file, field="simulation.dt_diffusion_min, dt_mechanics_min, dt_phenotype_min",
                                value=(chosen["dt_diffusion"], chosen["dt_mechanics"], chosen["dt_phenotype"]),
                                allowed="dt_diffusion <= dt_mechanics <= dt_phenotype") from None


def build(e, file: str | None = None, catalogue=None) -> Resolved:
    """Resolve a checked scenario into a tissue model, body scenarios and their links.

    The tumour line becomes a cell type whose cycle rate is ln 2 over its doubling time (at
    saturating oxygen), whose volume is that of a sphere of its diameter, and whose secretion
    is the library's per-cell rate (pg per 1e6 cells per 24 h → (ng/mL)·µm³/min). Each MSC
    product becomes a cell type that arrives from the body; priming changes it as
    ``interventions.toml`` says. The library's rules apply by role and ``applies_to``; the
    tissue has its site's vessel bed, growing with VEGF; each drug is a substrate supplied by
    the vessels from its plasma level. Where the library has no measurement the value comes
    from ``library/tissue/defaults.toml``; either way ``model.provenance`` says which.

    Parameters
    ----------
    e : Experiment
        A scenario (it is checked first).
    """
    import numpy as np
    from ..geometry import lattice_points, packed_points, sphere_radius
    from ..library import load_catalogue, load_defaults, load_rules
    from ..model import Model
    from ..model.domain import Domain, RunOptions, SaveOptions
    from ..model.model import InitialCells
    from ..model.reactions import Arrival
    from ..model.coupling import BodyLink
    from ..model.reactions import Departure
    from .body import (ENDOGENOUS_EXCHANGE_MIN, adhesion, body_scenarios, endogenous_links, endogenous_scenarios,
                       link_common, links, niche_link, shed_cells_scenario)
    from .tissue import TissueBuilder

    check_experiment(e, file=file, catalogue=catalogue)
    cat = catalogue or load_catalogue()
    dflt = load_defaults()
    b = TissueBuilder(e, cat, dflt, load_rules(), file)
    prov = b.prov
    sim = e.simulation
    half = sim.domain_um / 2
    three_d = e.tumour is not None and e.tumour.dimensions == 3
    domain = Domain(x_min=-half, x_max=half, y_min=-half, y_max=half,
                    z_min=-half if three_d else -sim.voxel_um / 2, z_max=half if three_d else sim.voxel_um / 2,
                    dx=sim.voxel_um, dy=sim.voxel_um, dz=sim.voxel_um, use_2d=not three_d)
    clocks = _clocks(sim, dflt["domain"], three_d, prov, file)

    b.plan_types()
    subs = b.substrate_names()
    types = b.build_types(subs)
    rules = b.rules(subs)
    substrates = b.substrates(subs)
    roles = b.roles

    cells = InitialCells()
    if e.tumour is not None:
        spacing = 2.0 * float(sphere_radius(types[0].volume.total))
        dim = 3 if three_d else 2
        if e.tumour.radius_um is not None:
            pos = lattice_points(min(e.tumour.radius_um, half - sim.voxel_um), spacing, dim)
        else:  # the n cells nearest the centre of the packing
            pos = packed_points(e.tumour.cells, spacing, dim)
        kinds = np.zeros(len(pos), dtype=np.int64)
        if b.immune:
            # an established tumour holds its infiltrate from the start: each immune type at its
            # share of the cells (the steady state its entry and residence keep), drawn among the
            # starting positions
            from .immune import starting_shares
            kinds = starting_shares(b, [c.name for c in types], kinds, sim.seed)
        cells = InitialCells(positions=pos, types=kinds)

    interventions = b.interventions(subs, rules)
    link_prov: dict = {}
    adh = adhesion(cat, link_prov)
    # MSCs cross the tumour's vessels where the wall is activated: sites ∝ vessel surface in the
    # tumour × VCAM-1
    arrivals = [Arrival(cell_type=n, weight="vessel density" if e.tumour is not None else "",
                        within=roles["tumour"][0] if roles["tumour"] else "", adhesion="tnfa" if e.tumour else "",
                        adhesion_half_max=adh["half_max"], adhesion_basal=adh["basal"],
                        source="rate set by the body model at each exchange", status="U")
                for n in roles["msc"]]
    for k in range(len(arrivals)):
        for key in ("half_max", "basal"):
            prov[f"arrivals[{k}].adhesion_{key}"] = link_prov[f"adhesion_{key}"]
    vessels = b.vessel_bed(subs) if e.tumour is not None else None
    # tumour cells at vessels leave into the blood (intravasation), when the scenario reads them
    departures = [Departure(cell_type=name, rate_per_min=rate, source=dflt["tumour"]["intravasation_per_min"]["source"],
                            status="U") for name, rate in b.intravasation.items()]
    shed = list(departures)
    # the host's immune cells: recruited from blood at the tumour's vessels, leaving after their stay
    if b.immune:
        from .immune import recruitment
        more_in, more_out = recruitment(b, b.immune, adh, len(arrivals), len(departures))
        for k in range(len(arrivals), len(arrivals) + len(more_in)):
            for key in ("half_max", "basal"):
                prov[f"arrivals[{k}].adhesion_{key}"] = link_prov[f"adhesion_{key}"]
        arrivals += more_in
        departures += more_out
    model = Model(domain=domain, clocks=clocks, save=SaveOptions(full_data_interval=sim.save_every_h * 60.0,
                                                                  svg_interval=sim.save_every_h * 60.0),
                  options=RunOptions(random_seed=sim.seed), substrates=substrates, cell_types=types,
                  initial_cells=cells, rules=rules, arrivals=arrivals, departures=departures,
                  interventions=interventions, vessels=vessels, conversions=b.conversions(subs), provenance=prov,
                  source=file or "")
    bodies = body_scenarios(e, adh["half_max"])
    lks = links(e, bodies, roles, b.msc_of, b.drugs, cat, link_prov, adh["half_max"])
    # what the tumour itself releases into the blood follows the treatments, each with its body
    released = b.released_to_blood(subs) if e.tumour is not None else {}
    if released:
        own = endogenous_scenarios(e, released)
        lks += endogenous_links(released, own, roles, link_common(e, roles, link_prov, adh["half_max"]))
        bodies += own
    # and the cells it sheds into the blood, when read: circulating, arrested, seeded in organs
    if shed:
        shed_body = shed_cells_scenario(e, cat, prov)
        # the organs the tumour's own exosomes condition take its shed cells in (pre-metastatic niche)
        niche = niche_link(released, link_prov)
        lks.append(BodyLink(product_type=shed[0].cell_type, departure_state=("venous_blood", "viable"),
                            whole_tumour_departures=True, exchange_min=ENDOGENOUS_EXCHANGE_MIN, **niche,
                            **link_common(e, roles, link_prov, adh["half_max"])))
        bodies.append(shed_body)
    link_prov = {k: v for k, v in link_prov.items() if not k.startswith("adhesion_")}
    hyp = cat.get("substrates", "oxygen", "hypoxic_threshold")
    return Resolved(e, model, bodies, lks, roles, float(hyp.value) if hyp is not None else 15.0, link_prov,
                    drugs=b.drugs, msc_of=b.msc_of, released=released, shed=bool(shed), immune=b.immune,
                    fate=b.fate)
