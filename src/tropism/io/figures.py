"""Figures of a run: a snapshot of the cells, populations over time, cells over time.

Drawn with Matplotlib's object API on an Agg canvas (no display, no pyplot state, the
global backend is left alone), and written atomically (PNG rendered in memory, then
:func:`tropism.files.atomic_write_bytes`).
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import EllipseCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from tropism.files import atomic_write_bytes
from tropism.geometry import sphere_radius
from tropism.io.physicell_output import list_full_saves, read_full_save
from tropism.io.populations import read_populations

__all__ = ["snapshot_png", "population_figure", "cells_over_time_figure", "BackgroundDrawer"]

_DEAD_COLOR = (0.55, 0.55, 0.55, 0.9)
# zlib level 1: a third of the encoding time of the default 6, files about 10 % larger
_PNG_COMPRESSION = 1
_DEFAULT_RADIUS = 8.412710547954228  # micron, PhysiCell default cell (2494 cubic micron)


def _type_colors(n: int) -> np.ndarray:
    """RGBA per cell type: tab10, then tab20 beyond 10 types."""
    from matplotlib import colormaps

    cmap = colormaps["tab10"] if n <= 10 else colormaps["tab20"]
    return np.array([cmap(i % cmap.N) for i in range(max(n, 1))])


def _names(cell_type_names: Sequence[str] | Mapping[int, str]) -> dict[int, str]:
    if isinstance(cell_type_names, Mapping):
        return {int(k): str(v) for k, v in cell_type_names.items()}
    return {i: str(v) for i, v in enumerate(cell_type_names)}


def save_png(fig: Figure, path: str | os.PathLike, dpi: int) -> Path:
    """Render a Matplotlib figure to PNG and write it atomically (Agg; no display needed)."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": _PNG_COMPRESSION})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buf.getvalue())
    return path


def _time_label(t_min: float) -> str:
    if abs(t_min) >= 2 * 1440:
        return f"t = {t_min / 1440:.2f} d"
    if abs(t_min) >= 120:
        return f"t = {t_min / 60:.1f} h"
    return f"t = {t_min:.1f} min"


def _type_lut(names: dict[int, str]) -> dict:
    ids = sorted(names)
    colors = _type_colors(len(ids))
    return {tid: colors[i] for i, tid in enumerate(ids)}


def _cell_collection(ax, positions, radii, cell_type, dead, names: dict[int, str]):
    """The cells as circles on ``ax`` (an EllipseCollection, added), None when there are none."""
    pos = np.asarray(positions, dtype=float)
    if pos.ndim != 2 or pos.shape[1] not in (2, 3):
        raise ValueError(f"positions must be (n, 2) or (n, 3), got {pos.shape}")
    n = pos.shape[0]
    r = np.broadcast_to(np.asarray(radii, dtype=float), (n,))
    ct = np.asarray(cell_type).astype(np.int64).ravel()
    dd = np.asarray(dead, dtype=bool).ravel()
    if ct.size != n or dd.size != n:
        raise ValueError(f"cell_type ({ct.size}) and dead ({dd.size}) must match positions ({n})")
    if not n:
        return None
    lut = _type_lut(names)
    face = np.empty((n, 4))
    for tid in np.unique(ct):
        face[ct == tid] = lut.get(int(tid), (0.0, 0.0, 0.0, 1.0))
    face[dd] = _DEAD_COLOR
    order = np.argsort(pos[:, 2], kind="stable") if pos.shape[1] == 3 else np.arange(n)
    coll = EllipseCollection(
        widths=2 * r[order],
        heights=2 * r[order],
        angles=np.zeros(n),
        units="xy",
        offsets=pos[order, :2],
        offset_transform=ax.transData,
        facecolors=face[order],
        edgecolors=(0, 0, 0, 0.6),
        linewidths=0.3,
    )
    ax.add_collection(coll)
    return coll


def _legend_handles(names: dict[int, str]) -> list:
    """A marker per cell type (its colour) and one for dead cells."""
    lut = _type_lut(names)
    handles = [
        Line2D([], [], marker="o", linestyle="", markerfacecolor=lut[tid], markeredgecolor="k",
               markeredgewidth=0.3, label=names[tid])
        for tid in sorted(names)
    ]
    handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor=_DEAD_COLOR,
                          markeredgecolor="k", markeredgewidth=0.3, label="dead"))
    return handles


def _bounds4(domain_bounds: Sequence[float]) -> tuple[float, float, float, float]:
    b = [float(v) for v in domain_bounds]
    if len(b) != 4 or not (b[0] < b[1] and b[2] < b[3]):
        raise ValueError(f"domain_bounds must be (xmin, xmax, ymin, ymax) with min < max, got {domain_bounds!r}")
    return b[0], b[1], b[2], b[3]


# Fixed axes boxes (figure fractions) for a snapshot, so a picture depends on its own inputs
# only: constrained layout measured every frame's tick labels anew (half the drawing time)
# and would make a reused canvas carry one frame's layout into the next.
_SNAP_AXES = (0.11, 0.08, 0.86, 0.86)
_SNAP_AXES_WITH_FIELD = (0.1, 0.08, 0.72, 0.86)
_SNAP_COLORBAR = (0.85, 0.155, 0.03, 0.71)


class _SnapshotCanvas:
    """A snapshot figure kept between frames of one run, drawn by blitting.

    The parts alike in every frame (background, axes, ticks, axis labels) are rendered once;
    a frame restores them and draws its own parts over them: the field and its colour bar,
    the cells, the legend (over the cells) and the title. Half the drawing time of a
    snapshot was the static parts, measured and laid out anew each time.
    """

    def __init__(self, bounds, names: dict[int, str], with_field: bool, field_extent, field_name,
                 dpi: int) -> None:
        xmin, xmax, ymin, ymax = bounds
        self.fig = Figure(figsize=(7.0, 6.0), dpi=dpi)
        self.canvas = FigureCanvasAgg(self.fig)
        self.ax = self.fig.add_axes(_SNAP_AXES_WITH_FIELD if with_field else _SNAP_AXES)
        self.names = names
        self.image = self.cax = None
        if with_field:
            self.image = self.ax.imshow(np.zeros((1, 1)), extent=field_extent, origin="lower", cmap="viridis",
                                        interpolation="nearest", aspect="equal", zorder=0, animated=True)
            self.cax = self.fig.add_axes(_SNAP_COLORBAR)
            self.colorbar = self.fig.colorbar(self.image, cax=self.cax)
            if field_name:
                self.colorbar.set_label(field_name)
            self.cax.set_animated(True)
        self.ax.set_xlim(xmin, xmax)
        self.ax.set_ylim(ymin, ymax)
        self.ax.set_aspect("equal")
        self.ax.set_xlabel("x (micron)")
        self.ax.set_ylabel("y (micron)")
        self.title = self.ax.set_title(" ", animated=True)
        self.legend = self.ax.legend(handles=_legend_handles(names), loc="upper right", fontsize="small",
                                     framealpha=0.8)
        self.legend.set_animated(True)
        for spine in self.ax.spines.values():  # drawn over each frame's field and cells
            spine.set_animated(True)
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)

    def draw(self, positions, radii, cell_type, dead, time: float, field) -> bytes:
        """The frame as PNG bytes."""
        from PIL import Image

        cells = _cell_collection(self.ax, positions, radii, cell_type, dead, self.names)
        self.canvas.restore_region(self.background)
        renderer = self.canvas.get_renderer()
        if self.image is not None:
            self.image.set_data(field)
            self.image.norm.vmin = self.image.norm.vmax = None  # scaled to this frame's values
            self.image.autoscale()
            self.colorbar.update_normal(self.image)
            self.ax.draw_artist(self.image)
            self.cax.draw(renderer)
        if cells is not None:
            cells.set_animated(True)
            self.ax.draw_artist(cells)
            cells.remove()
        for spine in self.ax.spines.values():
            self.ax.draw_artist(spine)
        self.ax.draw_artist(self.legend)
        n = np.asarray(positions).shape[0]
        self.title.set_text(f"{_time_label(float(time))}, {n} cells")
        self.ax.draw_artist(self.title)
        buf = io.BytesIO()
        Image.fromarray(np.asarray(self.canvas.buffer_rgba())).save(buf, format="png",
                                                                    compress_level=_PNG_COMPRESSION)
        return buf.getvalue()


_canvas: tuple[tuple, _SnapshotCanvas] | None = None  # the last snapshot's canvas and its key


def _snapshot_canvas(key: tuple, make) -> _SnapshotCanvas:
    global _canvas
    if _canvas is None or _canvas[0] != key:
        _canvas = (key, make())
    return _canvas[1]


def snapshot_png(
    path: str | os.PathLike,
    positions: Any,
    radii: Any,
    cell_type: Any,
    dead: Any,
    cell_type_names: Sequence[str] | Mapping[int, str],
    domain_bounds: Sequence[float],
    time: float,
    field: Any = None,
    field_extent: Sequence[float] | None = None,
    field_name: str | None = None,
    *,
    dpi: int = 120,
) -> Path:
    """Write a PNG of the cells seen from above (the x–y plane).

    Parameters
    ----------
    path : str or os.PathLike
        PNG file to write (atomically).
    positions : array_like, shape (n, 2) or (n, 3)
        Cell centres (micron).  In 3-D every cell is projected onto x–y, higher z drawn on top.
    radii : array_like, shape (n,) or scalar
        Cell radii (micron); circles are drawn to scale.
    cell_type : array_like of int, shape (n,)
        Cell-type IDs (keys of ``cell_type_names``), used for colour.
    dead : array_like of bool, shape (n,)
        Dead cells are drawn grey.
    cell_type_names : sequence of str or Mapping[int, str]
        Names by ID, for the legend.
    domain_bounds : (xmin, xmax, ymin, ymax)
        Axis limits.
    time : float
        Simulated time, min (title).
    field : array_like, shape (ny, nx), optional
        A substrate slice drawn behind the cells, row j = y index (origin lower left).
    field_extent : (xmin, xmax, ymin, ymax), optional
        Outer edges of the field image; default ``domain_bounds``.
    field_name : str, optional
        Colour-bar label.
    dpi : int, default 120

    Returns
    -------
    pathlib.Path
        The written file.
    """
    bounds = _bounds4(domain_bounds)
    arr = None
    ext = None
    if field is not None:
        arr = np.asarray(field, dtype=float)
        if arr.ndim != 2:
            raise ValueError(f"field must be 2-D (ny, nx), got shape {arr.shape}")
        ext = _bounds4(field_extent) if field_extent is not None else bounds
    names = _names(cell_type_names)
    # a run draws many frames alike but for their cells: the figure is made once and reused
    # (the same bytes as a fresh one; Matplotlib settings are part of the key)
    key = (bounds, tuple(sorted(names.items())), arr is not None, ext, field_name, dpi,
           repr(sorted(_changed_rc().items())))
    canvas = _snapshot_canvas(key, lambda: _SnapshotCanvas(bounds, names, arr is not None, ext, field_name, dpi))
    png = canvas.draw(positions, radii, cell_type, dead, time, arr)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, png)
    return path


def population_figure(populations_csv: str | os.PathLike, path: str | os.PathLike, *, dpi: int = 120) -> Path:
    """Plot live (solid) and dead (dashed) counts per cell type over time.

    Parameters
    ----------
    populations_csv : str or os.PathLike
        A ``populations.csv`` written by :class:`tropism.io.populations.PopulationLog`.
    path : str or os.PathLike
        PNG file to write (atomically).

    Returns
    -------
    pathlib.Path
    """
    data = read_populations(populations_csv)
    if "time_min" not in data:
        raise ValueError(f"{populations_csv}: no time_min column")
    t = data["time_min"]
    span = float(np.max(np.abs(t))) if t.size else 0.0
    if span >= 2 * 1440:
        scale, unit = 1440.0, "d"
    elif span >= 120:
        scale, unit = 60.0, "h"
    else:
        scale, unit = 1.0, "min"
    types = [c[: -len("_live")] for c in data if c.endswith("_live")]
    colors = _type_colors(len(types))
    fig = Figure(figsize=(7.0, 4.5), layout="constrained")
    ax = fig.add_subplot()
    for i, name in enumerate(types):
        ax.plot(t / scale, data[f"{name}_live"], color=colors[i], lw=1.8, label=f"{name} live",
                marker="o" if t.size < 3 else None)
        if f"{name}_dead" in data:
            ax.plot(t / scale, data[f"{name}_dead"], color=colors[i], lw=1.2, ls="--",
                    label=f"{name} dead", marker="o" if t.size < 3 else None)
    ax.set_xlabel(f"time ({unit})")
    ax.set_ylabel("cells")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", ncols=2 if len(types) > 3 else 1)
    ax.set_title("Cell populations")
    return save_png(fig, path, dpi)


def _radii(cells: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    if "radius" in cells:
        return np.asarray(cells["radius"], dtype=float)
    if "total_volume" in cells:
        v = np.clip(np.asarray(cells["total_volume"], dtype=float), 0.0, None)
        return sphere_radius(v)
    return np.full(n, _DEFAULT_RADIUS)


def cells_over_time_figure(
    out_dir: str | os.PathLike, path: str | os.PathLike, max_panels: int = 6, *, dpi: int = 110
) -> Path:
    """A row of panels with the cells at up to ``max_panels`` saves, first and last included.

    Saves are the ``outputNNNNNNNN.xml`` files of ``out_dir``, read with
    :func:`tropism.io.physicell_output.read_full_save`; panels are evenly spaced in save
    order.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Output folder.
    path : str or os.PathLike
        PNG file to write (atomically).
    max_panels : int, default 6

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        No saves in ``out_dir``, or ``max_panels`` < 1.
    """
    if max_panels < 1:
        raise ValueError(f"max_panels must be >= 1, got {max_panels}")
    saves = list_full_saves(out_dir)
    if not saves:
        raise ValueError(f"{out_dir}: no output*.xml saves to draw")
    if len(saves) > max_panels:
        picks = np.unique(np.round(np.linspace(0, len(saves) - 1, max_panels)).astype(int))
        saves = [saves[i] for i in picks]
    k = len(saves)
    fig = Figure(figsize=(3.2 * k + 0.4, 3.9), layout="constrained")
    axes = fig.subplots(1, k, squeeze=False)[0]
    handles: list = []
    all_names: dict[int, str] = {}
    loaded = [read_full_save(out_dir, i) for i in saves]
    for save in loaded:
        all_names.update(save["cell_type_names"])
    for ax, save in zip(axes, loaded):
        cells = save["cells"]
        bb = save["bounding_box"]
        pos = np.asarray(cells.get("position", np.zeros((0, 3))), dtype=float).reshape(-1, 3)
        n = pos.shape[0]
        ct = np.asarray(cells.get("cell_type", np.zeros(n)))
        dead = np.asarray(cells.get("dead", np.zeros(n)), dtype=float) > 0.5
        names = all_names or {int(t): str(int(t)) for t in np.unique(ct)}
        _cell_collection(ax, pos, _radii(cells, n), ct, dead, names)
        handles = _legend_handles(names)
        ax.set_xlim(bb[0], bb[3])
        ax.set_ylim(bb[1], bb[4])
        ax.set_aspect("equal")
        ax.set_title(f"{_time_label(save['time'])}\n{n} cells", fontsize="medium")
        ax.tick_params(labelsize="small")
        ax.set_xlabel("x (micron)", fontsize="small")
    axes[0].set_ylabel("y (micron)", fontsize="small")
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6), fontsize="small")
    fig.suptitle("Cells over time")
    return save_png(fig, path, dpi)


def body_figure(r, path: str | os.PathLike, title: str = "") -> Path:
    """Write a body result's % injected dose (label) per compartment over time to a PNG (atomically)."""
    import matplotlib
    pid = r.percent_injected_dose("label")
    fig = Figure(figsize=(7, 4.2))
    ax = fig.add_subplot()
    # tab20: enough distinct colours that no two compartments share one
    ax.set_prop_cycle(color=matplotlib.colormaps["tab20"].colors)
    keep = [j for j in range(len(r.compartments)) if pid[:, j].max() >= 0.1]
    for j in keep:
        ax.plot(r.times_h, pid[:, j], label=r.compartments[j])
    ax.plot(r.times_h, 100 * r.cleared / r.total_dose, "k--", lw=1, label="cleared")
    ax.set_xlabel("time (h)")
    ax.set_ylabel("% injected dose")
    ax.set_title(title or f"{r.product}: % injected dose per compartment")
    ax.legend(fontsize=7, ncol=2, frameon=False)
    fig.tight_layout()
    return save_png(fig, path, dpi=110)


def homing_figure(rows, path: str | os.PathLike, title: str = "") -> Path:
    """MSC homing over time from ``timeseries.csv`` rows ``(time_min, quantity, value, unit)``:
    MSCs in the tumour and their density in tumour vs normal tissue (left), and where the body
    holds viable cells (right, log scale). Written atomically."""
    from collections import defaultdict
    series: dict = defaultdict(list)
    for t, q, v, u in rows:
        series[q].append((t / 60.0, v))
    import matplotlib
    fig = Figure(figsize=(9, 3.8))
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    right.set_prop_cycle(color=matplotlib.colormaps["tab20"].colors)   # one colour per compartment
    for q in sorted(series):
        if q.startswith("msc_in_tumour:") or q.startswith("msc_per_mm2_") or q.startswith("msc_per_mm3_"):
            t, v = zip(*series[q])
            left.plot(t, v, label=q.replace("msc_", "").replace(":", " "))
    left.set_xlabel("time (h)")
    left.set_ylabel("MSCs (cells, or cells per area)")
    left.set_title("tissue")
    if left.lines:  # a run without MSCs draws empty axes, not an empty legend (and its warning)
        left.legend(fontsize=7, frameon=False)
    # the body's tumour holds what the tissue section does not: with the MSCs alive in the tissue
    # it is the whole tumour's, never below zero (the body's part alone is an expected value that
    # the tissue's sampled arrivals can overdraw by a few cells)
    tissue = sorted((t, v) for q in series if q.startswith("msc_live:") for t, v in series[q])
    by_time: dict = defaultdict(float)
    for t, v in tissue:
        by_time[t] += v
    saved = sorted(by_time.items())

    def in_tissue(t):
        i = np.searchsorted([x for x, _ in saved], t, side="right") - 1
        return saved[i][1] if i >= 0 else 0.0
    for q in sorted(series):
        if q.startswith("body_viable:"):
            t, v = zip(*series[q])
            organ = q.split(":", 1)[1]
            if organ == "tumour" and saved:
                v = [x + in_tissue(ti) for ti, x in zip(t, v)]
                organ = "tumour (body + tissue)"
            if max(v) > 0:
                right.plot(t, [max(x, 1e-3) for x in v], label=organ)
    right.set_yscale("log")
    right.set_xlabel("time (h)")
    right.set_ylabel("viable cells")
    right.set_title("body")
    if right.lines:
        right.legend(fontsize=7, ncol=2, frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_png(fig, path, dpi=110)


# ----------------------------------------------------------------------------- drawing off the run
# A run hands each regular save's picture to a separate Python process so that Matplotlib
# (about a quarter of a second a picture of a few thousand cells) never holds up the steps.
# The process is started with subprocess, not multiprocessing, so that the user's script is
# never imported (or run) a second time. A job's arrays travel as a pickle file in a private
# folder (a pipe would block the run while the worker is busy); the pipes carry one line per
# job. Pictures are written atomically by the worker, so a stopped run never leaves a
# half-written PNG under its final name.

_JOB_FUNCTIONS = ("snapshot_png", "population_figure", "cells_over_time_figure")


def _serve() -> None:
    """The worker's loop: one job-file path per line on stdin, one result line on stdout."""
    import base64
    import pickle
    import signal
    import sys
    import traceback

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the run handles Ctrl-C and then flushes

    def _terminate(signum, frame):  # unwind, so atomic writes remove their temporary file
        raise SystemExit(1)

    signal.signal(signal.SIGTERM, _terminate)
    # the results go through a copy of stdout; anything else printed lands on stderr
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    rc = sys.stdin.readline().strip()
    if rc:
        _apply_rc(pickle.loads(base64.b64decode(rc)))
    for line in sys.stdin:
        job = line.strip()
        try:
            with open(job, "rb") as fh:
                name, args, kwargs = pickle.load(fh)
            os.unlink(job)
        except FileNotFoundError:  # abandoned: the run stopped without waiting for it
            out.write("skip\n")
            out.flush()
            continue
        try:
            globals()[name](*args, **kwargs)
            out.write("ok\n")
        except Exception as exc:  # reported to the run, which raises it
            try:
                blob = pickle.dumps(exc)
            except Exception:
                blob = pickle.dumps(RuntimeError(repr(exc)))
            text = traceback.format_exc()
            out.write("err " + base64.b64encode(pickle.dumps((blob, text))).decode() + "\n")
        out.flush()


def _apply_rc(rc: dict) -> None:
    import matplotlib

    for k, v in rc.items():
        try:
            matplotlib.rcParams[k] = v
        except (KeyError, ValueError):
            pass


def _changed_rc() -> dict:
    """The Matplotlib settings the caller changed at run time (the worker starts from the files)."""
    import sys

    mpl = sys.modules.get("matplotlib")
    if mpl is None:
        return {}
    out = {}
    for k, v in mpl.rcParams.items():
        try:
            if mpl.rcParamsOrig[k] != v:
                out[k] = v
        except (KeyError, ValueError):  # arrays compare elementwise; such keys are left alone
            pass
    return out


class BackgroundDrawer:
    """Draw figures in a separate process, in order, at most ``max_pending`` waiting.

    :meth:`submit` returns at once unless ``max_pending`` pictures are already waiting (then it
    waits for the oldest); :meth:`wait` returns once every picture is written and raises the
    first error a drawing met; :meth:`close` waits and stops the process. A drawer that is
    dropped or left at interpreter exit without :meth:`close` (a run stopped by an error)
    finishes the picture in hand, skips the rest and stops. If the process dies, what it had
    not drawn is drawn here. The arguments are pickled, so pass copies of live arrays.

    Parameters
    ----------
    max_pending : int, default 4
        Pictures handed over and not yet written (bounds the memory and the lag).
    """

    def __init__(self, max_pending: int = 4) -> None:
        import subprocess
        import sys
        import tempfile
        import weakref

        self.max_pending = max(1, int(max_pending))
        self._dir = tempfile.mkdtemp(prefix="tropism-figures-")
        self._pending: list[tuple[str, tuple, dict]] = []  # in the worker's order
        self._buf = b""
        self._count = 0
        self._error: BaseException | None = None
        self.proc: subprocess.Popen | None = None
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from tropism.io.figures import _serve; _serve()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, start_new_session=True)
        self._finalizer = weakref.finalize(self, _abandon, self.proc, self._dir)
        import base64
        import pickle

        rc = _changed_rc()
        self._send(base64.b64encode(pickle.dumps(rc)).decode() if rc else "")

    @property
    def pending(self) -> int:
        """Pictures handed over and not yet written."""
        return len(self._pending)

    def drawing(self) -> bool:
        """Whether a picture handed over is still being drawn (asked without waiting)."""
        if self._pending:
            self._collect(block=False)
        return bool(self._pending)

    def _send(self, line: str) -> bool:
        try:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def submit(self, name: str, *args, **kwargs) -> None:
        """Draw ``name(*args, **kwargs)`` (a figure function of this module) in the worker."""
        import pickle

        if name not in _JOB_FUNCTIONS:
            raise ValueError(f"not a figure function: {name!r}")
        self._collect(block=False)
        while len(self._pending) >= self.max_pending:
            self._collect(block=True)
        self._raise()
        if self.proc is None:  # the worker died: draw here
            globals()[name](*args, **kwargs)
            return
        job = os.path.join(self._dir, f"job{self._count:08d}.pkl")
        self._count += 1
        with open(job, "wb") as fh:
            pickle.dump((name, args, kwargs), fh, protocol=pickle.HIGHEST_PROTOCOL)
        self._pending.append((name, args, kwargs))
        if not self._send(job):
            self._worker_died()

    def wait(self) -> None:
        """Return once every picture handed over is written; raise the first error met."""
        while self._pending:
            self._collect(block=True)
        self._raise()

    def close(self) -> None:
        """Wait for every picture, then stop the worker."""
        try:
            self.wait()
        finally:
            self._finalizer()  # nothing left to skip: the worker reads EOF and exits
            self.proc = None

    def _raise(self) -> None:
        if self._error is not None:
            err, self._error = self._error, None
            raise err

    def _collect(self, block: bool) -> None:
        """Read the worker's result lines (waiting for one if ``block``)."""
        import select

        if self.proc is None:
            return
        fd = self.proc.stdout.fileno()
        while self._pending:
            if b"\n" not in self._buf:
                ready = select.select([fd], [], [], None if block else 0.0)[0]
                if not ready:
                    return
                chunk = os.read(fd, 1 << 16)
                if not chunk:  # the worker is gone
                    self._worker_died()
                    return
                self._buf += chunk
                continue
            line, self._buf = self._buf.split(b"\n", 1)
            self._pending.pop(0)
            if line.startswith(b"err ") and self._error is None:
                self._error = _error_from(line[4:])
            block = False  # one result was what a blocking call waited for

    def _worker_died(self) -> None:
        """Draw here what the worker left, and remove its temporary files."""
        proc, self.proc = self.proc, None
        try:
            proc.kill()
        except OSError:
            pass
        proc.wait()
        _close_pipes(proc)
        self._finalizer.detach()
        _remove_tree(self._dir)
        left, self._pending = self._pending, []
        for name, args, kwargs in left:
            path = Path(args[0] if name == "snapshot_png" else args[1])
            for tmp in path.parent.glob(f".{path.name}.{proc.pid}.*.tmp"):
                tmp.unlink(missing_ok=True)
            try:
                globals()[name](*args, **kwargs)
            except Exception as exc:
                if self._error is None:
                    self._error = exc


def _error_from(blob: bytes) -> BaseException:
    import base64
    import pickle

    exc_blob, text = pickle.loads(base64.b64decode(blob))
    try:
        exc = pickle.loads(exc_blob)
    except Exception:
        exc = RuntimeError("a figure could not be drawn")
    exc.add_note("in the figure worker:\n" + text)
    return exc


def _remove_tree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _abandon(proc, folder: str) -> None:
    """Stop a worker: jobs not yet started are skipped (their files removed), the picture in
    hand is finished (atomically), then the process exits."""
    _remove_tree(folder)
    try:
        proc.stdin.close()
    except OSError:
        pass
    try:
        proc.wait(timeout=30)
    except Exception:
        proc.kill()
        proc.wait()
    _close_pipes(proc)


def _close_pipes(proc) -> None:
    for pipe in (proc.stdin, proc.stdout):
        try:
            pipe.close()
        except (OSError, ValueError):  # a broken pipe's buffered bytes have nowhere to go
            pass
