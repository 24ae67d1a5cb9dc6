"""Text summary of a body simulation (its figure is drawn at the edge: ``tropism.io.figures.body_figure``)."""

from __future__ import annotations

import numpy as np

from .result import BodyResult
from .scenario import Scenario


def summary_lines(sc: Scenario, r: BodyResult) -> list[str]:
    """A few lines: what was given, where it is at 1 h, 24 h and the end, mass balance."""
    unit = {"msc": "cells", "exosome": "particles", "drug": "mg", "tumour_cell": "cells",
            "tumour_exosome": "particles"}[r.product]
    name = r.product if r.product != "drug" else sc.product.name
    lines = [f"{sc.species}, {name} {sc.dose:g} {unit} x {len(sc.schedule.start_times_min())} by {sc.route.kind}"
             + (f" ({sc.route.artery})" if sc.route.kind == "ia" else "")
             + (f", tumour {sc.tumour.site} {sc.tumour.volume_mm3:g} mm3" if sc.tumour else "")
             + f", {sc.duration_h:g} h"]
    pid = r.percent_injected_dose("label")
    piv = r.percent_injected_dose("viable")
    for t in sorted({1.0, 24.0, float(r.times_h[-1])}):
        if t > r.times_h[-1] + 1e-9:
            continue
        i = int(np.argmin(np.abs(r.times_h - t)))
        order = np.argsort(pid[i])[::-1][:4]
        parts = ", ".join(f"{r.compartments[j]} {pid[i, j]:.3g}%" for j in order if pid[i, j] > 0.01)
        extra = f"; viable {piv[i].sum():.3g}%" if r.product == "msc" else ""
        lines.append(f"t = {r.times_h[i]:g} h: {parts or '-'}{extra}; cleared {100 * r.cleared[i] / r.total_dose:.3g}%")
    if r.product == "drug":
        c = r.plasma_concentration()
        lines.append(f"plasma Cmax {c.max():.4g} mg/mL at {r.times_h[int(np.argmax(c))]:g} h")
    lines.append(f"mass balance error {r.mass_balance_error():.2e} (relative)")
    return lines
