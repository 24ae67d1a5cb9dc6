"""The library's mechanism tables the builder reads: sites, blockades and modifiers.

``library/tissue/sites.toml`` says where a tumour grows (the body's site, the host's vessel
bed); ``library/tissue/interventions.toml`` what each blockade target and each treatment
property does. The builder knows no biology beyond what these say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ..errors import TropismInputError
from ..files import read_toml

ROLES = ("msc", "tumour", "vessels", "immune")


def _path(name: str) -> Path:
    return Path(str(resources.files("tropism") / "library" / "tissue" / name))


@dataclass(frozen=True)
class Number:
    """A sourced number of a mechanism table."""

    value: float
    unit: str
    source: str
    status: str


@dataclass(frozen=True)
class Site:
    name: str
    body_site: str
    vessel_density: Number


@dataclass(frozen=True)
class Blockade:
    """A scenario blockade target: the signal (or pathway) it removes in its carriers."""

    target: str
    signal: str = ""
    pathway: str = ""
    carriers: tuple[str, ...] = ()
    requires: str = ""
    #: roles whose touch the receptor also senses: the blockade removes ``contact with <role>``
    contact: tuple[str, ...] = ()
    body: str = ""
    source: str = ""
    status: str = "U"
    #: or: a behaviour whose base rate the blockade scales by (1 - efficacy) in its carriers
    #: (an inhibitor of release, e.g. '<substrate> export')
    behaviour: str = ""


@dataclass(frozen=True)
class Modifier:
    """What a treatment property (priming, irradiation) does to a role's behaviour."""

    name: str
    role: str
    behaviour: str
    factor: float
    pathway: str = ""
    duration_h: float | None = None
    source: str = ""
    status: str = "U"


@dataclass(frozen=True)
class Payload:
    """What an engineered MSC carries (``treatment.engineering``).

    Either a factor it secretes (``secretes`` at ``rate``, pg per 1e6 cells per 24 h) or an
    enzyme that converts a prodrug given through the body into a drug (``converts`` into
    ``into`` at Michaelis–Menten ``vmax``, ``km``). What the factor or drug does is the rule
    table's business.
    """

    name: str
    secretes: str = ""
    rate: Number | None = None
    converts: str = ""
    into: str = ""
    vmax: Number | None = None
    km: Number | None = None
    #: the cell_lines parameter a tumour line must have for the payload's effect to be known
    requires: str = ""
    source: str = ""


@dataclass(frozen=True)
class Mechanisms:
    sites: dict[str, Site] = field(default_factory=dict)
    blockades: dict[str, Blockade] = field(default_factory=dict)
    not_simulated: dict[str, str] = field(default_factory=dict)
    modifiers: dict[str, Modifier] = field(default_factory=dict)
    payloads: dict[str, Payload] = field(default_factory=dict)
    #: payloads of the field not simulated yet -> why
    payloads_not_simulated: dict[str, str] = field(default_factory=dict)


def _number(entry, file: str, where: str) -> Number:
    if not isinstance(entry, dict) or "value" not in entry or not str(entry.get("source", "")).strip():
        raise TropismInputError("a number without its source", file=file, field=where, value=entry,
                                allowed="{value, unit, source, status}")
    if entry.get("status") not in ("V", "U", "F"):
        raise TropismInputError("unknown status", file=file, field=f"{where}.status", value=entry.get("status"),
                                allowed="V, U, F")
    return Number(float(entry["value"]), str(entry.get("unit", "")), str(entry["source"]), str(entry["status"]))


def _sourced(entry: dict, file: str, where: str) -> None:
    if not str(entry.get("source", "")).strip() or entry.get("status") not in ("V", "U", "F"):
        raise TropismInputError("a mechanism without its source and status", file=file, field=where,
                                value=entry.get("source"), allowed="source = \"...\", status = V, U or F")


@lru_cache(maxsize=1)
def load_mechanisms() -> Mechanisms:
    """Read and check ``sites.toml`` and ``interventions.toml``."""
    sp = _path("sites.toml")
    sites = {}
    for name, entry in read_toml(sp, "library file").items():
        sites[name] = Site(name, str(entry.get("body_site", name)),
                           _number(entry.get("vessel_surface_density_per_um"), str(sp),
                                   f"{name}.vessel_surface_density_per_um"))
    ip = _path("interventions.toml")
    data = read_toml(ip, "library file")
    blockades = {}
    for target, b in data.get("blockade", {}).items():
        _sourced(b, str(ip), f"blockade.{target}")
        carriers = tuple(b.get("carriers", ()))
        contact = tuple(b.get("contact", ()))
        bad = [c for c in carriers + contact if c not in ROLES]
        if bad or sum(bool(b.get(k)) for k in ("signal", "pathway", "behaviour")) != 1:
            raise TropismInputError("a blockade names one signal, pathway or behaviour, and carriers among the roles",
                                    file=str(ip), field=f"blockade.{target}", value=bad or b,
                                    allowed=", ".join(ROLES))
        blockades[target] = Blockade(target, str(b.get("signal", "")), str(b.get("pathway", "")), carriers,
                                     str(b.get("requires", "")), contact, str(b.get("body", "")), b["source"],
                                     b["status"], str(b.get("behaviour", "")))
    modifiers = {}
    for name, m in data.get("modifier", {}).items():
        _sourced(m, str(ip), f"modifier.{name}")
        modifiers[name] = Modifier(name, str(m["role"]), str(m["behaviour"]), float(m["factor"]),
                                   str(m.get("pathway", "")), m.get("duration_h"), m["source"], m["status"])
    payloads = {name: _payload(name, pl, str(ip)) for name, pl in data.get("payload", {}).items()}
    return Mechanisms(sites, blockades, dict(data.get("not_simulated", {})), modifiers, payloads,
                      {str(k): str(v) for k, v in data.get("payload_not_simulated", {}).items()})


def _payload(name: str, pl: dict, file: str) -> Payload:
    """One ``[payload.<name>]`` table: a secreted factor or a prodrug-converting enzyme."""
    where = f"payload.{name}"
    secretes, converts = str(pl.get("secretes", "")).strip(), str(pl.get("converts", "")).strip()
    if bool(secretes) == bool(converts):
        raise TropismInputError("a payload either secretes a factor or converts a prodrug", file=file,
                                field=f"{where}.secretes / converts", value=(secretes, converts),
                                allowed="exactly one of the two")
    if secretes:
        return Payload(name, secretes=secretes,
                       rate=_number(pl.get("rate_pg_per_1e6_cells_per_24h"), file,
                                    f"{where}.rate_pg_per_1e6_cells_per_24h"),
                       requires=str(pl.get("requires", "")), source=str(pl.get("source", "")))
    into = str(pl.get("into", "")).strip()
    if not into:
        raise TropismInputError("a converting payload names what it makes", file=file, field=f"{where}.into",
                                value=pl.get("into"), allowed="a substrate or a molecule of library/body/molecules.toml")
    return Payload(name, converts=converts, into=into,
                   vmax=_number(pl.get("vmax_per_min"), file, f"{where}.vmax_per_min"),
                   km=_number(pl.get("km"), file, f"{where}.km"), requires=str(pl.get("requires", "")),
                   source=str(pl.get("source", "")))
