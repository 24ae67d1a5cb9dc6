"""``docs/model-reference.md``, generated from the library: every number with its unit and source.

``tropism reference`` writes it; a test fails when the committed page differs from what the
library gives, so the page cannot go stale.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from ..files import atomic_write_text
from ..library import TABLES, load_catalogue, load_rules, parameter_definitions

TITLES = {"cell_lines": "Tumour cell lines", "msc_sources": "MSC sources", "immune_cells": "Immune cells",
          "substrates": "Substrates"}
BODY_FILES = (("tissue/defaults.toml", "Priors of scenario models where the library has no measurement, and their clocks"),
              ("physiology/mouse.toml", "Mouse physiology"), ("physiology/rat.toml", "Rat physiology"),
              ("physiology/human.toml", "Human physiology"), ("body/msc.toml", "MSCs in the body"),
              ("body/exosome.toml", "Exosomes in the body"), ("body/tumour_cell.toml", "Tumour cells shed into the body"),
              ("body/tumour_exosome.toml", "Tumour exosomes in the body"), ("body/molecules.toml", "Drugs and proteins"),
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
    rules = load_rules(root / "tissue" / "rules.csv")
    counts = _status_counts(cat, rules, root)
    total = sum(counts.values())
    share = ", ".join(f"{k} {counts[k]} ({100.0 * counts[k] / total:.0f} %)" for k in "VUF")
    out = ["# Model reference", "",
           f"**{total} numbers and mechanisms in the library: {share}.**", "",
           "Generated from `src/tropism/library/` by `tropism reference`; do not edit by hand (a test",
           "fails when this page and the library differ). Status: V seen in the source, U recalled or",
           "derived (a debt), F fitted (to the targets named).", ""]
    out += _mechanism_map(rules, cat)
    for table in TABLES:
        out += [f"## {TITLES[table]}", ""]
        for entity in cat.entities(table):
            out += [f"### {entity}", "", "| parameter | value | unit | status | source |", "|---|---|---|---|---|"]
            for e in cat.entity(table, entity).values():
                status = e.status + (f" ({e.fitted_to})" if e.fitted_to else "")
                src = _cell(e.source) + (f"; {_cell(e.notes)}" if e.notes else "")
                out.append(f"| {e.parameter} | {_number(e.value)} | {_cell(e.unit)} | {status} | {src} |")
            out.append("")
        out += ["Parameters this table may hold, and the code that reads each:", "",
                "| parameter | unit | read by |", "|---|---|---|"]
        out += [f"| `{k}` | {_cell(v.get('unit', 'text'))} | {_cell(v.get('read_by', ''))} |"
                for k, v in defs[table].items()]
        out.append("")
    out += ["## Rules", "", "Mechanisms as CBHG rule rows (`library/tissue/rules.csv`).", "",
            "| cell type | signal | direction | behaviour | max response | half-max | Hill | status | source |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r in rules:
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


def _status_counts(cat, rules, root: Path) -> dict[str, int]:
    """V, U and F over every number of the tissue tables, rules, priors, mechanism tables and body files."""
    counts = {"V": 0, "U": 0, "F": 0}
    for e in cat.entries:
        counts[e.status] += 1
    for r in rules:
        counts[r.status] += 1
    for rel in [r for r, _ in BODY_FILES] + ["tissue/sites.toml", "tissue/interventions.toml"]:
        with open(root / rel, "rb") as fh:
            data = tomllib.load(fh)
        for _, v in _walk(data):
            if v.get("status") in counts:
                counts[v["status"]] += 1
        for section in ("blockade", "modifier"):
            for v in data.get(section, {}).values():
                if v.get("status") in counts:
                    counts[v["status"]] += 1
    return counts


def _mechanism_map(rules, cat) -> list[str]:
    """Library row -> rule -> behaviour -> operation and kernel, for every mechanism."""
    from ..model.rules import resolve_behaviour
    from ..tissue.registry import BEHAVIOURS, MECHANISMS
    subs = list(cat.entities("substrates")) + sorted({r.signal for r in rules} | {"oxygen"})
    out = ["## Mechanism map", "",
           "Each mechanism from its library row to the code that runs it: the rule a row becomes, the",
           "behaviour (the agent parameter it sets) and the operation and kernel that act on it.", "",
           "| library row | role (applies to) | rule | behaviour -> parameter | operation | kernel |",
           "|---|---|---|---|---|---|"]
    for r in rules:
        kind = resolve_behaviour(r.behaviour, subs, [], [])
        entry = BEHAVIOURS.get(kind[0]) if kind else None
        rule = f"{r.signal} {r.direction} {r.behaviour}" + (f" ({r.response})" if r.response else "")
        who = r.cell_type + (f" ({r.applies_to})" if r.applies_to else "") + (f"; pathway {r.pathway}"
                                                                             if r.pathway else "")
        if entry is None:
            out.append(f"| rules.csv:{r.line} | {who} | {rule} | not a behaviour of this solver | | |")
            continue
        out.append(f"| rules.csv:{r.line} | {who} | {rule} | {kind[0]} -> {entry.parameter} | "
                   f"`{entry.operation}` | `{entry.kernel}` |")
    out += ["", "| library table | mechanism | operation | kernel |", "|---|---|---|---|"]
    tables = {"vessel exchange (oxygen, drugs)": "sites.toml, defaults.toml [vessels], molecules.toml",
              "angiogenesis and vessel regression": "defaults.toml [vessels], sites.toml",
              "signal blockade": "interventions.toml [blockade.*]",
              "behaviour scaling in a time window": "interventions.toml [modifier.irradiation]",
              "irradiation (linear-quadratic)": "cell_lines.csv lq_*, defaults.toml [radiation]",
              "arrivals from the body": "body model (library/body)",
              "cell-catalysed conversion": "(none in the library yet)"}
    for name, (op, kernel) in MECHANISMS.items():
        out.append(f"| {tables.get(name, '')} | {name} | `{op}` | `{kernel}` |")
    out.append("")
    return out


def write(path: str | Path) -> None:
    """Write the page (whole file, replaced at once so a reader never sees half of it)."""
    atomic_write_text(path, render())
