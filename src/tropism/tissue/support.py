"""What a model asks for that the tissue solver does not simulate, named once for every command.

``tropism check`` and ``tropism run`` both print this list, so a model that would lose a
behaviour in a run says so before it is run.
"""

from __future__ import annotations

import numpy as np

from ..model import Model, resolve_behaviour
from .parameters import BEHAVIOUR_TO_PARAMETER, custom_names
from .rules import compile_rules


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
    _, rules = compile_rules(model)
    items += rules
    ic = model.initial_cells
    customs = custom_names(model)
    for label, values in ic.extra.items():
        if label == "volume":
            continue
        # PhysiCell only complains about a column when some row gives it a value
        if not np.any(np.isfinite(np.asarray(values, dtype=float))):
            continue
        beh = resolve_behaviour(label, model.substrate_names, model.cell_type_names, customs)
        if beh is None or beh[0] not in BEHAVIOUR_TO_PARAMETER:
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
