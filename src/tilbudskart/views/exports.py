"""Exports: files people download — GeoPackage for GIS, CSV and .xlsx that are safe in Excel.

Every CSV goes through :mod:`tilbudskart.csvsafe` (the one rule for text that a
spreadsheet would run as a formula); the GeoPackage keeps text exactly as it is.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from tilbudskart import csvsafe


def csv_bytes(frame: pd.DataFrame) -> bytes:
    r"""Return a table as UTF-8 CSV (with BOM, so Excel reads æøå), Excel-safe.

    Examples
    --------
    >>> csv_bytes(pd.DataFrame({"navn": ["=HYPERLINK(1)"], "km": [-1.5]})).decode("utf-8-sig")
    "navn,km\n'=HYPERLINK(1),-1.5\n"

    """
    safe = csvsafe.excel_safe(frame)
    return safe.to_csv(index=False, lineterminator="\n").encode("utf-8-sig")


def geopackage_bytes(polygons: gpd.GeoDataFrame, table: pd.DataFrame) -> bytes:
    """Return a GeoPackage (layer ``kommuner``) of polygons joined with a table, as bytes."""
    layer = polygons[["kommunenummer", "geometry"]].merge(table, on="kommunenummer")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tilbudskart_kommuner.gpkg"
        layer.to_file(path, layer="kommuner", driver="GPKG", engine="pyogrio")
        return path.read_bytes()


# -- the kommune table as planners' offices open it ---------------------------------------

#: Formats of the kommune table's downloads: file ending → MIME type.
TABLE_FORMATS: dict[str, str] = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
    "gpkg": "application/geopackage+sqlite3",
}


def table_filename(organisation: str | None, measure: str, fmt: str) -> str:
    """Return the download's file name, naming organisation and measure.

    Examples
    --------
    >>> table_filename("al_anon", "min", "xlsx")
    'tilbudskart_kommuner_al-anon_min.xlsx'
    >>> table_filename(None, "km", "csv")
    'tilbudskart_kommuner_alle-grupper_km.csv'

    """
    if fmt not in TABLE_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(TABLE_FORMATS)}")
    who = "alle-grupper" if organisation is None else organisation.replace("_", "-")
    return f"tilbudskart_kommuner_{who}_{measure}.{fmt}"


def _whole_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Float columns holding only whole numbers (e.g. rounded minutes) as integers."""
    frame = frame.copy()
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_float_dtype(series):
            values = series.dropna()
            if len(values) and bool((values == values.round()).all()):
                frame[column] = series.round().astype("Int64")
    return frame


def csv_bytes_nb(frame: pd.DataFrame) -> bytes:
    r"""Return a table as CSV for Norwegian Excel: ``;``, decimal comma, UTF-8 with BOM.

    Text that a spreadsheet would run as a formula is neutralised
    (:func:`tilbudskart.csvsafe.excel_safe`); whole numbers are written without decimals.

    Examples
    --------
    >>> csv_bytes_nb(pd.DataFrame({"navn": ["=1+2"], "km": [44.8], "min": [89.0]})
    ...              ).decode("utf-8-sig")
    "navn;km;min\r\n'=1+2;44,8;89\r\n"

    """
    safe = csvsafe.excel_safe(_whole_numbers(frame))
    return safe.to_csv(index=False, sep=";", decimal=",",
                       lineterminator="\r\n").encode("utf-8-sig")


def xlsx_bytes(table: pd.DataFrame, about: pd.DataFrame,
               digits: dict[str, int] | None = None,
               sheet: str = "Kommuner", about_sheet: str = "Om tabellen") -> bytes:
    """Return an Excel workbook: the table on one sheet, what it is on a second.

    Numbers stay numbers (shown with thousands separators and ``digits`` decimals in the
    reader's own locale); text stays text, even text that starts with ``=`` (it is
    stored as a string, never as a formula); empty figures are empty cells.

    Parameters
    ----------
    table : pandas.DataFrame
        The table, with its headings as they are to be shown.
    about : pandas.DataFrame
        Two columns (e.g. ``Felt``, ``Verdi``): data year, sources and what the table is.
    digits : dict of str to int, optional
        Decimals shown per column (default 0).
    sheet, about_sheet : str
        Names of the two sheets.

    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    digits = digits or {}
    book = Workbook()
    first = book.active
    assert first is not None
    first.title = sheet
    for worksheet, frame in ((first, _whole_numbers(table)),
                             (book.create_sheet(about_sheet), about)):
        worksheet.append([str(c) for c in frame.columns])
        for cell in worksheet[1]:
            cell.font = Font(bold=True)
            cell.data_type = "s"
        formats = {}
        for position, column in enumerate(frame.columns, start=1):
            if pd.api.types.is_numeric_dtype(frame[column]) and not (
                    pd.api.types.is_bool_dtype(frame[column])):
                decimals = digits.get(str(column), 0)
                formats[position] = "#,##0" + ("." + "0" * decimals if decimals else "")
        for values in frame.itertuples(index=False):
            row = [None if _missing(value) else _plain(value) for value in values]
            worksheet.append(row)
            for position, cell in enumerate(worksheet[worksheet.max_row], start=1):
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula, whatever the text starts with
                elif position in formats:
                    cell.number_format = formats[position]
        for position, column in enumerate(frame.columns, start=1):
            longest = max([len(str(column))] + [len(str(v)) for v in frame[column].head(400)])
            worksheet.column_dimensions[get_column_letter(position)].width = min(
                max(10, longest + 2), 60)
        worksheet.freeze_panes = "A2"
    first.auto_filter.ref = first.dimensions
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _plain(value: object) -> object:
    """Return a cell value openpyxl writes: numpy scalars as Python numbers."""
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, str) else value


def kommune_geopackage(polygons: gpd.GeoDataFrame, table: pd.DataFrame,
                       about: pd.DataFrame, key: str = "Kommunenr.") -> bytes:
    """Return a GeoPackage of the kommune table with its own (Norwegian) headings.

    Layer ``kommuner``: the polygons joined with ``table`` on ``key``, every column under
    the heading the table and the spreadsheet use. Layer ``om_tabellen`` (no geometry):
    ``about``, the same data year and sources as the spreadsheet's second sheet.
    """
    shapes = polygons[["kommunenummer", "geometry"]].rename(columns={"kommunenummer": key})
    layer = shapes.merge(_whole_numbers(table), on=key)
    layer = gpd.GeoDataFrame(layer[[*table.columns, "geometry"]], geometry="geometry",
                             crs=polygons.crs)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tilbudskart_kommuner.gpkg"
        pyogrio.write_dataframe(layer, path, layer="kommuner", driver="GPKG")
        pyogrio.write_dataframe(about.astype(str), path, layer="om_tabellen",
                                driver="GPKG", append=True)
        return path.read_bytes()


def kommune_table_file(kommuner: pd.DataFrame, polygons: gpd.GeoDataFrame,
                       organisation: str | None, measure: str, fmt: str,
                       fylker: Sequence[str] = (), attributions: Sequence[str] = (),
                       list_dates: Sequence[str] = ()) -> bytes:
    """Return the planners' kommune table as a file: ``xlsx``, ``csv`` or ``gpkg``.

    The same Norwegian headings in each (:func:`tilbudskart.views.tables.planner_table`);
    the .xlsx and the GeoPackage also say what the table is, its data years and sources
    (:func:`tilbudskart.views.tables.table_about`).

    Parameters
    ----------
    kommuner : pandas.DataFrame
        The organisation's kommune table (:func:`tilbudskart.pipeline.organisation_table`).
    polygons : geopandas.GeoDataFrame
        Kommune polygons (``kommunenummer``, ``geometry``), for the GeoPackage.
    organisation : str, optional
        Whose groups the table describes (``None``: any self-help group).
    measure : str
        ``"km"`` or ``"min"``: what the rows are sorted by.
    fmt : str
        One of :data:`TABLE_FORMATS`.
    fylker : sequence of str
        Only these fylker (empty: all).
    attributions : sequence of str
        The data's credits.
    list_dates : sequence of str
        How old each organisation's list in force is (on the .xlsx's second sheet and in
        the GeoPackage's ``om_tabellen``).

    """
    from tilbudskart.views import tables
    from tilbudskart.views.measures import MEASURES

    if fmt not in TABLE_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(TABLE_FORMATS)}")
    chosen = kommuner[kommuner["fylkesnavn"].isin(fylker)] if fylker else kommuner
    table = tables.planner_table(chosen, organisation, MEASURES[measure])
    if fmt == "csv":
        return csv_bytes_nb(table)
    about = tables.table_about(organisation, MEASURES[measure], len(table), fylker,
                               attributions, list_dates=list_dates)
    if fmt == "xlsx":
        return xlsx_bytes(table, about, tables.PLANNER_DIGITS)
    return kommune_geopackage(polygons, table, about)
