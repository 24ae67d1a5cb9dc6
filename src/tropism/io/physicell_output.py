"""Write (and read back) PhysiCell 1.14 style full saves that PhysiCell's own tools load.

A *full save* in a PhysiCell output folder is, for a stem such as ``output00000003``:

``output00000003.xml``
    A MultiCellDS (version 2) document: metadata (software, current time, run time),
    the microenvironment (mesh axes, bounding box, substrate names, units,
    diffusion coefficients and decay rates) and the cell data legend
    (``cellular_information/cell_populations/cell_population/custom/simplified_data``
    with ``source="PhysiCell"``, its ``cell_types`` ID → name table and its ``labels``).
``output00000003_cells.mat``
    MATLAB level-4 file with one float64 matrix ``cells``: one row per label
    component (a 3-vector label takes 3 rows), one column per cell.
``output00000003_microenvironment0.mat``
    MATLAB level-4 file with matrix ``multiscale_microenvironment`` of shape
    (4 + n_substrates, n_voxels): rows x, y, z, voxel volume, then one row per substrate.
``output00000003_cell_neighbor_graph.txt``, ``..._attached_cells_graph.txt``, ``..._spring_attached_cells_graph.txt``
    One line per cell, ``ID: id,id,...``.  Empty when no graph is given.

plus, once per folder, ``initial_mesh0.mat`` (matrix ``mesh``: rows x, y, z, volume,
one column per voxel; every XML points at it, as in PhysiCell where the mesh is written
with the ``initial`` save) and ``PhysiCell_settings.xml``.

Every file is written atomically (a temporary file in the same folder, then
:func:`os.replace`), and the XML of a save is written last, so a reader that finds
``outputNNNNNNNN.xml`` also finds complete data files, and an interrupted run never
leaves a half-written file behind.

What ``pcdl`` (4.x) needs, and this module therefore checks
------------------------------------------------------------
* The cell labels ``ID``, ``position``, ``cell_type``, ``cycle_model``,
  ``current_phase`` and ``chemotaxis_index`` (``pcdl.TimeStep`` fails with a
  ``KeyError`` without any of them) -- see :data:`PCDL_REQUIRED_LABELS`.
* Per-substrate labels (``secretion_rates`` ...) must have exactly one column per
  substrate and per-cell-type labels (``attack_rates`` ...) one per cell type, because
  pcdl names their columns from the substrate and cell-type tables, not from ``size``.
* Vector labels that pcdl splits into ``_x, _y, _z`` must have size 3.
* One voxel volume for the whole mesh.
* Neighbour / attached graph files must exist (pcdl loads them by default).

The cell vocabulary (codes, labels, checks) is :mod:`tropism.io.physicell_labels`, the reader
:mod:`tropism.io.physicell_read`; this module writes, and re-exports both (and
:func:`tropism.files.atomic_write_bytes`) under their old names.
"""

from __future__ import annotations

import io
import os
import time as _time
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io

from ..files import atomic_write_bytes
from .physicell_labels import (
    CellLabel,
    STANDARD_CELL_LABELS,
    LEGACY_CELL_LABELS,
    KNOWN_CELL_LABELS,
    PCDL_REQUIRED_LABELS,
    CYCLE_MODEL_LIVE,
    PHASE_LIVE,
    DEATH_MODEL_APOPTOSIS,
    DEATH_MODEL_NECROSIS,
    PHASE_APOPTOTIC,
    PHASE_NECROTIC_SWELLING,
    PHASE_NECROTIC_LYSED,
    PHASE_NECROTIC,
    PHASE_DEBRIS,
    validate_cells,
    ordered_cells,
    cell_label_units,
    _as_columns,
)
from .physicell_read import list_full_saves, read_full_save

__all__ = [
    "CellLabel",
    "STANDARD_CELL_LABELS",
    "LEGACY_CELL_LABELS",
    "KNOWN_CELL_LABELS",
    "PCDL_REQUIRED_LABELS",
    "CYCLE_MODEL_LIVE",
    "PHASE_LIVE",
    "DEATH_MODEL_APOPTOSIS",
    "DEATH_MODEL_NECROSIS",
    "PHASE_APOPTOTIC",
    "PHASE_NECROTIC_SWELLING",
    "PHASE_NECROTIC_LYSED",
    "PHASE_NECROTIC",
    "PHASE_DEBRIS",
    "MESH_FILENAME",
    "SETTINGS_FILENAME",
    "validate_cells",
    "ordered_cells",
    "cell_label_units",
    "write_full_save",
    "read_full_save",
    "list_full_saves",
    "atomic_write_bytes",
]

MESH_FILENAME = "initial_mesh0.mat"
SETTINGS_FILENAME = "PhysiCell_settings.xml"

_MULTICELLDS_VERSION = "2"


# --------------------------------------------------------------------------------------
# Atomic files (the writer is tropism.files.atomic_write_bytes, re-exported here)
# --------------------------------------------------------------------------------------


def _atomic_savemat(path: Path, name: str, matrix: np.ndarray) -> None:
    """Save one float64 matrix as a MATLAB level-4 file (what PhysiCell writes)."""
    buf = io.BytesIO()
    scipy.io.savemat(buf, {name: np.ascontiguousarray(matrix, dtype=np.float64)}, format="4")
    atomic_write_bytes(path, buf.getvalue())


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def _num(x: Any) -> str:
    """Shortest text that reads back to the same float64."""
    return repr(float(x))


def _software_version() -> str:
    try:
        from importlib.metadata import version

        return version("tropism")
    except Exception:  # pragma: no cover - not installed
        return "unknown"


def _type_table(cell_type_names: Sequence[str] | Mapping[int, str]) -> dict[int, str]:
    if isinstance(cell_type_names, Mapping):
        table = {int(k): str(v) for k, v in cell_type_names.items()}
    elif isinstance(cell_type_names, str):
        raise ValueError("cell_type_names must be a sequence of names or a mapping ID -> name, not a string")
    else:
        table = {i: str(v) for i, v in enumerate(cell_type_names)}
    if not table:
        raise ValueError("cell_type_names is empty")
    if len(set(table.values())) != len(table):
        raise ValueError(f"cell_type_names has repeated names: {list(table.values())}")
    return table


def _mesh_axes(mesh_centers: np.ndarray, mesh_shape: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the x, y, z axes of a Cartesian mesh given in flat order i + nx*(j + ny*k)."""
    nz, ny, nx = (int(s) for s in mesh_shape)
    if min(nz, ny, nx) < 1:
        raise ValueError(f"mesh_shape {tuple(mesh_shape)} must be (nz, ny, nx) with all >= 1")
    if mesh_centers.shape != (nx * ny * nz, 3):
        raise ValueError(
            f"mesh_centers has shape {mesh_centers.shape}, expected ({nx * ny * nz}, 3) for "
            f"mesh_shape (nz, ny, nx) = {(nz, ny, nx)}"
        )
    grid = mesh_centers.reshape(nz, ny, nx, 3)
    x, y, z = grid[0, 0, :, 0], grid[0, :, 0, 1], grid[:, 0, 0, 2]
    ok = (
        np.allclose(grid[..., 0], x[None, None, :], rtol=0, atol=1e-9 * (1 + np.abs(x).max()))
        and np.allclose(grid[..., 1], y[None, :, None], rtol=0, atol=1e-9 * (1 + np.abs(y).max()))
        and np.allclose(grid[..., 2], z[:, None, None], rtol=0, atol=1e-9 * (1 + np.abs(z).max()))
    )
    if not ok:
        raise ValueError(
            "mesh_centers are not a Cartesian grid in flat order i + nx*(j + ny*k) "
            f"for mesh_shape (nz, ny, nx) = {(nz, ny, nx)}"
        )
    return x.copy(), y.copy(), z.copy()


def _settings_substrate_parameters(text: str | None) -> dict[str, tuple[float, float]]:
    """name -> (diffusion coefficient, decay rate) from a PhysiCell settings XML text."""
    if not text:
        return {}
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return {}
    out: dict[str, tuple[float, float]] = {}
    setup = root.find("microenvironment_setup")
    if setup is None:
        return out
    for var in setup.findall("variable"):
        name = var.get("name")
        pps = var.find("physical_parameter_set")
        if name is None or pps is None:
            continue
        try:
            d = float(pps.findtext("diffusion_coefficient", "nan"))
            k = float(pps.findtext("decay_rate", "nan"))
        except ValueError:
            continue
        out[name] = (d, k)
    return out


def _per_substrate(values: Sequence[float] | None, n: int, what: str) -> list[float] | None:
    if values is None:
        return None
    vals = [float(v) for v in np.asarray(values, dtype=float).ravel()]
    if len(vals) != n:
        raise ValueError(f"{what} has {len(vals)} values for {n} substrates")
    return vals


def _graph_text(graph: Mapping[int, Any] | None) -> bytes:
    """PhysiCell graph text: one line ``ID: id,id`` per cell (empty file for None)."""
    if graph is None:
        return b""
    lines = []
    for cid, others in graph.items():
        lines.append(f"{int(cid)}: " + ",".join(str(int(o)) for o in others))
    return "\n".join(lines).encode()


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    el = ET.SubElement(parent, tag, {k: str(v) for k, v in attrib.items()})
    if text is not None:
        el.text = text
    return el


# --------------------------------------------------------------------------------------
# Writer
# --------------------------------------------------------------------------------------


def write_full_save(
    out_dir: str | os.PathLike,
    index: int,
    time: float,
    *,
    mesh_centers: Any,
    mesh_shape: Sequence[int],
    dx_dy_dz: Sequence[float],
    fields: Any,
    substrate_names: Sequence[str],
    substrate_units: Sequence[str],
    cells: Mapping[str, Any],
    cell_type_names: Sequence[str] | Mapping[int, str],
    settings_xml_text: str | None = None,
    name: str | None = None,
    use_2d: bool = False,
    runtime_s: float = 0.0,
    diffusion_coefficients: Sequence[float] | None = None,
    decay_rates: Sequence[float] | None = None,
    cell_units: Mapping[str, str] | None = None,
    neighbor_graph: Mapping[int, Any] | None = None,
    attached_graph: Mapping[int, Any] | None = None,
    spring_graph: Mapping[int, Any] | None = None,
    space_units: str = "micron",
    time_units: str = "min",
) -> Path:
    """Write one PhysiCell 1.14 style full save into ``out_dir``.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Output folder (created if missing).
    index : int
        Save number; the stem is ``output{index:08d}`` unless ``name`` is given.
    time : float
        Simulated time (``time_units``, min by default).
    mesh_centers : array_like, shape (n_voxels, 3)
        Voxel centres in flat order ``i + nx*(j + ny*k)``.
    mesh_shape : (int, int, int)
        ``(nz, ny, nx)``.
    dx_dy_dz : (float, float, float)
        Voxel edge lengths; voxel volume is their product and the bounding box is
        the extreme centres ± half an edge.
    fields : array_like, shape (n_substrates, n_voxels)
        Substrate values per voxel, same voxel order as ``mesh_centers``.
    substrate_names, substrate_units : sequence of str
        One per substrate, in field order (substrate ID = position).
    cells : Mapping[str, array_like]
        Ordered label → array of shape (n,) or (n, k); written exactly in this order,
        one matrix row per component.  See :func:`validate_cells` (run here with the
        substrate, cell-type and, from ``death_rates``, death-model counts) and
        :data:`STANDARD_CELL_LABELS` for names, sizes and units.  ``cell_type`` values
        must be IDs of ``cell_type_names``.  For pcdl to translate codes, ``cycle_model``
        and ``current_phase`` hold PhysiCell codes (e.g. :data:`CYCLE_MODEL_LIVE`,
        :data:`PHASE_LIVE`; a dead cell's cycle model is its death model code
        :data:`DEATH_MODEL_APOPTOSIS` / :data:`DEATH_MODEL_NECROSIS` and its phase a
        death phase code).
    cell_type_names : sequence of str or Mapping[int, str]
        Cell-type names by ID (a sequence means ID = position).  Written as
        ``simplified_data/cell_types/type[@ID]`` as PhysiCell 1.14 does.
    settings_xml_text : str, optional
        Contents of ``PhysiCell_settings.xml``; written to ``out_dir`` if that file does
        not exist yet (must be well-formed XML).
    name : str, optional
        Stem overriding ``output{index:08d}`` (e.g. ``"initial"``, ``"final"``).
    use_2d : bool, default False
        Declare a 2-D run: the mesh must have a single z layer (``nz == 1``).
    runtime_s : float, default 0.0
        Wall-clock run time so far, seconds (``current_runtime``).
    diffusion_coefficients, decay_rates : sequence of float, optional
        Per substrate; when omitted they are taken, by substrate name, from
        ``settings_xml_text`` or an existing ``PhysiCell_settings.xml`` in ``out_dir``,
        else written as 0 (pcdl needs a number).
    cell_units : Mapping[str, str], optional
        Units for labels, overriding :data:`STANDARD_CELL_LABELS` (custom labels
        default to ``"none"``).
    neighbor_graph, attached_graph, spring_graph : Mapping[int, iterable of int], optional
        Cell ID → connected IDs; written as PhysiCell graph text files.  When omitted
        the file is written empty (pcdl reads an empty graph).
    space_units, time_units : str
        Units written into the XML (PhysiCell: ``micron``, ``min``).

    Returns
    -------
    pathlib.Path
        Path of the written XML file.

    Raises
    ------
    ValueError
        Inconsistent shapes, unknown cell types, a bad ``cells`` dict, malformed
        settings XML, or a 2-D run with more than one z layer.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = name if name is not None else f"output{int(index):08d}"
    if not stem or "/" in stem or os.sep in stem:
        raise ValueError(f"name {stem!r} is not a plain file stem")

    # ---- mesh and fields -------------------------------------------------------------
    centers = np.asarray(mesh_centers, dtype=np.float64)
    x_axis, y_axis, z_axis = _mesh_axes(centers, mesh_shape)
    n_vox = centers.shape[0]
    if use_2d and len(z_axis) != 1:
        raise ValueError(f"use_2d=True but the mesh has {len(z_axis)} z layers")
    d = np.asarray(dx_dy_dz, dtype=np.float64).ravel()
    if d.shape != (3,) or not np.all(d > 0) or not np.all(np.isfinite(d)):
        raise ValueError(f"dx_dy_dz must be three positive numbers, got {dx_dy_dz!r}")
    volume = float(d[0] * d[1] * d[2])
    fld = np.asarray(fields, dtype=np.float64)
    if fld.ndim == 1 and len(substrate_names) == 1:
        fld = fld[None, :]
    names = [str(s) for s in substrate_names]
    units = [str(u) for u in substrate_units]
    if fld.shape != (len(names), n_vox):
        raise ValueError(
            f"fields has shape {fld.shape}, expected (n_substrates, n_voxels) = ({len(names)}, {n_vox})"
        )
    if len(units) != len(names):
        raise ValueError(f"{len(units)} substrate_units for {len(names)} substrate_names")
    if len(set(names)) != len(names):
        raise ValueError(f"substrate_names has repeated names: {names}")

    settings_text = settings_xml_text
    if settings_text is not None:
        try:
            ET.fromstring(settings_text)
        except ET.ParseError as exc:
            raise ValueError(f"settings_xml_text is not well-formed XML: {exc}") from exc
    diff = _per_substrate(diffusion_coefficients, len(names), "diffusion_coefficients")
    decay = _per_substrate(decay_rates, len(names), "decay_rates")
    if diff is None or decay is None:
        source = settings_text
        settings_path = out / SETTINGS_FILENAME
        if source is None and settings_path.exists():
            source = settings_path.read_text(encoding="utf-8", errors="replace")
        table = _settings_substrate_parameters(source)
        if diff is None:
            diff = [table.get(s, (0.0, 0.0))[0] for s in names]
        if decay is None:
            decay = [table.get(s, (0.0, 0.0))[1] for s in names]

    # ---- cells -----------------------------------------------------------------------
    types = _type_table(cell_type_names)
    n_death = None
    if "death_rates" in cells:
        dr = np.asarray(cells["death_rates"])
        n_death = 1 if dr.ndim == 1 else (dr.shape[1] if dr.ndim == 2 else None)
    n_cells = validate_cells(
        cells, n_substrates=len(names), n_cell_types=len(types), n_death_models=n_death
    )
    blocks: list[np.ndarray] = []
    legend: list[tuple[str, int, int, str]] = []
    row = 0
    overrides = dict(cell_units or {})
    for label, value in cells.items():
        block = _as_columns(label, value)
        size = block.shape[1]
        legend.append((label, row, size, overrides.get(label, cell_label_units(label))))
        blocks.append(block.T)
        row += size
    matrix = np.vstack(blocks) if blocks else np.zeros((0, n_cells))
    if "cell_type" in cells and n_cells:
        present = np.unique(np.asarray(cells["cell_type"]).astype(np.int64))
        unknown = sorted(set(present.tolist()) - set(types))
        if unknown:
            raise ValueError(
                f"cells['cell_type'] holds IDs {unknown} that are not in cell_type_names "
                f"(IDs {sorted(types)})"
            )

    # ---- files: mesh and settings once, data, then the XML last ----------------------
    mesh_path = out / MESH_FILENAME
    if not mesh_path.exists():
        mesh = np.empty((4, n_vox))
        mesh[:3] = centers.T
        mesh[3] = volume
        _atomic_savemat(mesh_path, "mesh", mesh)
    settings_path = out / SETTINGS_FILENAME
    if settings_text is not None and not settings_path.exists():
        atomic_write_bytes(settings_path, settings_text.encode("utf-8"))

    micro_name = f"{stem}_microenvironment0.mat"
    micro = np.empty((4 + len(names), n_vox))
    micro[:3] = centers.T
    micro[3] = volume
    micro[4:] = fld
    _atomic_savemat(out / micro_name, "multiscale_microenvironment", micro)

    cells_name = f"{stem}_cells.mat"
    _atomic_savemat(out / cells_name, "cells", matrix)

    graph_files = {
        "neighbor_graph": (f"{stem}_cell_neighbor_graph.txt", neighbor_graph),
        "attached_cells_graph": (f"{stem}_attached_cells_graph.txt", attached_graph),
        "spring_attached_cells_graph": (f"{stem}_spring_attached_cells_graph.txt", spring_graph),
    }
    for fname, graph in graph_files.values():
        atomic_write_bytes(out / fname, _graph_text(graph))

    # ---- MultiCellDS XML -------------------------------------------------------------
    root = ET.Element("MultiCellDS", {"version": _MULTICELLDS_VERSION, "type": "snapshot/simulation"})
    meta = _sub(root, "metadata")
    sw = _sub(meta, "software")
    _sub(sw, "name", "tropism")
    _sub(sw, "version", _software_version())
    _sub(sw, "URL", "")
    _sub(sw, "notes", "PhysiCell 1.14 output layout (MultiCellDS version 2)")
    now = _time.strftime("%Y-%m-%dT%H:%M:%SZ", _time.gmtime())
    _sub(meta, "current_time", _num(time), units=time_units)
    _sub(meta, "current_runtime", _num(runtime_s), units="sec")
    _sub(meta, "created", now)
    _sub(meta, "last_modified", now)

    menv = _sub(root, "microenvironment")
    dom = _sub(menv, "domain", name="microenvironment")
    mesh_el = _sub(dom, "mesh", type="Cartesian", uniform="true", regular="true", units=space_units)
    lo = np.array([x_axis.min(), y_axis.min(), z_axis.min()]) - d / 2
    hi = np.array([x_axis.max(), y_axis.max(), z_axis.max()]) + d / 2
    _sub(mesh_el, "bounding_box", " ".join(_num(v) for v in (*lo, *hi)),
         type="axis-aligned", units=space_units)
    for tag, axis in (("x_coordinates", x_axis), ("y_coordinates", y_axis), ("z_coordinates", z_axis)):
        _sub(mesh_el, tag, " ".join(_num(v) for v in axis), delimiter=" ")
    vox = _sub(mesh_el, "voxels", type="matlab")
    _sub(vox, "filename", MESH_FILENAME)
    var_el = _sub(dom, "variables")
    for i, (s, u) in enumerate(zip(names, units)):
        v = _sub(var_el, "variable", name=s, units=u, ID=str(i))
        pps = _sub(v, "physical_parameter_set")
        _sub(pps, "conditions")
        _sub(pps, "diffusion_coefficient", _num(diff[i]), units=f"{space_units}^2/{time_units}")
        _sub(pps, "decay_rate", _num(decay[i]), units=f"1/{time_units}")
    data_el = _sub(dom, "data", type="matlab")
    _sub(data_el, "filename", micro_name)

    cinfo = _sub(root, "cellular_information")
    pops = _sub(cinfo, "cell_populations")
    pop = _sub(pops, "cell_population", type="individual")
    custom = _sub(pop, "custom")
    simp = _sub(custom, "simplified_data", type="matlab", source="PhysiCell", data_version="2")
    ct = _sub(simp, "cell_types")
    for tid in sorted(types):
        _sub(ct, "type", types[tid], ID=str(tid), type=str(tid))
    labels_el = _sub(simp, "labels")
    for label, start, size, unit in legend:
        _sub(labels_el, "label", label, index=str(start), size=str(size), units=unit)
    _sub(simp, "filename", cells_name)
    for tag, (fname, _graph) in graph_files.items():
        g = _sub(custom, tag, type="text", source="PhysiCell", data_version="2")
        _sub(g, "filename", fname)

    ET.indent(root, space=" ")
    xml_bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    xml_path = out / f"{stem}.xml"
    atomic_write_bytes(xml_path, xml_bytes + b"\n")
    return xml_path
