"""Planning's demand and candidates: who is beyond a threshold, and where a group could go.

Cells beyond a threshold today (:func:`uncovered_cells`, :func:`uncovered_cells_by_time`),
the demand × candidate pairs within reach (:func:`km_pairs` on the WGS 84 ellipsoid,
:func:`minutes_pairs` by road and car ferry) and the candidate sites: kommune centres
(:func:`centre_candidates`) or also every populated place (:func:`place_candidates`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.spatial import cKDTree

from tilbudskart import access, datasources, network, settings
from tilbudskart.access import NearestIndex, geodesic_km, unit_vectors
from tilbudskart.planning.checks import check_organisation

#: Largest minutes for which :func:`minutes_pairs` looks only at the candidates near each
#: demand point's road link (:meth:`tilbudskart.network.Destinations.within`).
NEAR_PAIRS_MINUTES = 180.0

#: :func:`km_pairs` looks for pairs on the sphere within this share of the radius (plus
#: 1 km) before measuring them on the ellipsoid: the two differ by under 0.6 %.
SPHERE_MARGIN = 1.01

#: Candidates closer than this (km) to an earlier candidate are dropped as duplicates.
PLACE_SPACING_KM = 1.0

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
    """Return geodesic km between demand points and the candidates within a radius.

    The one builder of coverage in km (:func:`candidate_reach`,
    :meth:`NewGroupSites.from_geodataframe`, the report's reach): a cKDTree on the unit
    sphere finds the pairs within a slightly wider radius (the sphere and the ellipsoid
    differ by under 0.6 %), and their distance is measured on the WGS 84 ellipsoid
    (:func:`tilbudskart.access.geodesic_km`), as in every table.

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
    radius = np.asarray(radius_km, dtype=float)
    tree = cKDTree(unit_vectors(cand_lat, cand_lon))
    points = unit_vectors(demand_lat, demand_lon)
    hits = tree.query_ball_point(points, r=chord(radius * SPHERE_MARGIN + 1.0))
    rows = np.repeat(np.arange(n_demand), [len(h) for h in hits])
    cols = np.fromiter((c for h in hits for c in h), dtype=np.int64, count=len(rows))
    demand_lat, demand_lon = np.asarray(demand_lat, float), np.asarray(demand_lon, float)
    km = geodesic_km(demand_lat[rows], demand_lon[rows], np.asarray(cand_lat, float)[cols],
                     np.asarray(cand_lon, float)[cols])
    within = km <= (radius[rows] if radius.ndim else radius)
    return sparse.coo_array((km[within], (rows[within], cols[within])),
                            shape=(n_demand, n_cand))


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
        Coverage radius (km on the WGS 84 ellipsoid).

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
