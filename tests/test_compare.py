"""Then and now: groups matched across lists, coverage then and now, online meetings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tilbudskart import access, compare, datasources, importers, network, pipeline, settings


@pytest.fixture(scope="module")
def grid() -> pd.DataFrame:
    return access.grid_points(datasources.read_population_grid("1km"))


def group(ident, name, organisation, kommune, lat=np.nan, lon=np.nan, status="geocoded",
          attendance="physical"):
    return {"id": ident, "name": name, "organisation": organisation, "kind": "self_help",
            "status": status, "kommunenummer": kommune, "kommunenavn": kommune, "lat": lat,
            "lon": lon, "attendance": attendance}


def test_match_groups_same_moved_gone_new():
    then = pd.DataFrame([
        group("a", "Drøbak", "lms", "3212", 59.66, 10.63),
        group("b", "Skien", "lms", "4003", 59.21, 9.61),
        group("c", "Alta", "lms", "5601", 69.97, 23.27),
        group("d", "Bodø", "lms", "1804", 67.28, 14.40),
        group("e", "Oslo", "al_anon", "0301", 59.91, 10.75),
        group("f", "Telemark", "lms", "", status="duplicate"),
    ])
    now = pd.DataFrame([
        group("1", "LMS Drøbak", "lms", "3212", 59.66, 10.63),        # same kommune and name
        group("2", "Pårørendegruppa Grenland", "lms", "4003", 59.2, 9.6),  # same kommune
        group("3", "Alta", "lms", "5603", 70.66, 23.68),             # moved (Hammerfest)
        group("4", "Nettgruppe", "lms", "", status="online", attendance="online"),  # new
    ])
    matches = compare.match_groups(then, now)
    assert list(matches.columns) == list(compare.MATCH_COLUMNS)
    got = {(r.change, r.then_id, r.now_id) for r in matches.itertuples()}
    assert got == {("same", "a", "1"), ("same", "b", "2"), ("moved", "c", "3"),
                   ("gone", "d", ""), ("new", "", "4")}
    moved = matches.set_index("change").loc["moved"]
    assert 70 < moved["moved_km"] < 90  # Alta → Hammerfest, about 80 km in a line
    assert matches.loc[matches["change"] == "new", "attendance"].item() == "online"
    assert set(matches["organisation"]) == {"lms"}  # al_anon is not in the new list
    counts = compare.summary_table(matches)
    assert counts.set_index("organisation").loc["lms"].tolist() == [2, 1, 1, 1]
    points = compare.change_points(matches, then, now).set_index("change")
    assert sorted(points.index) == ["gone", "moved", "same", "same"]  # online: no point
    assert points.loc["gone", "name"] == "Bodø" and points.loc["gone", "lat"] == 67.28
    assert (points.loc["moved", "lat"], points.loc["moved", "from_lat"]) == (70.66, 69.97)


def test_coverage_of_all_groups_reproduces_the_kommune_table(services, kommuner, grid,
                                                             road_network):
    figures = compare.coverage(services, kommuner.reset_index(), grid, road_network)
    for km in settings.BEYOND_KM:
        column = settings.beyond_km_column(km)
        assert figures[f"people_beyond_{km}km"] == kommuner[column].sum()
        assert figures[f"kommuner_beyond_{km}km"] == (kommuner["nearest_group_km"] > km).sum()
    for minutes in settings.BEYOND_MINUTES:
        column = settings.beyond_minutes_column(minutes)
        assert figures[f"people_beyond_{minutes}min"] == kommuner[column].sum()
    assert figures["groups"] == 131


def test_online_meetings_are_no_physical_coverage(services, kommuner, grid, road_network):
    """An online-only meeting at Dovre changes no figure; the same meeting in person does."""
    row = services[services["id"] == "lms-001"].copy()
    row["id"], row["name"], row["kommunenummer"] = "x-1", "Dovre", "3431"
    row["lat"], row["lon"] = 62.0, 9.25
    online = row.assign(status="online", attendance="online")
    table = kommuner.reset_index()
    base = compare.coverage(services, table, grid, road_network, "lms")
    with_online = pd.concat([services, online], ignore_index=True)
    with_physical = pd.concat([services, row], ignore_index=True)
    assert compare.coverage(with_online, table, grid, road_network, "lms") == base
    physical = compare.coverage(with_physical, table, grid, road_network, "lms")
    assert physical["people_beyond_50km"] < base["people_beyond_50km"]
    # The kommune and travel tables pick the same groups.
    centres, population = datasources.read_admin_centres(), datasources.read_population()
    plain = access.kommune_table(services, centres, population, grid)
    online_table = access.kommune_table(with_online, centres, population, grid)
    pd.testing.assert_frame_equal(plain, online_table)
    travel = network.travel_table(road_network, services, plain, grid)
    pd.testing.assert_frame_equal(
        travel, network.travel_table(road_network, with_online, plain, grid))
    assert pipeline.online_meetings(with_online)["id"].tolist() == ["x-1"]


def test_then_and_now_with_a_list(tmp_path, road_network, grid):
    path = tmp_path / "lms_2026.csv"
    path.write_text("navn;sted;fylke\nDrøbak;Drøbak;Akershus\nSeljord pårørende;Seljord;"
                    "Telemark\nPå nett;;\n", encoding="cp1252")
    result = pipeline.then_and_now(path, organisation="lms", road_network=road_network,
                                   population_grid=grid)
    counts = result.counts.set_index("organisation").loc["lms"]
    assert (counts["same"], counts["new"], counts["gone"]) == (1, 1, 42)
    assert "separator ';'" in result.imports[0]
    assert result.import_report[["row", "field"]].values.tolist() == [[4, "place"]]
    cover = result.coverage.set_index(["organisation", "measure"])
    assert cover.loc[("lms", "groups"), "then"] == 43
    assert cover.loc[("lms", "groups"), "now"] == 2
    assert cover.loc[("all", "groups"), "now"] == 131 - 43 + 2
    assert (cover.loc["lms", "change"].drop("groups") >= 0).all()  # fewer groups: farther
    # The map of change: one point per new or gone group, none for the one that stayed.
    assert result.points["change"].value_counts().to_dict() == {"gone": 42, "new": 1}
    assert result.points[["lat", "lon"]].notna().all().all()


def test_with_imported_replaces_for_one_session(road_network, grid, services, kommuner,
                                                gazetteer):
    data = pipeline.AppData(gazetteer=gazetteer, grid=grid, network=road_network,
                            services=services, kommuner=kommuner.reset_index(),
                            polygons=None, lines=pd.DataFrame(), attributions=[])
    upload = importers.import_bytes("navn,sted\nSeljord pårørende,Seljord\n".encode(),
                                    "opplastet.csv", organisation="aca")
    added = pipeline.with_imported(data, [upload], "add")
    seljord = added.kommuner.set_index("kommunenummer").loc["4022"]
    assert seljord["groups_in_kommune"] == 1 and seljord["km_aca"] < 1
    assert len(added.services) == len(services) + 1
    replaced = pipeline.with_imported(data, [upload], "replace")
    assert (replaced.services["organisation"] == "aca").sum() == 1
    assert replaced.kommuner.set_index("kommunenummer").loc["0301", "km_aca"] > 50
    assert data.services is services and len(services) == 208  # the shared data untouched
    with pytest.raises(ValueError, match="mode"):
        pipeline.with_imported(data, [upload], "merge")


def test_apply_upload_gives_one_session_its_own_data(road_network, grid, services, kommuner,
                                                      gazetteer):
    data = pipeline.AppData(gazetteer=gazetteer, grid=grid, network=road_network,
                            services=services, kommuner=kommuner.reset_index(),
                            polygons=None, lines=pd.DataFrame(), attributions=[])
    key = pipeline.dataset_key(services)
    files = [("lms_2026.csv", "Navn;Sted\nDrøbak;Drøbak\nSeljord;Seljord\nFeil;\n"
              .encode("cp1252")), ("tom.csv", b"")]
    upload = pipeline.apply_upload(data, files, organisation="lms", mode="replace")
    assert upload.problems == ["tom.csv: tom fil"]
    assert upload.data is not None and upload.dataset is not None
    assert upload.data.services is not services and upload.data.grid is grid
    lms = upload.data.services[upload.data.services["organisation"] == "lms"]
    assert list(lms["name"]) == ["Drøbak", "Seljord"]
    assert upload.dataset.import_report[["row", "field"]].values.tolist() == [[4, "place"]]
    assert upload.then_and_now is not None
    assert upload.then_and_now.counts.set_index("organisation").loc["lms", "gone"] == 42
    assert pipeline.dataset_key(upload.data.services) != key
    assert pipeline.dataset_key(services) == key  # the shared data untouched
    figures = pipeline.kommune_figures(upload.data, "4022", "lms")
    assert figures["groups_in_kommune"] == 1
    nothing = pipeline.apply_upload(data, [("tom.csv", b"")])
    assert nothing.data is None and nothing.problems == ["tom.csv: tom fil"]


def test_pipeline_messages_have_norwegian():
    for message in ("not placed (no place, kommune, old kommune or alias named 'X'); listed "
                    "in unresolved.csv",
                    "looks like the same group as 'A' (a.csv, row 2): same organisation and "
                    "place"):
        assert importers.norwegian(message), message


def test_duplicates_are_shown_and_left_out_unless_kept(road_network, grid, services, kommuner,
                                                       gazetteer):
    data = pipeline.AppData(gazetteer=gazetteer, grid=grid, network=road_network,
                            services=services, kommuner=kommuner.reset_index(),
                            polygons=None, lines=pd.DataFrame(), attributions=[])
    files = [("al_anon.csv", "Navn;Sted\nAl-Anon Seljord;Seljord\nAl-Anon Seljord;Seljord\n"
              "Bodø;Bodø\nAl-Anon Ål;Ål\n".encode())]
    upload = pipeline.apply_upload(data, files, organisation="al_anon", mode="add")
    assert upload.data is not None and upload.dataset is not None
    mine = upload.data.services[upload.data.services["id"].str.startswith("imp-")]
    assert list(mine["status"]) == ["geocoded", "duplicate", "duplicate", "geocoded"]
    # The second Seljord row repeats the first; "Bodø" repeats the 2007 group in Bodø.
    assert mine["duplicate_of"].iloc[1] == mine["id"].iloc[0]
    assert mine["duplicate_of"].iloc[2] == "alanon-005"
    report = upload.dataset.import_report
    assert report["problem"].str.contains("left out").sum() == 2
    assert report["problem_nb"].str.contains("ikke tatt med").sum() == 2
    # A search near Seljord lists the group once; the kommune counts it once.
    answer = pipeline.answer_search(upload.data, 59.49, 8.63, n=10)
    assert list(answer.nearest["name"]).count("Al-Anon Seljord") == 1
    assert pipeline.kommune_figures(upload.data, "4022", "al_anon")["groups_in_kommune"] == 1
    assert upload.then_and_now is not None
    counts = upload.then_and_now.counts.set_index("organisation")
    kept = pipeline.apply_upload(data, files, organisation="al_anon", mode="add",
                                 keep_duplicates=True)
    assert kept.data is not None and kept.then_and_now is not None
    assert (kept.data.services["status"] == "duplicate").sum() == (
        services["status"] == "duplicate").sum()
    kept_counts = kept.then_and_now.counts.set_index("organisation")
    assert kept_counts.loc["al_anon", "new"] == counts.loc["al_anon", "new"] + 1
