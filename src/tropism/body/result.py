"""BodyResult: what a body simulation returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class BodyResult:
    """Amounts per compartment over time.

    Attributes
    ----------
    product : str
        'msc', 'exosome' or 'drug'.
    times_min : ndarray (T,)
    compartments : list[str]
    viable : ndarray (T, C)
        Viable cells (MSC), intact vesicles (exosome) or drug amount, per compartment.
    label : ndarray (T, C)
        What a tracer would show: viable plus debris (for exosomes and drugs equal to ``viable``).
    tissue : ndarray (T, C)
        Extravasated MSCs (in the parenchyma), per compartment; zero for other products.
    cleared : ndarray (T,)
        Label eliminated from the body (degraded, excreted), cumulative.
    dead : ndarray (T,)
        Dead cells whose label is still in the body (debris), i.e. ``label - viable`` summed.
    given : ndarray (T,)
        Amount administered so far.
    delivered : dict[str, ndarray]
        Cumulative amount degraded inside each compartment (exosome cargo delivered; MSC label degraded).
    plasma_ml : float
        Plasma volume, for concentrations.
    """

    product: str
    times_min: np.ndarray
    compartments: list
    viable: np.ndarray
    label: np.ndarray
    tissue: np.ndarray
    cleared: np.ndarray
    dead: np.ndarray
    given: np.ndarray
    delivered: dict
    plasma_ml: float
    total_dose: float
    cargo_per_unit: float = 0.0
    kp: dict | None = None

    @property
    def times_h(self) -> np.ndarray:
        """Output times in hours."""
        return self.times_min / 60.0

    def column(self, compartment: str, what: str = "label") -> np.ndarray:
        """One compartment's time course (``what`` = 'viable', 'label' or 'tissue')."""
        return getattr(self, what)[:, self.compartments.index(compartment)]

    def at(self, t_min: float, what: str = "label") -> dict:
        """Amounts per compartment at the output time nearest ``t_min``."""
        i = int(np.argmin(np.abs(self.times_min - t_min)))
        return dict(zip(self.compartments, getattr(self, what)[i]))

    def percent_injected_dose(self, what: str = "label") -> np.ndarray:
        """Amount per compartment as % of the total dose of the schedule, shape (T, C)."""
        return 100.0 * getattr(self, what) / self.total_dose

    def mass_balance_error(self) -> float:
        """max_t |Σ label + cleared − given| / total dose."""
        resid = self.label.sum(axis=1) + self.cleared - self.given
        return float(np.max(np.abs(resid)) / self.total_dose)

    def plasma_concentration(self) -> np.ndarray:
        """Plasma concentration over time (dose units per mL); drugs and exosomes."""
        name = "plasma" if "plasma" in self.compartments else "venous_blood"
        return self.column(name, "viable") / self.plasma_ml

    def tissue_concentration(self, organ: str) -> np.ndarray:
        """Drug concentration in an organ from its tissue:plasma partition (``kp``) and plasma."""
        kp = (self.kp or {}).get(organ, 1.0)
        return kp * self.plasma_concentration()

    def cargo(self) -> np.ndarray:
        """Exosome cargo carried per compartment (vesicles × cargo per vesicle), shape (T, C)."""
        return self.viable * self.cargo_per_unit

    def to_rows(self) -> list[dict]:
        """Tidy table: one row per (time, compartment) with viable, label and tissue amounts."""
        rows = []
        for i, t in enumerate(self.times_min):
            for j, c in enumerate(self.compartments):
                rows.append({"time_min": float(t), "compartment": c, "viable": float(self.viable[i, j]),
                             "label": float(self.label[i, j]), "tissue": float(self.tissue[i, j])})
        return rows

    def totals(self) -> list[dict]:
        """Per-time totals: given, viable, dead (debris), cleared."""
        return [{"time_min": float(t), "given": float(g), "viable": float(v), "dead": float(d), "cleared": float(c)}
                for t, g, v, d, c in zip(self.times_min, self.given, self.viable.sum(1), self.dead, self.cleared)]
