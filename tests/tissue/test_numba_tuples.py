"""Why the kernels index their grouped arguments instead of unpacking them.

With Numba 0.62, arrays unpacked from a tuple argument (``a, out = arrays``) inside a
``parallel=True`` function are written to a copy in the parallel loop: the caller's array
never sees the writes. Indexing (``out = arrays[1]``) writes through. The first test shows
the defect and fails when a Numba upgrade fixes it (then the kernels may unpack again: delete
it), the second the form the kernels use.
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np


@nb.njit(parallel=True)
def _unpacked(n, arrays):
    a, out = arrays
    for i in nb.prange(n):
        out[i] = 2.0 * a[i]


@nb.njit(parallel=True)
def _indexed(n, arrays):
    a = arrays[0]
    out = arrays[1]
    for i in nb.prange(n):
        out[i] = 2.0 * a[i]


def test_unpacked_tuple_arrays_lose_writes_in_parallel_loops():
    a = np.arange(100.0)
    out = np.zeros(100)
    _unpacked(100, (a, out))
    assert not np.array_equal(out, 2.0 * a), (
        f"Numba {nb.__version__} writes through unpacked tuple arrays: the defect is fixed "
        "upstream, the kernels may unpack again; delete this test")
    assert not out.any()


def test_indexed_tuple_arrays_write_through():
    a = np.arange(100.0)
    out = np.zeros(100)
    _indexed(100, (a, out))
    assert np.array_equal(out, 2.0 * a)


class _Pair(NamedTuple):
    a: np.ndarray
    out: np.ndarray


@nb.njit(parallel=True)
def _through_fields(n, pair):
    for i in nb.prange(n):
        pair.out[i] = 2.0 * pair.a[i]


@nb.njit(parallel=True)
def _fields_bound_first(n, pair):
    a = pair.a
    out = pair.out
    for i in nb.prange(n):
        out[i] = 2.0 * a[i]


def test_named_bundle_fields_lose_writes_inside_parallel_loops_and_write_through_when_bound_first():
    a = np.arange(100.0)
    out = np.zeros(100)
    _through_fields(100, _Pair(a, out))
    assert not np.array_equal(out, 2.0 * a), (
        f"Numba {nb.__version__} writes through a named tuple's fields in a parallel loop: the "
        "kernels (tissue.phenotype.update_volumes) may read the fields in the loop; delete this test")
    out[:] = 0.0
    _fields_bound_first(100, _Pair(a, out))
    assert np.array_equal(out, 2.0 * a)
