"""Recorders: what a run writes, each from the snapshots the coupler hands it.

``tropism.simulation.Simulation.run`` calls ``save(snapshot)`` at every full save (and for
the initial and final states), ``exchange(to_tissue, to_body, body)`` at every body–tissue
exchange, ``checkpoint(snapshot, state)`` after each regular save, and ``finish(snapshot)``
at the end. Each recorder here owns one kind of output.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..files import atomic_write_bytes
from ..tissue.agents import APOPTOTIC, LIVE
from .checkpoint import write_checkpoint
from .physicell_output import write_full_save
from .populations import PopulationLog


def cells_for_output(solver) -> dict[str, np.ndarray]:
    """The solver's agents as PhysiCell's simplified-data labels (one array per label)."""
    a = solver.agents
    n = a.n
    st = a.death_state[:n]
    dead = (st != LIVE).astype(float)
    death_model = np.where(st == LIVE, 0, np.where(st == APOPTOTIC, 100, 101))
    nuclear = a.nuclear_solid[:n] + a.nuclear_fluid[:n]
    cyto = a.cyto_solid[:n] + a.cyto_fluid[:n]
    vol = a.volume[:n]
    tb = solver.tables
    types = a.type[:n]
    exit_rate = a.cycle_rate[np.arange(n), a.phase[:n]] if n else np.zeros(0)
    speed = a.speed[:n, 0]
    return {
        "ID": a.id[:n].astype(float),
        "position": a.position[:n].copy(),
        "total_volume": vol.copy(),
        "cell_type": types.astype(float),
        "cycle_model": np.where(st == LIVE, tb.cycle_code[types], death_model).astype(float),
        "current_phase": solver.phase_code().astype(float),
        "elapsed_time_in_phase": np.where(st == LIVE, a.phase_elapsed[:n], a.death_elapsed[:n]),
        "nuclear_volume": nuclear,
        "cytoplasmic_volume": cyto,
        "fluid_fraction": (a.nuclear_fluid[:n] + a.cyto_fluid[:n]) / np.maximum(vol, 1e-12),
        "calcified_fraction": a.calcified_fraction[:n].copy(),
        "orientation": np.tile([0.0, 0.0, 1.0], (n, 1)),
        "polarity": np.zeros(n),
        "velocity": a.velocity[:n].copy(),
        "pressure": a.pressure[:n].copy(),
        "number_of_nuclei": np.ones(n),
        "total_attack_time": a.total_attack_time[:n].copy(),
        "contact_with_basement_membrane": a.bm_contact[:n].copy(),
        "current_cycle_phase_exit_rate": exit_rate,
        "dead": dead,
        "current_death_model": np.where(st == LIVE, 0, np.where(st == APOPTOTIC, 0, 1)).astype(float),
        "radius": a.radius[:n].copy(),
        "damage": a.damage[:n].copy(),
        "migration_speed": speed.copy(),
        "motility_vector": a.motility_vector[:n].copy(),
        "migration_bias": a.bias[:n, 0].copy(),
        "persistence_time": a.persistence[:n, 0].copy(),
        "chemotaxis_index": np.zeros(n),
    }


class PhysiCellFolder:
    """PhysiCell 1.14 full saves (``output%08d.xml`` with its MAT files, ``initial``, ``final``)."""

    def __init__(self, out_dir: str | os.PathLike, model, settings_xml_text: str) -> None:
        self.out = Path(out_dir)
        self.model = model
        self.settings = settings_xml_text
        self._centers = None

    def save(self, snap) -> None:
        m, s = self.model, snap.solver
        d = m.domain
        if self._centers is None:
            self._centers = s.mesh.centers()
        write_full_save(self.out, snap.index, s.time, mesh_centers=self._centers, mesh_shape=s.mesh.shape,
                        dx_dy_dz=(d.dx, d.dy, d.dz), fields=s.flat_fields, substrate_names=m.substrate_names,
                        substrate_units=[x.units for x in m.substrates], cells=cells_for_output(s),
                        cell_type_names=m.cell_type_names, settings_xml_text=self.settings, name=snap.name,
                        use_2d=d.use_2d, runtime_s=snap.wall_s,
                        diffusion_coefficients=[x.diffusion_coefficient for x in m.substrates],
                        decay_rates=[x.decay_rate for x in m.substrates])


class Populations:
    """``populations.csv``: live and dead counts per type at every regular save (and at the
    initial and final states when full saves are off)."""

    def __init__(self, out_dir: str | os.PathLike, model, *, overwrite: bool = True) -> None:
        self.log = PopulationLog(out_dir, model.cell_type_names, overwrite=overwrite)
        self.every_state = not model.save.full_data_enabled

    def save(self, snap) -> None:
        if snap.name is not None and not self.every_state:
            return
        a = snap.solver.agents
        st = a.death_state[: a.n]
        self.log.record(snap.solver.time, a.type[: a.n], st != LIVE,
                        np.where(st == LIVE, 0, np.where(st == APOPTOTIC, 1, 2)))


class Figures:
    """A PNG per regular save, and at the end ``populations.png`` and ``cells_over_time.png``.

    The pictures are drawn off the run's loop: each save hands copies of the few arrays a
    picture needs (positions, radii, types, dead, the first substrate's slice) to a separate
    process (:class:`~tropism.io.figures.BackgroundDrawer`, at most ``max_pending`` waiting),
    which writes the same files, byte for byte, as drawing here would. :meth:`finish` waits
    for every picture, so they are all written when the run returns. ``background=False``
    draws here, as does a machine with one core (default: in the background where there are
    two cores or more and POSIX pipes).
    """

    def __init__(self, out_dir: str | os.PathLike, model, *, background: bool | None = None,
                 max_pending: int = 4) -> None:
        self.out = Path(out_dir)
        self.model = model
        self.background = _two_cores() if background is None else bool(background)
        self.max_pending = max_pending
        self._drawer = None

    def cores_busy(self) -> int:
        """Cores the drawing process needs now: 1 while a picture is being drawn, else 0.

        The run leaves it that core (its kernels on one thread fewer, the same numbers):
        a drawing process that competes with every thread of the run stalls each parallel
        region behind a descheduled thread, and on 2 cores 13 pictures slowed the rules
        sample's loop from 8.7 to 10.9 s."""
        return 1 if self._drawer is not None and self._drawer.drawing() else 0

    def _draw(self, name: str, *args, **kwargs) -> None:
        if self.background and self._drawer is None:
            from .figures import BackgroundDrawer
            try:
                self._drawer = BackgroundDrawer(self.max_pending)
            except OSError:  # no process to draw in: draw here
                self.background = False
        if self._drawer is not None:
            self._drawer.submit(name, *args, **kwargs)
        else:
            from . import figures  # Matplotlib only for runs that draw
            getattr(figures, name)(*args, **kwargs)

    def save(self, snap) -> None:
        if snap.name is not None:
            return
        m, s = self.model, snap.solver
        d, a = m.domain, s.agents
        n = a.n
        box = (d.x_min, d.x_max, d.y_min, d.y_max)
        field = s.fields[0, 0].copy() if s.n_substrates else None
        self._draw("snapshot_png", self.out / f"snapshot{snap.index:08d}.png", a.position[:n].copy(),
                   a.radius[:n].copy(), a.type[:n].copy(), a.death_state[:n] != LIVE, list(m.cell_type_names), box,
                   float(s.time), field=field, field_extent=box,
                   field_name=m.substrate_names[0] if s.n_substrates else None)

    def finish(self, snap) -> None:
        drawer, self._drawer = self._drawer, None
        try:
            if drawer is not None:  # the two drawn side by side
                drawer.submit("cells_over_time_figure", self.out, self.out / "cells_over_time.png")
            from .figures import cells_over_time_figure, population_figure
            population_figure(self.out / "populations.csv", self.out / "populations.png")
            if drawer is None:
                cells_over_time_figure(self.out, self.out / "cells_over_time.png")
        finally:
            if drawer is not None:
                drawer.close()


def _two_cores() -> bool:
    """Whether a drawing process can run beside the run (POSIX, two cores or more)."""
    if os.name != "posix":
        return False
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return cores >= 2


class Checkpoints:
    """``checkpoint.npz`` after every regular save (the whole state, for ``--resume``)."""

    def __init__(self, out_dir: str | os.PathLike, model, settings_sha: str) -> None:
        self.out = Path(out_dir)
        self.model = model
        self.sha = settings_sha

    def checkpoint(self, snap, state: dict) -> None:
        write_checkpoint(self.out, state, loop_step=snap.loop_step, saves=snap.saves, model_path=str(self.model.source),
                         settings_sha=self.sha, max_time=self.model.clocks.max_time)


class ExchangeSeries:
    """``exchange.csv``: the port values of every body–tissue exchange, and ``body.csv``: the
    body's amount in each state at the same times. Rewritten whole (atomically) each time,
    so a killed run leaves complete files."""

    def __init__(self, out_dir: str | os.PathLike, model, link, product: int = 0, suffix: str = "") -> None:
        self.out = Path(out_dir)
        self.link = link
        #: which of the run's body products this recorder follows; its files are
        #: ``exchange{suffix}.csv`` and ``body{suffix}.csv``
        self.product, self.suffix = product, suffix
        self.rows: list[list[float]] = []
        self.body_rows: list[list[float]] = []
        self._exchange_text, self._body_text = CsvText(_csv_row), CsvText(_csv_row)
        self.states: list | None = None
        plasma = [f"plasma_{ml.substrate}" for ml in link.plasma]
        released = [f"released_{ml.substrate}_per_min" for ml in link.release]
        self.header = (["t0_min", "t1_min", "arrival_rate_per_min", "arrived", "departed"] + plasma + released
                       + ["tumour_volume_mm3", "chemokine", "inflammation", "perfusion_ml_min_per_ml"])

    def load(self, out_dir: str | os.PathLike, until: float) -> None:
        """Continue the files of a resumed run: keep their rows up to ``until`` (min)."""
        for name, rows in ((f"exchange{self.suffix}.csv", self.rows), (f"body{self.suffix}.csv", self.body_rows)):
            path = Path(out_dir) / name
            if not path.is_file():
                continue
            lines = path.read_text().splitlines()
            if name.startswith("body") and lines:
                self.states = [tuple(h.split(":", 1)) for h in lines[0].split(",")[1:]]
            col = 1 if name.startswith("exchange") else 0
            for ln in lines[1:]:
                vals = [float(v) for v in ln.split(",")]
                if vals[col] <= until + 1e-9:
                    rows.append(vals)

    def exchange(self, to_tissue, to_body, body) -> None:
        if to_body.product != self.product:
            return
        nan = float("nan")
        row = [to_body.t0, to_body.time, to_tissue.arrival_rate_per_min, to_body.arrived, to_body.departed]
        row += [to_tissue.plasma.get(ml.substrate, nan) for ml in self.link.plasma]
        row += [to_body.released_per_min.get(ml.substrate, nan) for ml in self.link.release]
        row += [nan if v is None else v for v in (to_body.tumour_volume_mm3, to_body.chemokine, to_body.inflammation,
                                                  to_body.perfusion_ml_min_per_ml)]
        self.rows.append(row)
        amounts = body.amounts()
        if self.states is None:
            self.states = list(amounts)
        self.body_rows.append([body.t] + [amounts.get(k, 0.0) for k in self.states])

    def finish(self, snap) -> None:
        if not self.rows:
            return
        self._exchange_text.write(self.out / f"exchange{self.suffix}.csv", ",".join(self.header), self.rows)
        self._body_text.write(self.out / f"body{self.suffix}.csv",
                              ",".join(["time_min"] + [f"{c}:{k}" for c, k in self.states]),
                              self.body_rows)

    def checkpoint(self, snap, state: dict) -> None:
        self.finish(snap)


class CsvText:
    """The text of a CSV file whose rows are only ever appended, each row formatted once.

    Recorders rewrite their whole file at every checkpoint (atomically, so a killed run
    leaves complete files); without this a long run formats its early rows again each time.
    """

    def __init__(self, fmt) -> None:
        self.fmt = fmt
        self.lines: list[str] = []

    def write(self, path: Path, header: str, rows: list) -> None:
        if len(rows) < len(self.lines):  # rows were replaced: format them all again
            self.lines = []
        self.lines += [self.fmt(r) for r in rows[len(self.lines):]]
        atomic_write_bytes(path, (header + "\n" + "".join(ln + "\n" for ln in self.lines)).encode())


def _csv_row(r) -> str:
    return ",".join(f"{v:.10g}" for v in r)
