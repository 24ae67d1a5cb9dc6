"""Command line: ``tropism run``, ``check``, ``bench``, ``body``, ``export``, ``validate``, ``reference``."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from .errors import TropismInputError, UnsupportedElementWarning, allowed_with_hint

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="tropism: MSCs, exosomes and tumours — agent-based tissue solver for PhysiCell models.")
# soft_wrap: a long path in an error message must stay whole when stderr is a log file
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def _warn(text: str) -> None:
    # the text holds element paths such as cell_definition[tumor]: never read it as markup
    err.print("[yellow]warning:[/] ", end="")
    err.print(text, markup=False, highlight=False)


def _load(model_path: Path):
    from .model.physicell import load_model
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnsupportedElementWarning)
        model = load_model(model_path)
    for w in caught:
        if issubclass(w.category, UnsupportedElementWarning):
            _warn(str(w.message))
    return model


@app.command()
def run(
    model_path: Optional[Path] = typer.Argument(None, help="PhysiCell settings XML (or a folder holding PhysiCell_settings.xml), or a scenario TOML; not needed with --resume."),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Output folder (default: the model's save folder)."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="Kernel threads (results do not depend on it)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed (overrides the model's)."),
    max_time: Optional[float] = typer.Option(None, "--max-time", min=0.0, help="End time in min (overrides the model's)."),
    png: bool = typer.Option(True, "--png/--no-png", help="Write a PNG snapshot per full save."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue the run in this output folder from its last full save (checkpoint.npz)."),
) -> None:
    """Run a PhysiCell model or a scenario and write PhysiCell-compatible output."""
    from .run import run_model
    if resume is not None:
        from .io.checkpoint import read_checkpoint
        _, info = read_checkpoint(resume)
        if model_path is not None and Path(model_path).resolve() != Path(info["model_path"]).resolve():
            raise TropismInputError("--resume continues the model its run started with", field="MODEL",
                                    value=str(model_path), allowed=f"{info['model_path']} (or leave MODEL out)")
        model_path, out_dir, max_time = Path(info["model_path"]), resume, info["max_time"]
    elif model_path is None:
        raise TropismInputError("a model is needed", field="MODEL", value=None,
                                allowed="a PhysiCell settings XML, or --resume OUTPUT_FOLDER")
    body = link = None
    extra: list = []
    if model_path.suffix.lower() == ".toml":
        # a scenario: resolved against the library into the tissue model, the body and their link
        from .io.timeseries import TimeSeries
        from .resolve import build, load_and_check
        resolved = build(load_and_check(model_path), file=str(model_path))
        model = resolved.model
        if resolved.links:
            body, link = resolved.bodies, resolved.links
        if out_dir is None:
            out_dir = Path("output") / model_path.stem
        extra.append(TimeSeries(out_dir, model, resolved.roles["tumour"], resolved.roles["msc"],
                                resolved.hypoxic_mmHg, png=png, title=resolved.experiment.title,
                                products=resolved.product_labels(), groups=resolved.experiment.simulation.readouts,
                                immune_types=resolved.immune, fates=resolved.fate,
                                treatments=len(resolved.experiment.treatment)))
    else:
        model = _load(model_path)
    if max_time is not None:
        model.clocks = model.clocks.model_copy(update={"max_time": max_time})
    end = model.clocks.max_time
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnsupportedElementWarning)
        with Progress(TextColumn("[bold]t = {task.fields[t]:>8.1f} min"), BarColumn(),
                      TextColumn("{task.fields[agents]:>8,} agents"),
                      TextColumn("{task.fields[rate]:>10.3g} agent-steps/s"), TimeElapsedColumn(),
                      console=err, transient=False) as bar:
            task = bar.add_task("run", total=end or 1.0, t=0.0, agents=0, rate=0.0)

            def progress(t: float, agents: int, rate: float) -> None:
                bar.update(task, completed=t, t=t, agents=agents, rate=rate)

            summary = run_model(model, out_dir, seed=seed, threads=threads, png=png, progress=progress,
                                resume=resume is not None, body=body, link=link, extra_recorders=extra)
    for w in caught:
        _warn(str(w.message))
    state = "interrupted at" if summary.interrupted else "finished at"
    out.print(f"{state} t = {summary.time:g} min: {summary.agents:,} agents, {summary.saves} saves, "
              f"{summary.wall_s:.1f} s wall, {summary.agent_steps / max(summary.wall_s, 1e-9):.3g} agent-steps/s "
              f"-> {summary.out_dir}")
    figures = [f for f in ("homing.png", "populations.png", "cells_over_time.png")
               if (Path(summary.out_dir) / f).is_file()]
    if figures:
        out.print("figures: " + ", ".join(str(Path(summary.out_dir) / f) for f in figures))


@app.command()
def check(model_path: Path = typer.Argument(..., help="PhysiCell settings XML or scenario TOML to validate.")) -> None:
    """Load and validate a model or a scenario without running it; print what it holds."""
    if model_path.suffix.lower() == ".toml":
        from .resolve import build, load_and_check
        e = load_and_check(model_path)
        built = build(e, file=str(model_path))
        tumour = f"{e.tumour.line} in {e.tumour.site}" if e.tumour else "no tumour"
        out.print(f"{model_path}: {e.host.species} ({e.host.immune}), {tumour}; {len(e.treatment)} treatment(s), "
                  f"{len(e.intervention)} intervention(s); {e.simulation.duration_h:g} h, seed {e.simulation.seed}")
        m = built.model
        numbers = list(m.provenance.values()) + list(built.link_provenance.values())
        priors = sum(1 for p in numbers if "[default prior]" in p.source)
        status = {k: sum(1 for p in numbers if p.status == k) for k in "VUF"}
        out.print(f"  model: {', '.join(m.cell_type_names)}; {len(m.initial_cells):,} initial cells; {len(m.rules)} rules; "
                  f"{len(numbers)} sourced numbers (V {status['V']}, U {status['U']}, F {status['F']}; "
                  f"{priors} default priors)" + (f"; {len(built.links)} product(s) coupled to the body"
                                                  if built.links else ""))
        return
    from .tissue.support import check_memory, not_simulated
    model = _load(model_path)
    check_memory(model)
    for u in not_simulated(model):
        if u in model.unsupported:
            continue  # the loader's warning named it already
        _warn(f"not simulated: {u}")
    d = model.domain
    out.print(f"{model.source}: {'2D' if d.use_2d else '3D'} domain [{d.x_min:g}, {d.x_max:g}] x "
              f"[{d.y_min:g}, {d.y_max:g}] x [{d.z_min:g}, {d.z_max:g}] um, max_time {model.clocks.max_time:g} min")
    out.print(f"  substrates: {', '.join(model.substrate_names) or '-'}")
    placed = f"{len(model.initial_cells):,} initial cells"
    if model.random_cells_per_type:
        placed += f" + {model.random_cells_per_type:,} per type at random (number_of_cells)"
    out.print(f"  cell types: {', '.join(model.cell_type_names)}; {placed}; {len(model.rules)} rules")


@app.command()
def bench(
    case: Optional[list[str]] = typer.Option(None, "--case", help="Case name (repeatable); default: all."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per case."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="Kernel threads."),
    models: Optional[Path] = typer.Option(None, "--models", help="Folder of PhysiCell bench cases to run instead of the built-in ones."),
) -> None:
    """Throughput on the benchmark cases: agent-steps/s and voxel-updates/s."""
    from .bench import CASES, run_case
    names = case or list(CASES)
    for name in names:
        if name not in CASES:
            raise TropismInputError("unknown benchmark case", field="--case", value=name, allowed=", ".join(CASES))
    rows = []
    for name in names:
        r = run_case(name, threads=threads, models_dir=models)
        rows.append(r)
        if as_json:
            out.print_json(json.dumps(r)) if sys.stdout.isatty() else print(json.dumps(r), flush=True)
        else:
            out.print(f"{r['case']:<14} {r['agents']:>8,} agents {r['voxels']:>8,} voxels  {r['wall_s']:8.2f} s  "
                      f"{r['agent_steps_per_s']:10.3g} agent-steps/s  {r['voxel_updates_per_s']:10.3g} voxel-updates/s"
                      f"  (PhysiCell: {r['physicell_agent_steps_per_s'] or r['physicell_voxel_updates_per_s']:.3g})")


@app.command()
def body(
    scenario_path: Path = typer.Argument(..., help="Body scenario TOML (see examples/body/)."),
    fig: Optional[Path] = typer.Option(None, "--out", help="Write a figure of % injected dose per organ over time (PNG)."),
    check_targets: bool = typer.Option(False, "--check-targets", help="Also compare the model with the calibration targets, then with the independent test set; exit 1 if a calibration target fails."),
    band: bool = typer.Option(False, "--band", help="Also print the 5-95 % band over the ensemble of equally good fits."),
) -> None:
    """Whole-body distribution of MSCs, exosomes or a drug: where the dose goes, by route."""
    from .body import load_scenario, simulate
    from .body.report import summary_lines
    sc = load_scenario(scenario_path)
    if sc.product.endogenous:
        # nothing feeds it without a tissue: the run would show an empty body
        raise TropismInputError("an endogenous product is fed only by a coupled tumour tissue",
                                file=str(scenario_path), field="product.endogenous", value=True,
                                allowed="false here; a scenario with a [tumour] and the 'exosomes' or "
                                        "'metastasis' readout simulates what the tumour makes")
    try:
        result = simulate(sc)
    except TropismInputError as exc:  # a library look-up failed for a value this file chose: name the file
        if exc.file is None:
            raise TropismInputError(exc.message, file=str(scenario_path), field=exc.field, value=exc.value,
                                    allowed=exc.allowed) from None
        raise
    for line in summary_lines(sc, result):
        out.print(line, markup=False, highlight=False)
    if band:
        from .body.uncertainty import band as _band, members
        t_end = float(result.times_h[-1])
        out.print(f"5-95 % band over {len(members(sc.product.kind))} equally good fits (% of dose, label):",
                  markup=False, highlight=False)
        for t in sorted({1.0, 24.0, t_end}):
            if t > t_end + 1e-9:
                continue
            i = int(abs(result.times_h - t).argmin())
            top = result.percent_injected_dose("label")[i].argsort()[::-1][:3]
            parts = []
            for j in top:
                lo, mid, hi = _band(sc, lambda r, i=i, j=j: float(r.percent_injected_dose("label")[i, j]))
                parts.append(f"{result.compartments[j]} {mid:.3g}% ({lo:.3g}-{hi:.3g})")
            out.print(f"t = {result.times_h[i]:g} h: " + ", ".join(parts), markup=False, highlight=False)
    if fig is not None:
        from .io.figures import body_figure  # Matplotlib only when a figure is asked for
        out.print(f"figure -> {body_figure(result, fig)}", markup=False, highlight=False)
    if check_targets:
        from .body.targets import check_targets as _check
        rows = _check()
        out.print("target | range | model | pass", markup=False, highlight=False)
        for r in rows:
            mark = "not built" if r["pass"] is None else ("pass" if r["pass"] else "FAIL")
            out.print(f"{r['id']} {r['quantity']} | {r['range']} | {r['model']} | {mark}", markup=False, highlight=False)
        from .body.readouts import check_test_set
        tests = check_test_set()
        out.print("", markup=False)
        out.print("test set (never fitted) | label | range | model | pass", markup=False, highlight=False)
        for t in tests:
            rng = f"{t['low']}-{t['high']}" if t["low"] and t["high"] else f"{t['value']} (x/2)"
            lo, hi = t["band"]
            out.print(f"{t['id']} {t['quantity']} [{t['species']}, {t['route']}, {t['time_h'] or '-'} h] | "
                      f"{t['label_method']} | {rng} {t['units']} | {t['model']:.3g} ({lo:.3g}-{hi:.3g}) | "
                      f"{'pass' if t['pass'] else 'outside'}", markup=False, highlight=False)
        share = sum(t["pass"] for t in tests) / max(len(tests), 1)
        out.print(f"test set: {sum(t['pass'] for t in tests)} of {len(tests)} pass ({100 * share:.0f} %)",
                  markup=False, highlight=False)
        # only a calibration target failing is a failure of the fit (FAIL); a test row outside its
        # range is a finding about a mechanism, reported as such
        if any(r["pass"] is False for r in rows):
            raise typer.Exit(1)


@app.command()
def export(
    scenario: Path = typer.Argument(..., help="A scenario TOML."),
    physicell: Path = typer.Option(..., "--physicell", help="Folder for the PhysiCell 1.14 project."),
) -> None:
    """Write a scenario's tissue part as a PhysiCell 1.14 project (settings XML, cells.csv, rules.csv)."""
    from .io.physicell_export import export_physicell
    from .resolve import build, load_and_check
    if scenario.suffix.lower() != ".toml":
        raise TropismInputError("export reads a scenario file", field="SCENARIO", value=str(scenario),
                                allowed="a .toml scenario (a PhysiCell XML is already a PhysiCell project)")
    resolved = build(load_and_check(scenario), file=str(scenario))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnsupportedElementWarning)
        target = export_physicell(resolved.model, physicell)
    for w in caught:
        _warn(str(w.message))
    out.print(f"wrote {target} (+ cells.csv, rules.csv); run it with PhysiCell 1.14 or `tropism run {target}`")


@app.command()
def validate(
    only: Optional[str] = typer.Option(None, "--only", help="Comma-separated finding ids, e.g. P01,P02."),
    quick: bool = typer.Option(False, "--quick", help="Two seeds per arm instead of each finding's own."),
    workers: int = typer.Option(1, "--workers", min=1, help="Parallel processes for the arms."),
    findings: list[Path] = typer.Option([], "--findings", help="Extra finding files or folders (repeatable)."),
    out_dir: Path = typer.Option(Path("validation"), "--out", help="Where summary.csv and report.md go."),
) -> None:
    """Run the published-findings suite; exit 1 if any row fails."""
    from .findings import load_findings
    from .io.validation_report import write_report
    from .validate import run_findings
    chosen = load_findings(findings)
    if only:
        want = [x.strip() for x in only.split(",") if x.strip()]
        known = {f.id for f in chosen}
        for w in want:
            if w not in known:
                raise TropismInputError("unknown finding", field="--only", value=w,
                                        allowed=allowed_with_hint(w, sorted(known)))
        chosen = [f for f in chosen if f.id in want]
    rows = run_findings(chosen, workers=workers, seeds=2 if quick else None,
                        progress=lambda line: err.print(line, markup=False, highlight=False))
    paths = write_report(rows, out_dir)
    for r in rows:
        for c, v, ok in r.criteria:
            shown = v if isinstance(v, str) else f"{v:.4g}"
            out.print(f"{r.finding.id:5s} {'pass' if ok else 'FAIL':4s}  {c.describe()}: {shown}", markup=False,
                      highlight=False)
    failed = [r.finding.id for r in rows if not r.passed]
    out.print(f"{len(rows) - len(failed)}/{len(rows)} findings pass; wrote {paths['summary']} and {paths['report']}")
    if failed:
        raise typer.Exit(1)


@app.command()
def reference(
    out_path: Path = typer.Option(Path("docs/model-reference.md"), "--out", help="Where to write the page."),
) -> None:
    """Write the model reference (every library number with its unit and source) from the library."""
    from .io.model_reference import write
    write(out_path)
    out.print(f"wrote {out_path}")


def main() -> None:
    """Entry point: turns bad input into one message and exit status 2, never a traceback."""
    try:
        # click returns an Exit's code instead of raising it when not standalone
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except TropismInputError as exc:
        err.print("[red]error:[/] ", end="")
        err.print(str(exc), markup=False, highlight=False)
        sys.exit(2)
    except (typer.Exit, SystemExit) as exc:
        code = getattr(exc, "exit_code", getattr(exc, "code", 0))
        sys.exit(code or 0)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        # usage errors (unknown option, bad value, missing argument) come from typer's click
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(2)
        if isinstance(exc, typer.Abort):
            err.print("aborted")
            sys.exit(130)
        if isinstance(exc, OSError):
            err.print(f"error: {exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}", markup=False)
            sys.exit(2)
        raise


if __name__ == "__main__":
    main()
