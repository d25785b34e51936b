"""Travel by road and car ferry: a made-up network checked by hand, then N1000 itself."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString

from tilbudskart import network, settings


def _links(rows: list[tuple[str, str, str | None, list[tuple[float, float]]]],
           crs: str | None = settings.CRS_METRIC) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"typeVeg": [r[0] for r in rows], "vegkategori": [r[1] for r in rows],
         "motorvegtype": [r[2] for r in rows]},
        geometry=[LineString(r[3]) for r in rows], crs=crs)


@pytest.fixture
def toy() -> network.RoadNetwork:
    # A 60 km fylkesveg, then a 10 km car ferry, then a 30 km europaveg; a parallel private
    # road beside the first link; and an island road 1 km off the coast with no ferry.
    return network.RoadNetwork.from_geodataframe(_links([
        ("enkelBilveg", "F", None, [(0, 0), (60_000, 0)]),
        ("enkelBilveg", "P", None, [(0, 0), (30_000, 1), (60_000, 0)]),
        ("bilferje", "F", None, [(60_000, 0), (70_000, 0)]),
        ("enkelBilveg", "E", None, [(70_000, 0), (100_000, 0)]),
        ("enkelBilveg", "K", None, [(50_000, 1_000), (55_000, 1_000)]),
    ]))


def test_link_times_follow_the_assumed_speeds(toy):
    minutes, _ = toy.from_point(0, 0)
    end = toy.snap([100_000], [0])[0][0]
    expected = (60 / settings.ROAD_SPEED_KMH["F"] * 60            # fylkesveg, not the P road
                + 10 / settings.FERRY_SPEED_KMH * 60 + settings.FERRY_WAIT_MIN
                + 30 / settings.ROAD_SPEED_KMH["E"] * 60)
    assert minutes[end] == pytest.approx(expected)


def test_nearest_service_by_time_with_route_km(toy):
    # Services at both ends. From the ferry quay at 60 km the west one is 60 min away by
    # fylkesveg; the east one is a 24 min crossing + 20 min wait + 22.5 min = 66.5 min.
    routes = toy.nearest([0, 100_000], [0, 0])
    node = toy.snap([60_000], [0])[0][0]
    assert routes.service[node] == 0
    assert routes.minutes[node] == pytest.approx(60 / 60 * 60)
    assert routes.km[node] == pytest.approx(60)


def test_island_without_ferry_is_not_routed(toy):
    routes = toy.nearest([0], [0])
    island = toy.snap([52_000], [1_000])[0][0]
    assert np.isinf(routes.minutes[island]) and routes.service[island] == -1
    cells = network.travel_from(routes, toy, [52_000, 1_000], [1_000, 0])
    assert np.isnan(cells.loc[0, "minutes"]) and cells.loc[0, "service"] == -1
    assert cells.loc[1, "minutes"] == pytest.approx(1 / settings.ACCESS_SPEED_KMH * 60)


def test_small_gaps_are_joined_but_straits_are_not():
    gap = settings.NETWORK_GAP_M
    near = network.RoadNetwork.from_geodataframe(_links([
        ("enkelBilveg", "K", None, [(0, 0), (10_000, 0)]),
        ("enkelBilveg", "K", None, [(10_000 + gap / 2, 0), (20_000, 0)]),
        ("enkelBilveg", "K", None, [(20_000 + 3 * gap, 0), (30_000, 0)]),
    ]))
    assert near.n_components == 2


def test_ferries_can_be_left_out(toy):
    no_ferry = network.RoadNetwork.from_geodataframe(
        _links([("bilferje", "F", None, [(0, 0), (10_000, 0)]),
                ("enkelBilveg", "K", None, [(10_000, 0), (20_000, 0)])]),
        include_ferries=False)
    assert len(no_ferry) == 2 and no_ferry.n_components == 1


def test_bad_links_are_refused():
    with pytest.raises(ValueError, match="no CRS"):
        network.RoadNetwork.from_geodataframe(
            _links([("enkelBilveg", "K", None, [(0, 0), (1, 1)])], crs=None))
    with pytest.raises(ValueError, match="vegkategori"):
        network.RoadNetwork.from_geodataframe(
            _links([("enkelBilveg", "K", None, [(0, 0), (1, 1)])]).drop(columns="vegkategori"))


def test_multi_source_search_equals_the_best_single_source_search(road_network, services):
    # The virtual-node trick must give, at every node, the minimum over all services.
    groups = services[(services["kind"] == "self_help") & (services["status"] == "geocoded")]
    groups = groups[groups["organisation"] == "aca"]  # few services: cheap to check one by one
    x, y = network.to_metric(groups["lat"], groups["lon"])
    routes = road_network.nearest(x, y)
    single = np.vstack([road_network.from_point(a, b)[0] for a, b in zip(x, y, strict=True)])
    best = single.min(axis=0)
    finite = np.isfinite(best)
    np.testing.assert_allclose(routes.minutes[finite], best[finite], rtol=1e-9)
    chosen = single[routes.service[finite], np.flatnonzero(finite)]
    np.testing.assert_allclose(chosen, best[finite], rtol=1e-9)


def test_oslo_bergen_by_road(road_network):
    ox, oy = network.to_metric([59.9127], [10.7461])
    bx, by = network.to_metric([60.3913], [5.3221])
    routes = road_network.nearest(bx, by)
    trip = network.travel_from(routes, road_network, ox, oy).iloc[0]
    assert 440 < trip["km"] < 540          # E16/Rv7: about 460–500 km
    assert 5 * 60 < trip["minutes"] < 9 * 60


def test_road_is_never_shorter_than_the_straight_line(kommuner):
    both = kommuner.dropna(subset=["road_km", "nearest_group_km"])
    assert len(both) > 330
    assert (both["road_km"] >= both["nearest_group_km"] * 0.97).all()


def test_coast_and_north_are_farther_by_road(kommuner):
    # Alta: the groups are 170 km away in a line, but by road over 350 km and 4½ hours.
    assert kommuner.at["5601", "road_km"] > 2 * kommuner.at["5601", "nearest_group_km"]
    assert kommuner.at["5601", "drive_min"] > 4 * 60
    # Tysnes is an island: its nearest group is 20 km in a line, but needs a car ferry.
    assert kommuner.at["4616", "drive_min"] > settings.FERRY_WAIT_MIN + 20
    assert kommuner.at["4616", "drive_min"] > 2.5 * kommuner.at["4616", "nearest_group_km"]


def test_travel_table_accounts_for_everyone(kommuner):
    # Every resident is either routed (within or beyond 60 min) or counted as not routed.
    assert (kommuner["population_beyond_60min"] <= kommuner["folkemengde"]).all()
    assert (kommuner["population_beyond_120min"] <= kommuner["population_beyond_60min"]).all()
    not_routed = kommuner["population_not_routed"].sum()
    assert 0 < not_routed < 0.001 * kommuner["folkemengde"].sum()
    # With the gaps at quays and over land repaired, every kommune centre has a route,
    # islands with a car ferry included (Utsira, Træna, Fedje, Smøla, Hasvik).
    assert kommuner["drive_min"].notna().all()
    assert kommuner.at["1151", "nearest_group_by_road"] == "Haugesund"  # Utsira, by ferry


def test_travel_columns_are_part_of_the_kommune_table(dataset):
    columns = list(dataset.kommuner.columns)
    assert columns[-len(settings.TRAVEL_COLUMNS) + 1:] == list(settings.TRAVEL_COLUMNS[1:])
    assert pd.api.types.is_integer_dtype(dataset.kommuner["population_beyond_60min"])


def test_minutes_from_a_search_to_each_service(road_network, kommuner, services):
    # From Seljord's centre, the time to the group the travel table names must match.
    seljord = kommuner.loc["4022"]
    located = services[services["status"] == "geocoded"]
    minutes = network.minutes_to(road_network, seljord["admin_lat"], seljord["admin_lon"],
                                 located)
    groups = (located["kind"] == "self_help").to_numpy()
    assert np.nanmin(minutes[groups]) == pytest.approx(seljord["drive_min"], rel=1e-9)
    best = located[groups].iloc[int(np.nanargmin(minutes[groups]))]
    assert best["name"] == seljord["nearest_group_by_road"]
    unlocated = network.minutes_to(road_network, 59.4, 8.6,
                                   pd.DataFrame({"lat": [np.nan], "lon": [np.nan]}))
    assert np.isnan(unlocated).all()


def test_a_quay_short_of_the_road_is_joined_but_a_far_one_is_not():
    def build(gap: float) -> network.RoadNetwork:
        return network.RoadNetwork.from_geodataframe(_links([
            ("enkelBilveg", "K", None, [(0, 0), (10_000, 0)]),             # mainland road
            ("bilferje", "F", None, [(10_000 + gap, 0), (30_000, 0)]),     # ferry to island
            ("enkelBilveg", "K", None, [(30_000, 0), (35_000, 0)]),        # island road
        ]))
    assert build(800).n_components == 1
    assert build(settings.NETWORK_LAND_GAP_M + 500).n_components == 2


def test_a_gap_over_land_is_joined_but_a_strait_is_not():
    from shapely.geometry import box

    links = _links([("enkelBilveg", "K", None, [(0, 0), (10_000, 0)]),
                    ("enkelBilveg", "K", None, [(11_000, 0), (20_000, 0)])])
    land = gpd.GeoSeries([box(-1_000, -1_000, 21_000, 1_000)], crs=settings.CRS_METRIC)
    sea = gpd.GeoSeries([box(-1_000, -1_000, 10_200, 1_000),
                         box(10_800, -1_000, 21_000, 1_000)], crs=settings.CRS_METRIC)
    assert network.RoadNetwork.from_geodataframe(links).n_components == 2
    assert network.RoadNetwork.from_geodataframe(links, land=land).n_components == 1
    assert network.RoadNetwork.from_geodataframe(links, land=sea).n_components == 2
    with pytest.raises(ValueError, match="land polygons have no CRS"):
        network.RoadNetwork.from_geodataframe(links, land=gpd.GeoSeries([box(0, 0, 1, 1)]))


def test_minutes_matrix_agrees_with_single_searches(toy):
    matrix = network.minutes_matrix(toy, [0, 52_000, 100_000], [0, 1_000, 0],
                                    [60_000, 100_000], [0, 0])
    assert matrix.shape == (3, 2) and matrix.dtype == np.float32
    here, _ = toy.from_point(0, 0)
    quay, east = toy.snap([60_000, 100_000], [0, 0])[0]
    assert matrix[0, 0] == pytest.approx(here[quay], rel=1e-6)
    assert matrix[0, 1] == pytest.approx(here[east], rel=1e-6)
    assert np.isnan(matrix[1]).all()  # the island without a ferry
    assert matrix[2, 1] == pytest.approx(0, abs=1e-6)
