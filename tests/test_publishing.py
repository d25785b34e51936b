"""Publishing from the command line, the dataset built from the published lists, the feed."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from tilbudskart import (
    appdata,
    cli,
    dataset,
    feed,
    importers,
    pipeline,
    published,
    registry,
    settings,
)
from tilbudskart.store import open_store

LIST = ("navn;sted;organisasjon;postnummer;lenke\n"
        "Al-Anon Tromsø;Tromsø;Al-Anon;9008;\n"
        "Al-Anon Alta;Alta;Al-Anon;9510;\n"
        "Al-Anon nett;;Al-Anon;;https://meet.example.org/alanon\n")


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "state"
    monkeypatch.setenv("TILBUDSKART_STATE_DIR", str(folder))
    monkeypatch.delenv("TILBUDSKART_DATABASE_URL", raising=False)
    monkeypatch.delenv("TILBUDSKART_STEWARD_KEY", raising=False)
    return folder


def steward_key(capsys: pytest.CaptureFixture[str], organisation: str = "al_anon") -> str:
    assert cli.main(["steward", "add", organisation]) == 0
    out = capsys.readouterr()
    assert "shown this once" in out.err
    return out.out.strip()


def a_file(tmp_path: Path, text: str = LIST, name: str = "alanon.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_publish_history_and_rollback_from_the_command_line(
        state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    key = steward_key(capsys)
    assert key.startswith("st-") and "." in key
    assert cli.main(["steward", "list"]) == 0
    listing = capsys.readouterr().out
    assert key.split(".")[0] in listing and key not in listing
    monkeypatch.setenv("TILBUDSKART_STEWARD_KEY", key)
    caplog.set_level(logging.DEBUG)
    path = a_file(tmp_path)
    assert cli.main(["-vv", "publish", str(path), "--organisation", "al_anon"]) == 0
    out = capsys.readouterr()
    assert "Published al_anon version 1: 3 rows" in out.out
    assert "replaces version 0" in out.out and "No longer listed" in out.out
    assert key not in out.out + out.err + caplog.text
    assert cli.main(["history", "--organisation", "al_anon"]) == 0
    history = capsys.readouterr().out.splitlines()
    assert history[1].split()[:2] == ["al_anon", "0"]
    assert history[2].split()[:2] == ["al_anon", "1"] and "alanon.csv" in history[2]
    assert cli.main(["rollback", "al_anon", "0"]) == 0
    assert "version 2: the rows of version 0 again" in capsys.readouterr().out
    store = open_store()
    assert store.latest()["al_anon"].rows_from == 0


@pytest.mark.parametrize(("key", "why"), [
    ("st-00000000.nope", "refused: the steward key is wrong"),
    (None, "refused: no steward key"),
])
def test_refusals_are_one_line_and_status_2(state: Path, tmp_path: Path, key: str | None,
                                             why: str, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from tilbudskart import publishing

    monkeypatch.setattr(publishing, "WRONG_KEY_PAUSE", 0.0)
    if key:
        monkeypatch.setenv("TILBUDSKART_STEWARD_KEY", key)
    assert cli.main(["publish", str(a_file(tmp_path)), "--organisation", "al_anon"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(why) and len(err.strip().splitlines()) == 1
    assert open_store().head() == 0


def test_a_list_with_row_errors_is_refused_before_any_key(
        state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = a_file(tmp_path, LIST + "Al-Anon Bodø;Bodø;Al-Anon;12;\n")
    assert cli.main(["publish", str(path), "--organisation", "al_anon"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "alanon.csv, row 5, field 'postcode'" in err and "cannot be published" in err
    assert cli.main(["rollback", "al_anon", "1"]) == 2  # no key in a pipe


def test_the_dataset_is_built_from_the_published_lists(
        state: Path, road_network: object) -> None:
    store = open_store()
    _, key = store.add_steward("al_anon")
    result = importers.import_bytes(LIST.encode(), "alanon.csv")
    version = store.publish(result, "al_anon", key, "a" * 64)
    lists = published.read_published(store)
    assert lists.head == version.id and lists.organisations == {"al_anon"}
    dataset = pipeline.build_dataset(road_network=road_network, lists=lists)
    al_anon = dataset.services[dataset.services["organisation"] == "al_anon"]
    assert sorted(al_anon["name"]) == ["Al-Anon Alta", "Al-Anon Tromsø", "Al-Anon nett"]
    base = registry.load_registry()
    lms = dataset.services[dataset.services["organisation"] == "lms"]
    assert len(lms) == int((base["organisation"] == "lms").sum())
    dates = published.registry_dates(dataset)
    today = version.published_at
    assert today is not None
    months = ["januar", "februar", "mars", "april", "mai", "juni", "juli", "august",
              "september", "oktober", "november", "desember"]
    name = settings.ORGANISATIONS["al_anon"]
    assert dates["al_anon"].text_nb() == (f"{name}: lista er oppdatert {today.day}. "
                                          f"{months[today.month - 1]} {today.year}")
    assert dates["lms"].text_nb().endswith(": fra rapporten, 2007")
    # The kommune table counts the published groups, not the 2007 ones.
    before = pipeline.build_dataset(road_network=road_network, lists=False)
    assert not before.kommuner["km_al_anon"].equals(dataset.kommuner["km_al_anon"])


def test_an_unreachable_store_leaves_the_2007_rows_with_a_notice(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TILBUDSKART_DATABASE_URL", "postgresql://x:secret@127.0.0.1:9/none")
    lists = published.read_published()
    assert lists.results == [] and lists.head is None
    assert lists.notice is not None and "cannot be reached" in lists.notice
    assert "secret" not in lists.notice


def test_the_meeting_guide_feed_reads_back_as_the_same_groups(
        services: pd.DataFrame) -> None:
    updated = {"lms": "2026-12-04 10:00:00"}
    payload = feed.export_bytes(services, "meeting-guide", updated)
    meetings = json.loads(payload)
    assert all({"name", "slug"} <= set(m) for m in meetings)
    assert {m["updated"] for m in meetings if m["organisation"] == "lms"} == {updated["lms"]}
    back = importers.import_bytes(payload, "feed.json")
    assert back.format == "meeting-guide"
    assert not (back.report["severity"] == importers.ERROR).any(), back.report
    sent = {(m["organisation"], m["name"], m["city"]) for m in meetings}
    read = set(zip(back.services["organisation"], back.services["name"],
                   back.services["place"], strict=True))
    assert read == sent and len(back.services) == len(meetings)
    groups = registry.counted(services)
    groups = groups[(groups["kind"] == "self_help") & (groups["status"] == "geocoded")]
    assert len(meetings) == len(groups)


def test_csv_and_geojson_exports(services: pd.DataFrame) -> None:
    csv = feed.export_bytes(services, "csv")
    assert csv.startswith("\ufeff".encode()) and b"kommunenummer" in csv.splitlines()[0]
    collection = json.loads(feed.export_bytes(services, "geojson"))
    assert len(collection["features"]) == len(services)
    assert any(f["geometry"] is None for f in collection["features"])  # unplaced rows kept


def test_live_data_swaps_whole_data_when_the_store_moves_on() -> None:
    class Data:
        def __init__(self, head: int):
            self.registry_head = head

    heads = iter([1, 2, 2, None])
    live = published.LiveData(Data(1), lambda old: Data(2), lambda: next(heads))
    first, generation = live.current()
    assert live.check() is False and live.current()[0] is first
    assert live.check() is True
    data, generation = live.current()
    assert data.registry_head == 2 and generation == 1
    assert live.check() is False  # head 2 again: nothing to do
    assert live.check() is False and live.current()[0] is data  # store gone: keep it

    # Data served while the store was away is rebuilt once it is back, head unchanged.
    away = Data(2)
    away.store_notice = "unreachable"
    live = published.LiveData(away, lambda old: Data(2), lambda: 2)
    assert live.check() is True and getattr(live.current()[0], "store_notice", None) is None


def test_list_dates_of_a_rollback_are_the_first_publish(state: Path) -> None:
    store = open_store()
    _, key = store.add_steward("al_anon")
    result = importers.import_bytes(LIST.encode(), "alanon.csv")
    first = store.publish(result, "al_anon", key, "a" * 64)
    store.publish(importers.import_bytes(LIST.encode(), "b.csv"), "al_anon", key, "b" * 64)
    store.rollback("al_anon", 1, key)
    dates = published.read_published(store).dates
    assert dates["al_anon"].version == 3 and dates["al_anon"].published_at == first.published_at
    assert isinstance(dates["al_anon"].published_at, dt.datetime)


def test_reports_and_build_summary_say_how_old_each_list_is(dataset) -> None:
    import dataclasses
    import io

    from pypdf import PdfReader

    from tilbudskart import report

    when = dt.datetime(2026, 12, 4, 9, 30, tzinfo=dt.UTC)
    dates = {**published.report_dates(), "al_anon": published.ListDate("al_anon", 3, when)}
    summary = pipeline.summary(dataclasses.replace(dataset, list_dates=dates))
    assert "Lists in force: al_anon version 3 of 2026-12-04; the others from the 2007 " \
           "report" in summary
    data = dataclasses.replace(pipeline.load_app_data(), list_dates=dates)
    pdf = report.kommune_report(report.ReportData.from_app_data(data), "3431")
    text = " ".join(" ".join(page.extract_text().split())
                    for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "lista er oppdatert 4. desember 2026" in text
    assert "LMS" in text and "fra rapporten, 2007" in text


def test_compare_any_two_versions(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = open_store()
    _, key = store.add_steward("al_anon")
    store.publish(importers.import_bytes(LIST.encode(), "alanon.csv"), "al_anon", key,
                  "a" * 64)
    assert cli.main(["compare", "al_anon@0", "al_anon@1"]) == 0
    out = capsys.readouterr().out
    assert "Groups, al_anon@0 → al_anon@1" in out
    counts = next(line for line in out.splitlines() if line.strip().startswith("al_anon "))
    # Tromsø is in both; the other 51 of 2007 are gone; Alta and the online group are new.
    assert counts.split()[1:] == ["1", "0", "51", "2"]
    assert cli.main(["compare", "2007", "al_anon@9"]) == 2
    assert "al_anon has no version 9" in capsys.readouterr().err


def test_hostile_lists_stay_text_or_are_refused(state: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store()
    _, key = store.add_steward("al_anon")
    hostile = ('navn;sted;organisasjon\n'
               '"=HYPERLINK(""http://evil.example"",""klikk"")";Alta;Al-Anon\n'
               '**fet** [lenke](javascript:alert(1)) <script>x</script>;Tromsø;Al-Anon\n')
    result = importers.import_bytes(hostile.encode(), "hostile.csv")
    store.publish(result, "al_anon", key, "a" * 64)
    rows = store.rows(store.latest()["al_anon"])
    assert rows["name"].str.contains("<script>").any()  # kept as text, not cleaned away
    lists = published.read_published(store)
    services = lists.results[0].services.assign(status="geocoded", lat=70.0, lon=23.0)
    back = importers.import_bytes(feed.export_bytes(services, "meeting-guide"), "feed.json")
    assert sorted(back.services["name"]) == sorted(rows["name"])
    csv = feed.export_bytes(services, "csv").decode("utf-8-sig")
    assert "'=HYPERLINK" in csv and "\n=HYPERLINK" not in csv
    # A file over the upload limit is refused in one line, before any key is asked for.
    big = tmp_path / "big.csv"
    big.write_bytes(b"navn;sted;organisasjon\n" + b"x;Alta;Al-Anon\n" * 400_000)
    assert cli.main(["publish", str(big), "--organisation", "al_anon"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "too big" in err


def test_an_unreachable_store_at_start_serves_the_last_built_data(
        state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "cache"
    monkeypatch.setattr(appdata, "_LOADED", {})
    built = pipeline.load_app_data(folder=folder)
    assert built.store_notice is None and built.registry_head == 0
    monkeypatch.setattr(appdata, "_LOADED", {})
    monkeypatch.setenv("TILBUDSKART_DATABASE_URL", "postgresql://x:secret@127.0.0.1:9/none")
    served = pipeline.load_app_data(folder=folder)
    assert served.store_notice is not None and "cannot be reached" in served.store_notice
    assert "secret" not in served.store_notice
    assert served.services["id"].tolist() == built.services["id"].tolist()


def test_nearest_searches_the_published_lists(state: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    store = open_store()
    _, key = store.add_steward("al_anon")
    listing = "navn;sted;organisasjon\nAl-Anon Vardø;Vardø;Al-Anon\n".encode()
    store.publish(importers.import_bytes(listing, "vardo.csv"), "al_anon", key, "a" * 64)
    assert cli.main(["nearest", "Vardø", "--org", "al_anon", "-n", "1"]) == 0
    assert "Al-Anon Vardø (al_anon, Vardø)" in capsys.readouterr().out


def test_an_upload_replaces_the_published_list_in_force() -> None:
    import dataclasses

    data = pipeline.load_app_data()
    when = dt.datetime(2026, 12, 4, tzinfo=dt.UTC)
    published_row = data.services[data.services["organisation"] == "al_anon"].iloc[:1].assign(
        id="imp-alanon-1", name="Al-Anon publisert")
    shown = dataclasses.replace(
        data, services=dataset._concat_services(
            data.services[data.services["organisation"] != "al_anon"], published_row),
        list_dates={**data.list_dates, "al_anon": published.ListDate("al_anon", 1, when)})
    listing = "navn;sted;organisasjon\nAl-Anon Vardø;Vardø;Al-Anon\n".encode()
    upload = pipeline.apply_upload(shown, [("vardo.csv", listing)], "al_anon", "replace")
    assert upload.data is not None
    names = upload.data.services.loc[upload.data.services["organisation"] == "al_anon", "name"]
    assert list(names) == ["Al-Anon Vardø"]
