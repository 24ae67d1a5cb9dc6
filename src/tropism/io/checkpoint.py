"""Checkpoints: the whole state of a run, written at each full save, to resume it exactly.

``checkpoint.npz`` in the output folder holds the solver's state (agents, fields, clocks,
counters), where the run loop stands (mechanics step, saves written), and what the run was
started with (the model file and a hash of its settings, the seed, the end time), so that
``tropism run --resume DIR`` continues with the same model or refuses.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np

from ..errors import TropismInputError
from ..files import atomic_write_bytes

CHECKPOINT_NAME = "checkpoint.npz"


def settings_hash(text: str) -> str:
    """Hash of a settings XML text, to tell a changed model from the one a run started with."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_checkpoint(out_dir: str | os.PathLike, state: dict, *, loop_step: int, saves: int, model_path: str,
                     settings_sha: str, max_time: float) -> Path:
    """Write ``checkpoint.npz`` atomically (a kill mid-write leaves the previous one whole)."""
    meta = {"loop_step": np.int64(loop_step), "saves": np.int64(saves), "max_time": np.float64(max_time),
            "model_path": np.array(model_path), "settings_sha": np.array(settings_sha)}
    buf = io.BytesIO()
    np.savez(buf, **state, **{f"run.{k}": v for k, v in meta.items()})
    path = Path(out_dir) / CHECKPOINT_NAME
    atomic_write_bytes(path, buf.getvalue())
    return path


def read_checkpoint(out_dir: str | os.PathLike) -> tuple[dict, dict]:
    """(solver state, run information) of the checkpoint in ``out_dir``."""
    path = Path(out_dir) / CHECKPOINT_NAME
    if not path.is_file():
        raise TropismInputError("no checkpoint to resume from", file=str(out_dir), field=CHECKPOINT_NAME,
                                value=None, allowed="the output folder of a run that wrote at least one full save")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise TropismInputError(f"unreadable checkpoint: {exc}", file=str(path)) from None
    run = {k[4:]: data.pop(k) for k in list(data) if k.startswith("run.")}
    info = {"loop_step": int(run["loop_step"]), "saves": int(run["saves"]), "max_time": float(run["max_time"]),
            "model_path": str(run["model_path"]), "settings_sha": str(run["settings_sha"])}
    return data, info
