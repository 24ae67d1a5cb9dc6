"""A corpus of mutated model files through `tropism check` and a one-step `tropism run`.

Every case must end with exit status 0 (accepted) or 2 (refused with one message), never a
traceback or a crash — the issue-8 guards (non-finite and absurd values, memory estimated
before allocating, cells outside the domain) included.
"""

from __future__ import annotations

import io
import random
import re
import shutil
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from tropism import cli

from conftest import TESTS

FIXTURE = TESTS / "fixtures" / "bench" / "growth_2d"

NAMED = [
    ("max_time 1e400", r'(<max_time units="min">)[^<]*', r"\g<1>1e400", None),
    ("dx = dy = 0.01", r"(<d[xy]>)[^<]*", r"\g<1>0.01", None),
    ("diffusion coefficient inf", r'(<diffusion_coefficient units="micron\^2/min">)[^<]*', r"\g<1>inf", None),
    ("dt_diffusion 1e-300", r'(<dt_diffusion units="min">)[^<]*', r"\g<1>1e-300", None),
    ("decay nan", r'(<decay_rate units="1/min">)[^<]*', r"\g<1>nan", None),
    ("max_time 1e12", r'(<max_time units="min">)[^<]*', r"\g<1>1e12", None),
    ("cell at x = inf", None, None, ("inf", 0)),
    ("cell at x = -1e9", None, None, ("-1e9", 0)),
    ("cell at y = nan", None, None, ("nan", 1)),
]

BAD_VALUES = ["-1", "inf", "-inf", "nan", "1e400", "abc", "", "1e-300", "1e300", "0"]


def _numeric_elements(text: str) -> list[tuple[int, int]]:
    """Spans of the text of every element whose text is a number."""
    return [(m.start(1), m.end(1)) for m in re.finditer(r">\s*([-+0-9.eE]+)\s*</", text)]


def _random_cases(n: int = 36) -> list[tuple[str, int, str]]:
    text = (FIXTURE / "PhysiCell_settings.xml").read_text()
    spans = _numeric_elements(text)
    rng = random.Random(8)
    return [(f"element {k} -> {v!r}", k, v) for k, v in
            ((rng.randrange(len(spans)), rng.choice(BAD_VALUES)) for _ in range(n))]


def _run_cli(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.argv
    sys.argv = ["tropism", *args]
    code = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            cli.main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = old
    return code, err.getvalue()


def _mutated(tmp_path: Path, case) -> Path:
    d = tmp_path / "model"
    shutil.copytree(FIXTURE, d)
    xml = d / "PhysiCell_settings.xml"
    if isinstance(case[1], int):  # random: (label, span index, value)
        text = xml.read_text()
        a, b = _numeric_elements(text)[case[1]]
        xml.write_text(text[:a] + case[2] + text[b:])
        return xml
    _label, pattern, repl, cell = case
    if pattern is not None:
        xml.write_text(re.sub(pattern, repl, xml.read_text()))
    if cell is not None:
        csv = d / "cells.csv"
        lines = csv.read_text().splitlines()
        toks = lines[1].split(",")
        toks[cell[1]] = cell[0]
        lines[1] = ",".join(toks)
        csv.write_text("\n".join(lines) + "\n")
    return xml


@pytest.mark.parametrize("case", NAMED + _random_cases(), ids=lambda c: c[0])
def test_check_and_one_step_run_exit_0_or_2(case, tmp_path):
    xml = _mutated(tmp_path, case)
    code, err = _run_cli("check", str(xml))
    assert code in (0, 2), err
    assert "Traceback" not in err
    if code == 2:
        # one message, naming the file at fault (the settings XML or its cells CSV)
        assert err.count("error:") == 1 and str(xml.parent) in " ".join(err.split())
        return
    code, err = _run_cli("run", str(xml), "--out", str(tmp_path / "out"), "--max-time", "0.1", "--no-png",
                         "--threads", "1")
    assert code in (0, 2), err
    assert "Traceback" not in err


@pytest.mark.parametrize("case", NAMED, ids=lambda c: c[0])
def test_named_guards_refuse(case, tmp_path):
    """Each guard named in the issue refuses its case at `check`, before any run."""
    code, err = _run_cli("check", str(_mutated(tmp_path, case)))
    assert code == 2, err
