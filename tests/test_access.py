from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import TEST_DATA
from tilbudskart import access, datasources, settings


def _groups_in(services: pd.DataFrame, kommunenummer: str) -> pd.DataFrame:
    return services[(services["kind"] == "self_help") & (services["status"] == "geocoded")
                    & (services["kommunenummer"] == kommunenummer)]


def _nearest_from_centre(kommuner, services, number, n=1, organisation=None):
    centre = kommuner.loc[number]
    return access.nearest_services(centre["admin_lat"], centre["admin_lon"], services, n=n,
                                   organisation=organisation)


def test_table_has_all_357_kommuner_and_contract_columns(kommuner):
    assert len(kommuner) == 357
    table = kommuner.reset_index()
    assert list(table.columns[: len(settings.KOMMUNE_COLUMNS)]) == list(settings.KOMMUNE_COLUMNS)
    assert table["kommunenummer"].str.fullmatch(r"\d{4}").all()
    assert (table["population_beyond_50km"] <= table["population_beyond_25km"]).all()
    assert (table["population_beyond_25km"] <= table["folkemengde"]).all()


@pytest.mark.parametrize("row", pd.read_csv(TEST_DATA / "report_findings.csv",
                                            dtype=str).to_dict("records"),
                         ids=lambda r: r["kommune"])
def test_report_kommuner_are_in_the_table(kommuner, row):
    assert kommuner.at[row["kommunenummer"], "kommunenavn"] == row["kommune"]


def test_seljord_has_no_group_and_its_nearest_lms_is_grenland(kommuner, services):
    assert kommuner.at["4022", "groups_in_kommune"] == 0
    nearest = _nearest_from_centre(kommuner, services, "4022", organisation="lms")
    assert nearest.loc[0, "name"] == "Grenland"


def test_no_self_help_group_in_dovre_or_the_old_oppland_county(services, gazetteer, kommuner):
    assert kommuner.at["3431", "groups_in_kommune"] == 0
    oppland = gazetteer.kommuner_in_county("Oppland")
    assert "3431" in oppland and len(oppland) > 20
    groups = services[(services["kind"] == "self_help") & (services["status"] == "geocoded")]
    assert not groups["kommunenummer"].isin(oppland).any()


def test_alta_nearest_groups_are_in_tromso(kommuner, services):
    assert kommuner.at["5601", "groups_in_kommune"] == 0
    assert kommuner.at["5601", "nearest_group_kommune"] == "Tromsø"
    nearest = _nearest_from_centre(kommuner, services, "5601", n=3)
    assert (nearest["kommunenavn"] == "Tromsø").sum() >= 2


def test_tysnes_nearest_al_anon_is_in_bergen_not_stord(kommuner, services):
    assert kommuner.at["4616", "groups_in_kommune"] == 0
    nearest = _nearest_from_centre(kommuner, services, "4616", organisation="al_anon")
    assert nearest.loc[0, "kommunenavn"] == "Bergen"
    assert _groups_in(services, "4614").empty  # Stord


@pytest.mark.parametrize("number", ["5610", "5528"])  # Karasjok, Dyrøy
def test_karasjok_and_dyroy_have_no_group_inside(kommuner, services, number):
    assert kommuner.at[number, "groups_in_kommune"] == 0
    assert _groups_in(services, number).empty
    assert kommuner.at[number, "nearest_group_km"] > 0


def test_trondheim_has_lms_familieklubbene_and_al_anon(kommuner, services):
    inside = _groups_in(services, "5001")
    assert {"lms", "familieklubbene", "al_anon"} <= set(inside["organisation"])
    assert "vba" in set(inside["group_type"])
    for organisation in ("lms", "familieklubbene", "al_anon"):
        assert kommuner.at["5001", f"km_{organisation}"] == pytest.approx(0, abs=0.01)


def test_spatial_index_matches_brute_force_geodesic(services):
    groups = services[(services["kind"] == "self_help") & (services["status"] == "geocoded")]
    index = access.NearestIndex.from_services(groups)
    rng = np.random.default_rng(7)
    lat, lon = rng.uniform(58, 71, 400), rng.uniform(5, 30, 400)
    km = index.distance_km(lat, lon)
    brute = access.geodesic_km(lat[:, None], lon[:, None], groups["lat"].to_numpy()[None, :],
                               groups["lon"].to_numpy()[None, :]).min(axis=1)
    np.testing.assert_allclose(km, brute, rtol=1e-12)


def test_geodesic_km_known_distance():
    # Oslo–Bergen city centres, about 305 km on the ellipsoid.
    km = access.geodesic_km(np.array([59.9127]), np.array([10.7461]), np.array([60.3913]),
                            np.array([5.3221]))
    assert km[0] == pytest.approx(305, abs=3)


def test_empty_index_returns_nan():
    index = access.NearestIndex([], [])
    assert np.isnan(index.distance_km([60.0], [10.0])).all()


def test_nan_coordinates_are_rejected():
    with pytest.raises(ValueError, match="NaN"):
        access.NearestIndex([60.0, np.nan], [10.0, 11.0])


def test_population_weighting_uses_the_grid(kommuner):
    # Weighted distances are finite and, in a kommune with groups at its centre, smaller than
    # the distance of its most remote residents.
    assert kommuner["population_weighted_km"].notna().all()
    assert kommuner.at["0301", "population_weighted_km"] < 15
    total_beyond = kommuner["population_beyond_50km"].sum()
    far = kommuner[kommuner["nearest_group_km"] > 50]["folkemengde"].sum()
    assert 0.5 * far < total_beyond < 2 * far


def test_population_exposure_on_a_made_up_grid():
    grid = pd.DataFrame({"kommunenummer": ["a", "a", "b"], "befolkning": [10, 30, 5],
                         "lat": [60.0, 60.0, 61.0], "lon": [10.0, 10.5, 10.0]})
    index = access.NearestIndex([60.0], [10.0])
    table = access.population_exposure(grid, index).set_index("kommunenummer")
    d = access.geodesic_km(np.array([60.0]), np.array([10.0]), np.array([60.0]), np.array([10.5]))
    assert table.at["a", "population_weighted_km"] == pytest.approx(30 * d[0] / 40)
    assert table.at["a", "share_beyond_25km"] == pytest.approx(0.75)
    assert table.at["b", "share_beyond_50km"] == pytest.approx(1.0)


def test_grid_points_transform_to_norway():
    grid = datasources.read_population_grid("1km").head(100)
    points = access.grid_points(grid)
    assert points["lat"].between(57, 72).all() and points["lon"].between(4, 32).all()


def test_by_distance_agrees_with_the_spatial_index(services):
    # One query point, all services measured at once, must rank like the tree does.
    groups = services[(services["kind"] == "self_help") & (services["status"] == "geocoded")]
    index = access.NearestIndex.from_services(groups)
    for lat, lon in [(59.42, 8.63), (69.97, 23.27), (60.0, 5.55)]:
        ranked = access.by_distance(lat, lon, services)
        assert (ranked["status"] == "geocoded").all()
        assert ranked["distance_km"].is_monotonic_increasing
        own = ranked[ranked["kind"] == "self_help"]
        _, km = index.query([lat], [lon], k=5)
        np.testing.assert_allclose(own["distance_km"].to_numpy()[:5], km[0], rtol=1e-12)


def test_nearest_services_reuses_a_ranked_table(services):
    ranked = access.by_distance(69.97, 23.27, services)
    fresh = access.nearest_services(69.97, 23.27, services, n=3, organisation="lms")
    reused = access.nearest_services(69.97, 23.27, ranked, n=3, organisation="lms")
    pd.testing.assert_frame_equal(fresh, reused)
    assert (reused["organisation"] == "lms").all() and len(reused) == 3
    with pytest.raises(ValueError, match="unknown organisation"):
        access.nearest_services(69.97, 23.27, ranked, organisation="aa")


def test_grid_points_keep_metric_coordinates_and_add_wgs84():
    # A cell centre in central Oslo (EPSG:25833) lies at 59.9186 N, 10.7416 E.
    grid = pd.DataFrame({"x": [262_000.0], "y": [6_650_000.0], "befolkning": [1],
                         "kommunenummer": ["0301"]})
    points = access.grid_points(grid)
    assert points.loc[0, ["x", "y"]].tolist() == [262_000.0, 6_650_000.0]
    assert points.loc[0, "lat"] == pytest.approx(59.91856, abs=1e-5)
    assert points.loc[0, "lon"] == pytest.approx(10.74157, abs=1e-5)


def test_transformer_gives_the_same_points_as_pyproj_from_crs_in_a_new_thread():
    import threading

    from pyproj import Transformer

    lon = np.array([4.6, 10.75, 25.0, 31.1])
    lat = np.array([58.0, 59.91, 69.97, 70.4])
    expected = Transformer.from_crs(settings.CRS_WGS84, settings.CRS_METRIC,
                                    always_xy=True).transform(lon, lat)
    fast = access.transformer(settings.CRS_WGS84, settings.CRS_METRIC)
    assert "pipeline" in fast.definition
    got: list[tuple[np.ndarray, np.ndarray]] = []
    thread = threading.Thread(target=lambda: got.append(fast.transform(lon, lat)))
    thread.start()
    thread.join()
    np.testing.assert_allclose(got[0], expected, atol=1e-6)
    back = access.transformer(settings.CRS_METRIC, settings.CRS_WGS84).transform(*expected)
    np.testing.assert_allclose(back, (lon, lat), atol=1e-9)
