from __future__ import annotations

import re
import unicodedata

import geopandas as gpd
import hypothesis as settings_
import pandas as pd
import pytest
from hypothesis import strategies as st

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
        metric = gpd.GeoSeries(gpd.points_from_xy([point[0]], [point[1]]),
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
    assert set(services["status"]) <= {"geocoded", "unresolved", "duplicate"}
    duplicates = services[services["status"] == "duplicate"]
    assert list(duplicates["id"]) == list(
        registry_table.loc[registry_table["duplicate_of"] != "", "id"])
    assert duplicates["lat"].isna().all() and duplicates["reason"].str.len().gt(0).all()
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


# -- Svalbard and Jan Mayen ------------------------------------------------------------------


@pytest.mark.parametrize(("query", "territory", "place"), [
    ("9170", "Svalbard", "Longyearbyen"), ("9171", "Svalbard", "Longyearbyen"),
    ("9173", "Svalbard", "Ny-Ålesund"), ("9170 Longyearbyen", "Svalbard", "Longyearbyen"),
    ("Longyearbyen", "Svalbard", "Longyearbyen"), ("Svalbard", "Svalbard", "Longyearbyen"),
    ("barentsburg", "Svalbard", "Barentsburg"), ("8099", "Jan Mayen", "Jan Mayen"),
    ("Jan Mayen", "Jan Mayen", "Jan Mayen"),
])
def test_search_finds_svalbard_and_jan_mayen_with_a_note(gazetteer, services, road_network,
                                                         query, territory, place):
    from tilbudskart import access, network
    resolution = gazetteer.search(query)
    match = resolution.match
    assert match is not None and match.territory == territory
    assert match.kommunenummer in gazetteer.territories
    assert place in match.label and "til noen kommune" in match.note
    nearest = access.nearest_services(match.lat, match.lon, services, n=3)
    # The nearest groups are on the mainland, 900–1100 km away (Tromsø, Lofoten).
    assert len(nearest) == 3 and nearest["distance_km"].between(900, 1100).all()
    assert nearest["kommunenummer"].isin(gazetteer.population.index).all()
    note = access.mainland_note(match.territory, nearest)
    assert note.startswith(f"Det finnes ingen grupper på {territory} i registeret; "
                           "nærmeste på fastlandet er ")
    assert f"«{nearest['name'].iloc[0]}» i {nearest['kommunenavn'].iloc[0]}" in note
    # No road leads there: no drive time, rather than a figure to laugh at.
    ranked = access.by_distance(match.lat, match.lon, services)
    assert network.minutes_to(road_network, match.lat, match.lon, ranked)[:3].tolist() == [
        pytest.approx(float("nan"), nan_ok=True)] * 3


def test_svalbard_nearest_is_tromso_at_the_right_distance(gazetteer, services):
    from tilbudskart import access
    match = gazetteer.search("9170").match
    nearest = access.nearest_services(match.lat, match.lon, services, n=1)
    # Longyearbyen–Tromsø is about 960 km in a straight line.
    assert nearest["kommunenavn"].iloc[0] == "Tromsø"
    assert nearest["distance_km"].iloc[0] == pytest.approx(961, abs=10)


def test_registry_row_on_svalbard_stays_unresolved_with_a_reason(gazetteer, registry_csv):
    from tilbudskart import registry
    path = registry_csv([{"place": "Longyearbyen", "postcode": "9170"},
                         {"place": "Longyearbyen"}])
    out = geocode.geocode_services(registry.load_registry([path]), gazetteer)
    assert (out["status"] == "unresolved").all()
    assert out["reason"].str.contains("Svalbard, outside the 2024 kommuner").all()


# -- what a search used -----------------------------------------------------------------------


@pytest.mark.parametrize(("query", "matched", "note"), [
    ("Storgata 1, Tysnes", "Tysnes",
     "Fant Tysnes; gateadresser kan ikke slås opp, så «Storgata 1» er ikke brukt."),
    ("Kirkegata 1, 9600 Hammerfest", "9600 Hammerfest",
     "Fant 9600 Hammerfest; gateadresser kan ikke slås opp, så «Kirkegata 1» er ikke brukt."),
    ("Tysnes, Hordaland", "Tysnes", "Fant Tysnes; «Hordaland» er ikke brukt."),
    ("Tysnes", "Tysnes", ""), ("3840 Seljord", "3840 Seljord", ""), ("3840", "3840 Seljord", ""),
])
def test_search_says_what_it_matched(gazetteer, query, matched, note):
    resolution = gazetteer.search(query)
    assert resolution.ok
    assert (resolution.matched_text, resolution.note) == (matched, note)
    assert resolution.query == query


# -- query hygiene ----------------------------------------------------------------------------

INVISIBLE = ["\u200b", "\u200c", "\u200d", "\ufeff", "\u00ad", "\u200e", "\u200f", "\u202e",
             "\u2066", "\x00", "\x1b", "\x7f", "\x9b"]


@pytest.mark.parametrize("char", INVISIBLE)
def test_invisible_characters_do_not_change_a_search(gazetteer, char):
    resolution = gazetteer.search(f"{char}Tys{char}nes{char}")
    assert resolution.match.kommunenummer == "4616" and resolution.query == "Tysnes"


@pytest.mark.parametrize(("typed", "expected"), [
    ("A\u030alesund", "1508"),          # Å as A + combining ring (NFC)
    ("  Bjørnafjorden\t\n", "4624"),
    ("\u00a0Alta\u2003", "5601"),       # no-break and em spaces
    ("\x1b[31m3840\x1b[0m", "4022"),    # a pasted terminal colour
])
def test_search_cleans_what_was_typed(gazetteer, typed, expected):
    assert gazetteer.search(typed).match.kommunenummer == expected


def test_too_long_search_is_refused_without_echo(gazetteer):
    resolution = gazetteer.search("Tysnes " * 20_000)
    assert not resolution.ok and "too long" in resolution.reason
    assert len(resolution.reason) < 100 and len(resolution.query) <= geocode.ECHO_CHARS
    assert gazetteer.search("x" * geocode.MAX_QUERY_CHARS).reason != resolution.reason


_UNSAFE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"}


@settings_.given(st.text(max_size=300))
@settings_.settings(max_examples=300, deadline=None)
def test_clean_text_properties(text):
    cleaned = geocode.clean_text(text)
    assert geocode.clean_text(cleaned) == cleaned                 # idempotent
    assert unicodedata.is_normalized("NFC", cleaned)
    assert not any(unicodedata.category(c) in _UNSAFE_CATEGORIES for c in cleaned)
    assert cleaned == cleaned.strip() and "  " not in cleaned
    assert all(c == " " or not c.isspace() for c in cleaned)


@settings_.given(st.sampled_from(["Tysnes", "Bø i Telemark", "Ålesund", "Kárášjohka"]),
                 st.lists(st.sampled_from(INVISIBLE), max_size=4), st.randoms())
@settings_.settings(max_examples=100, deadline=None)
def test_invisible_characters_never_change_the_key(name, junk, rnd):
    chars = list(name)
    for char in junk:
        chars.insert(rnd.randrange(len(chars) + 1), char)
    assert geocode.normalise("".join(chars)) == geocode.normalise(name)


@settings_.given(text=st.text(max_size=250))
@settings_.settings(max_examples=200, deadline=None,
                    suppress_health_check=[settings_.HealthCheck.function_scoped_fixture])
def test_search_never_fails_and_echoes_little(gazetteer, text):
    resolution = gazetteer.search(text)
    assert resolution.ok or resolution.reason
    assert len(resolution.query) <= geocode.MAX_QUERY_CHARS
    if resolution.ok:
        assert resolution.match.kommunenummer in gazetteer.population.index or (
            resolution.match.territory)


@pytest.mark.parametrize(("query", "expected"), [
    ("Tysnes", []),
    ("Storgata 1, Tysnes", ["Fant Tysnes; gateadresser kan ikke slås opp, så «Storgata 1» er "
                            "ikke brukt."]),
    ("Storgata 1, 9170 Longyearbyen", [
        "Fant 9170 Longyearbyen; gateadresser kan ikke slås opp, så «Storgata 1» er ikke brukt.",
        "Longyearbyen ligger på Svalbard, som ikke hører til noen kommune.",
        "Det finnes ingen grupper på Svalbard i registeret; nærmeste på fastlandet er LMS "
        "(Landsforbundet Mot Stoffmisbruk): «Tromsø» i Tromsø, 962 km i luftlinje."]),
])
def test_search_notes_are_what_the_app_and_cli_show(gazetteer, services, query, expected):
    from tilbudskart import access
    resolution = gazetteer.search(query)
    match = resolution.match
    nearest = access.nearest_services(match.lat, match.lon, services, n=5)
    assert access.search_notes(resolution, match, nearest) == expected


def test_places_of_the_same_name_are_offered_alike(gazetteer):
    # "Nes" is a village in Ringerike, a kommune in Akershus and the old name of Nesbyen:
    # every choice names the kommune and fylke the same way.
    labels = [c.label for c in gazetteer.search("Nes").candidates]
    assert labels == ["Nes (Ringerike kommune, Buskerud)", "Nes (Nes kommune, Akershus)",
                      "Nes (Nesbyen kommune, Buskerud)"]
    assert all(re.fullmatch(r"Bø \([^,]+ kommune, [^)]+\)", c.label)
               for c in gazetteer.search("bø").candidates)


# -- corrections from an independent reading of the report ------------------------------------


@pytest.mark.parametrize(("place", "county", "kommune", "centre"), [
    ("Malvik", "Sør -Trøndelag", "5031", (63.41083, 10.79424)),  # Hommelvik, not the village
    ("Luster", "Vestlandet", "4644", (61.40472, 7.29458)),  # Gaupne, not the village Luster
    ("Oppegård", "Akershus", "3207", (59.81056, 10.80389)),  # Kolbotn (alias), not the village
])
def test_a_kommune_named_in_the_report_is_placed_at_its_centre(gazetteer, place, county,
                                                               kommune, centre):
    match = gazetteer.resolve(place, county).match
    assert match is not None and match.kommunenummer == kommune
    assert match.precision == "kommune"
    assert (round(match.lat, 4), round(match.lon, 4)) == (round(centre[0], 4),
                                                          round(centre[1], 4))


def test_a_kommune_centre_named_as_a_place_keeps_place_precision(gazetteer):
    match = gazetteer.resolve("Seljord", "Telemark").match
    assert match is not None and match.precision == "place" and match.kommunenummer == "4022"


def test_registry_corrections_are_applied(services):
    rows = services.set_index("id")
    assert rows.loc["lms-023", "status"] == "duplicate"
    assert rows.loc["lms-023", "duplicate_of"] == "lms-036"
    assert "Grenland" in rows.loc["lms-023", "note"]
    rogaland = rows.loc["inst-059"]
    assert (rogaland["status"], rogaland["kommunenavn"], rogaland["precision"]) == (
        "geocoded", "Stavanger", "region")
    assert "l.1866" in rogaland["note"]
    for ident in ("lms-003", "lms-034", "fk-013"):
        assert rows.loc[ident, "precision"] == "kommune", ident


@pytest.mark.parametrize("name", ["Báhcavuotna", "Báhccavuotna", "bahcavuotna"])
def test_a_sami_name_two_kommuner_go_by_offers_both(gazetteer, name):
    resolution = gazetteer.search(name)
    assert resolution.match is None and resolution.reason.startswith("ambiguous")
    assert {c.kommunenummer for c in resolution.candidates} == {"5632", "5532"}
