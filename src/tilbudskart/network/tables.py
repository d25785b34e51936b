"""Travel tables per kommune: drive time to the nearest help, and routes worth a look."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tilbudskart import access, measures, settings
from tilbudskart.network.graph import RoadNetwork, Routes, to_metric
from tilbudskart.network.legs import _leg_text, _route
from tilbudskart.network.routing import _via_network, travel_from


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
