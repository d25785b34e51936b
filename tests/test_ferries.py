"""Ferries as data: published crossing times matched to N1000's ferry links."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import shapely

from tilbudskart import ferries, network, settings

FALLBACK = Path(__file__).parent / "data" / "ferries_on_fallback.csv"


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return ferries.read_ferries()


def test_every_listed_ferry_matches_a_link(road_network, table):
    links = road_network.ferry_links
    assert links is not None
    assert set(table["id"]) <= set(links["ferry_id"])
    jektvik = links[links["ferry_id"] == "kilboghamn-jektvik"]
    assert list(jektvik["minutes"]) == [60.0]  # not 42 min at the fallback speed


def test_the_ferries_still_on_the_fallback_speed_are_listed(road_network):
    # Every crossing of 3 km or more without a published time, by its quays' nearest
    # places: a new row in data/ferries.csv (or a change of N1000) shows here.
    links = road_network.ferry_links
    rest = links[(links["ferry_id"] == "") & (links["km"] >= 3)].sort_values(
        "km", ascending=False)
    named = []
    for line, km in zip(rest["geometry"], rest["km"], strict=True):
        ends = shapely.get_coordinates(line)[[0, -1]]
        quays = sorted(network.place_name(*end) or "?" for end in ends)
        named.append({"quays": "–".join(quays), "km": round(float(km), 1)})
    expected = pd.read_csv(FALLBACK)
    assert pd.DataFrame(named).to_dict("records") == expected.to_dict("records")
    fallback_minutes = rest["km"] / settings.FERRY_SPEED_KMH * 60
    assert (rest["minutes"] - fallback_minutes).abs().max() < 1e-6


def test_the_crossing_time_replaces_the_speed(table):
    from geopandas import GeoDataFrame
    from shapely.geometry import LineString

    x, y = network.to_metric([66.4898, 66.6259], [13.2278, 13.2509])
    links = GeoDataFrame({"typeVeg": ["enkelBilveg", "bilferje", "enkelBilveg"],
                          "vegkategori": ["F", "F", "F"], "motorvegtype": [None] * 3},
                         geometry=[LineString([(x[0] - 5_000, y[0]), (x[0], y[0])]),
                                   LineString([(x[0], y[0]), (x[1], y[1])]),
                                   LineString([(x[1], y[1]), (x[1] + 5_000, y[1])])],
                         crs=settings.CRS_METRIC)
    timed = network.RoadNetwork.from_geodataframe(links, ferry_times=table, ferry_wait=0.0)
    untimed = network.RoadNetwork.from_geodataframe(links, ferry_wait=0.0)
    assert timed.ferry_links is not None and untimed.ferry_links is not None
    assert timed.ferry_links["minutes"].tolist() == [60.0]
    assert untimed.ferry_links["ferry_id"].tolist() == [""]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("crossing_min", "soon", "not a number"),
    ("crossing_min", "0", "outside"),
    ("a_lat", "45", "outside"),
    ("quay_b", "", "empty"),
])
def test_a_bad_row_is_named(tmp_path, field, value, message):
    rows = pd.read_csv(settings.FERRIES_PATH, dtype=str, keep_default_na=False)
    rows.loc[0, field] = value
    path = tmp_path / "ferries.csv"
    rows.to_csv(path, index=False)
    with pytest.raises(ferries.FerryTableError, match=f"row 1, field '{field}'.*{message}"):
        ferries.read_ferries(path)
