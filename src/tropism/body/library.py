"""Loading the body model's curated data: species physiology and product parameters.

Every number in these files is an inline table ``{value, source, status}``; a number without a
source is refused, so the library cannot silently grow unsourced parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ..errors import TropismInputError
from ..files import read_toml

#: Organs every species file must define, in the order the model lays them out.
ORGANS = ("lungs", "heart", "brain", "liver", "spleen", "kidneys", "gut", "bone_marrow", "muscle", "rest")
#: Organs drained by the portal vein (their venous outflow passes through the liver first).
PORTAL = ("gut", "spleen")
SPECIES = ("mouse", "rat", "human")


def _library_dir() -> Path:
    return Path(str(resources.files("tropism") / "library"))


def _read(path: Path) -> dict:
    return read_toml(path, "library file")


def _value(table: dict, key: str, path: Path, prefix: str = "") -> float:
    """Return ``table[key]['value']``, insisting that it carries a source."""
    name = f"{prefix}{key}"
    entry = table.get(key)
    if not isinstance(entry, dict) or "value" not in entry:
        raise TropismInputError("missing parameter", file=str(path), field=name,
                                allowed="an inline table {value = ..., source = \"...\"}")
    if not str(entry.get("source", "")).strip():
        raise TropismInputError("parameter has no source", file=str(path), field=name, value=entry.get("value"),
                                allowed="every library number names its source")
    return entry["value"]


@dataclass(frozen=True)
class Physiology:
    """One species' physiology (volumes in mL, flows in mL/min, diameters in µm).

    Attributes
    ----------
    species : str
    body_weight_g, cardiac_output_ml_min, blood_volume_ml, plasma_volume_ml : float
    venous_fraction : float
        Share of blood volume in veins.
    volume_ml, flow_fraction, capillary_um : dict[str, float]
        Per organ (``ORGANS``); the lungs' flow fraction is 1 (the whole cardiac output).
    tumour_perfusion, tumour_capillary_um : float
        Tumour blood flow per tumour volume (mL/min/mL) and its vessel diameter.
    """

    species: str
    body_weight_g: float
    cardiac_output_ml_min: float
    blood_volume_ml: float
    plasma_volume_ml: float
    venous_fraction: float
    volume_ml: dict = field(default_factory=dict)
    flow_fraction: dict = field(default_factory=dict)
    capillary_um: dict = field(default_factory=dict)
    tumour_perfusion: float = 0.2
    tumour_capillary_um: float = 10.0

    def scaled(self, body_weight_g: float | None) -> "Physiology":
        """Return the physiology for another body weight.

        Volumes scale with weight, cardiac output with weight^0.75 (allometry, Davies & Morris 1993).
        """
        if body_weight_g is None or body_weight_g == self.body_weight_g:
            return self
        r = body_weight_g / self.body_weight_g
        return Physiology(self.species, body_weight_g, self.cardiac_output_ml_min * r ** 0.75,
                          self.blood_volume_ml * r, self.plasma_volume_ml * r, self.venous_fraction,
                          {k: v * r for k, v in self.volume_ml.items()}, dict(self.flow_fraction),
                          dict(self.capillary_um), self.tumour_perfusion, self.tumour_capillary_um)


def physiology_entry(species: str, section: str, name: str) -> dict:
    """One entry of ``library/physiology/<species>.toml`` as written: value, source, status."""
    if species not in SPECIES:
        raise TropismInputError("unknown species", field="species", value=species, allowed=", ".join(SPECIES))
    path = _library_dir() / "physiology" / f"{species}.toml"
    entry = _read(path).get(section, {}).get(name)
    if not isinstance(entry, dict) or "value" not in entry:
        raise TropismInputError("no such physiology entry", file=str(path), field=f"{section}.{name}")
    return entry


@lru_cache(maxsize=None)
def load_physiology(species: str) -> Physiology:
    """Load ``library/physiology/<species>.toml``.

    Parameters
    ----------
    species : {'mouse', 'rat', 'human'}

    Returns
    -------
    Physiology
    """
    if species not in SPECIES:
        raise TropismInputError("unknown species", field="species", value=species, allowed=", ".join(SPECIES))
    path = _library_dir() / "physiology" / f"{species}.toml"
    d = _read(path)
    organs = d.get("organs", {})
    vol, flow, cap = {}, {}, {}
    for o in ORGANS:
        if o not in organs:
            raise TropismInputError("organ missing", file=str(path), field=f"organs.{o}", allowed=", ".join(ORGANS))
        t = organs[o]
        vol[o] = float(_value(t, "volume_ml", path, f"organs.{o}."))
        flow[o] = float(_value(t, "flow_fraction", path, f"organs.{o}."))
        cap[o] = float(_value(t, "capillary_diameter_um", path, f"organs.{o}."))
    systemic = sum(v for k, v in flow.items() if k != "lungs")
    if abs(systemic - 1.0) > 1e-6:
        raise TropismInputError("systemic flow fractions must sum to 1", file=str(path), field="organs.*.flow_fraction",
                                value=systemic, allowed="1")
    tum = d.get("tumour", {})
    return Physiology(
        species=species,
        body_weight_g=float(_value(d, "body_weight_g", path)),
        cardiac_output_ml_min=float(_value(d, "cardiac_output_ml_min", path)),
        blood_volume_ml=float(_value(d, "blood_volume_ml", path)),
        plasma_volume_ml=float(_value(d, "plasma_volume_ml", path)),
        venous_fraction=float(_value(d, "venous_fraction_of_blood", path)),
        volume_ml=vol, flow_fraction=flow, capillary_um=cap,
        tumour_perfusion=float(_value(tum, "perfusion_ml_min_per_ml", path, "tumour.")),
        tumour_capillary_um=float(_value(tum, "capillary_diameter_um", path, "tumour.")),
    )


@lru_cache(maxsize=None)
def load_params(name: str) -> dict:
    """Load ``library/body/<name>.toml`` as a flat ``{key: value}`` dict (sub-tables kept as dicts).

    Parameters
    ----------
    name : str
        ``'msc'``, ``'exosome'``, ``'tumour_cell'`` or ``'molecules'``.
    """
    path = _library_dir() / "body" / f"{name}.toml"
    return _flatten(_read(path), path, "")


def _flatten(d: dict, path: Path, prefix: str) -> dict:
    outd = {}
    for k, v in d.items():
        if isinstance(v, dict) and "value" in v:
            outd[k] = _value(d, k, path, prefix)
        elif isinstance(v, dict):
            outd[k] = _flatten(v, path, f"{prefix}{k}.")
        else:
            outd[k] = v
    return outd


def fitted_entries() -> list[dict]:
    """Every library entry marked ``fitted = true``, with the targets it came from (for the docs and tests)."""
    rows = []
    for f in sorted((_library_dir() / "body").glob("*.toml")):
        def walk(d, prefix):
            for k, v in d.items():
                if isinstance(v, dict) and "value" in v:
                    if v.get("fitted"):
                        rows.append({"file": f.name, "parameter": prefix + k, "value": v["value"],
                                     "targets": list(v.get("targets", []))})
                elif isinstance(v, dict):
                    walk(v, f"{prefix}{k}.")
        walk(_read(f), "")
    return rows


@dataclass(frozen=True)
class Condition:
    """A host condition: per-organ factors on volume and on macrophage uptake per volume."""

    name: str
    description: str
    volume_factor: dict = field(default_factory=dict)
    macrophage_uptake_factor: dict = field(default_factory=dict)

    def uptake_weight(self, organ: str) -> float:
        """Factor on ``organ``'s share of particle uptake by resident macrophages."""
        return self.volume_factor.get(organ, 1.0) * self.macrophage_uptake_factor.get(organ, 1.0)


@lru_cache(maxsize=1)
def load_conditions() -> dict[str, Condition]:
    """Host conditions of ``library/body/conditions.toml`` by name."""
    path = _library_dir() / "body" / "conditions.toml"
    out = {}
    for name, d in _read(path).items():
        factors = {}
        for key in ("volume_factor", "macrophage_uptake_factor"):
            table = d.get(key, {})
            for organ in table:
                if organ not in ORGANS:
                    raise TropismInputError("unknown organ", file=str(path), field=f"{name}.{key}.{organ}",
                                            value=organ, allowed=", ".join(ORGANS))
                v = float(_value(table, organ, path, f"{name}.{key}."))
                if v <= 0:
                    raise TropismInputError("factor must be positive", file=str(path),
                                            field=f"{name}.{key}.{organ}", value=v, allowed="> 0")
            factors[key] = {o: float(table[o]["value"]) for o in table}
        out[name] = Condition(name, str(d.get("description", "")), **factors)
    return out
