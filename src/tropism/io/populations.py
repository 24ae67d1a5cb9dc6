"""Population counts per cell type, one CSV row per save (``populations.csv``)."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tropism.files import atomic_write_bytes

__all__ = ["PopulationLog", "POPULATIONS_FILENAME", "DEATH_NONE", "DEATH_APOPTOSIS", "DEATH_NECROSIS",
           "read_populations"]

POPULATIONS_FILENAME = "populations.csv"

#: ``death_model`` codes taken by :meth:`PopulationLog.record`.
DEATH_NONE = 0
DEATH_APOPTOSIS = 1
DEATH_NECROSIS = 2

_KINDS = ("live", "dead", "apoptotic", "necrotic")


class PopulationLog:
    """Append one row of population counts per save to ``<out_dir>/populations.csv``.

    Columns: ``time_min``, then for each cell type ``<name>_live``, ``<name>_dead``,
    ``<name>_apoptotic``, ``<name>_necrotic`` (``dead`` = ``apoptotic`` + ``necrotic``
    + dead cells of any other death model).

    Each row is written, flushed and synced on its own, so an interrupted run keeps
    every completed row.  The header is written once, when the file is new or empty.
    An existing file is appended to if its header matches; a trailing partial line
    (left by a crash in the middle of a write) is cut off first.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Output folder (created if missing).
    cell_type_names : sequence of str
        Names by cell-type ID (ID = position).
    overwrite : bool, default False
        Start a new file (header only) even if one exists.
    filename : str, default ``"populations.csv"``

    Raises
    ------
    ValueError
        Empty or repeated names, or an existing file whose header differs.
    """

    def __init__(
        self,
        out_dir: str | os.PathLike,
        cell_type_names: Sequence[str],
        *,
        overwrite: bool = False,
        filename: str = POPULATIONS_FILENAME,
    ) -> None:
        names = [str(n) for n in cell_type_names]
        if not names:
            raise ValueError("cell_type_names is empty")
        if len(set(names)) != len(names):
            raise ValueError(f"cell_type_names has repeated names: {names}")
        self.cell_type_names = names
        self.columns = ["time_min"] + [f"{n}_{k}" for n in names for k in _KINDS]
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.path = out / filename
        header = _csv_line(self.columns)
        if overwrite or not self.path.exists() or self.path.stat().st_size == 0:
            atomic_write_bytes(self.path, header.encode("utf-8"))
            return
        data = self.path.read_bytes()
        if not data.endswith(b"\n"):
            # cut a partial last row left by an interrupted write
            cut = data.rfind(b"\n") + 1
            data = data[:cut]
            if not data:
                atomic_write_bytes(self.path, header.encode("utf-8"))
                return
            atomic_write_bytes(self.path, data)
        first = data.split(b"\n", 1)[0].decode("utf-8", errors="replace")
        existing = next(csv.reader([first]), [])
        if existing != self.columns:
            raise ValueError(
                f"{self.path}: existing header {existing} does not match {self.columns}; "
                "use overwrite=True or another folder"
            )

    def counts(
        self, cell_type: Any, dead: Any, death_model: Any
    ) -> dict[str, int]:
        """Counts per column (without ``time_min``) for one population state.

        Parameters
        ----------
        cell_type : array_like of int, shape (n,)
            Cell-type ID of each cell (0 .. n_types-1).
        dead : array_like of bool, shape (n,)
        death_model : array_like of int, shape (n,)
            0 none, 1 apoptosis, 2 necrosis (only read where ``dead``).
        """
        ct = np.asarray(cell_type).ravel()
        dd = np.asarray(dead, dtype=bool).ravel()
        dm = np.asarray(death_model).ravel()
        n = ct.size
        if dd.size != n or dm.size != n:
            raise ValueError(
                f"cell_type ({ct.size}), dead ({dd.size}) and death_model ({dm.size}) "
                "must have one entry per cell"
            )
        if n and not np.issubdtype(ct.dtype, np.integer):
            if not np.all(ct == np.round(ct)):
                raise ValueError("cell_type holds non-integer values")
        ct = ct.astype(np.int64)
        k = len(self.cell_type_names)
        if n and (ct.min() < 0 or ct.max() >= k):
            bad = sorted(set(ct[(ct < 0) | (ct >= k)].tolist()))
            raise ValueError(f"cell_type IDs {bad} are outside 0..{k - 1} ({self.cell_type_names})")
        dm = dm.astype(np.int64)
        live = np.bincount(ct[~dd], minlength=k)
        dead_n = np.bincount(ct[dd], minlength=k)
        apo = np.bincount(ct[dd & (dm == DEATH_APOPTOSIS)], minlength=k)
        nec = np.bincount(ct[dd & (dm == DEATH_NECROSIS)], minlength=k)
        out: dict[str, int] = {}
        for i, name in enumerate(self.cell_type_names):
            out[f"{name}_live"] = int(live[i])
            out[f"{name}_dead"] = int(dead_n[i])
            out[f"{name}_apoptotic"] = int(apo[i])
            out[f"{name}_necrotic"] = int(nec[i])
        return out

    def record(self, time: float, cell_type: Any, dead: Any, death_model: Any) -> dict[str, int]:
        """Append the row for simulated ``time`` (min) and return its counts.

        See :meth:`counts` for the arrays.  The row is flushed and synced to disk
        before returning.
        """
        counts = self.counts(cell_type, dead, death_model)
        row = [repr(float(time))] + [str(counts[c]) for c in self.columns[1:]]
        with open(self.path, "a", encoding="utf-8", newline="") as fh:
            fh.write(_csv_line(row))
            fh.flush()
            os.fsync(fh.fileno())
        return counts


def _csv_line(values: Sequence[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue()


def read_populations(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a ``populations.csv`` into column name → float array (complete rows only)."""
    with open(path, encoding="utf-8", newline="") as fh:
        text = fh.read()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise ValueError(f"{path}: empty file, no header")
    header, body = rows[0], [r for r in rows[1:] if r]
    for r in body:
        if len(r) != len(header):
            raise ValueError(f"{path}: row {r} has {len(r)} fields, header has {len(header)}")
    data = np.array(body, dtype=float).reshape(len(body), len(header))
    return {name: data[:, i] for i, name in enumerate(header)}
