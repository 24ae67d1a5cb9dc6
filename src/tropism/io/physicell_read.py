"""Reading PhysiCell 1.14 style full saves (ours or PhysiCell's): :func:`list_full_saves`,
:func:`read_full_save`. The files are described in :mod:`tropism.io.physicell_output`."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io

__all__ = ["list_full_saves", "read_full_save"]

_OUTPUT_XML_RE = re.compile(r"^output(\d{8})\.xml$")


def list_full_saves(out_dir: str | os.PathLike) -> list[int]:
    """Sorted indices of the ``outputNNNNNNNN.xml`` saves in ``out_dir``."""
    out = Path(out_dir)
    if not out.is_dir():
        return []
    found = []
    for entry in out.iterdir():
        m = _OUTPUT_XML_RE.match(entry.name)
        if m:
            found.append(int(m.group(1)))
    return sorted(found)


def read_full_save(out_dir: str | os.PathLike, index: int | str) -> dict[str, Any]:
    """Read a full save written by :func:`write_full_save` (or by PhysiCell 1.14).

    Parameters
    ----------
    out_dir : str or os.PathLike
        Output folder.
    index : int or str
        Save number (``output{index:08d}``), or a stem such as ``"initial"``/``"final"``.

    Returns
    -------
    dict
        ``time`` (float), ``runtime_s`` (float), ``cells`` (dict label → array, (n,) for
        size-1 labels else (n, size), in file order), ``cell_units`` (label → units),
        ``cell_type_names`` (dict ID → name), ``fields`` (n_substrates, n_voxels),
        ``substrate_names``, ``substrate_units`` (lists), ``mesh_centers``
        (n_voxels, 3), ``mesh_shape`` (nz, ny, nx), ``bounding_box``
        (xmin, ymin, zmin, xmax, ymax, zmax).
    """
    out = Path(out_dir)
    stem = index if isinstance(index, str) else f"output{int(index):08d}"
    root = ET.parse(out / f"{stem}.xml").getroot()
    meta = root.find("metadata")
    t = float(meta.findtext("current_time"))
    rt_text = meta.findtext("current_runtime")
    runtime = float(rt_text) if rt_text else 0.0

    dom = root.find("microenvironment/domain")
    mesh_el = dom.find("mesh")

    def axis(tag: str) -> np.ndarray:
        el = mesh_el.find(tag)
        delim = el.get("delimiter") or " "
        return np.array([float(v) for v in (el.text or "").split(delim) if v.strip()])

    xs, ys, zs = axis("x_coordinates"), axis("y_coordinates"), axis("z_coordinates")
    bbox = np.array([float(v) for v in mesh_el.findtext("bounding_box").split()])
    names, units = [], []
    for var in dom.findall("variables/variable"):
        names.append(var.get("name"))
        units.append(var.get("units"))
    micro = scipy.io.loadmat(out / dom.findtext("data/filename"))["multiscale_microenvironment"]
    fields = np.asarray(micro[4:4 + len(names)], dtype=np.float64)
    centers = np.asarray(micro[:3].T, dtype=np.float64)

    cells: dict[str, np.ndarray] = {}
    cell_units: dict[str, str] = {}
    types: dict[int, str] = {}
    simp = None
    for el in root.findall("cellular_information/cell_populations/cell_population/custom/simplified_data"):
        if el.get("source") == "PhysiCell":
            simp = el
            break
    if simp is not None:
        for tp in simp.findall("cell_types/type"):
            types[int(tp.get("ID"))] = tp.text or ""
        labels = [
            (lab.text, int(lab.get("index")), int(lab.get("size")), lab.get("units", ""))
            for lab in simp.findall("labels/label")
        ]
        total = sum(size for _, _, size, _ in labels)
        try:
            mat = scipy.io.loadmat(out / simp.findtext("filename"))["cells"]
        except ValueError:  # zero-cell files of some old PhysiCell versions
            mat = np.zeros((total, 0))
        mat = np.asarray(mat, dtype=np.float64)
        if mat.ndim != 2 or mat.shape[0] != total:
            mat = mat.reshape(total, -1)
        for label, start, size, unit in labels:
            block = mat[start:start + size]
            cells[label] = block[0].copy() if size == 1 else block.T.copy()
            cell_units[label] = unit
    return {
        "time": t,
        "runtime_s": runtime,
        "cells": cells,
        "cell_units": cell_units,
        "cell_type_names": types,
        "fields": fields,
        "substrate_names": names,
        "substrate_units": units,
        "mesh_centers": centers,
        "mesh_shape": (len(zs), len(ys), len(xs)),
        "bounding_box": bbox,
    }
