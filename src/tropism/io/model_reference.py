"""``docs/model-reference.md``, generated from the library: every number with its unit and source.

``tropism reference`` writes it; a test fails when the committed page differs from what the
library gives, so the page cannot go stale.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from ..files import atomic_write_text
from ..library import TABLES, load_catalogue, load_rules, parameter_definitions

TITLES = {"cell_lines": "Tumour cell lines", "msc_sources": "MSC sources", "substrates": "Substrates"}
BODY_FILES = (("tissue/defaults.toml", "Priors of scenario models where the library has no measurement, and their clocks"),
              ("physiology/mouse.toml", "Mouse physiology"), ("physiology/rat.toml", "Rat physiology"),
              ("physiology/human.toml", "Human physiology"), ("body/msc.toml", "MSCs in the body"),
              ("body/exosome.toml", "Exosomes in the body"), ("body/molecules.toml", "Drugs and proteins"),
              ("body/conditions.toml", "Host conditions"), ("body/haematopoiesis.toml", "Haematopoietic recovery"))


def _cell(text) -> str:
    return str(text).replace("|", "/").replace("\n", " ").strip()


def _number(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return _cell(v)


def _walk(d: dict, prefix: str = ""):
    for k, v in d.items():
        if isinstance(v, dict) and "value" in v:
            yield prefix + k, v
        elif isinstance(v, dict):
            yield from _walk(v, f"{prefix}{k}.")


def render(library: Path | None = None) -> str:
    """The reference page as Markdown."""
    from importlib import resources
    root = Path(library) if library else Path(str(resources.files("tropism") / "library"))
    cat = load_catalogue(root / "tissue")
    defs = parameter_definitions()
    out = ["# Model reference", "",
           "Generated from `src/tropism/library/` by `tropism reference`; do not edit by hand (a test",
           "fails when this page and the library differ). Status: V seen in the source, U recalled or",
           "derived (a debt), F fitted (to the targets named).", ""]
    for table in TABLES:
        out += [f"## {TITLES[table]}", ""]
        for entity in cat.entities(table):
            out += [f"### {entity}", "", "| parameter | value | unit | status | source |", "|---|---|---|---|---|"]
            for e in cat.entity(table, entity).values():
                status = e.status + (f" ({e.fitted_to})" if e.fitted_to else "")
                src = _cell(e.source) + (f"; {_cell(e.notes)}" if e.notes else "")
                out.append(f"| {e.parameter} | {_number(e.value)} | {_cell(e.unit)} | {status} | {src} |")
            out.append("")
        out += ["Parameters this table may hold: " + ", ".join(f"`{k}` ({_cell(v.get('unit', 'text'))})"
                                                              for k, v in defs[table].items()), ""]
    out += ["## Rules", "", "Mechanisms as CBHG rule rows (`library/tissue/rules.csv`).", "",
            "| cell type | signal | direction | behaviour | max response | half-max | Hill | status | source |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r in load_rules(root / "tissue" / "rules.csv"):
        status = r.status + (f" ({r.fitted_to})" if r.fitted_to else "")
        out.append(f"| {r.cell_type} | {r.signal} | {r.direction} | {r.behaviour} | {_number(r.max_response)} | "
                   f"{_number(r.half_max)} | {_number(r.hill_power)} | {status} | {_cell(r.source)} |")
    out.append("")
    out += ["## Priors and the whole-body model", ""]
    for rel, title in BODY_FILES:
        path = root / rel
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        out += [f"### {title} (`{rel}`)", "", "| parameter | value | status | source |", "|---|---|---|---|"]
        for name, v in _walk(data):
            status = v.get("status", "") + (f" ({', '.join(v['targets'])})" if v.get("targets") else "")
            out.append(f"| {name} | {_number(v['value'])} | {status} | {_cell(v.get('source', ''))} |")
        out.append("")
    return "\n".join(out)


def write(path: str | Path) -> None:
    """Write the page (whole file, replaced at once so a reader never sees half of it)."""
    atomic_write_text(path, render())
