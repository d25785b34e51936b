"""The road graph: nodes and edges, where points join it, and one search to the nearest service."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from tilbudskart import settings
from tilbudskart.network.build import (
    _FERRY,
    _NO_PATH,
    _ROAD,
    _TO_METRIC,
    Speeds,
    _gap_connectors,
    _keys,
    _land_connectors,
    _leg_minutes,
    _nearest_within,
    _one_per_pair,
    _road_labels,
    _split_roads,
    link_minutes,
    speeds,
)


@dataclass
class Snap:
    """Where points join the network: a point on a road link, and the way to its two ends.

    Attributes
    ----------
    link : numpy.ndarray of int
        Row of :attr:`RoadNetwork.links`; -1 where the point is farther than
        :data:`~tilbudskart.settings.MAX_SNAP_KM` from any road.
    u, v : numpy.ndarray of int
        The link's start and end node (0 where ``link`` is -1).
    along : numpy.ndarray of float
        Position on the link as a share of its length (0 at ``u``, 1 at ``v``).
    to_u_min, to_v_min, to_u_km, to_v_km : numpy.ndarray of float
        Minutes and km along the link from the snapped point to ``u`` and to ``v``.
    leg_km, leg_min : numpy.ndarray of float
        The straight leg from the point to the link.
    at_sea : numpy.ndarray of bool
        The straight leg leaves the land (the network was built with ``land``).

    """

    link: np.ndarray
    u: np.ndarray
    v: np.ndarray
    along: np.ndarray
    to_u_min: np.ndarray
    to_v_min: np.ndarray
    to_u_km: np.ndarray
    to_v_km: np.ndarray
    leg_km: np.ndarray
    leg_min: np.ndarray
    #: Points whose straight leg to the road runs over the sea for more than
    #: :data:`~tilbudskart.settings.SEA_LEG_TOLERANCE_M` (an island with no road): not a
    #: car trip, so ``link`` is -1 there.
    at_sea: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        """Mask of the points that join a road."""
        return self.link >= 0

    def take(self, index: np.ndarray) -> Snap:
        """Return the snaps of the points at ``index``."""
        return Snap(*(getattr(self, f)[index] for f in self.__dataclass_fields__))


@dataclass
class Routes:
    """The nearest service of every network node, by travel time.

    Attributes
    ----------
    minutes : numpy.ndarray
        Travel time from each node to its nearest service (inf if none can be reached),
        including the way from the network to the service.
    km : numpy.ndarray
        Length of that route (network km plus the way to the service).
    service : numpy.ndarray
        Row position (in the services given) of that service; -1 if none.
    predecessor : numpy.ndarray, optional
        The next node towards the service (the shortest-path tree); ``len(minutes)`` where
        the next stop is the service itself, -9999 where none.
    targets : Snap, optional
        Where each service joins the network.

    """

    minutes: np.ndarray
    km: np.ndarray
    service: np.ndarray
    predecessor: np.ndarray | None = None
    targets: Snap | None = None


class RoadNetwork:
    """The road and car-ferry network as a weighted undirected graph.

    Build it with :meth:`from_geodataframe`; query it with :meth:`nearest`,
    :meth:`from_point` or the module's functions.

    Parameters
    ----------
    nodes : numpy.ndarray
        Node coordinates, shape ``(n, 2)``, EPSG:25833 metres.
    edges : pandas.DataFrame
        ``u``, ``v`` (node positions), ``minutes``, ``km``, ``kind`` (one of
        :data:`EDGE_KINDS`), ``road`` (a label such as ``"Fv61"``) and ``geometry``
        (shapely LineStrings, EPSG:25833), one row per node pair (the fastest link where
        several join the same two nodes).
    links : pandas.DataFrame
        The road pieces points may join: ``u`` (start node), ``v`` (end node),
        ``minutes``, ``km``, ``public`` (bool) and ``geometry``.
    access_speed : float, optional
        km/h of the straight legs from points to the network (default
        :data:`~tilbudskart.settings.ACCESS_SPEED_KMH`).
    land : numpy.ndarray of shapely Polygons, optional
        Land (EPSG:25833): a point whose straight leg to the road leaves it is not routed.

    Attributes
    ----------
    season : str
        ``"winter"`` or ``"summer"`` (see :func:`tilbudskart.seasons.for_season`), ``""``
        if not set.
    summer : RoadNetwork or None
        For a winter network, the summer one it was derived from.

    """

    def __init__(self, nodes: np.ndarray, edges: pd.DataFrame, links: pd.DataFrame,
                 access_speed: float | None = None, land: np.ndarray | None = None) -> None:
        self.nodes = np.asarray(nodes, dtype=float)
        self.edges = edges.reset_index(drop=True)
        self.links = links.reset_index(drop=True)
        self.access_speed = settings.ACCESS_SPEED_KMH if access_speed is None else access_speed
        n = len(self.nodes)
        u, v = self.edges["u"].to_numpy(), self.edges["v"].to_numpy()
        minutes = np.maximum(self.edges["minutes"].to_numpy(dtype=float), 1e-9)
        self.minutes = csr_matrix((minutes, (u, v)), shape=(n, n))
        self.km = csr_matrix((self.edges["km"].to_numpy(dtype=float), (u, v)), shape=(n, n))
        self.edge_id = csr_matrix((np.arange(1, len(u) + 1, dtype=float), (u, v)), shape=(n, n))
        self.n_components, self.component = connected_components(self.minutes, directed=False)
        geometry = self.links["geometry"].to_numpy()
        self._link_arrays = (
            geometry, self.links["minutes"].to_numpy(dtype=float),
            self.links["km"].to_numpy(dtype=float), self.links["u"].to_numpy(),
            self.links["v"].to_numpy(), self.links["public"].to_numpy(dtype=bool),
            np.maximum(shapely.length(geometry), 1e-9))
        self._tree_all = shapely.STRtree(geometry)
        self.land = land
        self._land_tree = None if land is None else shapely.STRtree(land)
        self.season = ""
        self.summer: RoadNetwork | None = None
        self.closed_edges: pd.DataFrame | None = None
        #: The car-ferry links: ``ferry_id`` of :mod:`tilbudskart.ferries` (``""``: the
        #: fallback speed), ``km``, ``minutes`` (crossing, without the wait), ``geometry``.
        self.ferry_links: pd.DataFrame | None = None

    def __len__(self) -> int:
        return len(self.nodes)

    @classmethod
    def from_geodataframe(cls, links: gpd.GeoDataFrame, include_ferries: bool = True,
                          land: gpd.GeoSeries | None = None, *,
                          road_speeds: Mapping[str, float] | None = None,
                          motorway_speed: float | None = None,
                          ferry_speed: float | None = None,
                          ferry_wait: float | None = None,
                          access_speed: float | None = None,
                          ferry_times: pd.DataFrame | None = None,
                          length_factor: Mapping[str, float] | None = None) -> RoadNetwork:
        """Build the graph from N1000 links (see :func:`tilbudskart.datasources.read_road_network`).

        The generalisation's faults are repaired, and nothing else is added:

        - every car-ferry end (quay) joins the nearest point of the nearest road within
          :data:`~tilbudskart.settings.FERRY_QUAY_M` (or
          :data:`~tilbudskart.settings.FERRY_JUNCTION_QUAY_M` for an end shared by several
          ferry links), the road split there, whether or not its part is otherwise
          connected; the way onto the quay carries half the ferry wait;
        - a road link end within :data:`~tilbudskart.settings.T_JUNCTION_M` of another
          road link's side (not a tunnel or bridge) joins it there (a T-junction);
        - link ends of different parts closer than
          :data:`~tilbudskart.settings.NETWORK_GAP_M` are joined; with ``land``, a part
          cut off from the main network is joined by its shortest connector over land.

        Connectors are driven at the access speed.

        Parameters
        ----------
        links : geopandas.GeoDataFrame
            LineStrings with ``typeVeg``, ``vegkategori``, ``motorvegtype`` (optional:
            ``vegnummer``, ``medium``); any CRS with metres or degrees (reprojected to
            EPSG:25833).
        include_ferries : bool
            Use car ferries (passenger ferries are never used: this is travel by car).
        land : geopandas.GeoSeries, optional
            Land polygons (e.g. the kommune polygons). With them, a part of the network cut
            off from the main part by a short gap over land is joined to it (see
            :data:`~tilbudskart.settings.NETWORK_LAND_GAP_M`); islands are not.
        road_speeds, motorway_speed, ferry_speed, ferry_wait, access_speed : optional
            Keyword-only assumed speeds (see :func:`speeds`), each defaulting to
            :mod:`tilbudskart.settings`.
        ferry_times : pandas.DataFrame, optional
            Published crossing times (:func:`tilbudskart.ferries.read_ferries`): a ferry
            link between two listed quays takes its row's minutes instead of
            ``ferry_speed`` (see :attr:`RoadNetwork.ferry_links`).
        length_factor : Mapping of str to float, optional
            Per ``vegkategori``, a factor on each road link's length (km and minutes):
            N1000's generalised lines are shorter than the roads (see
            :data:`~tilbudskart.settings.ROAD_LENGTH_FACTOR`). Default: none (1).

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
        chosen = speeds(road_speeds=road_speeds, motorway_speed=motorway_speed,
                        ferry_speed=ferry_speed, ferry_wait=ferry_wait,
                        access_speed=access_speed)
        kinds = [_ROAD, _FERRY] if include_ferries else [_ROAD]
        links = links[links["typeVeg"].isin(kinds)]
        links = links[links.geom_type == "LineString"].to_crs(settings.CRS_METRIC)
        if not (links["typeVeg"] == _ROAD).any():
            raise ValueError("road links: no LineString roads to build a network from")
        links = pd.DataFrame(links).reset_index(drop=True)
        for column in ("vegnummer", "medium"):
            if column not in links:
                links[column] = np.nan
        links["road"] = _road_labels(links)
        roads = links[links["typeVeg"] == _ROAD].reset_index(drop=True)
        ferries = links[links["typeVeg"] == _FERRY].reset_index(drop=True)
        pieces, joins = _split_roads(roads, ferries)
        return cls._assemble(pieces, ferries, joins, chosen, land, ferry_times, length_factor)

    @classmethod
    def _assemble(cls, pieces: pd.DataFrame, ferries: pd.DataFrame, joins: pd.DataFrame,
                  chosen: Speeds, land: gpd.GeoSeries | None,
                  ferry_times: pd.DataFrame | None = None,
                  length_factor: Mapping[str, float] | None = None) -> RoadNetwork:
        """Return the network: nodes numbered, edges made (roads, ferries, quays, connectors)."""
        piece_geometry = pieces["geometry"].to_numpy()
        ferry_geometry = ferries["geometry"].to_numpy()
        # Road ends are layer 0, ferry ends layer 1: a quay is its own node, joined to the
        # road by an edge that carries the boarding wait.
        keyed = np.vstack([
            _keys(shapely.get_point(piece_geometry, 0), 0),
            _keys(shapely.get_point(piece_geometry, -1), 0),
            _keys(shapely.get_point(ferry_geometry, 0), 1),
            _keys(shapely.get_point(ferry_geometry, -1), 1),
            _keys(shapely.points(joins[["ax", "ay"]].to_numpy()), joins["a_layer"]),
            _keys(shapely.points(joins[["bx", "by"]].to_numpy()), 0),
        ])
        unique, position = np.unique(keyed, axis=0, return_inverse=True)
        position = position.ravel()
        nodes = unique[:, :2].astype(float)
        is_road_node = unique[:, 2] == 0
        n_p, n_f, n_j = len(pieces), len(ferries), len(joins)
        cut = np.cumsum([0, n_p, n_p, n_f, n_f, n_j, n_j])
        table = pieces[["vegkategori", "motorvegtype", "road", "geometry"]].assign(
            typeVeg=_ROAD, u=position[cut[0]:cut[1]], v=position[cut[1]:cut[2]],
            length_m=shapely.length(piece_geometry) * (1.0 if length_factor is None else (
                pieces["vegkategori"].map(length_factor).fillna(1.0).to_numpy(dtype=float))),
            kind="road",
            public=(pieces["vegkategori"] != "P").to_numpy())
        table["minutes"] = link_minutes(table, road_speeds=chosen.road,
                                        motorway_speed=chosen.motorway)
        road_links = table.assign(km=table["length_m"] / 1000.0)
        ferry_table = ferries[["vegkategori", "motorvegtype", "road", "geometry"]].assign(
            typeVeg=_FERRY, u=position[cut[2]:cut[3]], v=position[cut[3]:cut[4]],
            length_m=shapely.length(ferry_geometry), kind="ferry")
        ferry_table["minutes"] = link_minutes(ferry_table, ferry_speed=chosen.ferry,
                                              ferry_wait=0.0)
        from tilbudskart import ferries as ferry_data

        published = ferry_data.match_ferries(ferry_geometry, pd.DataFrame(
            columns=list(ferry_data.COLUMNS)) if ferry_times is None else ferry_times)
        ferry_table["ferry_id"] = published["ferry_id"].to_numpy()
        ferry_table["minutes"] = np.where(published["crossing_min"].notna(),
                                          published["crossing_min"], ferry_table["minutes"])
        a, b = position[cut[4]:cut[5]], position[cut[5]:cut[6]]
        join_km = np.hypot(*(nodes[a] - nodes[b]).T) / 1000.0
        quay = joins["a_layer"].to_numpy() == 1
        join_table = pd.DataFrame({
            "u": a, "v": b, "km": join_km, "kind": np.where(quay, "quay", "connector"),
            "road": "", "geometry": shapely.linestrings(np.stack([nodes[a], nodes[b]], axis=1)),
            "minutes": _leg_minutes(join_km, chosen.access) + np.where(
                quay, chosen.ferry_wait / 2.0, 0.0)})
        columns = ["u", "v", "minutes", "km", "kind", "road", "geometry"]
        edges = pd.concat([road_links[columns],
                           ferry_table.assign(km=ferry_table["length_m"] / 1000.0)[columns],
                           join_table[columns]], ignore_index=True)
        edges = _one_per_pair(edges)
        road_nodes = np.flatnonzero(is_road_node)
        gaps = _gap_connectors(nodes, edges, road_nodes, chosen.access)
        edges = pd.concat([edges, gaps], ignore_index=True)
        if land is not None:
            if land.crs is None:
                raise ValueError("land polygons have no CRS")
            edges = pd.concat([edges, _land_connectors(
                nodes, edges, road_nodes, land.to_crs(settings.CRS_METRIC), chosen.access)],
                ignore_index=True)
        edges = _one_per_pair(edges)
        snappable = road_links[["u", "v", "minutes", "km", "public", "road", "geometry"]]
        polygons = None if land is None else land.to_crs(settings.CRS_METRIC).to_numpy()
        built = cls(nodes, edges, snappable, access_speed=chosen.access, land=polygons)
        built.ferry_links = ferry_table.assign(km=ferry_table["length_m"] / 1000.0)[
            ["u", "v", "ferry_id", "km", "minutes", "geometry"]].reset_index(drop=True)
        return built

    def snap(self, x: Iterable[float], y: Iterable[float]) -> Snap:
        """Return where each point joins the network: the nearest point of the nearest road.

        A public road within :data:`~tilbudskart.settings.PUBLIC_SNAP_M` is taken first;
        otherwise the nearest road of any kind within
        :data:`~tilbudskart.settings.MAX_SNAP_KM`. Vectorised (one STRtree query). With
        land, a point whose straight leg runs more than
        :data:`~tilbudskart.settings.SEA_LEG_TOLERANCE_M` outside it does not join (an
        island without a road connection: no car trip).

        Parameters
        ----------
        x, y : array-like of float
            EPSG:25833 metres.

        Returns
        -------
        Snap

        """
        px, py = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
        points = shapely.points(px, py)
        n = len(px)
        link = np.full(n, -1, dtype=np.int64)
        finite = np.flatnonzero(np.isfinite(px) & np.isfinite(py))
        lines, minutes, km, u, v, public, length = self._link_arrays
        radii = (settings.PUBLIC_SNAP_M, 2_000.0, 8_000.0, settings.MAX_SNAP_KM * 1000)
        metres = np.full(n, np.inf)
        link[finite], metres[finite] = _nearest_within(self._tree_all, lines, points[finite],
                                                       radii, prefer=public)
        at_sea = self._leaves_land(points, link, metres)
        link[at_sea] = -1
        metres[at_sea] = np.inf
        ok = link >= 0
        chosen = link[ok]
        along = np.zeros(n)
        along[ok] = shapely.line_locate_point(lines[chosen], points[ok]) / length[chosen]
        along = np.clip(np.nan_to_num(along), 0.0, 1.0)
        leg_km = metres / 1000.0
        chosen = np.where(ok, link, 0)
        minutes, km = minutes[chosen], km[chosen]
        return Snap(link=link, u=np.where(ok, u[chosen], 0), v=np.where(ok, v[chosen], 0),
                    along=along,
                    to_u_min=along * minutes, to_v_min=(1 - along) * minutes,
                    to_u_km=along * km, to_v_km=(1 - along) * km, leg_km=leg_km,
                    leg_min=_leg_minutes(leg_km, self.access_speed), at_sea=at_sea)

    def _leaves_land(self, points: np.ndarray, link: np.ndarray,
                     metres: np.ndarray) -> np.ndarray:
        """Return a mask of the points whose leg to ``link`` runs over the sea.

        The water counted is what the leg crosses after it first reaches land (an island
        point: the strait to the road; a grid cell centre just off its coast: nothing).
        Only legs longer than the tolerance can leave the land by more than it, so only
        those are measured (the others are most points).
        """
        at_sea = np.zeros(len(points), dtype=bool)
        if self._land_tree is None or self.land is None:
            return at_sea
        tolerance = settings.SEA_LEG_TOLERANCE_M
        long = np.flatnonzero((link >= 0) & (metres > tolerance))
        if len(long) == 0:
            return at_sea
        lines = self._link_arrays[0][link[long]]
        on_road = shapely.line_interpolate_point(
            lines, shapely.line_locate_point(lines, points[long]))
        legs = shapely.linestrings(np.stack([shapely.get_coordinates(points[long]),
                                             shapely.get_coordinates(on_road)], axis=1))
        # Most long legs run inland (a farm far from N1000's main roads): a leg within one
        # polygon is on land (a prepared predicate, quick); only the others are measured.
        inland = np.zeros(len(legs), dtype=bool)
        inland[self._land_tree.query(legs, predicate="within")[0]] = True
        check = np.flatnonzero(~inland)
        legs = legs[check]
        leg_idx, land_idx = self._land_tree.query(legs, predicate="intersects")
        pieces = shapely.intersection(legs[leg_idx], self.land[land_idx])
        on_land = np.zeros(len(legs))
        np.add.at(on_land, leg_idx, shapely.length(pieces))
        # Where the land starts along the leg: a grid cell's centre may lie off the coast
        # its people live on, so water before the first land does not count.
        length = shapely.length(legs)
        first_land = length.copy()
        coords, which = shapely.get_coordinates(pieces, return_index=True)
        if len(coords):
            owner = leg_idx[which]
            np.minimum.at(first_land, owner, shapely.line_locate_point(
                legs[owner], shapely.points(coords)))
        at_sea[long[check]] = length - first_land - on_land > tolerance
        return at_sea

    def nearest_node(self, x: Iterable[float], y: Iterable[float]) -> np.ndarray:
        """Return the network node nearest each point (by straight line).

        Parameters
        ----------
        x, y : array-like of float
            EPSG:25833 metres.

        Returns
        -------
        numpy.ndarray of int

        """
        points = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
        return np.asarray(cKDTree(self.nodes).query(points)[1], dtype=np.int64)

    def nearest(self, x: Iterable[float], y: Iterable[float]) -> Routes:
        """Return, for every node, the nearest of the given points by travel time.

        One Dijkstra search from a virtual node joined to both ends of each point's road
        link, by the point's straight leg plus the partial length of the link.

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
        targets = self.snap(x, y)
        usable = np.flatnonzero(targets.ok)
        if len(usable) == 0:
            empty = np.full(n, np.inf)
            return Routes(empty, empty.copy(), np.full(n, -1, dtype=np.int64),
                          np.full(n, _NO_PATH), targets)
        ends = np.concatenate([targets.u[usable], targets.v[usable]])
        weight = np.concatenate([targets.leg_min[usable] + targets.to_u_min[usable],
                                 targets.leg_min[usable] + targets.to_v_min[usable]])
        root_km = np.concatenate([targets.leg_km[usable] + targets.to_u_km[usable],
                                  targets.leg_km[usable] + targets.to_v_km[usable]])
        service = np.concatenate([usable, usable])
        # Several services can reach one node first: keep the quickest.
        order = np.lexsort((weight, ends))
        first = order[np.unique(ends[order], return_index=True)[1]]
        graph = _with_virtual_nodes(self.minutes, np.full(len(first), n), ends[first],
                                    weight[first])
        minutes, predecessors = dijkstra(graph, directed=False, indices=n,
                                         return_predecessors=True)
        minutes, predecessors = minutes[:n], predecessors[:n]
        km, nearest = _along_tree(predecessors, minutes, self.km, n,
                                  pd.Series(service[first], index=ends[first]),
                                  pd.Series(root_km[first], index=ends[first]))
        return Routes(minutes, km, nearest, predecessors, targets)

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
        start = self.snap([x], [y])
        n = len(self)
        if not start.ok[0]:
            return np.full(n, np.inf), float(start.leg_km[0])
        graph = _with_virtual_nodes(
            self.minutes, np.array([n, n]), np.array([start.u[0], start.v[0]]),
            np.array([start.leg_min[0] + start.to_u_min[0],
                      start.leg_min[0] + start.to_v_min[0]]))
        minutes = dijkstra(graph, directed=False, indices=n)[:n]
        return minutes, float(start.leg_km[0])

    def edge_between(self, a: int, b: int) -> int:
        """Return the row of :attr:`edges` joining nodes ``a`` and ``b`` (-1 if none)."""
        return int(self.edge_id[min(a, b), max(a, b)]) - 1


def _with_virtual_nodes(graph: csr_matrix, virtual: np.ndarray, nodes: np.ndarray,
                        weights: np.ndarray) -> csr_matrix:
    """Return ``graph`` with virtual nodes (numbered from ``n``) joined to network nodes."""
    n = graph.shape[0]
    size = n + (int(virtual.max()) - n + 1 if len(virtual) else 0)
    # csgraph treats explicit zeros as missing edges: keep a zero leg just above zero;
    # one entry per (virtual, node) pair, the lightest (csr would add duplicates up).
    weights = np.maximum(np.asarray(weights, dtype=float), 1e-9)
    order = np.lexsort((weights, nodes, virtual))
    pairs = np.column_stack([virtual[order], nodes[order]])
    first = order[np.unique(pairs, axis=0, return_index=True)[1]] if len(order) else order
    coo = graph.tocoo()
    rows = np.concatenate([coo.row, virtual[first]])
    cols = np.concatenate([coo.col, nodes[first]])
    data = np.concatenate([coo.data, weights[first]])
    return csr_matrix((data, (rows, cols)), shape=(size, size))


def _along_tree(predecessors: np.ndarray, minutes: np.ndarray, km_graph: csr_matrix,
                source: int, service_at: pd.Series,
                root_km: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return route km and the service reached, per node, from the shortest-path tree.

    Vectorised by pointer jumping: each node's pointer doubles towards its root (a node
    joined to the virtual source) while the km between add up, so the loop runs about
    log2 of the tree's depth times.
    """
    n = len(minutes)
    nodes = np.arange(n)
    reached = np.isfinite(minutes)
    root = reached & (predecessors == source)
    inner = reached & ~root
    pointer = np.where(inner, predecessors, nodes)
    km = np.zeros(n)
    if inner.any():
        a, b = pointer[inner], nodes[inner]
        km[inner] = np.asarray(km_graph[np.minimum(a, b), np.maximum(a, b)]).ravel()
    km[root] = root_km.reindex(nodes[root]).to_numpy()
    km[~reached] = np.inf
    while True:
        ahead = pointer[pointer]
        moving = ahead != pointer
        if not moving.any():
            break
        km = np.where(moving, km + km[pointer], km)
        pointer = ahead
    km = np.where(inner, km + km[pointer], km)
    service = np.full(n, -1, dtype=np.int64)
    service[root] = service_at.reindex(nodes[root]).to_numpy()
    service = np.where(reached, service[pointer], -1)
    return km, service


def to_metric(lat: Iterable[float], lon: Iterable[float]) -> tuple[np.ndarray, np.ndarray]:
    """Return EPSG:25833 ``x, y`` of WGS 84 points."""
    x, y = _TO_METRIC.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x), np.asarray(y)
