"""Turn PhysiCell output folders into the parity data kept in tests/data/physicell/.

Run PhysiCell 1.14.2 on a model once per seed (1 OpenMP thread, full saves at the model's
interval), one folder per seed, then::

    python benchmarks/physicell_reference.py MODEL_NAME RUN_DIR_seed1 RUN_DIR_seed2 ...

Each RUN_DIR holds PhysiCell's ``output/`` folder; its seed is read from the ``_s<seed>``
suffix of the folder name. Writes ``tests/data/physicell/MODEL_NAME.csv`` (tidy:
seed,time_min,quantity,value). PhysiCell itself is never part of this repository.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tropism.parity import physicell_series, write_series


def main() -> None:
    name, dirs = sys.argv[1], sys.argv[2:]
    rows = []
    for d in dirs:
        seed = int(re.search(r"_s(\d+)$", d.rstrip("/")).group(1))
        rows += physicell_series(Path(d) / "output", seed)
    out = Path(__file__).resolve().parents[1] / "tests" / "data" / "physicell" / f"{name}.csv"
    write_series(out, rows)
    print(f"{out}: {len(rows)} rows from {len(dirs)} runs")


if __name__ == "__main__":
    main()
