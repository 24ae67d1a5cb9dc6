"""Published findings as experiment definitions: the data ``tropism validate`` runs.

A finding is a TOML file (``library/validation/findings/P01.toml``; users add their own in
the same form with ``--findings DIR``)::

    id = "P02"
    finding = "blocking CXCR4 reduces MSC homing"
    source = "Shi 2007 Haematologica 92:897"
    seeds = 5
    time_h = 72
    readout = "msc_in_tumour"          # tropism.validate.READOUTS, or any timeseries.csv quantity

    [scenario]                          # the base experiment, the schema of `tropism run`
    ...

    [[arm]]
    name = "control"

    [[arm]]
    name = "blocked"
    add = { intervention = [{ kind = "blockade", target = "cxcr4", efficacy = 1.0 }] }

    [[criterion]]
    kind = "ratio"                      # ratio | each | equals | targets
    readout = "tumour_volume"           # optional: another readout than the finding's
    numerator = "blocked"
    denominator = "control"
    op = "<="
    value = 0.7

Arms differ from the base only by ``set`` (dotted path → value, list items by index:
``"treatment.0.side"``) and ``add`` (items appended to a list). The library's parameters are
the same for every arm and every finding: a finding can name no parameter.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import TropismInputError, did_you_mean
from .files import read_toml

#: where the library's own findings live
LIBRARY_FINDINGS = Path(__file__).resolve().parent / "library" / "validation" / "findings"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Arm(_Strict):
    """One arm: the base scenario with what the paper varied."""

    name: str = Field(min_length=1)
    set: dict[str, Any] = Field(default_factory=dict, description="dotted path -> value")
    add: dict[str, list] = Field(default_factory=dict, description="list field -> items appended")


class Criterion(_Strict):
    """What must hold of the arms' medians over seeds.

    - ``ratio``: median(numerator) / median(denominator) ``op`` value;
    - ``each``: every arm's median ``op`` value (``arms`` limits which);
    - ``equals``: the arm's readout (a name, e.g. an organ) is ``value`` in every seed;
    - ``targets``: the calibration targets ``ids`` are all within their ranges.
    """

    kind: Literal["ratio", "each", "equals", "targets"]
    readout: str = Field("", description="what it compares; default: the finding's readout")
    numerator: str = ""
    denominator: str = ""
    #: a ratio of effects: each side relative to its own control arm (a surviving fraction is
    #: the treated arm over the same cells untreated)
    numerator_control: str = ""
    denominator_control: str = ""
    arm: str = ""
    arms: list[str] = Field(default_factory=list)
    op: Literal["<=", ">=", "<", ">"] = ">="
    value: float | str = 0.0
    ids: list[str] = Field(default_factory=list)

    def describe(self) -> str:
        of = f" ({self.readout})" if self.readout else ""
        if self.kind == "ratio":
            num = f"({self.numerator} / {self.numerator_control})" if self.numerator_control else self.numerator
            den = f"({self.denominator} / {self.denominator_control})" if self.denominator_control else self.denominator
            return f"{num} / {den} {self.op} {self.value:g}{of}"
        if self.kind == "each":
            return f"each of {', '.join(self.arms) if self.arms else 'the arms'} {self.op} {self.value:g}"
        if self.kind == "equals":
            return f"{self.arm} = {self.value}"
        return "targets " + ", ".join(self.ids) + " within range"


class Finding(_Strict):
    """A published finding as an in-silico experiment."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    finding: str
    source: str = Field(min_length=1)
    seeds: int = Field(5, ge=1, le=100)
    time_h: Optional[float] = Field(None, gt=0)
    readout: str = ""
    scenario: dict[str, Any] = Field(default_factory=dict)
    arm: list[Arm] = Field(default_factory=list)
    criterion: list[Criterion] = Field(min_length=1)
    file: str = ""

    @model_validator(mode="after")
    def _consistent(self):
        names = [a.name for a in self.arm]
        if len(set(names)) != len(names):
            raise ValueError(f"arm names must differ (got {names})")
        for c in self.criterion:
            for n in (c.numerator, c.denominator, c.numerator_control, c.denominator_control, c.arm, *c.arms):
                if n and n not in names:
                    hint = f"; {did_you_mean(n, names)}" if did_you_mean(n, names) else ""
                    raise ValueError(f"criterion names an unknown arm {n!r}{hint} (arms: {', '.join(names)})")
            if c.kind == "ratio" and not (c.numerator and c.denominator):
                raise ValueError("a ratio criterion needs numerator and denominator arms")
            if c.kind in ("ratio", "each") and not isinstance(c.value, (int, float)):
                raise ValueError(f"a {c.kind} criterion compares with a number (got {c.value!r})")
            if c.kind == "targets" and not c.ids:
                raise ValueError("a targets criterion needs ids")
        if self.arm and not (self.readout and self.time_h):
            raise ValueError("a finding with arms needs a readout and time_h")
        if self.arm and not self.scenario:
            raise ValueError("a finding with arms needs a [scenario]")
        return self

    def readouts(self, arm: str | None = None) -> list[str]:
        """Every readout its criteria compare (the finding's own first); with ``arm``, only those
        of the criteria that read that arm (a readout of a cell type one arm's host lacks, such
        as Tregs in a nude mouse, is then not asked of it)."""
        out = [self.readout] if self.readout else []
        for c in self.criterion:
            if arm is not None and c.kind in ("ratio", "each", "equals"):
                named = {c.numerator, c.denominator, c.numerator_control, c.denominator_control, c.arm} | set(c.arms)
                if arm not in named and not (c.kind == "each" and not c.arms):
                    continue
            if c.readout and c.readout not in out:
                out.append(c.readout)
        return out

    def arm_scenario(self, arm: Arm, seed: int) -> dict:
        """The base scenario with the arm's changes, its duration the readout time, and ``seed``."""
        d = copy.deepcopy(self.scenario)
        for path, value in arm.set.items():
            _set(d, path, value, f"arm {arm.name!r}: set.{path}")
        for key, items in arm.add.items():
            d.setdefault(key, [])
            if not isinstance(d[key], list):
                raise TropismInputError("add appends to a list", file=self.file, field=f"arm.{arm.name}.add.{key}",
                                        value=type(d[key]).__name__, allowed="a list field such as intervention")
            d[key] = d[key] + copy.deepcopy(items)
        sim = d.setdefault("simulation", {})
        sim["duration_h"] = self.time_h
        sim["seed"] = seed
        return d


def _set(d: dict, path: str, value, where: str) -> None:
    parts = path.split(".")
    node = d
    for i, p in enumerate(parts[:-1]):
        key = int(p) if isinstance(node, list) else p
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            raise TropismInputError("no such field in the scenario", field=where, value=".".join(parts[: i + 1]),
                                    allowed="a dotted path into the base [scenario]") from None
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def load_finding(path: str | Path) -> Finding:
    """Read and validate one finding file."""
    path = Path(path)
    data = read_toml(path)
    try:
        return Finding(**data, file=str(path))
    except ValidationError as exc:
        e = exc.errors()[0]
        loc = ".".join(str(x) for x in e["loc"]) or "(file)"
        msg = str(e.get("ctx", {}).get("error", e["msg"]))
        value = e.get("input") if not isinstance(e.get("input"), dict) else None
        raise TropismInputError(msg, file=str(path), field=loc, value=value,
                                allowed="see tropism.findings (the finding format)") from None


def load_findings(extra: list[str | Path] = ()) -> list[Finding]:
    """The library's findings and any in ``extra`` directories (or files), sorted by id."""
    paths = sorted(LIBRARY_FINDINGS.glob("*.toml"))
    for x in extra:
        x = Path(x)
        if not x.exists():
            raise TropismInputError("no such findings file or folder", field="--findings", value=str(x),
                                    allowed="a .toml file or a folder of them")
        paths += sorted(x.glob("*.toml")) if x.is_dir() else [x]
    found: dict[str, Finding] = {}
    for p in paths:
        f = load_finding(p)
        if f.id in found:
            raise TropismInputError("two findings share an id", file=str(p), field="id", value=f.id,
                                    allowed=f"an id other than those in {found[f.id].file}")
        found[f.id] = f
    return [found[k] for k in sorted(found)]
