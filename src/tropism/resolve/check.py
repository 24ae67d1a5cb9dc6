"""A scenario checked against the library, before the first step.

:func:`check_experiment` refuses what the file alone cannot show to be wrong, and reports every
problem of the file together: a tumour line, MSC source, drug or host condition the library
does not hold (with "did you mean"), a human tumour line in an immune-competent animal (it
would be rejected), a blockade of a receptor no cell in the scenario carries or of a target
not simulated yet, and fields whose mechanism is not built yet (refused with the reason, never
accepted and ignored).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import TropismInputError, allowed_with_hint, raise_all
from ..model.experiment import Experiment
from .tables import load_mechanisms

#: immune statuses that accept a xenograft from another species
XENO_HOSTS = ("nude", "scid", "nsg")


def allowed(name, names) -> str:
    """The allowed names, with the nearest one first as "did you mean"."""
    return allowed_with_hint(name, names)


def carries(cat, line: str, parameter: str) -> bool:
    """Whether a tumour line carries a property: ``name`` (a receptor) when its library value is
    present and not ``absent``; ``name=value`` (a growth mode, say) when the value is that one;
    ``a&b`` when it carries both."""
    if "&" in parameter:
        return all(carries(cat, line, part) for part in parameter.split("&"))
    name, _, wanted = parameter.partition("=")
    entry = cat.get("cell_lines", line, name)
    if entry is None:
        return False
    return str(entry.value) == wanted if wanted else entry.value != "absent"


def check_experiment(e: Experiment, file: str | None = None, catalogue=None) -> None:
    """Refuse a scenario the library cannot run (see the module docstring).

    Raises
    ------
    TropismInputError
        Naming the file, the field, the value and what is allowed; several problems come
        together as one :class:`~tropism.errors.TropismInputErrors`.
    """
    from ..body.library import ORGANS, load_conditions
    from ..body.model import molecule_parameters
    from ..library import load_catalogue
    cat = catalogue or load_catalogue()
    mech = load_mechanisms()
    conditions = load_conditions()
    errors: list[TropismInputError] = []

    def refuse(message, field, value=None, allowed_=None):
        errors.append(TropismInputError(message, file=file, field=field, value=value, allowed=allowed_))

    for organ in e.host.inflamed:
        if organ not in ORGANS + ("tumour",):
            refuse("unknown organ", f"host.inflamed.{organ}", organ, allowed(organ, ORGANS + ("tumour",)))
        elif organ == "tumour" and e.tumour is None:
            refuse("an inflamed tumour needs a [tumour]", "host.inflamed.tumour", e.host.inflamed[organ])
    if e.host.irradiated:
        refuse("host.irradiated is not simulated: irradiation is an [[intervention]] with its dose and time",
               "host.irradiated", list(e.host.irradiated),
               "leave it out; give [[intervention]] kind = \"irradiation\", dose_gy = ..., start_h = ...")
    for i, c in enumerate(e.host.conditions):
        if c not in conditions:
            refuse("unknown host condition", f"host.conditions[{i}]", c, allowed(c, conditions))
    if e.tumour is not None:
        lines = cat.entities("cell_lines")
        if e.tumour.line not in lines:
            refuse("unknown tumour line", "tumour.line", e.tumour.line, allowed(e.tumour.line, lines))
        else:
            origin = cat.get("cell_lines", e.tumour.line, "species_of_origin")
            if origin is not None and origin.value != e.host.species and e.host.immune not in XENO_HOSTS:
                refuse(f"a {origin.value} tumour line in an immune-competent {e.host.species} is rejected",
                       "host.immune", e.host.immune,
                       f"{', '.join(XENO_HOSTS)} for a xenograft, or a {e.host.species} line")
        if e.tumour.site not in mech.sites:
            refuse("no vessel bed in the library for this site", "tumour.site", e.tumour.site,
                   ", ".join(mech.sites))
    sources = cat.entities("msc_sources")
    for i, t in enumerate(e.treatment):
        if t.product == "msc" and t.source not in sources:
            refuse("unknown MSC source", f"treatment[{i}].source", t.source, allowed(t.source, sources))
        if t.engineering and e.tumour is None:
            refuse("a payload acts in the tumour tissue; a scenario without a [tumour] runs the body only",
                   f"treatment[{i}].engineering", list(t.engineering), "a [tumour], or no payload")
        for name in t.engineering:
            payload = mech.payloads.get(name)
            if payload is None:
                why = mech.payloads_not_simulated.get(name)
                refuse(f"{name} is not simulated yet: {why}" if why else "unknown payload",
                       f"treatment[{i}].engineering", name,
                       allowed(name, sorted(mech.payloads)) + "; or leave it out (naive MSCs)")
            elif payload.requires and e.tumour is not None and cat.get("cell_lines", e.tumour.line,
                                                                       payload.requires) is None:
                refuse(f"the library does not say how {e.tumour.line} responds to {name} "
                       f"(no '{payload.requires}' in cell_lines.csv)", f"treatment[{i}].engineering",
                       name, "a tumour line with that row, or no payload")
        if t.product == "drug":
            try:
                molecule_parameters(t.name, e.host.species)
            except TropismInputError as exc:
                refuse(exc.message, f"treatment[{i}].name", t.name, exc.allowed)
    has_msc = any(t.product == "msc" for t in e.treatment)
    end = e.simulation.duration_h
    for i, iv in enumerate(e.intervention):
        windowed = iv.start_h > 0 or (iv.end_h is not None and iv.end_h < end)
        if iv.kind == "irradiation" and e.tumour is None:
            refuse("irradiation of the tumour needs a [tumour]", f"intervention[{i}].kind", iv.kind)
        if iv.kind == "vasodilator" and windowed:
            refuse("a vasodilator acts in the body model for the whole run", f"intervention[{i}].start_h/end_h",
                   f"{iv.start_h}-{iv.end_h}", f"start_h = 0 and no end_h (or end_h >= {end:g})")
        if iv.kind != "blockade":
            continue
        if iv.target in mech.not_simulated:
            refuse(f"this blockade is not simulated yet: {mech.not_simulated[iv.target]}",
                   f"intervention[{i}].target", iv.target, ", ".join(mech.blockades))
            continue
        b = mech.blockades.get(iv.target)
        if b is None:
            refuse("no mechanism in the library for this blockade", f"intervention[{i}].target", iv.target,
                   ", ".join(mech.blockades))
            continue
        held = []
        if "msc" in b.carriers and has_msc:
            held.append("MSCs")
        if "tumour" in b.carriers and e.tumour is not None and e.tumour.line in cat.entities("cell_lines") and (
                not b.requires or carries(cat, e.tumour.line, b.requires)):
            held.append(e.tumour.line)
        if "vessels" in b.carriers and e.tumour is not None:
            held.append("vessels")
        if "immune" in b.carriers and e.tumour is not None:
            from .immune import present
            if present(cat, e):
                held.append("immune cells")
        if not held:
            refuse(f"no cell in this scenario carries {iv.target.upper()}", f"intervention[{i}].target", iv.target,
                   "a target that a tumour line or a treatment in the scenario carries")
        if b.pathway and windowed:
            refuse("a silencing is a property of the cells given, not a window", f"intervention[{i}].start_h/end_h",
                   f"{iv.start_h}-{iv.end_h}", f"start_h = 0 and no end_h (or end_h >= {end:g})")
        if b.body and has_msc and windowed and e.tumour is None:
            refuse("without a tumour the body model runs alone and holds this blockade for the whole run",
                   f"intervention[{i}].start_h/end_h", f"{iv.start_h}-{iv.end_h}", f"start_h = 0 and no end_h (or end_h >= {end:g})")
    raise_all(errors)


def _names_in_raw(data: dict, file: str | None) -> list[TropismInputError]:
    """Library names a file gives (tumour line, MSC sources, drugs) checked on the raw table, so
    that a file whose shape is also wrong hears about them in the same report."""
    from ..body.model import molecule_parameters
    from ..library import load_catalogue
    cat = load_catalogue()
    out = []
    tumour = data.get("tumour") if isinstance(data.get("tumour"), dict) else {}
    lines = cat.entities("cell_lines")
    if isinstance(tumour.get("line"), str) and tumour["line"] not in lines:
        out.append(TropismInputError("unknown tumour line", file=file, field="tumour.line", value=tumour["line"],
                                     allowed=allowed(tumour["line"], lines)))
    species = (data.get("host") or {}).get("species", "mouse") if isinstance(data.get("host"), dict) else "mouse"
    for i, t in enumerate(data.get("treatment") or []):
        if not isinstance(t, dict):
            continue
        src = t.get("source")
        if t.get("product") == "msc" and isinstance(src, str) and src not in cat.entities("msc_sources"):
            out.append(TropismInputError("unknown MSC source", file=file, field=f"treatment[{i}].source", value=src,
                                         allowed=allowed(src, cat.entities("msc_sources"))))
        if t.get("product") == "drug" and isinstance(t.get("name"), str) and species in ("mouse", "rat", "human"):
            try:
                molecule_parameters(t["name"], species)
            except TropismInputError as exc:
                out.append(TropismInputError(exc.message, file=file, field=f"treatment[{i}].name", value=t["name"],
                                             allowed=exc.allowed))
    return out


def load_and_check(path: str | Path) -> Experiment:
    """Read a scenario file and check it against the library; every problem of the file, of its
    shape and of the names it takes from the library, comes in one report."""
    from ..files import read_toml
    from ..model.experiment import experiment_from_dict
    data = read_toml(path, "scenario file")
    try:
        e = experiment_from_dict(data, file=str(path))
    except TropismInputError as exc:
        found = list(getattr(exc, "errors", [exc]))
        seen = {x.field for x in found}
        raise_all(found + [x for x in _names_in_raw(data, str(path)) if x.field not in seen])
    check_experiment(e, file=str(path))
    return e
