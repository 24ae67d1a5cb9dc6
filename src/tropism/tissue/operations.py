"""The tissue step as scheduled operations on PhysiCell's clocks.

Each :class:`Operation` is a small unit: a name, the clock it runs on, the agent arrays and
fields it reads and writes (documentation the tests check against the solver's arrays), and
one function of the solver. A :class:`Schedule` holds the ordered operations of each clock;
``TissueSolver`` runs them in PhysiCell 1.14's order:

- every mechanics interval: one diffusion step, the phenotype clock when due, the mechanics
  clock, the exchange clock (the body port), then the remaining diffusion steps;
- the diffusion clock runs its operations once per diffusion step; operations that accept a
  step count (``batch=True``) run all steps of a stretch in one call when every operation of
  the clock does.

A new mechanism that needs its own operation is added with :meth:`Schedule.add`, before or
after a named one, without editing the solver's loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

CLOCKS = ("diffusion", "phenotype", "mechanics", "exchange")


@dataclass(frozen=True)
class Operation:
    """One unit of a clock.

    Parameters
    ----------
    name : str
        Unique within its clock.
    clock : str
        One of :data:`CLOCKS`.
    run : callable
        ``run(solver)``; on the diffusion clock ``run(solver, n_steps)``.
    reads, writes : tuple of str
        Agent arrays (``agents.<name>``), ``fields`` or solver state the operation uses.
    batch : bool
        Diffusion clock only: ``run`` may advance several steps in one call.
    """

    name: str
    clock: str
    run: Callable
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    batch: bool = False

    def __post_init__(self) -> None:
        if self.clock not in CLOCKS:
            raise ValueError(f"operation {self.name!r}: unknown clock {self.clock!r}; allowed: {', '.join(CLOCKS)}")


@dataclass
class Schedule:
    """Ordered operations per clock."""

    operations: dict[str, list[Operation]] = field(default_factory=lambda: {c: [] for c in CLOCKS})

    def names(self, clock: str) -> list[str]:
        """Operation names of ``clock`` in run order."""
        return [op.name for op in self.operations[clock]]

    def add(self, op: Operation, *, before: str | None = None, after: str | None = None) -> None:
        """Insert ``op`` in its clock: at the end, or before/after the operation named."""
        ops = self.operations[op.clock]
        if op.name in self.names(op.clock):
            raise ValueError(f"clock {op.clock!r} already has an operation {op.name!r}")
        if before is not None and after is not None:
            raise ValueError("give before or after, not both")
        anchor = before if before is not None else after
        if anchor is None:
            ops.append(op)
            return
        names = self.names(op.clock)
        if anchor not in names:
            raise ValueError(f"clock {op.clock!r} has no operation {anchor!r}; it has: {', '.join(names)}")
        k = names.index(anchor)
        ops.insert(k if before is not None else k + 1, op)

    def remove(self, clock: str, name: str) -> Operation:
        """Take the named operation out of ``clock``; returns it."""
        names = self.names(clock)
        if name not in names:
            raise ValueError(f"clock {clock!r} has no operation {name!r}; it has: {', '.join(names)}")
        return self.operations[clock].pop(names.index(name))

    def run(self, clock: str, solver) -> None:
        """Run the operations of ``clock`` once, in order."""
        for op in self.operations[clock]:
            op.run(solver)

    def run_diffusion(self, solver, n_steps: int) -> None:
        """Advance ``n_steps`` diffusion steps: batched when every operation allows it."""
        ops = self.operations["diffusion"]
        if n_steps <= 0 or not ops:
            return
        if all(op.batch for op in ops):
            for op in ops:
                op.run(solver, n_steps)
            return
        for _ in range(n_steps):
            for op in ops:
                op.run(solver, 1)
