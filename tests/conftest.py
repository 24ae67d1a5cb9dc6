"""Shared fixtures."""

from __future__ import annotations

import numba
import pytest

from tropism.tissue.solver import set_threads


@pytest.fixture()
def one_thread():
    """Run on one kernel thread (fast and load-independent on a busy 2-core machine)."""
    before = numba.get_num_threads()
    set_threads(1)
    yield
    set_threads(before)
