"""The Planner: planning questions on one dataset, each model built once, kept on disk."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pulp

from tilbudskart import measures, network, outputs, settings
from tilbudskart.access import NearestIndex
from tilbudskart.planning.candidates import _groups, centre_candidates, place_candidates
from tilbudskart.planning.checks import (
    DEFAULT_COVER_ALL,
    DEFAULT_NEAR,
    OBJECTIVES,
    THRESHOLDS,
    Threshold,
    check_kept,
    check_new_groups,
    check_objective,
    check_organisation,
    check_threshold,
)
from tilbudskart.planning.highs import EXITING, exit_guard
from tilbudskart.planning.models import CoverAll, NewGroupSites, Plan
from tilbudskart.planning.questions import (
    _km_to_new_sites,
    _model_from_cells,
    _positions_of,
    _worst_figures,
    median_blocks,
)

#: What :meth:`Planner.save` keeps on disk (kinds of cache entries).
SAVED = frozenset({"today", "grid_snap", "destinations", "candidates", "ranking",
                   "cover_all", "plan", "worst_off"})


#: Default order of :meth:`Planner.warm`: the page's first questions, then the others.
WARM_ORDER: tuple[str, ...] = (DEFAULT_NEAR, DEFAULT_COVER_ALL, *(
    key for key in THRESHOLDS if key not in (DEFAULT_NEAR, DEFAULT_COVER_ALL)))


class Planner:
    """Planning questions on one dataset, each model built once and kept.

    The app keeps one per process (``st.cache_resource``); the CLI makes one per run.
    Models are keyed by threshold, organisation and candidate set; answers by their whole
    question. Safe to share between threads: each model is built once, and building one
    does not hold up questions about another; :meth:`warm` builds them ahead.

    Parameters
    ----------
    kommuner : pandas.DataFrame
        The kommune table.
    grid : pandas.DataFrame
        The population grid (``lat``, ``lon``, ``x``, ``y``, ``befolkning``,
        ``kommunenummer``).
    services : pandas.DataFrame
        Geocoded services.
    road_network : RoadNetwork, optional
        Needed for thresholds in minutes and drive times in :meth:`worst_off`.
    pause : callable, optional
        Called by :meth:`warm` before each step with the time (``time.monotonic``) of the
        last question; it returns when the warm-up may go on, True, or False to stop. A
        server passes :func:`tilbudskart.warmup.wait_for_quiet` (questions and pages
        come first); default: no pause.

    Examples
    --------
    >>> from tilbudskart import pipeline
    >>> data = pipeline.load_app_data()  # doctest: +SKIP
    >>> planner = Planner(data.kommuner, data.grid, data.services, data.network)  # doctest: +SKIP
    >>> planner.new_sites(10, "50km").covered  # doctest: +SKIP
    264155

    """

    def __init__(self, kommuner: pd.DataFrame, grid: pd.DataFrame, services: pd.DataFrame,
                 road_network: network.RoadNetwork | None = None,
                 pause: Callable[[float], bool] | None = None) -> None:
        self.kommuner = kommuner.reset_index(drop=True)
        # Plans count the people the tables count (measures.POPULATION_SOURCE).
        self.grid = grid.assign(befolkning=measures.scaled_population(grid, self.kommuner))
        self._grid_counts = grid
        self.services = services
        self.road_network = road_network
        self.pause = pause
        self._lock = threading.Lock()
        self._building: dict[tuple[Any, ...], threading.Lock] = {}
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._warming = threading.local()
        self._last_question = 0.0
        self._fingerprint: str | None = None
        self._deferred: Path | None = None
        self._deferred_lock = threading.Lock()

    def _cached(self, key: tuple[Any, ...], make: Any) -> Any:
        """Return the value of ``key``, made once; other keys are not held up meanwhile."""
        if not getattr(self._warming, "on", False):
            self._last_question = time.monotonic()
        if self._deferred is not None:
            self.load_deferred()
        with self._lock:
            if key in self._cache:
                return self._cache[key]
            building = self._building.setdefault(key, threading.Lock())
        with building:
            with self._lock:
                if key in self._cache:
                    return self._cache[key]
            value = make()
            with self._lock:
                self._cache[key] = value
            return value

    def warm(self, nears: Sequence[str] = WARM_ORDER, organisation: str | None = None,
             k: int | None = None) -> bool:
        """Build the models of ``nears`` ahead of the first question (e.g. in a thread).

        For each threshold: the coverage model, its ranking and LSCP answer, today's
        worst-off figures, then the p-median model; with ``k``, also both objectives'
        answers for ``k`` new groups and their worst-off figures (the page's first
        question). Each step first asks :attr:`pause` (a server's waits until no question
        has been asked and no page drawn for a moment, so a warm-up in a thread leaves the
        cores to the page). Returns False if it stopped early (the process is exiting).
        """
        thresholds = [self._check(near, organisation) for near in nears]

        def steps() -> Iterator[None]:
            self.worst_off(self.candidates().iloc[:0], organisation)
            for t in thresholds:
                yield
                self.ranking(t, organisation)
                if k is not None:
                    yield
                    self.worst_off(self.new_sites(k, t, organisation).sites, organisation)
                    self.new_sites(k, t, organisation, method="greedy")
                yield
                self.cover_all(t, organisation)
                yield
                self.median_model(t, organisation)
                if k is not None:
                    yield
                    self.worst_off(self.new_sites(k, t, organisation, objective="median")
                                   .sites, organisation)

        self._warming.on = True
        try:
            with exit_guard():
                if not self._wait_for_quiet():
                    return False
                for _ in steps():
                    if not self._wait_for_quiet():
                        return False
        finally:
            self._warming.on = False
        return True

    def _wait_for_quiet(self) -> bool:
        """Hold the warm-up while :attr:`pause` says so (questions and pages come first).

        Returns False when the process is exiting or :attr:`pause` says stop.
        """
        if EXITING.is_set():
            return False
        return (self.pause is None or self.pause(self._last_question)) and not EXITING.is_set()

    def warm_all(self, k: int | None = 5, first: tuple[str, str | None] = (DEFAULT_NEAR, None),
                 after_each: Callable[[], object] | None = None) -> None:
        """:meth:`warm` every threshold of every organisation, ``first`` (near, org) first.

        ``first``'s organisation (default all groups) before the others, each
        organisation's ``first`` threshold before its others; ``after_each`` is called
        after each organisation (e.g. to :meth:`save`).
        """
        near, organisation = first
        order = [organisation] + [o for o in (None, *settings.SELF_HELP_ORGANISATIONS)
                                  if o != organisation]
        nears = [near] + [n for n in THRESHOLDS if n != near]
        if self.road_network is None:
            nears = [n for n in nears if THRESHOLDS[n].unit == "km"]
        for org in order:
            if not self.warm(nears, org, k):
                return
            if after_each is not None:
                after_each()

    # -- kept between server starts -------------------------------------------------------

    def fingerprint(self) -> str:
        """Return the sha256 of this planner's data and the planning code.

        The grid, services and kommune table (their values), the road network (nodes,
        edges, links) and the source of the modules that compute; a change to any gives a
        new key, so a saved planner is never used with other data. Computed once (about
        half a second): a planner's data does not change.
        """
        import hashlib

        if self._fingerprint is not None:
            return self._fingerprint
        digest = hashlib.sha256()
        for frame in (self.grid, self.services, self.kommuner):
            plain = frame.drop(columns=["geometry"], errors="ignore")
            digest.update(",".join(map(str, plain.columns)).encode())
            digest.update(pd.util.hash_pandas_object(plain.astype(str), index=False)
                          .to_numpy().tobytes())
        if self.road_network is not None:
            net = self.road_network
            digest.update(np.ascontiguousarray(net.nodes).tobytes())
            for frame in (net.edges, net.links):
                digest.update(pd.util.hash_pandas_object(
                    frame.drop(columns=["geometry"], errors="ignore"), index=False)
                    .to_numpy().tobytes())
        here = Path(__file__).resolve().parent
        for path in (*sorted(here.glob("*.py")), *sorted((here.parent / "network").glob("*.py")),
                     *(here.parent / module for module in (
                         "access.py", "measures.py", "settings.py"))):
            digest.update(path.read_bytes())
        self._fingerprint = digest.hexdigest()
        return self._fingerprint

    def save(self, folder: str | os.PathLike[str]) -> Path | None:
        """Write what is built so far to ``folder/planner-<fingerprint>.pickle``.

        What is slow to make is kept (:data:`SAVED`: today's figures per grid cell, the
        grid's snap, the centres' Dijkstra runs, and every answer given); the models are
        not (tens of MB each, remade from those in well under a second).

        Written to a temporary file and renamed (a reader sees the old file or the new
        one); older planner files in the folder are removed. A folder that cannot be
        written is logged and ignored.

        Returns
        -------
        pathlib.Path or None
            The file written.

        """
        import logging

        folder = Path(folder)
        path = folder / f"planner-{self.fingerprint()}.pickle"
        with self._lock:
            kept = {key: value for key, value in self._cache.items() if key[0] in SAVED}
        try:
            outputs.replace_pickle(kept, path, "planner-*.pickle")
        except OSError as exc:
            logging.getLogger(__name__).warning("could not keep the planning models in %s: %s",
                                                folder, exc)
            return None
        return path

    def load(self, folder: str | os.PathLike[str]) -> int:
        """Take the models saved by :meth:`save` for this very data (same fingerprint).

        Returns
        -------
        int
            How many models and answers were taken (0: none saved, or unreadable).

        """
        import logging
        import pickle

        path = Path(folder) / f"planner-{self.fingerprint()}.pickle"
        if not path.is_file():
            return 0
        try:
            with path.open("rb") as handle:
                kept = pickle.load(handle)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as exc:
            logging.getLogger(__name__).warning("planning models %s unreadable (%s)", path,
                                                exc)
            return 0
        if not isinstance(kept, dict):
            return 0
        with self._lock:
            for key, value in kept.items():
                if isinstance(value, network.Destinations) and self.road_network is not None:
                    value.network = self.road_network  # not pickled: this planner's own
                self._cache.setdefault(key, value)
        return len(kept)

    def defer_load(self, folder: str | os.PathLike[str]) -> None:
        """:meth:`load` from ``folder`` later: at the first question, or :meth:`load_deferred`.

        Loading takes about a second of one core (the fingerprint, then unpickling); a
        server defers it so that its first page is not held up, and its warm-up loads
        when the server is quiet, unless a question comes first.
        """
        self._deferred = Path(folder)

    def load_deferred(self) -> int:
        """Load what :meth:`defer_load` named, once; a question meanwhile waits for it."""
        with self._deferred_lock:
            if self._deferred is None:
                return 0
            try:
                return self.load(self._deferred)
            finally:
                self._deferred = None

    # -- what every question shares --------------------------------------------------------

    def grid_snap(self) -> network.Snap:
        """Return where every grid cell joins the road network (made once)."""
        assert self.road_network is not None
        road = self.road_network
        return self._cached(("grid_snap",), lambda: road.snap(self.grid["x"], self.grid["y"]))

    def destinations(self) -> network.Destinations:
        """Return the Dijkstra runs from the kommune centres (made once, for every model)."""
        assert self.road_network is not None
        road = self.road_network
        centres = self.candidates()
        return self._cached(("destinations",), lambda: network.Destinations(
            road, *network.to_metric(centres["lat"], centres["lon"])))

    def today(self, organisation: str | None = None) -> pd.DataFrame:
        """Return each grid cell's km and (with the network) minutes to the nearest group.

        Returns
        -------
        pandas.DataFrame
            ``km`` and ``minutes`` (NaN: no route), one row per grid cell, in grid order.

        """
        check_organisation(organisation)

        def make() -> pd.DataFrame:
            groups = _groups(self.services, organisation)
            table = pd.DataFrame({"km": NearestIndex.from_services(groups).distance_km(
                self.grid["lat"], self.grid["lon"])})
            table["minutes"] = np.nan
            if self.road_network is not None:
                routes = self.road_network.nearest(
                    *network.to_metric(groups["lat"], groups["lon"]))
                table["minutes"] = network.travel_from(
                    routes, self.road_network, self.grid["x"], self.grid["y"],
                    snap=self.grid_snap())["minutes"].to_numpy()
            return table

        return self._cached(("today", organisation), make)

    def _check(self, near: str | Threshold, organisation: str | None) -> Threshold:
        threshold = check_threshold(near)
        check_organisation(organisation)
        if threshold.unit == "min" and self.road_network is None:
            raise ValueError(f"threshold {threshold.key!r} needs the road network")
        return threshold

    def candidates(self, places: bool = False) -> pd.DataFrame:
        """Return the candidate sites: kommune centres, or centres and places."""
        return self._cached(("candidates", bool(places)), lambda: (
            place_candidates(self.kommuner) if places else centre_candidates(self.kommuner)))

    def cells(self, near: str | Threshold, organisation: str | None = None) -> pd.DataFrame:
        """Return the grid cells beyond the threshold today (with ``km`` or ``minutes``)."""
        t = self._check(near, organisation)

        # As uncovered_cells / uncovered_cells_by_time, from today's figures (kept).
        column = "km" if t.unit == "km" else "minutes"
        return self._cached(("cells", t.key, organisation), lambda: (
            self.grid.assign(**{column: self._now(t, organisation)})
            [self._beyond(t, organisation)].reset_index(drop=True)))

    def _now(self, t: Threshold, organisation: str | None) -> np.ndarray:
        return self.today(organisation)["km" if t.unit == "km" else "minutes"].to_numpy()

    def _beyond(self, t: Threshold, organisation: str | None) -> np.ndarray:
        """Mask of the grid cells beyond threshold ``t`` today (no route counts as beyond)."""
        return ~(self._now(t, organisation) <= t.value)

    def model(self, near: str | Threshold, organisation: str | None = None,
              places: bool = False) -> NewGroupSites:
        """Return the coverage model (demand: the cells beyond the threshold today)."""
        t = self._check(near, organisation)

        def make() -> NewGroupSites:
            cells = self.cells(t, organisation)
            if t.unit == "min" and not places:
                return _model_from_cells(
                    cells, self.candidates(), t, self.road_network,
                    destinations=self.destinations(),
                    demand_snap=self.grid_snap().take(
                        np.flatnonzero(self._beyond(t, organisation))))
            return _model_from_cells(cells, self.candidates(places), t, self.road_network)

        return self._cached(("model", t.key, organisation, bool(places)), make)

    def median_model(self, near: str | Threshold, organisation: str | None = None,
                     places: bool = False) -> NewGroupSites:
        """Return the p-median model: the same people, in blocks (:func:`median_blocks`)."""
        t = self._check(near, organisation)
        current = "km" if t.unit == "km" else "minutes"
        return self._cached(("median", t.key, organisation, bool(places)), lambda: (
            _model_from_cells(median_blocks(self.cells(t, organisation), current),
                              self.candidates(places), t, self.road_network, current,
                              destinations=(self.destinations() if t.unit == "min"
                                            and not places else None))))

    def new_sites(self, k: int, near: str | Threshold = DEFAULT_NEAR,
                  organisation: str | None = None, kept: Sequence[str] = (),
                  objective: str = "coverage", places: bool = False,
                  method: str = "optimal", solver: pulp.LpSolver | None = None) -> Plan:
        """Choose ``k`` new groups (kept kommuner's centres among them).

        Parameters
        ----------
        k : int
            1 … :data:`MAX_NEW_GROUPS` (at least the number kept).
        near : str
            One of :data:`THRESHOLDS`.
        organisation : str, optional
            Count only this organisation's groups as existing.
        kept : sequence of str
            Kommune numbers whose centre must get one of the groups.
        objective : {"coverage", "median"}
            Most people within the threshold (MCLP) or least population-weighted distance
            or time of the people beyond it today (p-median on blocks of
            :data:`MEDIAN_BLOCK_M`).
        places : bool
            Candidates are the kommune centres (default) or centres and places.
        method : {"optimal", "greedy"}
            The optimum or the one-by-one baseline (coverage only).
        solver : pulp.LpSolver, optional
            Default: HiGHS directly (see :meth:`NewGroupSites.solve`); or a PuLP solver.

        Returns
        -------
        Plan
            Added people counted exactly on the grid cells, for either objective.

        """
        t = self._check(near, organisation)
        k = check_new_groups(k)
        check_objective(objective)
        if method not in {"optimal", "greedy"}:
            raise ValueError(f"method {method!r} is not offered; choose optimal or greedy")
        fixed = check_kept(kept, self.candidates(places))
        if len(fixed) > k:
            raise ValueError(f"{len(fixed)} kept sites do not fit in {k} new groups")
        key = ("plan", t.key, organisation, tuple(kept), objective, bool(places), method, k)

        def make() -> Plan:
            model = self.model(t, organisation, places)
            if objective == "coverage":
                return model.solve(k, "mclp" if method == "optimal" else "greedy", fixed,
                                   solver)
            chosen = self.median_model(t, organisation, places).solve(
                k, "median" if method == "optimal" else "greedy", fixed, solver)
            positions = [int(p) for p in _positions_of(chosen.sites, self.candidates(places))]
            return model.evaluate(positions, fixed, chosen.method)

        return make() if solver is not None else self._cached(key, make)

    def cover_all(self, near: str | Threshold = DEFAULT_COVER_ALL, organisation: str | None = None,
                  kept: Sequence[str] = (), places: bool = False,
                  solver: pulp.LpSolver | None = None) -> CoverAll:
        """Return the fewest new groups that put everyone reachable within ``near``.

        Parameters
        ----------
        near : str
            One of :data:`THRESHOLDS`.
        organisation : str, optional
            Count only this organisation's groups as existing.
        kept : sequence of str
            Kommune numbers whose centre must be among the sites.
        places : bool
            Candidates: kommune centres (default) or centres and places.
        solver : pulp.LpSolver, optional
            Default: HiGHS directly (see :meth:`NewGroupSites.solve`); or a PuLP solver.

        Returns
        -------
        CoverAll

        """
        t = self._check(near, organisation)
        fixed = check_kept(kept, self.candidates(places))
        key = ("cover_all", t.key, organisation, tuple(kept), bool(places))

        def make() -> CoverAll:
            model = self.model(t, organisation, places)
            plan = model.cover_all(fixed, solver)
            cells = self.cells(t, organisation)
            lost = ~model.coverable
            no_route = (cells["minutes"].isna().to_numpy() if t.unit == "min"
                        else np.zeros(len(cells), dtype=bool))
            reason = np.where(no_route, "no_route", "beyond_candidates")
            left = (cells.assign(reason=reason)[lost]
                    .groupby(["kommunenummer", "reason"])["befolkning"].sum()
                    .reset_index(name="people"))
            names = dict(zip(self.kommuner["kommunenummer"], self.kommuner["kommunenavn"],
                             strict=True))
            left.insert(1, "kommunenavn", left["kommunenummer"].map(names))
            left["people"] = left["people"].round().astype("int64")
            left = left.sort_values(["people", "kommunenummer"], ascending=[False, True],
                                    ignore_index=True)
            return CoverAll(plan, plan.curve(), left)

        return make() if solver is not None else self._cached(key, make)

    def worst_off(self, sites: pd.DataFrame, organisation: str | None = None) -> pd.Series:
        """Return :func:`worst_off` of ``sites`` on this dataset (kept per site set).

        From today's figures per grid cell (:meth:`today`, kept) and the new sites alone:
        the nearest of the groups and the sites is the nearer of the nearest of each.
        """
        check_organisation(organisation)
        points = tuple(zip(sites["lat"].round(6), sites["lon"].round(6), strict=True))

        def make() -> pd.Series:
            today = self.today(organisation)
            lat, lon = sites["lat"].to_numpy(float), sites["lon"].to_numpy(float)
            km = today["km"].to_numpy()
            km = np.fmin(km, _km_to_new_sites(self.grid["lat"].to_numpy(float),
                                              self.grid["lon"].to_numpy(float), km, lat, lon))
            minutes = None
            if self.road_network is not None:
                minutes = today["minutes"].to_numpy()
                if len(sites):
                    routes = self.road_network.nearest(*network.to_metric(lat, lon))
                    minutes = np.fmin(minutes, network.travel_from(
                        routes, self.road_network, self.grid["x"], self.grid["y"],
                        snap=self.grid_snap())["minutes"].to_numpy())
            return _worst_figures(km, minutes, self.grid["befolkning"].to_numpy(dtype=float))

        return self._cached(("worst_off", organisation, points), make)

    def ranking(self, near: str | Threshold, organisation: str | None = None) -> pd.DataFrame:
        """Rank kommune centres by the people one new group there would reach.

        The same table as :func:`rank_new_sites`, from the cached model.

        Returns
        -------
        pandas.DataFrame
            ``kommunenummer``, ``kommunenavn``, ``fylkesnavn``, ``folkemengde``,
            ``km_now`` or ``min_now``, ``reach``, ``uncovered_in_kommune``; highest reach
            first.

        """
        t = self._check(near, organisation)

        def make() -> pd.DataFrame:
            result = self.kommuner[["kommunenummer", "kommunenavn", "fylkesnavn",
                                    "folkemengde"]].copy()
            if t.unit == "km":
                result["km_now"] = self.kommuner[settings.km_column(organisation)].to_numpy()
            else:
                result["min_now"] = self.kommuner[
                    settings.minutes_column(organisation)].to_numpy()
            result["reach"] = self.model(t, organisation).reach()
            inside = self.cells(t, organisation).groupby("kommunenummer")["befolkning"].sum()
            result["uncovered_in_kommune"] = (
                result["kommunenummer"].map(inside).fillna(0).round().astype("int64"))
            return result.sort_values(["reach", "kommunenummer"], ascending=[False, True],
                                      ignore_index=True)

        return self._cached(("ranking", t.key, organisation), make)

    def compare_objectives(self, k: int, near: str | Threshold = DEFAULT_NEAR,
                           organisation: str | None = None, kept: Sequence[str] = (),
                           places: bool = False) -> pd.DataFrame:
        """Return, for today and each objective's ``k`` sites, the reach and the worst-off.

        Returns
        -------
        pandas.DataFrame
            Index ``today``, ``coverage``, ``median``; columns ``covered`` (people newly
            within the threshold) and the figures of :func:`worst_off`.

        """
        rows = {"today": pd.Series({"covered": 0}).combine_first(
            self.worst_off(self.candidates().iloc[:0], organisation))}
        for objective in OBJECTIVES:
            plan = self.new_sites(k, near, organisation, kept, objective, places)
            rows[objective] = pd.Series({"covered": plan.covered}).combine_first(
                self.worst_off(plan.sites, organisation))
        return pd.DataFrame(rows).T
