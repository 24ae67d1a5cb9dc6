"""End to end: run_model writes PhysiCell output that pcdl reads back as the solver's state."""

from __future__ import annotations

import numba
import numpy as np
import pytest
import scipy.io

from tropism.io import physicell_output as po
from tropism.io.populations import read_populations
from tropism.model import (CellType, Chemotaxis, Clocks, Cycle, Domain, InitialCells, Mechanics, Model, Motility,
                           PhaseLink, SaveOptions, SecretionParameters, Substrate)
from tropism.model.phenotype import default_apoptosis, default_necrosis
from tropism.run import run_model
from tropism.tissue.agents import LIVE
from tropism.tissue.solver import TissueSolver, set_threads

from conftest import needs_threads

try:
    import pcdl
except ImportError:  # pcdl is a test extra
    pcdl = None

needs_pcdl = pytest.mark.skipif(pcdl is None, reason="pcdl (PhysiCell data loader) not installed")
pytestmark = pytest.mark.filterwarnings("ignore::Warning:pcdl")

TYPES = ["tumor", "walker"]
SUBS = ["oxygen", "signal"]
SEED = 17
HALF = 120.0
DX = 20.0


@pytest.fixture(autouse=True)
def restore_threads():
    before = numba.get_num_threads()
    yield
    set_threads(before)


def small_model() -> Model:
    rng = np.random.default_rng(5)
    n = 120
    pos = np.c_[rng.uniform(-90.0, 90.0, (n, 2)), np.zeros(n)]
    types = (np.arange(n) % 4 == 0).astype(np.int64)  # 30 walkers, 90 tumour cells
    oxygen = Substrate(name="oxygen", units="mmHg", diffusion_coefficient=1e5, decay_rate=0.1,
                       initial_condition=38.0, dirichlet_enabled=True, dirichlet_value=38.0)
    signal = Substrate(name="signal", units="ng/mL", diffusion_coefficient=1e3, decay_rate=0.05,
                       initial_condition=0.0)

    def ct(name, tid, cycle, apoptosis, secretion, motility):
        return CellType(name=name, id=tid,
                        cycle=Cycle(code=5, name="live", links=[PhaseLink(start=0, end=0, rate=cycle)]),
                        apoptosis=default_apoptosis().model_copy(update={"rate": apoptosis}),
                        necrosis=default_necrosis().model_copy(update={"rate": 0.0}),
                        mechanics=Mechanics(), motility=motility, secretion=secretion)

    tumor = ct("tumor", 0, 0.01, 0.005,
               {"oxygen": SecretionParameters(uptake_rate=10.0, secretion_target=0.0),
                "signal": SecretionParameters(secretion_rate=1.0, secretion_target=1.0)},
               Motility(enabled=False))
    walker = ct("walker", 1, 0.0, 0.0,
                {"oxygen": SecretionParameters(uptake_rate=1.0, secretion_target=0.0)},
                Motility(enabled=True, speed=2.0, persistence_time=3.0, migration_bias=0.5,
                         chemotaxis=Chemotaxis(enabled=True, substrate="signal", direction=1.0)))
    m = Model(domain=Domain(x_min=-HALF, x_max=HALF, y_min=-HALF, y_max=HALF, dx=DX, dy=DX, dz=DX),
              clocks=Clocks(max_time=30.0, dt_diffusion=0.01, dt_mechanics=0.1, dt_phenotype=6.0),
              save=SaveOptions(full_data_interval=10.0, full_data_enabled=True),
              substrates=[oxygen, signal], cell_types=[tumor, walker],
              initial_cells=InitialCells(positions=pos, types=types))
    return m


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """One run into a folder, and the same model stepped by hand with the same seed."""
    before = numba.get_num_threads()
    set_threads(1)
    model = small_model()
    out = tmp_path_factory.mktemp("run") / "output"
    summary = run_model(model, out, seed=SEED, threads=1, png=False)
    solver = TissueSolver(model, seed=SEED)
    for _ in range(int(round(model.clocks.max_time / model.clocks.dt_mechanics))):
        solver.step()
    yield model, out, summary, solver
    set_threads(before)


def test_run_summary_and_files(finished_run):
    model, out, summary, solver = finished_run
    assert summary.time == pytest.approx(30.0)
    assert summary.saves == 4  # t = 0, 10, 20, 30
    assert po.list_full_saves(out) == [0, 1, 2, 3]
    for stem in ("initial", "final", "output00000003"):
        assert (out / f"{stem}.xml").is_file() and (out / f"{stem}_cells.mat").is_file()
    assert (out / "PhysiCell_settings.xml").is_file()
    assert summary.agents == solver.agents.n
    # the run did something: cells divided and died, oxygen was taken up, signal secreted
    assert np.any(solver.agents.death_state[:solver.agents.n] != LIVE)
    assert solver.agents.id[:solver.agents.n].max() >= 120
    assert solver.fields[0].min() < 38.0 and solver.fields[1].max() > 0.0


def test_final_save_equals_solver_state(finished_run):
    _, out, _, solver = finished_run
    a = solver.agents
    n = a.n
    for stem in ("final", "output00000003"):
        save = po.read_full_save(out, stem)
        assert save["time"] == pytest.approx(solver.time)
        c = save["cells"]
        np.testing.assert_array_equal(c["ID"], a.id[:n])
        np.testing.assert_array_equal(c["position"], a.position[:n])
        np.testing.assert_array_equal(c["cell_type"], a.type[:n])
        np.testing.assert_array_equal(c["total_volume"], a.volume[:n])
        np.testing.assert_array_equal(c["dead"], (a.death_state[:n] != LIVE).astype(float))
        np.testing.assert_array_equal(save["fields"], solver.flat_fields)
        assert save["substrate_names"] == SUBS
        assert save["cell_type_names"] == dict(enumerate(TYPES))


@needs_pcdl
def test_pcdl_reads_the_final_state(finished_run):
    _, out, _, solver = finished_run
    a = solver.agents
    n = a.n
    mcds = pcdl.TimeStep("final.xml", output_path=str(out), verbose=False)
    assert mcds.get_time() == pytest.approx(solver.time)
    assert mcds.get_celltype_list() == TYPES
    assert mcds.get_substrate_list() == SUBS
    df = mcds.get_cell_df()
    assert len(df) == n
    df = df.loc[a.id[:n]]  # index is the cell ID
    np.testing.assert_allclose(df[["position_x", "position_y", "position_z"]].to_numpy(), a.position[:n],
                               rtol=0, atol=1e-12)
    assert list(df["cell_type"]) == [TYPES[t] for t in a.type[:n]]
    np.testing.assert_array_equal(df["dead"].to_numpy(dtype=bool), a.death_state[:n] != LIVE)
    np.testing.assert_allclose(df["total_volume"].to_numpy(), a.volume[:n], rtol=1e-12)
    # substrate concentrations at every voxel, in the solver's flat order i + nx (j + ny k)
    nz, ny, nx = solver.mesh.shape
    conc = mcds.get_conc_df()
    assert len(conc) == nx * ny * nz
    flat = (conc["voxel_i"] + nx * (conc["voxel_j"] + ny * conc["voxel_k"])).to_numpy()
    for s, name in enumerate(SUBS):
        np.testing.assert_allclose(conc[name].to_numpy(), solver.flat_fields[s, flat], rtol=1e-12, atol=0)
    np.testing.assert_allclose(conc[["mesh_center_m", "mesh_center_n", "mesh_center_p"]].to_numpy(),
                               solver.mesh.centers()[flat])
    # the concentration pcdl attaches to each cell is that of the cell's voxel
    np.testing.assert_allclose(df["oxygen"].to_numpy(), solver.flat_fields[0, a.voxel[:n]], rtol=1e-12)


@needs_pcdl
def test_pcdl_time_series_and_population_log(finished_run):
    _, out, _, solver = finished_run
    pops = read_populations(out / "populations.csv")
    np.testing.assert_allclose(pops["time_min"], [0.0, 10.0, 20.0, 30.0])
    series = pcdl.TimeSeries(str(out), verbose=False)
    steps = series.get_mcds_list()
    assert [s.get_time() for s in steps] == pytest.approx([0.0, 10.0, 20.0, 30.0])
    for k, step in enumerate(steps):
        df = step.get_cell_df()
        for t in TYPES:
            sel = df["cell_type"] == t
            live = int((sel & ~df["dead"].astype(bool)).sum())
            dead = int((sel & df["dead"].astype(bool)).sum())
            assert pops[f"{t}_live"][k] == live, (k, t)
            assert pops[f"{t}_dead"][k] == dead, (k, t)
    assert [pops[f"{t}_live"][-1] for t in TYPES] == list(solver.live_counts())
    assert pops["tumor_live"][0] == 90 and pops["walker_live"][0] == 30


@needs_threads(2)
def test_thread_count_does_not_change_the_output(finished_run, tmp_path):
    model, out1, _, _ = finished_run
    out2 = tmp_path / "threads2"
    run_model(model, out2, seed=SEED, threads=2, png=False)
    for name in ("final_cells.mat", "final_microenvironment0.mat", "output00000002_cells.mat"):
        m1, m2 = scipy.io.loadmat(out1 / name), scipy.io.loadmat(out2 / name)
        keys = [k for k in m1 if not k.startswith("__")]
        assert keys and keys == [k for k in m2 if not k.startswith("__")]
        for k in keys:
            assert m1[k].shape == m2[k].shape
            assert m1[k].tobytes() == m2[k].tobytes(), (name, k)
    assert (out1 / "populations.csv").read_text() == (out2 / "populations.csv").read_text()
