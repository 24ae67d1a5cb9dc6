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


def test_the_tuner_gives_the_cores_up_under_load_and_takes_them_back(monkeypatch):
    counts = []
    monkeypatch.setattr(threads, "runnable_tasks", lambda: counts.pop(0))
    t = threads.ThreadTuner(threads=2, cores=2, window=1, calm=3)

    def after(*ready):
        for r in ready:
            counts.append(r)
            t.step()
        return t.one

    assert after(2, 2, 1) is False  # this run's two threads alone: room
    assert after(4) is False  # one crowded count is a passing task
    assert after(4, 3) is True  # twice in a row: another run wants the cores
    assert after(2, 2) is True  # on one thread, the other run's thread still wants one
    assert after(1, 1) is True and after(1) is False  # three calm counts in a row: all threads again
    monkeypatch.setattr(threads, "runnable_tasks", lambda: None)
    assert after(None) is False  # no load figure (not Linux): all threads
