"""Why the kernels index their grouped arguments instead of unpacking them.

With Numba 0.62, arrays unpacked from a tuple argument (``a, out = arrays``) inside a
``parallel=True`` function are written to a copy in the parallel loop: the caller's array
never sees the writes. Indexing (``out = arrays[1]``) writes through. The first test shows
the defect and fails when a Numba upgrade fixes it (then the kernels may unpack again: delete
it), the second the form the kernels use.
"""

from __future__ import annotations

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
