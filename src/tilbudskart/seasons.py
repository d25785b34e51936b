"""Seasons: the mountain roads that close in winter or run in convoy.

``data/winter_closures.csv`` lists each pass by its road, the two ends of the closed
segment (names and WGS 84 points, optionally a point on the way), the months it is usually
closed (or convoy-only) and the source. Road numbers changed in 2020 and differ between
sources, so a closure is matched to the network by its ends, not its number: the segment
is the shortest road path from one end through the ``via`` point to the other.

The **winter** network (the default for every figure, map and plan: it holds from about
November to May) has the closed links removed and carries an expected convoy wait on the
convoy stretches; the **summer** network is the network as built. The winter network is
derived from the summer one without building the graph again (:func:`for_season`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from tilbudskart import settings
from tilbudskart.network import RoadNetwork, to_metric

#: The two seasons, the first the default.
SEASONS = ("winter", "summer")
#: What a closure row says of its segment in winter.
STATUSES = ("closed", "convoy")
#: Columns of :data:`tilbudskart.settings.WINTER_CLOSURES_PATH`.
COLUMNS = ("id", "road", "name", "from_name", "from_lat", "from_lon", "via_lat", "via_lon",
           "to_name", "to_lat", "to_lon", "status", "months", "source", "note")
_COORDINATES = ("from_lat", "from_lon", "to_lat", "to_lon")


class ClosureError(ValueError):
    """A row of the closures table is invalid; the message names file, row and field."""


def read_winter_closures(path: Path = settings.WINTER_CLOSURES_PATH) -> pd.DataFrame:
    """Read and check the table of winter-closed and convoy roads.

    Parameters
    ----------
    path : pathlib.Path
        The CSV (default :data:`tilbudskart.settings.WINTER_CLOSURES_PATH`).

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS`; coordinates as float (``via_*`` NaN when not given) and
        ``months`` as a tuple of month numbers.

    Raises
    ------
    ClosureError
        Naming the file, row (1 = the first data row) and field of the first fault.

    """
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ClosureError(f"{path}: missing column(s) {', '.join(missing)}")
    frame = frame[list(COLUMNS)].copy()
    months: list[tuple[int, ...]] = []
    for row, record in enumerate(frame.to_dict("records"), start=1):
        def fault(field: str, problem: str, row: int = row) -> ClosureError:
            return ClosureError(f"{path}, row {row}, field '{field}': {problem}")

        for field in ("id", "road", "from_name", "to_name", "source"):
            if not record[field].strip():
                raise fault(field, "empty")
        for field in (*_COORDINATES, "via_lat", "via_lon"):
            value = record[field].strip()
            if not value and field.startswith("via"):
                continue
            try:
                number = float(value)
            except ValueError:
                raise fault(field, f"not a number: {value!r}") from None
            low, high = (57.0, 72.0) if field.endswith("lat") else (4.0, 32.0)
            if not low <= number <= high:
                raise fault(field, f"{number} is outside Norway")
        if bool(record["via_lat"].strip()) != bool(record["via_lon"].strip()):
            raise fault("via_lat", "give both via_lat and via_lon, or neither")
        if record["status"] not in STATUSES:
            raise fault("status", f"{record['status']!r} is not one of {', '.join(STATUSES)}")
        try:
            chosen = tuple(int(m) for m in record["months"].split())
        except ValueError:
            raise fault("months", f"not month numbers: {record['months']!r}") from None
        if not chosen or not all(1 <= m <= 12 for m in chosen):
            raise fault("months", f"months must be 1–12: {record['months']!r}")
        months.append(chosen)
    if frame["id"].duplicated().any():
        raise ClosureError(f"{path}: duplicate id(s) "
                           f"{', '.join(frame.loc[frame['id'].duplicated(), 'id'])}")
    for field in (*_COORDINATES, "via_lat", "via_lon"):
        frame[field] = pd.to_numeric(frame[field].replace("", np.nan))
    frame["months"] = months
    return frame


def season_today(today: dt.date | None = None) -> str:
    """Return ``"summer"`` in the months the passes are open, else ``"winter"``.

    Parameters
    ----------
    today : datetime.date, optional
        Default: today.

    """
    month = (today or dt.date.today()).month
    return "summer" if month in settings.SUMMER_MONTHS else "winter"


def match_closures(network: RoadNetwork, closures: pd.DataFrame) -> pd.DataFrame:
    """Return the network's road edges on each closed or convoy segment.

    The road the ``via`` point (or, without one, the ``from`` point) lies on names the
    pass in N1000's own numbering; each end joins the nearest node of that road, and the
    segment is the shortest path (by km) between them along that road only.

    Parameters
    ----------
    network : RoadNetwork
        The network as built (summer).
    closures : pandas.DataFrame
        From :func:`read_winter_closures`.

    Returns
    -------
    pandas.DataFrame
        ``id``, ``status``, ``edge`` (row of ``network.edges``), ``road`` (the N1000
        label), ``km``; one row per edge. A closure that matches nothing has no row.

    """
    rows: list[dict[str, object]] = []
    edges = network.edges
    road = edges["road"].to_numpy()
    km = edges["km"].to_numpy(dtype=float)
    n = len(network)
    for closure in closures.to_dict("records"):
        has_via = bool(np.isfinite(closure["via_lat"]))
        lat, lon = ((closure["via_lat"], closure["via_lon"]) if has_via
                    else (closure["from_lat"], closure["from_lon"]))
        snap = network.snap(*to_metric([lat], [lon]))
        if not snap.ok[0]:
            continue
        label = network.links["road"].to_numpy()[snap.link[0]]
        own = np.flatnonzero((road == label) & (edges["kind"].to_numpy() == "road"))
        if not label or len(own) == 0:
            continue
        u, v = edges["u"].to_numpy()[own], edges["v"].to_numpy()[own]
        graph = csr_matrix((np.maximum(km[own], 1e-9), (u, v)), shape=(n, n))
        on_road = np.unique(np.concatenate([u, v]))
        x, y = to_metric([closure["from_lat"], closure["to_lat"]],
                         [closure["from_lon"], closure["to_lon"]])
        tree = cKDTree(network.nodes[on_road])
        start, goal = on_road[tree.query(np.column_stack([x, y]))[1]]
        _, predecessors = dijkstra(graph, directed=False, indices=int(start),
                                   return_predecessors=True)
        node = int(goal)
        while node != start and predecessors[node] >= 0:
            before = int(predecessors[node])
            edge = network.edge_between(before, node)
            rows.append({"id": closure["id"], "status": closure["status"], "edge": edge,
                         "road": label, "km": km[edge]})
            node = before
    return pd.DataFrame(rows, columns=["id", "status", "edge", "road", "km"]).drop_duplicates(
        ["id", "edge"])


def for_season(network: RoadNetwork, season: str,
               closures: pd.DataFrame | None = None) -> RoadNetwork:
    """Return the network of a season, derived from the one built (summer).

    Parameters
    ----------
    network : RoadNetwork
        The network as built: every road open.
    season : {"winter", "summer"}
        ``summer`` returns ``network`` itself; ``winter`` a new network without the
        closed segments, with :data:`~tilbudskart.settings.CONVOY_WAIT_MIN` spread over
        each convoy stretch (by length), and with ``summer`` set to ``network``.
    closures : pandas.DataFrame, optional
        Default :func:`read_winter_closures`.

    Returns
    -------
    RoadNetwork
        With ``season`` set.

    Raises
    ------
    ValueError
        If ``season`` is not one of :data:`SEASONS`.

    """
    if season not in SEASONS:
        raise ValueError(f"season must be one of {', '.join(SEASONS)}, not {season!r}")
    network.season = "summer"
    if season == "summer":
        return network
    closures = read_winter_closures() if closures is None else closures
    matched = match_closures(network, closures)
    edges = network.edges.copy()
    links = network.links.copy()
    closed = matched.loc[matched["status"] == "closed", "edge"].unique()
    convoy = matched[matched["status"] == "convoy"]
    extra = pd.Series(0.0, index=edges.index)
    if len(convoy):
        stretch_km = convoy.groupby("id")["km"].transform("sum").clip(lower=1e-9)
        share = convoy["km"] / stretch_km * settings.CONVOY_WAIT_MIN
        extra = extra.add(share.groupby(convoy["edge"].to_numpy()).sum(), fill_value=0.0)
    edges["minutes"] = edges["minutes"] + extra.to_numpy()
    pair = _pairs(edges)
    link_pair = _pairs(links)
    added = pd.Series(extra.to_numpy(), index=pair)
    added = added[~added.index.duplicated()]
    links["minutes"] = links["minutes"] + added.reindex(link_pair).fillna(0.0).to_numpy()
    shut = set(pair[closed].tolist())
    winter = RoadNetwork(network.nodes, edges[~edges.index.isin(closed)],
                         links[~np.isin(link_pair, list(shut))],
                         access_speed=network.access_speed, land=network.land)
    winter.season = "winter"
    winter.ferry_links = network.ferry_links
    winter.summer = network
    winter.closed_edges = matched
    return winter


def _pairs(frame: pd.DataFrame) -> np.ndarray:
    """Return one integer key per unordered node pair ``(u, v)``."""
    u, v = frame["u"].to_numpy(dtype=np.int64), frame["v"].to_numpy(dtype=np.int64)
    return np.minimum(u, v) * (1 << 32) + np.maximum(u, v)
