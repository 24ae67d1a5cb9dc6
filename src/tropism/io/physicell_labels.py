"""PhysiCell's cell data vocabulary: the cycle, phase and death codes, the labels of the cells
matrix of a full save (:class:`CellLabel`), and the checks of a cells table against what
pcdl (4.x) needs (:func:`validate_cells`); shared by the writer
(:mod:`tropism.io.physicell_output`) and its readers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "CellLabel", "STANDARD_CELL_LABELS", "LEGACY_CELL_LABELS", "KNOWN_CELL_LABELS", "PCDL_REQUIRED_LABELS",
    "CYCLE_MODEL_LIVE", "PHASE_LIVE", "DEATH_MODEL_APOPTOSIS", "DEATH_MODEL_NECROSIS", "PHASE_APOPTOTIC",
    "PHASE_NECROTIC_SWELLING", "PHASE_NECROTIC_LYSED", "PHASE_NECROTIC", "PHASE_DEBRIS",
    "validate_cells", "ordered_cells", "cell_label_units",
]

# --------------------------------------------------------------------------------------
# PhysiCell codes (PhysiCell/core/PhysiCell_constants.cpp), as pcdl translates them.
# --------------------------------------------------------------------------------------

#: ``cycle_model`` code of PhysiCell's "live" cycle model.
CYCLE_MODEL_LIVE = 5
#: ``current_phase`` code of the single phase of the "live" model.
PHASE_LIVE = 14
#: Death model codes; a dead cell's ``cycle_model`` is its death model's code.
DEATH_MODEL_APOPTOSIS = 100
DEATH_MODEL_NECROSIS = 101
#: Death phase codes (``current_phase`` of a dead cell).
PHASE_APOPTOTIC = 100
PHASE_NECROTIC_SWELLING = 101
PHASE_NECROTIC_LYSED = 102
PHASE_NECROTIC = 103
PHASE_DEBRIS = 104


# --------------------------------------------------------------------------------------
# Cell labels
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellLabel:
    """One row group of the PhysiCell cells matrix.

    Parameters
    ----------
    name : str
        Label text as written in ``<label>`` (e.g. ``"position"``).
    size : int or str
        Number of matrix rows: an integer, or one of ``"n_substrates"``,
        ``"n_cell_types"``, ``"n_death_models"`` for sizes that depend on the model.
    units : str
        The ``units`` attribute PhysiCell writes.
    """

    name: str
    size: int | str
    units: str


def _L(name: str, units: str, size: int | str = 1) -> CellLabel:
    return CellLabel(name, size, units)


#: Labels PhysiCell 1.14 writes (``add_PhysiCell_cells_to_open_xml_pugi_v2``), in its
#: order and with its units.  PhysiCell 1.14 writes ``elapsed_time_in_phase`` a second
#: time after ``current_cycle_phase_exit_rate``; labels here are unique (a ``cells`` dict
#: cannot hold a key twice), so only the first occurrence is listed.  Custom data
#: labels follow these in PhysiCell, and may follow them here.
STANDARD_CELL_LABELS: tuple[CellLabel, ...] = (
    _L("ID", "none"),
    _L("position", "microns", 3),
    _L("total_volume", "cubic microns"),
    _L("cell_type", "none"),
    _L("cycle_model", "none"),
    _L("current_phase", "none"),
    _L("elapsed_time_in_phase", "min"),
    _L("nuclear_volume", "cubic microns"),
    _L("cytoplasmic_volume", "cubic microns"),
    _L("fluid_fraction", "none"),
    _L("calcified_fraction", "none"),
    _L("orientation", "none", 3),
    _L("polarity", "none"),
    # state
    _L("velocity", "micron/min", 3),
    _L("pressure", "none"),
    _L("number_of_nuclei", "none"),
    _L("total_attack_time", "min"),
    _L("contact_with_basement_membrane", "none"),
    # cycle
    _L("current_cycle_phase_exit_rate", "1/min"),
    # death
    _L("dead", "none"),
    _L("current_death_model", "none"),
    _L("death_rates", "1/min", "n_death_models"),
    # volume
    _L("cytoplasmic_biomass_change_rate", "1/min"),
    _L("nuclear_biomass_change_rate", "1/min"),
    _L("fluid_change_rate", "1/min"),
    _L("calcification_rate", "1/min"),
    _L("target_solid_cytoplasmic", "cubic microns"),
    _L("target_solid_nuclear", "cubic microns"),
    _L("target_fluid_fraction", "none"),
    # geometry
    _L("radius", "microns"),
    _L("nuclear_radius", "microns"),
    _L("surface_area", "square microns"),
    # mechanics
    _L("cell_cell_adhesion_strength", "micron/min"),
    _L("cell_BM_adhesion_strength", "micron/min"),
    _L("cell_cell_repulsion_strength", "micron/min"),
    _L("cell_BM_repulsion_strength", "micron/min"),
    _L("cell_adhesion_affinities", "none", "n_cell_types"),
    _L("relative_maximum_adhesion_distance", "none"),
    _L("maximum_number_of_attachments", "none"),
    _L("attachment_elastic_constant", "1/min"),
    _L("attachment_rate", "1/min"),
    _L("detachment_rate", "1/min"),
    # motility
    _L("is_motile", "none"),
    _L("persistence_time", "min"),
    _L("migration_speed", "micron/min"),
    _L("migration_bias_direction", "none", 3),
    _L("migration_bias", "none"),
    _L("motility_vector", "micron/min", 3),
    _L("chemotaxis_index", "none"),
    _L("chemotaxis_direction", "none"),
    _L("chemotactic_sensitivities", "none", "n_substrates"),
    # secretion
    _L("secretion_rates", "1/min", "n_substrates"),
    _L("uptake_rates", "1/min", "n_substrates"),
    _L("saturation_densities", "stuff/cubic micron", "n_substrates"),
    _L("net_export_rates", "stuff/min", "n_substrates"),
    # molecular
    _L("internalized_total_substrates", "stuff", "n_substrates"),
    _L("fraction_released_at_death", "none", "n_substrates"),
    _L("fraction_transferred_when_ingested", "none", "n_substrates"),
    # interactions
    _L("apoptotic_phagocytosis_rate", "1/min"),
    _L("necrotic_phagocytosis_rate", "1/min"),
    _L("other_dead_phagocytosis_rate", "1/min"),
    _L("live_phagocytosis_rates", "1/min", "n_cell_types"),
    _L("attack_rates", "1/min", "n_cell_types"),
    _L("immunogenicities", "none", "n_cell_types"),
    _L("attack_target", "none"),
    _L("attack_damage_rate", "1/min"),
    _L("attack_duration", "min"),
    _L("attack_total_damage_delivered", "none"),
    _L("fusion_rates", "1/min", "n_cell_types"),
    # transformations, asymmetric division
    _L("transformation_rates", "1/min", "n_cell_types"),
    _L("asymmetric_division_probabilities", "none", "n_cell_types"),
    # cell integrity
    _L("damage", "none"),
    _L("damage_rate", "1/min"),
    _L("damage_repair_rate", "1/min"),
)

#: Labels of older PhysiCell writers (not written by 1.14, still read by pcdl); accepted
#: with these sizes and units, placed after the 1.14 labels by :func:`ordered_cells`.
LEGACY_CELL_LABELS: tuple[CellLabel, ...] = (
    _L("elapsed_time_in_death_model", "min"),
    _L("motility_bias_direction", "none", 3),
    _L("motility_reserved", "none"),
)

#: Every label with a known size and units, by name.
KNOWN_CELL_LABELS: dict[str, CellLabel] = {
    lab.name: lab for lab in STANDARD_CELL_LABELS + LEGACY_CELL_LABELS
}

#: Labels without which ``pcdl.TimeStep`` (4.x) cannot load a save.
PCDL_REQUIRED_LABELS: tuple[str, ...] = (
    "ID",
    "position",
    "cell_type",
    "cycle_model",
    "current_phase",
    "chemotaxis_index",
)

# pcdl splits these into name_x, name_y, name_z whatever the declared size.
_PCDL_SPATIAL = {
    "position",
    "velocity",
    "orientation",
    "motility_vector",
    "migration_bias_direction",
    "motility_bias_direction",
}


def _as_columns(label: str, value: Any) -> np.ndarray:
    """Return ``value`` as a 2-D float64 array (n_cells, size); check dtype and rank."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise ValueError(
            f"cells[{label!r}]: dtype {arr.dtype} is not numeric or boolean; "
            "every cell label must hold numbers"
        )
    if arr.ndim == 1:
        arr = arr[:, None]
    elif arr.ndim != 2:
        raise ValueError(
            f"cells[{label!r}]: shape {arr.shape} is not (n,) or (n, k)"
        )
    return arr.astype(np.float64, copy=False)


def validate_cells(
    cells: Mapping[str, Any],
    *,
    n_substrates: int | None = None,
    n_cell_types: int | None = None,
    n_death_models: int | None = None,
    require_pcdl_labels: bool = True,
) -> int:
    """Check a ``cells`` dict and return the number of cells.

    Parameters
    ----------
    cells : Mapping[str, array_like]
        Label → array of shape (n,) or (n, k); all arrays must share n.
    n_substrates, n_cell_types, n_death_models : int, optional
        When given, labels whose size depends on them (see :data:`STANDARD_CELL_LABELS`)
        must have exactly that many columns.
    require_pcdl_labels : bool, default True
        Require the labels of :data:`PCDL_REQUIRED_LABELS`.

    Returns
    -------
    int
        The number of cells n.

    Raises
    ------
    ValueError
        With the offending label, its shape and what was expected: a non-string or
        empty label, a non-numeric array, a rank other than 1 or 2, arrays of different
        lengths, a known label of the wrong size, a missing required label, or
        repeated cell IDs.
    """
    if not isinstance(cells, Mapping):
        raise ValueError(f"cells must be a mapping label -> array, got {type(cells).__name__}")
    if len(cells) == 0:
        raise ValueError("cells is empty: at least the labels "
                         f"{', '.join(PCDL_REQUIRED_LABELS)} are needed")
    counts = {
        "n_substrates": n_substrates,
        "n_cell_types": n_cell_types,
        "n_death_models": n_death_models,
    }
    n: int | None = None
    first = None
    for label, value in cells.items():
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"cell label {label!r} is not a non-empty string")
        if label != label.strip() or any(c in label for c in "<>&\"\n\t"):
            raise ValueError(f"cell label {label!r} has surrounding spaces or XML-special characters")
        arr = _as_columns(label, value)
        if n is None:
            n, first = arr.shape[0], label
        elif arr.shape[0] != n:
            raise ValueError(
                f"cells[{label!r}] has {arr.shape[0]} cells but cells[{first!r}] has {n}; "
                "all labels must describe the same cells"
            )
        size = arr.shape[1]
        known = KNOWN_CELL_LABELS.get(label)
        if known is not None:
            expected = known.size
            if isinstance(expected, str):
                expected = counts[expected]
            if expected is not None and size != expected:
                want = f"({n},)" if expected == 1 else f"({n}, {expected})"
                raise ValueError(
                    f"cells[{label!r}] has shape {np.shape(value)}, expected {want}"
                    + (f" ({known.size})" if isinstance(known.size, str) else "")
                )
        elif label in _PCDL_SPATIAL and size != 3:
            raise ValueError(f"cells[{label!r}] must be (n, 3), got {np.shape(value)}")
        if size == 0:
            raise ValueError(f"cells[{label!r}] has zero columns, shape {np.shape(value)}")
    if require_pcdl_labels:
        missing = [lab for lab in PCDL_REQUIRED_LABELS if lab not in cells]
        if missing:
            raise ValueError(
                "cells lacks label(s) " + ", ".join(missing)
                + " that pcdl needs to load a save (required: "
                + ", ".join(PCDL_REQUIRED_LABELS) + ")"
            )
    if "ID" in cells and n:
        ids = np.asarray(cells["ID"]).ravel()
        if np.unique(ids).size != ids.size:
            raise ValueError("cells['ID'] holds repeated cell IDs; IDs must be unique")
    assert n is not None
    return n


def ordered_cells(cells: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``cells`` re-ordered: PhysiCell 1.14 labels first (in
    :data:`STANDARD_CELL_LABELS` order), then legacy labels, then any other (custom)
    labels in their given order."""
    order = [lab.name for lab in STANDARD_CELL_LABELS + LEGACY_CELL_LABELS]
    out = {name: cells[name] for name in order if name in cells}
    out.update((k, v) for k, v in cells.items() if k not in out)
    return out


def cell_label_units(label: str, default: str = "none") -> str:
    """Units PhysiCell writes for ``label`` (``default`` for custom labels)."""
    known = KNOWN_CELL_LABELS.get(label)
    return known.units if known is not None else default
