"""Seasons: the winter-closed passes as data, matched to N1000, and the two networks."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, box

from tilbudskart import network, seasons, settings


@pytest.fixture(scope="module")
def closures() -> pd.DataFrame:
    return seasons.read_winter_closures()


def test_the_table_covers_the_passes_of_the_issue(closures):
    roads = set(closures["road"])
    for road in ("Fv55", "Fv520", "Fv51", "Fv258", "Fv243", "Fv63", "Fv450", "Fv4224",
                 "Fv252"):
        assert road in roads, road
    assert {"closed", "convoy"} == set(closures["status"])
    assert closures["source"].str.len().gt(10).all()
    brokke = closures.set_index("id").loc["brokke-suleskard"]
    assert set(brokke["months"]) == {11, 12, 1, 2, 3, 4, 5}  # 1 November–20 May by law


def test_every_closure_matches_links_of_one_road(road_network, closures):
    matched = road_network.closed_edges
    assert matched is not None
    for closure in closures.itertuples():
        own = matched[matched["id"] == closure.id]
        assert len(own) >= 1, closure.id
        assert own["road"].nunique() == 1, (closure.id, set(own["road"]))
        assert 3 <= own["km"].sum() <= 80, (closure.id, own["km"].sum())
    # A closure is matched by its ends, whatever number the road has in N1000 today.
    aurland = matched[matched["id"] == "aurlandsfjellet"]
    assert set(aurland["road"]) == {"Fv5627"}


def test_winter_is_the_default_and_slower_over_the_passes(road_network):
    assert road_network.season == "winter"
    summer = road_network.summer
    assert summer is not None and summer.season == "summer"
    assert len(summer.edges) > len(road_network.edges)
    lom = network.to_metric([61.8377], [8.5684])
    luster = network.to_metric([61.40472], [7.29458])
    winter_min = network.minutes_matrix(road_network, *lom, *luster)[0, 0]
    summer_min = network.minutes_matrix(summer, *lom, *luster)[0, 0]
    assert summer_min + 60 < winter_min


def test_kommune_table_gives_both_seasons(kommuner):
    lom = kommuner.loc["3434"]
    assert lom["drive_min_summer"] + 30 < lom["drive_min"]
    assert (kommuner["drive_min_summer"] <= kommuner["drive_min"] + 1e-6).all()
    # Oslo has no pass on the way: the same either season.
    assert kommuner.at["0301", "drive_min_summer"] == pytest.approx(
        kommuner.at["0301", "drive_min"])


def test_season_today():
    assert seasons.season_today(dt.date(2026, 1, 15)) == "winter"
    assert seasons.season_today(dt.date(2026, 7, 1)) == "summer"
    assert seasons.season_today(dt.date(2026, 5, 20)) == "winter"


def test_for_season_rejects_an_unknown_season(road_network):
    with pytest.raises(ValueError, match="season"):
        seasons.for_season(road_network.summer, "spring")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("from_lat", "north", "not a number"),
    ("to_lon", "45", "outside Norway"),
    ("status", "open", "not one of"),
    ("months", "13", "1–12"),
    ("source", "", "empty"),
])
def test_a_bad_row_is_named(tmp_path, closures, field, value, message):
    table = pd.read_csv(settings.WINTER_CLOSURES_PATH, dtype=str, keep_default_na=False)
    table.loc[2, field] = value
    path = tmp_path / "winter_closures.csv"
    table.to_csv(path, index=False)
    with pytest.raises(seasons.ClosureError, match=f"row 3, field '{field}'.*{message}"):
        seasons.read_winter_closures(path)


def test_a_leg_over_the_sea_is_not_a_car_trip():
    # Land: a mainland strip with the road, and an island 3 km off it with no road.
    roads = gpd.GeoDataFrame({"typeVeg": ["enkelBilveg"], "vegkategori": ["F"],
                              "motorvegtype": [None]},
                             geometry=[LineString([(0, 0), (50_000, 0)])],
                             crs=settings.CRS_METRIC)
    land = gpd.GeoSeries([box(-1_000, -5_000, 51_000, 1_000), box(10_000, 4_000, 12_000, 6_000)],
                         crs=settings.CRS_METRIC)
    net = network.RoadNetwork.from_geodataframe(roads, land=land)
    snap = net.snap([11_000, 20_000, 30_000], [5_000, -2_000, 1_500])
    # The island point (3 km of sea), a point inland 2 km off the road, and a grid cell
    # centre 500 m off the coast (the water before the land does not count).
    assert list(snap.at_sea) == [True, False, False]
    assert list(snap.ok) == [False, True, True]
    without_land = network.RoadNetwork.from_geodataframe(roads)
    assert without_land.snap([11_000], [5_000]).ok[0]
    assert np.isinf(snap.leg_km[0])


def test_cli_nearest_by_season_and_from_an_island(capsys):
    import json

    from tilbudskart import cli

    assert cli.main(["nearest", "Lom", "--json", "-n", "1", "--season", "summer"]) == 0
    summer = json.loads(capsys.readouterr().out)
    assert cli.main(["nearest", "Lom", "--json", "-n", "1", "--season", "winter"]) == 0
    winter = json.loads(capsys.readouterr().out)
    assert (summer["season"], winter["season"]) == ("summer", "winter")
    assert summer["route"]["minutes"] + 30 < winter["route"]["minutes"]
    assert cli.main(["nearest", "Røvær", "-n", "1"]) == 0
    text = capsys.readouterr().out
    assert "Ingen bilveg; båt eller hurtigbåt" in text and "km i luftlinje" in text
    assert "min to" not in text  # no made-up drive time
    assert "National phone lines" in text
