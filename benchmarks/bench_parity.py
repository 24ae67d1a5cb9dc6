"""Parity with PhysiCell 1.14.2 on config-only models, as Markdown tables (docs/physicell_parity.md).

For each model: tropism runs seeds 1-5 and is compared with PhysiCell's runs on the same files
(tests/data/physicell/<model>.csv): live and dead counts per type at every save (PhysiCell
mean ± sd, tropism median), the live-count AUC per type and each substrate's mean, with the
pass criterion of tests/parity/test_parity_samples.py. Usage::

    python benchmarks/bench_parity.py [MODEL ...] [--workers 2] [--every 2]
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import tropism
from tropism.parity import compare, read_series, run_seeds, time_table

ROOT = Path(__file__).resolve().parents[1]
MODELS = {
    "rules_sample": Path(tropism.__file__).parent / "bench_models" / "rules_sample",
    "template": ROOT / "tests" / "fixtures" / "physicell_template",
    "growth_2d": ROOT / "tests" / "fixtures" / "bench" / "growth_2d",
    "rules_3types": ROOT / "tests" / "fixtures" / "bench" / "rules_3types",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", default=list(MODELS))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--every", type=int, default=2, help="print every k-th save in the time tables")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    for name in args.models:
        xml = MODELS[name] / "PhysiCell_settings.xml"
        ref = read_series(ROOT / "tests" / "data" / "physicell" / f"{name}.csv")
        interval = 120.0 if name in ("growth_2d", "rules_3types") else None  # PhysiCell's save interval
        ours = run_seeds(xml, range(1, 6), interval=interval, workers=args.workers)
        print(f"\n### {name}\n")
        print("| quantity | PhysiCell mean ± sd | tropism median | ratio | allowed ± | pass |")
        print("|---|---|---|---|---|---|")
        for r in compare(ref, ours):
            label = f"{r.quantity} AUC (cell·min)" if r.kind == "auc" else r.quantity
            print(f"| {label} | {r.physicell_mean:.4g} ± {r.physicell_sd:.3g} | {r.tropism_median:.4g} | "
                  f"{r.ratio:.3f} | {r.tolerance:.3g} | {'yes' if r.passed else 'NO'} |")
        quantities = sorted({q for _, _, q, _ in ref if q.startswith(("live:", "dead:"))})
        tables = {q: time_table(ref, ours, q) for q in quantities}
        keep = [q for q in quantities if any(a > 0 or b > 0 for _, a, _, b in tables[q])]
        times = [t for t, *_ in tables[keep[0]]][:: args.every]
        print("\n| t (min) | " + " | ".join(keep) + " |")
        print("|---|" + "---|" * len(keep))
        for t in times:
            cells = []
            for q in keep:
                row = next(r for r in tables[q] if r[0] == t)
                cells.append(f"{row[1]:.0f} ± {row[2]:.0f} / {row[3]:.0f}")
            print(f"| {t:.0f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
