"""Writing PhysiCell 1.14 input: a model as settings XML, ``cells.csv`` (v2) and ``rules.csv`` (v3),
every phenotype value explicit."""

from __future__ import annotations

import math
import os
import re
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from ...errors import TropismInputError, UnsupportedElementWarning
from ...files import atomic_write_text
from ..model import Model
from ..phenotype import CellType, SecretionParameters
from ..substrates import FACES
from .vocab import (SETTINGS_NAME, CELLS_NAME, RULES_NAME, _DOMAIN, _RUN_OPTIONS, _VOLUME, _DEATH_PARAMETERS,
    _MECHANICS_A, _MECHANICS_B, _MOTILITY, _MOTILITY_OPTIONS, _ADVANCED_CHEMOTAXIS, _SECRETION,
    _PHAGOCYTOSIS, _ATTACK, _INTEGRITY, _INTERACTION_MAPS)

__all__ = ["model_to_xml_string", "write_model"]


def _fmt(value: Any) -> str:
    """Text for a value: booleans as true/false, floats as the shortest exact repr."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _el(parent: ET.Element, tag: str, value: Any = None, **attrib: Any) -> ET.Element:
    node = ET.SubElement(parent, tag, {k: _fmt(v) for k, v in attrib.items() if v is not None})
    if value is not None:
        node.text = _fmt(value)
    return node


def _xml_name(name: str, field: str) -> str:
    """``name`` if it can be an XML element name (custom data, user parameters), else an error."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", name) or name.lower().startswith("xml"):
        raise TropismInputError("name cannot be written as an XML element", field=field, value=name,
                                allowed="letters, digits, '_', '-', '.', starting with a letter or '_'")
    return name


def _write_table(parent: ET.Element, table: list, record: Any) -> None:
    for tag, field, _kind, units in table:
        _el(parent, tag, getattr(record, field), units=units)


def model_to_xml_string(model: Model, *, cells_file: str = CELLS_NAME, rules_file: str = RULES_NAME) -> str:
    """The model as PhysiCell 1.14 settings XML text.

    Parameters
    ----------
    model : Model
        The model to write. Every phenotype value is written explicitly (no ``parent_type``).
    cells_file, rules_file : str, optional
        Names of the cells and rules CSV files, referenced as ``./<name>``.

    Returns
    -------
    str
        The XML document, with declaration and two-space indentation.
    """
    root = ET.Element("PhysiCell_settings", version="1.14")
    d = model.domain
    dom = _el(root, "domain")
    _write_table(dom, _DOMAIN, d)

    overall = _el(root, "overall")
    _el(overall, "max_time", model.clocks.max_time, units="min")
    _el(overall, "time_units", "min")
    _el(overall, "space_units", "micron")
    for tag in ("dt_diffusion", "dt_mechanics", "dt_phenotype"):
        _el(overall, tag, getattr(model.clocks, tag), units="min")
    if model.clocks.diffusion_scheme != "lod":  # tropism's own element; PhysiCell ignores it
        _el(overall, "diffusion_scheme", model.clocks.diffusion_scheme)

    _el(_el(root, "parallel"), "omp_num_threads", model.options.omp_num_threads)

    s = model.save
    save = _el(root, "save")
    _el(save, "folder", s.folder)
    full = _el(save, "full_data")
    _el(full, "interval", s.full_data_interval, units="min")
    _el(full, "enable", s.full_data_enabled)
    svg = _el(save, "SVG")
    _el(svg, "interval", s.svg_interval, units="min")
    _el(svg, "enable", s.svg_enabled)
    _el(_el(save, "legacy_data"), "enable", False)

    opts = _el(root, "options")
    _write_table(opts, _RUN_OPTIONS, model.options)
    _el(opts, "random_seed", model.options.random_seed)

    micro = _el(root, "microenvironment_setup")
    for i, sub in enumerate(model.substrates):
        var = _el(micro, "variable", name=sub.name, units=sub.units, ID=i)
        pps = _el(var, "physical_parameter_set")
        _el(pps, "diffusion_coefficient", sub.diffusion_coefficient, units="micron^2/min")
        _el(pps, "decay_rate", sub.decay_rate, units="1/min")
        _el(var, "initial_condition", sub.initial_condition, units=sub.units)
        _el(var, "Dirichlet_boundary_condition", sub.dirichlet_value, units=sub.units,
            enabled=sub.dirichlet_enabled)
        if sub.dirichlet_faces:
            dopts = _el(var, "Dirichlet_options")
            for face in FACES:
                if face in sub.dirichlet_faces:
                    enabled, value = sub.dirichlet_faces[face]
                    _el(dopts, "boundary_value", float(value), ID=face, enabled=bool(enabled))
    mopts = _el(micro, "options")
    _el(mopts, "calculate_gradients", model.calculate_gradients)
    _el(mopts, "track_internalized_substrates_in_each_agent", model.track_internalized_substrates)

    defs = _el(root, "cell_definitions")
    for ct in model.cell_types:
        _write_cell_type(defs, ct, model)

    ic = _el(root, "initial_conditions")
    pos = _el(ic, "cell_positions", type="csv", enabled=len(model.initial_cells) > 0)
    _el(pos, "folder", ".")
    _el(pos, "filename", cells_file)

    rules = _el(_el(root, "cell_rules"), "rulesets")
    rs = _el(rules, "ruleset", protocol="CBHG", version="3.0", format="csv", enabled=bool(model.rules))
    _el(rs, "folder", ".")
    _el(rs, "filename", rules_file)

    ups = _el(root, "user_parameters")
    for name, up in model.user_parameters.items():
        _el(ups, _xml_name(name, "user_parameters"), up.value, type=up.type, units=up.units,
            description=up.description)

    ET.indent(root, space="  ")
    return "<?xml version='1.0' encoding='utf-8'?>\n" + ET.tostring(root, encoding="unicode") + "\n"


def _write_cell_type(defs: ET.Element, ct: CellType, model: Model) -> None:
    cd = _el(defs, "cell_definition", name=ct.name, ID=ct.id)
    ph = _el(cd, "phenotype")

    cyc = _el(ph, "cycle", code=ct.cycle.code, name=ct.cycle.name)
    rates = _el(cyc, "phase_transition_rates", units="1/min")
    for link in ct.cycle.links:
        _el(rates, "rate", link.rate, start_index=link.start, end_index=link.end,
            fixed_duration=link.fixed_duration)

    death = _el(ph, "death")
    for dm in (ct.apoptosis, ct.necrosis):
        m = _el(death, "model", code=dm.code, name=dm.name)
        _el(m, "death_rate", dm.rate, units="1/min")
        pd = _el(m, "phase_durations", units="min")
        for i, dur in enumerate(dm.durations):
            _el(pd, "duration", float(dur), index=i,
                fixed_duration=dm.fixed[i] if i < len(dm.fixed) else False)
        _write_table(_el(m, "parameters"), _DEATH_PARAMETERS, dm.parameters)

    _write_table(_el(ph, "volume"), _VOLUME, ct.volume)

    mech = _el(ph, "mechanics")
    _write_table(mech, _MECHANICS_A, ct.mechanics)
    aff = _el(mech, "cell_adhesion_affinities")
    for name, value in ct.mechanics.cell_adhesion_affinities.items():
        _el(aff, "cell_adhesion_affinity", value, name=name)
    _write_table(mech, _MECHANICS_B, ct.mechanics)
    if not ct.mechanics.is_movable:  # not a PhysiCell element; written only when it matters
        _el(mech, "is_movable", False)

    mot = _el(ph, "motility")
    _write_table(mot, _MOTILITY, ct.motility)
    mopts = _el(mot, "options")
    _write_table(mopts, _MOTILITY_OPTIONS, ct.motility)
    chemo = ct.motility.chemotaxis
    chemo_node = _el(mopts, "chemotaxis")
    _el(chemo_node, "enabled", chemo.enabled)
    _el(chemo_node, "substrate", chemo.substrate)
    # PhysiCell reads the direction as an integer: write 1 / -1 as such.
    _el(chemo_node, "direction", int(chemo.direction) if chemo.direction.is_integer() else chemo.direction)
    adv = _el(mopts, "advanced_chemotaxis")
    _write_table(adv, _ADVANCED_CHEMOTAXIS, ct.motility.advanced_chemotaxis)
    sens = _el(adv, "chemotactic_sensitivities")
    for name, value in ct.motility.advanced_chemotaxis.sensitivities.items():
        _el(sens, "chemotactic_sensitivity", float(value), substrate=name)

    sec = _el(ph, "secretion")
    for sub in model.substrates:
        entry = ct.secretion.get(sub.name, SecretionParameters())
        _write_table(_el(sec, "substrate", name=sub.name), _SECRETION, entry)

    inter = _el(ph, "cell_interactions")
    _write_table(inter, _PHAGOCYTOSIS, ct.interactions)
    for list_tag, item_tag, field, _default in _INTERACTION_MAPS:
        block = _el(inter, list_tag)
        for name, value in getattr(ct.interactions, field).items():
            _el(block, item_tag, value, name=name, units=None if field == "immunogenicities" else "1/min")
    _write_table(inter, _ATTACK, ct.interactions)

    trans = _el(_el(ph, "cell_transformations"), "transformation_rates")
    for name, value in ct.transformation_rates.items():
        _el(trans, "transformation_rate", value, name=name, units="1/min")

    _write_table(_el(ph, "cell_integrity"), _INTEGRITY, ct.interactions)

    custom = _el(cd, "custom_data")
    for name, datum in ct.custom_data.items():
        _el(custom, _xml_name(name, f"cell type {ct.name}: custom_data"), datum.value,
            units=datum.units, conserved=datum.conserved,
            description=datum.description)


def _cells_csv_text(model: Model) -> str:
    cells = model.initial_cells
    names = model.cell_type_names
    labels = list(cells.extra)
    lines = [",".join(["x", "y", "z", "type"] + labels)]
    columns = [cells.extra[k] for k in labels]
    for i in range(len(cells)):
        x, y, z = (repr(float(v)) for v in cells.positions[i])
        row = [x, y, z, names[int(cells.types[i])]]
        row += ["" if math.isnan(v := float(col[i])) else repr(v) for col in columns]
        lines.append(",".join(row))
    return "\n".join(lines) + "\n"


def _rules_csv_text(model: Model) -> str:
    return "".join(
        f"{r.cell_type},{r.signal},{r.direction},{r.behavior},{r.saturation!r},{r.half_max!r},"
        f"{r.hill_power!r},{int(r.applies_to_dead)}\n" for r in model.rules if not _beyond_physicell(r))


def _beyond_physicell(rule) -> bool:
    """A rule PhysiCell's grammar cannot say: a fold on the other rules' value, or a behaviour
    of tropism's own (death-receptor apoptosis)."""
    return rule.multiplies or rule.behaviour_kind == "death_receptor_apoptosis"


def write_model(model: Model, folder: str | os.PathLike[str], settings_name: str = SETTINGS_NAME) -> Path:
    """Write a model as PhysiCell 1.14 input: settings XML, ``cells.csv`` (v2), ``rules.csv`` (v3).

    Each file is written atomically (temporary file, then ``os.replace``). The XML refers to
    the CSV files as ``./cells.csv`` and ``./rules.csv``. Elements listed in
    ``model.unsupported`` are not written (the model does not hold them).

    Parameters
    ----------
    model : Model
        The model to write.
    folder : str or os.PathLike
        Destination folder (created if needed).
    settings_name : str, optional
        File name of the settings XML (default ``PhysiCell_settings.xml``).

    Returns
    -------
    Path
        The settings file written.
    """
    beyond = [f"{len(getattr(model, name))} {label}" for name, label in
              (("conversions", "cell-catalysed conversion(s)"), ("arrivals", "arrival(s)"),
               ("departures", "departure(s)"), ("interventions", "intervention(s)")) if getattr(model, name)]
    if folds := sum(r.multiplies for r in model.rules):
        beyond.append(f"{folds} rule(s) that multiply a behaviour (a fold on the other rules' value)")
    if receptor := sum(r.behaviour_kind == "death_receptor_apoptosis" for r in model.rules):
        beyond.append(f"{receptor} rule(s) of death-receptor apoptosis")
    if model.vessels is not None:
        beyond.append("the vessel bed")
    if beyond:
        warnings.warn(", ".join(beyond) + " cannot be written in PhysiCell's files and are left out",
                      UnsupportedElementWarning, stacklevel=2)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / CELLS_NAME, _cells_csv_text(model))
    atomic_write_text(out / RULES_NAME, _rules_csv_text(model))
    target = out / settings_name
    atomic_write_text(target, model_to_xml_string(model))
    return target
