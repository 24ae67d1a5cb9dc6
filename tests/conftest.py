"""Shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import numba
import pytest

from tropism.tissue.solver import set_threads

#: this folder (tests/, with data/ and fixtures/) and the repository root: data paths that do not
#: change when a test file moves between the package folders below
TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


@pytest.fixture(autouse=True)
def _one_thread_per_test_worker():
    """Under pytest-xdist each worker runs its tests on one kernel thread (a test that
    compares thread counts sets its own). The workers already fill the cores, and kernels on
    every core in every worker left OpenMP threads spinning beside another worker's
    compilation: a fresh clone's suite took 18 min instead of 6."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        set_threads(1)
    yield


@pytest.fixture()
def one_thread():
    """Run on one kernel thread (fast and load-independent on a busy 2-core machine)."""
    before = numba.get_num_threads()
    set_threads(1)
    yield
    set_threads(before)


def needs_threads(n: int = 2):
    """Mark a test that compares thread counts: skipped, with the reason, where Numba has
    fewer than ``n`` threads (one thread against one would pass without testing anything)."""
    have = numba.config.NUMBA_NUM_THREADS
    return pytest.mark.skipif(have < n, reason=f"compares thread counts: needs {n} Numba threads, has {have}")


def bench_models() -> Path:
    """The shared PhysiCell bench models: ../shared/bench beside the checkout, or else the
    in-repo copies of growth_2d and rules_3types (tests/fixtures/bench), so a clone without
    the steering repository still tests the reader and writer. TROPISM_TESTS_WITHOUT_SHARED=1
    forces the in-repo copies."""
    shared = REPO.parent / "shared" / "bench"
    if shared.is_dir() and not os.environ.get("TROPISM_TESTS_WITHOUT_SHARED"):
        return shared
    return TESTS / "fixtures" / "bench"
