"""A scenario's tissue part as a PhysiCell 1.14 project (settings XML, cells CSV, rules CSV).

PhysiCell's files hold no interventions, so a receptor blockade is written into the rules it
acts on: a Hill term reading signal·(1 − e) with half-maximum h is the same curve as one
reading the signal with half-maximum h/(1 − e). A full blockade (e = 1) removes the term;
when other rules share its cell type, behaviour and direction the term stays with a half-max
so large that it contributes nothing, because those rules' common saturation includes it.
What PhysiCell cannot say at all (arrivals from the body) is left out with a warning.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from ..errors import TropismInputError, UnsupportedElementWarning

#: the half-maximum of a fully blocked term that shares its group: no signal reaches it
BLOCKED_HALF_MAX = 1e30


def bake_interventions(model):
    """The model with its ``block_signal`` interventions written into its rules.

    Parameters
    ----------
    model : tropism.model.Model

    Returns
    -------
    tropism.model.Model
        Rules rescaled, no interventions; the same behaviour in the tissue solver.

    Raises
    ------
    TropismInputError
        For an intervention kind the rules cannot express.
    """
    rules = list(model.rules)
    for k, iv in enumerate(model.interventions):
        if iv.kind != "block_signal":
            raise TropismInputError("this intervention cannot be written into PhysiCell rules",
                                    field=f"interventions[{k}].kind", value=iv.kind, allowed="block_signal")
        sig = model.signal(iv.target)
        left = 1.0 - iv.efficacy
        out = []
        for r in rules:
            hit = (not iv.cell_types or r.cell_type in iv.cell_types) and (r.signal_kind, r.signal_index) == sig
            if not hit:
                out.append(r)
            elif left > 0.0:
                out.append(r.model_copy(update={"half_max": r.half_max / left}))
            elif any(o is not r and (o.cell_type, o.behavior, o.direction) == (r.cell_type, r.behavior, r.direction)
                     for o in rules):
                out.append(r.model_copy(update={"half_max": BLOCKED_HALF_MAX}))
            # else: alone in its group, the term is removed
        rules = out
    return model.model_copy(update={"rules": rules, "interventions": []})


def export_physicell(model, folder: str | Path) -> Path:
    """Write ``model`` (a resolved scenario's tissue part) as a PhysiCell 1.14 project.

    Returns the settings file written. Arrivals are left out (PhysiCell has no body model);
    every other part of the tissue model is in the files.
    """
    from ..model.physicell import write_model
    from ..model.model import UserParameter
    baked = bake_interventions(model).model_copy(update={"arrivals": []})
    if baked.substrates:
        # PhysiCell looks the chemotaxis substrate up even when chemotaxis is off, and stops
        # on an empty name: name the first substrate (off, it acts on nothing)
        first = baked.substrates[0].name
        types = []
        for ct in baked.cell_types:
            chemo = ct.motility.chemotaxis
            if not chemo.substrate:
                mot = ct.motility.model_copy(update={"chemotaxis": chemo.model_copy(update={"substrate": first})})
                ct = ct.model_copy(update={"motility": mot})
            types.append(ct)
        baked = baked.model_copy(update={"cell_types": types})
    if "number_of_cells" not in baked.user_parameters:
        # PhysiCell's template project places this many random cells of each type and stops
        # when it is missing; the tissue's cells are all in cells.csv
        ups = dict(baked.user_parameters)
        ups["number_of_cells"] = UserParameter(value="0", type="int", units="none",
                                               description="random cells of each type (PhysiCell template)")
        baked = baked.model_copy(update={"user_parameters": ups})
    if model.clocks.diffusion_scheme != "lod":
        # the file names the scheme for tropism (<overall><diffusion_scheme>); PhysiCell ignores it
        warnings.warn(f"PhysiCell has only LOD diffusion: it runs this file's {model.clocks.diffusion_scheme} "
                      f"diffusion as LOD at dt_diffusion {model.clocks.dt_diffusion:g} min, whose steady oxygen "
                      "drifts with the step (28 % at 0.1 min on 20 um voxels, docs/tissue_solver.md); for "
                      "PhysiCell's own accuracy set diffusion_scheme = \"lod\" and dt_diffusion_min = 0.01 in "
                      "[simulation]", UnsupportedElementWarning, stacklevel=2)
    if model.arrivals:
        warnings.warn(f"{len(model.arrivals)} arrival(s) from the body model cannot be written in PhysiCell's files "
                      "and are left out: the exported project has the tumour and its rules, no arriving MSCs",
                      UnsupportedElementWarning, stacklevel=2)
    return write_model(baked, folder)
