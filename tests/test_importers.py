"""Imported lists: formats people have, every row accounted for, bad input named."""

from __future__ import annotations

import io
import json

import openpyxl
import pandas as pd
import pytest

from tilbudskart import csvsafe, importers, registry
from tilbudskart import settings as project_settings

NORWEGIAN_EXCEL = (
    "Navn;Organisasjon;Postnummer;Sted;Telefon;E-post\r\n"
    "Pårørendegruppe Ål;LMS;3570;Ål;32 08 00 00;aal@example.no\r\n"
    "Al-Anon Tromsø;Al-Anon;9008;Tromsø;;\r\n"
).encode("cp1252")


def read(text: str | bytes, name: str = "liste.csv", **kwargs) -> importers.ImportResult:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return importers.import_bytes(data, name, **kwargs)


def problems(result: importers.ImportResult) -> list[tuple[object, str, str]]:
    """Row problems as (row, field, severity); file-level notes (no row) left out."""
    return [(int(r.row), r.field, r.severity) for r in result.report.itertuples()
            if pd.notna(r.row)]


# -- formats ---------------------------------------------------------------------------------


def test_norwegian_excel_csv_is_read_and_the_choice_reported():
    result = read(NORWEGIAN_EXCEL)
    assert (result.format, result.encoding, result.separator) == ("csv", "Windows-1252", ";")
    assert "separator ';' (detected)" in result.describe()
    assert "Windows-1252" in result.describe()
    assert list(result.services["name"]) == ["Pårørendegruppe Ål", "Al-Anon Tromsø"]
    assert list(result.services["organisation"]) == ["lms", "al_anon"]
    assert list(result.services["postcode"]) == ["3570", "9008"]
    assert result.services.loc[0, "email"] == "aal@example.no"
    assert list(result.services["source_row"]) == [2, 3]
    assert result.report.empty


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_encodings_and_separators(encoding, sep):
    text = sep.join(["name", "organisation", "place"]) + "\n" + sep.join(
        ["Gruppe Førde", "familieklubbene", "Førde"]) + "\n"
    result = read(text.encode(encoding))
    assert result.separator == sep
    assert result.services.loc[0, "name"] == "Gruppe Førde"
    assert result.services.loc[0, "place"] == "Førde"


def test_xlsx_is_read_with_spreadsheet_row_numbers_and_leading_zeros_restored():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Liste over grupper 2026"])  # a title row above the header
    sheet.append([])
    sheet.append(["navn", "organisasjon", "postnummer", "sted", "breddegrad", "lengdegrad"])
    sheet.append(["Oslo sentrum", "lms", 150, "Oslo", None, None])  # Excel dropped the 0
    sheet.append(["Feil", "lms", 99999, "", None, None])
    sheet.append(["Koordinater", "lms", None, None, 59.9, 10.75])
    buffer = io.BytesIO()
    book.save(buffer)
    # The title row is read as the header: no 'navn' column, named clearly.
    with pytest.raises(importers.ImportFileError, match="navn/name"):
        importers.import_bytes(buffer.getvalue(), "grupper.xlsx")
    sheet.delete_rows(1)
    buffer = io.BytesIO()
    book.save(buffer)
    result = importers.import_bytes(buffer.getvalue(), "grupper.xlsx")
    assert result.format == "xlsx"
    assert list(result.services["name"]) == ["Oslo sentrum", "Koordinater"]
    assert result.services.loc[0, "postcode"] == "0150"
    assert result.services.loc[1, "lat"] == pytest.approx(59.9)
    assert problems(result) == [(3, "postcode", "warning"), (4, "postcode", "error")]


MEETING_GUIDE = [
    {"name": "Mandagsgruppa", "slug": "mandag", "day": 1, "time": "19:00",
     "location": "Frivillighetssentralen", "address": "Storgata 1", "city": "Tromsø",
     "postal_code": "9008", "latitude": 69.6496, "longitude": 18.956, "types": ["O"],
     "attendance_option": "in_person"},
    {"name": "Nettmøte", "day": [2, 4], "time": "20:00",
     "conference_url": "https://example.org/j/123", "attendance_option": "online",
     "types": ["ONL"]},
    {"name": "Hybrid Bergen", "day": 3, "time": "18:30", "city": "Bergen",
     "conference_url": "https://example.org/j/456", "attendance_option": "hybrid"},
    {"name": "Stengt", "city": "Oslo", "attendance_option": "inactive"},
    {"name": "Null Island", "latitude": 0, "longitude": 0},
    "not a meeting",
]


def test_meeting_guide_feed():
    result = read(json.dumps(MEETING_GUIDE), "feed.json", organisation="al_anon")
    assert result.format == "meeting-guide"
    used = result.services.set_index("name")
    assert list(used.index) == ["Mandagsgruppa", "Nettmøte", "Hybrid Bergen"]
    assert list(used["attendance"]) == ["physical", "online", "hybrid"]
    assert used.loc["Mandagsgruppa", "note"] == ("Møtetid: mandag 19:00; Lokale: "
                                                 "Frivillighetssentralen")
    assert used.loc["Nettmøte", "note"] == "Møtetid: tirsdag, torsdag 20:00"
    assert used.loc["Nettmøte", "url"] == "https://example.org/j/123"
    assert used["organisation"].eq("al_anon").all()
    assert problems(result) == [(4, "attendance", "error"), (5, "lat", "error"),
                                (6, "", "error")]
    assert result.rejected == 3
    # slug is a field of the spec (the meeting's key): the first meeting's id, no warning.
    assert result.report[result.report["row"].isna()].empty
    assert used.loc["Mandagsgruppa", "id"] == "mandag"


def test_a_format_column_marks_online_meetings():
    result = read("navn,organisasjon,sted,møteform\nA,lms,Oslo,fysisk\nB,lms,,på nett\n"
                  "C,lms,Bergen,hybrid\nD,lms,Oslo,kanskje\n")
    assert list(result.services["attendance"]) == ["physical", "online", "hybrid"]
    assert problems(result) == [(5, "attendance", "error")]


def test_organisation_from_the_choice_when_the_list_has_none():
    result = read("navn,sted\nGruppe,Alta\n", organisation="aca")
    assert result.services.loc[0, "organisation"] == "aca"
    with pytest.raises(importers.ImportFileError, match="organisasjon/organisation") as error:
        read("navn,sted\nGruppe,Alta\n")
    assert error.value.field == "organisation"
    with pytest.raises(importers.ImportFileError, match="unknown organisation"):
        read("navn,sted\nGruppe,Alta\n", organisation="aa")


# -- every row accounted for -------------------------------------------------------------------


def test_all_problems_of_all_rows_are_collected_and_good_rows_kept():
    text = ("name,organisation,postcode,place,lat,lon,id\n"
            "God,lms,,Oslo,,,\n"                      # 2 ok
            ",ukjent,99999,,,,\n"                     # 3 name, organisation, postcode, place
            "Null,lms,,,0,0,\n"                       # 4 (0,0)
            "Paris,lms,,,48.85,2.35,\n"               # 5 outside Norway (lat and lon)
            "Tekst,lms,,,nan,ti,\n"                   # 6 NaN and text
            "Halv,lms,,,60.1,,\n"                     # 7 lon missing
            "Id1,lms,,Bergen,,,x-1\n"                 # 8 ok
            "Id2,lms,,Bergen,,,x-1\n"                 # 9 duplicate id
            "Null-null,lms,0000,,,,\n"                # 10 postcode 0000, no place
            "<b>HTML</b> [md](javascript:x) =1+2,lms,,Oslo,,,\n")  # 11 ok: text is text
    result = read(text)
    assert problems(result) == [
        (3, "name", "error"), (3, "organisation", "error"), (3, "postcode", "error"),
        (4, "lat", "error"),
        (5, "lat", "error"), (5, "lon", "error"),
        (6, "lat", "error"), (6, "lon", "error"),
        (7, "lon", "error"),
        (9, "id", "error"),
        (10, "postcode", "error"),
    ]
    assert list(result.services["source_row"]) == [2, 8, 11]
    assert result.rows_read == 10 and result.rejected == 7
    assert result.services.loc[2, "name"] == "<b>HTML</b> [md](javascript:x) =1+2"
    assert set(result.report.columns) == set(importers.REPORT_COLUMNS)
    assert result.report["problem"].str.len().gt(0).all()


def test_unknown_postcode_with_a_place_is_a_warning_and_the_place_used():
    result = read("name,organisation,postcode,place\nA,lms,1234,Oslo\nB,lms,1234,\n",
                  known_postcodes={"0150"})
    assert list(result.services["name"]) == ["A"]
    assert result.services.loc[0, "postcode"] == ""
    assert problems(result) == [(2, "postcode", "warning"), (3, "postcode", "error")]


def test_long_cells_are_refused_per_field():
    result = read(f"name,organisation,place\n{'x' * 600},lms,Oslo\nOk,lms,Oslo\n")
    assert problems(result) == [(2, "name", "error")]
    assert "600 characters" in result.report.loc[0, "problem"]
    assert len(result.report.loc[0, "value"]) <= 80


def test_cells_beyond_the_header_are_a_problem():
    result = read("name,organisation,place\nA,lms,Oslo,ekstra\n")
    assert problems(result) == [(2, "", "error")]


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty file"),
    (b"  \n\n", "empty file"),
    (b"name,organisation,place\n", "header only"),
    (b"name,organisation,place\n\n\n", "header only"),
    (b"navn|organisasjon|sted\nA|lms|Oslo\n", "separator"),
    (b"organisation,place\nlms,Oslo\n", "navn/name"),
    (b"\x00\x01\x02binary" * 10, "not a text file"),
    (b"PK\x03\x04broken zip", "not a readable .xlsx"),
    (b"\xd0\xcf\x11\xe0old excel", ".xls"),
    (b"<!DOCTYPE html><html><body>x</body></html>", "web page"),
    (b"[1, 2", "not valid JSON"),
    (b'{"x": 1}', "not a Meeting Guide feed"),
    (b"x" * (importers.MAX_BYTES + 1), "file too big"),
])
def test_unreadable_files_are_named(data, message):
    with pytest.raises(importers.ImportFileError, match=message) as error:
        importers.import_bytes(data, "list.csv", organisation="lms")
    assert "list.csv" in str(error.value)
    assert importers.norwegian(error.value.reason)  # the app says it in Norwegian


def test_too_many_rows():
    text = "name,organisation,place\n" + "A,lms,Oslo\n" * 100_000
    with pytest.raises(importers.ImportFileError, match="20000 rows"):
        read(text[: importers.MAX_BYTES])


def test_ten_megabyte_cell_file(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("name,organisation,place\n" + "x" * 10_000_000 + ",lms,Oslo\n")
    with pytest.raises(importers.ImportFileError, match="file too big"):
        importers.import_file(path)


def test_a_folder_or_missing_file(tmp_path):
    with pytest.raises(importers.ImportFileError, match="folder"):
        importers.import_file(tmp_path)
    with pytest.raises(importers.ImportFileError, match="not found"):
        importers.import_file(tmp_path / "nope.csv")


# -- ids and duplicates ---------------------------------------------------------------------


def test_ids_never_collide_across_lists():
    text = "name,organisation,place\nA,lms,Oslo\nB,lms,Bergen\n"
    a, b = read(text, "a.csv"), read(text, "b.csv")
    c = read(text + "C,lms,Alta\n", "a.csv")
    ids = [*a.services["id"], *b.services["id"], *c.services["id"]]
    assert len(set(ids)) == len(ids) == 7
    assert all(registry._ID.fullmatch(i) for i in ids)
    assert list(read(text, "a.csv").services["id"]) == list(a.services["id"])  # stable
    services, report = importers.combine([a, b, c], taken=["lms-001"])
    assert len(services) == 7 and report.empty


def test_ids_taken_by_the_registry_are_reported():
    given = read("id,name,organisation,place\nlms-001,A,lms,Oslo\nny-1,B,lms,Oslo\n")
    services, report = importers.combine([given], taken=["lms-001"])
    assert list(services["id"]) == ["ny-1"]
    assert report[["row", "field", "severity"]].values.tolist() == [[2, "id", "error"]]
    assert report.loc[0, "problem_nb"].startswith("id-en er allerede brukt")


def test_duplicate_groups_are_flagged():
    result = read("name,organisation,place\nSeljord-gruppa,lms,Seljord\nSeljordgruppa,lms,"
                  "Seljord\nSeljordgruppa,al_anon,Seljord\nGruppe A,lms,Oslo\n"
                  "Gruppe B,lms,Oslo\n")
    flagged = importers.flag_duplicates(result.services)
    assert flagged[["row", "field", "severity"]].values.tolist() == [[3, "name", "warning"]]
    assert "Seljord-gruppa" in flagged.loc[0, "problem"]
    assert flagged.loc[0, "problem_nb"].startswith("ser ut som samme gruppe som 'Seljord-gruppa'")


# -- template and report ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_template_reads_back_without_problems(kind):
    data = importers.template_bytes(kind)
    result = importers.import_bytes(data, f"mal.{kind}")
    assert len(result.services) == 2 and result.report.empty
    assert list(result.services["attendance"]) == ["physical", "online"]
    assert list(importers.template().columns[:3]) == ["navn", "organisasjon", "sted"]


def test_report_csv_is_excel_safe(tmp_path):
    result = read("name,organisation,place\nA,=HYPERLINK(\"http://x\"),Oslo\nB,@SUM(1),Oslo\n")
    assert result.report["value"].tolist() == ['=HYPERLINK("http://x")', "@SUM(1)"]
    path = tmp_path / "import_report.csv"
    importers.write_report(result.report, path)
    report = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
    assert report["row"].tolist() == ["2", "3"]
    assert report["value"].tolist() == ['\'=HYPERLINK("http://x")', "'@SUM(1)"]
    assert not any(str(v).startswith(("=", "+", "@")) for v in report.to_numpy().ravel())


# -- Excel-safe CSV ------------------------------------------------------------------------------


@pytest.mark.parametrize(("cell", "safe"), [
    ("=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("@SUM(1+1)", "'@SUM(1+1)"),
    ("-cmd", "'-cmd"),
    ("-2+3", "'-2+3"),
    ("\tx", "'\tx"),
    ("\rx", "'\rx"),
    ("\uff1d1+1", "'\uff1d1+1"),
    ("\uff0bcmd", "'\uff0bcmd"),
    ("\uff20SUM(1)", "'\uff20SUM(1)"),
    ("\uff0d2+3", "'\uff0d2+3"),
    ("-1.5", "-1.5"),
    ("-15", "-15"),
    ("-.5", "-.5"),
    ("Oslo", "Oslo"),
    ("a=b", "a=b"),
    ("", ""),
])
def test_excel_safe_text(cell, safe):
    assert csvsafe.excel_safe_text(cell) == safe


def test_excel_safe_keeps_numbers(tmp_path):
    frame = pd.DataFrame({"km": [-1.5, 2.0], "name": ["=1+2", "-x"], "=col": ["a", "b"]})
    path = tmp_path / "t.csv"
    csvsafe.to_csv(frame, path)
    assert path.read_text().splitlines() == ["km,name,'=col", "-1.5,'=1+2,a", "2.0,'-x,b"]


# -- fuzz: generated broken files -------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # noqa: E402

_COLUMNS = ["navn", "name", "organisasjon", "organisation", "sted", "place", "postnummer",
            "postcode", "lat", "lon", "id", "fylke", "møteform", "conference_url", "e-post",
            "telefon", "year", "kind", "x", "", "Navn ", "NAVN", "=cmd", "<b>h</b>"]
_CELLS = st.one_of(
    st.sampled_from(["Oslo", "Seljord", "lms", "al_anon", "LMS", "Al-Anon", "ukjent", "",
                     "0000", "99999", "320", "3840", "0", "0,0", "nan", "NaN", "inf", "-1.5",
                     "59,9", "10.7", "48.85", "200", "x-1", "x-1", "Xyz", "nett", "hybrid",
                     "fysisk", "kanskje", "=HYPERLINK(\"http://x\")", "+cmd|' /C calc'!A0",
                     "@SUM(1)", "-2+3", "<script>alert(1)</script>", "**bold** [a](b)",
                     "\t=1", "\r=1", "Ål;Bø", "a,b", '"quoted"', "\u200bAlta", "æøå"]),
    st.text(max_size=30),
    st.text(alphabet="x", min_size=490, max_size=520),
)


@st.composite
def broken_files(draw: st.DrawFn) -> bytes:
    columns = draw(st.lists(st.sampled_from(_COLUMNS), min_size=0, max_size=8))
    rows = draw(st.lists(st.lists(_CELLS, min_size=0, max_size=10), max_size=12))
    kind = draw(st.sampled_from(["csv", "csv", "csv", "json", "xlsx", "bytes"]))
    if kind == "json":
        items = [dict(zip(columns, row, strict=False)) for row in rows]
        payload = draw(st.sampled_from([items, {"meetings": items}, items[:1], "x", [1]]))
        return json.dumps(payload).encode()
    if kind == "xlsx":
        book = openpyxl.Workbook()
        sheet = book.active
        for record in [columns, *rows]:
            sheet.append([ILLEGAL_CHARACTERS_RE.sub("", c) for c in record])
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    sep = draw(st.sampled_from([",", ";", "\t", "|"]))
    quote = draw(st.booleans())
    lines = [sep.join(f'"{c}"' if quote else c for c in record) for record in [columns, *rows]]
    text = draw(st.sampled_from(["\n", "\r\n"])).join(lines)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    data = text.encode(encoding, errors="replace")
    cut = draw(st.integers(min_value=0, max_value=len(data)))
    return data[:cut] if draw(st.booleans()) else data


@settings(max_examples=250, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=broken_files(), organisation=st.sampled_from([None, "lms"]))
def test_fuzz_broken_files_never_raise_and_every_row_is_accounted_for(data, organisation):
    try:
        result = importers.import_bytes(data, "fuzz.csv", organisation=organisation)
    except importers.ImportFileError as error:
        assert str(error).startswith("fuzz.csv")
        assert importers.norwegian(error.reason), error.reason
        return
    report = result.report
    assert list(report.columns) == list(importers.REPORT_COLUMNS)
    assert report["problem"].str.len().gt(0).all()
    assert all(importers.norwegian(p) for p in report["problem"]), list(report["problem"])
    errors = report[(report["severity"] == importers.ERROR) & report["row"].notna()]
    used = set(result.services["source_row"].astype(int))
    rejected = set(errors["row"].astype(int))
    assert not used & rejected
    assert len(used) + len(rejected) == result.rows_read
    services = result.services
    assert services["name"].str.len().gt(0).all()
    assert services["organisation"].isin(list(project_settings.ORGANISATIONS)).all()
    assert services["id"].is_unique
    if len(services):  # the rows meet every rule of the registry
        registry.validate(services.drop(columns=["registry_file", "source_row"]).astype(
            {"lat": str, "lon": str}).replace("nan", ""), "fuzz.csv")
    for column in services.columns:
        assert services[column].map(
            lambda v: not isinstance(v, str) or len(v) <= importers.MAX_CELL_CHARS).all()


def test_norwegian_summary_for_the_app():
    result = read(NORWEGIAN_EXCEL)
    assert result.describe_nb() == ("CSV, tegnsett Windows-1252, skilletegn semikolon (funnet "
                                    "automatisk); 2 rader: 2 brukt, 0 avvist, 0 merknader")


# -- column names: Norwegian headings and the Meeting Guide spec ---------------------------

#: Every field of the Meeting Guide spec (github.com/code4recovery/spec, README).
MEETING_GUIDE_FIELDS = (
    "name", "slug", "day", "time", "end_time", "timezone", "formatted_address", "address",
    "city", "state", "postal_code", "country", "region", "sub_region", "regions",
    "conference_url", "conference_url_notes", "conference_phone", "conference_phone_notes",
    "types", "notes", "location", "location_notes", "latitude", "longitude", "approximate",
    "updated", "group", "group_notes", "venmo", "square", "paypal", "url", "edit_url",
    "feedback_url", "entity", "entity_email", "entity_feedback_emails", "entity_location",
    "entity_logo", "entity_phone", "entity_website_url",
    *(f"contact_{n}_{part}" for n in (1, 2, 3) for part in ("name", "email", "phone")),
)


def test_norwegian_headings_keep_every_column():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Navn", "Møtedag", "Møtetid", "Adresse", "Postnummer", "Poststed",
                  "Kontakt", "Telefon", "E-post", "Nettside"])
    sheet.append(["Pårørendegruppe Seljord", "Mandag", "19:00", "Brøløsvegen 1", "3840",
                  "Seljord", "Kari", "35 00 00 00", "seljord@example.no",
                  "https://example.no/seljord"])
    buffer = io.BytesIO()
    book.save(buffer)
    result = importers.import_bytes(buffer.getvalue(), "liste.xlsx", organisation="lms")
    assert result.report.empty, result.report[["field", "problem"]].to_dict("records")
    row = result.services.iloc[0]
    assert (row["address"], row["place"], row["postcode"]) == ("Brøløsvegen 1", "Seljord",
                                                                "3840")
    assert (row["phone"], row["email"], row["url"]) == (
        "35 00 00 00", "seljord@example.no", "https://example.no/seljord")
    assert "Møtetid: Mandag 19:00" in row["note"] and "Kontakt: Kari" in row["note"]


@pytest.mark.parametrize("heading", ["Klokkeslett", "Tidspunkt", "Møtetid"])
def test_every_norwegian_time_heading_is_the_meeting_time(heading):
    result = read(f"Navn;Sted;{heading}\nGruppe Ål;Ål;18:30\n", organisation="lms")
    assert result.report.empty
    assert "Møtetid: 18:30" in result.services.loc[0, "note"]


def test_every_meeting_guide_field_is_recognised():
    meeting = {key: "" for key in MEETING_GUIDE_FIELDS}
    meeting.update(name="Al-Anon Seljord", slug="al-anon-seljord", day=1, time="19:00",
                   end_time="20:30", city="Seljord", postal_code="3840", country="NO",
                   group="Seljord-gruppa", location_notes="Inngang fra baksiden",
                   contact_1_name="Kari", types=["O"])
    result = read(json.dumps([meeting]), "feed.json", organisation="al_anon")
    unknown = result.report[result.report["problem"].str.contains("unknown name")]
    assert unknown.empty, list(unknown["field"])
    assert not result.report["problem"].str.contains("second column").any()
    row = result.services.iloc[0]
    assert row["id"] == "al-anon-seljord" and row["name"] == "Al-Anon Seljord"
    assert "Møtetid: mandag 19:00–20:30" in row["note"].replace("Mandag", "mandag")
    for text in ("Gruppe: Seljord-gruppa", "Om lokalet: Inngang fra baksiden",
                 "Kontakt: Kari"):
        assert text in row["note"]


def test_an_unknown_column_is_still_reported():
    result = read("Navn;Sted;Hemmelig\nGruppe Ål;Ål;x\n", organisation="lms")
    assert list(result.report["problem"]) == ["column not used (unknown name)"]
