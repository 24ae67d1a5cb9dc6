"""What ``tropism validate`` writes: ``summary.csv``, ``arms.csv``, ``report.md`` and a figure per row.

Every file is written to a temporary name and renamed into place, so an interrupted write
never leaves half a table beside a finished one.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from ..files import atomic_write_bytes, atomic_write_text


def _fmt(v) -> str:
    if isinstance(v, str):
        return v
    if v is None or not np.isfinite(v):
        return str(v)
    return f"{v:.4g}"


def summary_rows(rows) -> list[dict]:
    """``id, criterion, value, spread, pass`` per criterion of every finding: the value is the
    effect size (a ratio of medians, the worst arm's median), the spread its range over seeds."""
    from ..validate import spread
    out = []
    for r in rows:
        for c, v, ok in r.criteria:
            out.append({"id": r.finding.id, "criterion": c.describe(), "value": _fmt(v), "spread": spread(c, r),
                        "pass": bool(ok)})
    return out


def _csv(dicts: list[dict], fields: list[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for d in dicts:
        w.writerow(d)
    return buf.getvalue()


def _figure(row, path: Path) -> bool:
    """Each arm's value per seed (dots) and median (bar); False if the readout is not numeric."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    arms = list(row.values)
    if not arms or not all(isinstance(v, float) for a in arms for _, v in row.values[a]):
        return False
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(arms), 3.2))
    for k, a in enumerate(arms):
        vals = np.array([v for _, v in row.values[a]], float)
        ax.bar(k, np.median(vals), color="0.85", edgecolor="0.3")
        ax.plot(np.full(len(vals), k) + np.linspace(-0.15, 0.15, len(vals)), vals, "o", color="C0", ms=4)
    ax.set_xticks(range(len(arms)), arms, rotation=15)
    vals = np.array([v for a in arms for _, v in row.values[a]], float)
    if np.all(vals > 0) and vals.max() / vals.min() > 30:
        ax.set_yscale("log")
    ax.set_ylabel(row.finding.readout)
    ax.set_title(f"{row.finding.id}: {'pass' if row.passed else 'FAIL'}", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return True


def write_report(rows, out_dir: str | Path) -> dict[str, Path]:
    """Write the suite's tables, report page and figures under ``out_dir``; their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"summary": out / "summary.csv", "arms": out / "arms.csv", "report": out / "report.md"}
    atomic_write_text(paths["summary"], _csv(summary_rows(rows), ["id", "criterion", "value", "spread", "pass"]))
    arm_rows = [{"id": r.finding.id, "arm": a, "seed": s, "value": _fmt(v), "readout": r.finding.readout}
                for r in rows for a, vals in r.values.items() for s, v in vals]
    atomic_write_text(paths["arms"], _csv(arm_rows, ["id", "arm", "seed", "value", "readout"]))
    lines = ["# Published findings: tropism validate", "",
             "One parameter set (the library's) for every row; arms differ only in what the paper varied.", "",
             "| id | criterion | effect | spread | pass |", "|---|---|---|---|---|"]
    lines += [f"| {d['id']} | {d['criterion']} | {d['value']} | {d['spread']} | {'pass' if d['pass'] else '**FAIL**'} |"
              for d in summary_rows(rows)]
    for r in rows:
        f = r.finding
        lines += ["", f"## {f.id}: {f.finding}", "", f"Source: {f.source}", ""]
        for readout, per_arm in (r.by_readout.items() if getattr(r, "by_readout", None) else
                                 ([(f.readout, r.values)] if r.values else [])):
            n = max(len(v) for v in per_arm.values())
            lines += [f"Readout `{readout}` at {f.time_h:g} h, {n} seeds per arm.", "",
                      "| arm | median | min | max |", "|---|---|---|---|"]
            for a, vals in per_arm.items():
                vs = [v for _, v in vals]
                if all(isinstance(v, float) for v in vs):
                    lines.append(f"| {a} | {_fmt(float(np.median(vs)))} | {_fmt(min(vs))} | {_fmt(max(vs))} |")
                else:
                    lines.append(f"| {a} | {'; '.join(sorted(set(map(str, vs))))} | | |")
            lines.append("")
        if r.values:
            fig = out / f"{f.id}.png"
            if _figure(r, fig):
                lines += ["", f"![{f.id}]({fig.name})"]
        if r.targets:
            lines += ["", "| target | range | model | pass |", "|---|---|---|---|"]
            lines += [f"| {t['id']} {t['quantity']} | {t['range']} | {t['model']} | "
                      f"{'pass' if t['pass'] else '**FAIL**'} |" for t in r.targets]
        lines += [""] + [f"- {c.describe()}: {_fmt(v)} → {'pass' if ok else '**FAIL**'}" for c, v, ok in r.criteria]
    atomic_write_text(paths["report"], "\n".join(lines) + "\n")
    return paths
