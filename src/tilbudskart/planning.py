"""Planning: where new self-help groups would reach the most people who now have none.

Three questions, each answered on the SSB population grid (2019) against the groups that
exist today (all self-help groups, or one organisation's):

- **Where should K new groups go?** :meth:`NewGroupSites.solve` with ``method="mclp"``
  (maximal covering location problem: the K sites that together bring the most people
  within the threshold) or ``method="median"`` (p-median: the K sites that most reduce the
  population-weighted distance or travel time of the people beyond the threshold, which
  favours the farthest);
- **How many would it take?** :meth:`NewGroupSites.cover_all` (location set covering
  problem, LSCP: the fewest new groups that put everyone a candidate can reach within the
  threshold) and :meth:`NewGroupSites.curve` (people beyond the threshold against the
  number of new groups);
- **What does a plan do to the worst-off?** :func:`worst_off` (max and 95th percentile of
  distance and drive time, people beyond 120 minutes).

"Near" is one of :data:`THRESHOLDS`: 25 or 50 km in a straight line, or 45/60/75 minutes by
road and car ferry (SSB's centrality thresholds). Candidate sites are the 357 kommune
centres (:func:`centre_candidates`) or, in addition, every populated place with a postcode or
a central place name (:func:`place_candidates`).

The models follow spopt's shape (:mod:`spopt.locate`): :meth:`NewGroupSites.from_geodataframe`
builds the cost matrix and returns :meth:`NewGroupSites.from_cost_matrix` (one construction
path), the solver is passed to the solve method and one status check guards every solution.
Unlike spopt, whose builders loop over every demand × candidate pair in Python, the models
here are written from the sparse coverage: demand rows covered by the same candidates are
merged first (exact; 27 000 cells become about 1 000 rows). By default they are handed to
HiGHS directly as arrays (``highspy``), and the p-median is solved by Benders decomposition
(:func:`_p_median_highs`: a minute and more as one variable per pair for an organisation
with few groups, about a second this way); a PuLP solver (:func:`default_solver`, CBC …)
solves the same models written in PuLP, for comparison. :class:`Planner` builds each model
once per organisation, threshold and candidate set and keeps it (the app and the CLI ask
it), and can keep them on disk between server starts (:meth:`Planner.save`).

Examples
--------
>>> import numpy as np, pandas as pd
>>> from tilbudskart.planning import NewGroupSites
>>> cost = np.array([[10.0, 99.0], [99.0, 10.0], [10.0, 10.0]])  # km, demand × candidate
>>> model = NewGroupSites.from_cost_matrix(cost, np.array([5, 3, 1]), 25,
...                                        pd.DataFrame({"place": ["A", "B"]}))
>>> plan = model.solve(1)
>>> plan.sites[["place", "added"]].to_dict("records"), plan.covered
([{'place': 'A', 'added': 6}], 6)
>>> model.cover_all().sites["place"].tolist()
['A', 'B']

"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pulp
from scipy import sparse
from scipy.spatial import cKDTree

from tilbudskart import access, datasources, network, outputs, settings
from tilbudskart.access import NearestIndex, unit_vectors

#: Most new groups a question may ask for (CLI ``--new``, the page, :meth:`Planner.new_sites`).
MAX_NEW_GROUPS = 50

#: Objectives of :meth:`Planner.new_sites`: ``coverage`` (MCLP) or ``median`` (p-median).
OBJECTIVES = ("coverage", "median")

#: Drive time (minutes) beyond which :func:`worst_off` counts a person as worst-off.
WORST_MINUTES = max(settings.BEYOND_MINUTES)

#: Side (metres) of the blocks the p-median's demand is aggregated to.
MEDIAN_BLOCK_M = 10_000.0

#: Largest minutes for which :func:`minutes_pairs` looks only at the candidates near each
#: demand point's road link (:meth:`tilbudskart.network.Destinations.within`).
NEAR_PAIRS_MINUTES = 180.0

#: Candidates closer than this (km) to an earlier candidate are dropped as duplicates.
PLACE_SPACING_KM = 1.0


@dataclass(frozen=True)
class Threshold:
    """What counts as "near" a group.

    Attributes
    ----------
    key : str
        ``"25km"``, ``"50km"``, ``"45min"``, ``"60min"`` or ``"75min"``.
    unit : {"km", "min"}
        Straight-line kilometres or minutes by road and car ferry.
    value : float
        The threshold.

    """

    key: str
    unit: Literal["km", "min"]
    value: float


#: dict of str to Threshold: the thresholds offered (25/50 km; SSB's 45/60/75 minutes).
THRESHOLDS: dict[str, Threshold] = {t.key: t for t in (
    Threshold("25km", "km", 25.0), Threshold("50km", "km", 50.0),
    Threshold("45min", "min", 45.0), Threshold("60min", "min", 60.0),
    Threshold("75min", "min", 75.0))}


# -- argument checks (every public function checks before any work) ------------------------


def check_threshold(near: str | Threshold) -> Threshold:
    """Return the :class:`Threshold` of ``near``.

    Raises
    ------
    ValueError
        Naming the value, if it is not one of :data:`THRESHOLDS`.

    Examples
    --------
    >>> check_threshold("60min")
    Threshold(key='60min', unit='min', value=60.0)

    """
    if isinstance(near, Threshold) and THRESHOLDS.get(near.key) == near:
        return near
    if isinstance(near, str) and near in THRESHOLDS:
        return THRESHOLDS[near]
    raise ValueError(f"threshold {near!r} is not offered; choose one of "
                     f"{', '.join(THRESHOLDS)}")


def check_organisation(organisation: str | None) -> str | None:
    """Return ``organisation`` if it is a self-help organisation (or None: all of them).

    Raises
    ------
    ValueError
        Naming the value, e.g. ``"institution"`` (treatment institutions are not groups).

    """
    if organisation is None or organisation in settings.SELF_HELP_ORGANISATIONS:
        return organisation
    raise ValueError(f"organisation {organisation!r} is not a self-help organisation; choose "
                     f"one of {', '.join(settings.SELF_HELP_ORGANISATIONS)}")


def check_new_groups(k: object, low: int = 1) -> int:
    """Return ``k`` if it is a whole number from ``low`` to :data:`MAX_NEW_GROUPS`.

    Raises
    ------
    ValueError
        Naming the value.

    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not (
            low <= int(k) <= MAX_NEW_GROUPS):
        raise ValueError(f"number of new groups must be a whole number from {low} to "
                         f"{MAX_NEW_GROUPS}, not {k!r}")
    return int(k)


def check_objective(objective: str) -> str:
    """Return ``objective`` if it is one of :data:`OBJECTIVES`."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective {objective!r} is not offered; choose one of "
                         f"{', '.join(OBJECTIVES)}")
    return objective


def check_kept(kept: Sequence[str], candidates: pd.DataFrame) -> list[int]:
    """Return the candidate positions of kept kommuner (their centres).

    Parameters
    ----------
    kept : sequence of str
        Kommune numbers whose centre must be among the sites.
    candidates : pandas.DataFrame
        From :func:`centre_candidates` or :func:`place_candidates`.

    Raises
    ------
    ValueError
        If a number is repeated or names no kommune.

    """
    if isinstance(kept, str):
        raise ValueError(f"kept sites must be a list of kommune numbers, not the text {kept!r}")
    kept = [str(number) for number in kept]
    repeated = sorted({n for n in kept if kept.count(n) > 1})
    if repeated:
        raise ValueError(f"kept kommune repeated: {', '.join(repeated)}")
    centres = candidates[candidates["source"] == "kommunesenter"]
    position = dict(zip(centres["kommunenummer"], centres.index, strict=True))
    unknown = [n for n in kept if n not in position]
    if unknown:
        raise ValueError(f"unknown kommunenummer in kept sites: {', '.join(unknown)}")
    return [int(position[n]) for n in kept]


# -- solver ------------------------------------------------------------------------------

_BANNER_LOCK = threading.Lock()
_BANNER_SHOWN = False


def default_solver(msg: bool = False, **options: object) -> pulp.LpSolver:
    """Return PuLP's HiGHS solver (``highspy``), without HiGHS's banner on standard output.

    ``options`` are HiGHS options (:data:`COVERING_OPTIONS` gives the covering models the
    settings the direct path uses: the same model and settings, the same answer).

    highspy prints a copyright banner on the process's standard output the first time a
    solver is made, even with ``msg=False``; that would corrupt ``plan --json``. The first
    call makes that solver with the output file descriptor pointed at ``/dev/null``.

    Examples
    --------
    >>> type(default_solver()).__name__
    'HiGHS'

    """
    global _BANNER_SHOWN
    with _BANNER_LOCK:
        if not _BANNER_SHOWN:
            import highspy

            with _stdout_to_devnull():
                highspy.Highs()
            _BANNER_SHOWN = True
    return pulp.HiGHS(msg=msg, **options)


@contextlib.contextmanager
def _stdout_to_devnull() -> Iterator[None]:
    import sys

    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def check_status(problem: pulp.LpProblem) -> None:
    """Raise unless ``problem`` was solved to optimality (spopt's ``check_status``).

    Raises
    ------
    RuntimeError
        With PuLP's name of the status.

    """
    if problem.status != pulp.LpStatusOptimal:
        raise RuntimeError(f"{problem.name} not solved: {pulp.LpStatus[problem.status]}")


def _solve(problem: pulp.LpProblem, solver: pulp.LpSolver | None) -> None:
    problem.solve(solver if solver is not None else default_solver())
    check_status(problem)


# -- demand and candidates -----------------------------------------------------------------


def chord(radius_km: float | np.ndarray) -> Any:
    """Return the unit-sphere chord length of a great-circle distance (km)."""
    return 2 * np.sin(np.asarray(radius_km, dtype=float) / (2 * settings.EARTH_RADIUS_KM)) \
        if np.ndim(radius_km) else float(2 * np.sin(radius_km / (2 * settings.EARTH_RADIUS_KM)))


def _groups(services: pd.DataFrame, organisation: str | None) -> pd.DataFrame:
    return access.located(services, organisation=organisation)


def uncovered_cells(grid: pd.DataFrame, services: pd.DataFrame, radius_km: float,
                    organisation: str | None = None) -> pd.DataFrame:
    """Return the grid cells farther than ``radius_km`` from the nearest group.

    Parameters
    ----------
    grid : pandas.DataFrame
        Population grid with ``lat``, ``lon``, ``befolkning``, ``kommunenummer``.
    services : pandas.DataFrame
        Geocoded services.
    radius_km : float
        Coverage radius.
    organisation : str, optional
        Only groups of this organisation count as coverage.

    Returns
    -------
    pandas.DataFrame
        The uncovered cells with their distance ``km``.

    """
    check_organisation(organisation)
    km = NearestIndex.from_services(_groups(services, organisation)).distance_km(
        grid["lat"], grid["lon"])
    cells = grid.assign(km=km)
    return cells[~(cells["km"] <= radius_km)].reset_index(drop=True)


def uncovered_cells_by_time(grid: pd.DataFrame, services: pd.DataFrame,
                            road_network: network.RoadNetwork, minutes: float,
                            organisation: str | None = None) -> pd.DataFrame:
    """Return the grid cells more than ``minutes`` by road and car ferry from any group.

    Parameters
    ----------
    grid : pandas.DataFrame
        Population grid with ``x``, ``y`` (EPSG:25833), ``befolkning``, ``kommunenummer``.
    services : pandas.DataFrame
        Geocoded services.
    road_network : RoadNetwork
        The road and car-ferry graph.
    minutes : float
        Coverage threshold.
    organisation : str, optional
        Only groups of this organisation count as coverage.

    Returns
    -------
    pandas.DataFrame
        The uncovered cells with their travel time ``minutes`` (NaN: no route at all).

    """
    check_organisation(organisation)
    groups = _groups(services, organisation)
    routes = road_network.nearest(*network.to_metric(groups["lat"], groups["lon"]))
    travel = network.travel_from(routes, road_network, grid["x"], grid["y"])
    cells = grid.assign(minutes=travel["minutes"].to_numpy())
    return cells[~(cells["minutes"] <= minutes)].reset_index(drop=True)


def km_pairs(demand_lat: np.ndarray, demand_lon: np.ndarray, cand_lat: np.ndarray,
             cand_lon: np.ndarray, radius_km: float | np.ndarray) -> sparse.coo_array:
    """Return great-circle km between demand points and the candidates within a radius.

    The one builder of coverage in km (:func:`candidate_reach`,
    :meth:`NewGroupSites.from_geodataframe`): a cKDTree on the unit sphere finds the pairs,
    and their distance is the great-circle distance on the mean-radius sphere.

    Parameters
    ----------
    demand_lat, demand_lon, cand_lat, cand_lon : numpy.ndarray
        WGS 84 degrees.
    radius_km : float or numpy.ndarray
        One radius, or one per demand point.

    Returns
    -------
    scipy.sparse.coo_array
        Demand × candidate; stored entries (zeros included) are the km of the pairs within
        the radius, absent entries are farther.

    Examples
    --------
    >>> km_pairs(np.array([60.0]), np.array([10.0]), np.array([60.0, 61.0]),
    ...          np.array([10.0, 10.0]), 50).toarray().round(1)
    array([[0., 0.]])

    """
    n_demand, n_cand = len(demand_lat), len(cand_lat)
    if n_demand == 0 or n_cand == 0:
        return sparse.coo_array((n_demand, n_cand))
    tree = cKDTree(unit_vectors(cand_lat, cand_lon))
    points = unit_vectors(demand_lat, demand_lon)
    hits = tree.query_ball_point(points, r=chord(radius_km))
    rows = np.repeat(np.arange(n_demand), [len(h) for h in hits])
    cols = np.fromiter((c for h in hits for c in h), dtype=np.int64, count=len(rows))
    gap = np.linalg.norm(points[rows] - tree.data[cols], axis=1)
    km = 2 * settings.EARTH_RADIUS_KM * np.arcsin(np.clip(gap / 2, 0, 1))
    return sparse.coo_array((km, (rows, cols)), shape=(n_demand, n_cand))


def minutes_pairs(road_network: network.RoadNetwork, demand_x: np.ndarray,
                  demand_y: np.ndarray, cand_x: np.ndarray, cand_y: np.ndarray,
                  keep_below: float | np.ndarray, chunk: int = 512,
                  destinations: network.Destinations | None = None,
                  demand_snap: network.Snap | None = None) -> sparse.coo_array:
    """Return minutes by road and car ferry between demand points and candidates.

    :func:`tilbudskart.network.minutes_matrix`, in chunks of candidates, keeping only the
    pairs at most ``keep_below`` (one value, or one per demand point).

    Parameters
    ----------
    road_network : RoadNetwork
        The road and car-ferry graph.
    demand_x, demand_y, cand_x, cand_y : numpy.ndarray
        EPSG:25833 metres.
    keep_below : float or numpy.ndarray
        Largest minutes kept (one value, or one per demand point).
    chunk : int
        Candidates per Dijkstra batch.
    destinations : Destinations, optional
        The candidates' Dijkstra runs, already made (then ``cand_x``, ``cand_y`` only give
        their number): a :class:`Planner` keeps them for every organisation and threshold.
    demand_snap : Snap, optional
        Where the demand points join the network, if already known.

    Returns
    -------
    scipy.sparse.coo_array
        Demand × candidate minutes; absent entries are slower or have no route.

    """
    rows, cols, values = [], [], []
    limit = np.broadcast_to(np.asarray(keep_below, dtype=float), (len(demand_x),))
    if destinations is not None and demand_snap is not None and (
            np.nanmax(limit, initial=0.0) <= NEAR_PAIRS_MINUTES):
        # Only the pairs within reach: the same figures, without the whole table.
        r, c, m = destinations.within(demand_snap, limit)
        return sparse.coo_array((m.astype(float), (r, c)), shape=(len(demand_x), len(cand_x)))
    if destinations is not None:
        if len(destinations) != len(cand_x):
            raise ValueError(f"{len(destinations)} destinations for {len(cand_x)} candidates")
        chunk = max(len(cand_x), 1)
    for start in range(0, len(cand_x), chunk):
        if destinations is not None:
            block = destinations.minutes_from(demand_x, demand_y, demand_snap)
        else:
            block = network.Destinations(
                road_network, cand_x[start:start + chunk], cand_y[start:start + chunk],
            ).minutes_from(demand_x, demand_y, demand_snap)
        with np.errstate(invalid="ignore"):
            r, c = np.nonzero(block <= limit[:, None])
        rows.append(r)
        cols.append(c + start)
        values.append(block[r, c].astype(float))
    if not rows:
        return sparse.coo_array((len(demand_x), len(cand_x)))
    return sparse.coo_array((np.concatenate(values), (np.concatenate(rows),
                                                      np.concatenate(cols))),
                            shape=(len(demand_x), len(cand_x)))


def candidate_reach(lat: np.ndarray, lon: np.ndarray, uncovered: pd.DataFrame,
                    radius_km: float) -> np.ndarray:
    """Return, per candidate, the uncovered population within ``radius_km``.

    Parameters
    ----------
    lat, lon : numpy.ndarray
        Candidate sites.
    uncovered : pandas.DataFrame
        Cells from :func:`uncovered_cells`.
    radius_km : float
        Coverage radius (great circle).

    Returns
    -------
    numpy.ndarray of int

    Examples
    --------
    >>> cells = pd.DataFrame({"lat": [60.0, 62.0], "lon": [10.0, 10.0], "befolkning": [7, 1]})
    >>> candidate_reach(np.array([60.1]), np.array([10.0]), cells, 30).tolist()
    [7]

    """
    if radius_km < 0:
        raise ValueError(f"radius_km must not be negative, not {radius_km!r}")
    pairs = km_pairs(uncovered["lat"].to_numpy(), uncovered["lon"].to_numpy(),
                     np.asarray(lat, dtype=float), np.asarray(lon, dtype=float), radius_km)
    population = uncovered["befolkning"].to_numpy(dtype=float)
    reach = np.bincount(pairs.col, weights=population[pairs.row], minlength=len(lat))
    return np.round(reach).astype(np.int64)


#: Columns of a candidate table (see :func:`centre_candidates`).
CANDIDATE_COLUMNS = ["kommunenummer", "kommunenavn", "fylkesnavn", "place", "source", "lat",
                     "lon", "admin_lat", "admin_lon"]


def centre_candidates(kommuner: pd.DataFrame) -> pd.DataFrame:
    """Return the kommune centres as candidate sites (one per kommune, in table order).

    Parameters
    ----------
    kommuner : pandas.DataFrame
        The kommune table (``kommunenummer``, ``kommunenavn``, ``fylkesnavn``,
        ``admin_centre``, ``admin_lat``, ``admin_lon``).

    Returns
    -------
    pandas.DataFrame
        :data:`CANDIDATE_COLUMNS`; ``source`` is ``"kommunesenter"``, ``lat``/``lon`` the
        site (here the centre itself).

    """
    table = kommuner.reset_index(drop=True)
    place = table["admin_centre"] if "admin_centre" in table else table["kommunenavn"]
    return pd.DataFrame({
        "kommunenummer": table["kommunenummer"], "kommunenavn": table["kommunenavn"],
        "fylkesnavn": table["fylkesnavn"], "place": place, "source": "kommunesenter",
        "lat": table["admin_lat"].astype(float), "lon": table["admin_lon"].astype(float),
        "admin_lat": table["admin_lat"].astype(float),
        "admin_lon": table["admin_lon"].astype(float)})


def place_candidates(kommuner: pd.DataFrame, postcodes: pd.DataFrame | None = None,
                     gazetteer: pd.DataFrame | None = None,
                     spacing_km: float = PLACE_SPACING_KM) -> pd.DataFrame:
    """Return the kommune centres and every populated place with a postcode or place name.

    Places are the gazetteer's towns, villages and postal places and one point per postal
    place (``poststed``) of the postcode register; a place closer than ``spacing_km`` to an
    earlier candidate (centres first) is a duplicate and dropped.

    Parameters
    ----------
    kommuner : pandas.DataFrame
        The kommune table (see :func:`centre_candidates`).
    postcodes, gazetteer : pandas.DataFrame, optional
        Default :func:`tilbudskart.datasources.read_postcodes` / ``read_gazetteer``.
    spacing_km : float
        Closest two candidates may be.

    Returns
    -------
    pandas.DataFrame
        :data:`CANDIDATE_COLUMNS`; the centres first (positions as in ``kommuner``).

    """
    if spacing_km < 0:
        raise ValueError(f"spacing_km must not be negative, not {spacing_km!r}")
    centres = centre_candidates(kommuner)
    postcodes = datasources.read_postcodes() if postcodes is None else postcodes
    gazetteer = datasources.read_gazetteer() if gazetteer is None else gazetteer
    named = gazetteer[~gazetteer["kommunesenter"]
                      & ~gazetteer["navn"].str.contains("ikkje i bruk|ikke i bruk", case=False)]
    places = pd.concat([
        pd.DataFrame({"kommunenummer": named["kommunenummer"], "place": named["navn"],
                      "source": named["type"], "lat": named["lat"], "lon": named["lon"]}),
        postcodes.groupby(["kommunenummer", "poststed"], as_index=False)[["lat", "lon"]]
        .median().rename(columns={"poststed": "place"}).assign(source="postnummer"),
    ], ignore_index=True)
    info = centres.set_index("kommunenummer")
    places = places[places["kommunenummer"].isin(info.index)
                    & places["lat"].notna() & places["lon"].notna()]
    places = places.sort_values(["kommunenummer", "place", "source"], kind="stable")
    for column in ("kommunenavn", "fylkesnavn", "admin_lat", "admin_lon"):
        places[column] = places["kommunenummer"].map(info[column])
    table = pd.concat([centres, places[CANDIDATE_COLUMNS]], ignore_index=True)
    points = unit_vectors(table["lat"], table["lon"])
    keep = np.ones(len(table), dtype=bool)
    tree = cKDTree(points)
    for i, j in sorted(tree.query_pairs(chord(spacing_km))):
        if keep[i] and j >= len(centres):
            keep[j] = False
    return table[keep].reset_index(drop=True)


def rank_new_sites(kommuner: pd.DataFrame, grid: pd.DataFrame, services: pd.DataFrame,
                   radius_km: float = 50.0, organisation: str | None = None,
                   minutes: float | None = None,
                   road_network: network.RoadNetwork | None = None) -> pd.DataFrame:
    """Rank kommuner by the reach of a new group at their administrative centre.

    Parameters
    ----------
    kommuner : pandas.DataFrame
        The access table (``kommunenummer``, ``admin_lat``, ``admin_lon`` …).
    grid : pandas.DataFrame
        Population grid with ``lat``/``lon``.
    services : pandas.DataFrame
        Geocoded services.
    radius_km : float
        Coverage radius.
    organisation : str, optional
        Measure coverage by this organisation's groups only.
    minutes : float, optional
        Measure reach by travel time by road and car ferry instead of ``radius_km``.
    road_network : RoadNetwork, optional
        Required with ``minutes``.

    Returns
    -------
    pandas.DataFrame
        ``kommunenummer``, ``kommunenavn``, ``fylkesnavn``, ``folkemengde``,
        ``km_now`` or, with ``minutes``, ``min_now`` (centre to nearest counted group),
        ``uncovered_in_kommune`` (grid population of the kommune out of reach) and
        ``reach``; highest reach first.

    """
    check_organisation(organisation)
    if minutes is not None and road_network is None:
        raise ValueError("planning by travel time needs road_network")
    result = kommuner[["kommunenummer", "kommunenavn", "fylkesnavn", "folkemengde"]].copy()
    if minutes is None:
        uncovered = uncovered_cells(grid, services, radius_km, organisation)
        result["km_now"] = kommuner[settings.km_column(organisation)].to_numpy()
        result["reach"] = candidate_reach(kommuner["admin_lat"].to_numpy(),
                                          kommuner["admin_lon"].to_numpy(), uncovered,
                                          radius_km)
    else:
        assert road_network is not None
        uncovered = uncovered_cells_by_time(grid, services, road_network, minutes, organisation)
        model = _model_from_cells(uncovered, centre_candidates(kommuner),
                                  Threshold(f"{minutes:g}min", "min", float(minutes)),
                                  road_network)
        result["min_now"] = kommuner[settings.minutes_column(organisation)].to_numpy()
        result["reach"] = model.reach()
    inside = uncovered.groupby("kommunenummer")["befolkning"].sum()
    result["uncovered_in_kommune"] = (
        result["kommunenummer"].map(inside).fillna(0).astype("int64"))
    return result.sort_values(["reach", "kommunenummer"], ascending=[False, True],
                              ignore_index=True)


# -- the models -------------------------------------------------------------------------


@dataclass
class Plan:
    """The chosen sites of a planning run.

    Attributes
    ----------
    sites : pandas.DataFrame
        The candidates' own columns plus ``fixed`` (kept by the user), ``reach`` (people
        the site alone would bring within the threshold), ``added`` (people it adds, in the
        order listed: kept sites first, then each the one adding most) and ``cumulative``.
    covered : int
        People newly within the threshold of at least one chosen site.
    demand : int
        People beyond the threshold today whom some candidate could reach at all.
    method : str
        ``"mclp"``, ``"median"``, ``"lscp"`` (optimal) or ``"greedy"``.
    beyond : int
        People beyond the threshold today (those no candidate can reach included).

    """

    sites: pd.DataFrame
    covered: int
    demand: int
    method: str
    beyond: int = 0

    @property
    def left(self) -> int:
        """People still beyond the threshold with these sites."""
        return self.beyond - self.covered

    def curve(self) -> pd.DataFrame:
        """Return people beyond the threshold after the first 0, 1, … n sites (in order).

        Returns
        -------
        pandas.DataFrame
            ``new_groups`` (0 … n) and ``people_beyond``.

        Examples
        --------
        >>> plan = Plan(pd.DataFrame({"added": [6, 3]}), 9, 9, "lscp", beyond=10)
        >>> plan.curve()["people_beyond"].tolist()
        [10, 4, 1]

        """
        added = np.concatenate([[0], self.sites["added"].to_numpy(dtype=np.int64)])
        return pd.DataFrame({"new_groups": np.arange(len(added)),
                             "people_beyond": self.beyond - np.cumsum(added)})


class NewGroupSites:
    """Where new groups would bring the most people within a threshold of one.

    Build it with :meth:`from_cost_matrix` or :meth:`from_geodataframe` (which computes the
    cost matrix and calls :meth:`from_cost_matrix`), then call :meth:`solve` (K sites:
    MCLP, p-median or greedy) or :meth:`cover_all` (LSCP).

    Parameters
    ----------
    pairs : scipy.sparse.coo_array
        Demand × candidate costs (km or minutes) of the pairs that matter: within the
        service radius, or cheaper than the demand's ``current`` cost.
    weights : numpy.ndarray
        People per demand point.
    candidates : pandas.DataFrame
        One row per candidate site (returned with the chosen sites).
    service_radius : float
        A candidate reaches a demand point when the cost is at most this.
    current : numpy.ndarray, optional
        Cost from each demand point to the nearest existing group (NaN or inf: none). Needed
        by the p-median only.

    Examples
    --------
    >>> cost = np.array([[10.0, 99.0], [99.0, 10.0]])
    >>> model = NewGroupSites.from_cost_matrix(cost, np.array([5, 3]), 25,
    ...                                        pd.DataFrame({"place": ["A", "B"]}))
    >>> model.reach().tolist()
    [5, 3]

    """

    def __init__(self, pairs: sparse.coo_array, weights: np.ndarray, candidates: pd.DataFrame,
                 service_radius: float, current: np.ndarray | None = None) -> None:
        pairs = sparse.coo_array(pairs)
        self.weights = np.asarray(weights, dtype=float)
        self.candidates = candidates.reset_index(drop=True)
        self.service_radius = float(service_radius)
        n_demand, n_cand = len(self.weights), len(self.candidates)
        if pairs.shape != (n_demand, n_cand):
            raise ValueError(f"cost matrix is {pairs.shape[0]}×{pairs.shape[1]}, but there "
                             f"are {n_demand} demand weights and {n_cand} candidates")
        self.current = (np.full(n_demand, np.inf) if current is None
                        else np.asarray(current, dtype=float))
        self.current = np.where(np.isnan(self.current), np.inf, self.current)
        self.rows = np.asarray(pairs.row, dtype=np.int64)
        self.cols = np.asarray(pairs.col, dtype=np.int64)
        self.costs = np.asarray(pairs.data, dtype=float)
        within = self.costs <= self.service_radius
        self.coverage = sparse.csr_array(
            (np.ones(int(within.sum()), dtype=bool), (self.rows[within], self.cols[within])),
            shape=(n_demand, n_cand))
        self._reduction: tuple[sparse.csr_array, np.ndarray] | None = None

    @classmethod
    def from_cost_matrix(cls, cost_matrix: np.ndarray | sparse.sparray | sparse.spmatrix,
                         weights: np.ndarray, service_radius: float, candidates: pd.DataFrame,
                         current: np.ndarray | None = None) -> NewGroupSites:
        """Build from a demand × candidate cost matrix (km, minutes …).

        Parameters
        ----------
        cost_matrix : numpy.ndarray or scipy sparse array
            Shape ``(n_demand, n_candidates)``. Dense: NaN means no route. Sparse: stored
            entries (explicit zeros included) are the costs, absent ones are out of reach.
        weights : numpy.ndarray
            People per demand point (non-negative).
        service_radius : float
            A candidate reaches a demand point when the cost is at most this.
        candidates : pandas.DataFrame
            One row per column of ``cost_matrix``.
        current : numpy.ndarray, optional
            Cost from each demand point to the nearest existing group (for the p-median).
            Pairs costing more than both ``service_radius`` and ``current`` are dropped:
            they change no answer.

        Returns
        -------
        NewGroupSites

        Raises
        ------
        ValueError
            If the shapes disagree, the radius is negative or a weight negative or missing.

        Examples
        --------
        >>> model = NewGroupSites.from_cost_matrix(np.array([[1.0, np.nan]]), np.array([2]),
        ...                                        5, pd.DataFrame({"place": ["A", "B"]}))
        >>> model.reach().tolist()
        [2, 0]

        """
        weights = np.asarray(weights, dtype=float)
        if weights.ndim != 1 or np.isnan(weights).any() or (weights < 0).any():
            raise ValueError("demand weights must be non-negative numbers")
        if not np.isfinite(service_radius) or service_radius < 0:
            raise ValueError(f"service_radius must be a non-negative number, not "
                             f"{service_radius!r}")
        if current is not None and len(current) != len(weights):
            raise ValueError(f"{len(current)} current costs for {len(weights)} demand points")
        if sparse.issparse(cost_matrix):
            pairs = sparse.coo_array(cost_matrix)
        else:
            cost = np.asarray(cost_matrix, dtype=float)
            if cost.ndim != 2:
                raise ValueError("cost_matrix must be two-dimensional (demand × candidates)")
            rows, cols = np.nonzero(np.isfinite(cost))
            pairs = sparse.coo_array((cost[rows, cols], (rows, cols)), shape=cost.shape)
        if pairs.shape != (len(weights), len(candidates)):
            raise ValueError(f"cost matrix is {pairs.shape[0]}×{pairs.shape[1]}, but there "
                             f"are {len(weights)} demand weights and {len(candidates)} "
                             "candidates")
        limit = np.full(len(weights), float(service_radius))
        if current is not None:
            limit = np.fmax(limit, np.where(np.isnan(current), np.inf, current))
        keep = np.isfinite(pairs.data) & (pairs.data <= limit[pairs.row])
        pairs = sparse.coo_array((pairs.data[keep], (pairs.row[keep], pairs.col[keep])),
                                 shape=pairs.shape)
        return cls(pairs, weights, candidates, service_radius, current)

    @classmethod
    def from_geodataframe(cls, demand: gpd.GeoDataFrame, candidates: gpd.GeoDataFrame,
                          service_radius_km: float, weight: str = "befolkning",
                          current: str | None = None) -> NewGroupSites:
        """Build from demand and candidate points, reaching within a great-circle radius.

        Parameters
        ----------
        demand : geopandas.GeoDataFrame
            Points with a ``weight`` column (people).
        candidates : geopandas.GeoDataFrame
            Candidate sites (points).
        service_radius_km : float
            Reach of a group (great circle on the mean-radius sphere).
        weight : str
            Column of ``demand`` holding the people.
        current : str, optional
            Column of ``demand`` holding the km to the nearest existing group (p-median).

        Returns
        -------
        NewGroupSites

        Raises
        ------
        ValueError
            On a missing or mismatched CRS, non-point geometry or a missing column.

        Examples
        --------
        >>> people = gpd.GeoDataFrame({"befolkning": [7, 5]}, crs="EPSG:4326",
        ...                           geometry=gpd.points_from_xy([10.0, 10.0], [60.0, 60.5]))
        >>> site = gpd.GeoDataFrame({"place": ["S"]}, crs="EPSG:4326",
        ...                         geometry=gpd.points_from_xy([10.0], [60.1]))
        >>> NewGroupSites.from_geodataframe(people, site, 20).reach().tolist()
        [7]

        """
        if demand.crs is None or candidates.crs is None:
            raise ValueError("demand and candidates need a CRS")
        if demand.crs != candidates.crs:
            raise ValueError(f"CRS mismatch: demand is {demand.crs.to_string()}, "
                             f"candidates are {candidates.crs.to_string()}")
        for kind, column in (("weight", weight), ("current-cost", current)):
            if column is not None and column not in demand.columns:
                raise ValueError(f"demand has no {kind} column {column!r}")
        for name, frame in (("demand", demand), ("candidates", candidates)):
            if len(frame) and not (frame.geom_type == "Point").all():
                raise ValueError(f"{name} must be points")
        if not np.isfinite(service_radius_km) or service_radius_km < 0:
            raise ValueError(f"service_radius_km must be a non-negative number, not "
                             f"{service_radius_km!r}")
        now = None if current is None else demand[current].to_numpy(dtype=float)
        radius = (np.full(len(demand), float(service_radius_km)) if now is None else
                  np.fmax(service_radius_km, np.where(np.isnan(now), np.inf, now)))
        demand_ll = demand.geometry.to_crs(settings.CRS_WGS84)
        cand_ll = candidates.geometry.to_crs(settings.CRS_WGS84)
        pairs = km_pairs(demand_ll.y.to_numpy(), demand_ll.x.to_numpy(),
                         cand_ll.y.to_numpy(), cand_ll.x.to_numpy(),
                         np.minimum(radius, np.pi * settings.EARTH_RADIUS_KM))
        return cls.from_cost_matrix(pairs, demand[weight].to_numpy(dtype=float),
                                    service_radius_km,
                                    pd.DataFrame(candidates.drop(columns="geometry")), now)

    # -- what the model knows ----------------------------------------------------------

    def reach(self) -> np.ndarray:
        """Return, per candidate, the people it alone would reach (int)."""
        return np.round(self.coverage.T.astype(float) @ self.weights).astype("int64")

    @property
    def coverable(self) -> np.ndarray:
        """Return, per demand point, whether some candidate reaches it."""
        return np.diff(self.coverage.indptr) > 0

    @property
    def routed(self) -> np.ndarray:
        """Return, per demand point, whether it has any cost at all (a route, for minutes)."""
        return np.bincount(self.rows, minlength=len(self.weights)) > 0

    def _reduced(self) -> tuple[sparse.csr_array, np.ndarray]:
        """Merge demand rows covered by the same candidates; drop rows nobody covers (cached)."""
        if self._reduction is None:
            self._reduction = _merge_rows(self.coverage, self.weights)
        return self._reduction

    def _fixed(self, fixed: Sequence[int]) -> list[int]:
        must = [int(f) for f in fixed]
        if len(set(must)) != len(must) or any(not 0 <= f < len(self.candidates) for f in must):
            raise ValueError(f"fixed sites must be distinct candidate positions 0 … "
                             f"{len(self.candidates) - 1}, not {list(fixed)}")
        return must

    # -- solving -----------------------------------------------------------------------

    def solve(self, k: int, method: str = "mclp", fixed: Sequence[int] = (),
              solver: pulp.LpSolver | None = None) -> Plan:
        """Choose ``k`` sites.

        Parameters
        ----------
        k : int
            Number of new groups (≥ 1), the fixed ones included.
        method : {"mclp", "median", "greedy"}
            ``"mclp"``: the most people within the threshold (maximal covering).
            ``"median"``: the least population-weighted cost (distance or time) to the
            nearest group, existing or new, for the demand of this model (p-median; needs
            ``current``). ``"greedy"``: repeatedly the site adding the most people (the
            baseline the optimum is measured against).
        fixed : sequence of int
            Candidate positions that must be among the sites (a "what if we start here"):
            the other ``k - len(fixed)`` are chosen around them.
        solver : pulp.LpSolver, optional
            Default: the model handed to HiGHS directly as arrays (``highspy``; the
            p-median by Benders decomposition, :func:`_p_median_highs`). A PuLP solver
            (:func:`default_solver`, ``pulp.PULP_CBC_CMD(msg=False)`` …) solves the same
            model written in PuLP instead (for comparison: same answers, slower).

        Returns
        -------
        Plan
            Fixed sites first (``fixed`` column True), then the others best first.

        Examples
        --------
        >>> cost = np.where(np.array([[1, 1, 0], [1, 0, 1], [0, 1, 0], [0, 0, 1]]), 1.0, 9.0)
        >>> model = NewGroupSites.from_cost_matrix(cost, np.array([3, 3, 2, 2]), 5,
        ...                                        pd.DataFrame({"site": list("XYZ")}))
        >>> model.solve(2).covered, model.solve(2, "greedy").covered
        (10, 8)

        """
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(f"k must be a positive whole number, not {k!r}")
        if method not in {"mclp", "median", "greedy"}:
            raise ValueError(f"method must be 'mclp', 'median' or 'greedy', not {method!r}")
        must = self._fixed(fixed)
        if len(must) > k:
            raise ValueError(f"{len(must)} fixed sites do not fit in k = {k}")
        coverage, weights = self._reduced()
        k = min(int(k), coverage.shape[1])
        if method == "median":
            chosen = self._median(k, must, solver)
        else:
            columns = _undominated(coverage, must)
            if method == "greedy" or len(columns) <= k or k - len(must) == 1:
                # With one site left to choose, the one adding most is the optimum.
                chosen = _greedy(coverage, weights, k, start=must)
            else:
                position = {int(c): i for i, c in enumerate(columns)}
                sub, sub_weights = _merge_rows(coverage[:, columns], weights)
                found = _mclp(sub, sub_weights, k, [position[f] for f in must], solver)
                chosen = [int(columns[j]) for j in found]
        return self.evaluate(chosen, must, method)

    def cover_all(self, fixed: Sequence[int] = (), solver: pulp.LpSolver | None = None) -> Plan:
        """Return the fewest sites that reach everyone some candidate can reach (LSCP).

        Parameters
        ----------
        fixed : sequence of int
            Candidate positions that must be among the sites.
        solver : pulp.LpSolver, optional
            Default: HiGHS directly (see :meth:`solve`); or a PuLP solver.

        Returns
        -------
        Plan
            ``method="lscp"``; fixed sites first, then in the order of people newly
            covered (each the one adding most); ``beyond - covered`` people no candidate can
            reach stay beyond.

        Examples
        --------
        >>> cost = np.where(np.array([[1, 1, 0], [1, 0, 1], [0, 1, 0], [0, 0, 1]]), 1.0, 9.0)
        >>> model = NewGroupSites.from_cost_matrix(cost, np.array([3, 3, 2, 2]), 5,
        ...                                        pd.DataFrame({"site": list("XYZ")}))
        >>> model.cover_all().sites["site"].tolist()
        ['Y', 'Z']

        """
        must = self._fixed(fixed)
        coverage, _ = self._reduced()
        if coverage.shape[0]:
            columns = _undominated(coverage, must)
            position = {int(c): i for i, c in enumerate(columns)}
            sub, _ = _merge_rows(coverage[:, columns], np.ones(coverage.shape[0]))
            chosen = [int(columns[j]) for j in _lscp(sub, [position[f] for f in must], solver)]
        else:
            chosen = list(must)
        return self.evaluate(chosen, must, "lscp")

    def evaluate(self, chosen: Sequence[int], fixed: Sequence[int] = (),
                 method: str = "given") -> Plan:
        """Return the :class:`Plan` of given sites: fixed first, then each adding most.

        Parameters
        ----------
        chosen : sequence of int
            Candidate positions (``fixed`` among them).
        fixed : sequence of int
            Positions kept by the user.
        method : str
            Recorded in the plan.

        Returns
        -------
        Plan

        """
        chosen = [int(c) for c in chosen]
        fixed = self._fixed(fixed)
        if len(set(chosen)) != len(chosen) or not set(fixed) <= set(chosen) or any(
                not 0 <= c < len(self.candidates) for c in chosen):
            raise ValueError(f"chosen sites must be distinct candidate positions including "
                             f"the fixed ones, not {chosen}")
        coverage, weights = self._reduced()
        order = _greedy(coverage[:, chosen], weights, len(chosen),
                        start=[chosen.index(f) for f in fixed])
        chosen = [chosen[i] for i in order]
        covered = np.zeros(coverage.shape[0], dtype=bool)
        added = []
        for site in chosen:
            column = coverage[:, [site]].toarray().ravel()
            added.append(float(weights[column & ~covered].sum()))
            covered |= column
        sites = self.candidates.iloc[chosen].reset_index(drop=True).copy()
        sites["fixed"] = [site in fixed for site in chosen]
        sites["reach"] = self.reach()[chosen]
        sites["added"] = np.round(added).astype("int64")
        sites["cumulative"] = sites["added"].cumsum()
        return Plan(sites, int(sites["added"].sum()), round(float(weights.sum())), method,
                    beyond=round(float(self.weights.sum())))

    def _median(self, k: int, fixed: list[int], solver: pulp.LpSolver | None) -> list[int]:
        saves = self.costs < self.current[self.rows]
        rows, cols = self.rows[saves], self.cols[saves]
        saving = self.weights[rows] * (self.current[rows] - self.costs[saves])
        finite = np.isfinite(saving)
        rows, cols, saving = rows[finite], cols[finite], saving[finite]
        columns = np.union1d(np.unique(cols), np.asarray(fixed, dtype=np.int64))
        if len(columns) <= k:
            return [int(c) for c in columns]
        return _p_median(rows, cols, saving, columns, k, fixed, solver)


def _merge_rows(coverage: sparse.csr_array, weights: np.ndarray,
                ) -> tuple[sparse.csr_array, np.ndarray]:
    """Merge rows covered by the same columns (weights summed); drop rows nobody covers."""
    csr = sparse.csr_array(coverage, copy=True)
    csr.sum_duplicates()
    csr.sort_indices()
    indptr, indices = csr.indptr, csr.indices.astype(np.int64)
    covered = np.flatnonzero(np.diff(indptr) > 0)
    signature = np.empty(len(covered), dtype=object)
    signature[:] = [indices[indptr[i]:indptr[i + 1]].tobytes() for i in covered]
    codes = pd.factorize(signature)[0]
    first = covered[np.unique(codes, return_index=True)[1]]
    merged = np.bincount(codes, weights=weights[covered], minlength=len(first))
    return sparse.csr_array(csr[first].astype(bool)), merged.astype(float)


def _undominated(coverage: sparse.csr_array, keep: Sequence[int] = ()) -> np.ndarray:
    """Return the columns worth solving over: those covering something, minus dominated ones.

    Column ``j`` is dominated when another column covers every row ``j`` covers (and more,
    or the same rows at a lower position): dropping it changes neither the MCLP's nor the
    LSCP's optimum (weights are non-negative). Columns in ``keep`` always stay.
    """
    size = np.asarray(coverage.sum(axis=0)).ravel().astype(np.int64)
    useful = np.flatnonzero(size > 0)
    if len(useful) > 1:
        sub = sparse.csc_array(coverage[:, useful].astype(np.int32))
        overlap = sparse.coo_array(sub.T @ sub)
        i, j = useful[overlap.row], useful[overlap.col]
        # i covers all of j's rows, and is larger (or as large and earlier).
        dominates = (i != j) & (overlap.data == size[j]) & (
            (size[i] > size[j]) | ((size[i] == size[j]) & (i < j)))
        dropped = np.setdiff1d(np.unique(j[dominates]), np.asarray(keep, dtype=np.int64))
        useful = np.setdiff1d(useful, dropped)
    return np.union1d(useful, np.asarray(keep, dtype=np.int64)).astype(np.int64)


def _greedy(coverage: sparse.csr_array, weights: np.ndarray, k: int,
            start: Sequence[int] = ()) -> list[int]:
    """Pick ``k`` columns: ``start`` first, then one by one the one adding the most weight."""
    left = weights.copy()
    matrix = sparse.csr_array(coverage.T.astype(float))
    chosen: list[int] = []
    for column in start:
        chosen.append(int(column))
        left[coverage[:, [column]].toarray().ravel()] = 0.0
    for _ in range(min(k, coverage.shape[1]) - len(chosen)):
        gain = matrix @ left
        gain[chosen] = -1.0
        best = int(np.argmax(gain))  # ties: the lowest index (stable, reproducible)
        chosen.append(best)
        left[coverage[:, [best]].toarray().ravel()] = 0.0
    return chosen


def _site_variables(problem: pulp.LpProblem, n: int, fixed: Sequence[int]) -> list[pulp.LpVariable]:
    must = set(fixed)
    return [problem.add_variable(f"x_{j}", 1 if j in must else 0, 1, cat=pulp.LpInteger)
            for j in range(n)]


def _mclp(coverage: sparse.csr_array, weights: np.ndarray, k: int, fixed: Sequence[int],
          solver: pulp.LpSolver | None) -> list[int]:
    """Maximal covering: ``k`` columns covering the most weight (sparse PuLP model)."""
    if solver is None:
        return _mclp_highs(coverage, weights, k, fixed)
    problem = pulp.LpProblem("mclp", pulp.LpMaximize)
    x = _site_variables(problem, coverage.shape[1], fixed)
    y = [problem.add_variable(f"y_{i}", 0, 1) for i in range(coverage.shape[0])]
    problem += pulp.LpAffineExpression(list(zip(y, weights.tolist(), strict=True)))
    indptr, indices = coverage.indptr, coverage.indices
    for i in range(coverage.shape[0]):
        terms = [(x[j], 1) for j in indices[indptr[i]:indptr[i + 1]]]
        problem += pulp.LpAffineExpression([*terms, (y[i], -1)]) >= 0
    problem += pulp.LpAffineExpression([(v, 1) for v in x]) == k
    _solve(problem, solver)
    return [j for j, var in enumerate(x) if (var.value() or 0) > 0.5]


def _lscp(coverage: sparse.csr_array, fixed: Sequence[int],
          solver: pulp.LpSolver | None) -> list[int]:
    """Location set covering: the fewest columns covering every row (sparse PuLP model)."""
    if solver is None:
        return _lscp_highs(coverage, fixed)
    problem = pulp.LpProblem("lscp", pulp.LpMinimize)
    x = _site_variables(problem, coverage.shape[1], fixed)
    problem += pulp.LpAffineExpression([(v, 1) for v in x])
    indptr, indices = coverage.indptr, coverage.indices
    for i in range(coverage.shape[0]):
        problem += pulp.LpAffineExpression(
            [(x[j], 1) for j in indices[indptr[i]:indptr[i + 1]]]) >= 1
    _solve(problem, solver)
    return [j for j, var in enumerate(x) if (var.value() or 0) > 0.5]


def _p_median(rows: np.ndarray, cols: np.ndarray, saving: np.ndarray, columns: np.ndarray,
              k: int, fixed: Sequence[int], solver: pulp.LpSolver | None) -> list[int]:
    """p-median with existing groups: choose ``k`` columns saving the most weighted cost.

    A demand point keeps its current cost unless assigned (``z``) to an open site that is
    cheaper; ``saving`` is weight × (current − cost) of each such pair.
    """
    if solver is None:
        return _p_median_highs(rows, cols, saving, columns, k, fixed)
    problem = pulp.LpProblem("p_median", pulp.LpMaximize)
    position = {int(c): i for i, c in enumerate(columns)}
    x = _site_variables(problem, len(columns), [position[f] for f in fixed])
    z = [problem.add_variable(f"z_{p}", 0, 1) for p in range(len(rows))]
    problem += pulp.LpAffineExpression(list(zip(z, saving.tolist(), strict=True)))
    for p, col in enumerate(cols.tolist()):
        problem += pulp.LpAffineExpression([(z[p], 1), (x[position[col]], -1)]) <= 0
    order = np.argsort(rows, kind="stable")
    bounds = np.flatnonzero(np.diff(rows[order])) + 1
    for group in np.split(order, bounds):
        problem += pulp.LpAffineExpression([(z[p], 1) for p in group.tolist()]) <= 1
    problem += pulp.LpAffineExpression([(v, 1) for v in x]) == k
    _solve(problem, solver)
    return [int(columns[j]) for j, var in enumerate(x) if (var.value() or 0) > 0.5]


# -- HiGHS directly (the default): the same models as arrays, no PuLP objects ----------------


#: HiGHS options by name (``highspy.Highs.setOptionValue``).
HighsOptions = dict[str, bool | float | str]


def _highs(options: HighsOptions | None = None) -> Any:
    """Return a quiet ``highspy.Highs`` (the banner kept off standard output), ``options`` set."""
    import highspy

    default_solver()  # the first Highs of the process prints its banner: keep it off stdout
    model = highspy.Highs()
    model.setOptionValue("output_flag", False)
    for option, value in (options or {}).items():
        model.setOptionValue(option, value)
    return model


def _pulp_order(names: Sequence[str]) -> np.ndarray:
    """Return the column order PuLP gives HiGHS: variables sorted by name."""
    return np.argsort(np.asarray(names, dtype=object), kind="stable")


#: HiGHS options for the covering models (MCLP, LSCP), handed over as arrays. Their LP
#: relaxations are nearly always integral (one node), and HiGHS's presolve removed under
#: 1 % of rows after our own reductions (:func:`_merge_rows`, :func:`_undominated`) while
#: taking over half the time, as did the feasibility-jump heuristic: without both, the
#: page's 60 covering questions (4 organisations × 5 thresholds, K = 5, 10 and LSCP) took
#: 1.8 s instead of 4.8 s, with the same sites in all 60 (benchmarks/run.py compares).
COVERING_OPTIONS: HighsOptions = {"presolve": "off",
                                       "mip_heuristic_run_feasibility_jump": False}


def _run_highs(cost: np.ndarray, lower: np.ndarray, upper: np.ndarray, integer: np.ndarray,
               rows: sparse.csr_array, row_lower: np.ndarray, row_upper: np.ndarray,
               name: str, order: np.ndarray | None = None,
               options: HighsOptions | None = None) -> np.ndarray:
    """Solve ``min cost·v`` over rows and bounds with HiGHS; return ``v`` (columns as given).

    ``order`` is the column order handed to HiGHS (PuLP's, so that ties are broken the way
    the PuLP path breaks them: the same model, the same answer); ``options`` are set on
    HiGHS first.
    """
    import highspy

    n = len(cost)
    order = np.arange(n) if order is None else np.asarray(order)
    where = np.empty(n, dtype=np.int64)
    where[order] = np.arange(n)  # column j of the caller is column where[j] in HiGHS
    h = _highs(options)
    inf = highspy.kHighsInf
    h.addVars(n, np.where(np.isfinite(lower[order]), lower[order], -inf),
              np.where(np.isfinite(upper[order]), upper[order], inf))
    h.changeColsCost(n, np.arange(n, dtype=np.int32), cost[order].astype(float))
    ints = np.flatnonzero(integer[order]).astype(np.int32)
    if len(ints):
        h.changeColsIntegrality(len(ints), ints,
                                np.full(len(ints), highspy.HighsVarType.kInteger))
    matrix = sparse.csr_array(rows)
    matrix = sparse.csr_array((matrix.data, where[matrix.indices], matrix.indptr),
                              shape=matrix.shape)
    if matrix.shape[0]:
        h.addRows(matrix.shape[0], np.where(np.isfinite(row_lower), row_lower, -inf),
                  np.where(np.isfinite(row_upper), row_upper, inf), matrix.nnz,
                  matrix.indptr[:-1].astype(np.int32), matrix.indices.astype(np.int32),
                  matrix.data.astype(float))
    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"{name} not solved: {h.modelStatusToString(status)}")
    return np.asarray(h.getSolution().col_value)[where]


def _mclp_highs(coverage: sparse.csr_array, weights: np.ndarray, k: int,
                fixed: Sequence[int]) -> list[int]:
    """:func:`_mclp`'s model handed to HiGHS as arrays (columns ``x`` then ``y``)."""
    m, n = coverage.shape
    cov = sparse.csr_array(coverage, dtype=float)
    cov.sum_duplicates()
    lower = np.zeros(n + m)
    lower[list(fixed)] = 1.0
    # The sum of the x_j covering i, minus y_i, >= 0; then sum x = k (as PuLP writes
    # them: -w·y minimised).
    rows = sparse.vstack([
        sparse.hstack([cov, -sparse.eye_array(m, format="csr")], format="csr"),
        sparse.csr_array((np.ones(n), (np.zeros(n, dtype=np.int64), np.arange(n))),
                         shape=(1, n + m))], format="csr")
    value = _run_highs(np.concatenate([np.zeros(n), -np.asarray(weights, dtype=float)]),
                       lower, np.ones(n + m), np.arange(n + m) < n, rows,
                       np.concatenate([np.zeros(m), [k]]),
                       np.concatenate([np.full(m, np.inf), [k]]), "mclp",
                       _pulp_order([f"x_{j}" for j in range(n)] + [f"y_{i}" for i in range(m)]),
                       COVERING_OPTIONS)
    return [j for j in range(n) if value[j] > 0.5]


def _lscp_highs(coverage: sparse.csr_array, fixed: Sequence[int]) -> list[int]:
    """:func:`_lscp`'s model handed to HiGHS as arrays."""
    m, n = coverage.shape
    cov = sparse.csr_array(coverage, dtype=float)
    cov.sum_duplicates()
    lower = np.zeros(n)
    lower[list(fixed)] = 1.0
    value = _run_highs(np.ones(n), lower, np.ones(n), np.ones(n, dtype=bool), cov,
                       np.ones(m), np.full(m, np.inf), "lscp",
                       _pulp_order([f"x_{j}" for j in range(n)]), COVERING_OPTIONS)
    return [j for j in range(n) if value[j] > 0.5]


#: Relative gap at which :func:`_p_median_highs` stops (HiGHS's own MIP default is 1e-4).
MEDIAN_GAP = 1e-6

#: HiGHS options for :func:`_p_median_highs`'s master. Its savings are scaled to [0, 1]
#: already, and each round adds cuts to a warm basis: HiGHS's scaling and presolve made
#: every round start over (ACA's first LP 0.36 s, 0.05 s without). The page's 60 p-median
#: questions (6 organisations × 5 thresholds, K = 5 and 10) took 11 s instead of 20 s,
#: worst 0.56 s instead of 1.29 s, with the same sites in all 60.
MEDIAN_OPTIONS: HighsOptions = {"simplex_scale_strategy": 0, "presolve": "off"}


def _p_median_highs(rows: np.ndarray, cols: np.ndarray, saving: np.ndarray,
                    columns: np.ndarray, k: int, fixed: Sequence[int],
                    gap: float = MEDIAN_GAP) -> list[int]:
    """:func:`_p_median`'s optimum by Benders decomposition, solved with HiGHS.

    The p-median with one assignment variable per pair is large for an organisation with
    few groups (ACA: 2 700 blocks × 357 centres, 420 000 pairs; HiGHS needs over a minute
    for its root LP). Here the master holds only the sites ``x`` and each demand's saving
    ``θ_i``, bounded by the cuts

        θ_i ≤ b + Σ_j max(0, s_ij − b) x_j     (any b ≥ 0)

    which hold for every choice of sites (θ_i is the best saving among the open sites, or
    0) and are tight at ``b`` = the best open saving. The LP relaxation is solved by adding,
    at each LP point, every demand's most violated cut (``b`` where the sites' x, best
    first, add up to 1); its bound equals the assignment model's LP bound. Greedy and
    interchange (Teitz–Bart) solutions, and each LP point's K largest, give lower bounds;
    if the gap is not closed the master is solved as a MIP, adding the cuts of each
    solution, until it is (relative ``gap``). The answer is the optimum, as
    :func:`_p_median` finds it, but in about a second.

    Parameters
    ----------
    rows, cols, saving : numpy.ndarray
        Demand index, candidate position and weight × (current − cost) of each pair that
        saves something.
    columns : numpy.ndarray
        Candidate positions to choose from (``cols`` and ``fixed`` among them).
    k : int
        Sites to choose (fewer than ``len(columns)``).
    fixed : sequence of int
        Candidate positions that must be chosen.
    gap : float
        Stop when the upper bound is within this share of the best solution.

    Returns
    -------
    list of int
        Candidate positions.

    """
    import highspy

    columns = np.asarray(columns, dtype=np.int64)
    n = len(columns)
    place = np.searchsorted(columns, cols)
    demands, demand = np.unique(rows, return_inverse=True)
    d = len(demands)
    s = np.zeros((d, n))
    np.maximum.at(s, (demand, place), saving)
    top = s.max() if s.size else 0.0
    if top <= 0:
        return [int(c) for c in columns[:k]]
    s /= top
    must = np.searchsorted(columns, np.asarray(fixed, dtype=np.int64))
    order = np.argsort(-s, axis=1, kind="stable").astype(np.int32)
    ranked = np.take_along_axis(s, order, axis=1)
    every = np.arange(d)

    def value(open_: np.ndarray) -> float:
        return float(s[:, open_].max(axis=1).clip(min=0).sum()) if len(open_) else 0.0

    def greedy() -> list[int]:
        chosen = [int(j) for j in must]
        best = s[:, chosen].max(axis=1).clip(min=0) if chosen else np.zeros(d)
        for _ in range(k - len(chosen)):
            gain = np.maximum(s - best[:, None], 0).sum(axis=0)
            gain[chosen] = -1.0
            j = int(np.argmax(gain))
            chosen.append(j)
            best = np.maximum(best, s[:, j])
        return chosen

    def interchange(chosen: list[int], passes: int = 50) -> list[int]:
        """Swap one free site for another while that saves more (best swap each pass)."""
        chosen = list(chosen)
        free = [r for r, j in enumerate(chosen) if j not in set(must.tolist())]
        for _ in range(passes):
            sub = s[:, chosen]
            first = np.argmax(sub, axis=1)
            b1 = sub[every, first].clip(min=0)
            sub[every, first] = -np.inf
            b2 = sub.max(axis=1).clip(min=0) if len(chosen) > 1 else np.zeros(d)
            total, best_gain, move = b1.sum(), 1e-12 * max(b1.sum(), 1.0), None
            for r in free:
                base = np.where(first == r, b2, b1)
                gain = np.maximum(s - base[:, None], 0).sum(axis=0) + base.sum() - total
                gain[chosen] = -np.inf
                j = int(np.argmax(gain))
                if gain[j] > best_gain:
                    best_gain, move = gain[j], (r, j)
            if move is None:
                break
            chosen[move[0]] = move[1]
        return chosen

    h = _highs(MEDIAN_OPTIONS)
    inf = highspy.kHighsInf
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    lower = np.zeros(n + d)
    lower[must] = 1.0
    h.addVars(n + d, lower, np.concatenate([np.ones(n), s.max(axis=1)]))
    h.changeColsCost(n + d, np.arange(n + d, dtype=np.int32),
                     np.concatenate([np.zeros(n), np.ones(d)]))
    h.addRow(k, k, n, np.arange(n, dtype=np.int32), np.ones(n))

    def add_cuts(x: np.ndarray, theta: np.ndarray | None) -> int:
        """Add each demand's most violated cut at ``x`` (all of them without ``theta``)."""
        reached = np.cumsum(x[order], axis=1)
        at = np.minimum((reached < 1 - 1e-9).sum(axis=1), n - 1)
        b = np.where(reached[:, -1] >= 1 - 1e-9, ranked[every, at], 0.0).clip(min=0)
        above = np.maximum(s - b[:, None], 0)
        bound = b + above @ x
        which = every if theta is None else np.flatnonzero(theta > bound + 1e-9)
        if not len(which):
            return 0
        r, c = np.nonzero(above[which])
        cuts = sparse.csr_array(
            (np.concatenate([-above[which][r, c], np.ones(len(which))]),
             (np.concatenate([r, np.arange(len(which))]), np.concatenate([c, n + which]))),
            shape=(len(which), n + d))
        cuts.sort_indices()
        h.addRows(len(which), np.full(len(which), -inf), b[which], cuts.nnz,
                  cuts.indptr[:-1].astype(np.int32), cuts.indices.astype(np.int32),
                  cuts.data)
        return len(which)

    def solve_master() -> tuple[np.ndarray, float]:
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError("p_median not solved: "
                               f"{h.modelStatusToString(h.getModelStatus())}")
        return np.asarray(h.getSolution().col_value), float(h.getObjectiveValue())

    best = greedy()
    lower_bound = value(np.asarray(best))
    add_cuts(np.isin(np.arange(n), best).astype(float), None)
    upper_bound = np.inf
    while True:  # the LP relaxation, cut by cut
        solution, upper_bound = solve_master()
        x = solution[:n]
        rounded = [int(j) for j in np.argsort(-x, kind="stable")[:k]]
        if set(must.tolist()) <= set(rounded) and value(np.asarray(rounded)) > lower_bound:
            best, lower_bound = rounded, value(np.asarray(rounded))
        if upper_bound <= lower_bound * (1 + gap) or not add_cuts(x, solution[n:]):
            break
    if upper_bound > lower_bound * (1 + gap):
        improved = interchange(best)
        if value(np.asarray(improved)) > lower_bound:
            best, lower_bound = improved, value(np.asarray(improved))
    if upper_bound > lower_bound * (1 + gap):  # branch: the master as a MIP
        h.changeColsIntegrality(n, np.arange(n, dtype=np.int32),
                                np.full(n, highspy.HighsVarType.kInteger))
        h.setOptionValue("mip_rel_gap", gap / 10)
        while upper_bound > lower_bound * (1 + gap):
            solution, upper_bound = solve_master()
            x = np.round(solution[:n])
            found = [int(j) for j in np.flatnonzero(x > 0.5)]
            if value(np.asarray(found)) > lower_bound:
                best, lower_bound = found, value(np.asarray(found))
            if not add_cuts(x, solution[n:]):
                break
    return sorted(int(columns[j]) for j in best)


# -- models from the data ---------------------------------------------------------------


def _model_from_cells(cells: pd.DataFrame, candidates: pd.DataFrame, near: Threshold,
                      road_network: network.RoadNetwork | None,
                      current: str | None = None,
                      destinations: network.Destinations | None = None,
                      demand_snap: network.Snap | None = None) -> NewGroupSites:
    """Build a model of ``cells`` (demand) and candidates at threshold ``near``.

    ``current`` names the column of the cells' cost to the nearest existing group (for
    the p-median); without it only pairs within the threshold are kept. ``destinations``
    and ``demand_snap`` pass what a :class:`Planner` keeps (see :func:`minutes_pairs`).
    """
    if near.unit == "km":
        demand = gpd.GeoDataFrame(cells.drop(columns=["geometry"], errors="ignore"),
                                  geometry=gpd.points_from_xy(cells["lon"], cells["lat"]),
                                  crs=settings.CRS_WGS84)
        sites = gpd.GeoDataFrame(candidates, crs=settings.CRS_WGS84,
                                 geometry=gpd.points_from_xy(candidates["lon"],
                                                             candidates["lat"]))
        return NewGroupSites.from_geodataframe(demand, sites, near.value, current=current)
    if road_network is None:
        raise ValueError("planning by travel time needs road_network")
    now = None if current is None else cells[current].to_numpy(dtype=float)
    keep = near.value if now is None else np.fmax(near.value, np.where(np.isnan(now), 0, now))
    pairs = minutes_pairs(road_network, cells["x"].to_numpy(), cells["y"].to_numpy(),
                          *network.to_metric(candidates["lat"], candidates["lon"]), keep,
                          destinations=destinations, demand_snap=demand_snap)
    return NewGroupSites.from_cost_matrix(pairs, cells["befolkning"].to_numpy(dtype=float),
                                          near.value, candidates, now)


def median_blocks(cells: pd.DataFrame, current: str, block_m: float = MEDIAN_BLOCK_M,
                  ) -> pd.DataFrame:
    """Aggregate demand cells to square blocks for the p-median.

    Parameters
    ----------
    cells : pandas.DataFrame
        ``x``, ``y`` (EPSG:25833), ``lat``, ``lon``, ``befolkning`` and ``current``.
    current : str
        Column of the cost to the nearest group now; cells without one (no route) are
        left out.
    block_m : float
        Block side in metres.

    Returns
    -------
    pandas.DataFrame
        One row per block: population-weighted mean position and current cost, summed
        ``befolkning``.

    """
    cells = cells[cells[current].notna() & (cells["befolkning"] > 0)]
    key = [np.floor(cells["x"] / block_m).astype(np.int64),
           np.floor(cells["y"] / block_m).astype(np.int64)]
    people = cells["befolkning"].astype(float)
    weighted = cells[["x", "y", "lat", "lon", current]].mul(people, axis=0)
    sums = weighted.groupby(key).sum()
    total = people.groupby(key).sum()
    blocks = sums.div(total, axis=0).reset_index(drop=True)
    blocks["befolkning"] = total.to_numpy()
    return blocks


def worst_off(grid: pd.DataFrame, services: pd.DataFrame, sites: pd.DataFrame,
              organisation: str | None = None,
              road_network: network.RoadNetwork | None = None) -> pd.Series:
    """Return how far the worst-off people are from a group, with ``sites`` added.

    Parameters
    ----------
    grid : pandas.DataFrame
        Population grid (``lat``, ``lon``, ``x``, ``y``, ``befolkning``).
    services : pandas.DataFrame
        Geocoded services (the existing groups).
    sites : pandas.DataFrame
        New sites (``lat``, ``lon``), e.g. ``Plan.sites``; may be empty (today).
    organisation : str, optional
        Count only this organisation's existing groups.
    road_network : RoadNetwork, optional
        With it, drive times too.

    Returns
    -------
    pandas.Series
        ``max_km``, ``p95_km`` (population-weighted 95th percentile of the straight-line
        distance) and, with ``road_network``, ``max_min``, ``p95_min``,
        ``people_beyond_120min`` (:data:`WORST_MINUTES`) and ``people_not_routed``.

    """
    check_organisation(organisation)
    groups = _groups(services, organisation)
    lat = np.concatenate([groups["lat"].to_numpy(float), sites["lat"].to_numpy(float)])
    lon = np.concatenate([groups["lon"].to_numpy(float), sites["lon"].to_numpy(float)])
    km = NearestIndex(lat, lon).distance_km(grid["lat"], grid["lon"])
    minutes = None
    if road_network is not None:
        routes = road_network.nearest(*network.to_metric(lat, lon))
        minutes = network.travel_from(routes, road_network, grid["x"], grid["y"])[
            "minutes"].to_numpy()
    return _worst_figures(km, minutes, grid["befolkning"].to_numpy(dtype=float))


def _worst_figures(km: np.ndarray, minutes: np.ndarray | None,
                   people: np.ndarray) -> pd.Series:
    """Return the figures of :func:`worst_off` from each cell's km and minutes (NaN: none)."""
    figures = {"max_km": float(np.max(km)), "p95_km": _weighted_quantile(km, people, 0.95)}
    if minutes is not None:
        routed = np.isfinite(minutes)
        figures.update({
            "max_min": float(np.max(minutes[routed])),
            "p95_min": _weighted_quantile(minutes[routed], people[routed], 0.95),
            f"people_beyond_{WORST_MINUTES}min": int(people[routed & (np.nan_to_num(
                minutes, nan=0.0) > WORST_MINUTES)].sum()),
            "people_not_routed": int(people[~routed].sum())})
    return pd.Series(figures)


def _km_to_new_sites(lat: np.ndarray, lon: np.ndarray, km_now: np.ndarray,
                     site_lat: np.ndarray, site_lon: np.ndarray) -> np.ndarray:
    """Return each point's geodesic km to the nearest new site, where it beats ``km_now``.

    Elsewhere inf. Only points whose spherical distance to a site is within 1 % + 1 km of
    ``km_now`` are measured on the ellipsoid (the two differ by under 0.6 %), so the
    minimum with ``km_now`` is that of one index over the groups and the sites together.
    """
    result = np.full(len(lat), np.inf)
    if not len(site_lat):
        return result
    index = NearestIndex(site_lat, site_lon)
    assert index.tree is not None
    gap, _ = index.tree.query(unit_vectors(lat, lon))
    sphere = 2 * settings.EARTH_RADIUS_KM * np.arcsin(np.clip(np.asarray(gap) / 2, 0, 1))
    near = np.flatnonzero(~(sphere > np.nan_to_num(km_now, nan=np.inf) * 1.01 + 1.0))
    result[near] = index.distance_km(lat[near], lon[near])
    return result


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    if not len(cumulative) or cumulative[-1] <= 0:
        return float("nan")
    return float(values[order][np.searchsorted(cumulative, q * cumulative[-1])])


@dataclass
class CoverAll:
    """How many new groups it would take to put everyone within a threshold.

    Attributes
    ----------
    plan : Plan
        The fewest sites (LSCP), in the order of people newly covered.
    curve : pandas.DataFrame
        ``new_groups`` 0 … n and ``people_beyond``: following the plan's order (greedy
        along the LSCP's sites), people still beyond the threshold.
    left : pandas.DataFrame
        People no candidate can bring within the threshold, per kommune and reason:
        ``kommunenummer``, ``kommunenavn``, ``reason`` (``"no_route"``: no route by road
        and car ferry at all; ``"beyond_candidates"``: farther than the threshold from
        every candidate site), ``people``; most people first.

    """

    plan: Plan
    curve: pd.DataFrame
    left: pd.DataFrame


#: :meth:`Planner.warm` waits until no question has been asked, and no page has run
#: (:func:`foreground`), for this long (seconds).
QUIET_SECONDS = 0.5

_STOP_WARMING = threading.Event()
_WARMING: set[threading.Thread] = set()
_PAGES = {"running": 0, "last": 0.0}
_PAGES_LOCK = threading.Lock()


@contextlib.contextmanager
def foreground() -> Iterator[None]:
    """Mark a page being drawn for someone: warm-ups hold back meanwhile and just after.

    A warm-up in a thread shares the process (and Python's GIL) with every page, not
    only the planning page: the app wraps each script run (and fragment run) in this, so
    that building models in the background never slows down a search. Usable as a
    decorator (``@foreground()``).
    """
    with _PAGES_LOCK:
        _PAGES["running"] += 1
    try:
        yield
    finally:
        with _PAGES_LOCK:
            _PAGES["running"] -= 1
            _PAGES["last"] = time.monotonic()


def _pages_busy() -> bool:
    """Return whether a page is being drawn or was within :data:`QUIET_SECONDS`."""
    with _PAGES_LOCK:
        return bool(_PAGES["running"]) or time.monotonic() - _PAGES["last"] < QUIET_SECONDS


def wait_for_quiet(since: float = 0.0) -> bool:
    """Block until no page is drawn, none was for :data:`QUIET_SECONDS`, nor since ``since``.

    For work in the background (the planning warm-up, later imports). Returns False, at
    once, when the process is exiting: the caller stops.
    """
    while time.monotonic() - since < QUIET_SECONDS or _pages_busy():
        if _STOP_WARMING.wait(0.05):
            return False
    return not _STOP_WARMING.is_set()


@atexit.register
def _stop_warming_at_exit() -> None:
    """Let a warm-up thread finish its step before the interpreter exits.

    A daemon thread still inside HiGHS when the process exits meets HiGHS's worker threads
    being destroyed under it, and the process aborts ("terminate called without an active
    exception", exit status 134). So: no new step, wait for the current one, then stop
    HiGHS's workers.
    """
    import sys

    _STOP_WARMING.set()
    for thread in list(_WARMING):
        thread.join(timeout=60)
    highspy = sys.modules.get("highspy")
    if highspy is not None:
        with contextlib.suppress(Exception):
            highspy.Highs.resetGlobalScheduler(True)

#: What :meth:`Planner.save` keeps on disk (kinds of cache entries).
SAVED = frozenset({"today", "grid_snap", "destinations", "candidates", "ranking",
                   "cover_all", "plan", "worst_off"})


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

    Examples
    --------
    >>> from tilbudskart import pipeline
    >>> data = pipeline.load_app_data()  # doctest: +SKIP
    >>> planner = Planner(data.kommuner, data.grid, data.services, data.network)  # doctest: +SKIP
    >>> planner.new_sites(10, "50km").covered  # doctest: +SKIP
    264155

    """

    def __init__(self, kommuner: pd.DataFrame, grid: pd.DataFrame, services: pd.DataFrame,
                 road_network: network.RoadNetwork | None = None) -> None:
        self.kommuner = kommuner.reset_index(drop=True)
        self.grid = grid
        self.services = services
        self.road_network = road_network
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

    def warm(self, nears: Sequence[str] = ("50km", "60min", "25km", "45min", "75min"),
             organisation: str | None = None, k: int | None = None) -> None:
        """Build the models of ``nears`` ahead of the first question (e.g. in a thread).

        For each threshold: the coverage model, its ranking and LSCP answer, today's
        worst-off figures, then the p-median model; with ``k``, also both objectives'
        answers for ``k`` new groups and their worst-off figures (the page's first
        question). Each step waits until no question has been asked for
        :data:`QUIET_SECONDS`, so a warm-up in a thread leaves the cores to the page.
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
        _WARMING.add(threading.current_thread())
        try:
            if not self._wait_for_quiet():
                return
            for _ in steps():
                if not self._wait_for_quiet():
                    return
        finally:
            self._warming.on = False
            _WARMING.discard(threading.current_thread())

    def _wait_for_quiet(self) -> bool:
        """Hold the warm-up while questions are asked or pages drawn (they come first).

        Returns False when the process is exiting (the warm-up stops).
        """
        return wait_for_quiet(self._last_question)

    def warm_all(self, k: int | None = 5, first: tuple[str, str | None] = ("50km", None),
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
            self.warm(nears, org, k)
            if _STOP_WARMING.is_set():
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
        for module in ("planning.py", "network.py", "access.py", "settings.py"):
            digest.update((here / module).read_bytes())
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

    def new_sites(self, k: int, near: str | Threshold = "50km",
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

    def cover_all(self, near: str | Threshold = "60min", organisation: str | None = None,
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
                result["kommunenummer"].map(inside).fillna(0).astype("int64"))
            return result.sort_values(["reach", "kommunenummer"], ascending=[False, True],
                                      ignore_index=True)

        return self._cached(("ranking", t.key, organisation), make)

    def compare_objectives(self, k: int, near: str | Threshold = "50km",
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


def _positions_of(sites: pd.DataFrame, candidates: pd.DataFrame) -> list[int]:
    """Positions in ``candidates`` of rows of ``sites`` (same place, kommune and point)."""
    keys = list(zip(candidates["kommunenummer"], candidates["place"], candidates["lat"],
                    candidates["lon"], strict=True))
    position = {key: i for i, key in enumerate(keys)}
    return [position[key] for key in zip(sites["kommunenummer"], sites["place"], sites["lat"],
                                         sites["lon"], strict=True)]


def plan_new_sites(kommuner: pd.DataFrame, grid: pd.DataFrame, services: pd.DataFrame,
                   k: int, radius_km: float = 50.0, organisation: str | None = None,
                   method: str = "mclp", fixed: Sequence[str] = (),
                   minutes: float | None = None,
                   road_network: network.RoadNetwork | None = None,
                   solver: pulp.LpSolver | None = None) -> Plan:
    """Choose ``k`` kommune centres for new groups that together reach the most people.

    A one-off question; :class:`Planner` keeps its models between questions.

    Parameters
    ----------
    kommuner : pandas.DataFrame
        The kommune table (candidates are the administrative centres).
    grid : pandas.DataFrame
        Population grid with ``lat``/``lon``.
    services : pandas.DataFrame
        Geocoded services: people within ``radius_km`` of a group already count as reached.
    k : int
        Number of new groups (1 … :data:`MAX_NEW_GROUPS`).
    radius_km : float
        Reach of a group.
    organisation : str, optional
        Count only this self-help organisation's groups as existing coverage.
    method : {"mclp", "greedy"}
        See :meth:`NewGroupSites.solve`.
    fixed : sequence of str
        Kommune numbers that must get one of the ``k`` groups (what if we start there?).
    minutes : float, optional
        Measure reach by travel time by road and car ferry instead of ``radius_km``.
    road_network : RoadNetwork, optional
        Required with ``minutes``.
    solver : pulp.LpSolver, optional
        Default: HiGHS directly (see :meth:`NewGroupSites.solve`); or a PuLP solver.

    Returns
    -------
    Plan
        Sites with ``kommunenummer``, ``kommunenavn``, ``fylkesnavn``, ``place``, ``lat``,
        ``lon``, ``reach``, ``added``, ``cumulative``.

    Examples
    --------
    >>> plan_new_sites(kommuner, grid, services, 10, 50).covered  # doctest: +SKIP
    264155

    """
    check_organisation(organisation)
    k = check_new_groups(k)
    if method not in {"mclp", "greedy"}:
        raise ValueError(f"method must be 'mclp' or 'greedy', not {method!r}")
    if minutes is not None and road_network is None:
        raise ValueError("planning by travel time needs road_network")
    if minutes is None and (not np.isfinite(radius_km) or radius_km < 0):
        raise ValueError(f"radius_km must be a non-negative number, not {radius_km!r}")
    candidates = centre_candidates(kommuner)
    must = check_kept(fixed, candidates)
    if len(must) > k:
        raise ValueError(f"{len(must)} kept sites do not fit in {k} new groups")
    if minutes is None:
        near = Threshold(f"{radius_km:g}km", "km", float(radius_km))
        cells = uncovered_cells(grid, services, radius_km, organisation)
    else:
        assert road_network is not None
        near = Threshold(f"{minutes:g}min", "min", float(minutes))
        cells = uncovered_cells_by_time(grid, services, road_network, minutes, organisation)
    model = _model_from_cells(cells, candidates, near, road_network)
    return model.solve(k, method, must, solver)
