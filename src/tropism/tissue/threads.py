"""How the tissue solver uses threads: one policy, every threshold in one place.

Results never depend on any of this: every kernel gives the same numbers on any number of
threads (each agent's sums run in a fixed order; serial passes stay serial).

Every kernel runs on the requested OpenMP threads, whatever the tissue's size: with idle
threads that spin briefly before they sleep (:func:`wait_policy`), a parallel region costs
about 2 µs to start, and splitting pays from about a hundred agents (measured on the 2-core
machine, 100 to 6,000 agents, 2 threads against 1: 0.22 against 0.24 ms a step at 100,
0.30 against 0.36 at 1,000, 0.89 against 1.28 at 6,000; ``benchmarks/bench_threads.py``).

A spinning thread is waste when the cores are shared: two runs at once on 2 cores, each on
2 threads, took 53 s against 13 s for the same two runs with sleeping threads and 12.4 s on
one thread each. So a :class:`ThreadTuner` looks at the machine's load every few dozen steps
and runs on one thread while other tasks want the cores (:func:`for_step`).

Per-agent loops lighter than the neighbour scan (gather, motility) run serially below
:data:`LIGHT_SERIAL_AGENTS`.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

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


def runnable_tasks() -> int | None:
    """Tasks running or ready to run on this machine now (Linux ``/proc/loadavg``), or None."""
    try:
        with open("/proc/loadavg", "rb") as fh:
            return int(fh.read().split()[3].split(b"/")[0])
    except (OSError, IndexError, ValueError):
        return None


class ThreadTuner:
    """Chooses, for one solver, between all its threads and one, by the machine's load.

    Every ``window`` steps it counts the tasks ready to run besides its own (all its threads
    while it uses them, its one thread otherwise). If two counts in a row would not leave it
    its threads, it runs on one until ``calm`` counts in a row find room again. Other processes then keep
    their cores (and a drawing process its core), and a spinning thread of this one never
    waits for a time slice. Timing the two modes against each other (the first design) let
    two runs at once settle unfairly: 14 to 38 s against 13 s.
    """

    def __init__(self, threads: int, cores: int | None = None, window: int = 48, calm: int = 3) -> None:
        self.threads, self.window, self.calm = threads, window, calm
        self.cores = cores or os.cpu_count() or 1
        self.one = False  # the mode in use: one thread (True) or all (False)
        self._steps = 0
        self._quiet = 0  # counts in a row that found room for all threads
        self._crowded = 0  # counts in a row that did not

    def step(self) -> None:
        """Note one step; every ``window`` steps, look at the load and choose the mode."""
        self._steps += 1
        if self._steps % self.window:
            return
        ready = runnable_tasks()
        if ready is None:
            return
        others = ready - (1 if self.one else self.threads)
        if others + self.threads > self.cores:
            self._quiet = 0
            self._crowded += 1
            if self._crowded >= 2:  # twice in a row: a passing task (a shell, a file flush) is not load
                self.one = True
        else:
            self._crowded = 0
            if self.one:
                self._quiet += 1
                if self._quiet >= self.calm:
                    self.one = False


@contextmanager
def for_step(solver):
    """One mechanics step of ``solver`` on the threads its :class:`ThreadTuner` chose."""
    import numba

    threads = numba.get_num_threads()
    if threads <= 1:  # nothing to choose (or the run has given a core away for the moment)
        yield
        return
    tuner = solver.__dict__.get("_thread_tuner")
    if tuner is None or tuner.threads != threads:
        tuner = solver._thread_tuner = ThreadTuner(threads)
    one = tuner.one
    if one:
        numba.set_num_threads(1)
    try:
        yield
    finally:
        tuner.step()
        if one:
            numba.set_num_threads(threads)
