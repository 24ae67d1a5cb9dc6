"""Linear compartment systems for MSCs, exosomes and drugs.

Every model here is linear in the amounts, ``dx/dt = A x + r(t)``, with ``A`` a compartment
matrix whose columns sum to zero once the sink states ("cleared") are included. That makes
the matrix exponential an exact solver and the mass balance exact up to round-off.
Time is in minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import TropismInputError
from .library import ORGANS, PORTAL, Physiology, load_conditions, load_params, load_physiology
from .scenario import Scenario

#: organ whose flow and volume a tumour takes, by site (lung tumours are fed by bronchial, i.e. systemic, arteries)
TUMOUR_HOST = {"brain": "brain", "subcutaneous": "rest", "lung": "rest", "breast": "rest", "bone_marrow": "bone_marrow"}
#: organs whose macrophages degrade debris and label (reticulo-endothelial system)
RES = ("liver", "spleen")


@dataclass
class LinearSystem:
    """A compartment system ``dx/dt = A x + r``.

    Attributes
    ----------
    states : list[tuple[str, str]]
        (compartment, kind) per state; kinds: 'viable' (circulating or free), 'arrested',
        'tissue' (extravasated), 'debris', 'cleared' (sink).
    A : ndarray (n, n)
        Rate matrix, 1/min; ``A[i, j]`` is the rate from state j to state i.
    dose : ndarray (n,)
        Where one unit of an administration goes at once (sums to 1).
    weight : float or ndarray
        Share of the product this system carries; an array (one per MSC size class) when ``A`` has a
        leading batch axis.
    """

    states: list
    A: np.ndarray
    dose: np.ndarray
    weight: float = 1.0
    compartments: list = field(default_factory=list)
    #: step length (in 1e-6 min) → (e^{Ah}, ∫₀ʰ e^{As} ds): a system is fixed once built, so
    #: repeated steps of one length (a coupled run's exchanges) share one exponential
    propagators: dict = field(default_factory=dict, repr=False, compare=False)

    def index(self, comp: str, kind: str) -> int:
        """Return the state index of (compartment, kind)."""
        return self.states.index((comp, kind))


class _Builder:
    """Collects states and first-order transfers."""

    def __init__(self):
        self.states: list = []
        self.rates: list = []

    def state(self, comp, kind):
        self.states.append((comp, kind))

    def flow(self, src, dst, k):
        # rates may be arrays (one per virtual animal, see cohort.py); the matrix then gets a leading axis
        k = np.asarray(k, float)
        if np.any(k < 0):
            raise ValueError(f"negative rate {src}->{dst}: {k}")
        if np.any(k > 0):
            self.rates.append((src, dst, k))

    def matrix(self):
        idx = {s: i for i, s in enumerate(self.states)}
        shape = np.broadcast_shapes(*(k.shape for _, _, k in self.rates)) if self.rates else ()
        n = len(self.states)
        A = np.zeros(shape + (n, n))
        for src, dst, k in self.rates:
            i, j = idx[dst], idx[src]
            A[..., i, j] += k
            A[..., j, j] -= k
        return A, idx


@dataclass(frozen=True)
class Anatomy:
    """The physiology resolved for one scenario: organs (and tumour) with volumes and flows."""

    phys: Physiology
    tissues: tuple
    volume: dict
    flow: dict          # mL/min, systemic organs and tumour
    capillary: dict
    v_venous: float
    v_arterial: float
    tumour_host: str | None


def anatomy(sc: Scenario, phys: Physiology | None = None) -> Anatomy:
    """Resolve organ volumes and blood flows, carving a tumour out of its host organ."""
    ph = (phys or load_physiology(sc.species)).scaled(sc.body_weight_g)
    Q = ph.cardiac_output_ml_min
    volume = dict(ph.volume_ml)
    for c in _conditions(sc):
        for o, f in c.volume_factor.items():
            volume[o] *= f
    flow = {o: ph.flow_fraction[o] * Q for o in ORGANS if o != "lungs"}
    cap = dict(ph.capillary_um)
    tissues = list(ORGANS)
    host = None
    if sc.tumour is not None:
        host = TUMOUR_HOST[sc.tumour.site]
        vt = sc.tumour.volume_mm3 / 1000.0
        perf = sc.tumour.perfusion_ml_min_per_ml or ph.tumour_perfusion
        qt = perf * vt
        if vt >= 0.5 * volume[host] or qt >= 0.5 * flow[host]:
            raise TropismInputError("tumour too large for its host organ", field="tumour.volume_mm3",
                                    value=sc.tumour.volume_mm3,
                                    allowed=f"below half the {host} volume ({volume[host] * 500:.3g} mm3) and flow")
        volume[host] -= vt
        flow[host] -= qt
        volume["tumour"], flow["tumour"], cap["tumour"] = vt, qt, ph.tumour_capillary_um
        tissues.append("tumour")
    vb = ph.blood_volume_ml
    return Anatomy(ph, tuple(tissues), volume, flow, cap, vb * ph.venous_fraction, vb * (1 - ph.venous_fraction), host)


def _conditions(sc: Scenario) -> list:
    known = load_conditions()
    return [known[c] for c in sc.conditions]


def macrophage_weight(sc: Scenario, organ: str) -> float:
    """Factor the scenario's host conditions put on ``organ``'s share of macrophage uptake."""
    w = 1.0
    for c in _conditions(sc):
        w *= c.uptake_weight(organ)
    return w


def _brain_tumour_share(an: "Anatomy") -> float:
    """Share of nose-to-brain delivery that lands in a brain tumour (by volume; 0 without one)."""
    if an.tumour_host != "brain":
        return 0.0
    return an.volume["tumour"] / (an.volume["tumour"] + an.volume["brain"])


# ----------------------------------------------------------------------------------------------- MSC

def size_classes(mean_um: float, cv: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Log-normal cell-diameter distribution as equal-probability classes.

    Returns
    -------
    diameters : ndarray (n,)
    weights : ndarray (n,), summing to 1
    """
    if cv <= 0 or n <= 1:
        return np.array([mean_um]), np.array([1.0])
    # equal-probability bins, each represented by its median: capillary arrest is a sharp threshold
    # in diameter, and equal-mass classes resolve the tail that passes the lungs better than
    # Gauss-Hermite nodes, whose outer nodes carry tiny weights
    from scipy.special import ndtri
    n = int(n)
    z = ndtri((np.arange(n) + 0.5) / n)
    s = np.sqrt(np.log1p(cv * cv))
    return mean_um * np.exp(s * z - 0.5 * s * s), np.full(n, 1.0 / n)


def arrest_probability(d_cell, d_cap, p: dict, vasodilator: float = 1.0, anti_adhesion: float = 1.0,
                       segments: float = 1.0):
    """Probability that one passage through a capillary bed arrests a cell.

    Per constriction, a logistic function of the cell-to-capillary diameter ratio: cells several
    times wider than the capillary deform but lodge at precapillaries (Toma 2009). A bed whose
    path crosses ``segments`` constrictions in series (the lungs) arrests with
    ``1 - (1 - p)**segments``. A vasodilator widens the capillary, an anti-adhesion antibody
    scales the per-constriction probability down.
    """
    ratio = np.asarray(d_cell, float) / (np.asarray(d_cap, float) * vasodilator)
    x = (ratio - p["arrest_ratio_half"]) / p["arrest_ratio_width"]
    p1 = anti_adhesion / (1.0 + np.exp(-np.clip(x, -700, 700)))
    return -np.expm1(segments * np.log1p(-np.minimum(p1, 1.0 - 1e-15)))


def _first_pass_beds(sc: Scenario, an: Anatomy) -> dict[str, float]:
    """Shares of an intra-arterial bolus meeting each capillary bed on its first pass.

    A tumour in the artery's organ shares its territory in proportion to blood flow. A carotid
    feeds one hemisphere (half the brain's flow; cross-flow through the circle of Willis is
    small in the intact animal): a tumour on the other side sees none of the first pass.
    """
    r = sc.route
    if an.tumour_host != r.artery:
        return {r.artery: 1.0}
    territory = an.flow[r.artery]
    if r.side is not None:
        if sc.tumour.hemisphere is not None and sc.tumour.hemisphere != r.side:
            return {r.artery: 1.0}
        territory *= 0.5
    share = an.flow["tumour"] / (an.flow["tumour"] + territory)
    return {r.artery: 1.0 - share, "tumour": share}


def _organ_signals(sc: Scenario, tissues) -> tuple[dict, dict]:
    chem = {o: sc.inflammation.get(o, 0.0) for o in tissues}   # injury releases chemokines in proportion
    infl = {o: sc.inflammation.get(o, 0.0) for o in tissues}
    if sc.tumour is not None:
        chem["tumour"], infl["tumour"] = sc.tumour.chemokine, sc.tumour.inflammation
    return chem, infl


def msc_systems(sc: Scenario, phys: Physiology | None = None, params: dict | None = None) -> list[LinearSystem]:
    """The MSC system, batched over size classes (``A`` of shape (classes, n, n), ``weight`` per class)."""
    return _cell_systems(sc, dict(load_params("msc")), phys, params)


def tumour_cell_systems(sc: Scenario, phys: Physiology | None = None, params: dict | None = None) -> list[LinearSystem]:
    """Circulating tumour cells: the MSC system's circulating-cell physics (arrest by size, death
    in blood, extravasation) with ``tumour_cell.toml``'s values; extravasated cells are seeds."""
    return _cell_systems(sc, {**load_params("msc"), **load_params("tumour_cell")}, phys, params)


def _cell_systems(sc: Scenario, p: dict, phys, params) -> list[LinearSystem]:
    if params:
        p.update(params)
    an = anatomy(sc, phys)
    d_mean = sc.product.diameter_um or p["default_diameter_um"]
    cv = p["diameter_cv"] if sc.product.diameter_cv is None else sc.product.diameter_cv
    ds, ws = size_classes(d_mean, cv, int(p["size_classes"]))
    # all size classes in one batched system: A has shape (classes, n, n)
    return [_msc_system(sc, an, p, ds, ws)]


def _msc_system(sc: Scenario, an: Anatomy, p: dict, d: float, weight: float) -> LinearSystem:
    iv = sc.interventions
    pa = {o: arrest_probability(d, an.capillary[o], p, iv.vasodilator, iv.anti_adhesion,
                                p["lung_serial_segments"] if o == "lungs" else 1.0) for o in an.tissues}
    # the spleen's open red-pulp circulation filters cells too large or stiff for the sinus slits,
    # whatever their size relative to its capillaries
    pa["spleen"] = 1.0 - (1.0 - pa["spleen"]) * (1.0 - p["splenic_filtration"])
    chem, infl = _organ_signals(sc, an.tissues)
    # inflamed endothelium (VCAM-1/VLA-4, selectins) captures passing cells whatever their size
    for o in an.tissues:
        signal = chem[o] + infl[o]
        if signal > 0:
            p_adh = iv.anti_adhesion * -np.expm1(-p["adhesive_capture"] * signal)
            pa[o] = 1.0 - (1.0 - pa[o]) * (1.0 - p_adh)
    b = _Builder()
    V, Aa, VD = ("venous_blood", "viable"), ("arterial_blood", "viable"), ("venous_blood", "debris")
    for s in (V, Aa, VD, ("venous_blood", "cleared")):
        b.state(*s)
    for o in an.tissues:
        for k in ("arrested", "tissue", "debris", "cleared"):
            b.state(o, k)
    for s in (("nasal", "viable"), ("nasal", "cleared"), ("peritoneum", "viable"), ("peritoneum", "debris")):
        b.state(*s)
    Q = an.phys.cardiac_output_ml_min
    # cohorts scale cardiac output per animal; flows keep their fractions
    kv, ka = Q * p.get("cardiac_output_factor", 1.0) / an.v_venous, Q * p.get("cardiac_output_factor", 1.0) / an.v_arterial
    # pulmonary first pass
    b.flow(V, ("lungs", "arrested"), kv * pa["lungs"])
    b.flow(V, Aa, kv * (1 - pa["lungs"]))
    # systemic beds; portal organs drain through the liver's sinusoids
    for o in an.tissues:
        if o == "lungs":
            continue
        ko = ka * an.flow[o] / Q
        b.flow(Aa, (o, "arrested"), ko * pa[o])
        if o in PORTAL:
            b.flow(Aa, ("liver", "arrested"), ko * (1 - pa[o]) * pa["liver"])
            b.flow(Aa, V, ko * (1 - pa[o]) * (1 - pa["liver"]))
        else:
            b.flow(Aa, V, ko * (1 - pa[o]))
    for s in (V, Aa):
        b.flow(s, VD, p["blood_loss_per_min"])
    bbb = np.minimum(1.0, p["bbb_factor"] * (1 + p["bbb_inflammation_gain"] * infl.get("brain", 0.0)))
    for o in an.tissues:
        kex = p["extravasation_base_per_min"] * (1 + p["chemokine_gain"] * chem[o]) * (1 + p["inflammation_gain"] * infl[o])
        # a pre-metastatic niche (an organ conditioned by tumour exosomes) lets the cells that
        # crossed into it survive: their loss there is divided by up to niche_fold
        niche = 1.0 + (p["niche_fold"] - 1.0) * sc.niche.get(o, 0.0)
        if o == "brain":
            kex *= bbb
        b.flow((o, "arrested"), V, p["release_per_min"])
        b.flow((o, "arrested"), (o, "debris"), p["death_arrested_per_min"])
        b.flow((o, "arrested"), (o, "tissue"), kex)
        b.flow((o, "tissue"), (o, "debris"), p["death_tissue_per_min"] / niche)
        if o in RES:
            b.flow((o, "debris"), (o, "cleared"), p["label_degradation_per_min"])
        else:
            b.flow((o, "debris"), VD, p["debris_efflux_per_min"])
    if an.tumour_host is not None:
        # cells that crossed into the tumour's host organ migrate through its parenchyma to
        # the tumour: directed speed over the mean distance, half the organ's width
        width_um = (an.volume[an.tumour_host] * 1e12) ** (1.0 / 3.0)
        # the migration is chemotaxis up the tumour's SDF-1: a blockade of it on the cells
        # takes away the directed part, as in the tissue's rule
        b.flow((an.tumour_host, "tissue"), ("tumour", "tissue"),
               p["parenchymal_migration_um_per_min"] * (1.0 - iv.sdf1_blockade) / (0.5 * width_um))
    # a condition that shrinks Kupffer uptake or enlarges the spleen shifts debris to the spleen
    b.flow(VD, ("liver", "debris"), p["debris_uptake_per_min"] * p["debris_liver_share"] * macrophage_weight(sc, "liver"))
    b.flow(VD, ("spleen", "debris"),
           p["debris_uptake_per_min"] * (1 - p["debris_liver_share"]) * macrophage_weight(sc, "spleen"))
    # routes that bypass the blood
    kn = p["nasal_transfer_per_min"]
    tb = _brain_tumour_share(an)   # nose-to-brain cells spread over brain and a brain tumour by volume
    b.flow(("nasal", "viable"), ("brain", "tissue"), kn * p["nasal_brain_fraction"] * (1 - tb))
    if tb:
        b.flow(("nasal", "viable"), ("tumour", "tissue"), kn * p["nasal_brain_fraction"] * tb)
    b.flow(("nasal", "viable"), ("nasal", "cleared"), kn * (1 - p["nasal_brain_fraction"]))
    b.flow(("peritoneum", "viable"), V, p["peritoneal_drainage_per_min"])
    b.flow(("peritoneum", "viable"), ("peritoneum", "debris"), p["peritoneal_death_per_min"])
    b.flow(("peritoneum", "debris"), VD, p["debris_efflux_per_min"])
    A, idx = b.matrix()
    dose = np.zeros(np.broadcast_shapes(A.shape[:-1], np.shape(d) + (1,)))
    r = sc.route
    if r.kind == "iv":
        dose[..., idx[V]] = 1.0
    elif r.kind == "ia":
        # the injected bolus meets the target organ's capillary beds first; a tumour in that organ
        # shares the artery's territory in proportion to its blood flow
        for o, f in _first_pass_beds(sc, an).items():
            dose[..., idx[(o, "arrested")]] += f * pa[o]
            if o in PORTAL:
                dose[..., idx[("liver", "arrested")]] += f * (1 - pa[o]) * pa["liver"]
                dose[..., idx[V]] += f * (1 - pa[o]) * (1 - pa["liver"])
            else:
                dose[..., idx[V]] += f * (1 - pa[o])
    elif r.kind == "intranasal":
        dose[..., idx[("nasal", "viable")]] = 1.0
    elif r.kind == "intratumoral":
        leak = p["intratumoral_leak_fraction"]
        dose[..., idx[("tumour", "tissue")]] = 1 - leak
        dose[..., idx[V]] = leak
    else:
        dose[..., idx[("peritoneum", "viable")]] = 1.0
    return LinearSystem(b.states, A, dose, weight)


def first_pass_arrest(species: str, organ: str, diameter_um: float | None = None, params: dict | None = None,
                      vasodilator: float = 1.0, anti_adhesion: float = 1.0) -> float:
    """Share of an MSC dose arrested on its first passage through one organ's capillary bed.

    Averaged over the cell-diameter distribution; ``organ='lungs'`` is the IV first pass.
    """
    p = dict(load_params("msc"))
    if params:
        p.update(params)
    ph = load_physiology(species)
    ds, ws = size_classes(diameter_um or p["default_diameter_um"], p["diameter_cv"], int(p["size_classes"]))
    seg = p["lung_serial_segments"] if organ == "lungs" else 1.0
    return float(np.sum(ws * arrest_probability(ds, ph.capillary_um[organ], p, vasodilator, anti_adhesion, seg)))


# ----------------------------------------------------------------------------------------------- exosomes

def exosome_system(sc: Scenario, phys: Physiology | None = None, params: dict | None = None) -> LinearSystem:
    """Plasma, organ uptake (mostly liver and spleen macrophages), return and degradation of exosomes
    (a tumour's own: ``tumour_exosome.toml``'s organ shares)."""
    p = dict(load_params("exosome"))
    if sc.product.kind == "tumour_exosome":
        p.update(load_params("tumour_exosome"))
    if params:
        p.update(params)
    an = anatomy(sc, phys)
    shares = {o: p["uptake_share"][o] * macrophage_weight(sc, o) for o in ORGANS}
    if "tumour" in an.tissues:
        # enhanced permeability and retention: the tumour takes up in proportion to its flow
        shares["tumour"] = p["tumour_uptake_per_flow_share"] * an.flow["tumour"] / an.phys.cardiac_output_ml_min
    _, infl = _organ_signals(sc, an.tissues)
    bbb = min(1.0, p["bbb_factor"] * (1 + p["bbb_inflammation_gain"] * infl.get("brain", 0.0)))
    shares["brain"] *= bbb
    total = sum(p["uptake_share"].values())
    b = _Builder()
    P = ("plasma", "viable")
    b.state(*P)
    b.state("plasma", "cleared")
    for o in an.tissues:
        b.state(o, "viable")
        b.state(o, "cleared")
    # vesicles carried from the nose along olfactory and trigeminal nerves arrive in the parenchyma,
    # behind the barrier: they are taken up and degraded there, not returned to plasma as
    # vessel-associated vesicles are (Zhuang 2011; Betzer 2017)
    nose_to = [o for o in ("brain", "tumour") if o in an.tissues and (o == "brain" or an.tumour_host == "brain")]
    for o in nose_to:
        b.state(o, "tissue")
    for s in (("nasal", "viable"), ("nasal", "cleared"), ("peritoneum", "viable")):
        b.state(*s)
    kup = p["uptake_per_min"]
    for o in an.tissues:
        b.flow(P, (o, "viable"), kup * shares[o] / total)
        b.flow((o, "viable"), P, p["return_per_min"])
        b.flow((o, "viable"), (o, "cleared"), p["degradation_per_min"])
    b.flow(P, ("plasma", "cleared"), p["plasma_elimination_per_min"])
    kn = p["nasal_transfer_per_min"]
    tb = _brain_tumour_share(an)
    b.flow(("nasal", "viable"), ("brain", "tissue"), kn * p["nasal_brain_fraction"] * (1 - tb))
    if tb:
        b.flow(("nasal", "viable"), ("tumour", "tissue"), kn * p["nasal_brain_fraction"] * tb)
    for o in nose_to:
        b.flow((o, "tissue"), (o, "cleared"), p["degradation_per_min"])
    b.flow(("nasal", "viable"), P, kn * p["nasal_systemic_fraction"])
    b.flow(("nasal", "viable"), ("nasal", "cleared"), kn * (1 - p["nasal_brain_fraction"] - p["nasal_systemic_fraction"]))
    b.flow(("peritoneum", "viable"), P, p["peritoneal_absorption_per_min"])
    A, idx = b.matrix()
    dose = np.zeros(len(b.states))
    r = sc.route
    if r.kind == "iv":
        dose[idx[P]] = 1.0
    elif r.kind == "ia":
        # well-stirred first-pass extraction by the target organ: E = CL_up / (Q + CL_up)
        o = r.artery
        cl = kup * shares[o] / total * an.phys.plasma_volume_ml
        e = cl / (an.flow[o] + cl)
        dose[idx[(o, "viable")]] = e
        dose[idx[P]] = 1 - e
    elif r.kind == "intranasal":
        dose[idx[("nasal", "viable")]] = 1.0
    elif r.kind == "intratumoral":
        leak = p["intratumoral_leak_fraction"]
        dose[idx[("tumour", "viable")]] = 1 - leak
        dose[idx[P]] = leak
    else:
        dose[idx[("peritoneum", "viable")]] = 1.0
    return LinearSystem(b.states, A, dose, 1.0)


# ----------------------------------------------------------------------------------------------- drugs

def molecule_parameters(name: str, species: str) -> dict:
    """Kinetic parameters of a drug or protein for one species (per kg, from library/body/molecules.toml)."""
    lib = load_params("molecules")
    key = name.lower().replace("-", "_").replace(" ", "_")
    aliases = lib.get("aliases", {})
    key = aliases.get(key, key)
    mols = {k: v for k, v in lib.items() if k != "aliases"}
    if key not in mols:
        raise TropismInputError("unknown drug or protein", field="product.name", value=name,
                                allowed=", ".join(sorted(mols)))
    entry = mols[key]
    if species not in entry:
        have = ", ".join(s for s in entry if s in ("mouse", "rat", "human"))
        raise TropismInputError(f"no kinetic parameters for {name} in this species", field="species", value=species,
                                allowed=have or "none")
    out = {k: v for k, v in entry.items() if k not in ("mouse", "rat", "human")}
    out.update(entry[species])
    return out


def drug_system(sc: Scenario, phys: Physiology | None = None, params: dict | None = None) -> LinearSystem:
    """One- or two-compartment kinetics (central = plasma), with a perfusion-limited tumour."""
    an = anatomy(sc, phys)
    m = molecule_parameters(sc.product.name, sc.species)
    if params:
        m.update(params)
    kg = an.phys.body_weight_g / 1000.0
    v1 = m["v1_ml_per_kg"] * kg
    if "cl_ml_min_per_kg" in m:
        k10 = m["cl_ml_min_per_kg"] * kg / v1
    else:
        k10 = np.log(2) / m["half_life_min"]
    b = _Builder()
    C = ("plasma", "viable")
    b.state(*C)
    b.state("plasma", "cleared")
    b.state("peripheral", "viable")
    for s in (("nasal", "viable"), ("peritoneum", "viable")):
        b.state(*s)
    b.flow(C, ("plasma", "cleared"), k10)
    if m.get("v2_ml_per_kg", 0) > 0:
        q = m["q_ml_min_per_kg"] * kg
        b.flow(C, ("peripheral", "viable"), q / v1)
        b.flow(("peripheral", "viable"), C, q / (m["v2_ml_per_kg"] * kg))
    if "tumour" in an.tissues:
        b.state("tumour", "viable")
        kp = m.get("kp_tumour", 1.0)
        b.flow(C, ("tumour", "viable"), an.flow["tumour"] / v1)
        b.flow(("tumour", "viable"), C, an.flow["tumour"] / (an.volume["tumour"] * kp))
    b.flow(("nasal", "viable"), C, 0.05)           # nasal mucosal absorption, t1/2 ~14 min (assumed)
    b.flow(("peritoneum", "viable"), C, 0.05)      # peritoneal absorption, t1/2 ~14 min (assumed)
    A, idx = b.matrix()
    dose = np.zeros(len(b.states))
    r = sc.route
    target = {"iv": C, "ia": C, "intranasal": ("nasal", "viable"), "intraperitoneal": ("peritoneum", "viable"),
              "intratumoral": ("tumour", "viable")}[r.kind]
    dose[idx[target]] = 1.0
    sys_ = LinearSystem(b.states, A, dose, 1.0)
    sys_.v1_ml = v1  # type: ignore[attr-defined]
    sys_.kp = {o: m.get(f"kp_{o}", 1.0) for o in ORGANS}  # type: ignore[attr-defined]
    return sys_


def systems(sc: Scenario, phys: Physiology | None = None, params: dict | None = None) -> list[LinearSystem]:
    """The linear systems for a scenario's product."""
    k = sc.product.kind
    if k == "msc":
        return msc_systems(sc, phys, params)
    if k in ("exosome", "tumour_exosome"):
        return [exosome_system(sc, phys, params)]
    if k == "tumour_cell":
        return tumour_cell_systems(sc, phys, params)
    return [drug_system(sc, phys, params)]
