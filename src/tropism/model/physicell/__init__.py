"""Read and write PhysiCell 1.14 models: settings XML, cells CSV (v1/v2) and rules CSV (CBHG v3).

``load_model`` turns a ``PhysiCell_settings.xml`` (with the cells and rules files it names,
relative to the XML's folder) into a validated :class:`~tropism.model.Model`. Every problem
raises :class:`~tropism.errors.TropismInputError` naming the file, the element (with its line),
the value and what is allowed. Elements that are read but not simulated are listed in
``Model.unsupported`` and reported in one :class:`~tropism.errors.UnsupportedElementWarning`;
nothing is dropped silently.

``write_model`` / ``model_to_xml_string`` write a model back, every phenotype value explicit,
so that ``load_model(write_model(m, d))`` equals ``m`` (apart from ``source``, ``base_dir``,
``unsupported`` and each rule's ``source``/``line``).

Where PhysiCell 1.14 itself normalises input, so does the reader: in 2D the domain's z range
becomes one voxel (``[-dz/2, dz/2]``) and motility is restricted to 2D; per-cell-type and
per-substrate tables (adhesion affinities, interaction rates, secretion, chemotactic
sensitivities) are filled for every cell type / substrate with PhysiCell's default.

The package: :mod:`.vocab` (PhysiCell's names, codes and element tables), :mod:`.read`
(``load_model``, ``read_cells_csv``) and :mod:`.write` (``model_to_xml_string``,
``write_model``).
"""

from __future__ import annotations

from .read import load_model, read_cells_csv
from .vocab import CELLS_NAME, RULES_NAME, SETTINGS_NAME
from .write import model_to_xml_string, write_model

__all__ = ["load_model", "write_model", "model_to_xml_string"]
