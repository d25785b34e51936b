"""Route: the fastest route to the nearest group as a folium layer and a sentence.

Pure functions over the legs of :func:`tilbudskart.network.nearest_route`: road legs are
solid, car-ferry legs dashed in sea blue, and the straight legs between a point and the
road dotted grey, so a reader sees at once whether a ferry is used. Every piece of text
from data (road labels, ferry names) is HTML-escaped; UI text is Norwegian bokmål.
"""

from __future__ import annotations

from collections.abc import Callable

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from tilbudskart.views.text import escape, figure, minutes

#: dict: Leaflet path options per leg kind.
STYLES: dict[str, dict[str, object]] = {
    "road": {"color": "#8b1e3f", "weight": 5, "opacity": 0.85},
    "ferry": {"color": "#0069a8", "weight": 5, "opacity": 0.9, "dash_array": "10 8"},
    "access": {"color": "#555555", "weight": 2, "opacity": 0.8, "dash_array": "2 6"},
}


def leg_label(leg: pd.Series) -> str:
    """Return a leg's tooltip text (Norwegian, escaped).

    Examples
    --------
    >>> leg_label(pd.Series({"kind": "ferry", "road": "Fv61", "ferry": "Hareid–Sulesund",
    ...                      "km": 7.8, "minutes": 38.6}))
    'Ferje Hareid–Sulesund (Fv61): 7,8 km, ca. 39 min med venting'

    """
    km, minutes = figure(leg["km"], 1), figure(leg["minutes"])
    if leg["kind"] == "ferry":
        name = escape(leg["ferry"]) or "bilferje"
        road = f" ({escape(leg['road'])})" if leg["road"] else ""
        return f"Ferje {name}{road}: {km} km, ca. {minutes} min med venting"
    if leg["kind"] == "access":
        return f"Til eller fra vegen (i luftlinje): {km} km"
    road = escape(leg["road"]) or "veg"
    return f"{road}: {km} km, ca. {minutes} min"


def route_layer(legs: gpd.GeoDataFrame | list[tuple[list[tuple[float, float]], str, str]],
                name: str = "Raskeste rute") -> folium.FeatureGroup:
    """Return the route as a folium layer, road and ferry legs styled differently.

    Parameters
    ----------
    legs : geopandas.GeoDataFrame or list
        From :func:`tilbudskart.network.nearest_route` (WGS 84 LineStrings), or its
        :func:`route_lines` (e.g. kept from an earlier search of the same place).
    name : str
        The layer's name in a layer control.

    Returns
    -------
    folium.FeatureGroup
        One polyline per leg, with a tooltip (:func:`leg_label`).

    """
    group = folium.FeatureGroup(name=name)
    for points, tooltip, kind in legs if isinstance(legs, list) else route_lines(legs):
        folium.PolyLine(points, tooltip=tooltip,
                        **STYLES.get(kind, STYLES["road"])).add_to(group)
    return group


def route_lines(legs: gpd.GeoDataFrame) -> list[tuple[list[tuple[float, float]], str, str]]:
    """Return each leg of two points or more as (lat/lon points, tooltip, kind)."""
    lines = []
    for _, leg in legs.to_crs("EPSG:4326").iterrows():
        points = [(lat, lon) for lon, lat in leg.geometry.coords]
        if len(points) >= 2:
            lines.append((points, leg_label(leg), str(leg["kind"])))
    return lines


def route_caption(legs: gpd.GeoDataFrame,
                  escape_text: Callable[[object], str] = escape) -> str:
    """Return one sentence on the route: km by road, km by ferry and the ferries.

    Parameters
    ----------
    legs : geopandas.GeoDataFrame
        From :func:`tilbudskart.network.nearest_route`.
    escape_text : callable
        Escapes the ferry names (from data): HTML by default; pass
        :func:`tilbudskart.views.text.escape_markdown` for Streamlit Markdown.

    Returns
    -------
    str

    Examples
    --------
    >>> legs = gpd.GeoDataFrame({"kind": ["road", "ferry"], "road": ["E39", "Fv61"],
    ...                          "ferry": ["", "Hareid–Sulesund"], "km": [26.3, 7.8],
    ...                          "minutes": [25.0, 38.6]}, geometry=[None, None])
    >>> route_caption(legs)
    'Raskeste rute: ca. 64 min, 26,3 km veg og 7,8 km ferje (Hareid–Sulesund).'

    """
    km = legs.groupby("kind")["km"].sum()
    took = minutes(legs["minutes"].sum())  # "ca. 64 min", "ca. 22 t 30 min"
    road = f"{figure(km.get('road', 0.0) + km.get('access', 0.0), 1)} km veg"
    ferries = [escape_text(name) for name in legs.loc[legs["kind"] == "ferry", "ferry"]]
    if not ferries:
        return f"Raskeste rute: {took}, {road}, uten ferje."
    named = ", ".join(name for name in ferries if name)
    ferry = f"{figure(km.get('ferry', 0.0), 1)} km ferje" + (f" ({named})" if named else "")
    return f"Raskeste rute: {took}, {road} og {ferry}."


def farthest_km(legs: gpd.GeoDataFrame, lat: float, lon: float) -> float:
    """Return how far (km, in a line) the route gets from a point: the map must show that.

    Parameters
    ----------
    legs : geopandas.GeoDataFrame
        The route's legs (EPSG:4326).
    lat, lon : float
        The searched point.

    """
    from tilbudskart.access import geodesic_km

    lats, lons = legs.get_coordinates()[["y", "x"]].to_numpy().T
    if len(lats) == 0:
        return 0.0
    return float(geodesic_km(np.full(len(lats), lat), np.full(len(lats), lon), lats,
                             lons).max())
