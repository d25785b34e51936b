"""Graph building from N1000: speeds, road pieces split at quays, and the repairs of its faults."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from tilbudskart import access, settings

_TO_METRIC = access.transformer(settings.CRS_WGS84, settings.CRS_METRIC)
_TO_WGS84 = access.transformer(settings.CRS_METRIC, settings.CRS_WGS84)
_ROAD, _FERRY = "enkelBilveg", "bilferje"
#: Edge kinds of the graph: a road piece, a ferry crossing (or part of one), the way from a
#: road onto a quay (carrying half the ferry wait), and a repaired gap.
EDGE_KINDS = ("road", "ferry", "quay", "connector")
_NO_PATH = -9999  # scipy's predecessor for "none"


@dataclass(frozen=True)
class Speeds:
    """Assumed speeds of a network (see :func:`speeds`).

    Attributes
    ----------
    road : Mapping of str to float
        km/h per N1000 ``vegkategori``.
    motorway : float
        km/h on motorways and motor roads.
    ferry : float
        km/h of a car-ferry crossing.
    ferry_wait : float
        Minutes of wait per crossing (half when boarding, half when leaving).
    access : float
        km/h of straight legs: from a point to the network, and over repaired gaps.

    """

    road: Mapping[str, float]
    motorway: float
    ferry: float
    ferry_wait: float
    access: float


def speeds(*, road_speeds: Mapping[str, float] | None = None,
           motorway_speed: float | None = None, ferry_speed: float | None = None,
           ferry_wait: float | None = None, access_speed: float | None = None) -> Speeds:
    """Return assumed speeds, each defaulting to :mod:`tilbudskart.settings`.

    Parameters
    ----------
    road_speeds : Mapping of str to float, optional
        km/h per ``vegkategori`` (default :data:`~tilbudskart.settings.ROAD_SPEED_KMH`);
        a category left out gets the slowest speed given.
    motorway_speed : float, optional
        Default :data:`~tilbudskart.settings.MOTORWAY_SPEED_KMH`.
    ferry_speed : float, optional
        Default :data:`~tilbudskart.settings.FERRY_SPEED_KMH`.
    ferry_wait : float, optional
        Default :data:`~tilbudskart.settings.FERRY_WAIT_MIN`.
    access_speed : float, optional
        Default :data:`~tilbudskart.settings.ACCESS_SPEED_KMH`.

    Returns
    -------
    Speeds

    Raises
    ------
    ValueError
        If a speed is not positive or the wait is negative.

    """
    chosen = Speeds(
        road=dict(settings.ROAD_SPEED_KMH if road_speeds is None else road_speeds),
        motorway=settings.MOTORWAY_SPEED_KMH if motorway_speed is None else motorway_speed,
        ferry=settings.FERRY_SPEED_KMH if ferry_speed is None else ferry_speed,
        ferry_wait=settings.FERRY_WAIT_MIN if ferry_wait is None else ferry_wait,
        access=settings.ACCESS_SPEED_KMH if access_speed is None else access_speed)
    values = [*chosen.road.values(), chosen.motorway, chosen.ferry, chosen.access]
    if not chosen.road or min(values) <= 0 or chosen.ferry_wait < 0:
        raise ValueError("speeds must be positive and the ferry wait not negative")
    return chosen


def link_minutes(links: pd.DataFrame, *, road_speeds: Mapping[str, float] | None = None,
                 motorway_speed: float | None = None, ferry_speed: float | None = None,
                 ferry_wait: float | None = None) -> np.ndarray:
    """Return the assumed travel time (minutes) of each network link.

    Parameters
    ----------
    links : pandas.DataFrame
        N1000 links with ``typeVeg``, ``vegkategori``, ``motorvegtype`` and ``length_m``.
    road_speeds, motorway_speed, ferry_speed, ferry_wait : optional
        See :func:`speeds`; default to :mod:`tilbudskart.settings`.

    Returns
    -------
    numpy.ndarray
        Minutes: length at the speed of the road category (motorways faster), or for car
        ferries the crossing at ferry speed plus the wait.

    """
    chosen = speeds(road_speeds=road_speeds, motorway_speed=motorway_speed,
                    ferry_speed=ferry_speed, ferry_wait=ferry_wait)
    speed = links["vegkategori"].map(chosen.road).fillna(
        min(chosen.road.values())).to_numpy(dtype=float)
    motorway = links["motorvegtype"].isin(["motorveg", "motortrafikkveg"]).to_numpy()
    speed = np.where(motorway, chosen.motorway, speed)
    ferry = (links["typeVeg"] == _FERRY).to_numpy()
    speed = np.where(ferry, chosen.ferry, speed)
    km = links["length_m"].to_numpy(dtype=float) / 1000.0
    return km / speed * 60.0 + np.where(ferry, chosen.ferry_wait, 0.0)


_PREFIX = {"E": "E", "R": "Rv", "F": "Fv", "K": "Kv", "P": "Pv"}


def _road_labels(links: pd.DataFrame) -> np.ndarray:
    """Return a road label per link: ``E39``, ``Fv61``, ``Kv`` (no number), ``Pv``."""
    prefix = links["vegkategori"].map(_PREFIX).fillna("").astype(str)
    number = pd.to_numeric(links["vegnummer"], errors="coerce")
    digits = number.map(lambda value: "" if pd.isna(value) else str(int(value)))
    return (prefix + digits).to_numpy(dtype=object)


def _keys(points: np.ndarray, layer: int | pd.Series) -> np.ndarray:
    """Return node keys (x, y rounded to 1 m, layer) of shapely points."""
    xy = np.round(shapely.get_coordinates(points))
    return np.column_stack([xy, np.broadcast_to(np.asarray(layer, dtype=float), len(xy))])


def _split_roads(roads: pd.DataFrame, ferries: pd.DataFrame) -> tuple[pd.DataFrame,
                                                                     pd.DataFrame]:
    """Split road links where a quay or a T-junction joins them.

    Returns the road pieces and the joins: from ``ax, ay`` (a quay, ``a_layer`` 1, or a
    road link end, 0) to ``bx, by`` (the point on the road, a piece end).
    """
    geometry = roads["geometry"].to_numpy()
    tree = shapely.STRtree(geometry)
    requests = []
    if len(ferries):
        fg = ferries["geometry"].to_numpy()
        ends = np.vstack([shapely.get_coordinates(shapely.get_point(fg, 0)),
                          shapely.get_coordinates(shapely.get_point(fg, -1))])
        quays, count = np.unique(np.round(ends), axis=0, return_counts=True)
        reach = np.where(count == 1, settings.FERRY_QUAY_M, settings.FERRY_JUNCTION_QUAY_M)
        points = shapely.points(quays)
        found, metres = tree.query_nearest(points, max_distance=settings.FERRY_QUAY_M,
                                           return_distance=True, all_matches=False)
        keep = metres <= reach[found[0]]
        i, j = found[0][keep], found[1][keep]
        requests.append(pd.DataFrame({"link": j, "ax": quays[i, 0], "ay": quays[i, 1],
                                      "a_layer": 1,
                                      "along": shapely.line_locate_point(geometry[j],
                                                                         points[i])}))
    start = np.round(shapely.get_coordinates(shapely.get_point(geometry, 0)))
    end = np.round(shapely.get_coordinates(shapely.get_point(geometry, -1)))
    tips = np.unique(np.vstack([start, end]), axis=0)
    points = shapely.points(tips)
    i, j = tree.query(points, predicate="dwithin", distance=settings.T_JUNCTION_M)
    own = (start[j] == tips[i]).all(axis=1) | (end[j] == tips[i]).all(axis=1)
    # Tunnels and bridges pass under or over roads, motorways have no side junctions.
    level = ~roads["medium"].isin(["U", "L"]).to_numpy() & roads["motorvegtype"].isna().to_numpy()
    keep = ~own & level[j]
    i, j = i[keep], j[keep]
    requests.append(pd.DataFrame({"link": j, "ax": tips[i, 0], "ay": tips[i, 1], "a_layer": 0,
                                  "along": shapely.line_locate_point(geometry[j], points[i])}))
    wanted = pd.concat(requests, ignore_index=True)
    length = shapely.length(geometry)[wanted["link"].to_numpy()]
    along = wanted["along"].to_numpy()
    # A join within 1 m of a link end uses that end; otherwise the link is cut there.
    at_start, at_end = along < 1.0, along > length - 1.0
    wanted["along"] = np.where(at_start, 0.0, np.where(at_end, length, np.round(along, 1)))
    cut = wanted[~at_start & ~at_end]
    parts: list[shapely.LineString] = []
    owner: list[int] = []
    target = {}
    stops_of = cut.groupby("link")["along"].unique()
    for link, stops in zip(stops_of.index.tolist(), stops_of.tolist(), strict=True):
        line = geometry[link]
        stops = np.sort(stops)
        bounds = np.concatenate([[0.0], stops, [line.length]])
        pieces = [shapely.ops.substring(line, a, b) for a, b in itertools.pairwise(bounds)]
        for stop, part in zip(stops.tolist(), pieces[1:], strict=True):
            target[(link, stop)] = shapely.get_coordinates(shapely.get_point(part, 0))[0]
        parts.extend(pieces)
        owner.extend([link] * len(pieces))
    kept = roads.drop(index=stops_of.index)
    all_pieces = pd.concat([kept, roads.iloc[owner].assign(geometry=parts)], ignore_index=True)
    links = wanted["link"].to_numpy()
    b = np.empty((len(wanted), 2))
    b[at_start] = shapely.get_coordinates(shapely.get_point(geometry[links[at_start]], 0))
    b[at_end] = shapely.get_coordinates(shapely.get_point(geometry[links[at_end]], -1))
    middle = np.flatnonzero(~at_start & ~at_end)
    if len(middle):
        stops = wanted["along"].to_numpy()
        b[middle] = np.array([target[(int(links[k]), float(stops[k]))] for k in middle])
    joins = wanted.assign(bx=b[:, 0], by=b[:, 1])[["ax", "ay", "a_layer", "bx", "by"]]
    return all_pieces, joins


def _nearest_within(tree: shapely.STRtree, lines: np.ndarray, points: np.ndarray,
                    radii: tuple[float, ...], prefer: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Return the nearest line to each point within the last radius (-1 if none), and metres.

    Exact: every line within a radius is compared, and points with none try the next
    radius. Within the first radius a ``prefer`` line (a public road) wins over any other.
    Much quicker than ``STRtree.query_nearest`` when most points lie near a line.
    """
    found = np.full(len(points), -1, dtype=np.int64)
    distance = np.full(len(points), np.inf)
    todo = np.arange(len(points))
    for step, radius in enumerate(radii):
        i, j = tree.query(points[todo], predicate="dwithin", distance=radius)
        if len(i):
            metres = shapely.distance(lines[j], points[todo][i])
            rank = (~prefer[j]).astype(float) if prefer is not None and step == 0 else 0.0
            order = np.lexsort((j, metres, rank + np.zeros(len(i)), i))
            first = order[np.unique(i[order], return_index=True)[1]]
            found[todo[i[first]]] = j[first]
            distance[todo[i[first]]] = metres[first]
        todo = todo[found[todo] < 0]
        if len(todo) == 0:
            break
    return found, distance


def _one_per_pair(edges: pd.DataFrame) -> pd.DataFrame:
    """Keep one edge per unordered node pair, the fastest; drop loops."""
    a = np.minimum(edges["u"].to_numpy(), edges["v"].to_numpy())
    b = np.maximum(edges["u"].to_numpy(), edges["v"].to_numpy())
    edges = edges.assign(u=a, v=b)
    edges = edges[edges["u"] != edges["v"]]
    return (edges.sort_values("minutes", kind="stable").drop_duplicates(["u", "v"])
            .reset_index(drop=True))


def _components(n: int, edges: pd.DataFrame) -> np.ndarray:
    """Return the connected-component label of each of ``n`` nodes joined by ``edges``."""
    graph = csr_matrix((np.ones(len(edges)), (edges["u"], edges["v"])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _leg_minutes(km: np.ndarray | float, speed: float | None = None) -> np.ndarray:
    """Return the minutes of straight legs (to, from or between networks) at access speed."""
    speed = settings.ACCESS_SPEED_KMH if speed is None else speed
    return np.asarray(km, dtype=float) / speed * 60.0


def _connector(pairs: np.ndarray, nodes: np.ndarray, speed: float) -> pd.DataFrame:
    pairs = pairs.reshape(-1, 2)
    a, b = pairs.min(axis=1), pairs.max(axis=1)
    km = np.linalg.norm(nodes[a] - nodes[b], axis=1) / 1000.0
    return pd.DataFrame({"u": a, "v": b, "minutes": _leg_minutes(km, speed), "km": km,
                         "kind": "connector", "road": "",
                         "geometry": shapely.linestrings(np.stack([nodes[a], nodes[b]],
                                                                  axis=1))})


def _gap_connectors(nodes: np.ndarray, edges: pd.DataFrame, road_nodes: np.ndarray,
                    speed: float) -> pd.DataFrame:
    """Return straight connectors between road link ends of different network parts.

    Only pairs closer than :data:`~tilbudskart.settings.NETWORK_GAP_M` and in different
    connected components are joined (at access speed), so real junctions are untouched.
    Quays are left out: they join roads through their own edge, which carries the wait.
    """
    component = _components(len(nodes), edges)
    pairs = road_nodes[cKDTree(nodes[road_nodes]).query_pairs(settings.NETWORK_GAP_M,
                                                               output_type="ndarray")]
    return _connector(pairs[component[pairs[:, 0]] != component[pairs[:, 1]]], nodes, speed)


def _land_connectors(nodes: np.ndarray, edges: pd.DataFrame, road_nodes: np.ndarray,
                     land: gpd.GeoSeries, speed: float) -> pd.DataFrame:
    """Join each part cut off from the main network by its shortest connector over land.

    Every road node outside the main part is tried with its nearest main road node; per
    part, the shortest connector that is short enough and runs over land wins.
    """
    component = _components(len(nodes), edges)
    main = int(np.bincount(component).argmax())
    main_nodes = road_nodes[component[road_nodes] == main]
    outside = road_nodes[component[road_nodes] != main]
    if len(outside) == 0 or len(main_nodes) == 0:
        return _connector(np.zeros((0, 2), dtype=np.int64), nodes, speed)
    metres, nearest = cKDTree(nodes[main_nodes]).query(nodes[outside])
    close = metres <= settings.NETWORK_LAND_GAP_M
    outside, metres, partner = outside[close], metres[close], main_nodes[nearest[close]]
    lines = shapely.linestrings(np.stack([nodes[outside], nodes[partner]], axis=1))
    polygons = land.to_numpy()
    line_idx, land_idx = shapely.STRtree(polygons).query(lines, predicate="intersects")
    on_land = np.zeros(len(lines))
    np.add.at(on_land, line_idx,
              shapely.length(shapely.intersection(lines[line_idx], polygons[land_idx])))
    ok = on_land >= settings.NETWORK_LAND_SHARE * np.maximum(metres, 1e-9)
    candidates = pd.DataFrame({"part": component[outside], "u": outside, "v": partner,
                               "metres": metres})[ok]
    best = candidates.sort_values(["metres", "u"], kind="stable").drop_duplicates("part")
    return _connector(best[["u", "v"]].to_numpy(dtype=np.int64), nodes, speed)
