"""How the tissue solver uses threads: one policy, every threshold in one place.

Results never depend on any of this: every kernel gives the same numbers on any number of
threads (each agent's sums run in a fixed order; serial passes stay serial).

Every kernel runs on the requested OpenMP threads, whatever the tissue's size: with idle
threads that spin briefly before they sleep (:func:`wait_policy`), a parallel region costs
about 2 µs to start, and splitting pays from about a hundred agents (measured on the 2-core
machine, 100 to 6,000 agents, 2 threads against 1: 0.22 against 0.24 ms a step at 100,
0.30 against 0.36 at 1,000, 0.89 against 1.28 at 6,000; ``benchmarks/bench_threads.py``). Until that policy a
sleeping thread cost ~55 µs to wake, so small tissues ran on one thread and a second Python
thread computed the next step's forces beside the diffusion steps; both are gone.

Per-agent loops lighter than the neighbour scan (gather, motility) run serially below
:data:`LIGHT_SERIAL_AGENTS`.
"""

from __future__ import annotations

import os

#: Below this many agents a light per-agent loop runs on one thread: such a loop over 10⁴
#: agents takes a few microseconds, less than handing half of it to another core saves.
LIGHT_SERIAL_AGENTS = 100_000

#: How long an idle OpenMP thread spins for the next parallel region before it sleeps
#: (libgomp's GOMP_SPINCOUNT, in busy-wait iterations; see :func:`wait_policy`).
SPIN_COUNT = 50_000


def wait_policy() -> None:
    """Let OpenMP's idle threads spin briefly for the next region, then sleep (unless the
    user chose a policy: ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` set).

    A mechanics step of a small tissue is a chain of short kernels a few microseconds apart.
    A thread that sleeps between them costs ~55 µs to wake for each (measured on the 2-core
    machine: 57 µs a region against 2 µs with a spin), more than a kernel of a thousand cells
    takes; a thread that never sleeps (OpenMP's active policy) takes the core the main thread
    needs during longer serial stretches: a coupled glioma run took 10.4 s on 2 threads
    against 5.3 s with passive waiting (benchmarks/bench_clocks.py, 12 h). A bounded spin
    covers the gaps within a step and sleeps across longer ones. OpenMP reads it when it
    starts (the first parallel kernel), so this is called when ``tropism`` is imported.
    """
    if "OMP_WAIT_POLICY" in os.environ or "GOMP_SPINCOUNT" in os.environ:
        return
    os.environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)


def set_threads(threads: int | None) -> int:
    """Set the kernel thread count (None: all cores); returns the count in use."""
    import numba

    if threads is not None:
        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    return numba.get_num_threads()
