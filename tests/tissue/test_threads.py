"""The thread policy (tissue/threads.py): idle OpenMP threads spin briefly, unless the user chose."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tropism.tissue import threads

_PROBE = "import os, tropism; print(os.environ.get('GOMP_SPINCOUNT'), os.environ.get('OMP_WAIT_POLICY'))"


def _env_after_import(**env) -> str:
    base = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    return subprocess.run([sys.executable, "-c", _PROBE], env={**base, **env}, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_importing_tropism_sets_a_bounded_spin():
    assert _env_after_import() == f"{threads.SPIN_COUNT} None"


@pytest.mark.parametrize("env, expected", [({"OMP_WAIT_POLICY": "ACTIVE"}, "None ACTIVE"),
                                           ({"GOMP_SPINCOUNT": "7"}, "7 None")])
def test_a_users_policy_is_left_alone(env, expected):
    assert _env_after_import(**env) == expected
