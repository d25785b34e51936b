"""One-off planning questions and the figures they share: models from cells, worst-off.

:func:`plan_new_sites` and :func:`rank_new_sites` answer one question from scratch;
:class:`~.planner.Planner` asks the same of kept data. :func:`worst_off` says how far the
worst-off people are from a group.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pulp

from tilbudskart import measures, network, settings
from tilbudskart.access import NearestIndex, unit_vectors
from tilbudskart.planning.candidates import (
    _groups,
    candidate_reach,
    centre_candidates,
    minutes_pairs,
    uncovered_cells,
    uncovered_cells_by_time,
)
from tilbudskart.planning.checks import (
    Threshold,
    check_kept,
    check_new_groups,
    check_organisation,
)
from tilbudskart.planning.models import NewGroupSites, Plan

#: Drive time (minutes) beyond which :func:`worst_off` counts a person as worst-off.
WORST_MINUTES = max(settings.BEYOND_MINUTES)

#: Side (metres) of the blocks the p-median's demand is aggregated to.
MEDIAN_BLOCK_M = 10_000.0

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
            f"people_beyond_{WORST_MINUTES}min": round(float(people[routed & (np.nan_to_num(
                minutes, nan=0.0) > WORST_MINUTES)].sum())),
            "people_not_routed": round(float(people[~routed].sum()))})
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


def rank_new_sites(kommuner: pd.DataFrame, grid: pd.DataFrame, services: pd.DataFrame,
                   radius_km: float = measures.FARTHEST_KM.value, organisation: str | None = None,
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
    # People as the tables count them (measures.POPULATION_SOURCE).
    grid = grid.assign(befolkning=measures.scaled_population(grid, kommuner))
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
        result["kommunenummer"].map(inside).fillna(0).round().astype("int64"))
    return result.sort_values(["reach", "kommunenummer"], ascending=[False, True],
                              ignore_index=True)


def _positions_of(sites: pd.DataFrame, candidates: pd.DataFrame) -> list[int]:
    """Positions in ``candidates`` of rows of ``sites`` (same place, kommune and point)."""
    keys = list(zip(candidates["kommunenummer"], candidates["place"], candidates["lat"],
                    candidates["lon"], strict=True))
    position = {key: i for i, key in enumerate(keys)}
    return [position[key] for key in zip(sites["kommunenummer"], sites["place"], sites["lat"],
                                         sites["lon"], strict=True)]


def plan_new_sites(kommuner: pd.DataFrame, grid: pd.DataFrame, services: pd.DataFrame,
                   k: int, radius_km: float = measures.FARTHEST_KM.value,
                   organisation: str | None = None,
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
    # People as the tables count them (measures.POPULATION_SOURCE).
    grid = grid.assign(befolkning=measures.scaled_population(grid, kommuner))
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
