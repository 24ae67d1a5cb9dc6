"""Centre-based mechanics (PhysiCell's potentials), motility and the position update."""

from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from .neighbors import bin_geometry, bounds, build_grid
from .rng import STREAM_MOTILITY_DIR, STREAM_MOTILITY_TURN, uniform, uniform_k
from .stencil import difference
from .threads import LIGHT_SERIAL_AGENTS  # light per-agent loops run serially below it

# PhysiCell normalises the summed squared overlaps so that a cell in a packed 2D hexagonal
# arrangement reads a pressure of about 1 (PhysiCell_cell.cpp, simple_pressure_scale).
SIMPLE_PRESSURE_SCALE = 0.027288820670331
_MIN_DISTANCE = 1e-5


@nb.njit(inline="always")
def _bin_coord(x, lo, size, dim):
    c = int((x - lo) / size)
    if c < 0:
        return 0
    if c >= dim:
        return dim - 1
    return c


@nb.njit(inline="always")
def _gather_one(q, pos, radius, ctype, repulsion, adhesion, rel_max_adh, affinity, order, near, near_affinity):
    j = order[q]
    near[q, 0] = pos[j, 0]
    near[q, 1] = pos[j, 1]
    near[q, 2] = pos[j, 2]
    near[q, 3] = radius[j]
    near[q, 4] = math.sqrt(repulsion[j])
    near[q, 5] = math.sqrt(adhesion[j])
    near[q, 6] = rel_max_adh[j] * radius[j]
    near[q, 7] = ctype[j]
    for t in range(affinity.shape[1]):
        near_affinity[q, t] = affinity[j, t]


@nb.njit(inline="always")
def _gather(n, pos, radius, ctype, repulsion, adhesion, rel_max_adh, affinity, order, near, near_affinity):
    # what the scan reads, in bin order: neighbours sit next to each other in memory. The
    # square roots of each agent's repulsion and adhesion are taken once here, not per pair,
    # and the adhesion reach is kept as a distance (relative reach × radius)
    if n < LIGHT_SERIAL_AGENTS:
        for q in range(n):
            _gather_one(q, pos, radius, ctype, repulsion, adhesion, rel_max_adh, affinity, order, near, near_affinity)
    else:
        for q in nb.prange(n):
            _gather_one(q, pos, radius, ctype, repulsion, adhesion, rel_max_adh, affinity, order, near, near_affinity)


@nb.njit(inline="always")
def _window(x, y, z, lo, size, dims, reach):
    # the bins within ``reach`` of a point: x, y and z ranges (inclusive first, exclusive last)
    span = int(math.ceil(reach / size))
    cx = _bin_coord(x, lo[0], size, dims[0])
    cy = _bin_coord(y, lo[1], size, dims[1])
    cz = _bin_coord(z, lo[2], size, dims[2])
    return (max(cx - span, 0), min(cx + span + 1, dims[0]), max(cy - span, 0), min(cy + span + 1, dims[1]),
            max(cz - span, 0), min(cz + span + 1, dims[2]))


@nb.njit(inline="always")
def _own(near, q):
    # what a scanning agent reads of itself once: position, radius, √repulsion, √adhesion,
    # adhesion reach and type
    return (near[q, 0], near[q, 1], near[q, 2], near[q, 3], near[q, 4], near[q, 5], near[q, 6],
            int(near[q, 7]))


@nb.njit(inline="always")
def _extent(near, q):
    # how far agent q reaches: a pair interacts only closer than max(R, A) ≤ e_i + e_j
    return near[q, 3] if near[q, 3] > near[q, 6] else near[q, 6]


@nb.njit(inline="always")
def _contact(near, near_affinity, q, d2, ri, srep_i, sadh_i, ai, ti, aff_i):
    """Whether agents i (given by its values) and ``near[q]`` at squared distance ``d2``
    interact, the pair's force over distance (repulsion − adhesion, PhysiCell 1.14) and
    squared overlap (the pressure term); the same numbers from either side of the pair."""
    rj = near[q, 3]
    big_r = ri + rj
    reach = ai + near[q, 6]
    lim = big_r if big_r > reach else reach
    if d2 >= lim * lim:
        return False, 0.0, 0.0
    d = math.sqrt(d2)
    if d < _MIN_DISTANCE:
        d = _MIN_DISTANCE
    f = 0.0
    overlap = 0.0
    if d < big_r:
        t = 1.0 - d / big_r
        overlap = t * t
        f = overlap * (srep_i * near[q, 4])
    if d < reach:
        t = 1.0 - d / reach
        t *= t
        f -= t * (sadh_i * near[q, 5]) * math.sqrt(aff_i[int(near[q, 7])] * near_affinity[q, ti])
    return True, f / d, overlap


@nb.njit(inline="always")
def _scan(qi, near, near_affinity, start, order, lo, size, dims, e_cut, with_forces, with_list, nbr_row):
    """The neighbour scan of an ordinary agent ``order[qi]``: its force sum and neighbour list
    among the ordinary agents (extent e ≤ ``e_cut``; the few larger ones are added by
    :func:`_large_agents`).

    Bins are ``e_cut`` wide or more, so ±⌈2 e_cut / size⌉ bins cover every ordinary pair:
    about 40 % fewer candidates in 2D than 3×3 bins of the full reach. Along x the bins of
    one row are consecutive in bin order, so each row is one run of ``near``. A candidate
    beyond 2 e_cut is rejected before its own reach is computed. Inlined into each kernel with
    constant flags, so the compiler drops what a kernel does not need. Returns (vx, vy, vz,
    summed squared overlap, neighbour count).
    """
    width = nbr_row.shape[0]
    xi, yi, zi, ri, srep_i, sadh_i, ai, ti = _own(near, qi)
    aff_i = near_affinity[qi]
    vx = vy = vz = p = 0.0
    count = 0
    lim2_max = 4.0 * e_cut * e_cut
    x0, x1, y0, y1, z0, z1 = _window(xi, yi, zi, lo, size, dims, 2.0 * e_cut)
    for bz in range(z0, z1):
        for by in range(y0, y1):
            row = dims[0] * (by + dims[1] * bz)
            for q in range(start[row + x0], start[row + x1]):
                dx = xi - near[q, 0]
                dy = yi - near[q, 1]
                dz = zi - near[q, 2]
                d2 = dx * dx + dy * dy + dz * dz
                if d2 >= lim2_max or q == qi or _extent(near, q) > e_cut:
                    continue
                hit, f, overlap = _contact(near, near_affinity, q, d2, ri, srep_i, sadh_i, ai, ti, aff_i)
                if not hit:
                    continue
                if with_list:
                    if count < width:
                        nbr_row[count] = order[q]
                    count += 1
                if with_forces:
                    p += overlap
                    vx += f * dx
                    vy += f * dy
                    vz += f * dz
    return vx, vy, vz, p, count


@nb.njit(parallel=True, cache=True, nogil=True)
def _forces(n, pos, radius, ctype, repulsion, adhesion, rel_max_adh, affinity, start, order, lo, size, dims,
            e_cut, velocity, pressure, near, near_affinity, nbr, nbr_count):
    _gather(n, pos, radius, ctype, repulsion, adhesion, rel_max_adh, affinity, order, near, near_affinity)
    for qi in nb.prange(n):
        i = order[qi]
        vx, vy, vz, p, _ = _scan(qi, near, near_affinity, start, order, lo, size, dims, e_cut, True, False, nbr[0])
        velocity[i, 0] = vx
        velocity[i, 1] = vy
        velocity[i, 2] = vz
        pressure[i] = p / SIMPLE_PRESSURE_SCALE


@nb.njit(parallel=True, cache=True, nogil=True)
def _forces_and_list(n, pos, radius, ctype, repulsion, adhesion, rel_max_adh, affinity, start, order, lo, size,
                     dims, e_cut, velocity, pressure, near, near_affinity, nbr, nbr_count):
    _gather(n, pos, radius, ctype, repulsion, adhesion, rel_max_adh, affinity, order, near, near_affinity)
    for qi in nb.prange(n):
        i = order[qi]
        vx, vy, vz, p, c = _scan(qi, near, near_affinity, start, order, lo, size, dims, e_cut, True, True, nbr[i])
        velocity[i, 0] = vx
        velocity[i, 1] = vy
        velocity[i, 2] = vz
        pressure[i] = p / SIMPLE_PRESSURE_SCALE
        nbr_count[i] = c


@nb.njit(parallel=True, cache=True, nogil=True)
def _list(n, pos, radius, ctype, repulsion, adhesion, rel_max_adh, affinity, start, order, lo, size, dims,
          e_cut, velocity, pressure, near, near_affinity, nbr, nbr_count):
    _gather(n, pos, radius, ctype, repulsion, adhesion, rel_max_adh, affinity, order, near, near_affinity)
    for qi in nb.prange(n):
        i = order[qi]
        _, _, _, _, c = _scan(qi, near, near_affinity, start, order, lo, size, dims, e_cut, False, True, nbr[i])
        nbr_count[i] = c


@nb.njit(cache=True, nogil=True)
def _large_agents(n, start, order, lo, size, dims, e_cut, with_forces, with_list, velocity, pressure, near,
                  near_affinity, nbr, nbr_count):
    """The pairs of the few agents that reach farther than ``e_cut`` (an MSC among tumour
    cells, a swollen necrotic cell), which the ordinary scan leaves out: each such agent, in
    bin order, scans ±⌈(e_i + e_max) / size⌉ bins and adds every pair to its own sums and,
    for an ordinary partner, the same pair seen from the other side to the partner's (a
    large partner adds its own side in its turn). Serial, so the order of the sums is
    fixed; the ordinary scan then needs bins of the ordinary reach only.
    """
    e_max = 0.0
    for q in range(n):
        e = _extent(near, q)
        if e > e_max:
            e_max = e
    if e_max <= e_cut:
        return
    width = nbr.shape[1]
    for qi in range(n):
        ei = _extent(near, qi)
        if ei <= e_cut:
            continue
        i = order[qi]
        xi, yi, zi, ri, srep_i, sadh_i, ai, ti = _own(near, qi)
        aff_i = near_affinity[qi]
        vx = vy = vz = p = 0.0
        count = 0
        reach = ei + e_max
        x0, x1, y0, y1, z0, z1 = _window(xi, yi, zi, lo, size, dims, reach)
        for bz in range(z0, z1):
            for by in range(y0, y1):
                row = dims[0] * (by + dims[1] * bz)
                for q in range(start[row + x0], start[row + x1]):
                    dx = xi - near[q, 0]
                    dy = yi - near[q, 1]
                    dz = zi - near[q, 2]
                    d2 = dx * dx + dy * dy + dz * dz
                    if d2 >= reach * reach or q == qi:
                        continue
                    hit, f, overlap = _contact(near, near_affinity, q, d2, ri, srep_i, sadh_i, ai, ti, aff_i)
                    if not hit:
                        continue
                    j = order[q]
                    partner_ordinary = _extent(near, q) <= e_cut
                    if with_list:
                        if count < width:
                            nbr[i, count] = j
                        count += 1
                        if partner_ordinary:
                            if nbr_count[j] < width:
                                nbr[j, nbr_count[j]] = i
                            nbr_count[j] += 1
                    if with_forces:
                        p += overlap
                        vx += f * dx
                        vy += f * dy
                        vz += f * dz
                        if partner_ordinary:
                            pressure[j] += overlap / SIMPLE_PRESSURE_SCALE
                            velocity[j, 0] -= f * dx
                            velocity[j, 1] -= f * dy
                            velocity[j, 2] -= f * dz
        if with_forces:
            velocity[i, 0] = vx
            velocity[i, 1] = vy
            velocity[i, 2] = vz
            pressure[i] = p / SIMPLE_PRESSURE_SCALE
        if with_list:
            nbr_count[i] = count


class ContactCells(NamedTuple):
    """What the neighbour scan reads of each agent: centre, radius, type, repulsion and
    adhesion strengths, relative adhesion reach and adhesion affinity to each type."""

    pos: np.ndarray
    radius: np.ndarray
    ctype: np.ndarray
    repulsion: np.ndarray
    adhesion: np.ndarray
    rel_max_adh: np.ndarray
    affinity: np.ndarray

    @classmethod
    def of(cls, agents) -> "ContactCells":
        """The bundle of an :class:`~tropism.tissue.agents.Agents` (its own arrays)."""
        a = agents
        return cls(a.position, a.radius, a.type, a.repulsion[:, 0], a.adhesion[:, 0], a.rel_max_adh[:, 0],
                   a.affinity)


class ForceOutput(NamedTuple):
    """What the neighbour scan writes: velocities and pressures (with forces) and the
    neighbour list (``nbr[i, :nbr_count[i]]``, with a list)."""

    velocity: np.ndarray
    pressure: np.ndarray
    nbr: np.ndarray
    nbr_count: np.ndarray


class ScanScratch(NamedTuple):
    """The scan's gathered copy of its inputs in bin order (``near``: n × 8; ``near_affinity``:
    n × types), reused between steps."""

    near: np.ndarray
    near_affinity: np.ndarray


def neighbour_forces(n, cells: ContactCells, grid, out: ForceOutput, scratch: ScanScratch, *,
                     with_forces: bool, with_list: bool):
    """The step's neighbour list and, with ``with_forces``, the adhesion and repulsion velocities.

    One neighbour scan (``_scan``) serves the tissue. Agent j is a neighbour of i when their
    centres are closer than max(R, A), R = r_i + r_j and A = rel_i r_i + rel_j r_j the adhesion
    reach; with ``with_list``, ``nbr[i, :nbr_count[i]]`` lists them, ordinary neighbours in
    bin order, then large ones (``nbr_count`` counts all, so a count above ``nbr.shape[1]``
    means the list must be rebuilt wider). Contact counts and contact interactions read this
    list, in this order; a step in which nothing will read it only sums the forces.

    Forces (PhysiCell 1.14): repulsion sqrt(rep_i rep_j)(1 − d/R)² while d < R, adhesion
    sqrt(adh_i adh_j aff_ij aff_ji)(1 − d/A)² while d < A, along the line of centres; each
    agent sums its own neighbours in a fixed order, so results do not depend on threads.

    ``grid`` is ``(start, order, lo, size, dims, e_cut[, e_max])`` (:func:`contact_grid`): the bins of
    :func:`~tropism.tissue.neighbors.build_grid` and the extent max(r, rel r) that divides
    ordinary agents, scanned in parallel with bins of their own reach, from the few larger
    ones, whose pairs a serial pass adds (:func:`_large_agents`); bins must be at least
    ``e_cut`` wide (:func:`~tropism.tissue.neighbors.grid_geometry` of 2 e_cut). What the
    scan reads is first gathered into bin order (``near``: x, y, z, r, √repulsion,
    √adhesion, adhesion reach, type; ``near_affinity``: affinity rows), so that neighbours
    sit next to each other in memory whatever order the agents are stored in.

    ``cells`` (:class:`ContactCells`) is read, ``out`` (:class:`ForceOutput`) written: the
    velocities and pressures only ``with_forces``, the list only ``with_list``.
    """
    pos, radius, ctype, repulsion, adhesion, rel_max_adh, affinity = cells
    velocity, pressure, nbr, nbr_count = out
    near, near_affinity = scratch
    start, order, lo, size, dims, e_cut = grid[:6]
    e_cut = float(e_cut)
    larger = len(grid) < 7 or grid[6] > e_cut  # e_max, when the grid knows it: any large agents?
    args = (n, pos, radius, ctype, repulsion, adhesion, rel_max_adh, affinity, start, order, lo, size, dims, e_cut,
            velocity, pressure, near, near_affinity, nbr, nbr_count)
    # one compiled kernel per flag pair: the scan's branches on them fold away
    if with_forces and with_list:
        _forces_and_list(*args)
    elif with_forces:
        _forces(*args)
    elif with_list:
        _list(*args)
    else:
        return
    if larger:
        _large_agents(n, start, order, lo, size, dims, e_cut, with_forces, with_list, velocity, pressure, near,
                      near_affinity, nbr, nbr_count)


#: how much more a candidate pair costs in the serial pass of the large agents than in the
#: parallel ordinary scan (a fixed number, not the thread count: the split must be a pure
#: function of the agents so that one thread and many sum in the same order)
SERIAL_PAIR_COST = 2.0
#: the most agents the serial pass may take, as a share of all
MOST_LARGE_SHARE = 0.25


@nb.njit(cache=True, nogil=True)
def ordinary_extent(radius, rel_max_adh, dim=2):
    """(e_cut, e_max): the extent max(r, rel r) up to which agents are scanned as ordinary,
    and the largest.

    The cut is the one with the fewest candidate pairs to test: ordinary agents scan ±2 bins
    of edge ``e_cut`` ((5 e_cut)^dim of space each), an agent above the cut scans
    ±⌈(e_i + e_max)/e_cut⌉ bins in a serial pass that costs ``SERIAL_PAIR_COST`` per pair
    (at most ``MOST_LARGE_SHARE`` of the agents). A few big MSCs among small tumour cells then
    no longer widen every tumour cell's scan (in the glioma example 5 MSCs of radius 11.5 µm
    among 4,800 U87 cells of 6.5 µm would triple the candidates of every scan), nor do a
    thousand macrophages. Found from a 256-bin histogram of the extents: any ``e_cut`` gives
    the same forces (the split only decides who scans whom), and a pure function of the
    agents keeps a resumed run's summation order.
    """
    n = radius.shape[0]
    if n == 0:
        return 1.0, 1.0
    e_min = 1e300
    e_max = 0.0
    for i in range(n):
        e = radius[i] * rel_max_adh[i] if rel_max_adh[i] > 1.0 else radius[i]
        if e < e_min:
            e_min = e
        if e > e_max:
            e_max = e
    if e_max <= 1e-6:
        return 1e-6, 1e-6
    if e_max - e_min <= 1e-9 * e_max:
        return e_max, e_max
    nb_ = 256
    width = (e_max - e_min) / nb_
    counts = np.zeros(nb_, np.int64)
    for i in range(n):
        e = radius[i] * rel_max_adh[i] if rel_max_adh[i] > 1.0 else radius[i]
        b = int((e - e_min) / width)
        counts[b if b < nb_ else nb_ - 1] += 1
    allowed = max(1, int(n * MOST_LARGE_SHARE))
    best_cut = e_max
    best = float(n) * (5.0 * e_max) ** dim
    above = 0
    b = nb_ - 1
    while b > 0 and above + counts[b] <= allowed:
        above += counts[b]
        b -= 1
        if counts[b] == 0:
            continue  # a cut just above an occupied bin is as tight as it gets
        cut = e_min + (b + 1) * width  # bins b+1 … top are large
        cost = float(n - above) * (5.0 * cut) ** dim
        for k in range(b + 1, nb_):
            if counts[k]:
                reach = e_min + (k + 1) * width + e_max
                side = (2.0 * math.ceil(reach / cut) + 1.0) * cut
                cost += SERIAL_PAIR_COST * counts[k] * side ** dim
        if cost < best:
            best, best_cut = cost, cut
    return max(best_cut, 1e-6), e_max


@nb.njit(cache=True, nogil=True)
def contact_grid(pos, radius, rel_max_adh, n, lo, hi, use_2d, reach=2.0):
    """The bins of a neighbour scan: ``(start, order, box_lo, size, dims, e_cut, e_max)``.

    The extents that split ordinary agents from large ones (:func:`ordinary_extent`), the box
    the agents occupy (:func:`~tropism.tissue.neighbors.bounds`), bins for ``reach`` times
    ``e_cut`` (2, the ordinary pairs' reach; more gives other bins, the same pairs) over it (:func:`~tropism.tissue.neighbors.grid_geometry`) and the agents sorted into them
    (:func:`~tropism.tissue.neighbors.build_grid`), in one compiled call: each step builds
    them, and four calls from Python cost more than the work in a tissue of a thousand cells.
    """
    e_cut, e_max = ordinary_extent(radius[:n], rel_max_adh[:n], 2 if use_2d else 3)
    blo, bhi = bounds(pos, n, lo, hi)
    size, dims = bin_geometry(blo, bhi, reach * e_cut, use_2d, n)
    start, order, _ = build_grid(pos, n, blo, size, dims)
    return start, order, blo, size, dims, e_cut, e_max


def cell_velocities(n, cells: ContactCells, grid, velocity, pressure, scratch: ScanScratch):
    """Adhesion and repulsion velocities alone (no neighbour list kept); ``grid`` as in
    :func:`neighbour_forces`."""
    neighbour_forces(n, cells, grid, ForceOutput(velocity, pressure, np.empty((1, 1), np.int32), np.empty(1, np.int64)),
                     scratch, with_forces=True, with_list=False)


# PhysiCell's domain-edge avoidance pushes with a fixed basement-membrane repulsion of 100
# (standard_domain_edge_avoidance_interactions overwrites the cell's own value).
WALL_REPULSION = 100.0


@nb.njit(cache=True)
def wall_velocities(n, pos, radius, lo, hi, use_2d, velocity):
    """Virtual walls: a cell closer than its radius to the nearest domain face is pushed
    inwards at 100·(1 − d/r)² µm/min (PhysiCell 1.14's domain-edge avoidance).

    On one thread: a few nanoseconds an agent, less than waking a second thread costs (even
    at 10⁶ agents, about 1 % of a mechanics step)."""
    naxes = 2 if use_2d else 3
    for i in range(n):
        r = radius[i]
        best = 1e300
        axis = 0
        sign = 1.0
        for a in range(naxes):
            d0 = pos[i, a] - lo[a]
            d1 = hi[a] - pos[i, a]
            if d0 < best:
                best, axis, sign = d0, a, 1.0
            if d1 < best:
                best, axis, sign = d1, a, -1.0
        if best < r:
            d = best if best > _MIN_DISTANCE else _MIN_DISTANCE
            t = 1.0 - d / r
            velocity[i, axis] += sign * WALL_REPULSION * t * t


@nb.njit(inline="always")
def _motile_one(i, seed, step, dt, ids, ctype, death_state, voxel, motile, motility_2d, speed, persistence, bias,
                chemo_sens, normalize, use_gradients, fields, nx, ny, nz, spacing, use_2d, motility_vector, velocity):
    ns = chemo_sens.shape[1]
    t = ctype[i]
    if death_state[i] != 0 or not motile[t]:
        motility_vector[i, 0] = 0.0
        motility_vector[i, 1] = 0.0
        motility_vector[i, 2] = 0.0
        return
    pid = ids[i]
    turn = uniform(seed, pid, step, STREAM_MOTILITY_TURN) < dt / persistence[i] or persistence[i] < dt
    if turn:
        flat = use_2d or motility_2d[t]
        u1 = uniform_k(seed, pid, step, STREAM_MOTILITY_DIR, 0)
        theta = 2.0 * math.pi * u1
        if flat:
            rx, ry, rz = math.cos(theta), math.sin(theta), 0.0
        else:
            cz = 2.0 * uniform_k(seed, pid, step, STREAM_MOTILITY_DIR, 1) - 1.0
            s = math.sqrt(max(0.0, 1.0 - cz * cz))
            rx, ry, rz = s * math.cos(theta), s * math.sin(theta), cz
        gx = 0.0
        gy = 0.0
        gz = 0.0
        b = bias[i]
        if b > 0.0 and use_gradients:  # without gradients PhysiCell's bias direction stays 0
            v = voxel[i]
            k = v // (nx * ny)
            j = (v // nx) % ny
            ii = v % nx
            for s_ in range(ns):
                w = chemo_sens[i, s_]
                if w == 0.0:
                    continue
                ax = _gradient(fields, s_, ii, j, k, nx, ny, nz, spacing, 0)
                ay = _gradient(fields, s_, ii, j, k, nx, ny, nz, spacing, 1)
                az = 0.0 if use_2d else _gradient(fields, s_, ii, j, k, nx, ny, nz, spacing, 2)
                if normalize[t]:
                    gn = math.sqrt(ax * ax + ay * ay + az * az)
                    if gn > 0.0:
                        ax /= gn
                        ay /= gn
                        az /= gn
                gx += w * ax
                gy += w * ay
                gz += w * az
            if flat:
                gz = 0.0
            gn = math.sqrt(gx * gx + gy * gy + gz * gz)
            if gn > 0.0:
                gx /= gn
                gy /= gn
                gz /= gn
        dx = b * gx + (1.0 - b) * rx
        dy = b * gy + (1.0 - b) * ry
        dz = b * gz + (1.0 - b) * rz
        dn = math.sqrt(dx * dx + dy * dy + dz * dz)
        sp = speed[i] / dn if dn > 1e-16 else 0.0
        motility_vector[i, 0] = sp * dx
        motility_vector[i, 1] = sp * dy
        motility_vector[i, 2] = sp * dz
    velocity[i, 0] += motility_vector[i, 0]
    velocity[i, 1] += motility_vector[i, 1]
    velocity[i, 2] += motility_vector[i, 2]


@nb.njit(parallel=True, cache=True)
def motility(n, keys, cells, params, field, out):
    """Persistent biased random walk; redraw with probability dt/persistence per step.

    A redrawn motility vector is speed·normalise(bias·g + (1 − bias)·ξ), ξ a random unit
    vector and g the normalised sensitivity-weighted substrate gradient in the agent's voxel
    (PhysiCell's chemotaxis); between redraws the vector is kept, as in PhysiCell. It is added
    to the velocity, on top of the mechanical forces.

    Arguments come grouped: ``keys`` (seed, step, dt); ``cells`` (ids, type, death state,
    voxel); ``params`` (per type: motile, 2D; per agent: speed, persistence, bias, chemotactic
    sensitivities; per type: normalise gradients); ``field`` (use gradients, fields, mesh
    shape, spacing, 2D); ``out`` (motility vector, velocity).
    """
    seed, step, dt = keys
    # arrays by index, never unpacked: Numba 0.62 loses writes through arrays unpacked from
    # a tuple in a parallel function (tests/tissue/test_numba_tuples.py)
    ids = cells[0]
    ctype = cells[1]
    death_state = cells[2]
    voxel = cells[3]
    motile = params[0]
    motility_2d = params[1]
    speed = params[2]
    persistence = params[3]
    bias = params[4]
    chemo_sens = params[5]
    normalize = params[6]
    use_gradients = field[0]
    fields = field[1]
    shape = field[2]
    spacing = field[3]
    use_2d = field[4]
    motility_vector = out[0]
    velocity = out[1]
    nz, ny, nx = shape[0], shape[1], shape[2]
    if n < LIGHT_SERIAL_AGENTS:
        for i in range(n):
            _motile_one(i, seed, step, dt, ids, ctype, death_state, voxel, motile, motility_2d, speed, persistence,
                        bias, chemo_sens, normalize, use_gradients, fields, nx, ny, nz, spacing, use_2d,
                        motility_vector, velocity)
    else:
        for i in nb.prange(n):
            _motile_one(i, seed, step, dt, ids, ctype, death_state, voxel, motile, motility_2d, speed, persistence,
                        bias, chemo_sens, normalize, use_gradients, fields, nx, ny, nz, spacing, use_2d,
                        motility_vector, velocity)


@nb.njit(inline="always")
def _gradient(fields, s, i, j, k, nx, ny, nz, spacing, axis):
    # the field's own stencil (tropism.tissue.stencil), so a cell reads the field's gradient
    if axis == 0:
        hi, lo, f = difference(i, nx, 1.0 / spacing[0])
        return (fields[s, k, j, hi] - fields[s, k, j, lo]) * f
    if axis == 1:
        hi, lo, f = difference(j, ny, 1.0 / spacing[1])
        return (fields[s, k, hi, i] - fields[s, k, lo, i]) * f
    hi, lo, f = difference(k, nz, 1.0 / spacing[2])
    return (fields[s, hi, j, i] - fields[s, lo, j, i]) * f


@nb.njit(cache=True)
def spring_velocities(n, pos, ctype, attack_target, elastic_constant, affinity, velocity):
    """Spring between each attacker and its target, both ways: v_i += k (x_j − x_i) with
    k = sqrt(k_i aff_i[type_j] k_j aff_j[type_i]) and no rest length (PhysiCell 1.14)."""
    for i in range(n):
        j = attack_target[i]
        if j < 0:
            continue
        k = math.sqrt(elastic_constant[i] * affinity[i, ctype[j]] * elastic_constant[j] * affinity[j, ctype[i]])
        for a in range(3):
            d = pos[j, a] - pos[i, a]
            velocity[i, a] += k * d
            velocity[j, a] -= k * d


@nb.njit(cache=True)
def update_positions(n, dt, pos, velocity, previous_velocity, movable, lo, hi, use_2d, keep_inside):
    """Adams–Bashforth 2 step, x += dt(1.5 v − 0.5 v_prev), as PhysiCell integrates positions.

    On one thread, as :func:`wall_velocities`."""
    for i in range(n):
        if movable[i] > 0.0:
            for a in range(3):
                pos[i, a] += dt * (1.5 * velocity[i, a] - 0.5 * previous_velocity[i, a])
        for a in range(3):
            previous_velocity[i, a] = velocity[i, a]
        if use_2d:
            pos[i, 2] = 0.0
        if keep_inside:
            naxes = 2 if use_2d else 3
            for a in range(naxes):
                if pos[i, a] < lo[a]:
                    pos[i, a] = lo[a]
                elif pos[i, a] > hi[a]:
                    pos[i, a] = hi[a]


@nb.njit(parallel=True, cache=True)
def contact_counts(n, pos, radius, ctype, death_state, rel_max_adh, nbr, nbr_count, n_types, out_types, out_states):
    """Neighbours of each agent within adhesion reach: per type (live+dead) and per state.

    Read from the step's neighbour list (:func:`neighbour_forces`). ``out_states[:, s]``
    counts neighbours in death state s (0 live, 1 apoptotic, 2–3 necrotic). This is the
    neighbour set PhysiCell's ``contact with …`` signals read.
    """
    for i in nb.prange(n):
        for t in range(n_types):
            out_types[i, t] = 0.0
        for s in range(4):
            out_states[i, s] = 0.0
        xi, yi, zi = pos[i, 0], pos[i, 1], pos[i, 2]
        ri = radius[i]
        for k in range(nbr_count[i]):
            j = nbr[i, k]
            dx = xi - pos[j, 0]
            dy = yi - pos[j, 1]
            dz = zi - pos[j, 2]
            reach = rel_max_adh[i] * ri + rel_max_adh[j] * radius[j]
            if dx * dx + dy * dy + dz * dz < reach * reach:
                out_types[i, ctype[j]] += 1.0
                out_states[i, death_state[j]] += 1.0
