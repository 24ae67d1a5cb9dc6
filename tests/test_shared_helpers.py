"""The helpers every layer shares: the atomic file writer, "did you mean", sphere geometry."""

from __future__ import annotations

import math
import os
import stat

import numpy as np
import pytest

from tropism import geometry
from tropism.errors import allowed_with_hint, did_you_mean
from tropism.files import atomic_write_bytes, atomic_write_text


def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("old")
    atomic_write_text(p, "new\r\nline é\n")
    assert p.read_bytes() == "new\r\nline é\n".encode()
    assert sorted(x.name for x in tmp_path.iterdir()) == ["a.txt"]


def test_a_failed_write_keeps_the_old_file_whole(tmp_path, monkeypatch):
    p = tmp_path / "a.bin"
    atomic_write_bytes(p, b"old")

    def broken(fd):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError, match="disk gone"):
        atomic_write_bytes(p, b"new")
    assert p.read_bytes() == b"old"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["a.bin"]


def test_the_written_file_is_synced_and_its_mode_follows_the_umask(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    old = os.umask(0o027)
    try:
        atomic_write_bytes(tmp_path / "m", b"x")
    finally:
        os.umask(old)
    assert synced
    assert stat.S_IMODE((tmp_path / "m").stat().st_mode) == 0o640


def test_did_you_mean_names_the_nearest_allowed_name_or_nothing():
    names = ["oxygen", "glucose", "sdf1"]
    assert did_you_mean("oxygn", names) == "did you mean 'oxygen'?"
    assert did_you_mean("zzz", names) == ""
    assert allowed_with_hint("glucos", names) == "did you mean 'glucose'? oxygen, glucose, sdf1"
    assert allowed_with_hint("zzz", iter(names)) == "oxygen, glucose, sdf1"


def test_sphere_formulas_agree_with_each_other():
    d = np.array([1.0, 10.0, 16.8])
    v = geometry.sphere_volume_from_diameter(d)
    np.testing.assert_allclose(v, geometry.sphere_volume(d / 2.0), rtol=1e-15)
    np.testing.assert_allclose(geometry.sphere_radius(v), d / 2.0, rtol=1e-15)
    assert geometry.sphere_radius(2494.0) == np.cbrt(2494.0 * 3.0 / (4.0 * math.pi))
    assert geometry.FOUR_THIRDS_PI == 4.0 * math.pi / 3.0


@pytest.mark.parametrize("dim", [2, 3])
def test_a_packing_of_n_points_fills_the_radius_it_is_given(dim):
    from tropism.bench import packed_positions
    n, s = 4000, 10.0
    pos = packed_positions(n, dim, spacing=s)
    r = geometry.packed_radius(n, s, dim)
    # the n lattice points nearest the centre reach out to the packed radius (within a spacing)
    assert abs(np.linalg.norm(pos, axis=1).max() - r) < s
    assert geometry.lattice_cell(s, 2) == pytest.approx(s * s * math.sqrt(3) / 2)
    assert geometry.lattice_cell(s, 3) == pytest.approx(s ** 3 / math.sqrt(2))
