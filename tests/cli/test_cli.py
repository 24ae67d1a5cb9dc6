"""The command line as a user meets it: `python -m tropism.cli` in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import bench_models
from tropism.model import (CellType, Clocks, Cycle, Domain, InitialCells, Model, PhaseLink, Rule, SaveOptions,
                           SecretionParameters, Substrate)
from tropism.model.physicell import write_model

BENCH = bench_models()  # ../shared/bench, or the in-repo copies of growth_2d and rules_3types


def cli(*args, cwd) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    for var in ("COLUMNS", "LINES"):  # the terminal width rich sees: its default (80), as in a log
        env.pop(var, None)
    return subprocess.run([sys.executable, "-m", "tropism.cli", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def flat(text: str) -> str:
    """Output with line wrapping undone (rich wraps at the console width)."""
    return " ".join(text.split())


def tiny_model() -> Model:
    tumor = CellType(name="tumor", id=0, cycle=Cycle(code=5, links=[PhaseLink(start=0, end=0, rate=1e-3)]),
                     secretion={"oxygen": SecretionParameters(uptake_rate=10.0, secretion_target=0.0)})
    oxygen = Substrate(name="oxygen", units="mmHg", diffusion_coefficient=1e5, decay_rate=0.1,
                       initial_condition=38.0, dirichlet_enabled=True, dirichlet_value=38.0)
    rule = Rule(cell_type="tumor", signal="oxygen", direction="increases", behavior="cycle entry",
                saturation=1e-3, half_max=12.0, hill_power=4.0)
    return Model(domain=Domain(x_min=-100.0, x_max=100.0, y_min=-100.0, y_max=100.0),
                 clocks=Clocks(max_time=1440.0), save=SaveOptions(full_data_interval=1.0),
                 substrates=[oxygen], cell_types=[tumor], rules=[rule],
                 initial_cells=InitialCells(positions=np.array([[0.0, 0.0, 0.0], [12.0, 0.0, 0.0], [0.0, 14.0, 0.0]]),
                                            types=np.zeros(3, dtype=np.int64)))


@pytest.fixture()
def model_dir(tmp_path) -> Path:
    write_model(tiny_model(), tmp_path / "model")
    return tmp_path / "model"


def test_run_writes_output(model_dir, tmp_path):
    out = tmp_path / "out"
    r = cli("run", model_dir / "PhysiCell_settings.xml", "--out", out, "--max-time", 2, "--threads", 1,
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert "finished at t = 2 min" in flat(r.stdout)
    for name in ("initial.xml", "final.xml", "final_cells.mat", "output00000000.xml", "output00000002.xml",
                 "populations.csv", "PhysiCell_settings.xml", "populations.png", "cells_over_time.png",
                 "snapshot00000000.png"):
        assert (out / name).is_file(), name
    assert not (out / "output00000003.xml").exists()  # --max-time 2 overrode the model's 1440 min
    lines = (out / "populations.csv").read_text().splitlines()
    assert len(lines) == 1 + 3  # header, t = 0, 1, 2


def test_run_accepts_the_model_folder(model_dir, tmp_path):
    r = cli("run", "model", "--out", "out2", "--max-time", 0.5, "--no-png", "--threads", 1, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out2" / "final.xml").is_file()
    assert not list((tmp_path / "out2").glob("*.png"))


# --------------------------------------------------------------------------- bad input
def _malformed(d: Path):
    (d / "PhysiCell_settings.xml").write_text("<PhysiCell_settings>\n  <domain><x_min>0</x_min>\n")


def _negative_decay(d: Path):
    p = d / "PhysiCell_settings.xml"
    text = p.read_text()
    old = '<decay_rate units="1/min">0.1</decay_rate>'
    assert old in text
    p.write_text(text.replace(old, '<decay_rate units="1/min">-0.1</decay_rate>'))


def _rule_unknown_type(d: Path):
    (d / "rules.csv").write_text("ghost,oxygen,increases,cycle entry,0.001,12.0,4.0,0\n")


def _rule_unknown_substrate_signal(d: Path):
    (d / "rules.csv").write_text("tumor,glucose,increases,cycle entry,0.001,12.0,4.0,0\n")


def _rule_unknown_substrate_behaviour(d: Path):
    (d / "rules.csv").write_text("tumor,oxygen,increases,glucose uptake,0.001,12.0,4.0,0\n")


def _missing_cells(d: Path):
    (d / "cells.csv").unlink()


#: case → (how to break the model, target path given to the CLI, file named, words in the message)
BAD = {
    "malformed_xml": (_malformed, "model/PhysiCell_settings.xml", "model/PhysiCell_settings.xml",
                      ["malformed XML"]),
    "negative_decay": (_negative_decay, "model/PhysiCell_settings.xml", "model/PhysiCell_settings.xml",
                       ["decay_rate", "-0.1", ">= 0"]),
    "rule_unknown_cell_type": (_rule_unknown_type, "model/PhysiCell_settings.xml", "model/rules.csv",
                               ["unknown cell type", "ghost", "line 1"]),
    "rule_unknown_substrate": (_rule_unknown_substrate_signal, "model/PhysiCell_settings.xml", "model/rules.csv",
                               ["unknown signal", "glucose", "line 1"]),
    "rule_unknown_substrate_behaviour": (_rule_unknown_substrate_behaviour, "model/PhysiCell_settings.xml",
                                         "model/rules.csv", ["unknown behavior", "glucose uptake"]),
    "missing_cells_file": (_missing_cells, "model/PhysiCell_settings.xml", "cells.csv", ["file not found"]),
    "no_such_model": (None, "nowhere/PhysiCell_settings.xml", "nowhere/PhysiCell_settings.xml",
                      ["no such file"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_gives_one_message_and_status_2(case, model_dir, tmp_path):
    breaker, target, named, words = BAD[case]
    if breaker is not None:
        breaker(model_dir)
    r = cli("run", target, "--out", "out", "--max-time", 1, "--threads", 1, cwd=tmp_path)
    both = r.stdout + r.stderr
    assert r.returncode == 2, both
    assert "Traceback" not in both
    assert both.count("error:") == 1, both  # one message ...
    assert r.stdout.strip() == ""  # ... on stderr, and nothing else
    message = flat(r.stderr)
    assert named in message, message  # naming the file
    for w in words:  # and the problem
        assert w.lower() in message.lower(), (w, message)
    assert not (tmp_path / "out").exists()  # nothing was run


def test_check_rejects_bad_input_too(model_dir, tmp_path):
    _negative_decay(model_dir)
    r = cli("check", "model/PhysiCell_settings.xml", cwd=tmp_path)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "decay_rate" in flat(r.stderr)


@pytest.mark.parametrize("args", [["run", "model", "--max-time", "-1"], ["run", "model", "--bogus"], ["run"]],
                         ids=["negative-max-time", "unknown-option", "missing-argument"])
def test_usage_errors_give_status_2_without_traceback(args, model_dir, tmp_path):
    r = cli(*args, cwd=tmp_path)
    both = r.stdout + r.stderr
    assert "Traceback" not in both, both[-500:]
    assert r.returncode == 2


def test_error_message_keeps_a_long_path_whole(model_dir, tmp_path):
    deep = tmp_path / ("a_long_folder_name_" * 4) / "model"
    shutil.copytree(model_dir, deep)
    _negative_decay(deep)
    settings = deep / "PhysiCell_settings.xml"
    assert len(str(settings)) > 80
    r = cli("run", settings, "--max-time", 1, cwd=tmp_path)
    assert r.returncode == 2
    assert str(settings) in r.stderr


# --------------------------------------------------------------------------- check
def test_check_prints_the_model(model_dir, tmp_path):
    r = cli("check", "model/PhysiCell_settings.xml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    text = flat(r.stdout)
    assert "cell types: tumor; 3 initial cells; 1 rules" in text
    assert "substrates: oxygen" in text


@pytest.mark.skipif(not (BENCH / "rules_3types").is_dir(), reason="shared bench models not available")
def test_check_bench_model_prints_its_cell_types(tmp_path):
    r = cli("check", BENCH / "rules_3types" / "PhysiCell_settings.xml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    text = flat(r.stdout)
    assert "cell types: tumor, carrier, effector; 1,300 initial cells; 8 rules" in text
    assert "substrates: oxygen, chemokine, payload" in text
