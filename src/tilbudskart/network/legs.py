"""Routes you can see: the fastest route leg by leg, named, and its summary."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TypedDict

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from scipy.spatial import cKDTree

from tilbudskart import datasources, settings
from tilbudskart.network.build import _TO_WGS84
from tilbudskart.network.graph import RoadNetwork, Routes, to_metric
from tilbudskart.network.routing import _via_network

# -- routes you can see -------------------------------------------------------------------

#: Columns of a route's legs (see :func:`route_legs`).
LEG_COLUMNS = ("kind", "road", "ferry", "km", "minutes", "geometry")


@functools.cache
def _places() -> tuple[cKDTree, np.ndarray]:
    gazetteer = datasources.read_gazetteer().dropna(subset=["lat", "lon"])
    # A postal place is a centroid of addresses, and a name found elsewhere may be a post
    # office box away from the place (Molde's sits in Aukra): skip those.
    postal = gazetteer["koordinatkilde"].str.startswith("bolstad")
    gazetteer = gazetteer[~(postal & gazetteer["navn"].duplicated(keep=False))]
    x, y = to_metric(gazetteer["lat"], gazetteer["lon"])
    return cKDTree(np.column_stack([x, y])), gazetteer["navn"].to_numpy(dtype=object)


def place_name(x: float, y: float, within_km: float = 10.0) -> str:
    """Return the name of the gazetteer place nearest a point (EPSG:25833), or ``""``.

    N1000 has no names of ferry routes: a crossing is named after the places nearest its
    two quays (:func:`tilbudskart.datasources.read_gazetteer`; labels can be 1–3 km off).
    """
    tree, names = _places()
    metres, index = tree.query([x, y])
    return str(names[index]) if metres <= within_km * 1000 else ""


def _oriented(line: shapely.LineString, start: np.ndarray) -> shapely.LineString:
    """Return ``line`` running from its end nearest ``start``."""
    coords = shapely.get_coordinates(line)
    if np.hypot(*(coords[0] - start)) > np.hypot(*(coords[-1] - start)):
        coords = coords[::-1]
    return shapely.linestrings(coords)


def _part(line: shapely.LineString, a: float, b: float) -> shapely.LineString:
    """Return the piece of ``line`` between shares ``a`` and ``b`` of its length, a → b."""
    low, high = sorted((a, b))
    piece = shapely.ops.substring(line, low * line.length, high * line.length)
    coords = shapely.get_coordinates(piece)
    if len(coords) < 2:
        coords = np.vstack([coords, coords])[:2]
    return shapely.linestrings(coords[::-1] if a > b else coords)


@dataclass
class _Leg:
    kind: str
    road: str
    km: float
    minutes: float
    coords: np.ndarray
    ferry: str = ""


def route_legs(network: RoadNetwork, routes: Routes, x: float, y: float,
               service_xy: tuple[np.ndarray, np.ndarray]) -> gpd.GeoDataFrame | None:
    """Return the fastest route from a point to its nearest service, leg by leg.

    Parameters
    ----------
    network : RoadNetwork
        The road and car-ferry graph.
    routes : Routes
        From :meth:`RoadNetwork.nearest` on the services.
    x, y : float
        The origin, EPSG:25833 metres.
    service_xy : tuple of numpy.ndarray
        The services' ``x, y`` (EPSG:25833), as given to :meth:`RoadNetwork.nearest`.

    Returns
    -------
    geopandas.GeoDataFrame or None
        Columns :data:`LEG_COLUMNS` in WGS 84, in driving order: ``kind`` is ``access``
        (straight leg to or from a road), ``road`` or ``ferry`` (the crossing's minutes
        include the wait); consecutive links of one road are one leg. ``service`` (the
        row position reached) is in ``attrs["service"]``. None if there is no route.

    """
    found = _route(network, routes, x, y, service_xy)
    if found is None:
        return None
    legs = _legs_frame(found[0])
    legs.attrs["service"] = found[1]
    return legs


def _route(network: RoadNetwork, routes: Routes, x: float, y: float,
           service_xy: tuple[np.ndarray, np.ndarray]) -> tuple[list[_Leg], int] | None:
    """Return the merged legs of the fastest route and the service it reaches."""
    start = network.snap([x], [y])
    way = _via_network(routes, network, start).iloc[0]
    if not np.isfinite(way["minutes"]) or routes.targets is None:
        return None
    service = int(way["service"])
    goal = routes.targets.take(np.array([service]))
    lines = network.links["geometry"].to_numpy()
    link_min, link_km = network.links["minutes"].to_numpy(), network.links["km"].to_numpy()
    origin_line, goal_line = lines[start.link[0]], lines[goal.link[0]]
    on_origin = shapely.line_interpolate_point(origin_line, start.along[0], normalized=True)
    on_goal = shapely.line_interpolate_point(goal_line, goal.along[0], normalized=True)
    raw: list[tuple[str, str, float, float, shapely.LineString]] = [
        ("access", "", float(start.leg_km[0]), float(start.leg_min[0]),
         shapely.linestrings([[x, y], shapely.get_coordinates(on_origin)[0]]))]
    road_of = network.links["road"].to_numpy()
    node = int(way["node"])
    if node < 0:  # along the one link both lie on
        share = abs(float(start.along[0] - goal.along[0]))
        raw.append(("road", road_of[start.link[0]], share * link_km[start.link[0]],
                    share * link_min[start.link[0]],
                    _part(origin_line, float(start.along[0]), float(goal.along[0]))))
    else:
        to_end = 0.0 if node == start.u[0] else 1.0
        share = abs(float(start.along[0]) - to_end)
        raw.append(("road", road_of[start.link[0]], share * link_km[start.link[0]],
                    share * link_min[start.link[0]],
                    _part(origin_line, float(start.along[0]), to_end)))
        n = len(network)
        assert routes.predecessor is not None
        kind, road, km, minutes, geometry = (network.edges[c].to_numpy() for c in
                                             ("kind", "road", "km", "minutes", "geometry"))
        path = [node]
        while int(routes.predecessor[path[-1]]) != n:
            path.append(int(routes.predecessor[path[-1]]))
        here, there = np.array(path[:-1], dtype=int), np.array(path[1:], dtype=int)
        rows = np.zeros(0, dtype=int)
        if len(here):
            rows = np.asarray(network.edge_id[np.minimum(here, there), np.maximum(here, there)]
                              ).ravel().astype(int) - 1
        for a, e in zip(here.tolist(), rows.tolist(), strict=True):
            raw.append((str(kind[e]), str(road[e]), float(km[e]), float(minutes[e]),
                        _oriented(geometry[e], network.nodes[a])))
        node = path[-1]
        from_end = 0.0 if node == goal.u[0] else 1.0
        share = abs(float(goal.along[0]) - from_end)
        raw.append(("road", road_of[goal.link[0]], share * link_km[goal.link[0]],
                    share * link_min[goal.link[0]],
                    _part(goal_line, from_end, float(goal.along[0]))))
    sx, sy = service_xy[0][service], service_xy[1][service]
    raw.append(("access", "", float(goal.leg_km[0]), float(goal.leg_min[0]),
                shapely.linestrings([shapely.get_coordinates(on_goal)[0], [sx, sy]])))
    return _merge_legs(raw), service


def _merge_legs(raw: list[tuple[str, str, float, float, shapely.LineString]]
                ) -> list[_Leg]:
    """Join consecutive legs of one road or one crossing; name the crossings."""
    rows: list[_Leg] = []
    for kind, road, km, minutes, line in raw:
        if kind == "quay":  # the way onto the quay belongs to the crossing (its wait)
            kind, road = "ferry", ""
        if kind == "connector":
            kind, road = "road", (rows[-1].road if rows and rows[-1].kind == "road" else "")
        if kind == "road" and km < 0.05:
            road = ""  # a few metres of a side road: part of the next leg
        last = rows[-1] if rows else None
        if last is not None and last.kind == kind and (
                kind == "ferry" or last.road == road or not road or not last.road):
            last.km += km
            last.minutes += minutes
            last.coords = np.vstack([last.coords, shapely.get_coordinates(line)])
            last.road = last.road or road
        else:
            rows.append(_Leg(kind, road, km, minutes, shapely.get_coordinates(line)))
    # A few metres of road between two other legs are folded into the next (or last) one.
    short = [k for k, leg in enumerate(rows)
             if leg.kind == "road" and leg.km < 0.05 and len(rows) > 1]
    for k in reversed(short):
        other = rows[k + 1] if k + 1 < len(rows) else rows[k - 1]
        other.km += rows[k].km
        other.minutes += rows[k].minutes
        del rows[k]
    for leg in rows:
        if leg.kind == "ferry":
            ends = dict.fromkeys(place_name(*leg.coords[k]) for k in (0, -1))
            leg.ferry = "–".join(name for name in ends if name)
    return rows


def _legs_frame(rows: list[_Leg]) -> gpd.GeoDataFrame:
    """Return legs as a GeoDataFrame in WGS 84 (columns :data:`LEG_COLUMNS`)."""
    lines = shapely.transform([shapely.linestrings(leg.coords) for leg in rows],
                              lambda xy: np.column_stack(_TO_WGS84.transform(xy[:, 0],
                                                                            xy[:, 1])))
    return gpd.GeoDataFrame(
        {"kind": [leg.kind for leg in rows], "road": [leg.road for leg in rows],
         "ferry": [leg.ferry for leg in rows], "km": [leg.km for leg in rows],
         "minutes": [leg.minutes for leg in rows]},
        geometry=lines, crs=settings.CRS_WGS84)


class RouteSummary(TypedDict):
    """A route's totals (see :func:`route_summary`)."""

    minutes: float
    km: float
    km_road: float
    km_ferry: float
    km_access: float
    ferries: list[str]


def route_summary(legs: gpd.GeoDataFrame) -> RouteSummary:
    """Return a route's totals: minutes, km by road, by ferry and off road, ferries used.

    Parameters
    ----------
    legs : geopandas.GeoDataFrame
        From :func:`route_legs`.

    Returns
    -------
    RouteSummary
        ``minutes``, ``km``, ``km_road``, ``km_ferry``, ``km_access`` (rounded to 0.1) and
        ``ferries`` (list of crossing names, in order).

    """
    km = legs.groupby("kind")["km"].sum()
    return {"minutes": round(float(legs["minutes"].sum()), 1),
            "km": round(float(legs["km"].sum()), 1),
            "km_road": round(float(km.get("road", 0.0)), 1),
            "km_ferry": round(float(km.get("ferry", 0.0)), 1),
            "km_access": round(float(km.get("access", 0.0)), 1),
            "ferries": [str(name) for name in legs.loc[legs["kind"] == "ferry", "ferry"]]}


def nearest_route(network: RoadNetwork, lat: float, lon: float,
                  services: pd.DataFrame) -> gpd.GeoDataFrame | None:
    """Return the fastest route from a point to the nearest of ``services``.

    Parameters
    ----------
    network : RoadNetwork
        The road and car-ferry graph.
    lat, lon : float
        The origin (WGS 84).
    services : pandas.DataFrame
        Rows with ``lat``/``lon`` (rows without are skipped).

    Returns
    -------
    geopandas.GeoDataFrame or None
        Legs as :func:`route_legs`; ``attrs["service"]`` is the row label in
        ``services`` and ``attrs["summary"]`` the :func:`route_summary`. None if no
        service can be reached.

    """
    located = services.dropna(subset=["lat", "lon"])
    if located.empty:
        return None
    sx, sy = to_metric(located["lat"], located["lon"])
    x, y = to_metric([lat], [lon])
    legs = route_legs(network, network.nearest(sx, sy), float(x[0]), float(y[0]), (sx, sy))
    if legs is None:
        return None
    legs.attrs["service"] = located.index[legs.attrs["service"]]
    legs.attrs["summary"] = route_summary(legs)
    return legs


def _leg_text(leg: _Leg) -> str:
    label = leg.ferry if leg.kind == "ferry" else (leg.road or leg.kind)
    return f"{leg.kind} {label} {leg.km:.1f} km"
