"""Exports: files people download — GeoPackage for GIS, CSV that is safe in Excel.

A CSV cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run
as a formula by Excel and LibreOffice (OWASP, "CSV Injection"). :func:`excel_safe`
prefixes such text with an apostrophe; numbers (``-1.5``) stay numbers. The GeoPackage
keeps text exactly as it is.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd

# OWASP: cells starting with = + @ tab CR, or - followed by something that is not a number.
_FORMULA = re.compile(r"^(?:[=+@\t\r]|-(?![\d.]+(?:[eE][-+]?\d+)?$))")


def excel_safe_text(value: object) -> object:
    """Return one cell made safe to open in a spreadsheet (non-text is returned as is).

    Examples
    --------
    >>> excel_safe_text("=1+2")
    "'=1+2"
    >>> excel_safe_text("-1.5")
    '-1.5'

    """
    if isinstance(value, str) and _FORMULA.match(value):
        return "'" + value
    return value


def excel_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy whose text cells cannot start a spreadsheet formula."""
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            frame[column] = frame[column].map(excel_safe_text)
    frame.columns = [excel_safe_text(str(c)) for c in frame.columns]
    return frame


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """Return a table as UTF-8 CSV (with BOM, so Excel reads æøå), Excel-safe."""
    return excel_safe(frame).to_csv(index=False, lineterminator="\n").encode("utf-8-sig")


def geopackage_bytes(polygons: gpd.GeoDataFrame, table: pd.DataFrame) -> bytes:
    """Return a GeoPackage (layer ``kommuner``) of polygons joined with a table, as bytes."""
    layer = polygons[["kommunenummer", "geometry"]].merge(table, on="kommunenummer")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tilbudskart_kommuner.gpkg"
        layer.to_file(path, layer="kommuner", driver="GPKG", engine="pyogrio")
        return path.read_bytes()
