"""Routing: travel time and km from points to the nearest service, and between points."""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from tilbudskart import settings
from tilbudskart.network.graph import RoadNetwork, Routes, Snap, _with_virtual_nodes, to_metric


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
