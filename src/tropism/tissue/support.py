"""What a model asks for that the tissue solver does not simulate, named once for every command.

``tropism check`` and ``tropism run`` both print this list, so a model that would lose a
behaviour in a run says so before it is run.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import TropismInputError
from ..model import Model
from .mesh import Mesh
from .registry import behaviour_target, not_simulated_in_rule, noted_in_rule


def not_simulated(model: Model) -> list[str]:
    """Names of what ``model`` uses and the solver ignores, beyond ``model.unsupported``.

    Parameters
    ----------
    model : Model
        A loaded model.

    Returns
    -------
    list of str
        One entry per ignored item: rule signals and behaviours, cells-CSV columns that carry
        a value but name no behaviour, automated spring attachments, internalised-substrate
        tracking, and a model that places no cells at all.
    """
    items: list[str] = []
    for rule in model.rules:
        # both from the registry: kinds it lacks, and kinds it accepts but that do nothing here
        items += not_simulated_in_rule(rule) + noted_in_rule(rule)
    ic = model.initial_cells
    for label, values in ic.extra.items():
        if label == "volume":
            continue
        # PhysiCell only complains about a column when some row gives it a value
        if not np.any(np.isfinite(np.asarray(values, dtype=float))):
            continue
        beh = model.behaviour(label)
        if beh is None or behaviour_target(*beh) is None:
            items.append(f"cells CSV column '{label}' (no such behaviour; PhysiCell skips it too)")
    if not model.options.disable_automated_spring_adhesions:
        for ct in model.cell_types:
            if ct.mechanics.attachment_rate > 0:
                items.append(f"cell_definition[{ct.name}]/mechanics/attachment_rate "
                             "(automated spring attachments)")
    if model.track_internalized_substrates:
        items.append("microenvironment_setup/options/track_internalized_substrates_in_each_agent "
                     "(internalised substrates are not tracked; uptake removes substrate from the field)")
    if len(ic) == 0 and model.random_cells_per_type == 0:
        items.append("initial cells: the model places none (no enabled cells CSV, no user parameter "
                      "number_of_cells); cells a project places in its C++ setup_tissue are not reproduced")
    return list(dict.fromkeys(items))


# Bytes per voxel and substrate the solver holds: the field, its gradient (3), the
# diffusion's scratch and the output copy.
_BYTES_PER_VOXEL_SUBSTRATE = 8 * 6
# Per voxel whatever the substrates: source slots, centres for output (3).
_BYTES_PER_VOXEL = 8 * 5
# Per agent: ~60 state and parameter columns plus per-substrate and per-type rows.
_BYTES_PER_AGENT = 8 * 60


def memory_estimate(model: Model) -> tuple[int, int]:
    """Bytes a run of ``model`` needs at the start, and its voxel count (before allocating)."""
    d = model.domain
    # the mesh only counts voxels (BioFVM's rounding); it allocates nothing
    voxels = Mesh(x_min=d.x_min, x_max=d.x_max, y_min=d.y_min, y_max=d.y_max, z_min=d.z_min, z_max=d.z_max,
                  dx=d.dx, dy=d.dy, dz=d.dz, use_2d=d.use_2d).n_voxels
    ns, nt = len(model.substrates), len(model.cell_types)
    agents = max(64, 2 * (len(model.initial_cells) + model.random_cells_per_type * nt))
    need = (voxels * (ns * _BYTES_PER_VOXEL_SUBSTRATE + _BYTES_PER_VOXEL)
            + agents * (_BYTES_PER_AGENT + 8 * 6 * (ns + nt)))
    return int(need), int(voxels)


def available_memory() -> int:
    """Bytes of memory this machine can give a new process now (MemAvailable where known)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 1 << 62  # unknown: do not refuse


def check_memory(model: Model, fraction: float = 0.8) -> None:
    """Refuse, before anything is allocated, a model that would not fit in memory.

    Raises
    ------
    TropismInputError
        Naming the estimate, the voxel count and the machine's available memory.
    """
    need, voxels = memory_estimate(model)
    have = available_memory()
    if need > fraction * have:
        gib = 1024.0 ** 3
        d = model.domain
        raise TropismInputError(
            "the model needs more memory than this machine has",
            file=model.source or None, field="domain (dx, dy, dz) and initial cells",
            value=f"about {need / gib:.1f} GiB for {voxels:,} voxels of {d.dx:g} x {d.dy:g} x {d.dz:g} um "
                  f"x {len(model.substrates)} substrates",
            allowed=f"at most {fraction * have / gib:.1f} GiB ({fraction:.0%} of the {have / gib:.1f} GiB available); "
                    "use larger voxels or a smaller domain")
