"""How the tissue solver uses threads: one policy, every threshold in one place.

Results never depend on any of this: every kernel gives the same numbers on any number of
threads, and work moved to a second thread is the same computation on the same inputs.

Three regimes, chosen per mechanics step by :func:`for_step`:

- **Large tissues** (or large fields): every kernel runs on the requested OpenMP threads.
- **Two lanes** (2 threads or more, a few hundred to a few thousand agents, a small field):
  waking OpenMP's passive threads costs ~55 µs a parallel region on a 2-core machine, more
  than splitting a small kernel saves, and on a busy machine a region waits a scheduler slice
  for its late thread. So the step's own kernels run on one thread, and a second Python
  thread computes the *next* step's neighbour scan and forces (they read positions and
  mechanical parameters only) while this thread runs the diffusion steps at the end of the
  step (:func:`start_forces_ahead`). The next step uses that result only if every input it
  was computed from is unchanged (:func:`take_forces_ahead`); otherwise, and after every
  phenotype step, it scans again itself. The diffusion kernels and the scan release the GIL.
  Whether the second lane pays depends on the machine: with a free core it runs beside the
  first; when every core is busy (other processes, or a drawing process) the lanes wait for
  each other's time slices. :class:`LaneTuner` times windows of steps with one lane and with
  two and keeps the faster, timing both again now and then.
- **Small tissues** on one thread.

Per-agent loops lighter than the neighbour scan (gather, motility) run serially below
:data:`LIGHT_SERIAL_AGENTS` whatever the regime.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager

#: Below both sizes a step runs on one thread (measured: 2-core machine, growth_2d case).
SERIAL_AGENTS = 3000
SERIAL_VOXELS = 8000

#: Below this many agents a light per-agent loop runs on one thread: waking the OpenMP
#: threads (which wait passively, see :func:`passive_wait`) costs ~55 µs a parallel region on
#: the 2-core machine, more than such a loop over 10⁴ agents takes on one core.
LIGHT_SERIAL_AGENTS = 100_000

#: Two lanes (the next step's forces on a second thread) for agent counts in this range and
#: fields of at most this many voxel values (voxels × substrates); measured on PhysiCell's
#: rules sample (1,000–1,500 agents, 12,500 voxel values) on a 2-core machine.
AHEAD_AGENTS = (64, 6000)
AHEAD_VOXELS = 60_000


def passive_wait() -> None:
    """Make OpenMP's idle threads sleep instead of spin (unless the user set a policy).

    A step runs many short kernels with serial Python between them, and on a 2-core machine
    a spinning thread takes the core the main thread needs: a coupled glioma run took 10.4 s
    on 2 threads and 5.6 s on one; with passive waiting 5.3 s (benchmarks/bench_clocks.py,
    12 h). OpenMP reads it when it starts (the first parallel kernel), so this is called when
    ``tropism`` is imported.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def set_threads(threads: int | None) -> int:
    """Set the kernel thread count (None: all cores); returns the count in use."""
    import numba

    if threads is not None:
        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    return numba.get_num_threads()


def two_lanes(n_agents: int, n_voxel_values: int, threads: int) -> bool:
    """Whether a step of this size runs its next forces on a second thread."""
    return threads >= 2 and AHEAD_AGENTS[0] <= n_agents < AHEAD_AGENTS[1] and n_voxel_values <= AHEAD_VOXELS


@contextmanager
def for_step(solver):
    """The threads of one mechanics step of ``solver`` (see the module's regimes)."""
    import numba

    threads = numba.get_num_threads()
    n = solver.agents.n
    values = solver.mesh.n_voxels * max(solver.n_substrates, 1)
    tuner = None
    lanes = two_lanes(n, values, threads)
    if lanes:
        tuner = solver.__dict__.get("_lane_tuner")
        if tuner is None:
            tuner = solver._lane_tuner = LaneTuner()
        lanes = tuner.mode == 2
    small = n < SERIAL_AGENTS and values < SERIAL_VOXELS
    solver._forces_ahead_allowed = lanes
    one = (tuner is not None or small) and threads > 1
    if one:
        numba.set_num_threads(1)
    t0 = time.perf_counter()
    try:
        yield
    finally:
        if tuner is not None:
            tuner.record(time.perf_counter() - t0)
        if one:
            numba.set_num_threads(threads)


class LaneTuner:
    """Chooses, for a solver's small steps, one lane or two by timing both now and then.

    Two lanes win on a machine with a free core and lose on one whose cores are all busy (the
    lanes then wait for each other's time slices); both give the same numbers, so the choice
    is made by the clock: a window of ``window`` steps in each mode, the faster (median step
    time) kept for ``keep`` windows, then both timed again.
    """

    def __init__(self, window: int = 48, keep: int = 40) -> None:
        self.window, self.keep = window, keep
        self.mode = 2
        self._probe = [2, 1]  # modes still to time in this round
        self._times: list[float] = []
        self._median = {1: None, 2: None}
        self._left = 0  # windows left in the chosen mode

    def record(self, seconds: float) -> None:
        """Note one step's wall time in the current mode; switch modes when a window ends."""
        self._times.append(seconds)
        if len(self._times) < self.window:
            return
        times, self._times = sorted(self._times), []
        if self._probe:
            self._median[self._probe.pop(0)] = times[len(times) // 2]
            if self._probe:
                self.mode = self._probe[0]
                return
            self.mode = 1 if self._median[1] < self._median[2] else 2
            self._left = self.keep
            return
        self._left -= 1
        if self._left <= 0:
            self._probe = [self.mode, 3 - self.mode]


# ----------------------------------------------------------------------------- the second lane
class _Lane:
    """One helper thread that runs one job at a time (kernels that release the GIL)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._job = None
        self._busy = False
        self._result = None
        self._owner = None
        self._thread = threading.Thread(target=self._loop, name="tropism-second-lane", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        import numba

        numba.set_num_threads(1)  # this thread's kernels: one thread (the setting is per thread)
        while True:
            with self._cond:
                while self._job is None:
                    self._cond.wait()
                job = self._job
            try:
                result = job()
            except BaseException as exc:  # handed to whoever takes the result
                result = exc
            with self._cond:
                self._job = None
                self._result = result
                self._busy = False
                self._cond.notify_all()

    def submit(self, owner, job) -> bool:
        """Start ``job`` unless the lane is busy; ``owner`` is who may take the result."""
        with self._cond:
            if self._busy:
                return False
            self._busy = True
            self._owner = owner
            self._result = None
            self._job = job
            self._cond.notify_all()
            return True

    def take(self, owner):
        """Wait for the job ``owner`` submitted and return its result (None if it has none)."""
        with self._cond:
            if self._owner is not owner:
                return None
            while self._busy:
                self._cond.wait()
            result, self._result, self._owner = self._result, None, None
            return result


_lane: _Lane | None = None
_lane_lock = threading.Lock()


def _get_lane() -> _Lane:
    global _lane
    with _lane_lock:
        if _lane is None:
            _lane = _Lane()
        return _lane


_INPUTS = ("position", "radius", "type", "repulsion", "adhesion", "rel_max_adh", "affinity")


def _inputs(solver) -> tuple:
    """What the neighbour scan reads: agents' positions and mechanical parameters."""
    a = solver.agents
    n = a.n
    return (a.position[:n], a.radius[:n], a.type[:n], a.repulsion[:n, 0], a.adhesion[:n, 0], a.rel_max_adh[:n, 0],
            a.affinity[:n])


def start_forces_ahead(solver) -> None:
    """Start the next step's neighbour scan and forces on the second lane (two-lane steps).

    Called after the step's positions, arrivals and departures, before its last diffusion
    steps; skipped when the next step starts with a phenotype step (it changes the agents).
    """
    if not getattr(solver, "_forces_ahead_allowed", False) or solver.agents.n == 0:
        return
    if (solver.mechanics_step + 1) % solver.mechanics_per_phenotype == 0:
        return
    snap = tuple(x.copy() for x in _inputs(solver))
    with_list = bool(solver.interactions_active)
    width = solver._nbr.shape[1]
    lo, hi, use_2d = solver.lo.copy(), solver.hi.copy(), solver.use_2d
    n_types = solver.n_types

    def job():
        return snap, with_list, lo, hi, _forces_of(snap, lo, hi, use_2d, with_list, width, n_types)

    if _get_lane().submit(solver, job):
        solver._forces_ahead_pending = True


def _forces_of(snap, lo, hi, use_2d, with_list, width, n_types):
    import numpy as np

    from . import solver as solver_module  # its grid functions, as TissueSolver._grid calls them
    from .mechanics import ContactCells, ForceOutput, ScanScratch, neighbour_forces

    pos, radius, ctype, rep, adh, rel, aff = snap
    n = pos.shape[0]
    # the grid exactly as TissueSolver._grid builds it from the same values
    sm = solver_module
    e_cut, _ = sm.ordinary_extent(radius, rel)
    blo, bhi = sm.bounds(pos, n, lo, hi)
    size, dims = sm.grid_geometry(blo, bhi, 2.0 * e_cut, use_2d, n)
    start, order, _ = sm.build_grid(pos, n, blo, size, dims)
    velocity = np.empty((n, 3))
    pressure = np.empty(n)
    nbr = np.empty((n, width), dtype=np.int32)
    count = np.zeros(n, dtype=np.int64)
    neighbour_forces(n, ContactCells(pos, radius, ctype, rep, adh, rel, aff), (start, order, blo, size, dims, e_cut),
                     ForceOutput(velocity, pressure, nbr, count), ScanScratch(np.empty((n, 8)), np.empty((n, n_types))),
                     with_forces=True, with_list=with_list)
    return velocity, pressure, nbr, count


def take_forces_ahead(solver, with_list: bool) -> bool:
    """Use the forces the second lane computed for this step, if they are this step's.

    True when the agents' velocities and pressures (and, with ``with_list``, the neighbour
    list) were written from it: every input the lane read equals the agents' values now.
    """
    import numpy as np

    if not getattr(solver, "_forces_ahead_pending", False):
        return False
    solver._forces_ahead_pending = False
    result = _get_lane().take(solver)
    if result is None or isinstance(result, BaseException):
        return False  # computed again here (an error would recur there, with its traceback)
    snap, ahead_list, lo, hi, (velocity, pressure, nbr, count) = result
    if (ahead_list != with_list or not np.array_equal(lo, solver.lo) or not np.array_equal(hi, solver.hi)
            or nbr.shape[1] != solver._nbr.shape[1]):
        return False
    now = _inputs(solver)
    if now[0].shape != snap[0].shape or not all(np.array_equal(x, y) for x, y in zip(now, snap)):
        return False
    n = now[0].shape[0]
    if with_list and n and int(count.max()) > nbr.shape[1]:
        return False  # a crowded tissue: the solver widens its list and scans again
    a = solver.agents
    a.velocity[:n] = velocity
    a.pressure[:n] = pressure
    if with_list:
        solver._nbr[:n] = nbr
        solver._nbr_count[:n] = count
    solver._nbr_fresh = with_list
    return True
