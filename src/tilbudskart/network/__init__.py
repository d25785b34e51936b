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

from tilbudskart.network.build import _TO_METRIC, EDGE_KINDS, Speeds, link_minutes, speeds
from tilbudskart.network.graph import RoadNetwork, Routes, Snap, to_metric
from tilbudskart.network.legs import (
    LEG_COLUMNS,
    RouteSummary,
    nearest_route,
    place_name,
    route_legs,
    route_summary,
)
from tilbudskart.network.national import national_network
from tilbudskart.network.routing import (
    Destinations,
    minutes_matrix,
    minutes_to,
    travel_from,
    travel_time_matrix,
)
from tilbudskart.network.tables import travel_anomalies, travel_table

__all__ = [
    "EDGE_KINDS", "LEG_COLUMNS", "_TO_METRIC", "Destinations", "RoadNetwork", "RouteSummary",
    "Routes", "Snap", "Speeds", "link_minutes", "minutes_matrix", "minutes_to",
    "national_network", "nearest_route", "place_name", "route_legs", "route_summary", "speeds",
    "to_metric", "travel_anomalies", "travel_from", "travel_table", "travel_time_matrix",
]
