"""Linking a scenario's treatments to the body model: one body scenario and one link each.

Every treatment becomes a body scenario on its own schedule (any administration times). With a
tumour, each is coupled to the tissue: MSCs arrive in it as cells (from the body's inflow into
the tumour, an intratumoral dose straight away), a drug reaches it through the vessels from
its plasma level and what the tissue takes up is debited from the plasma; every product's
body reads the same tumour (volume, perfusion, chemokine and inflammation levels).
"""

from __future__ import annotations

import numpy as np

from ..errors import TropismInputError
from ..geometry import sphere_radius, sphere_volume
from .tables import load_mechanisms
from .tissue import molecule, number, record


#: minutes between exchanges of what a tumour makes (its vesicles, its shed cells) with the body:
#: releases and departures are counted at every step whatever the interval (the last exchange is
#: at the end), and the plasma level the vessels meet is far below the tissue's, so an hour loses
#: nothing and spares the body a rebuild every phenotype step (numerical choice: the lung example's
#: plasma level at 72 h moved 0.9 %, its run 9.1 -> 7.8 s)
ENDOGENOUS_EXCHANGE_MIN = 60.0


def kd_ng_ml(cat, substrate: str, prov: dict) -> float:
    """A receptor's Kd for ``substrate`` in ng/mL (nM × kDa), recorded against the coupling."""
    kd = cat.get("substrates", substrate, "receptor_kd_nM")
    mw = cat.get("substrates", substrate, "molecular_weight_kda")
    if kd is None or mw is None:
        raise TropismInputError("no receptor Kd or molecular weight in the library", field=f"substrates.{substrate}")
    worst = "U" if "U" in (kd.status, mw.status) else "V"
    record(prov, "chemokine_half_max", "ng/mL", f"{kd.source}; x {mw.source}", worst)
    return float(kd.value) * float(mw.value)


def adhesion(cat, prov: dict) -> dict:
    """TNF-α's half-maximal and basal VCAM-1 induction, from the library."""
    return {key: number(cat, "substrates", "tnfa", parameter, None, prov, f"adhesion_{key}")
            for key, parameter in (("half_max", "vcam1_half_max_ng_per_ml"), ("basal", "vcam1_basal_fraction"))}


def viable_perfusion(species: str, prov: dict) -> float:
    """The species' tumour perfusion (library/physiology), read as that of viable tumour tissue
    on the bed the tumour starts with: the coupled body scales it by the live share of the
    tissue's tumour (necrosis is unperfused) and by its vessel density relative to the start."""
    from ..body.library import physiology_entry
    entry = physiology_entry(species, "tumour", "perfusion_ml_min_per_ml")
    record(prov, "perfusion_viable_ml_min_per_ml", "mL/min/mL",
           f"{entry['source']} [library physiology/{species}.toml: tumour.perfusion_ml_min_per_ml, read as the "
           "perfusion of viable tumour tissue on its starting vessel bed: necrotic regions carry no flow (Vaupel P, "
           "Kallinowski F, Okunieff P 1989 Cancer Res 49:6449)]", entry.get("status", "U"))
    return float(entry["value"])


def _body_tumour(e, mech) -> dict:
    """The scenario's tumour as the body sees it: its site's organ and the volume of its ball."""
    r_um = e.tumour.radius_um or float(sphere_radius(e.tumour.cells * 2494.0))
    return {"site": mech.sites[e.tumour.site].body_site, "volume_mm3": max(float(sphere_volume(r_um / 1000)), 1e-3),
            "hemisphere": e.tumour.hemisphere}


def body_scenarios(e, tnf_half_max: float) -> list:
    """One body scenario per treatment, on its own schedule."""
    from ..body.scenario import scenario_from_dict
    mech = load_mechanisms()
    out = []
    for i, t in enumerate(e.treatment):
        sc = {"species": e.host.species, "dose": t.dose, "duration_h": e.simulation.duration_h,
              "product": {"kind": t.product}, "route": {"kind": t.route},
              "schedule": {"times_h": sorted(t.times_h), "infusion_min": t.infusion_min},
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
        if e.tumour is not None:
            sc["tumour"] = _body_tumour(e, mech)
        vaso = [iv.factor for iv in e.intervention if iv.kind == "vasodilator"]
        if vaso:
            sc["interventions"] = {"vasodilator": float(np.prod(vaso))}
        if t.product == "msc":
            # blockades that take the MSCs' SDF-1 sensing away act on their migration in the body too
            # (those acting at the start; a coupled run opens and closes their windows as it goes)
            for iv in e.intervention:
                b = mech.blockades.get(iv.target) if iv.kind == "blockade" else None
                if b is not None and b.body and "msc" in b.carriers and iv.start_h == 0:
                    now = sc.setdefault("interventions", {}).get(b.body, 0.0)
                    sc["interventions"][b.body] = 1.0 - (1.0 - now) * (1.0 - iv.efficacy)
        out.append(scenario_from_dict(sc))
    return out


def _endogenous(e, product: dict):
    """A body scenario of something the scenario's tumour makes: no dose, the tissue its source."""
    from ..body.scenario import scenario_from_dict
    sc = {"species": e.host.species, "dose": 0.0, "duration_h": e.simulation.duration_h,
          "product": {**product, "endogenous": True}, "tumour": _body_tumour(e, load_mechanisms()),
          "conditions": list(e.host.conditions)}
    if e.host.body_weight_g:
        sc["body_weight_g"] = e.host.body_weight_g
    return scenario_from_dict(sc)


def endogenous_scenarios(e, released: dict[str, str]) -> list:
    """One body scenario per product the tumour releases into the blood (``released``:
    substrate -> the body model that distributes it)."""
    return [_endogenous(e, {"kind": kind}) for kind in released.values()]


def shed_cells_scenario(e, cat, prov: dict):
    """The body scenario of the tumour cells a tissue sheds: circulating-cell kinetics
    (``library/body/tumour_cell.toml``) at the line's diameter."""
    d = cat.get("cell_lines", e.tumour.line, "cell_diameter_um")
    product = {"kind": "tumour_cell"}
    if d is not None:
        product["diameter_um"] = float(d.value)
        record(prov, "shed_cells.diameter_um", "um", f"{d.source} [library cell_lines: {e.tumour.line}]", d.status)
    return _endogenous(e, product)


def niche_link(released: dict[str, str], prov: dict) -> dict:
    """The shed cells' link fields for the pre-metastatic niche: the released product that
    conditions organs (the tumour's exosomes, when the tissue releases them) and the half-max
    of ``tumour_cell.toml``; empty when the tumour releases none."""
    from ..body.library import _library_dir, _read
    conditioning = [s for s, kind in released.items() if kind == "tumour_exosome"]
    if not conditioning:
        return {}
    raw = _read(_library_dir() / "body" / "tumour_cell.toml")["niche_half_max_particles_per_g"]
    record(prov, "niche_half_max_per_g", "particles/g", f"{raw['source']} [library body/tumour_cell.toml]",
           raw["status"])
    return {"niche_from": conditioning[0], "niche_half_max_per_g": float(raw["value"])}


def endogenous_links(released: dict[str, str], bodies: list, roles: dict, common: dict) -> list:
    """The link of each released product's body to the tissue: the tissue's release (particles/nL
    × µm³, 1e-6 particles each) scaled to the whole tumour enters plasma; plasma's level
    (particles over its volume in nL) is what the vessels meet."""
    from ..body.model import anatomy
    from ..model.coupling import BodyLink, MoleculeLink
    out = []
    plasma = ("plasma", "viable")
    for sub, body in zip(released, bodies):
        nl = anatomy(body).phys.plasma_volume_ml * 1e6
        out.append(BodyLink(product_type="", **common, exchange_min=ENDOGENOUS_EXCHANGE_MIN,
                            plasma=[MoleculeLink(substrate=sub, state=plasma, scale=1.0 / nl)],
                            release=[MoleculeLink(substrate=sub, state=plasma, scale=1e-6, whole_tumour=True)]))
    return out


def link_common(e, roles: dict, prov: dict, half_max_tnf: float) -> dict:
    """What every product's link to the tissue shares: the tumour, its inflammation, its perfusion."""
    return {"tumour_types": roles["tumour"], "inflammation": "tnfa", "inflammation_half_max": half_max_tnf,
            "perfusion_viable_ml_min_per_ml": viable_perfusion(e.host.species, prov), "inputs_rtol": 0.05}


def links(e, bodies: list, roles: dict, msc_of: dict, drugs: dict, cat, prov: dict, half_max_tnf: float) -> list:
    """The link of each treatment's body to the tissue (a tumour scenario only)."""
    from ..body.model import drug_system
    from ..model.coupling import BodyLink, MoleculeLink
    if e.tumour is None:
        return []
    # the body rebuilds its systems once a tumour input has moved 5 % (vessels and volume drift
    # a few % a day; each rebuild of the MSC systems costs matrix exponentials)
    common = link_common(e, roles, prov, half_max_tnf)
    record(prov, "inflammation_half_max", "ng/mL", prov["adhesion_half_max"].source, prov["adhesion_half_max"].status)
    out = []
    for i, (t, body) in enumerate(zip(e.treatment, bodies)):
        if t.product == "msc":
            out.append(BodyLink(product_type=msc_of[i], chemokine="sdf1", chemokine_half_max=kd_ng_ml(cat, "sdf1", prov),
                                **common))
        elif t.product == "drug":
            key, m = molecule(t.name, e.host.species)
            mw = m["molecular_weight_g_per_mol"]
            v1 = drug_system(body).v1_ml
            plasma = ("plasma", "viable")
            # body mg in plasma / v1 mL -> mg/mL = g/L -> / MW -> mol/L -> µM; and back: the tissue's
            # µM·µm³ is 1e-21 mol, × MW g/mol × 1e3 = 1e-18·MW mg
            out.append(BodyLink(product_type="", **common,
                                plasma=[MoleculeLink(substrate=key, state=plasma, scale=1e6 / (v1 * mw))],
                                release=[MoleculeLink(substrate=key, state=plasma, scale=1e-18 * mw)]))
        else:
            out.append(BodyLink(product_type="", **common))  # carried by the body alone, on the same clock
    return out
