"""PhysiCell-format output: written by tropism, loaded by pcdl; population log; figures."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tropism.io import physicell_output as po
from tropism.io.figures import cells_over_time_figure, population_figure, snapshot_png
from tropism.io.populations import PopulationLog, read_populations

try:
    import pcdl
except ImportError:  # pcdl is a test extra; the pcdl checks are skipped without it
    pcdl = None

needs_pcdl = pytest.mark.skipif(pcdl is None, reason="pcdl (PhysiCell data loader) not installed")

# pcdl 4.1 uses pandas APIs that pandas 3 deprecates; those warnings are pcdl's, not ours.
pytestmark = pytest.mark.filterwarnings("ignore::Warning:pcdl")

SETTINGS_XML = """<?xml version="1.0" encoding="UTF-8"?>
<PhysiCell_settings version="devel-version">
    <domain>
        <x_min>-100</x_min>
        <x_max>100</x_max>
        <y_min>-80</y_min>
        <y_max>80</y_max>
        <z_min>-10</z_min>
        <z_max>10</z_max>
        <dx>20</dx>
        <dy>20</dy>
        <dz>20</dz>
        <use_2D>true</use_2D>
    </domain>
    <overall>
        <max_time units="min">120</max_time>
        <time_units>min</time_units>
        <space_units>micron</space_units>
        <dt_diffusion units="min">0.01</dt_diffusion>
        <dt_mechanics units="min">0.1</dt_mechanics>
        <dt_phenotype units="min">6</dt_phenotype>
    </overall>
    <save>
        <folder>output</folder>
        <full_data>
            <interval units="min">60</interval>
            <enable>true</enable>
        </full_data>
    </save>
    <microenvironment_setup>
        <variable name="oxygen" units="mmHg" ID="0">
            <physical_parameter_set>
                <diffusion_coefficient units="micron^2/min">100000.0</diffusion_coefficient>
                <decay_rate units="1/min">0.1</decay_rate>
            </physical_parameter_set>
            <initial_condition units="mmHg">38</initial_condition>
            <Dirichlet_boundary_condition units="mmHg" enabled="false">38</Dirichlet_boundary_condition>
        </variable>
        <variable name="exosomes" units="particles/micron^3" ID="1">
            <physical_parameter_set>
                <diffusion_coefficient units="micron^2/min">50.0</diffusion_coefficient>
                <decay_rate units="1/min">0.002</decay_rate>
            </physical_parameter_set>
            <initial_condition units="particles/micron^3">0</initial_condition>
            <Dirichlet_boundary_condition units="particles/micron^3" enabled="false">0</Dirichlet_boundary_condition>
        </variable>
    </microenvironment_setup>
    <cell_definitions>
        <cell_definition name="tumor" ID="0">
            <phenotype>
                <cycle code="5" name="live">
                    <phase_transition_rates units="1/min">
                        <rate start_index="0" end_index="0" fixed_duration="false">0.0007</rate>
                    </phase_transition_rates>
                </cycle>
            </phenotype>
        </cell_definition>
        <cell_definition name="MSC" ID="1">
            <phenotype>
                <cycle code="5" name="live">
                    <phase_transition_rates units="1/min">
                        <rate start_index="0" end_index="0" fixed_duration="false">0.0</rate>
                    </phase_transition_rates>
                </cycle>
            </phenotype>
        </cell_definition>
    </cell_definitions>
</PhysiCell_settings>
"""

NX, NY, NZ = 10, 8, 1
DX = 20.0
TYPE_NAMES = ["tumor", "MSC"]
SUBSTRATES = ["oxygen", "exosomes"]
UNITS = ["mmHg", "particles/micron^3"]


def _mesh():
    xs = -100.0 + DX / 2 + DX * np.arange(NX)
    ys = -80.0 + DX / 2 + DX * np.arange(NY)
    zs = np.array([0.0])
    z, y, x = np.meshgrid(zs, ys, xs, indexing="ij")
    return np.c_[x.ravel(), y.ravel(), z.ravel()]


def _fields(centers, t=0.0):
    flat = np.arange(centers.shape[0], dtype=float)
    oxygen = 38.0 - 0.1 * centers[:, 0] + 0.01 * centers[:, 1] + t  # known, voxel-specific
    exo = 0.5 * flat + 1e-3 * t
    return np.vstack([oxygen, exo])


def _state(seed=0, n=50):
    rng = np.random.default_rng(seed)
    # distinct positions on a jittered lattice inside the domain
    k = np.arange(n)
    x = -90.0 + 18.0 * (k % 10) + rng.uniform(0, 5, n)
    y = -70.0 + 28.0 * (k // 10) + rng.uniform(0, 5, n)
    pos = np.c_[x, y, np.zeros(n)]
    cell_type = (k % 3 == 0).astype(int)  # 17 MSC, 33 tumour
    dead = (k % 7 == 0)
    death = np.where(dead, np.where(k % 2 == 0, 1, 2), 0)  # 1 apoptosis, 2 necrosis
    cycle = np.where(death == 1, po.DEATH_MODEL_APOPTOSIS,
                     np.where(death == 2, po.DEATH_MODEL_NECROSIS, po.CYCLE_MODEL_LIVE))
    phase = np.where(death == 1, po.PHASE_APOPTOTIC,
                     np.where(death == 2, po.PHASE_NECROTIC_SWELLING, po.PHASE_LIVE))
    volume = rng.uniform(1500.0, 3000.0, n)
    cells = {
        "ID": 1000 + k,
        "position": pos,
        "total_volume": volume,
        "cell_type": cell_type,
        "cycle_model": cycle,
        "current_phase": phase,
        "elapsed_time_in_phase": rng.uniform(0, 100, n),
        "velocity": rng.normal(size=(n, 3)),
        "pressure": rng.uniform(0, 1, n),
        "dead": dead,
        "current_death_model": np.where(death == 2, 1, 0),
        "radius": np.cbrt(3 * volume / (4 * np.pi)),
        "migration_speed": np.full(n, 0.5),
        "motility_vector": rng.normal(size=(n, 3)),
        "chemotaxis_index": np.zeros(n),
        "secretion_rates": rng.uniform(0, 1, (n, 2)),
        "attack_rates": np.zeros((n, 2)),
        "exosome_load": rng.uniform(0, 10, n),  # custom label
    }
    return cells, death


def _write(out, index, t, cells, *, name=None, settings=SETTINGS_XML):
    centers = _mesh()
    return po.write_full_save(
        out, index, t,
        mesh_centers=centers, mesh_shape=(NZ, NY, NX), dx_dy_dz=(DX, DX, DX),
        fields=_fields(centers, t), substrate_names=SUBSTRATES, substrate_units=UNITS,
        cells=cells, cell_type_names=TYPE_NAMES, settings_xml_text=settings,
        name=name, use_2d=True, runtime_s=2.5 + t,
    )


@pytest.fixture()
def run_dir(tmp_path):
    out = tmp_path / "output"
    cells0, _ = _state(0)
    _write(out, 0, 0.0, cells0, name="initial")
    _write(out, 0, 0.0, cells0)
    cells1, _ = _state(1, n=45)
    _write(out, 1, 60.0, cells1)
    _write(out, 1, 60.0, cells1, name="final")
    return out


def test_files_are_physicell_layout(run_dir):
    names = set(os.listdir(run_dir))
    for stem in ("initial", "output00000000", "output00000001", "final"):
        for suffix in (".xml", "_cells.mat", "_microenvironment0.mat", "_cell_neighbor_graph.txt",
                       "_attached_cells_graph.txt"):
            assert stem + suffix in names
    assert "initial_mesh0.mat" in names
    assert (run_dir / "PhysiCell_settings.xml").read_text() == SETTINGS_XML
    assert not [n for n in names if n.endswith(".tmp")]  # no temp files left behind
    assert po.list_full_saves(run_dir) == [0, 1]


@needs_pcdl
def test_pcdl_timestep_matches_written_state(run_dir):
    cells, _ = _state(0)
    mcds = pcdl.TimeStep("output00000000.xml", output_path=str(run_dir), verbose=False)

    assert mcds.get_time() == 0.0
    assert mcds.get_runtime() == pytest.approx(2.5)
    assert mcds.get_celltype_list() == TYPE_NAMES
    assert mcds.get_substrate_list() == SUBSTRATES
    units = mcds.get_unit_dict()
    assert units["oxygen"] == "mmHg" and units["exosomes"] == UNITS[1]
    assert units["position_x"] == "microns" and units["total_volume"] == "cubic microns"
    # diffusion and decay were taken from the settings XML by substrate name
    sub = mcds.get_substrate_df()
    assert sub.loc["oxygen", "diffusion_coefficient"] == pytest.approx(1e5)
    assert sub.loc["exosomes", "decay_rate"] == pytest.approx(0.002)

    df = mcds.get_cell_df()
    assert len(df) == 50
    ids = cells["ID"]
    df = df.loc[ids]  # index is the cell ID
    np.testing.assert_allclose(df[["position_x", "position_y", "position_z"]].to_numpy(),
                               cells["position"], rtol=0, atol=1e-12)
    assert list(df["cell_type"]) == [TYPE_NAMES[t] for t in cells["cell_type"]]
    np.testing.assert_array_equal(df["dead"].to_numpy(dtype=bool), cells["dead"])
    dead_models = set(df.loc[df["dead"], "cycle_model"])
    assert dead_models == {"apoptosis_death_model", "necrosis_death_model"}
    assert set(df.loc[~df["dead"], "current_phase"]) == {"live"}
    np.testing.assert_allclose(df["total_volume"], cells["total_volume"])
    np.testing.assert_allclose(df[["oxygen_secretion_rates", "exosomes_secretion_rates"]],
                               cells["secretion_rates"])
    assert "tumor_attack_rates" in df.columns and "MSC_attack_rates" in df.columns
    np.testing.assert_allclose(df["exosome_load"], cells["exosome_load"])

    # substrate values at every voxel
    centers = _mesh()
    fields = _fields(centers, 0.0)
    conc = mcds.get_conc_df()
    assert len(conc) == NX * NY * NZ
    flat = (conc["voxel_i"] + NX * (conc["voxel_j"] + NY * conc["voxel_k"])).to_numpy()
    np.testing.assert_allclose(conc[["mesh_center_m", "mesh_center_n", "mesh_center_p"]].to_numpy(),
                               centers[flat])
    np.testing.assert_allclose(conc["oxygen"].to_numpy(), fields[0, flat])
    np.testing.assert_allclose(conc["exosomes"].to_numpy(), fields[1, flat])
    # and the concentration pcdl attaches to each cell is that of its voxel
    i = np.floor((cells["position"][:, 0] + 100.0) / DX).astype(int)
    j = np.floor((cells["position"][:, 1] + 80.0) / DX).astype(int)
    np.testing.assert_allclose(df["oxygen"].to_numpy(), fields[0, i + NX * j])


@needs_pcdl
def test_pcdl_reads_settings_xml_and_time_series(run_dir):
    mcds = pcdl.TimeStep(str(run_dir / "output00000001.xml"), settingxml="PhysiCell_settings.xml",
                         verbose=False)
    assert mcds.get_celltype_list() == TYPE_NAMES
    assert len(mcds.get_cell_df()) == 45

    series = pcdl.TimeSeries(str(run_dir), verbose=False)
    steps = series.get_mcds_list()
    assert [s.get_time() for s in steps] == [0.0, 60.0]  # output*.xml only, not initial/final
    assert [len(s.get_cell_df()) for s in steps] == [50, 45]
    final = pcdl.TimeStep("final.xml", output_path=str(run_dir), verbose=False)
    assert final.get_time() == 60.0


def test_read_full_save_round_trip(run_dir):
    cells, _ = _state(1, n=45)
    save = po.read_full_save(run_dir, 1)
    assert save["time"] == 60.0
    assert list(save["cells"]) == list(cells)  # same labels, same order
    for label, value in cells.items():
        np.testing.assert_array_equal(save["cells"][label], np.asarray(value, dtype=float))
    np.testing.assert_array_equal(save["fields"], _fields(_mesh(), 60.0))
    np.testing.assert_array_equal(save["mesh_centers"], _mesh())
    assert save["mesh_shape"] == (NZ, NY, NX)
    assert save["cell_type_names"] == {0: "tumor", 1: "MSC"}
    assert save["substrate_names"] == SUBSTRATES
    np.testing.assert_allclose(save["bounding_box"], [-100, -80, -10, 100, 80, 10])
    assert save["cell_units"]["velocity"] == "micron/min"
    assert po.read_full_save(run_dir, "initial")["time"] == 0.0


def test_existing_mesh_and_settings_are_kept(run_dir):
    mesh_before = (run_dir / "initial_mesh0.mat").read_bytes()
    cells, _ = _state(2)
    _write(run_dir, 2, 120.0, cells, settings="<PhysiCell_settings/>")
    assert (run_dir / "PhysiCell_settings.xml").read_text() == SETTINGS_XML
    assert (run_dir / "initial_mesh0.mat").read_bytes() == mesh_before


@needs_pcdl
def test_empty_3d_save_loads(tmp_path):
    nx, ny, nz = 4, 3, 2
    d = (10.0, 20.0, 30.0)
    z, y, x = np.meshgrid(15 + 30 * np.arange(nz), 10 + 20 * np.arange(ny), 5 + 10 * np.arange(nx),
                          indexing="ij")
    centers = np.c_[x.ravel(), y.ravel(), z.ravel()].astype(float)
    cells = {lab: (np.zeros((0, 3)) if lab == "position" else np.zeros(0))
             for lab in po.PCDL_REQUIRED_LABELS}
    po.write_full_save(tmp_path, 0, 5.0, mesh_centers=centers, mesh_shape=(nz, ny, nx), dx_dy_dz=d,
                       fields=np.arange(nx * ny * nz, dtype=float)[None], substrate_names=["o2"],
                       substrate_units=["mmHg"], cells=cells, cell_type_names={0: "a"},
                       diffusion_coefficients=[1.0], decay_rates=[0.5])
    mcds = pcdl.TimeStep("output00000000.xml", output_path=str(tmp_path), verbose=False)
    assert len(mcds.get_cell_df()) == 0
    conc = mcds.get_conc_df()
    flat = conc["voxel_i"] + nx * (conc["voxel_j"] + ny * conc["voxel_k"])
    np.testing.assert_array_equal(conc["o2"].to_numpy(), flat.to_numpy(dtype=float))
    assert mcds.get_voxel_volume() == pytest.approx(6000.0)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c.update(pressure=np.zeros(3)), "same cells"),
        (lambda c: c.update(position=c["position"][:, :2]), "position"),
        (lambda c: c.pop("chemotaxis_index"), "chemotaxis_index"),
        (lambda c: c.update(secretion_rates=np.zeros((50, 3))), "secretion_rates"),
        (lambda c: c.update(ID=np.zeros(50)), "repeated cell IDs"),
        (lambda c: c.update(cell_type=np.full(50, 5)), "not in cell_type_names"),
        (lambda c: c.update(velocity=np.array(["a"] * 50)), "numeric"),
    ],
)
def test_bad_cells_raise_value_error(tmp_path, change, message):
    cells, _ = _state(0)
    change(cells)
    with pytest.raises(ValueError, match=message):
        _write(tmp_path, 0, 0.0, cells)
    assert not list(tmp_path.glob("*.xml"))


def test_validate_and_order_helpers():
    cells, _ = _state(0)
    assert po.validate_cells(cells, n_substrates=2, n_cell_types=2) == 50
    shuffled = dict(reversed(list(cells.items())))
    ordered = list(po.ordered_cells(shuffled))
    standard = [lab.name for lab in po.STANDARD_CELL_LABELS]
    assert ordered[:-1] == [lab for lab in standard if lab in cells]
    assert ordered[-1] == "exosome_load"
    assert po.cell_label_units("position") == "microns"
    for lab in ("damage", "total_attack_time", "contact_with_basement_membrane",
                "current_cycle_phase_exit_rate", "elapsed_time_in_death_model",
                "motility_bias_direction", "persistence_time", "motility_reserved", "orientation"):
        assert lab in po.KNOWN_CELL_LABELS


def test_population_log(tmp_path):
    log = PopulationLog(tmp_path, TYPE_NAMES)
    cells, death = _state(0)
    counts = log.record(0.0, cells["cell_type"], cells["dead"], death)
    ct, dead = cells["cell_type"], cells["dead"]
    assert counts["tumor_live"] == np.sum((ct == 0) & ~dead)
    assert counts["MSC_dead"] == np.sum((ct == 1) & dead)
    assert counts["tumor_apoptotic"] + counts["tumor_necrotic"] == counts["tumor_dead"]
    log.record(60.0, [0, 0, 1], [False, True, True], [0, 2, 1])

    # reopen (restart): header kept, rows appended; a partial last line is cut off
    with open(log.path, "a") as fh:
        fh.write("120.0,1,2")
    log2 = PopulationLog(tmp_path, TYPE_NAMES)
    log2.record(120.0, [1], [False], [0])
    lines = log.path.read_text().splitlines()
    assert lines[0] == ("time_min,tumor_live,tumor_dead,tumor_apoptotic,tumor_necrotic,"
                        "MSC_live,MSC_dead,MSC_apoptotic,MSC_necrotic")
    assert lines[2] == "60.0,1,1,0,1,0,1,1,0"
    assert lines[3] == "120.0,0,0,0,0,1,0,0,0"
    assert len(lines) == 4
    data = read_populations(log.path)
    np.testing.assert_array_equal(data["time_min"], [0.0, 60.0, 120.0])

    with pytest.raises(ValueError, match="header"):
        PopulationLog(tmp_path, ["other"])
    with pytest.raises(ValueError, match="outside"):
        log2.record(180.0, [2], [False], [0])


def _is_png(path: Path) -> bool:
    data = Path(path).read_bytes()
    return len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n"


def test_figures(run_dir, tmp_path):
    cells, death = _state(0)
    centers = _mesh()
    field = _fields(centers)[0].reshape(NY, NX)
    png = snapshot_png(tmp_path / "snap.png", cells["position"], cells["radius"], cells["cell_type"],
                       cells["dead"], TYPE_NAMES, (-100, 100, -80, 80), 0.0, field=field,
                       field_name="oxygen (mmHg)")
    assert _is_png(png)

    log = PopulationLog(run_dir, TYPE_NAMES)
    for t in (0.0, 60.0, 120.0):
        log.record(t, cells["cell_type"], cells["dead"], death)
    assert _is_png(population_figure(log.path, tmp_path / "pop.png"))
    assert _is_png(cells_over_time_figure(run_dir, tmp_path / "cells.png", max_panels=6))
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("with_field", [False, True])
def test_a_reused_snapshot_canvas_draws_what_a_fresh_one_draws(tmp_path, with_field):
    # a run reuses one figure for its snapshots: a frame must not carry anything of the one
    # before it (cells, title, the field's pixels or colour scale)
    from tropism.io import figures

    def frame(seed, name):
        g = np.random.default_rng(seed)
        n = 300 + 100 * seed
        pos = np.column_stack([g.uniform(-200, 200, (n, 2)), np.zeros(n)])
        kw = {"field": g.random((20, 20)) * 10.0 ** seed, "field_name": "oxygen (mmHg)"} if with_field else {}
        return snapshot_png(tmp_path / name, pos, np.full(n, 8.4), g.integers(0, 3, n), g.random(n) < 0.1,
                            ["a", "b", "c"], (-200, 200, -200, 200), 60.0 * seed, **kw).read_bytes()

    figures._canvas = None
    fresh = frame(1, "fresh.png")
    other = frame(3, "other.png")
    again = frame(1, "again.png")
    assert figures._canvas is not None  # the second and third frames drew on the first's figure
    assert again == fresh
    assert other != fresh
