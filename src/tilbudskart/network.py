"""Network: travel time by road and car ferry to the nearest help.

Straight-line distance flatters the coast and the north: Tysnes' nearest group is 20 km
away in a line but, with the ferry, about 110 minutes by car; Alta's nearest groups are
170 km away in a line, and the nearest by road (Bardufoss) 370 km. This module routes on
Kartverket's generalised N1000 network (roads and car ferries).

The graph is a :mod:`scipy.sparse` matrix in EPSG:25833 (link end points that meet to 1 m
become one node; the gaps generalisation leaves are repaired, see
:meth:`RoadNetwork.from_geodataframe`) and is searched with
:func:`scipy.sparse.csgraph.dijkstra`. Nearest-help
questions are answered with one multi-source search from a virtual node joined to every
service, so the time from *every* node to its nearest service comes from a single run.

Times are estimates from assumed speeds (:data:`tilbudskart.settings.ROAD_SPEED_KMH`,
ferry speed and wait): N1000 has no speed limits or timetables. A point is joined to its
nearest network node by a straight leg at :data:`~tilbudskart.settings.ACCESS_SPEED_KMH`;
a point in a part of the network with no service (an island without a car ferry in N1000)
gets no time, and is counted, not guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from tilbudskart import datasources, settings

_TO_METRIC = Transformer.from_crs(settings.CRS_WGS84, settings.CRS_METRIC, always_xy=True)


def link_minutes(links: pd.DataFrame) -> np.ndarray:
    """Return the assumed travel time (minutes) of each network link.

    Parameters
    ----------
    links : pandas.DataFrame
        N1000 links with ``typeVeg``, ``vegkategori``, ``motorvegtype`` and ``length_m``.

    Returns
    -------
    numpy.ndarray
        Minutes: length at the speed of the road category (motorways faster), or for car
        ferries the crossing at ferry speed plus a fixed wait.

    """
    speed = links["vegkategori"].map(settings.ROAD_SPEED_KMH).fillna(
        min(settings.ROAD_SPEED_KMH.values())).to_numpy(dtype=float)
    motorway = links["motorvegtype"].isin(["motorveg", "motortrafikkveg"]).to_numpy()
    speed = np.where(motorway, settings.MOTORWAY_SPEED_KMH, speed)
    ferry = (links["typeVeg"] == "bilferje").to_numpy()
    speed = np.where(ferry, settings.FERRY_SPEED_KMH, speed)
    km = links["length_m"].to_numpy(dtype=float) / 1000.0
    return km / speed * 60.0 + np.where(ferry, settings.FERRY_WAIT_MIN, 0.0)


@dataclass
class Routes:
    """The nearest service of every network node, by travel time.

    Attributes
    ----------
    minutes : numpy.ndarray
        Travel time from each node to its nearest service (inf if none can be reached),
        including the straight leg from the network to the service.
    km : numpy.ndarray
        Length of that route (network km plus the straight leg to the service).
    service : numpy.ndarray
        Row position (in the services given) of that service; -1 if none.

    """

    minutes: np.ndarray
    km: np.ndarray
    service: np.ndarray


class RoadNetwork:
    """The road and car-ferry network as a weighted undirected graph.

    Build it with :meth:`from_geodataframe`; query it with :meth:`nearest` or
    :meth:`from_point`.

    Parameters
    ----------
    nodes : numpy.ndarray
        Node coordinates, shape ``(n, 2)``, EPSG:25833 metres.
    edges : pandas.DataFrame
        ``u``, ``v`` (node positions), ``minutes``, ``km``, one row per node pair (the
        fastest link where several join the same two nodes).

    """

    def __init__(self, nodes: np.ndarray, edges: pd.DataFrame) -> None:
        self.nodes = np.asarray(nodes, dtype=float)
        n = len(self.nodes)
        u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
        self.minutes = csr_matrix((edges["minutes"].to_numpy(dtype=float), (u, v)), shape=(n, n))
        self.km = csr_matrix((edges["km"].to_numpy(dtype=float), (u, v)), shape=(n, n))
        self.n_components, self.component = connected_components(self.minutes, directed=False)
        self.tree = cKDTree(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    @classmethod
    def from_geodataframe(cls, links: gpd.GeoDataFrame, include_ferries: bool = True,
                          land: gpd.GeoSeries | None = None) -> RoadNetwork:
        """Build the graph from N1000 links (see :func:`tilbudskart.datasources.read_road_network`).

        Gaps the generalisation leaves are repaired, and nothing else is added: link ends of
        different parts closer than :data:`~tilbudskart.settings.NETWORK_GAP_M` are joined;
        a car-ferry quay no road reaches is joined to the nearest road within
        :data:`~tilbudskart.settings.NETWORK_LAND_GAP_M`; with ``land``, a part cut off
        from the main network is joined by its shortest connector over land. Connectors
        are driven at :data:`~tilbudskart.settings.ACCESS_SPEED_KMH`.

        Parameters
        ----------
        links : geopandas.GeoDataFrame
            LineStrings with ``typeVeg``, ``vegkategori``, ``motorvegtype``; any CRS with
            metres or degrees (reprojected to EPSG:25833).
        include_ferries : bool
            Use car ferries (passenger ferries are never used: this is travel by car).
        land : geopandas.GeoSeries, optional
            Land polygons (e.g. the kommune polygons). With them, a part of the network cut
            off from the main part by a short gap over land is joined to it (see
            :data:`~tilbudskart.settings.NETWORK_LAND_GAP_M`); islands are not.

        Returns
        -------
        RoadNetwork

        Raises
        ------
        ValueError
            If ``links`` has no CRS, lacks a column, or holds no usable LineString.

        """
        if links.crs is None:
            raise ValueError("road links have no CRS; set it (N1000 is EPSG:4326)")
        missing = {"typeVeg", "vegkategori", "motorvegtype"} - set(links.columns)
        if missing:
            raise ValueError(f"road links lack column(s) {sorted(missing)}")
        kinds = ["enkelBilveg", "bilferje"] if include_ferries else ["enkelBilveg"]
        links = links[links["typeVeg"].isin(kinds)]
        links = links[links.geom_type == "LineString"].to_crs(settings.CRS_METRIC)
        if links.empty:
            raise ValueError("road links: no LineString roads to build a network from")
        geometry = links.geometry.to_numpy()
        ends = np.vstack([shapely.get_coordinates(shapely.get_point(geometry, 0)),
                          shapely.get_coordinates(shapely.get_point(geometry, -1))])
        # End points that meet to 1 m are one node.
        nodes, position = np.unique(np.round(ends), axis=0, return_inverse=True)
        position = position.ravel()
        n_links = len(links)
        table = pd.DataFrame({
            "u": position[:n_links], "v": position[n_links:],
            "length_m": shapely.length(geometry),
            "typeVeg": links["typeVeg"].to_numpy(),
            "vegkategori": links["vegkategori"].to_numpy(),
            "motorvegtype": links["motorvegtype"].to_numpy(),
        })
        table["minutes"] = link_minutes(table)
        table["km"] = table["length_m"] / 1000.0
        table = table[table["u"] != table["v"]]  # loops never shorten a route
        # One edge per unordered node pair, the fastest of parallel links.
        a, b = table[["u", "v"]].min(axis=1), table[["u", "v"]].max(axis=1)
        table = (table.assign(u=a, v=b).sort_values("minutes", kind="stable")
                 .drop_duplicates(["u", "v"]))
        edges = pd.concat([table[["u", "v", "minutes", "km"]], _gap_connectors(nodes, table)],
                          ignore_index=True)
        edges = pd.concat([edges, _quay_connectors(nodes, table, edges)], ignore_index=True)
        if land is not None:
            if land.crs is None:
                raise ValueError("land polygons have no CRS")
            edges = pd.concat([edges, _land_connectors(nodes, edges,
                                                       land.to_crs(settings.CRS_METRIC))],
                              ignore_index=True)
        return cls(nodes, edges)

    def snap(self, x: Iterable[float], y: Iterable[float]) -> tuple[np.ndarray, np.ndarray]:
        """Return the nearest node of each point and the straight distance to it (km).

        Parameters
        ----------
        x, y : array-like of float
            EPSG:25833 metres.

        Returns
        -------
        node : numpy.ndarray of int
        km : numpy.ndarray of float

        """
        points = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
        metres, node = self.tree.query(points)
        return np.asarray(node, dtype=np.int64), np.asarray(metres, dtype=float) / 1000.0

    def nearest(self, x: Iterable[float], y: Iterable[float]) -> Routes:
        """Return, for every node, the nearest of the given points by travel time.

        One Dijkstra search from a virtual node joined to every point's nearest node by
        the point's straight access leg.

        Parameters
        ----------
        x, y : array-like of float
            Service locations, EPSG:25833 metres.

        Returns
        -------
        Routes
            Per node of the network.

        """
        n = len(self)
        node, leg_km = self.snap(x, y)
        usable = leg_km <= settings.MAX_SNAP_KM
        if not usable.any():
            empty = np.full(n, np.inf)
            return Routes(empty, empty.copy(), np.full(n, -1, dtype=np.int64))
        # Several services can share a node: keep the one with the shortest leg.
        order = np.lexsort((leg_km, node))
        order = order[usable[order]]
        first = order[np.unique(node[order], return_index=True)[1]]
        source = n  # the virtual node
        leg_min = _leg_minutes(leg_km[first])
        graph = _with_virtual_node(self.minutes, node[first], leg_min)
        minutes, predecessors = dijkstra(graph, directed=False, indices=source,
                                         return_predecessors=True)
        minutes, predecessors = minutes[:n], predecessors[:n]
        km, service = _along_tree(predecessors, minutes, self.km, source,
                                  dict(zip(node[first].tolist(), first.tolist(), strict=True)),
                                  leg_km)
        return Routes(minutes, km, service)

    def from_point(self, x: float, y: float) -> tuple[np.ndarray, float]:
        """Return travel times (minutes) from one point to every node.

        Parameters
        ----------
        x, y : float
            EPSG:25833 metres.

        Returns
        -------
        minutes : numpy.ndarray
            Per node, including the straight leg from the point to the network; inf where
            unreachable or the point is farther than ``MAX_SNAP_KM`` from any road.
        leg_km : float
            The straight leg.

        """
        node, leg_km = self.snap([x], [y])
        if leg_km[0] > settings.MAX_SNAP_KM:
            return np.full(len(self), np.inf), float(leg_km[0])
        minutes = dijkstra(self.minutes, directed=False, indices=int(node[0]))
        return minutes + _leg_minutes(leg_km[0]), float(leg_km[0])


def national_network() -> RoadNetwork:
    """Return the N1000 road and car-ferry network, gaps over land repaired.

    Returns
    -------
    RoadNetwork
        Built from :func:`tilbudskart.datasources.read_road_network`, with the 2024 kommune
        polygons as land.

    """
    return RoadNetwork.from_geodataframe(datasources.read_road_network(),
                                         land=datasources.kommune_polygons_metric())


def _components(n: int, edges: pd.DataFrame) -> np.ndarray:
    """Return the connected-component label of each of ``n`` nodes joined by ``edges``."""
    graph = csr_matrix((np.ones(len(edges)), (edges["u"], edges["v"])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _leg_minutes(km: np.ndarray | float) -> np.ndarray:
    """Return the minutes of straight legs (to, from or between networks) at access speed."""
    return np.asarray(km, dtype=float) / settings.ACCESS_SPEED_KMH * 60.0


def _gap_connectors(nodes: np.ndarray, edges: pd.DataFrame) -> pd.DataFrame:
    """Return straight connectors between link ends of different network parts.

    Only pairs closer than :data:`~tilbudskart.settings.NETWORK_GAP_M` and in different
    connected components are joined (at access speed), so real junctions are untouched.
    """
    n = len(nodes)
    component = _components(n, edges)
    pairs = cKDTree(nodes).query_pairs(settings.NETWORK_GAP_M, output_type="ndarray")
    return _connector(pairs[component[pairs[:, 0]] != component[pairs[:, 1]]], nodes)


def _connector(pairs: np.ndarray, nodes: np.ndarray) -> pd.DataFrame:
    km = np.linalg.norm(nodes[pairs[:, 0]] - nodes[pairs[:, 1]], axis=1) / 1000.0
    return pd.DataFrame({"u": pairs.min(axis=1), "v": pairs.max(axis=1),
                         "minutes": _leg_minutes(km), "km": km})


def _quay_connectors(nodes: np.ndarray, links: pd.DataFrame,
                     edges: pd.DataFrame) -> pd.DataFrame:
    """Join car-ferry quays that no road reaches to the nearest road of another part.

    A car ferry lands on a road; in N1000 some quays lack the last metres (the Utsira ferry
    ends 800 m from Haugesund's streets). Quays within
    :data:`~tilbudskart.settings.NETWORK_LAND_GAP_M` of a road are joined to it.
    """
    n = len(nodes)
    component = _components(n, edges)
    ferry = links["typeVeg"] == "bilferje"
    on_road = np.zeros(n, dtype=bool)
    on_road[links.loc[~ferry, ["u", "v"]].to_numpy().ravel()] = True
    quays = np.setdiff1d(links.loc[ferry, ["u", "v"]].to_numpy().ravel(),
                         np.flatnonzero(on_road))
    roads = np.flatnonzero(on_road)
    if len(quays) == 0 or len(roads) == 0:
        return _connector(np.zeros((0, 2), dtype=np.int64), nodes)
    tree = cKDTree(nodes[roads])
    pairs = []
    for quay in quays:
        for index in tree.query_ball_point(nodes[quay], settings.NETWORK_LAND_GAP_M,
                                           return_sorted=True):
            road = roads[index]
            if component[road] != component[quay]:
                pairs.append((quay, road))
                break
    return _connector(np.array(pairs, dtype=np.int64).reshape(-1, 2), nodes)


def _land_connectors(nodes: np.ndarray, edges: pd.DataFrame,
                     land: gpd.GeoSeries) -> pd.DataFrame:
    """Join each part cut off from the main network by its shortest connector over land.

    Every node outside the main part is tried with its nearest main node; per part, the
    shortest connector that is short enough and runs over land wins.
    """
    n = len(nodes)
    component = _components(n, edges)
    main = int(np.bincount(component).argmax())
    main_nodes = np.flatnonzero(component == main)
    outside = np.flatnonzero(component != main)
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
    return _connector(best[["u", "v"]].to_numpy(dtype=np.int64), nodes)


def _with_virtual_node(graph: csr_matrix, nodes: np.ndarray, weights: np.ndarray) -> csr_matrix:
    n = graph.shape[0]
    coo = graph.tocoo()
    # csgraph treats explicit zeros as missing edges: keep a zero leg just above zero.
    weights = np.maximum(weights, 1e-9)
    rows = np.concatenate([coo.row, np.full(len(nodes), n)])
    cols = np.concatenate([coo.col, nodes])
    data = np.concatenate([coo.data, weights])
    return csr_matrix((data, (rows, cols)), shape=(n + 1, n + 1))


def _along_tree(predecessors: np.ndarray, minutes: np.ndarray, km_graph: csr_matrix,
                source: int, service_at: dict[int, int],
                leg_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walk the shortest-path tree outwards: route km and the service reached, per node."""
    n = len(minutes)
    km = np.full(n, np.inf)
    service = np.full(n, -1, dtype=np.int64)
    reached = np.flatnonzero(np.isfinite(minutes))
    parent = predecessors[reached]
    # Length of each tree edge (parent → node), looked up once, vectorised.
    from_root = parent == source
    edge_km = np.zeros(len(reached))
    inner = ~from_root
    if inner.any():
        a, b = np.minimum(parent[inner], reached[inner]), np.maximum(parent[inner],
                                                                      reached[inner])
        edge_km[inner] = np.asarray(km_graph[a, b]).ravel()
    edge = dict(zip(reached.tolist(), edge_km.tolist(), strict=True))
    # Parents are settled before their children: go in order of travel time.
    for node in reached[np.argsort(minutes[reached], kind="stable")].tolist():
        up = int(predecessors[node])
        if up == source:
            service[node] = service_at[node]
            km[node] = leg_km[service[node]]
        else:
            service[node] = service[up]
            km[node] = km[up] + edge[node]
    return km, service


def to_metric(lat: Iterable[float], lon: Iterable[float]) -> tuple[np.ndarray, np.ndarray]:
    """Return EPSG:25833 ``x, y`` of WGS 84 points."""
    x, y = _TO_METRIC.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x), np.asarray(y)


def travel_from(routes: Routes, network: RoadNetwork, x: Iterable[float],
                y: Iterable[float]) -> pd.DataFrame:
    """Return travel time and route length from points to their nearest service.

    Parameters
    ----------
    routes : Routes
        From :meth:`RoadNetwork.nearest`.
    network : RoadNetwork
        The network ``routes`` was computed on.
    x, y : array-like of float
        Origins, EPSG:25833 metres.

    Returns
    -------
    pandas.DataFrame
        ``minutes``, ``km`` (NaN where not routed) and ``service`` (-1 where none), and
        ``leg_km`` (straight leg from the origin to the network), one row per origin.

    """
    node, leg_km = network.snap(x, y)
    near = leg_km <= settings.MAX_SNAP_KM
    minutes = routes.minutes[node] + _leg_minutes(leg_km)
    km = routes.km[node] + leg_km
    ok = near & np.isfinite(minutes)
    return pd.DataFrame({
        "minutes": np.where(ok, minutes, np.nan),
        "km": np.where(ok, km, np.nan),
        "service": np.where(ok, routes.service[node], -1),
        "leg_km": leg_km,
    })


def minutes_to(network: RoadNetwork, lat: float, lon: float,
               services: pd.DataFrame) -> np.ndarray:
    """Return travel time (minutes) by road and car ferry from one point to each service.

    Parameters
    ----------
    network : RoadNetwork
        The road and car-ferry graph.
    lat, lon : float
        The searched point (WGS 84).
    services : pandas.DataFrame
        Rows with ``lat``/``lon``.

    Returns
    -------
    numpy.ndarray
        One figure per row, NaN where there is no route (or the row has no point).

    """
    x, y = to_metric([lat], [lon])
    sx, sy = to_metric(services["lat"], services["lon"])
    located = np.isfinite(sx) & np.isfinite(sy)
    result = np.full(len(services), np.nan)
    if located.any():
        # The graph is undirected: one search from the point serves every service.
        result[located] = minutes_matrix(network, sx[located], sy[located], x, y,
                                         dtype=np.float64)[:, 0]
    return result


def minutes_matrix(network: RoadNetwork, from_x: Iterable[float], from_y: Iterable[float],
                   to_x: Iterable[float], to_y: Iterable[float],
                   dtype: type[np.floating] = np.float32) -> np.ndarray:
    """Return travel times (minutes) between two sets of points by road and car ferry.

    One Dijkstra run per destination (all in one :func:`scipy.sparse.csgraph.dijkstra`
    call), straight legs at both ends.

    Parameters
    ----------
    network : RoadNetwork
        The road and car-ferry graph.
    from_x, from_y : array-like of float
        Origins, EPSG:25833 metres.
    to_x, to_y : array-like of float
        Destinations, EPSG:25833 metres.
    dtype : numpy floating type
        float32 (default) halves the memory of a large demand × candidate matrix.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_from, n_to)``; NaN where there is no route or a point is farther than
        ``MAX_SNAP_KM`` from any road.

    """
    to_node, to_leg = network.snap(to_x, to_y)
    from_node, from_leg = network.snap(from_x, from_y)
    from_node_minutes = dijkstra(network.minutes, directed=False, indices=to_node)
    result = (from_node_minutes[:, from_node].T.astype(dtype)
              + _leg_minutes(from_leg).astype(dtype)[:, None]
              + _leg_minutes(to_leg).astype(dtype)[None, :])
    result[~np.isfinite(result)] = np.nan
    result[from_leg > settings.MAX_SNAP_KM, :] = np.nan
    result[:, to_leg > settings.MAX_SNAP_KM] = np.nan
    return result


def travel_table(network: RoadNetwork, services: pd.DataFrame, kommuner: pd.DataFrame,
                 grid: pd.DataFrame) -> pd.DataFrame:
    """Build the per-kommune travel table: time by road and car ferry to the nearest help.

    Parameters
    ----------
    network : RoadNetwork
        The road and car-ferry graph.
    services : pandas.DataFrame
        Geocoded services (``status``, ``kind``, ``organisation``, ``name``, ``lat``,
        ``lon``); unresolved rows are ignored.
    kommuner : pandas.DataFrame
        The access table (``kommunenummer``, ``admin_lat``, ``admin_lon``,
        ``folkemengde``).
    grid : pandas.DataFrame
        Population grid cells (``x``, ``y`` in EPSG:25833, ``befolkning``,
        ``kommunenummer``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`tilbudskart.settings.TRAVEL_COLUMNS`, one row per kommune, sorted by
        ``kommunenummer``. ``drive_min``/``road_km`` are from the administrative centre;
        ``population_*`` use the grid cells, scaled to the 2024 population.
        ``population_not_routed`` counts residents whose cell has no route to any group.

    """
    located = services[services["status"] == "geocoded"].dropna(subset=["lat", "lon"])
    groups = located[located["kind"] == "self_help"].reset_index(drop=True)
    institutions = located[located["kind"] == "institution"].reset_index(drop=True)
    table = kommuner[["kommunenummer", "folkemengde"]].reset_index(drop=True)
    cx, cy = to_metric(kommuner["admin_lat"], kommuner["admin_lon"])

    def routes_to(chosen: pd.DataFrame) -> Routes:
        return network.nearest(*to_metric(chosen["lat"], chosen["lon"]))

    overall = routes_to(groups)
    from_centre = travel_from(overall, network, cx, cy)
    table["drive_min"] = from_centre["minutes"].to_numpy()
    table["road_km"] = from_centre["km"].to_numpy()
    names = groups["name"].to_numpy()
    table["nearest_group_by_road"] = [names[i] if i >= 0 else ""
                                      for i in from_centre["service"]]
    for organisation in settings.SELF_HELP_ORGANISATIONS:
        own = groups[groups["organisation"] == organisation]
        table[f"drive_min_{organisation}"] = travel_from(
            routes_to(own), network, cx, cy)["minutes"].to_numpy()
    table["drive_min_institution"] = travel_from(
        routes_to(institutions), network, cx, cy)["minutes"].to_numpy()

    cells = travel_from(overall, network, grid["x"], grid["y"]).assign(
        kommunenummer=grid["kommunenummer"].to_numpy(),
        befolkning=grid["befolkning"].to_numpy(dtype=float))
    routed = cells["minutes"].notna()
    people = cells["befolkning"]
    per = pd.DataFrame({
        "kommunenummer": cells["kommunenummer"],
        "people": people,
        "weighted": (cells["minutes"].fillna(0.0) * people).where(routed, 0.0),
        "routed_people": people.where(routed, 0.0),
        **{f"beyond_{m}": people.where(routed & (cells["minutes"] > m), 0.0)
           for m in settings.BEYOND_MINUTES},
    }).groupby("kommunenummer").sum()
    table = table.merge(per, left_on="kommunenummer", right_index=True, how="left")
    with np.errstate(invalid="ignore", divide="ignore"):
        weighted = table["weighted"] / table["routed_people"]
        scale = table["folkemengde"] / table["people"]
    # Without inhabited routed cells, fall back to the centre's time.
    table["population_weighted_drive_min"] = weighted.where(table["routed_people"] > 0,
                                                            table["drive_min"])
    for minutes in settings.BEYOND_MINUTES:
        fallback = (table["drive_min"] > minutes).astype(float) * table["folkemengde"]
        beyond = (table[f"beyond_{minutes}"] * scale).where(table["people"] > 0, fallback)
        table[f"population_beyond_{minutes}min"] = beyond.fillna(0).round().astype("int64")
    not_routed = ((table["people"] - table["routed_people"]) * scale).where(
        table["people"] > 0, table["drive_min"].isna() * table["folkemengde"])
    table["population_not_routed"] = not_routed.fillna(0).round().astype("int64")
    return table[list(settings.TRAVEL_COLUMNS)].sort_values("kommunenummer", ignore_index=True)
