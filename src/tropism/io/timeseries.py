"""``timeseries.csv``: what a scenario run measured, one tidy row per (time, quantity).

Columns: ``time_min, quantity, value, unit``. At every save the tissue gives tumour live and
dead cells, volume, surviving fraction (live cells over those at the start) and viable fraction
(live over live and dead cells present, what a viability stain reads), the MSCs of
each product (live in the tissue, arrived so far, their surviving fraction, in the tumour and
per area (per volume in 3D) of tumour and of normal tissue), vessel density (mean, tumour,
normal tissue), mean oxygen and the hypoxic fraction, and each substrate's mean in the tumour
(a drug's concentration there). At every body exchange the body gives each organ's viable
cells and label for the first product, each organ's amount for the others
(``body_amount:<product>:<organ>``), and each plasma level it sets in the tissue
(``plasma:<substrate>``). The tumour region is the voxels that hold a live tumour cell. The file is
rewritten whole at each save, so a killed run leaves a complete file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..model.experiment import READOUTS
from ..tissue.states import LIVE
from .recorders import CsvText

#: body state kinds that are live product, and those a label also counts
VIABLE_KINDS = ("viable", "arrested", "tissue")
LABEL_KINDS = VIABLE_KINDS + ("debris",)


class TimeSeries:
    """The recorder (see the module docstring).

    Parameters
    ----------
    out_dir : path
    model : Model
    tumour_types, msc_types : list of str
        Cell types that make up the tumour, and the MSC products.
    hypoxic_mmHg : float
        Oxygen below which a voxel counts as hypoxic.
    png : bool
        Also draw ``homing.png`` at the end (MSCs in the tumour over time, and the body).
    products : list of (str, str)
        Label and unit of each body product: the treatments, then what the tumour releases.
    treatments : int
        How many of ``products`` are treatments (0: the first product is not the main one).
    """

    def __init__(self, out_dir: str | os.PathLike, model, tumour_types, msc_types, hypoxic_mmHg: float,
                 png: bool = False, title: str = "", products=None, groups=None, treatments: int = 1,
                 immune_types=(), fates=None) -> None:
        #: None: rows are kept in memory only (the findings suite reads them)
        self.path = None if out_dir is None else Path(out_dir) / "timeseries.csv"
        names = model.cell_type_names
        self.tumour = [names.index(t) for t in tumour_types]
        self.msc = [(t, names.index(t)) for t in msc_types]
        #: MSC type -> index of the CAF type it turns into (its cells stay the product's, labelled)
        self.fate = {t: names.index(c) for t, c in (fates or {}).items() if c in names}
        self.immune = [(t, names.index(t)) for t in immune_types]
        self.subs = model.substrate_names
        self.units = {s.name: s.units for s in model.substrates}
        #: substrates counted as vesicles (the 'exosomes' readout group)
        self.vesicles = [s.name for s in model.substrates if s.units == "particles/nL"]
        self.hypoxic = hypoxic_mmHg
        d = model.domain
        self.two_d = d.use_2d
        self.cell_measure = d.dx * d.dy / 1e6 if d.use_2d else d.dx * d.dy * d.dz / 1e9   # mm² or mm³
        self.per = "mm^2" if d.use_2d else "mm^3"
        self.per_name = "mm2" if d.use_2d else "mm3"
        self.rows: list[tuple[float, str, float, str]] = []
        self._text = CsvText(lambda r: f"{r[0]:.6g},{r[1]},{r[2]:.9g},{r[3]}")
        self.saved_at: float | None = None
        self.png, self.title = png, title
        #: (label, unit) of each body product, in the run's order; the first one's amounts are
        #: ``body_viable:<organ>``, the others' ``body_amount:<label>:<organ>``; with no
        #: treatment (``treatments`` 0) every product is one the tumour releases, and all are
        #: ``body_amount``
        self.products = list(products or [])
        self.treatments = treatments
        self.tumour0: float | None = None
        #: the scenario's ``simulation.readouts``: which groups of quantities go into the file
        self.groups = set(groups) if groups is not None else set(READOUTS)

    def load(self, out_dir: str | os.PathLike, until: float) -> None:
        """Continue the file of a resumed run: keep its rows up to ``until`` (min)."""
        path = Path(out_dir) / "timeseries.csv"
        if not path.is_file():
            return
        for ln in path.read_text().splitlines()[1:]:
            t, q, v, u = ln.split(",")
            if float(t) <= until + 1e-9:
                self.rows.append((float(t), q, float(v), u))
        saved = [t for t, q, _, _ in self.rows if q == "tumour_live_cells"]
        self.saved_at = max(saved) if saved else None
        first = [v for t, q, v, _ in self.rows if q == "tumour_live_cells" and t == 0.0]
        self.tumour0 = first[0] if first else None

    #: quantity prefix -> readout group
    _GROUPS = (("tumour_mean:", "substrates"), ("tumour_", "tumour"), ("msc_", "msc"), ("vessel_", "vessels"),
               ("oxygen_", "oxygen"), ("hypoxic_", "oxygen"), ("body_", "body"), ("plasma:", "body"),
               ("ctc", "metastasis"), ("metastatic_", "metastasis"), ("niche:", "metastasis"),
               ("immune_", "immune"))

    def _add(self, t: float, quantity: str, value: float, unit: str) -> None:
        group = next((g for prefix, g in self._GROUPS if quantity.startswith(prefix)), None)
        if any(name in quantity for name in self.vesicles):
            group = "exosomes"  # the tumour's vesicles, wherever they are
        if group is None or group in self.groups or (quantity == "tumour_live_cells"):
            # the live tumour count always: it marks the saves a resumed run continues from
            self.rows.append((float(t), quantity, float(value), unit))

    def save(self, snap) -> None:
        s = snap.solver
        a = s.agents
        n = a.n
        t = s.time
        if self.saved_at is not None and abs(t - self.saved_at) < 1e-9:
            return  # the final state at the time of the last regular save: already recorded
        self.saved_at = t
        types, live = a.type[:n], a.death_state[:n] == LIVE
        is_tumour = np.isin(types, self.tumour)
        n_live = float(np.sum(is_tumour & live))
        if self.tumour0 is None:
            self.tumour0 = n_live
        self._add(t, "tumour_live_cells", n_live, "cells")
        self._add(t, "tumour_dead_cells", np.sum(is_tumour & ~live), "cells")
        self._add(t, "tumour_surviving_fraction", n_live / self.tumour0 if self.tumour0 else np.nan, "fraction")
        # what a viability stain reads: live over live and dying or dead cells still there
        present = float(np.sum(is_tumour))
        self._add(t, "tumour_viable_fraction", n_live / present if present else np.nan, "fraction")
        self._add(t, "tumour_volume", a.volume[:n][is_tumour & live].sum() / 1e9, "mm^3")
        region = np.zeros(s.mesh.n_voxels, bool)
        region[a.voxel[:n][is_tumour & live]] = True
        n_in, n_out = int(region.sum()), int((~region).sum())
        # what calipers measure: every live cell in the tumour's voxels (stroma and infiltrate too)
        self._add(t, "tumour_mass_volume", a.volume[:n][live & region[a.voxel[:n]]].sum() / 1e9, "mm^3")
        self._add(t, "tumour_extent", n_in * self.cell_measure, self.per)
        for name, k in self.msc:
            # a labelled MSC that became a fibroblast still carries its label: the product's cells
            # are the MSCs and their CAFs
            kinds = [k] + ([self.fate[name]] if name in self.fate else [])
            here = np.isin(types, kinds) & live
            inside = region[a.voxel[:n][here]]
            if name in self.fate:
                caf = (types == self.fate[name]) & live
                self._add(t, f"msc_caf:{name}", caf.sum(), "cells")
                self._add(t, f"msc_caf_in_tumour:{name}", int(region[a.voxel[:n][caf]].sum()), "cells")
            arrived = float(s.arrived[k])
            self._add(t, f"msc_live:{name}", here.sum(), "cells")
            self._add(t, f"msc_arrived:{name}", arrived, "cells")
            self._add(t, f"msc_surviving_fraction:{name}", here.sum() / arrived if arrived else np.nan, "fraction")
            self._add(t, f"msc_in_tumour:{name}", inside.sum(), "cells")
            self._add(t, f"msc_per_{self.per_name}_tumour:{name}",
                      inside.sum() / (n_in * self.cell_measure) if n_in else np.nan, f"cells/{self.per}")
            self._add(t, f"msc_per_{self.per_name}_normal:{name}",
                      (~inside).sum() / (n_out * self.cell_measure) if n_out else np.nan, f"cells/{self.per}")
        for name, k in self.immune:
            here = (types == k) & live
            self._add(t, f"immune_in_tumour:{name}", int(region[a.voxel[:n][here]].sum()), "cells")
            self._add(t, f"immune_per_{self.per_name}_tumour:{name}",
                      region[a.voxel[:n][here]].sum() / (n_in * self.cell_measure) if n_in else np.nan, f"cells/{self.per}")
            # tumour cells that died of the damage cells of this type dealt, so far
            self._add(t, f"immune_kills:{name}", float(s.kills[k]), "cells")
        vd = s.vessel_density
        self._add(t, "vessel_density", float(np.mean(vd)), "1/um")
        self._add(t, "vessel_density_tumour", float(vd[region].mean()) if n_in else np.nan, "1/um")
        self._add(t, "vessel_density_normal", float(vd[~region].mean()) if n_out else np.nan, "1/um")
        fields = s.flat_fields
        if "oxygen" in self.subs:
            o2 = fields[self.subs.index("oxygen")]
            self._add(t, "oxygen_mean", o2.mean(), self.units["oxygen"])
            where = o2[region] if n_in else o2
            self._add(t, "hypoxic_fraction", np.mean(where < self.hypoxic), "fraction")
        for j, name in enumerate(self.subs):
            self._add(t, f"tumour_mean:{name}", fields[j][region].mean() if n_in else np.nan, self.units[name])
        self._write()

    def exchange(self, to_tissue, to_body, body) -> None:
        k = getattr(to_body, "product", 0)
        for sub, level in to_tissue.plasma.items():
            self._add(to_body.time, f"plasma:{sub}", level, self.units.get(sub, ""))
        if k < len(self.products) and self.products[k][0] == "metastasis":
            self._metastasis(to_body.time, body.amounts())
            for organ, level in body.scenario.niche.items():
                self._add(to_body.time, f"niche:{organ}", level, "fraction")
            return
        if k > 0 or self.treatments == 0:
            label, unit = self.products[k] if k < len(self.products) else (f"product{k}", "")
            per: dict[str, float] = {}
            for (comp, kind), amount in body.amounts().items():
                if kind in LABEL_KINDS:
                    per[comp] = per.get(comp, 0.0) + amount
            for comp, amount in per.items():
                self._add(to_body.time, f"body_amount:{label}:{comp}", amount, unit)
            if label in self.vesicles:
                # what each organ's cells took up and degraded so far: the dose that conditions them
                for (comp, kind), amount in body.amounts().items():
                    if kind == "cleared" and comp != "plasma":
                        self._add(to_body.time, f"taken_up:{label}:{comp}", amount, unit)
            return
        unit = self.products[0][1] if self.products else "cells"  # mg for a drug, particles for exosomes
        per_organ: dict[str, list[float]] = {}
        for (comp, kind), amount in body.amounts().items():
            v = per_organ.setdefault(comp, [0.0, 0.0])
            if kind in VIABLE_KINDS:
                v[0] += amount
            if kind in LABEL_KINDS:
                v[1] += amount
        for comp, (viable, label) in per_organ.items():
            self._add(to_body.time, f"body_viable:{comp}", viable, unit)
            self._add(to_body.time, f"body_label:{comp}", label, unit)
        if to_body.perfusion_ml_min_per_ml is not None:
            self._add(to_body.time, "tumour_perfusion", to_body.perfusion_ml_min_per_ml, "mL/min/mL")

    def _metastasis(self, t: float, amounts: dict) -> None:
        """The tumour's shed cells in the whole body: circulating (viable in blood), and the
        metastatic seeds (cells out of the vessels) in each organ and in all."""
        blood = sum(v for (comp, kind), v in amounts.items() if comp.endswith("_blood") and kind == "viable")
        self._add(t, "ctc", blood, "cells")
        seeds = {comp: v for (comp, kind), v in amounts.items() if kind == "tissue" and comp != "tumour"}
        for comp, v in seeds.items():
            self._add(t, f"metastatic_seeds:{comp}", v, "cells")
        self._add(t, "metastatic_seeds", sum(seeds.values()), "cells")

    def finish(self, snap) -> None:
        self._write()
        if self.png and self.path is not None:
            from .figures import homing_figure  # Matplotlib only for runs that draw
            homing_figure(self.rows, self.path.with_name("homing.png"), self.title)

    def _write(self) -> None:
        if self.path is not None:
            self._text.write(self.path, "time_min,quantity,value,unit", self.rows)

    def value(self, quantity: str, time_min: float) -> float:
        """The last value of ``quantity`` recorded at or before ``time_min`` (NaN if none)."""
        best_t, best = -1.0, float("nan")
        for t, q, v, _ in self.rows:
            if q == quantity and best_t <= t <= time_min + 1e-6:
                best_t, best = t, v
        return best

    def quantities(self) -> list[str]:
        """Every quantity recorded, in first-seen order."""
        return list(dict.fromkeys(q for _, q, _, _ in self.rows))
