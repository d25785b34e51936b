"""Downloads of the kommune table: .xlsx, Norwegian CSV and GeoPackage, read back."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pandas as pd
import pyogrio
import pytest

from tilbudskart import datasources, pipeline, settings
from tilbudskart.views import exports, measures, tables


@pytest.fixture(scope="module")
def app_data() -> pipeline.AppData:
    return pipeline.load_app_data()


@pytest.fixture(scope="module")
def al_anon(app_data: pipeline.AppData) -> pd.DataFrame:
    return pipeline.organisation_table(app_data, "al_anon")


def _file(app_data: pipeline.AppData, organisation: str | None, fmt: str,
          measure: str = "km", fylker: tuple[str, ...] = ()) -> bytes:
    return exports.kommune_table_file(
        pipeline.organisation_table(app_data, organisation), app_data.polygons, organisation,
        measure, fmt, fylker, datasources.attributions())


def test_xlsx_has_numbers_norwegian_headings_and_sources(app_data):
    book = openpyxl.load_workbook(io.BytesIO(_file(app_data, None, "xlsx", "min")))
    assert book.sheetnames == ["Kommuner", "Om tabellen"]
    sheet = book["Kommuner"]
    rows = list(sheet.iter_rows(values_only=True))
    headings = list(rows[0])
    assert headings[:6] == ["Kommunenr.", "Kommune", "Fylke", "Innbyggere",
                            "Km til nærmeste gruppe", "Kjøretid (min)"]
    assert len(rows) == 1 + 357
    body = pd.DataFrame(rows[1:], columns=headings)
    seljord = body[body["Kommune"] == "Seljord"].iloc[0]
    assert seljord["Kommunenr."] == "4022"  # a number as text keeps its leading zero
    raw = next(r for r in rows if r[1] == "Seljord")
    assert isinstance(raw[3], int) and raw[3] == seljord["Innbyggere"] == 2979
    assert isinstance(raw[4], float)  # a number, not text
    # Sorted by drive time, farthest first (empty cells, no route, last).
    minutes = body["Kjøretid (min)"].dropna()
    assert minutes.is_monotonic_decreasing
    cell = sheet.cell(row=2, column=headings.index("Km til nærmeste gruppe") + 1)
    assert cell.number_format == "#,##0.0"
    about = dict(book["Om tabellen"].iter_rows(min_row=2, max_col=2, values_only=True))
    assert "2024" in about["Innbyggere"] and "2007" in about["Grupper"]
    sources = [v for k, v in book["Om tabellen"].iter_rows(min_row=2, values_only=True)
               if k == "Kilde"]
    assert any("Kartverket" in s for s in sources)


def test_xlsx_keeps_formula_like_text_as_text(tmp_path: Path):
    table = pd.DataFrame({"Navn": ["=HYPERLINK(\"x\")", "Os"], "Km": [1.5, float("nan")]})
    data = exports.xlsx_bytes(table, pd.DataFrame({"Felt": ["a"], "Verdi": ["@b"]}),
                              {"Km": 1})
    sheet = openpyxl.load_workbook(io.BytesIO(data))["Kommuner"]
    assert sheet["A2"].value == "=HYPERLINK(\"x\")" and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == 1.5 and sheet["B3"].value is None  # empty, not "nan"


def test_csv_is_for_norwegian_excel(app_data):
    data = _file(app_data, "al_anon", "csv", fylker=("Vestland",))
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads æøå
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Kommunenr.;Kommune;Fylke;Innbyggere;")
    frame = pd.read_csv(io.StringIO(text), sep=";", decimal=",", dtype={"Kommunenr.": str})
    assert set(frame["Fylke"]) == {"Vestland"}
    assert pd.api.types.is_float_dtype(frame["Km til nærmeste gruppe"])
    tysnes = frame[frame["Kommune"] == "Tysnes"].iloc[0]
    assert tysnes["Km til nærmeste gruppe"] == pytest.approx(44.8)
    assert ";44,8;" in text  # a decimal comma, not a point
    assert tysnes["Gruppens organisasjon"] == settings.ORGANISATIONS["al_anon"]


def test_csv_neutralises_formulas():
    data = exports.csv_bytes_nb(pd.DataFrame({"Navn": ["=1+2", "-x"], "Km": [1.25, -2.0]}))
    rows = data.decode("utf-8-sig").splitlines()
    assert rows[1:] == ["'=1+2;1,25", "'-x;-2,0"]


def test_geopackage_has_the_same_headings_and_what_it_is(app_data, tmp_path: Path):
    path = tmp_path / "k.gpkg"
    path.write_bytes(_file(app_data, "lms", "gpkg"))
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert layers == {"kommuner", "om_tabellen"}
    frame = pyogrio.read_dataframe(path, layer="kommuner")
    sheet = openpyxl.load_workbook(io.BytesIO(_file(app_data, "lms", "xlsx")))["Kommuner"]
    assert [c for c in frame.columns if c != "geometry"] == [c.value for c in sheet[1]]
    assert len(frame) == 357 and frame.geometry.notna().all()
    about = pyogrio.read_dataframe(path, layer="om_tabellen")
    assert "Gjelder" in set(about["Felt"]) and "LMS" in " ".join(about["Verdi"])


def test_file_names_carry_organisation_and_measure():
    assert exports.table_filename("al_anon", "min", "xlsx") == (
        "tilbudskart_kommuner_al-anon_min.xlsx")
    assert exports.table_filename(None, "km", "gpkg") == (
        "tilbudskart_kommuner_alle-grupper_km.gpkg")
    with pytest.raises(ValueError, match="unknown format"):
        exports.table_filename(None, "km", "xls")


def test_chosen_organisation_everywhere_tysnes(app_data, al_anon):
    """Table, kommune panel and download all describe Al-Anon's nearest group."""
    table = tables.planner_table(al_anon, "al_anon", measures.MEASURES["km"])
    row = table[table["Kommune"] == "Tysnes"].iloc[0]
    services = app_data.services
    group = services[(services["name"] == row["Nærmeste gruppe"])
                     & (services["status"] == "geocoded")]
    assert set(group["organisation"]) == {"al_anon"}  # not Os, an LMS group
    assert row["Gruppens organisasjon"] == settings.ORGANISATIONS["al_anon"]
    panel = pipeline.kommune_figures(app_data, "4616", "al_anon")
    assert row["Km til nærmeste gruppe"] == pytest.approx(round(panel["km"], 1))
    assert row["Kjøretid (min)"] == pytest.approx(round(panel["drive_min"]))
    assert row["Grupper i kommunen"] == panel["groups_in_kommune"]
    assert row["Befolkningsvektet km"] == pytest.approx(round(panel["population_weighted_km"],
                                                              1))
    for threshold in settings.BEYOND_KM:
        assert row[f"Bor > {threshold} km unna"] == pytest.approx(
            panel[settings.beyond_km_column(threshold)], abs=1)
    for threshold in settings.BEYOND_MINUTES:
        assert row[f"Bor > {threshold} min unna"] == pytest.approx(
            panel[settings.beyond_minutes_column(threshold)], abs=1)
    # The download says the same as the table.
    frame = pd.read_csv(io.BytesIO(_file(app_data, "al_anon", "csv")), sep=";", decimal=",",
                        encoding="utf-8-sig", dtype={"Kommunenr.": str})
    downloaded = frame[frame["Kommune"] == "Tysnes"].iloc[0]
    for column in ("Nærmeste gruppe", "Gruppens organisasjon", "Km til nærmeste gruppe",
                   "Kjøretid (min)", "Bor > 25 km unna", "Grupper i kommunen"):
        assert downloaded[column] == row[column], column


def test_organisation_table_of_any_group_is_the_national_table(app_data):
    assert pipeline.organisation_table(app_data, None) is app_data.kommuner
    with pytest.raises(ValueError, match="self-help organisation"):
        pipeline.organisation_table(app_data, "institution")


def test_map_tooltip_names_the_organisations_nearest_group(app_data, al_anon):
    import json

    from tilbudskart.views import maps

    shown = json.loads(maps.coverage_properties(al_anon, settings.km_column()))
    table = tables.planner_table(al_anon, "al_anon").set_index("Kommunenr.")
    tooltip = shown["4616"]["tooltip"]
    assert f"Nærmeste gruppe: {table.at['4616', 'Nærmeste gruppe']} (Al-Anon" in tooltip
    assert "Avstand: 45 km" in tooltip
    by_road = json.loads(maps.coverage_properties(al_anon, settings.minutes_column(),
                                                  measures.MEASURES["min"]))
    assert f"Raskest å nå: {table.at['4616', 'Raskest å nå med bil']}" in by_road["4616"][
        "tooltip"]
