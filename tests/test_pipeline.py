from __future__ import annotations

import pandas as pd
import pytest

from tilbudskart import appdata, pipeline, settings


@pytest.fixture(scope="module")
def app_data(tmp_path_factory) -> pipeline.AppData:
    return pipeline.load_app_data(folder=tmp_path_factory.mktemp("cache"))


@pytest.mark.parametrize("number", ["4022", "4616", "5601", "0301", "1833"])
def test_kommune_figures_for_all_groups_reproduce_the_kommune_table(app_data, number):
    figures = pipeline.kommune_figures(app_data, number)
    row = app_data.kommuner.set_index("kommunenummer").loc[number]
    for km in settings.BEYOND_KM:
        column = settings.beyond_km_column(km)
        assert figures[column] == pytest.approx(row[column], abs=1), column
    for minutes in settings.BEYOND_MINUTES:
        column = settings.beyond_minutes_column(minutes)
        assert figures[column] == pytest.approx(row[column], abs=1), column
    assert figures["population_weighted_km"] == pytest.approx(row["population_weighted_km"])
    assert figures["groups_in_kommune"] == row["groups_in_kommune"]
    assert figures["population_not_routed"] == pytest.approx(row["population_not_routed"],
                                                             abs=1)


def test_kommune_figures_follow_the_organisation(app_data):
    # Karasjok: no ACA group anywhere near (ACA met in Oslo and Sandefjord in 2007), so
    # everyone lives more than 50 km from one; the figures must not be everyone's.
    aca = pipeline.kommune_figures(app_data, "5610", "aca")
    anyone = pipeline.kommune_figures(app_data, "5610")
    assert aca["km"] > 1000 > anyone["km"]
    assert aca[settings.beyond_km_column(50)] == aca["folkemengde"]
    assert aca["groups_in_kommune"] == 0
    # Oslo has Al-Anon groups in the kommune, and they are counted for Al-Anon alone.
    oslo = pipeline.kommune_figures(app_data, "0301", "al_anon")
    services = app_data.services
    expected = ((services["kommunenummer"] == "0301") & (services["organisation"] == "al_anon")
                & (services["status"] == "geocoded")).sum()
    assert oslo["groups_in_kommune"] == expected > 0


def test_kommune_figures_refuse_what_they_do_not_know(app_data):
    with pytest.raises(ValueError, match="9999"):
        pipeline.kommune_figures(app_data, "9999")
    with pytest.raises(ValueError, match="institution"):
        pipeline.kommune_figures(app_data, "4022", "institution")


def test_search_answer_names_the_fastest_group_when_it_is_not_the_nearest(app_data):
    tysnes = app_data.kommuner.set_index("kommunenummer").loc["4616"]
    answer = pipeline.answer_search(app_data, tysnes["admin_lat"], tysnes["admin_lon"])
    assert len(answer.nearest) == 5 and answer.nearest["distance_km"].is_monotonic_increasing
    assert list(answer.per_organisation["organisation"]) == list(
        settings.SELF_HELP_ORGANISATIONS)
    if not answer.fastest.empty:
        assert answer.fastest["id"].iloc[0] != answer.nearest["id"].iloc[0]
        assert answer.fastest["drive_min"].iloc[0] <= answer.nearest["drive_min"].min()
    assert set(answer.shown()["id"]) >= set(answer.nearest["id"])


def test_search_from_an_island_with_no_road_gives_no_minutes(app_data):
    # Røvær (Haugesund): express boat only; before, a 10 km leg over the sea gave 30 min.
    answer = pipeline.answer_search(app_data, 59.43965, 5.09124)
    assert answer.no_road
    assert answer.nearest["drive_min"].isna().all()
    assert answer.fastest.empty
    assert answer.nearest["distance_km"].iloc[0] == pytest.approx(10.4, abs=1)


def test_search_gives_today_s_season_or_the_one_asked_for(app_data):
    # Lom: Sognefjellet to Luster in summer, round by Stryn (or to Hamar) in winter.
    winter = pipeline.answer_search(app_data, 61.8377, 8.5684, season="winter")
    summer = pipeline.answer_search(app_data, 61.8377, 8.5684, season="summer")
    assert (winter.season, summer.season) == ("winter", "summer")
    assert summer.nearest["drive_min"].min() + 30 < winter.nearest["drive_min"].min()
    assert not winter.no_road and not summer.no_road
    assert pipeline.answer_search(app_data, 61.8377, 8.5684).season in ("winter", "summer")
    figures = pipeline.kommune_figures(app_data, "3434")
    assert figures["drive_min_summer"] + 30 < figures["drive_min"]


def test_search_answer_validates_its_arguments(app_data):
    with pytest.raises(ValueError):
        pipeline.answer_search(app_data, float("nan"), 10.0)
    with pytest.raises(ValueError):
        pipeline.answer_search(app_data, 59.9, 10.7, n=0)


def test_app_data_is_cached_on_disk_and_keyed_by_the_inputs(tmp_path, monkeypatch):
    first = pipeline.load_app_data(folder=tmp_path)
    cached = list(tmp_path.glob("appdata-*.pickle"))
    assert len(cached) == 1
    # A new process (nothing loaded yet) reads the cache instead of building.
    monkeypatch.setattr(appdata, "_LOADED", {})
    monkeypatch.setattr(appdata, "build_app_data", lambda imports=(): pytest.fail("built"))
    second = pipeline.load_app_data(folder=tmp_path)
    pd.testing.assert_frame_equal(first.kommuner, second.kommuner)
    # In the same process (the server's warm-up, then the app) it is not read again.
    with monkeypatch.context() as patch:
        patch.setattr(appdata, "_read_cached", lambda path: pytest.fail("read again"))
        assert pipeline.load_app_data(folder=tmp_path) is second
    # An imported list changes the key: the cache is not used for it.
    mine = tmp_path / "mine.csv"
    mine.write_text("name,organisation,place\nNy gruppe,lms,Seljord\n", encoding="utf-8")
    assert pipeline.input_fingerprint([mine]) != pipeline.input_fingerprint()
    with pytest.raises(pytest.fail.Exception, match="built"):
        pipeline.load_app_data([mine], folder=tmp_path)


def test_a_corrupt_cache_is_ignored_and_rebuilt(tmp_path):
    key = pipeline.input_fingerprint()
    (tmp_path / f"appdata-{key}.pickle").write_bytes(b"not a pickle")
    data = pipeline.load_app_data(folder=tmp_path)
    assert len(data.kommuner) == 357
