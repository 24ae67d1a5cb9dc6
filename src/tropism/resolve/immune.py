"""The host's immune cells in a tumour: which come, how many, and what they do, from the library.

``library/tissue/immune_cells.csv`` holds each immune cell type (CD8 and CD4 T cells, Tregs,
NK cells, macrophages and the M2 macrophages they become): size, motility, blood count per
species, the immune statuses without it (``absent_in``), how fast it crosses tumour vessels from
blood, how long it stays, and its contact behaviour (attack, clearance of the dead). What
changes them (TGF-β, Treg contact, tumour exosomes, MSC contact) are rules in ``rules.csv``.
Nothing here knows one cell type from another: every row of the table is read the same way.
"""

from __future__ import annotations

from ..errors import TropismInputError

TABLE = "immune_cells"
#: host immune statuses the table's ``absent_in`` may name
STATUSES = ("competent", "nude", "scid", "nsg", "nk_depleted")


def present(cat, e) -> list[str]:
    """The immune cell types a host of the scenario's status has (none without a tumour)."""
    if e.tumour is None:
        return []
    out = []
    for name in cat.entities(TABLE):
        absent = cat.get(TABLE, name, "absent_in")
        tokens = [t.strip() for t in str(absent.value).split(";") if t.strip()] if absent is not None else []
        bad = [t for t in tokens if t not in STATUSES]
        if bad:
            raise TropismInputError("unknown immune status", file=absent.file, field=f"{name}.absent_in",
                                    value=bad[0], allowed=", ".join(STATUSES))
        if e.host.immune not in tokens:
            out.append(name)
    return out


def blood_count(cat, name: str, species: str, prov: dict, path: str) -> float:
    """Cells/µL of ``name`` in the blood of a ``species`` host (0: the cell forms in the tissue)."""
    from .tissue import record
    entry = cat.get(TABLE, name, f"blood_count_{species}_per_ul")
    if entry is None:
        if any(cat.get(TABLE, name, f"blood_count_{s}_per_ul") is not None for s in ("mouse", "rat", "human")):
            raise TropismInputError(f"no blood count of {name} for this species in the library", field="host.species",
                                    value=species, allowed="a species with a count in library/tissue/immune_cells.csv")
        return 0.0
    record(prov, path, entry.unit, f"{entry.source} [library {TABLE}: {name}.blood_count_{species}_per_ul]",
           entry.status, entry.fitted_to)
    return float(entry.value)


def immune_type(b, name: str, subs: list[str]):
    """The cell type of immune entity ``name`` for TissueBuilder ``b`` (no division: cells come
    from blood and leave or die)."""
    from ..model.phenotype import CellType, Cycle, Interactions, Motility, PhaseLink
    from .tissue import _sphere, _volume, number, record
    cat, prov, d = b.cat, b.prov, b.dflt["immune"]
    vol = number(cat, TABLE, name, "diameter_um", None, prov, f"cell_types[{name}].volume.total", convert=_sphere)
    speed = number(cat, TABLE, name, "speed_um_per_min", None, prov, f"cell_types[{name}].motility.speed")
    pers = number(cat, TABLE, name, "persistence_time_min", None, prov, f"cell_types[{name}].motility.persistence_time")
    tumour = b.roles["tumour"]
    kw = {}
    attack = cat.get(TABLE, name, "attack_rate_per_min")
    if attack is not None:
        rate = number(cat, TABLE, name, "attack_rate_per_min", None, prov, f"cell_types[{name}].interactions.attack_rates")
        kw["attack_rates"] = {t: rate for t in tumour}
        kw["attack_duration"] = number(cat, TABLE, name, "attack_duration_min", None, prov,
                                       f"cell_types[{name}].interactions.attack_duration")
        kw["attack_damage_rate"] = number(cat, TABLE, name, "attack_damage_rate_per_min", None, prov,
                                          f"cell_types[{name}].interactions.attack_damage_rate")
    for field, parameter in (("apoptotic_phagocytosis_rate", "apoptotic_phagocytosis_per_min"),
                             ("necrotic_phagocytosis_rate", "necrotic_phagocytosis_per_min")):
        if cat.get(TABLE, name, parameter) is not None:
            kw[field] = number(cat, TABLE, name, parameter, None, prov, f"cell_types[{name}].interactions.{field}")
    # the residence (departures) is how long a cell stays, leaving or dying there: no death of
    # its own on top, so entry × residence keeps the share the entry was derived from
    from ..model.phenotype import default_apoptosis
    apoptosis = default_apoptosis().model_copy(update={"rate": 0.0})
    record(prov, f"cell_types[{name}].apoptosis.rate", "1/min",
           "0: an immune cell's loss is its residence in the tumour, leaving or dying (departures)", "U")
    return CellType(name=name, id=0, cycle=Cycle(code=5, name="live", links=[PhaseLink(start=0, end=0, rate=0.0)]),
                    apoptosis=apoptosis,
                    volume=_volume(vol), motility=Motility(enabled=True, speed=speed, persistence_time=pers),
                    interactions=Interactions(**kw),
                    secretion=b._secretion(TABLE, name, name, d["oxygen_uptake_per_min"], vol, subs))


def recruitment(b, names: list[str], adhesion: dict, first_arrival: int, first_departure: int) -> tuple[list, list]:
    """Arrivals from blood at the tumour's vessels and departures after the residence time, for
    the immune types ``names`` of TissueBuilder ``b`` (their provenance recorded at the model's
    ``arrivals[k]``/``departures[k]`` from the given first indices).

    The entry rate per µm² of vessel wall is derived from the share of a tumour's cells the type
    makes up (the line's own ``<type>_share_of_cells``, else the table's typical share): at steady
    state, entry × residence = share, on the reference bed (the subcutaneous site's vessels
    around tumour cells of the default volume), so entry = share / (residence × vessel wall per
    tumour cell). It scales with the host's blood count relative to a mouse's (a status without
    the type has none) and with the wall's activation by TNF-α (VCAM-1, as for MSCs) relative to
    a tumour's own TNF-α level, the level of the tumours the shares were measured in.
    """
    from ..model.reactions import Arrival, Departure
    from .tissue import record
    cat, prov, e = b.cat, b.prov, b.e
    arrivals, departures = [], []
    tumour = b.roles["tumour"][0]
    ref = cat.get("substrates", "tnfa", "tissue_level_tumour_ng_per_ml")
    reference = float(ref.value)
    bed = b.mech.sites["subcutaneous"].vessel_density
    cell = b.dflt["tumour"]["cell_volume_um3"]
    wall_per_cell = bed.value * cell["value"]  # µm² of vessel wall per tumour cell
    for name in names:
        k = first_arrival + len(arrivals)
        path = f"arrivals[{k}].per_vessel_area_per_min"
        count = blood_count(cat, name, e.host.species, prov, path)
        res = cat.get(TABLE, name, "residence_in_tumour_d")
        if res is None:
            raise TropismInputError("an immune cell needs its residence in a tumour",
                                    field=f"{TABLE}.{name}.residence_in_tumour_d",
                                    allowed="a number in library/tissue/immune_cells.csv")
        if count > 0.0:
            share = share_of_cells(b, name)
            if share is None:
                raise TropismInputError("an immune cell with a blood count needs the share of tumour cells it makes up",
                                        field=f"{TABLE}.{name}.typical_share_of_tumour_cells",
                                        allowed="a number in library/tissue/immune_cells.csv")
            mouse = cat.get(TABLE, name, "blood_count_mouse_per_ul")
            entry = float(share.value) / (float(res.value) * 1440.0 * wall_per_cell) * count / float(mouse.value)
            counted = prov[path]
            record(prov, path, "cells/(um^2 min)",
                   f"share {share.value:g} ({share.source} [library {share.table}: {share.entity}.{share.parameter}]) / "
                   f"(residence {res.value:g} d x {wall_per_cell:g} um^2 of vessel wall per tumour cell: "
                   f"{bed.source}; {cell['source']}) x blood count relative to a mouse's ({counted.source})",
                   "U" if "U" in (share.status, res.status, counted.status, bed.status) else "V")
            arrivals.append(Arrival(cell_type=name, per_vessel_area_per_min=entry, weight="vessel density",
                                    within=tumour, adhesion="tnfa", adhesion_half_max=adhesion["half_max"],
                                    adhesion_basal=adhesion["basal"], adhesion_reference=reference,
                                    source=f"recruited from blood ({e.host.species}, {e.host.immune})", status="U"))
        else:
            prov.pop(path, None)
        record(prov, f"departures[{first_departure + len(departures)}].rate_per_min", "1/min",
               f"1 / residence: {res.source} [library {TABLE}: {name}.residence_in_tumour_d]", res.status)
        departures.append(Departure(cell_type=name, rate_per_min=1.0 / (float(res.value) * 1440.0),
                                    source=f"library {TABLE}: {name} leaves after {res.value:g} d on average",
                                    status=res.status))
    return arrivals, departures


def share_of_cells(b, name: str):
    """The library entry for the share of the tumour's cells immune type ``name`` makes up: the
    line's own, else the table's typical share (None: the type forms only in the tissue)."""
    line = b.entity[b.roles["tumour"][0]]
    return b.cat.get("cell_lines", line, f"{name}_share_of_cells") or b.cat.get(TABLE, name,
                                                                              "typical_share_of_tumour_cells")


def starting_shares(b, type_names: list[str], kinds, seed: int):
    """The starting cells' types with each recruited immune type at its share: that many
    positions, drawn with the scenario's seed, take the immune type instead of the tumour's."""
    import numpy as np
    rng = np.random.default_rng([int(seed), 20])
    kinds = kinds.copy()
    free = np.flatnonzero(kinds == 0)
    for name in b.immune:
        entry = share_of_cells(b, name)
        if entry is None or blood_count(b.cat, name, b.e.host.species, {}, "") <= 0.0:
            continue
        count = int(round(float(entry.value) * len(kinds)))
        if count == 0 or free.size == 0:
            continue
        pick = rng.choice(free, size=min(count, free.size), replace=False)
        kinds[pick] = type_names.index(name)
        free = np.setdiff1d(free, pick)
    return kinds
