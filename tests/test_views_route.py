"""The route on the map: road and ferry legs styled apart, text from data escaped."""

from __future__ import annotations

import folium
import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString

from tilbudskart import network
from tilbudskart.views import route as route_view


def _legs() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"kind": ["access", "road", "ferry"], "road": ["", "E39", "Fv61"],
         "ferry": ["", "", "<b>Hareid</b>–Sulesund"], "km": [0.1, 26.3, 7.8],
         "minutes": [0.2, 25.0, 38.6]},
        geometry=[LineString([(6.0, 62.3), (6.01, 62.3)]),
                  LineString([(6.01, 62.3), (6.1, 62.4)]),
                  LineString([(6.1, 62.4), (6.15, 62.47)])], crs="EPSG:4326")


def test_road_and_ferry_are_drawn_differently_and_escaped():
    layer = route_view.route_layer(_legs())
    fmap = folium.Map()
    layer.add_to(fmap)
    html = fmap.get_root().render()
    lines = [child for child in layer._children.values() if isinstance(child, folium.PolyLine)]
    assert len(lines) == 3
    styles = {line.options.get("dashArray") for line in lines}
    assert "10 8" in styles and None in styles  # the ferry dashed, the road solid
    assert "<b>Hareid</b>" not in html and "&lt;b&gt;Hareid&lt;/b&gt;" in html


def test_caption_names_the_ferries():
    caption = route_view.route_caption(_legs())
    assert caption.startswith("Raskeste rute: ca. 64 min, 26,4 km veg og 7,8 km ferje")
    assert "&lt;b&gt;Hareid" in caption
    no_ferry = route_view.route_caption(_legs().iloc[:2])
    assert no_ferry.endswith("uten ferje.")


def test_a_real_route_becomes_a_layer(road_network, services):
    groups = services[(services["kind"] == "self_help") & (services["status"] == "geocoded")]
    legs = network.nearest_route(road_network, 62.37041, 6.02902, groups)  # Hareid
    layer = route_view.route_layer(legs)
    assert sum(isinstance(c, folium.PolyLine) for c in layer._children.values()) == len(legs)
    assert "ferje" in route_view.route_caption(legs)
    assert isinstance(legs, gpd.GeoDataFrame) and isinstance(legs["km"], pd.Series)


def test_the_app_route_is_the_fastest_group():
    from tilbudskart import pipeline

    data = pipeline.load_app_data()
    legs = pipeline.fastest_route(data, 62.37041, 6.02902)  # Hareid
    answer = pipeline.answer_search(data, 62.37041, 6.02902)
    assert data.services.loc[legs.attrs["service"], "name"] == "Ålesund"
    fastest = answer.fastest if len(answer.fastest) else answer.nearest
    assert legs.attrs["summary"]["minutes"] == pytest.approx(fastest["drive_min"].iloc[0],
                                                             abs=0.1)
