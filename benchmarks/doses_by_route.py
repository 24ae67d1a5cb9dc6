"""Cells of a 1e6 bone-marrow MSC dose in a tumour by route, from the body model.

Prints the table of ``docs/scenarios.md`` ("Cells of a dose in the tumour, by route"): viable
MSCs that have crossed into a 2-mm-radius tumour of a nude mouse at 24 h, 72 h and 7 days, for
IV, intra-arterial (right carotid), intranasal, intraperitoneal and intratumoral delivery.
Runs in seconds (body model only).

    python benchmarks/doses_by_route.py
"""

from __future__ import annotations

import numpy as np

from tropism.body import simulate
from tropism.model.experiment import experiment_from_dict
from tropism.resolve import build

ROUTES = [("brain", "iv", {}), ("subcutaneous", "iv", {}), ("brain", "ia", {"artery": "brain", "side": "right"}),
          ("brain", "intranasal", {}), ("subcutaneous", "intraperitoneal", {}), ("brain", "intratumoral", {})]
HOURS = (24, 72, 168)


def crossed(site: str, route: str, extra: dict, radius_um: float = 2000.0) -> list[float]:
    """Viable MSCs in the tumour tissue at each of ``HOURS``."""
    tumour = {"line": "U87", "site": site, "radius_um": radius_um}
    if site == "brain":
        tumour["hemisphere"] = "right"
    e = experiment_from_dict({"host": {"species": "mouse", "immune": "nude"}, "tumour": tumour,
                              "treatment": [{"product": "msc", "source": "bone_marrow", "dose": 1e6, "route": route,
                                             **extra}],
                              "simulation": {"duration_h": max(HOURS), "domain_um": 400}})
    res = simulate(build(e).body)
    j = list(res.compartments).index("tumour")
    times = np.asarray(res.times_min)
    return [float(res.tissue[int(np.argmin(np.abs(times - h * 60.0))), j]) for h in HOURS]


def main() -> None:
    print("| route | tumour | " + " | ".join(f"{h} h" for h in HOURS) + " |")
    print("|---|---|" + "---|" * len(HOURS))
    for site, route, extra in ROUTES:
        print(f"| {route} | {site} | " + " | ".join(f"{v:,.1f}" for v in crossed(site, route, extra)) + " |")


if __name__ == "__main__":
    main()
