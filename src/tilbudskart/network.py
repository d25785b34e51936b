"""Network: travel time by road and car ferry to the nearest help.

Straight-line distance flatters the coast and the north: Alta's nearest groups are 170 km
away in a line, and the nearest by road (Bardufoss) 370 km; and where a car ferry is the
shortcut (Hareid–Sulesund to Ålesund, Halhjem–Våge to Tysnes) the route must use it. This
module routes on Kartverket's generalised N1000 network (roads and car ferries).

The graph is a :mod:`scipy.sparse` matrix in EPSG:25833 and is searched with
:func:`scipy.sparse.csgraph.dijkstra`. Road link ends that meet to 1 m become one node;
the generalisation's faults are repaired when the graph is built (see
:meth:`RoadNetwork.from_geodataframe`): every car-ferry quay joins the nearest point of the
nearest road (that road split there), link ends that stop at another link's side are
joined to it (T-junctions), and small gaps between parts are bridged. Nearest-help
questions are answered with one multi-source search from a virtual node joined to every
service, so the time from *every* node to its nearest service comes from a single run.

Points (kommune centres, grid cells, searched places, groups) join the network at the
nearest point of the nearest road link (a public road within
:data:`~tilbudskart.settings.PUBLIC_SNAP_M` first), by a straight leg at
:data:`~tilbudskart.settings.ACCESS_SPEED_KMH`, and from there run along the link to both
of its ends with the two partial lengths. A point in a part of the network with no service
(an island without a car ferry in N1000) gets no time, and is counted, not guessed.

Times are estimates from assumed speeds (:data:`tilbudskart.settings.ROAD_SPEED_KMH`,
ferry speed and wait; each can be given to :meth:`RoadNetwork.from_geodataframe` as a
keyword): N1000 has no speed limits or timetables.
"""

from __future__ import annotations

import functools
import itertools
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypedDict

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from tilbudskart import access, datasources, measures, settings

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


def national_network(season: str = "winter",
                     **speeds_given: float | Mapping[str, float] | None) -> RoadNetwork:
    """Return the N1000 road and car-ferry network, its gaps repaired.

    Parameters
    ----------
    season : {"winter", "summer"}
        ``winter`` (the default: it holds most of the year) leaves out the roads closed
        in winter and waits for the convoys (see :mod:`tilbudskart.seasons`); its
        ``summer`` attribute is the summer network (built once, shared).
    **speeds_given
        Keyword-only speeds passed on to :meth:`RoadNetwork.from_geodataframe`
        (``road_speeds``, ``motorway_speed``, ``ferry_speed``, ``ferry_wait``,
        ``access_speed``).

    Returns
    -------
    RoadNetwork
        Built from :func:`tilbudskart.datasources.read_road_network`, with the kommune
        polygons as land.

    """
    from tilbudskart import ferries, seasons

    built = RoadNetwork.from_geodataframe(datasources.read_road_network(),
                                          land=datasources.kommune_polygons_metric(),
                                          ferry_times=ferries.read_ferries(),
                                          length_factor=settings.ROAD_LENGTH_FACTOR,
                                          **speeds_given)  # type: ignore[arg-type]
    return seasons.for_season(built, season)


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


def _via_network(routes: Routes, network: RoadNetwork, start: Snap) -> pd.DataFrame:
    """Time, km, service and first node of each snapped origin's route to its nearest service."""
    via_u = routes.minutes[start.u] + start.to_u_min
    via_v = routes.minutes[start.v] + start.to_v_min
    use_v = via_v < via_u
    minutes = np.where(use_v, via_v, via_u) + start.leg_min
    km = np.where(use_v, routes.km[start.v] + start.to_v_km,
                  routes.km[start.u] + start.to_u_km) + start.leg_km
    node = np.where(use_v, start.v, start.u)
    service = routes.service[node].copy()
    targets = routes.targets
    if targets is not None:
        # An origin on the same road link as a service may go straight along it.
        i, j = _same_link(start.link, targets.link)
        if len(i):
            link = start.link[i]
            share = np.abs(start.along[i] - targets.along[j])
            direct = (start.leg_min[i] + targets.leg_min[j]
                      + share * network.links["minutes"].to_numpy()[link])
            direct_km = (start.leg_km[i] + targets.leg_km[j]
                         + share * network.links["km"].to_numpy()[link])
            order = np.lexsort((direct, i))
            best = order[np.unique(i[order], return_index=True)[1]]
            best = best[direct[best] < minutes[i[best]]]
            k = i[best]
            minutes[k], km[k], service[k], node[k] = (direct[best], direct_km[best],
                                                      j[best], -1)
    ok = start.ok & np.isfinite(minutes)
    return pd.DataFrame({
        "minutes": np.where(ok, minutes, np.nan),
        "km": np.where(ok, km, np.nan),
        "service": np.where(ok, service, -1),
        "leg_km": start.leg_km,
        "node": np.where(ok, node, -1),
    })


def _same_link(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return every pair ``(i, j)`` with ``a[i] == b[j] >= 0`` (points on one link)."""
    valid = np.flatnonzero(b >= 0)
    order = valid[np.argsort(b[valid], kind="stable")]
    sorted_b = b[order]
    first = np.searchsorted(sorted_b, a, side="left")
    count = np.where(a >= 0, np.searchsorted(sorted_b, a, side="right") - first, 0)
    i = np.repeat(np.arange(len(a)), count)
    start = np.repeat(first - np.cumsum(count) + count, count)
    return i, order[start + np.arange(len(i))]


def travel_from(routes: Routes, network: RoadNetwork, x: Iterable[float],
                y: Iterable[float], snap: Snap | None = None) -> pd.DataFrame:
    """Return travel time and route length from points to their nearest service.

    Each point joins its road link (see :meth:`RoadNetwork.snap`) and leaves by whichever
    end is quicker, or goes straight along the link to a service on the same link.

    Parameters
    ----------
    routes : Routes
        From :meth:`RoadNetwork.nearest`.
    network : RoadNetwork
        The network ``routes`` was computed on.
    x, y : array-like of float
        Origins, EPSG:25833 metres.
    snap : Snap, optional
        Where the origins join the network, if already known (``network.snap(x, y)``: a
        population grid's, kept between questions); ``x``, ``y`` are then not used.

    Returns
    -------
    pandas.DataFrame
        ``minutes``, ``km`` (NaN where not routed) and ``service`` (-1 where none),
        ``leg_km`` (straight leg from the origin to the network) and ``node`` (the first
        network node of the route; -1 for none or a route along one link), one row per
        origin.

    """
    return _via_network(routes, network, network.snap(x, y) if snap is None else snap)


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
    call, from a virtual node per destination joined to both ends of its road link), and
    each origin leaves its own link by the quicker end; straight legs at both ends.

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
    return Destinations(network, to_x, to_y, dtype).minutes_from(from_x, from_y)


class Destinations:
    """Travel times from every network node to each of a set of points (one Dijkstra each).

    The first half of :func:`minutes_matrix`, kept: a planner asks for the minutes from
    many sets of origins (each organisation's and threshold's people) to the same
    candidate sites.

    Parameters
    ----------
    network : RoadNetwork
        The road and car-ferry graph.
    to_x, to_y : array-like of float
        Destinations, EPSG:25833 metres.
    dtype : numpy floating type
        Of the node × destination table (float32: 16 MB for the kommune centres).

    """

    def __init__(self, network: RoadNetwork, to_x: Iterable[float], to_y: Iterable[float],
                 dtype: type[np.floating] = np.float32) -> None:
        self.network = network
        self.dtype = dtype
        self.goal = network.snap(to_x, to_y)
        self.to_ok = np.flatnonzero(self.goal.ok)
        n = len(network)
        self.to_goal: np.ndarray | None = None
        if len(self.to_ok):
            virtual = n + np.arange(len(self.to_ok))
            graph = _with_virtual_nodes(
                network.minutes, np.concatenate([virtual, virtual]),
                np.concatenate([self.goal.u[self.to_ok], self.goal.v[self.to_ok]]),
                np.concatenate([self.goal.leg_min[self.to_ok] + self.goal.to_u_min[self.to_ok],
                                self.goal.leg_min[self.to_ok] + self.goal.to_v_min[self.to_ok]]))
            # Node × destination, row-major: each origin gathers the rows of its link's ends.
            self.to_goal = np.ascontiguousarray(
                dijkstra(graph, directed=False, indices=virtual)[:, :n].T, dtype=dtype)

        self._near: dict[float, csr_matrix] = {}
        self._link_minutes = network.links["minutes"].to_numpy(dtype=float)

    def __len__(self) -> int:
        return len(self.goal.link)

    def __getstate__(self) -> dict[str, object]:
        """Pickle the tables only: the network is the caller's (set ``network`` again)."""
        return {key: value for key, value in self.__dict__.items() if key != "network"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self.network = None  # type: ignore[assignment]

    def within(self, start: Snap, limit: float | np.ndarray,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the origin–destination pairs at most ``limit`` minutes apart.

        The entries of :meth:`minutes_from` that are at most ``limit`` (one value, or one
        per origin), computed only for the destinations within ``max(limit)`` of an end of
        each origin's road link (or on the same link): the same figures, without the
        full origin × destination table.

        Parameters
        ----------
        start : Snap
            The origins' snap.
        limit : float or numpy.ndarray
            Most minutes kept.

        Returns
        -------
        rows, cols : numpy.ndarray of int
            Origin and destination positions, sorted by origin, then destination.
        minutes : numpy.ndarray
            Of ``dtype``.

        """
        dtype = self.dtype
        limit = np.broadcast_to(np.asarray(limit, dtype=float), (len(start.link),))
        from_ok = np.flatnonzero(start.ok)
        empty = np.zeros(0, dtype=np.int64)
        if self.to_goal is None or len(from_ok) == 0 or not np.isfinite(limit).any():
            return empty, empty, np.zeros(0, dtype=dtype)
        reach = float(np.max(limit[np.isfinite(limit)]))
        if reach not in self._near:
            self._near[reach] = csr_matrix(self.to_goal <= reach)
        near = self._near[reach]
        s = start.take(from_ok)
        g = self.goal.take(self.to_ok)
        same_i, same_j = _same_link(s.link, g.link)
        pieces_i, pieces_j = [same_i], [same_j]
        for ends in (s.u, s.v):
            rows = near[ends]
            pieces_i.append(np.repeat(np.arange(len(ends)), np.diff(rows.indptr)))
            pieces_j.append(rows.indices.astype(np.int64))
        width = len(self.to_ok)
        key = np.unique(np.concatenate(pieces_i) * width + np.concatenate(pieces_j))
        i, j = key // width, key % width
        to_goal = self.to_goal
        minutes = np.minimum(to_goal[s.u[i], j] + s.to_u_min.astype(dtype)[i],
                             to_goal[s.v[i], j] + s.to_v_min.astype(dtype)[i])
        minutes += s.leg_min.astype(dtype)[i]
        if len(same_i):
            direct = (s.leg_min[same_i] + g.leg_min[same_j] + np.abs(
                s.along[same_i] - g.along[same_j])
                * self._link_minutes[s.link[same_i]]).astype(dtype)
            at = np.searchsorted(key, same_i * width + same_j)
            np.minimum.at(minutes, at, direct)
        with np.errstate(invalid="ignore"):
            keep = np.isfinite(minutes) & (minutes <= limit[from_ok][i])
        return from_ok[i[keep]], self.to_ok[j[keep]], minutes[keep]

    def minutes_from(self, from_x: Iterable[float], from_y: Iterable[float],
                     start: Snap | None = None) -> np.ndarray:
        """Return the minutes from each origin to each destination (NaN: no route).

        Parameters
        ----------
        from_x, from_y : array-like of float
            Origins, EPSG:25833 metres.
        start : Snap, optional
            The origins' snap, if already known (then ``from_x``, ``from_y`` are not used).

        Returns
        -------
        numpy.ndarray
            Shape ``(n_from, n_to)``, as :func:`minutes_matrix`.

        """
        dtype, network = self.dtype, self.network
        start = network.snap(from_x, from_y) if start is None else start
        goal, to_ok = self.goal, self.to_ok
        result = np.full((len(start.link), len(goal.link)), np.nan, dtype=dtype)
        from_ok = np.flatnonzero(start.ok)
        if self.to_goal is None or len(from_ok) == 0:
            return result
        to_goal = self.to_goal
        s = start.take(from_ok)
        block = np.minimum(to_goal[s.u] + s.to_u_min.astype(dtype)[:, None],
                           to_goal[s.v] + s.to_v_min.astype(dtype)[:, None])
        block += s.leg_min.astype(dtype)[:, None]
        # Along one shared link, straight to the destination.
        g = goal.take(to_ok)
        i, j = _same_link(s.link, g.link)
        if len(i):
            direct = (s.leg_min[i] + g.leg_min[j] + np.abs(s.along[i] - g.along[j])
                      * network.links["minutes"].to_numpy()[s.link[i]])
            np.minimum.at(block, (i, j), direct.astype(dtype))
        block[~np.isfinite(block)] = np.nan
        if len(from_ok) == len(start.link) and len(to_ok) == len(goal.link):
            return block
        result[np.ix_(from_ok, to_ok)] = block
        return result


def travel_time_matrix(network: RoadNetwork, origins: pd.DataFrame,
                       destinations: pd.DataFrame) -> pd.DataFrame:
    """Return travel times between labelled points as a long table (r5py style).

    Parameters
    ----------
    network : RoadNetwork
        The road and car-ferry graph.
    origins, destinations : pandas.DataFrame
        Each with an ``id`` column and ``lat``/``lon`` (WGS 84).

    Returns
    -------
    pandas.DataFrame
        ``from_id``, ``to_id``, ``minutes`` (float64; NaN where there is no route), one row
        per pair of points that join a road. Points with no coordinates or farther than
        :data:`~tilbudskart.settings.MAX_SNAP_KM` from any road are dropped, with a
        warning naming them.

    Raises
    ------
    ValueError
        If a frame lacks ``id``, ``lat`` or ``lon``.

    """
    kept = []
    for name, frame in (("origins", origins), ("destinations", destinations)):
        missing = {"id", "lat", "lon"} - set(frame.columns)
        if missing:
            raise ValueError(f"{name} lack column(s) {sorted(missing)}")
        x, y = to_metric(frame["lat"], frame["lon"])
        ok = network.snap(x, y).ok
        if not ok.all():
            dropped = ", ".join(map(str, frame["id"].to_numpy()[~ok][:10]))
            warnings.warn(f"{name}: {int((~ok).sum())} point(s) cannot reach a road within "
                          f"{settings.MAX_SNAP_KM:g} km and are left out: {dropped}",
                          stacklevel=2)
        kept.append((frame.loc[ok, "id"].to_numpy(), x[ok], y[ok]))
    (from_id, fx, fy), (to_id, tx, ty) = kept
    matrix = minutes_matrix(network, fx, fy, tx, ty, dtype=np.float64)
    return pd.DataFrame({"from_id": np.repeat(from_id, len(to_id)),
                         "to_id": np.tile(to_id, len(from_id)),
                         "minutes": matrix.ravel()})


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
        ``kommunenummer``. ``drive_min``/``road_km`` are from the administrative centre,
        in the network's season (winter by default); ``drive_min_summer`` is the same on
        ``network.summer`` (equal to ``drive_min`` when the network has none);
        ``population_*`` use the grid cells, scaled to the kommune's population.
        ``population_not_routed`` counts residents whose cell has no route to any group.

    """
    groups = access.located(services)
    institutions = access.located(services, kind="institution")
    table = kommuner[["kommunenummer", "folkemengde"]].reset_index(drop=True)
    cx, cy = to_metric(kommuner["admin_lat"], kommuner["admin_lon"])

    def routes_to(chosen: pd.DataFrame) -> Routes:
        return network.nearest(*to_metric(chosen["lat"], chosen["lon"]))

    centres = network.snap(cx, cy)
    overall = routes_to(groups)
    from_centre = _via_network(overall, network, centres)
    table["drive_min"] = from_centre["minutes"].to_numpy()
    summer = network.summer
    table["drive_min_summer"] = table["drive_min"] if summer is None else _via_network(
        summer.nearest(*to_metric(groups["lat"], groups["lon"])), summer,
        summer.snap(cx, cy))["minutes"].to_numpy()
    table["road_km"] = from_centre["km"].to_numpy()
    names = groups["name"].to_numpy()
    table["nearest_group_by_road"] = [names[i] if i >= 0 else ""
                                      for i in from_centre["service"]]
    for organisation in settings.SELF_HELP_ORGANISATIONS:
        own = groups[groups["organisation"] == organisation]
        table[f"drive_min_{organisation}"] = _via_network(
            routes_to(own), network, centres)["minutes"].to_numpy()
    table["drive_min_institution"] = _via_network(
        routes_to(institutions), network, centres)["minutes"].to_numpy()

    minutes = travel_from(overall, network, grid["x"], grid["y"])["minutes"]
    # Without inhabited routed cells, fall back to the centre's time.
    far = measures.figures(minutes, grid, table, measures.BEYOND_MINUTES,
                           centre=table["drive_min"])
    table["population_weighted_drive_min"] = far["weighted"]
    for t in measures.BEYOND_MINUTES:
        table[t.column] = far[t.column]
    table["population_not_routed"] = far["not_routed"]
    return table[list(settings.TRAVEL_COLUMNS)].sort_values("kommunenummer", ignore_index=True)


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


def travel_anomalies(network: RoadNetwork, services: pd.DataFrame, kommuner: pd.DataFrame,
                     n: int = 10, min_km: float = 5.0) -> pd.DataFrame:
    """Return the kommuner whose drive minutes per straight-line km are extreme.

    A detour by road round a fjord is real; a route 5× the straight line, or faster than
    the fastest road, is worth a look. The straight line is from the administrative centre
    to the group the route reaches.

    Parameters
    ----------
    network : RoadNetwork
        The road and car-ferry graph.
    services : pandas.DataFrame
        Geocoded services (``status``, ``kind``, ``name``, ``lat``, ``lon``).
    kommuner : pandas.DataFrame
        ``kommunenummer``, ``kommunenavn``, ``admin_lat``, ``admin_lon``.
    n : int
        How many of the slowest to list; every one faster than motorway speed as the crow
        flies is listed as well.
    min_km : float
        Trips shorter than this in a line are left out (their ratio says little).

    Returns
    -------
    pandas.DataFrame
        ``kommunenummer``, ``kommunenavn``, ``group``, ``drive_min``, ``straight_km``,
        ``min_per_km``, ``first_leg``, ``last_leg``, ``ferries``; slowest first.

    """
    from pyproj import Geod

    columns = ["kommunenummer", "kommunenavn", "group", "drive_min", "straight_km",
               "min_per_km", "first_leg", "last_leg", "ferries"]
    located = access.located(services)
    if located.empty:
        return pd.DataFrame(columns=columns)
    sx, sy = to_metric(located["lat"], located["lon"])
    routes = network.nearest(sx, sy)
    cx, cy = to_metric(kommuner["admin_lat"], kommuner["admin_lon"])
    trips = travel_from(routes, network, cx, cy)
    reached = trips["service"].to_numpy()
    ok = reached >= 0
    glat = np.where(ok, located["lat"].to_numpy()[np.maximum(reached, 0)], np.nan)
    glon = np.where(ok, located["lon"].to_numpy()[np.maximum(reached, 0)], np.nan)
    straight = Geod(ellps="WGS84").inv(kommuner["admin_lon"].to_numpy(dtype=float),
                                       kommuner["admin_lat"].to_numpy(dtype=float),
                                       glon, glat)[2] / 1000.0
    table = pd.DataFrame({
        "kommunenummer": kommuner["kommunenummer"].to_numpy(),
        "kommunenavn": kommuner["kommunenavn"].to_numpy(),
        "group": np.where(ok, located["name"].to_numpy()[np.maximum(reached, 0)], ""),
        "drive_min": trips["minutes"].to_numpy(), "straight_km": straight,
        "position": np.arange(len(kommuner))})
    table = table[ok & (straight >= min_km)]
    table["min_per_km"] = table["drive_min"] / table["straight_km"]
    too_fast = table["min_per_km"] < 60.0 / settings.MOTORWAY_SPEED_KMH
    picked = pd.concat([table.nlargest(n, "min_per_km"), table[too_fast]])
    picked = picked[~picked.index.duplicated()].sort_values("min_per_km", ascending=False)
    first, last, ferries = [], [], []
    for position in picked["position"].tolist():
        found = _route(network, routes, float(cx[position]), float(cy[position]), (sx, sy))
        moving = [leg for leg in found[0] if leg.kind != "access"] if found else []
        first.append(_leg_text(moving[0]) if moving else "")
        last.append(_leg_text(moving[-1]) if moving else "")
        ferries.append("; ".join(leg.ferry for leg in moving if leg.kind == "ferry"))
    return picked.assign(first_leg=first, last_leg=last, ferries=ferries)[columns].reset_index(
        drop=True)
