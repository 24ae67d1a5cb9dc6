"""Reading PhysiCell 1.14 input: settings XML, cells CSV (v1/v2), rules CSV (CBHG v3).

See :mod:`tropism.model.physicell` for what is read and how it is normalised.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError

from ...errors import TropismInputError, UnsupportedElementWarning
from ...units import TIME_TO_MIN
from .._xml import Node, parse_xml
from ..domain import Clocks, Domain, RunOptions, SaveOptions
from ..model import InitialCells, Model, UserParameter
from ..phenotype import CYCLE_TOPOLOGIES, CellType, CustomDatum, SecretionParameters
from ...capabilities import not_simulated_in_rule
from ..rules import Rule, resolve_rule
from ..substrates import FACES, Substrate
from .vocab import (SETTINGS_NAME, _DEFAULT_CYCLE_LINKS, _CYCLE_NAMES, _DEATH_CODES, _AUTOPHAGY_CODE,
    _DEATH_LINKS, _DEATH_KEY, _TRUE, _FALSE, _DOMAIN, _OVERALL, _RUN_OPTIONS, _VOLUME, _DEATH_PARAMETERS,
    _MECHANICS_A, _MECHANICS_B, _MOTILITY, _MOTILITY_OPTIONS, _CHEMOTAXIS, _ADVANCED_CHEMOTAXIS, _SECRETION,
    _PHAGOCYTOSIS, _ATTACK, _INTEGRITY, _INTERACTION_MAPS, _RULE_COLUMNS, _ALLOWED_ERRORS)

__all__ = ["load_model", "read_cells_csv"]


def load_model(path: str | os.PathLike[str]) -> Model:
    """Read a PhysiCell 1.14 settings XML, with its cells and rules CSV files, into a model.

    Parameters
    ----------
    path : str or os.PathLike
        The settings XML, or a folder holding ``PhysiCell_settings.xml``. Files named in it
        (cells CSV, rules CSV) are found relative to the XML's folder (or, failing that, to
        one of the three folders above it, as PhysiCell resolves them from its working
        directory, usually the project folder above ``config/``).

    Returns
    -------
    Model
        The validated model; ``source`` is the XML path and ``base_dir`` its folder.

    Raises
    ------
    TropismInputError
        For any bad input: unreadable or malformed XML, a missing required element
        (``domain``, ``overall``, ``microenvironment_setup``, ``cell_definitions``), a value
        that is not a number or out of range, an unknown cycle code, substrate, cell type,
        rule signal or behaviour, a missing or malformed CSV file. The message names the
        file, the element or line, the value and what is allowed.

    Warns
    -----
    UnsupportedElementWarning
        Once, listing every element that was read but is not simulated
        (also kept in ``Model.unsupported``).
    """
    p = Path(path)
    if p.is_dir():
        p = p / SETTINGS_NAME
    model = _Reader(p).read()
    if model.unsupported:
        warnings.warn(
            f"{p}: {len(model.unsupported)} element(s) read but not simulated or ignored: "
            + "; ".join(model.where(u) for u in model.unsupported),
            UnsupportedElementWarning, stacklevel=2)
    return model


class _Reader:
    """One pass over one settings file; collects unsupported items as it goes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = str(path)
        self.unsupported: list[str] = []
        self.lines: dict[str, list[int]] = {}

    def ignored(self, node: Node, why: str) -> None:
        """Report ``node`` as read and ignored (with its line), without failing."""
        key = f"{node.path}: {why}"
        self.unsupported.append(key)
        self.lines.setdefault(key, []).append(node.line)

    # -- errors and scalar values --------------------------------------------------------------
    def fail(self, node: Node | None, message: str, value: Any = None, allowed: str | None = None,
             *, file: str | None = None, field: str | None = None) -> None:
        raise TropismInputError(message, file=file or self.file,
                                field=field if field is not None else (node.where if node else None),
                                value=value, allowed=allowed)

    def value(self, node: Node, kind: str) -> Any:
        """The text of ``node`` as ``kind`` (float, int, bool, str, time); marks it used."""
        node.mark()
        text = node.text
        if kind == "str":
            return text
        if kind == "bool":
            return self.boolean(text, node)
        if kind == "int":
            try:
                return int(text)
            except ValueError:
                pass
            try:
                f = float(text)
            except ValueError:
                f = math.nan
            if not f.is_integer():
                self.fail(node, "expected an integer", text, "a whole number such as 12")
            return int(f)
        try:
            v = float(text)
        except ValueError:
            v = math.nan
        if math.isnan(v):
            self.fail(node, "expected a number", text, "a decimal number such as 0.5 or 1e-3")
        if kind == "time":
            v *= self.time_factor(node)
        return v

    def boolean(self, text: str, node: Node, attr: str | None = None) -> bool:
        low = text.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        what = f"attribute '{attr}'" if attr else "value"
        self.fail(node, f"{what} must be true or false", text, "true, false, 1, 0")
        raise AssertionError  # unreachable

    def attr_bool(self, node: Node, attr: str, default: bool = False) -> bool:
        """A boolean attribute (PhysiCell reads a missing one as ``default``)."""
        if attr not in node.attrib:
            return default
        return self.boolean(node.attrib[attr], node, attr)

    def attr_int(self, node: Node, attr: str) -> int:
        text = node.attrib.get(attr)
        if text is None:
            self.fail(node, f"attribute '{attr}' is missing", None, "an integer")
        try:
            return int(str(text).strip())
        except ValueError:
            self.fail(node, f"attribute '{attr}' must be an integer", text, "a whole number such as 0")
        raise AssertionError  # unreachable

    def time_factor(self, node: Node) -> float:
        units = node.attrib.get("units")
        if units is None:
            return 1.0
        key = units.strip()
        factor = TIME_TO_MIN.get(key, TIME_TO_MIN.get(key.lower()))
        if factor is None:
            self.fail(node, "unknown time unit in attribute 'units'", units, ", ".join(TIME_TO_MIN))
        return factor

    def table(self, parent: Node, table: list, out: dict, locs: dict, prefix: tuple) -> None:
        """Read the children of ``parent`` named in ``table`` into ``out`` (where present)."""
        for tag, field, kind, _units in table:
            node = parent.child(tag)
            if node is not None:
                out[field] = self.value(node, kind)
                locs[prefix + (field,)] = node

    def validate(self, cls: type[BaseModel], data: dict, locs: dict, node: Node | None,
                 *, file: str | None = None, field: str | None = None) -> Any:
        """Build a record; a ValidationError becomes a TropismInputError at the right element."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = tuple(err["loc"])
            where = node
            for k in range(len(loc), 0, -1):
                if loc[:k] in locs:
                    where = locs[loc[:k]]
                    break
            msg = err["msg"].removeprefix("Value error, ")
            if loc:
                msg = f"invalid {'.'.join(str(p) for p in loc)}: {msg}"
            allowed = None
            if err["type"] in _ALLOWED_ERRORS:
                key, fmt = _ALLOWED_ERRORS[err["type"]]
                allowed = fmt.format(err.get("ctx", {}).get(key))
            value = err.get("input")
            if isinstance(value, dict):
                value = None
            self.fail(where, msg, value, allowed, file=file, field=field)
            raise AssertionError from None  # unreachable

    def file_path(self, node: Node, base: Path) -> Path:
        """The file named by ``node``'s ``<folder>`` and ``<filename>`` children."""
        folder_node, name_node = node.child("folder"), node.child("filename")
        folder = self.value(folder_node, "str") if folder_node is not None else "."
        if name_node is None or not name_node.text:
            self.fail(name_node or node, "a <filename> is required", None, "a file name")
        rel = Path(folder or ".") / self.value(name_node, "str")
        # PhysiCell resolves paths from its working directory, usually the project folder
        # above config/; try the XML's folder first, then up to three folders above it.
        candidates = [rel] if rel.is_absolute() else [b / rel for b in [base, *base.parents][:4]]
        for c in candidates:
            if c.is_file():
                return c
        self.fail(name_node, "file not found", str(candidates[0]),
                  "an existing file (paths are relative to the settings file's folder)")
        raise AssertionError  # unreachable

    # -- the whole file ------------------------------------------------------------------------
    def read(self) -> Model:
        root = parse_xml(self.path)
        if root.tag != "PhysiCell_settings":
            self.fail(root, "the root element must be <PhysiCell_settings>", root.tag, "PhysiCell_settings")
        for tag in ("domain", "overall", "microenvironment_setup", "cell_definitions"):
            if root.child(tag) is None:
                self.fail(None, f"required element <{tag}> is missing", None,
                          f"a <{tag}> element inside <PhysiCell_settings>", field=tag)
        base = self.path.parent
        domain = self.domain(root.child("domain"))
        self.domain_box = domain
        clocks = self.clocks(root.child("overall"))
        save = self.save(root.child("save"))
        options = self.options(root.child("options"), root.child("parallel"))
        substrates, calc_gradients, track = self.microenvironment(root.child("microenvironment_setup"))
        cell_types = self.cell_definitions(root.child("cell_definitions"), substrates, domain.use_2d)
        cells = self.initial_cells(root.child("initial_conditions"), cell_types, base)
        rules = self.rules(root.child("cell_rules"), cell_types, substrates, base)
        user_parameters = self.user_parameters(root.child("user_parameters"))
        random_cells = self.random_cells(root.child("user_parameters"))
        # Empty elements (e.g. ``<molecular />``) carry nothing and are not reported.
        unused = [n for n in root.unused() if n.children or n.text or n.attrib]
        for n in unused:
            self.lines.setdefault(n.path, []).append(n.line)
        unsupported = [n.path for n in unused] + self.unsupported
        unsupported = list(dict.fromkeys(unsupported))
        data = dict(domain=domain, clocks=clocks, save=save, options=options, substrates=substrates,
                    calculate_gradients=calc_gradients, track_internalized_substrates=track,
                    cell_types=cell_types, initial_cells=cells, rules=rules,
                    user_parameters=user_parameters, random_cells_per_type=random_cells,
                    unsupported=unsupported, source=self.file,
                    base_dir=base)
        model = self.validate(Model, data, {}, root)
        model._lines = {k: sorted(set(v)) for k, v in self.lines.items()}
        return model

    # -- simple sections -----------------------------------------------------------------------
    def domain(self, node: Node) -> Domain:
        node.mark()
        data: dict = {}
        locs: dict = {}
        self.table(node, _DOMAIN, data, locs, ())
        if data.get("use_2d", Domain.model_fields["use_2d"].default):
            # PhysiCell 1.14: a 2D domain is one voxel layer centred on z = 0.
            dz = data.get("dz", Domain.model_fields["dz"].default)
            if dz > 0:
                data["z_min"], data["z_max"] = -0.5 * dz, 0.5 * dz
        return self.validate(Domain, data, locs, node)

    def clocks(self, node: Node) -> Clocks:
        node.mark()
        for tag in ("time_units", "space_units", "dt_intracellular"):  # labels / intracellular only
            if node.child(tag) is not None:
                node.child(tag).mark(True)
        data: dict = {}
        locs: dict = {}
        self.table(node, _OVERALL, data, locs, ())
        return self.validate(Clocks, data, locs, node)

    def save(self, node: Node | None) -> SaveOptions:
        data: dict = {}
        locs: dict = {}
        if node is None:
            return SaveOptions()
        node.mark()
        self.table(node, [("folder", "folder", "str", None)], data, locs, ())
        for tag, prefix in (("full_data", "full_data"), ("SVG", "svg")):
            sub = node.child(tag)
            if sub is not None:
                sub.mark()
                self.table(sub, [("interval", f"{prefix}_interval", "time", "min"),
                                 ("enable", f"{prefix}_enabled", "bool", None)], data, locs, ())
                plot = sub.child("plot_substrate")
                if plot is not None and not self.attr_bool(plot, "enabled"):
                    plot.mark(True)  # enabled substrate plots stay unmarked → unsupported
        legacy = node.child("legacy_data")
        if legacy is not None:
            legacy.mark(True)
        intra = node.child("intracellular_data")
        if intra is not None:
            enable = intra.child("enable")
            if enable is None or not self.value(enable, "bool"):
                intra.mark(True)
        return self.validate(SaveOptions, data, locs, node)

    def options(self, node: Node | None, parallel: Node | None) -> RunOptions:
        data: dict = {}
        locs: dict = {}
        if parallel is not None:
            parallel.mark()
            self.table(parallel, [("omp_num_threads", "omp_num_threads", "int", None)], data, locs, ())
        if node is not None:
            node.mark()
            self.table(node, _RUN_OPTIONS, data, locs, ())
            seed = node.child("random_seed")
            if seed is not None:
                text = self.value(seed, "str")
                if text.lower() in ("", "random", "system_clock"):
                    data["random_seed"] = 0
                else:
                    data["random_seed"] = self.value(seed, "int")
                    if data["random_seed"] < 0:
                        self.fail(seed, "random seed must not be negative", text,
                                  "a non-negative integer or system_clock")
                locs[("random_seed",)] = seed
            for tag in ("legacy_random_points_on_sphere_in_divide", "legacy_cell_defaults_copy"):
                flag = node.child(tag)
                if flag is not None and not self.boolean(flag.text, flag):
                    flag.mark()  # only "true" is unsupported
        return self.validate(RunOptions, data, locs, node)

    # -- microenvironment ----------------------------------------------------------------------
    def microenvironment(self, node: Node) -> tuple[list[Substrate], bool, bool]:
        node.mark()
        substrates: list[Substrate] = []
        for var in node.all("variable"):
            var.mark()
            name = var.attrib.get("name", "").strip()
            if not name:
                self.fail(var, "a <variable> needs a name attribute", None, "a substrate name")
            if name in (s.name for s in substrates):
                self.fail(var, "duplicate substrate name", name, "unique names")
            data: dict = {"name": name, "units": var.attrib.get("units", "dimensionless")}
            locs: dict = {}
            pps = var.child("physical_parameter_set")
            if pps is not None:
                pps.mark()
                self.table(pps, [("diffusion_coefficient", "diffusion_coefficient", "float", None),
                                 ("decay_rate", "decay_rate", "float", None)], data, locs, ())
            self.table(var, [("initial_condition", "initial_condition", "float", None)], data, locs, ())
            dbc = var.child("Dirichlet_boundary_condition")
            if dbc is not None:
                data["dirichlet_value"] = self.value(dbc, "float")
                data["dirichlet_enabled"] = self.attr_bool(dbc, "enabled")
                locs[("dirichlet_value",)] = locs[("dirichlet_enabled",)] = dbc
            opts = var.child("Dirichlet_options")
            if opts is not None:
                opts.mark()
                faces: dict = {}
                for bv in opts.all("boundary_value"):
                    face = bv.attrib.get("ID", "").strip()
                    if face not in FACES:
                        self.fail(bv, "unknown Dirichlet boundary ID", face, ", ".join(FACES))
                    # PhysiCell reads an empty boundary value as 0 (Studio writes them so).
                    value = self.value(bv, "float") if bv.text else 0.0
                    bv.mark()
                    faces[face] = (self.attr_bool(bv, "enabled"), value)
                    locs[("dirichlet_faces", face)] = bv
                data["dirichlet_faces"] = faces
            substrates.append(self.validate(Substrate, data, locs, var))
        calc, track = True, False
        opts = node.child("options")
        if opts is not None:
            opts.mark()
            out: dict = {}
            self.table(opts, [("calculate_gradients", "calc", "bool", None),
                              ("track_internalized_substrates_in_each_agent", "track", "bool", None)],
                       out, {}, ())
            calc, track = out.get("calc", calc), out.get("track", track)
            for tag in ("initial_condition", "dirichlet_nodes"):
                sub = opts.child(tag)
                if sub is not None and not self.attr_bool(sub, "enabled"):
                    sub.mark(True)  # enabled → unsupported
        return substrates, calc, track

    # -- cell definitions ----------------------------------------------------------------------
    def cell_definitions(self, node: Node, substrates: list[Substrate], use_2d: bool) -> list[CellType]:
        node.mark()
        defs = node.all("cell_definition")
        if not defs:
            self.fail(node, "at least one <cell_definition> is required", None, "<cell_definition name=... ID=...>")
        # PhysiCell pre-builds the name → ID map, so tables may name types defined later.
        ids: dict[str, int] = {}
        for d in defs:
            name = d.attrib.get("name", "").strip()
            if not name:
                self.fail(d, "a <cell_definition> needs a name attribute", None, "a cell type name")
            cid = self.attr_int(d, "ID")
            if name in ids:
                self.fail(d, "duplicate cell type name", name, "unique names")
            if cid in ids.values():
                self.fail(d, "duplicate cell type ID", cid, "unique IDs")
            ids[name] = cid
        names = sorted(ids, key=ids.__getitem__)  # ID order
        sub_names = [s.name for s in substrates]
        built: dict[str, CellType] = {}
        first: CellType | None = None
        for d in defs:
            parent_name = d.attrib.get("parent_type")
            parent = None
            if parent_name is not None:
                if parent_name not in built:
                    self.fail(d, "parent_type must name a cell type defined earlier in the file",
                              parent_name, ", ".join(built) or "(none yet)")
                parent = built[parent_name]
            ct = self.cell_definition(d, ids, parent, first, names, sub_names, use_2d)
            built[ct.name] = ct
            first = first or ct
        return [built[n] for n in names]

    def cell_definition(self, d: Node, ids: dict[str, int], parent: CellType | None,
                        first: CellType | None, names: list[str], subs: list[str],
                        use_2d: bool) -> CellType:
        d.mark()
        name = d.attrib["name"].strip()
        if parent is not None:
            data = parent.model_dump()
        else:
            data = CellType(name=name, id=ids[name]).model_dump()
            if first is not None:
                # PhysiCell copies the first type's custom data into every later type.
                data["custom_data"] = {k: v.model_dump() for k, v in first.custom_data.items()}
        data["name"], data["id"] = name, ids[name]
        locs: dict = {}
        ph = d.child("phenotype")
        if ph is not None:
            ph.mark()
            sections = (("cycle", self.cycle), ("death", self.death), ("volume", self.volume),
                        ("mechanics", self.mechanics), ("motility", self.motility),
                        ("secretion", self.secretion), ("cell_interactions", self.interactions),
                        ("cell_transformations", self.transformations),
                        ("cell_integrity", self.integrity))
            for tag, reader in sections:
                sub = ph.child(tag)
                if sub is not None:
                    sub.mark()
                    reader(sub, data, locs, names, subs)
            # <intracellular> (and anything else) stays unmarked → reported unsupported.
        custom = d.child("custom_data")
        if custom is not None:
            custom.mark()
            self.custom_data(custom, data, locs)
        ipd = d.child("initial_parameter_distributions")
        if ipd is not None:
            active = self.attr_bool(ipd, "enabled", True) and any(
                self.attr_bool(x, "enabled", True) for x in ipd.all("distribution"))
            if not active:
                ipd.mark(True)
        if use_2d:
            data["motility"]["use_2d"] = True  # PhysiCell forces 2D motility in a 2D domain
        _normalise_tables(data, names, subs)
        return self.validate(CellType, data, locs, d)

    def cycle(self, node: Node, data: dict, locs: dict, names: list[str], subs: list[str]) -> None:
        code_text = node.attrib.get("code", "").strip()
        allowed = ", ".join(f"{c} ({v[0]})" for c, v in CYCLE_TOPOLOGIES.items())
        if code_text:
            try:
                code = int(code_text)
            except ValueError:
                self.fail(node, "cycle code must be an integer", code_text, allowed)
        else:
            code = _CYCLE_NAMES.get(node.attrib.get("name", "").strip().lower(), -1)
            if code < 0:
                self.fail(node, "cycle model has no code and an unknown name", node.attrib.get("name"), allowed)
        if code not in CYCLE_TOPOLOGIES:
            self.fail(node, "unsupported cycle model code", code_text, allowed)
        topo = CYCLE_TOPOLOGIES[code][2]
        base = data["cycle"]
        if base["code"] == code and len(base["links"]) == len(topo):
            links = [dict(link) for link in base["links"]]  # inherited rates (same model)
        else:
            links = [{"start": s, "end": e, "rate": r, "fixed_duration": f}
                     for (s, e, _), (r, f) in zip(topo, _DEFAULT_CYCLE_LINKS[code])]
        link_names = ", ".join(f"{s}->{e}" for s, e, _ in topo)
        rates = node.child("phase_transition_rates") or node.child("transition_rates")
        if rates is not None:
            rates.mark()
            for r in rates.all("rate"):
                start, end = self.attr_int(r, "start_index"), self.attr_int(r, "end_index")
                idx = next((i for i, (s, e, _) in enumerate(topo) if (s, e) == (start, end)), None)
                if idx is None:
                    self.fail(r, f"cycle model {code} has no transition {start}->{end}",
                              f"{start}->{end}", link_names)
                links[idx]["rate"] = self.value(r, "float")
                links[idx]["fixed_duration"] = self.attr_bool(r, "fixed_duration")
                locs[("cycle", "links", idx)] = r
        durations = node.child("phase_durations")
        if durations is not None:
            durations.mark()
            for dn in durations.all("duration"):
                index = self.attr_int(dn, "index")
                idx = next((i for i, (s, _, _) in enumerate(topo) if s == index), None)
                if idx is None:
                    self.fail(dn, f"cycle model {code} has no phase {index}", index,
                              ", ".join(str(s) for s, _, _ in topo))
                value = self.value(dn, "float")
                if value < 0:
                    self.fail(dn, "a duration must not be negative", dn.text, ">= 0")
                links[idx]["rate"] = 1.0 / (value + 1e-16)  # as PhysiCell
                links[idx]["fixed_duration"] = self.attr_bool(dn, "fixed_duration")
                locs[("cycle", "links", idx)] = dn
        for tag in ("standard_asymmetric_division", "asymmetric_division"):
            asym = node.child(tag)
            if asym is not None and not self.attr_bool(asym, "enabled"):
                asym.mark(True)  # enabled → unsupported
        data["cycle"] = {"code": code, "name": node.attrib.get("name") or CYCLE_TOPOLOGIES[code][0],
                         "links": links}
        locs[("cycle",)] = node

    def death(self, node: Node, data: dict, locs: dict, names: list[str], subs: list[str]) -> None:
        allowed = "100 (apoptosis), 101 (necrosis)"
        for m in node.all("model"):
            code_text = m.attrib.get("code", "").strip()
            if code_text:
                try:
                    code = int(code_text)
                except ValueError:
                    self.fail(m, "death model code must be an integer", code_text, allowed)
            else:
                code = _DEATH_CODES.get(m.attrib.get("name", "").strip().lower(), -1)
            if code == _AUTOPHAGY_CODE:
                continue  # left unmarked → unsupported
            if code not in _DEATH_LINKS:
                self.fail(m, "unknown death model", code_text or m.attrib.get("name"), allowed)
            m.mark()
            key = _DEATH_KEY[code]
            dm = dict(data[key])
            dm["parameters"] = dict(dm["parameters"])
            n = len(_DEATH_LINKS[code])
            durations = (list(dm["durations"]) + [0.0] * n)[:n]
            fixed = (list(dm["fixed"]) + [False] * n)[:n]
            rate = m.child("death_rate") or m.child("rate")
            if rate is not None:
                dm["rate"] = self.value(rate, "float")
                locs[(key, "rate")] = rate
            params = m.child("parameters")
            if params is not None:
                params.mark()
                self.table(params, _DEATH_PARAMETERS, dm["parameters"], locs, (key, "parameters"))
            trans = m.child("phase_transition_rates") or m.child("transition_rates")
            if trans is not None:
                trans.mark()
                for r in trans.all("rate"):
                    start, end = self.attr_int(r, "start_index"), self.attr_int(r, "end_index")
                    if (start, end) not in _DEATH_LINKS[code]:
                        self.fail(r, f"{key} has no transition {start}->{end}", f"{start}->{end}",
                                  ", ".join(f"{s}->{e}" for s, e in _DEATH_LINKS[code]))
                    value = self.value(r, "float")
                    if value < 0:
                        self.fail(r, "a rate must not be negative", r.text, ">= 0")
                    durations[start] = 1.0 / value if value > 0 else math.inf
                    fixed[start] = self.attr_bool(r, "fixed_duration")
                    locs[(key, "durations", start)] = r
            pd = m.child("phase_durations")
            if pd is not None:
                pd.mark()
                for dn in pd.all("duration"):
                    index = self.attr_int(dn, "index")
                    if not 0 <= index < n:
                        self.fail(dn, f"{key} has no phase {index}", index,
                                  ", ".join(str(i) for i in range(n)))
                    durations[index] = self.value(dn, "float")
                    fixed[index] = self.attr_bool(dn, "fixed_duration")
                    locs[(key, "durations", index)] = dn
            dm.update(code=code, name=key, durations=durations, fixed=fixed)
            data[key] = dm
            locs[(key,)] = m

    def volume(self, node: Node, data: dict, locs: dict, names: list[str], subs: list[str]) -> None:
        self.table(node, _VOLUME, data["volume"], locs, ("volume",))

    def mechanics(self, node: Node, data: dict, locs: dict, names: list[str], subs: list[str]) -> None:
        mech = data["mechanics"]
        self.table(node, _MECHANICS_A + _MECHANICS_B + [("is_movable", "is_movable", "bool", None)],
                   mech, locs, ("mechanics",))
        aff = node.child("cell_adhesion_affinities")
        if aff is not None:
            self.named_values(aff, "cell_adhesion_affinity", "name", names, "cell type",
                              mech["cell_adhesion_affinities"], locs, ("mechanics", "cell_adhesion_affinities"))
        opts = node.child("options")
        if opts is not None:
            opts.mark()
            for tag in ("set_relative_equilibrium_distance", "set_absolute_equilibrium_distance"):
                sub = opts.child(tag)
                if sub is not None and not self.attr_bool(sub, "enabled"):
                    sub.mark(True)  # enabled → unsupported

    def motility(self, node: Node, data: dict, locs: dict, names: list[str], subs: list[str]) -> None:
        mot = data["motility"]
        self.table(node, _MOTILITY, mot, locs, ("motility",))
        opts = node.child("options")
        if opts is None:
            return
        opts.mark()
        self.table(opts, _MOTILITY_OPTIONS, mot, locs, ("motility",))
        chemo = opts.child("chemotaxis")
        if chemo is not None:
            chemo.mark()
            self.table(chemo, _CHEMOTAXIS, mot["chemotaxis"], locs, ("motility", "chemotaxis"))
            sub, enabled = mot["chemotaxis"]["substrate"], mot["chemotaxis"]["enabled"]
            if (sub or enabled) and sub not in subs:
                self.fail(chemo.child("substrate") or chemo, "unknown chemotaxis substrate", sub, ", ".join(subs))
        adv = opts.child("advanced_chemotaxis")
        if adv is not None:
            adv.mark()
            self.table(adv, _ADVANCED_CHEMOTAXIS, mot["advanced_chemotaxis"], locs,
                       ("motility", "advanced_chemotaxis"))
            sens = adv.child("chemotactic_sensitivities")
            if sens is not None:
                self.named_values(sens, "chemotactic_sensitivity", "substrate", subs, "substrate",
                                  mot["advanced_chemotaxis"]["sensitivities"], locs,
                                  ("motility", "advanced_chemotaxis", "sensitivities"))

    def secretion(self, node: Node, data: dict, locs: dict, names: list[str], subs: list[str]) -> None:
        for s in node.all("substrate"):
            s.mark()
            name = s.attrib.get("name", "")
            if name not in subs:
                self.fail(s, "unknown substrate in secretion", name, ", ".join(subs))
            entry = dict(data["secretion"].get(name) or SecretionParameters().model_dump())
            self.table(s, _SECRETION, entry, locs, ("secretion", name))
            data["secretion"][name] = entry
            locs[("secretion", name)] = s

    def interactions(self, node: Node, data: dict, locs: dict, names: list[str], subs: list[str]) -> None:
        inter = data["interactions"]
        legacy = node.child("dead_phagocytosis_rate")
        if legacy is not None:  # PhysiCell < 1.12: one rate for all dead cells
            rate = self.value(legacy, "float")
            for _tag, field, _k, _u in _PHAGOCYTOSIS:
                inter[field] = rate
                locs[("interactions", field)] = legacy
        self.table(node, _PHAGOCYTOSIS + _ATTACK, inter, locs, ("interactions",))
        stale = node.child("damage_rate")
        if stale is not None:  # its pre-1.14 place: PhysiCell 1.14 reads it from <cell_integrity> only
            stale.mark(True)
            self.ignored(stale, "damage_rate belongs in <cell_integrity>; PhysiCell 1.14 ignores it here too")
        for list_tag, item_tag, field, _default in _INTERACTION_MAPS:
            sub = node.child(list_tag)
            if sub is not None:
                self.named_values(sub, item_tag, "name", names, "cell type", inter[field], locs,
                                  ("interactions", field))

    def transformations(self, node: Node, data: dict, locs: dict, names: list[str], subs: list[str]) -> None:
        rates = node.child("transformation_rates")
        if rates is None:
            return
        self.named_values(rates, "transformation_rate", "name", names, "cell type",
                          data["transformation_rates"], locs, ("transformation_rates",))
        own = data["transformation_rates"].get(data["name"], 0.0)
        if own > 1e-16:
            self.ignored(locs[("transformation_rates", data["name"])],
                         f"a cell type cannot transform into itself (rate {own:g}); ignored, as PhysiCell does")
            data["transformation_rates"][data["name"]] = 0.0

    def integrity(self, node: Node, data: dict, locs: dict, names: list[str], subs: list[str]) -> None:
        self.table(node, _INTEGRITY, data["interactions"], locs, ("interactions",))

    def named_values(self, node: Node, item_tag: str, attr: str, allowed: list[str], what: str,
                     out: dict, locs: dict, prefix: tuple) -> None:
        """Read ``<item_tag attr="key">value</item_tag>`` children into ``out[key]``."""
        node.mark()
        for item in node.all(item_tag):
            key = item.attrib.get(attr, "")
            if key not in allowed:
                # PhysiCell warns and skips an entry for a type or substrate the model lacks
                # (PhysiCell Studio leaves such entries behind); so do we, naming it.
                item.mark(True)
                self.ignored(item, f"unknown {what} '{key}' (allowed: {', '.join(allowed)}); ignored, as PhysiCell does")
                continue
            out[key] = self.value(item, "float")
            locs[prefix + (key,)] = item

    def custom_data(self, node: Node, data: dict, locs: dict) -> None:
        for c in node.children:
            parts = [p for p in c.text.split(",")]
            if len(parts) > 1:
                continue  # vector-valued custom data: left unmarked → unsupported
            entry = dict(data["custom_data"].get(c.tag) or CustomDatum().model_dump())
            entry["value"] = self.value(c, "float")
            for attr in ("units", "description"):
                if attr in c.attrib:
                    entry[attr] = c.attrib[attr]
            entry["conserved"] = self.attr_bool(c, "conserved")
            data["custom_data"][c.tag] = entry
            locs[("custom_data", c.tag)] = c

    # -- initial cells -------------------------------------------------------------------------
    def initial_cells(self, node: Node | None, cell_types: list[CellType], base: Path) -> InitialCells:
        if node is None:
            return InitialCells()
        node.mark()
        pos = node.child("cell_positions")
        if pos is None:
            return InitialCells()
        if not self.attr_bool(pos, "enabled"):
            pos.mark(True)
            return InitialCells()
        pos.mark()
        kind = pos.attrib.get("type", "csv")
        if kind.lower() != "csv":
            self.fail(pos, "unsupported cell position file type", kind, "csv")
        path = self.file_path(pos, base)
        return read_cells_csv(path, cell_types, getattr(self, 'domain_box', None))

    # -- rules ---------------------------------------------------------------------------------
    def rules(self, node: Node | None, cell_types: list[CellType], substrates: list[Substrate],
              base: Path) -> list[Rule]:
        if node is None:
            return []
        node.mark()
        settings = node.child("settings")
        if settings is not None and not settings.children and not settings.text:
            settings.mark()
        sets = node.child("rulesets")
        if sets is None:
            return []
        sets.mark()
        out: list[Rule] = []
        for rs in sets.all("ruleset"):
            if not self.attr_bool(rs, "enabled"):
                rs.mark(True)
                continue
            rs.mark()
            fmt = rs.attrib.get("format", "csv")
            if fmt.lower() != "csv":
                self.fail(rs, "unsupported ruleset format", fmt, "csv")
            protocol = rs.attrib.get("protocol", "CBHG")
            if protocol != "CBHG":
                self.fail(rs, "unsupported ruleset protocol", protocol, "CBHG")
            version_text = rs.attrib.get("version", "3.0")
            try:
                version = float(version_text)
            except ValueError:
                self.fail(rs, "ruleset version must be a number", version_text, "3.0")
            if version < 3.0 - 1e-10:
                self.fail(rs, "CBHG ruleset versions before 3 are not supported (PhysiCell 1.14 "
                              "refuses them too); version 3 rows are " + ",".join(_RULE_COLUMNS)
                          + " (version 1 had a base-value column after 'behavior'): convert the file "
                            "and set version=\"3.0\"", version_text, "3.0")
            path = self.file_path(rs, base)
            out.extend(self.rules_csv(path, cell_types, substrates))
        return out

    def rules_csv(self, path: Path, cell_types: list[CellType], substrates: list[Substrate]) -> list[Rule]:
        names = [c.name for c in cell_types]
        subs = [s.name for s in substrates]
        file = str(path)
        try:
            lines = path.read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            self.fail(None, f"cannot read the rules file: {exc}", file, "a UTF-8 CSV file", file=file, field="")
        rules: list[Rule] = []
        for lineno, raw in enumerate(lines, start=1):
            line = raw.strip()
            if not line or line.startswith("//") or line.startswith("#"):
                continue
            toks = [t.strip() for t in line.split(",")]
            if len(toks) != 8 and len(line.split("\t")) == 8:
                toks = [t.strip() for t in line.split("\t")]
            where = f"line {lineno}"
            if len(toks) != 8:
                self.fail(None, f"expected 8 columns, found {len(toks)}", raw, ",".join(_RULE_COLUMNS),
                          file=file, field=where)
            cell_type, signal, direction, behavior = toks[:4]
            if direction.lower() not in ("increases", "decreases"):
                self.fail(None, "direction must be 'increases' or 'decreases'", direction,
                          "increases, decreases", file=file, field=f"{where}, column 3 (direction)")
            nums = []
            for col in range(4, 7):
                try:
                    v = float(toks[col])
                    if math.isnan(v):
                        raise ValueError
                except ValueError:
                    self.fail(None, "expected a number", toks[col], "a decimal number", file=file,
                              field=f"{where}, column {col + 1} ({_RULE_COLUMNS[col]})")
                nums.append(v)
            dead = toks[7].lower()
            if dead in _TRUE or dead in _FALSE:
                applies = dead in _TRUE
            else:
                try:
                    applies = float(dead) != 0.0
                except ValueError:
                    self.fail(None, "applies_to_dead must be 0 or 1", toks[7], "0, 1", file=file,
                              field=f"{where}, column 8 (applies_to_dead)")
            data = dict(cell_type=cell_type, signal=signal, direction=direction.lower(), behavior=behavior,
                        saturation=nums[0], half_max=nums[1], hill_power=nums[2], applies_to_dead=applies,
                        source=file, line=lineno)
            own = list(cell_types[names.index(cell_type)].custom_data) if cell_type in names else []
            columns = list(dict.fromkeys(k for ct in cell_types for k in ct.custom_data))
            # the one resolution (and its messages) for every loader: model.rules.resolve_rule
            rule = resolve_rule(self.validate(Rule, data, {}, None, file=file, field=where), subs, names, own,
                                columns)
            rules.append(rule)
            for item in not_simulated_in_rule(rule):
                self.unsupported.append(item)
                self.lines.setdefault(item, []).append(lineno)
        return rules

    # -- user parameters -----------------------------------------------------------------------
    def user_parameters(self, node: Node | None) -> dict[str, UserParameter]:
        out: dict[str, UserParameter] = {}
        if node is None:
            return out
        node.mark()
        for c in node.children:
            c.mark(True)
            if c.tag in out:
                self.fail(c, "duplicate user parameter", c.tag, "unique names")
            data = {"value": c.text}
            for attr in ("type", "units", "description"):
                if attr in c.attrib:
                    data[attr] = c.attrib[attr]
            out[c.tag] = self.validate(UserParameter, data, {}, c)
        return out

    def random_cells(self, node: Node | None) -> int:
        """``number_of_cells``: how many cells of each type PhysiCell's template places at random."""
        c = node.child("number_of_cells") if node is not None else None
        if c is None:
            return 0
        n = self.value(c, "int")
        if n < 0 or n > 10_000_000:
            self.fail(c, "number_of_cells out of range", n, "a whole number from 0 to 10,000,000 (cells per type)")
        return n


def _normalise_tables(data: dict, names: list[str], subs: list[str]) -> None:
    """Give every per-type / per-substrate table one entry per type / substrate (PhysiCell's
    defaults where the file has none), in ID / field order."""
    mech, inter, mot = data["mechanics"], data["interactions"], data["motility"]
    mech["cell_adhesion_affinities"] = {n: mech["cell_adhesion_affinities"].get(n, 1.0) for n in names}
    for _l, _i, field, default in _INTERACTION_MAPS:
        inter[field] = {n: inter[field].get(n, default) for n in names}
    data["transformation_rates"] = {n: data["transformation_rates"].get(n, 0.0) for n in names}
    default_sec = SecretionParameters().model_dump()
    data["secretion"] = {s: data["secretion"].get(s, default_sec) for s in subs}
    sens = mot["advanced_chemotaxis"]["sensitivities"]
    mot["advanced_chemotaxis"]["sensitivities"] = {s: sens.get(s, 0.0) for s in subs}


def read_cells_csv(path: str | os.PathLike[str], cell_types: list[CellType],
                   domain: Domain | None = None) -> InitialCells:
    """Read a PhysiCell cells CSV (v1 or v2) into initial cells.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file. v1: no header, rows ``x,y,z,typeID``. v2: a header row starting
        ``x,y,z,type``, rows with the type's name, extra columns (kept as float arrays in
        ``InitialCells.extra``; an empty entry or one starting with ``s`` is NaN, "skip").
    cell_types : list of CellType
        The model's cell types; ``InitialCells.types`` indexes this list.
    domain : Domain, optional
        When given, a cell outside it (x, y; and z in 3D) is refused with its line.

    Returns
    -------
    InitialCells

    Raises
    ------
    TropismInputError
        For a missing file, a row with too few or too many columns, a non-number, or an
        unknown cell type (name or ID), with the line number.
    """
    path = Path(path)
    file = str(path)
    names = [c.name for c in cell_types]
    by_name = {n: i for i, n in enumerate(names)}
    by_id = {c.id: i for i, c in enumerate(cell_types)}

    def fail(message: str, value: Any, allowed: str, field: str) -> None:
        raise TropismInputError(message, file=file, field=field, value=value, allowed=allowed)

    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        fail("cells file not found", file, "an existing CSV file", "")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read the cells file: {exc}", file, "a UTF-8 CSV file", "")

    def number(tok: str, lineno: int, col: int, label: str) -> float:
        try:
            v = float(tok)
            if math.isfinite(v):
                return v
        except ValueError:
            pass
        fail("expected a finite number", tok, "a decimal number", f"line {lineno}, column {col + 1} ({label})")
        raise AssertionError  # unreachable

    v2 = bool(lines) and lines[0][:1] in ("x", "X")
    positions: list[tuple[float, float, float]] = []
    types: list[int] = []
    extra_labels: list[str] = []
    extra: list[list[float]] = []
    start = 1
    if v2:
        labels = [t.strip() for t in lines[0].split(",")]
        if [t.lower() for t in labels[:4]] != ["x", "y", "z", "type"]:
            fail("a v2 cells CSV header must start with x,y,z,type", lines[0], "x,y,z,type[,extra columns]",
                 "line 1 (header)")
        extra_labels = labels[4:]
        extra = [[] for _ in extra_labels]
        start = 2
    for lineno, raw in enumerate(lines[start - 1:], start=start):
        if not raw.strip():
            continue
        toks = [t.strip() for t in raw.split(",")]
        ncol = 4 + len(extra_labels)
        if len(toks) < 4 or (not v2 and len(toks) != 4) or len(toks) > ncol:
            expect = "x,y,z,type" + "".join("," + e for e in extra_labels) if v2 else "x,y,z,typeID"
            fail(f"expected {'at least 4' if v2 and extra_labels else ncol} columns, found {len(toks)}",
                 raw, expect, f"line {lineno}")
        xyz = tuple(number(toks[k], lineno, k, "xyz"[k]) for k in range(3))
        if domain is not None:
            # PhysiCell cannot place a cell outside its mesh; clamping it in would hide the typo
            for k, a in enumerate("xy" if domain.use_2d else "xyz"):
                lo, hi = getattr(domain, f"{a}_min"), getattr(domain, f"{a}_max")
                if not lo <= xyz[k] <= hi:
                    fail(f"cell outside the domain ({a})", toks[k], f"{lo:g} <= {a} <= {hi:g} µm (the <domain>)",
                         f"line {lineno}, column {k + 1} ({a})")
        positions.append(xyz)
        if v2:
            if toks[3] not in by_name:
                fail("unknown cell type", toks[3], ", ".join(names), f"line {lineno}, column 4 (type)")
            types.append(by_name[toks[3]])
            for k, label in enumerate(extra_labels):
                tok = toks[4 + k] if 4 + k < len(toks) else ""
                extra[k].append(math.nan if tok == "" or tok[0] in "sS" else number(tok, lineno, 4 + k, label))
        else:
            tid = number(toks[3], lineno, 3, "type ID")
            if not tid.is_integer() or int(tid) not in by_id:
                fail("unknown cell type ID", toks[3],
                     ", ".join(f"{c.id} ({c.name})" for c in cell_types), f"line {lineno}, column 4 (type ID)")
            types.append(by_id[int(tid)])
    return InitialCells(
        positions=np.array(positions, dtype=float).reshape(-1, 3),
        types=np.array(types, dtype=np.int64),
        extra={label: np.array(vals, dtype=float) for label, vals in zip(extra_labels, extra)},
    )
