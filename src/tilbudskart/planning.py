"""Planning: where would a new self-help group reach the most people who now have none.

A *candidate site* is a kommune's administrative centre. Its *reach* is the population
(SSB grid, 2019) that now lives farther than ``radius_km`` from any group (or from any group
of one organisation) and would live within ``radius_km`` of a group at the candidate.
:func:`rank_new_sites` is the single-site "what if". :class:`NewGroupSites` chooses *K*
sites together, maximising the population newly within reach: the maximal covering
location problem (MCLP), solved exactly with spopt and the CBC solver that ships with PuLP.
Before solving, demand cells that the same set of candidates would cover are merged (an
exact reduction: 27 000 uncovered cells become about 950 rows), so K = 10 solves in
seconds.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.spatial import cKDTree

from tilbudskart import network, settings
from tilbudskart.access import NearestIndex, unit_vectors

#: Columns of the kommune table that describe a candidate site (its administrative centre).
_CANDIDATE_COLUMNS = ["kommunenummer", "kommunenavn", "fylkesnavn", "admin_lat", "admin_lon"]


def chord(radius_km: float) -> float:
    """Return the unit-sphere chord length of a great-circle distance (km)."""
    return float(2 * np.sin(radius_km / (2 * settings.EARTH_RADIUS_KM)))


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
    groups = services[(services["kind"] == "self_help") & (services["status"] == "geocoded")]
    if organisation is not None:
        groups = groups[groups["organisation"] == organisation]
    km = NearestIndex.from_services(groups).distance_km(grid["lat"], grid["lon"])
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
    groups = services[(services["kind"] == "self_help") & (services["status"] == "geocoded")]
    if organisation is not None:
        groups = groups[groups["organisation"] == organisation]
    routes = road_network.nearest(*network.to_metric(groups["lat"], groups["lon"]))
    travel = network.travel_from(routes, road_network, grid["x"], grid["y"])
    cells = grid.assign(minutes=travel["minutes"].to_numpy())
    return cells[~(cells["minutes"] <= minutes)].reset_index(drop=True)


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

    """
    if uncovered.empty:
        return np.zeros(len(lat), dtype=np.int64)
    tree = cKDTree(unit_vectors(uncovered["lat"], uncovered["lon"]))
    population = uncovered["befolkning"].to_numpy()
    hits = tree.query_ball_point(unit_vectors(lat, lon), r=chord(radius_km))
    return np.array([int(population[h].sum()) for h in hits], dtype=np.int64)


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
    if organisation is not None and organisation not in settings.SELF_HELP_ORGANISATIONS:
        raise ValueError(f"unknown self-help organisation {organisation!r}")
    result = kommuner[["kommunenummer", "kommunenavn", "fylkesnavn", "folkemengde"]].copy()
    suffix = f"_{organisation}" if organisation else ""
    if minutes is None:
        uncovered = uncovered_cells(grid, services, radius_km, organisation)
        result["km_now"] = kommuner[f"km{suffix}" if organisation else "nearest_group_km"
                                    ].to_numpy()
        result["reach"] = candidate_reach(kommuner["admin_lat"].to_numpy(),
                                          kommuner["admin_lon"].to_numpy(), uncovered,
                                          radius_km)
    else:
        model, uncovered = _time_model(kommuner, grid, services, minutes, road_network,
                                       organisation)
        result["min_now"] = kommuner[f"drive_min{suffix}"].to_numpy()
        result["reach"] = model.reach()
    inside = uncovered.groupby("kommunenummer")["befolkning"].sum()
    result["uncovered_in_kommune"] = (
        result["kommunenummer"].map(inside).fillna(0).astype("int64"))
    return result.sort_values(["reach", "kommunenummer"], ascending=[False, True],
                              ignore_index=True)


@dataclass
class Plan:
    """The chosen sites of a planning run.

    Attributes
    ----------
    sites : pandas.DataFrame
        The candidates' own columns plus ``reach`` (people the site alone would reach),
        ``added`` (people it adds, in the order listed: best first) and ``cumulative``.
    covered : int
        People within reach of at least one chosen site.
    demand : int
        People who could be reached by some candidate at all.
    method : str
        ``"mclp"`` (optimal) or ``"greedy"``.

    """

    sites: pd.DataFrame
    covered: int
    demand: int
    method: str


class NewGroupSites:
    """Where K new groups would reach the most people who now have none (MCLP).

    Build it with :meth:`from_cost_matrix` or :meth:`from_geodataframe`, then call
    :meth:`solve`.

    Parameters
    ----------
    coverage : scipy.sparse matrix of bool
        Demand × candidate: True where the candidate would reach the demand point.
    weights : numpy.ndarray
        People per demand point.
    candidates : pandas.DataFrame
        One row per candidate site (returned with the chosen sites).

    Raises
    ------
    ValueError
        If the shapes disagree or a weight is negative or missing.

    """

    def __init__(self, coverage: sparse.spmatrix, weights: np.ndarray,
                 candidates: pd.DataFrame) -> None:
        coverage = sparse.csr_matrix(coverage, dtype=bool)
        weights = np.asarray(weights, dtype=float)
        if coverage.shape != (len(weights), len(candidates)):
            raise ValueError(f"coverage is {coverage.shape[0]}×{coverage.shape[1]}, but there are "
                             f"{len(weights)} demand weights and {len(candidates)} candidates")
        if np.isnan(weights).any() or (weights < 0).any():
            raise ValueError("demand weights must be non-negative numbers")
        self.coverage = coverage
        self.weights = weights
        self.candidates = candidates.reset_index(drop=True)

    @classmethod
    def from_cost_matrix(cls, cost_matrix: np.ndarray, weights: np.ndarray,
                         service_radius: float, candidates: pd.DataFrame) -> NewGroupSites:
        """Build from a demand × candidate cost matrix (km, minutes …).

        Parameters
        ----------
        cost_matrix : numpy.ndarray
            Shape ``(n_demand, n_candidates)``; NaN means unreachable.
        weights : numpy.ndarray
            People per demand point.
        service_radius : float
            A candidate reaches a demand point when the cost is at most this.
        candidates : pandas.DataFrame
            One row per column of ``cost_matrix``.

        Returns
        -------
        NewGroupSites

        """
        cost = np.asarray(cost_matrix, dtype=float)
        if cost.ndim != 2:
            raise ValueError("cost_matrix must be two-dimensional (demand × candidates)")
        if service_radius < 0:
            raise ValueError("service_radius must not be negative")
        with np.errstate(invalid="ignore"):
            return cls(sparse.csr_matrix(cost <= service_radius), weights, candidates)

    @classmethod
    def from_geodataframe(cls, demand: gpd.GeoDataFrame, candidates: gpd.GeoDataFrame,
                          service_radius_km: float, weight: str = "befolkning",
                          ) -> NewGroupSites:
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

        Returns
        -------
        NewGroupSites

        Raises
        ------
        ValueError
            On a missing or mismatched CRS, non-point geometry or a missing weight column.

        """
        if demand.crs is None or candidates.crs is None:
            raise ValueError("demand and candidates need a CRS")
        if demand.crs != candidates.crs:
            raise ValueError(f"CRS mismatch: demand is {demand.crs.to_string()}, "
                             f"candidates are {candidates.crs.to_string()}")
        if weight not in demand.columns:
            raise ValueError(f"demand has no weight column {weight!r}")
        for name, frame in (("demand", demand), ("candidates", candidates)):
            if len(frame) and not (frame.geom_type == "Point").all():
                raise ValueError(f"{name} must be points")
        demand_ll = demand.geometry.to_crs(settings.CRS_WGS84)
        cand_ll = candidates.geometry.to_crs(settings.CRS_WGS84)
        tree = cKDTree(unit_vectors(cand_ll.y, cand_ll.x))
        hits = tree.query_ball_point(unit_vectors(demand_ll.y, demand_ll.x),
                                     r=chord(service_radius_km))
        rows = np.repeat(np.arange(len(hits)), [len(h) for h in hits])
        cols: np.ndarray = (np.concatenate([np.asarray(h, dtype=np.int64) for h in hits])
                            if len(hits) else np.zeros(0, dtype=np.int64))
        coverage = sparse.csr_matrix((np.ones(len(rows), dtype=bool), (rows, cols)),
                                     shape=(len(demand), len(candidates)))
        return cls(coverage, demand[weight].to_numpy(dtype=float),
                   pd.DataFrame(candidates.drop(columns="geometry")))

    def reach(self) -> np.ndarray:
        """Return, per candidate, the people it alone would reach (int)."""
        return np.round(self.coverage.T.astype(float) @ self.weights).astype("int64")

    def _reduced(self) -> tuple[sparse.csr_matrix, np.ndarray]:
        """Merge demand rows covered by the same candidates; drop rows nobody covers."""
        coo = self.coverage.tocoo()
        signature = pd.Series(coo.col).groupby(coo.row).agg(tuple)
        weights = pd.Series(self.weights[signature.index.to_numpy()]).groupby(
            signature.to_numpy()).sum()
        keys = list(weights.index)
        rows = np.repeat(np.arange(len(keys)), [len(k) for k in keys])
        cols = np.fromiter((c for k in keys for c in k), dtype=np.int64, count=len(rows))
        reduced = sparse.csr_matrix((np.ones(len(rows), dtype=bool), (rows, cols)),
                                    shape=(len(keys), self.coverage.shape[1]))
        return reduced, weights.to_numpy(dtype=float)

    def solve(self, k: int, method: str = "mclp", fixed: Sequence[int] = ()) -> Plan:
        """Choose ``k`` sites.

        Parameters
        ----------
        k : int
            Number of new groups (≥ 1), the fixed ones included.
        method : {"mclp", "greedy"}
            ``"mclp"``: optimal (spopt MCLP, CBC). ``"greedy"``: repeatedly take the site
            adding the most people (the baseline the optimum is measured against).
        fixed : sequence of int
            Candidate positions that must be among the sites (a "what if we start here"):
            the other ``k - len(fixed)`` are chosen around them.

        Returns
        -------
        Plan
            Fixed sites first (``fixed`` column True), then the others best first.

        """
        if int(k) != k or k < 1:
            raise ValueError(f"k must be a positive whole number, not {k!r}")
        if method not in {"mclp", "greedy"}:
            raise ValueError(f"method must be 'mclp' or 'greedy', not {method!r}")
        must = [int(f) for f in fixed]
        if len(set(must)) != len(must) or any(not 0 <= f < len(self.candidates) for f in must):
            raise ValueError(f"fixed sites must be distinct candidate positions 0 … "
                             f"{len(self.candidates) - 1}, not {list(fixed)}")
        if len(must) > k:
            raise ValueError(f"{len(must)} fixed sites do not fit in k = {k}")
        coverage, weights = self._reduced()
        k = min(int(k), coverage.shape[1])
        useful = np.flatnonzero(np.asarray(coverage.sum(axis=0)).ravel() > 0)
        columns = np.union1d(useful, np.asarray(must, dtype=np.int64))
        if method == "greedy" or len(columns) <= k:
            chosen = _greedy(coverage, weights, k, start=must)
        else:
            position = {int(c): i for i, c in enumerate(columns)}
            found = _mclp(coverage[:, columns], weights, k, [position[f] for f in must])
            chosen = [int(columns[j]) for j in found]
        return self._plan(chosen, must, coverage, weights, method)

    def _plan(self, chosen: list[int], fixed: list[int], coverage: sparse.csr_matrix,
              weights: np.ndarray, method: str) -> Plan:
        # Fixed sites first, then the rest best first: each adds the most of what is left.
        order = _greedy(coverage[:, chosen], weights, len(chosen),
                        start=[chosen.index(f) for f in fixed])
        chosen = [chosen[i] for i in order]
        covered = np.zeros(coverage.shape[0], dtype=bool)
        added = []
        for site in chosen:
            column = coverage[:, site].toarray().ravel()
            added.append(float(weights[column & ~covered].sum()))
            covered |= column
        sites = self.candidates.iloc[chosen].reset_index(drop=True).copy()
        sites["fixed"] = [site in fixed for site in chosen]
        sites["reach"] = self.reach()[chosen]
        sites["added"] = np.round(added).astype("int64")
        sites["cumulative"] = sites["added"].cumsum()
        return Plan(sites, round(float(weights[covered].sum())), round(float(weights.sum())),
                    method)


def _greedy(coverage: sparse.csr_matrix, weights: np.ndarray, k: int,
            start: Sequence[int] = ()) -> list[int]:
    """Pick ``k`` columns: ``start`` first, then one by one the one adding the most weight."""
    left = weights.copy()
    matrix = coverage.T.astype(float).tocsr()
    chosen: list[int] = []
    for column in start:
        chosen.append(int(column))
        left[coverage[:, column].toarray().ravel()] = 0.0
    for _ in range(min(k, coverage.shape[1]) - len(chosen)):
        gain = matrix @ left
        gain[chosen] = -1.0
        best = int(np.argmax(gain))  # ties: the lowest index (stable, reproducible)
        chosen.append(best)
        left[coverage[:, best].toarray().ravel()] = 0.0
    return chosen


def _mclp(coverage: sparse.csr_matrix, weights: np.ndarray, k: int,
          fixed: Sequence[int] = ()) -> list[int]:
    """Solve the MCLP exactly with spopt (CBC); return the chosen column positions."""
    import pulp
    from spopt.locate import MCLP

    cost = np.where(coverage.toarray(), 0.0, 1.0)  # reached ⇔ cost ≤ 0.5
    with warnings.catch_warnings():
        # PuLP 3 warns about its own API changes for 4.0 (spopt builds variables the 3.x
        # way, once per variable); the dependency is pinned below 4.
        warnings.simplefilter("ignore", DeprecationWarning)
        predefined = np.zeros(coverage.shape[1], dtype=int)
        predefined[list(fixed)] = 1
        model = MCLP.from_cost_matrix(cost, weights, service_radius=0.5, p_facilities=k,
                                      predefined_facilities_arr=predefined if fixed else None)
        model = model.solve(pulp.PULP_CBC_CMD(msg=False))
    if pulp.LpStatus[model.problem.status] != "Optimal":
        raise RuntimeError(f"MCLP not solved: {pulp.LpStatus[model.problem.status]}")
    return [j for j, var in enumerate(model.fac_vars) if (var.value() or 0) > 0.5]


def plan_new_sites(kommuner: pd.DataFrame, grid: pd.DataFrame, services: pd.DataFrame,
                   k: int, radius_km: float = 50.0, organisation: str | None = None,
                   method: str = "mclp", fixed: Sequence[str] = (),
                   minutes: float | None = None,
                   road_network: network.RoadNetwork | None = None) -> Plan:
    """Choose ``k`` kommune centres for new groups that together reach the most people.

    Parameters
    ----------
    kommuner : pandas.DataFrame
        The kommune table (candidates are the administrative centres).
    grid : pandas.DataFrame
        Population grid with ``lat``/``lon``.
    services : pandas.DataFrame
        Geocoded services: people within ``radius_km`` of a group already count as reached.
    k : int
        Number of new groups.
    radius_km : float
        Reach of a group.
    organisation : str, optional
        Count only this organisation's groups as existing coverage.
    method : {"mclp", "greedy"}
        See :meth:`NewGroupSites.solve`.
    fixed : sequence of str
        Kommune numbers that must get one of the ``k`` groups (what if we start there?).
    minutes : float, optional
        Measure reach by travel time by road and car ferry instead of ``radius_km``.
    road_network : RoadNetwork, optional
        Required with ``minutes``.

    Returns
    -------
    Plan
        Sites with ``kommunenummer``, ``kommunenavn``, ``fylkesnavn``, ``admin_lat``,
        ``admin_lon``, ``reach``, ``added``, ``cumulative``.

    """
    if minutes is not None:
        model, _ = _time_model(kommuner, grid, services, minutes, road_network, organisation)
        return model.solve(k, method, _positions(model.candidates, fixed))
    uncovered = uncovered_cells(grid, services, radius_km, organisation)
    demand = gpd.GeoDataFrame(uncovered[["befolkning"]],
                              geometry=gpd.points_from_xy(uncovered["lon"], uncovered["lat"]),
                              crs=settings.CRS_WGS84)
    candidates = gpd.GeoDataFrame(
        kommuner[_CANDIDATE_COLUMNS].reset_index(drop=True),
        geometry=gpd.points_from_xy(kommuner["admin_lon"], kommuner["admin_lat"]),
        crs=settings.CRS_WGS84)
    model = NewGroupSites.from_geodataframe(demand, candidates, radius_km)
    return model.solve(k, method, _positions(candidates, fixed))


def _positions(candidates: pd.DataFrame, fixed: Sequence[str]) -> list[int]:
    numbers = candidates["kommunenummer"].tolist()
    unknown = [f for f in fixed if f not in numbers]
    if unknown:
        raise ValueError(f"unknown kommunenummer in fixed: {unknown}")
    return [numbers.index(f) for f in fixed]


def _time_model(kommuner: pd.DataFrame, grid: pd.DataFrame, services: pd.DataFrame,
                minutes: float, road_network: network.RoadNetwork | None,
                organisation: str | None) -> tuple[NewGroupSites, pd.DataFrame]:
    """Build the planning model with reach in minutes by road and ferry; return its demand."""
    if road_network is None:
        raise ValueError("planning by travel time needs road_network")
    uncovered = uncovered_cells_by_time(grid, services, road_network, minutes, organisation)
    candidates = kommuner[_CANDIDATE_COLUMNS].reset_index(drop=True)
    cost = network.minutes_matrix(road_network, uncovered["x"], uncovered["y"],
                                  *network.to_metric(candidates["admin_lat"],
                                                     candidates["admin_lon"]))
    model = NewGroupSites.from_cost_matrix(cost, uncovered["befolkning"].to_numpy(), minutes,
                                           candidates)
    return model, uncovered
