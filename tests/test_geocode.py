from __future__ import annotations

import pandas as pd
import pytest

from tilbudskart import datasources, geocode, settings


def test_normalise_folds_printed_variants():
    assert geocode.normalise("Sør -Trøndelag") == geocode.normalise("sør-trøndelag")
    assert geocode.normalise("  Møre- og Romsdal ") == "møre og romsdal"


def test_postcode_step(gazetteer):
    match = gazetteer.resolve("Seljord", postcode="3840").match
    assert match.precision == "postcode"
    assert match.kommunenummer == "4022"


def test_postcode_not_in_register_falls_back_to_place_and_says_so(gazetteer):
    match = gazetteer.resolve("Oslo", postcode="0320").match
    assert match.precision == "place" and match.kommunenummer == "0301"
    assert "0320 is not in the 2026 register" in match.matched_as


def test_place_step_uses_gazetteer(gazetteer):
    match = gazetteer.resolve("Hokksund").match
    assert (match.kommunenummer, match.precision) == ("3314", "place")


def test_kommune_step_uses_admin_centre(gazetteer):
    match = gazetteer.resolve("Modum", "Buskerud").match
    assert (match.kommunenummer, match.precision) == ("3316", "kommune")
    centre = gazetteer.centres.loc["3316"]
    assert (match.lat, match.lon) == (centre["lat"], centre["lon"])


@pytest.mark.parametrize(("old", "county", "expected"), [
    ("Skedsmo", "Akershus", "3205"),   # Lillestrøm
    ("Orkdal", "Sør-Trøndelag", "5059"),  # Orkland
    ("0231", "", "3205"),
    ("Os", "Hordaland", "4624"),       # Bjørnafjorden, not Os in Innlandet
    ("Os", "Hedmark", "3430"),
])
def test_old_kommune_names_and_numbers_map_to_2024(gazetteer, old, county, expected):
    assert gazetteer.resolve(old, county).match.kommunenummer == expected


@pytest.mark.parametrize(("region", "county", "expected"), [
    ("Grenland", "Telemark", "4003"),
    ("Solør", "Hedmark", "3418"),
    ("Vesterålen", "Nordland", "1870"),
    ("Vestlofoten", "Nordland", "1860"),
    ("Inherrad", "Nord Trøndelag", "5037"),
    ("Groruddalen", "Oslo", "0301"),
    ("Indre Salten", "Nordland", "1841"),
    ("Nord Østerdalen", "Hedemark", "3427"),
    ("Indre Sogn", "Sogn- og Fjordane", "4640"),
])
def test_region_aliases(gazetteer, region, county, expected):
    match = gazetteer.resolve(region, county).match
    assert match.kommunenummer == expected
    assert match.precision in settings.PRECISIONS
    assert "alias" in match.matched_as


def test_every_alias_row_resolves_inside_its_kommune(gazetteer):
    aliases = pd.read_csv(settings.ALIASES_PATH, dtype=str, keep_default_na=False)
    polygons = datasources.kommune_polygons_metric()
    for row in aliases.itertuples():
        match = gazetteer.by_alias(row.alias, row.county)
        assert match is not None and match.kommunenummer == row.kommunenummer, row.alias
        assert row.precision in settings.PRECISIONS
        point = pd.Series([match.lon, match.lat])
        metric = geocode.gpd.GeoSeries(geocode.gpd.points_from_xy([point[0]], [point[1]]),
                                       crs=settings.CRS_WGS84).to_crs(settings.CRS_METRIC)
        assert polygons.loc[row.kommunenummer].distance(metric.iloc[0]) < 5000, row.alias


@pytest.mark.parametrize("name", ["Os", "Bø", "Nes", "Sand", "Sandvika"])
def test_ambiguous_names_without_context_are_reported_not_guessed(gazetteer, name):
    resolution = gazetteer.resolve(name)
    assert resolution.match is None
    assert resolution.reason.startswith("ambiguous")
    assert len({c.kommunenummer for c in resolution.candidates}) >= 2


def test_county_settles_ambiguity(gazetteer):
    assert gazetteer.resolve("Sand", "Rogaland").match.kommunenummer == "1134"  # Suldal
    assert gazetteer.resolve("Sandvika", "Akershus").match.kommunenummer == "3201"  # Bærum


def test_county_excludes_same_name_elsewhere(gazetteer):
    # "Sunndal" is also a village in Kvinnherad (Hordaland); in Møre og Romsdal it is the kommune.
    assert gazetteer.resolve("Sunndal", "Møre og Romsdal").match.kommunenummer == "1563"


def test_unknown_name_is_unresolved_with_reason(gazetteer):
    resolution = gazetteer.resolve("Telemark", "Nordland")
    assert resolution.match is None
    assert "Telemark" in resolution.reason


def test_unknown_county_is_reported(gazetteer):
    resolution = gazetteer.resolve("Oslo", "Atlantis")
    assert resolution.match is None and "Atlantis" in resolution.reason


@pytest.mark.parametrize(("query", "expected"), [
    ("3840", "4022"), ("Alta", "5601"), ("Tysnes", "4616"), ("Storgata 3, Seljord", "4022"),
    ("Kirkegata 1, 9600 Hammerfest", "5603"), ("Kárášjohka", "5610"), ("oslo", "0301"),
])
def test_search_reads_postcodes_places_and_addresses(gazetteer, query, expected):
    assert gazetteer.search(query).match.kommunenummer == expected


def test_search_offers_choices_for_ambiguous_names(gazetteer):
    resolution = gazetteer.search("Os")
    assert not resolution.ok and {c.kommunenummer for c in resolution.candidates} == {"3430",
                                                                                        "4624"}


def test_every_registry_row_is_in_the_output_with_status(services, registry_table):
    assert list(services["id"]) == list(registry_table["id"])
    assert set(services["status"]) <= {"geocoded", "unresolved"}
    unresolved = services[services["status"] == "unresolved"]
    assert unresolved["reason"].str.len().gt(0).all()
    assert unresolved["lat"].isna().all()
    geocoded = services[services["status"] == "geocoded"]
    assert geocoded["precision"].isin(settings.PRECISIONS).all()
    assert geocoded["matched_as"].str.len().gt(0).all()
    assert geocoded["kommunenummer"].str.fullmatch(r"\d{4}").all()


def test_every_point_lies_in_the_kommune_it_claims(services):
    outside = geocode.distance_outside_kommune(services)
    assert len(outside) == (services["status"] == "geocoded").sum()
    assert outside.max() <= settings.POLYGON_TOLERANCE_M, services.loc[outside.idxmax(), "name"]


def test_given_coordinates_are_kept_and_placed_in_their_kommune(gazetteer, registry_csv):
    from tilbudskart import registry
    path = registry_csv([{"place": "", "lat": "59.4837", "lon": "8.6307"}])
    frame = registry.load_registry([path])
    out = geocode.geocode_services(frame, gazetteer)
    assert out.loc[0, "kommunenummer"] == "4022"
    assert out.loc[0, "status"] == "geocoded"
