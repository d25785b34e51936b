"""Exports: files people download — GeoPackage for GIS, CSV that is safe in Excel.

Every CSV goes through :mod:`tilbudskart.csvsafe` (the one rule for text that a
spreadsheet would run as a formula); the GeoPackage keeps text exactly as it is.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd

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
