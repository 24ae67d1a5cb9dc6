"""Every scenario field acts or is refused (issue 19): for every example scenario and every arm
of every finding, each field the file sets changes the resolved tissue model, the body
scenarios or their links when it is taken away (set back to its default)."""

from __future__ import annotations

import copy

import pytest

from tropism.errors import TropismInputError
from tropism.findings import load_findings
from tropism.files import read_toml
from tropism.model.experiment import experiment_from_dict
from tropism.resolve import build

from conftest import REPO

EXAMPLES = REPO / "examples" / "scenarios"

#: fields that act elsewhere than the resolved model, each with where
ELSEWHERE = {
    ("title",): "the figures' title",
    ("simulation", "readouts"): "which quantities timeseries.csv records (test_scenario_mechanisms)",
}


def _cases():
    for path in sorted(EXAMPLES.glob("*.toml")):
        yield path.name, read_toml(path, "scenario file")
    for f in load_findings():
        for arm in f.arm:
            if f.scenario.get("tumour"):
                yield f"{f.id}:{arm.name}", f.arm_scenario(arm, 1)


def _leaves(d, prefix=()):
    """Paths to every value the file sets (list items by index)."""
    if isinstance(d, dict):
        for k, v in d.items():
            yield from _leaves(v, prefix + (k,))
    elif isinstance(d, list) and d and all(isinstance(x, dict) for x in d):
        for i, x in enumerate(d):
            yield from _leaves(x, prefix + (i,))
    else:
        yield prefix


def _without(d, path):
    out = copy.deepcopy(d)
    node = out
    for k in path[:-1]:
        node = node[k]
    del node[path[-1]]
    return out


def _signature(resolved) -> str:
    m = resolved.model
    cells = m.initial_cells
    data = m.model_dump_json(exclude={"provenance", "source", "initial_cells"})
    return (data + cells.positions.round(6).tobytes().hex() + cells.types.tobytes().hex()
            + "".join(b.model_dump_json() for b in resolved.bodies)
            + "".join(lk.model_dump_json() for lk in resolved.links))


@pytest.mark.parametrize("name, data", list(_cases()), ids=lambda x: x if isinstance(x, str) else "")
def test_each_field_a_scenario_sets_changes_the_model_or_the_body(name, data):
    e = experiment_from_dict(data, file=name)
    base = _signature(build(e, file=name))
    inert = []
    for path in _leaves(data):
        if path[:2] in ELSEWHERE or path[:1] in ELSEWHERE or isinstance(path[-1], int):
            continue
        variant = _without(data, path)
        try:
            e2 = experiment_from_dict(variant, file=name)
            if e2 == e:
                continue  # the file set the default: nothing to take away
            sig = _signature(build(e2, file=name))
        except TropismInputError:
            continue  # a required field, or one whose absence the checks refuse: it is read
        if sig == base:
            inert.append(".".join(map(str, path)))
    assert not inert, f"{name}: fields that change nothing: {', '.join(inert)}"
