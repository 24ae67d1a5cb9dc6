"""The coupler: one clock for the tissue (and, when attached, the body), snapshots to recorders.

A :class:`Simulation` steps a :class:`~tropism.tissue.solver.TissueSolver` to the model's
``max_time``. With a body scenario and a :class:`~tropism.model.coupling.BodyLink` attached,
every ``exchange_min`` it passes values through typed ports:

- body → tissue (:class:`BodyToTissue`): the arrival rate of the product's viable cells in
  the tumour, times the tissue's share of the tumour (cells/min), and plasma levels of linked
  substrates (the vessels' boundary values);
- tissue → body (:class:`TissueToBody`): the cells that arrived (debited from the body) and
  left through vessels (credited to it) in the interval, substrates released into blood,
  the tumour's volume, the product's chemokine receptor occupancy and the induction of
  adhesion molecules there (fractions).

The tissue runs an interval with the rates read from the body at its start; then the body is
advanced over the same interval with the tissue's flows of that interval as constant sources
(exact: matrix exponentials), so every cell the body sends is one the tissue received.

At each full save the run hands a :class:`Snapshot` to its recorders (``tropism.io.recorders``):
this module writes no files and draws no figures. A model with no body attached runs exactly
as the tissue solver alone.
"""

from __future__ import annotations

import signal
import threading
import time as _time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np

from .errors import TropismInputError
from .geometry import sphere_radius, sphere_volume
from .model import Model
from .model.coupling import BodyLink
from .tissue.agents import LIVE
from .tissue.solver import TissueSolver
from .tissue.threads import set_threads

#: The ports: name, direction, unit.
PORTS: tuple[tuple[str, str, str], ...] = (
    ("arrival_rate", "body → tissue", "cells/min (the tissue's share)"),
    ("plasma", "body → tissue", "substrate unit"),
    ("arrived", "tissue → body", "cells per interval, debited from the body"),
    ("departed", "tissue → body", "cells per interval, credited to the body"),
    ("released", "tissue → body", "substrate amount/min into blood"),
    ("tumour_volume", "tissue → body", "mm³"),
    ("chemokine", "tissue → body", "receptor occupancy (fraction)"),
    ("inflammation", "tissue → body", "adhesion-molecule induction (fraction)"),
)


@dataclass(frozen=True)
class BodyToTissue:
    """What the body tells the tissue at the start of an exchange interval."""

    time: float
    arrival_rate_per_min: float
    plasma: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TissueToBody:
    """What the tissue tells the body at the end of an exchange interval (``t0`` to ``time``)."""

    t0: float
    time: float
    arrived: int
    departed: int
    released_per_min: dict[str, float] = field(default_factory=dict)
    tumour_volume_mm3: float | None = None
    chemokine: float | None = None
    inflammation: float | None = None
    perfusion_ml_min_per_ml: float | None = None
    product: int = 0  #: which of the run's body products this exchange belongs to


@dataclass
class Snapshot:
    """The run's state handed to recorders; arrays are the solver's own (read, do not keep)."""

    index: int
    name: str | None  #: "initial", "final", or None for a regular save
    loop_step: int
    saves: int
    solver: TissueSolver
    body: object | None
    wall_s: float


class Recorder(Protocol):
    """What the run calls; a recorder implements the methods it needs, the run skips the rest."""

    def save(self, snap: Snapshot) -> None: ...

    def exchange(self, to_tissue: BodyToTissue, to_body: TissueToBody, body) -> None: ...

    def finish(self, snap: Snapshot) -> None: ...


class StopFlag:
    """Turns the first Ctrl-C into a request to stop after the current step and save."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def __enter__(self) -> "StopFlag":
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:  # a second Ctrl-C: stop at once
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


class _Coupler:
    """The body, its ports to the tissue, and the counters that make them conserve cells."""

    def __init__(self, solver: TissueSolver, scenario, link: BodyLink, index: int = 0) -> None:
        from . import body  # only coupled runs pay for SciPy
        m = solver.model
        self.solver, self.link, self.index = solver, link, index
        types, subs = m.cell_type_names, m.substrate_names
        # a product without a cell type (a drug, a protein) reaches the tissue only through plasma
        self.arrival = self.product = None
        if link.product_type and link.whole_tumour_departures:
            # the tumour's own cells: they only leave, none arrives
            if link.product_type not in types:
                raise TropismInputError("unknown cell type shed by the tumour", field="link.product_type",
                                        value=link.product_type, allowed=", ".join(types))
            self.product = types.index(link.product_type)
        elif link.product_type:
            arrivals = [k for k, a in enumerate(m.arrivals) if a.cell_type == link.product_type]
            if link.product_type not in types or not arrivals:
                raise TropismInputError("the body's product needs an arrival in the tissue model",
                                        field="link.product_type", value=link.product_type,
                                        allowed=", ".join(a.cell_type for a in m.arrivals) or "a model with arrivals")
            self.arrival = arrivals[0]
            self.product = types.index(link.product_type)
        for name in link.tumour_types:
            if name not in types:
                raise TropismInputError("unknown tumour cell type", field="link.tumour_types", value=name,
                                        allowed=", ".join(types))
        for what in ("chemokine", "inflammation"):
            name = getattr(link, what)
            if name and name not in subs:
                raise TropismInputError(f"unknown {what} substrate", field=f"link.{what}", value=name,
                                        allowed=", ".join(subs))
        for what in ("plasma", "release"):
            for ml in getattr(link, what):
                if ml.substrate not in subs:
                    raise TropismInputError(f"unknown {what} substrate", field=f"link.{what}", value=ml.substrate,
                                            allowed=", ".join(subs))
        self.state = body.start(scenario)
        states = set(self.state.systems[0].states)
        keys = [("arrival_state", link.arrival_state), ("departure_state", link.departure_state)] \
            if self.product is not None else []
        keys += [(f"{w}.state", ml.state) for w in ("plasma", "release") for ml in getattr(link, w)]
        for where, key in keys:
            if tuple(key) not in states:
                raise TropismInputError("no such body state in this scenario", field=f"link.{where}", value=key,
                                        allowed=", ".join(f"{c}:{k}" for c, k in self.state.systems[0].states))
        tumour = scenario.tumour
        if tumour is None:
            raise TropismInputError("a coupled run needs a body scenario with a tumour", field="tumour", value=None,
                                    allowed="a [tumour] table")
        self.tumour_mm3 = float(tumour.volume_mm3)
        self.share = link.share if link.share is not None else _share_in_domain(m.domain, self.tumour_mm3)
        c = m.clocks
        interval = link.exchange_min if link.exchange_min is not None else c.dt_phenotype
        self.every = max(1, int(round(interval / c.dt_mechanics)))
        self._tumour_rows = [types.index(t) for t in link.tumour_types]
        self.tumour_volume0 = self._tumour_cell_volume()
        #: the vessel density of the tumour's voxels at the start: perfusion follows it
        self.vessels0 = self._tumour_vessels() if m.vessels is not None else None
        self.arrived_base = int(solver.arrived[self.product]) if self.product is not None else 0
        self.departed_base = int(solver.departed[self.product]) if self.product is not None else 0
        self.expected_base = float(solver.departure_expected[self.product]) if self.product is not None else 0.0
        self._release_rows = [subs.index(ml.substrate) for ml in link.release]
        for j in self._release_rows:
            solver.track_vessel_exchange(j)
        self.released_base = {ml.substrate: float(solver.vessel_exchanged[j])
                              for ml, j in zip(link.release, self._release_rows)}
        self.t0 = solver.time
        self.last_in: BodyToTissue | None = None
        self.sent = 0  #: cells debited from the body so far (equals the tissue's arrivals)
        self.received = 0  #: cells credited to the body so far (the tissue's departures)
        #: product the body placed straight into the arrival state (an intratumoral dose) and the
        #: part of it already handed to the tissue: it arrives over the next exchange interval
        self.direct_given = self._direct_dose()
        self.direct_sent = 0.0
        #: the coupler of the product that conditions this one's niches, and its organs' masses (g)
        self.niche_source: _Coupler | None = None
        self.organ_g: dict[str, float] = {}

    def condition_from(self, source: "_Coupler") -> None:
        """Read this product's organ niches from what ``source``'s product left in the organs."""
        from .body.model import anatomy
        an = anatomy(source.state.scenario)
        self.niche_source = source
        # soft tissue at about 1 g/mL
        self.organ_g = {o: float(an.volume[o]) for o in an.tissues if o != "tumour"}

    def niche(self) -> dict[str, float] | None:
        """organ -> niche level now: the conditioning product taken up and degraded there so far,
        per gram, over (that + the link's half-max)."""
        if self.niche_source is None:
            return None
        amounts = self.niche_source.state.amounts()
        k = self.link.niche_half_max_per_g
        out = {}
        for o, g in self.organ_g.items():
            u = max(0.0, amounts.get((o, "cleared"), 0.0)) / g
            out[o] = u / (u + k)
        return out

    def _tumour_cell_volume(self, live_only: bool = False) -> float:
        if not self._tumour_rows:
            return 0.0
        a = self.solver.agents
        n = a.n
        mask = np.isin(a.type[:n], self._tumour_rows)
        if live_only:
            mask &= a.death_state[:n] == LIVE
        return float(a.volume[:n][mask].sum())

    def _tumour_region(self) -> np.ndarray | None:
        """The voxels holding live tumour cells (None without tumour types)."""
        if not self._tumour_rows:
            return None
        a = self.solver.agents
        n = a.n
        held = np.isin(a.type[:n], self._tumour_rows) & (a.death_state[:n] == LIVE)
        return np.unique(a.voxel[:n][held])

    def _tumour_vessels(self) -> float:
        """Mean vessel surface density over the tumour's voxels (the whole domain without them)."""
        region = self._tumour_region()
        d = self.solver.vessel_density
        return float(d[region].mean()) if region is not None and region.size else float(d.mean())

    def _perfusion(self) -> float | None:
        """The tumour's blood flow per volume: the viable tissue's, times the live share of the
        tumour cells' volume (necrotic and dying tissue is not perfused), times its vessel
        density relative to the start (vessels that grow or regress carry more or less flow)."""
        viable = self.link.perfusion_viable_ml_min_per_ml
        if viable is None or not self._tumour_rows:
            return None
        total = self._tumour_cell_volume()
        q = viable * (self._tumour_cell_volume(live_only=True) / total if total > 0.0 else 1.0)
        if self.vessels0:
            q *= self._tumour_vessels() / self.vessels0
        return q if q > 0.0 else None

    def _levels(self) -> dict:
        """Receptor occupancy and adhesion induction (fractions) from the tumour's mean levels."""
        s, link = self.solver, self.link
        names = s.model.substrate_names
        region = self._tumour_region()
        levels = {}
        for what in ("chemokine", "inflammation"):
            name = getattr(link, what)
            if not name:
                levels[what] = None
                continue
            u = s.flat_fields[names.index(name)]
            c = float(u[region].mean()) if region is not None and region.size else float(u.mean())
            c = max(c, 0.0)
            level = c / (c + getattr(link, f"{what}_half_max"))
            if what == "chemokine":
                # a receptor blockade on the product acts on its transmigration as on its chemotaxis
                level *= s.signal_scale(name, link.product_type)
            levels[what] = level
        return levels

    def _direct_dose(self) -> float:
        """Product the body's doses so far put straight into the arrival state (per unit weight
        of its systems, as :meth:`BodyState.amounts` reads them)."""
        st = self.state
        key = tuple(self.link.arrival_state)
        total = 0.0
        for s in st.systems:
            if key not in s.states:
                continue
            part = np.asarray(s.dose, float)[..., s.states.index(key)]
            w = np.asarray(s.weight, float)
            total += float(np.sum(part * w)) if part.ndim else float(part * w)
        return total * st.given_amount

    def to_tissue(self) -> BodyToTissue:
        """Set the tissue's inputs from the body now."""
        s, link = self.solver, self.link
        rate = 0.0
        if self.arrival is not None:
            rate = max(0.0, self.share * self.state.inflow_per_min(*link.arrival_state))
            # a dose placed in the tumour itself (intratumoral) arrives over this interval
            pending = self.direct_given - self.direct_sent
            if pending > 0.0:
                rate += self.share * pending / (self.every * s.dt_mechanics)
                self.direct_sent = self.direct_given
            s.set_arrival_rate(self.arrival, rate)
        amounts = self.state.amounts() if link.plasma else {}
        plasma = {}
        for ml in link.plasma:
            level = max(0.0, ml.scale * amounts.get(tuple(ml.state), 0.0))
            s.set_plasma(s.model.substrate_names.index(ml.substrate), level)
            plasma[ml.substrate] = level
        self.last_in = BodyToTissue(s.time, rate, plasma)
        return self.last_in

    def to_body(self) -> TissueToBody:
        """Measure the tissue over the interval just run and advance the body over it."""
        from .body import BodyInputs, advance
        s, link = self.solver, self.link
        t0, t1 = self.t0, s.time
        h = t1 - t0
        arrived = departed = 0
        if self.product is not None:
            arrived = int(s.arrived[self.product]) - self.arrived_base
            departed = int(s.departed[self.product]) - self.departed_base
        self.arrived_base += arrived
        self.departed_base += departed
        expected = 0.0
        if self.product is not None:
            expected = float(s.departure_expected[self.product]) - self.expected_base
            self.expected_base += expected
        # what crossed the vessel walls over the interval (the solver sums every diffusion step's
        # exchange), as a mean rate: the body receives exactly what the tissue lost
        released = {}
        for ml, j in zip(link.release, self._release_rows):
            total = float(s.vessel_exchanged[j])
            released[ml.substrate] = (total - self.released_base[ml.substrate]) / h if h > 0.0 else 0.0
            self.released_base[ml.substrate] = total
        volume = None
        if self._tumour_rows and self.tumour_volume0 > 0.0:
            # a tumour whose cells are all gone (killed and cleared) keeps a trace of volume: the
            # body's tumour compartment must stay a compartment, of negligible flow
            volume = max(self.tumour_mm3 * self._tumour_cell_volume() / self.tumour_volume0, 1e-9)
        levels = self._levels()
        perfusion = self._perfusion()
        out = TissueToBody(t0, t1, arrived, departed, released, volume, levels["chemokine"], levels["inflammation"],
                           perfusion, self.index)
        if h > 0.0:
            sources: dict = {}

            def add(key, rate):
                sources[tuple(key)] = sources.get(tuple(key), 0.0) + rate

            # the interval's flows as constant sources: their integral is exactly the count
            if arrived:
                add(link.arrival_state, -arrived / h)
            if link.whole_tumour_departures:
                # the domain's own cells as they left, and the rest of the tumour (1/share - 1 times
                # as many cells, not simulated) at its mean: the same cells' leaving probabilities
                rest = expected * (1.0 - self.share) / self.share
                if departed or rest:
                    add(link.departure_state, (departed + rest) / h)
            elif departed:
                add(link.departure_state, departed / h)
            for ml in link.release:
                if released[ml.substrate] != 0.0:  # negative: the tissue took it up from plasma
                    add(ml.state, ml.scale * released[ml.substrate] / (self.share if ml.whole_tumour else 1.0))
            blockade = None
            if self.product is not None and link.chemokine:
                # a CXCR4/SDF-1 blockade on the product acts on its migration in the body while it acts
                blockade = 1.0 - s.signal_scale(link.chemokine, link.product_type)
            inputs = BodyInputs(tumour_volume_mm3=volume, chemokine=levels["chemokine"],
                                inflammation=levels["inflammation"], perfusion_ml_min_per_ml=perfusion,
                                sources_per_min=sources, sdf1_blockade=blockade, niche=self.niche())
            self.state = advance(self.state, t0, t1, inputs, rtol=link.inputs_rtol)
            self.sent += arrived
            self.received += departed
            if self.arrival is not None:
                self.direct_given = self._direct_dose()
        self.t0 = t1
        return out

    @property
    def prefix(self) -> str:
        """Checkpoint key prefix: ``body.`` for the first product, ``body<k>.`` for the others."""
        return "body." if self.index == 0 else f"body{self.index}."

    def state_dict(self) -> dict[str, np.ndarray]:
        st, p = self.state, self.prefix
        out = {f"{p}x{k}": np.asarray(x) for k, x in enumerate(st.x)}
        out.update({f"{p}t": np.float64(st.t), f"{p}doses_given": np.int64(st.doses_given),
                    f"{p}expected_base": np.float64(self.expected_base),
                    f"{p}counters": np.array([self.arrived_base, self.departed_base, self.sent, self.received],
                                             dtype=np.int64),
                    f"{p}t0": np.float64(self.t0),
                    f"{p}direct": np.array([self.direct_given, self.direct_sent]),
                    f"{p}released": np.array([self.released_base[ml.substrate] for ml in self.link.release])})
        tumour = st.scenario.tumour
        if tumour is not None:  # what the tissue last measured: the body's systems are built on it
            out[f"{p}tumour"] = np.array([tumour.volume_mm3, tumour.chemokine, tumour.inflammation,
                                          np.nan if tumour.perfusion_ml_min_per_ml is None
                                          else tumour.perfusion_ml_min_per_ml, st.scenario.interventions.sdf1_blockade])
        if st.scenario.niche:
            from .body.library import ORGANS
            out[f"{p}niche"] = np.array([st.scenario.niche.get(o, 0.0) for o in ORGANS])
        if self.last_in is not None:  # a save may fall inside an exchange interval
            out[f"{p}last_in"] = np.array([self.last_in.time, self.last_in.arrival_rate_per_min]
                                          + [self.last_in.plasma[ml.substrate] for ml in self.link.plasma])
        return out

    def load_state(self, state: dict) -> None:
        from .body import BodyInputs
        from .body.model import systems
        from .body.step import BodyState, _with_inputs
        st, p = self.state, self.prefix
        if f"{p}t" not in state:
            raise TropismInputError("the checkpoint holds no state for this body product", field="body",
                                    value=self.index, allowed="a checkpoint of the same coupled run")
        xs = [np.array(state[f"{p}x{k}"]) for k in range(len(st.x))]
        sc, syss = st.scenario, st.systems
        if f"{p}tumour" in state:
            v, c, i, q, *rest = (float(x) for x in state[f"{p}tumour"])
            sc = _with_inputs(sc, BodyInputs(tumour_volume_mm3=v, chemokine=c, inflammation=i,
                                             perfusion_ml_min_per_ml=None if np.isnan(q) else q,
                                             sdf1_blockade=rest[0] if rest else None))
            syss = systems(sc, params=st.params) if sc is not st.scenario else syss
        if f"{p}niche" in state:
            from .body.library import ORGANS
            built = sc
            sc = _with_inputs(sc, BodyInputs(niche=dict(zip(ORGANS, (float(v) for v in state[f"{p}niche"])))))
            syss = systems(sc, params=st.params) if sc is not built else syss
        self.state = BodyState(sc, float(state[f"{p}t"]), xs, syss, st.params, int(state[f"{p}doses_given"]))
        self.arrived_base, self.departed_base, self.sent, self.received = (int(v) for v in state[f"{p}counters"])
        if f"{p}expected_base" in state:
            self.expected_base = float(state[f"{p}expected_base"])
        self.t0 = float(state[f"{p}t0"])
        if f"{p}direct" in state:
            self.direct_given, self.direct_sent = (float(v) for v in state[f"{p}direct"])
        if f"{p}released" in state:
            self.released_base = {ml.substrate: float(v) for ml, v in zip(self.link.release, state[f"{p}released"])}
        if f"{p}last_in" in state:
            v = [float(x) for x in state[f"{p}last_in"]]
            self.last_in = BodyToTissue(v[0], v[1], {ml.substrate: x for ml, x in zip(self.link.plasma, v[2:])})


def _share_in_domain(d, tumour_mm3: float, n: int = 64) -> float:
    """The share of a ball of ``tumour_mm3`` centred at the origin that lies in the domain box
    (midpoint rule on an n³ grid over their overlap): a 2D section holds a slab of the tumour,
    a large tumour fills the domain, a small one lies whole in a 3D domain."""
    r = float(sphere_radius(tumour_mm3 * 1e9))
    lo = np.maximum([d.x_min, d.y_min, d.z_min], -r)
    hi = np.minimum([d.x_max, d.y_max, d.z_max], r)
    if np.any(hi <= lo):
        return 0.0
    axes = [a + (b - a) * (np.arange(n) + 0.5) / n for a, b in zip(lo, hi)]
    x, y, z = np.meshgrid(*axes, indexing="ij", sparse=True)
    inside = np.count_nonzero(x * x + y * y + z * z <= r * r)
    return float(min(1.0, inside / n ** 3 * np.prod(hi - lo) / sphere_volume(r)))


class Simulation:
    """A run of a model on one clock: the tissue, and the body when one is attached.

    Parameters
    ----------
    model : Model
        The tissue model.
    seed : int, optional
        Overrides the model's random seed.
    body : tropism.body.Scenario or list of them, optional
        The body scenario of each product to couple (needs ``link``): the body carries every
        treatment of a scenario at once, each product in its own linear system on its own
        schedule, all reading the same tumour.
    link : BodyLink or list of them, optional
        The ports between each body scenario and the tissue (one per scenario).
    """

    def __init__(self, model: Model, *, seed: int | None = None, body=None, link=None) -> None:
        if (body is None) != (link is None):
            raise TropismInputError("a body scenario and its link come together", field="body, link",
                                    value=(body is not None, link is not None), allowed="both or neither")
        bodies = [] if body is None else (list(body) if isinstance(body, (list, tuple)) else [body])
        links = [] if link is None else (list(link) if isinstance(link, (list, tuple)) else [link])
        if len(bodies) != len(links):
            raise TropismInputError("one link per body scenario", field="body, link", value=(len(bodies), len(links)),
                                    allowed="lists of the same length")
        named = [lk.product_type for lk in links if lk.product_type]
        if len(set(named)) != len(named):
            # each product debits the cells of its type that arrive: two products of one type
            # would each count the other's
            raise TropismInputError("two body products arrive as the same cell type", field="link.product_type",
                                    value=named, allowed="one cell type per product")
        self.model = model
        self.solver = TissueSolver(model, seed=seed)
        self.couplers = [_Coupler(self.solver, b, lk, k) for k, (b, lk) in enumerate(zip(bodies, links))]
        for cp in self.couplers:
            if cp.link.niche_from:
                source = [o for o in self.couplers if any(ml.substrate == cp.link.niche_from for ml in o.link.release)]
                if not source:
                    raise TropismInputError("no body product releases the substrate that conditions the niches",
                                            field="link.niche_from", value=cp.link.niche_from,
                                            allowed=", ".join(ml.substrate for o in self.couplers
                                                              for ml in o.link.release) or "a released substrate")
                cp.condition_from(source[0])
        #: (body → tissue, tissue → body) of every exchange, every product in turn
        self.exchanges: list[tuple[BodyToTissue, TissueToBody]] = []

    @property
    def coupler(self):
        """The first product's coupler, or None without a body."""
        return self.couplers[0] if self.couplers else None

    @property
    def body(self):
        """The first product's body state (``tropism.body.BodyState``), or None without a body."""
        return None if not self.couplers else self.couplers[0].state

    @property
    def bodies(self) -> list:
        """Every product's body state."""
        return [cp.state for cp in self.couplers]

    def state_dict(self) -> dict[str, np.ndarray]:
        """The tissue's state and, when coupled, the body's and the ports' counters."""
        out = self.solver.state_dict()
        for cp in self.couplers:
            out.update(cp.state_dict())
        return out

    def load_state(self, state: dict) -> None:
        """Restore a :meth:`state_dict`."""
        self.solver.load_state(state)
        if self.couplers and "body.t" not in state:
            raise TropismInputError("the checkpoint holds no body state", field="body", value=None,
                                    allowed="a checkpoint of a coupled run")
        for cp in self.couplers:
            cp.load_state(state)

    def run(self, recorders: list | tuple = (), *, progress: Callable[[float, int, float], None] | None = None,
            loop_step: int = 0, saves: int = 0, resumed: bool = False) -> "RunResult":
        """Step to ``max_time``, handing snapshots to ``recorders`` at every full save.

        ``loop_step``/``saves``/``resumed`` continue a run restored with :meth:`load_state`.
        The first Ctrl-C stops after the current step, with a last save.
        """
        model, solver, cps = self.model, self.solver, self.couplers
        clocks = model.clocks
        n_steps = int(round(clocks.max_time / clocks.dt_mechanics))
        save_every = max(1, int(round(model.save.full_data_interval / clocks.dt_mechanics)))
        save_enabled = model.save.full_data_enabled
        t0 = _time.perf_counter()
        agent_steps = 0
        count = saves

        def hand(name, k):
            snap = Snapshot(count, name, k, count, solver, self.body, _time.perf_counter() - t0)
            _call(recorders, "save", snap)
            return snap

        interrupted = False
        last_progress = -1.0
        threads = set_threads(None)
        sharing = [r for r in recorders if hasattr(r, "cores_busy")] if threads > 1 else []
        with StopFlag() as stop, _threads_restored(threads):
            if not resumed:
                hand("initial", loop_step)
            for k in range(loop_step, n_steps + 1):
                if save_enabled and k % save_every == 0 and not (resumed and k == loop_step):
                    hand(None, k)
                    count += 1
                    # the checkpoint belongs after the save: a resumed run starts from this step
                    snap = Snapshot(count, "checkpoint", k, count, solver, self.body, _time.perf_counter() - t0)
                    if any(hasattr(r, "checkpoint") for r in recorders):
                        _call(recorders, "checkpoint", snap, self.state_dict())
                if k == n_steps or stop.requested:
                    interrupted = stop.requested and k < n_steps
                    break
                for cp in cps:
                    if k % cp.every == 0:
                        cp.to_tissue()
                agent_steps += solver.agents.n
                if sharing:  # a recorder's background work (pictures) takes a core while it runs
                    set_threads(max(1, threads - sum(r.cores_busy() for r in sharing)))
                solver.step()
                for cp in cps:
                    if (k + 1) % cp.every == 0 or k + 1 == n_steps:
                        out = cp.to_body()
                        self.exchanges.append((cp.last_in, out))
                        _call(recorders, "exchange", cp.last_in, out, cp.state)
                if progress is not None:
                    now = _time.perf_counter()
                    # a progress bar redraw costs more than a small tissue's step: ~10 per second
                    if now - last_progress >= 0.1 or k + 1 == n_steps:
                        last_progress = now
                        progress(solver.time, solver.agents.n, agent_steps / max(now - t0, 1e-9))
            if save_enabled and (interrupted or n_steps % save_every):
                hand(None, n_steps)
                count += 1
            final = hand("final", n_steps)
        _call(recorders, "finish", final)
        return RunResult(time=solver.time, saves=count, agents=solver.agents.n, agent_steps=agent_steps,
                         wall_s=_time.perf_counter() - t0, interrupted=interrupted)


@contextmanager
def _threads_restored(threads: int):
    try:
        yield
    finally:
        set_threads(threads)


def _call(recorders, method: str, *args) -> None:
    for r in recorders:
        fn = getattr(r, method, None)
        if fn is not None:
            fn(*args)


@dataclass
class RunResult:
    """What :meth:`Simulation.run` did."""

    time: float
    saves: int
    agents: int
    agent_steps: int
    wall_s: float
    interrupted: bool = False
