"""Read the shared geodata, checked against the manifest in ``geo/manifest.csv``.

The files themselves are never part of the repository. They are read from the folder
named by ``TILBUDSKART_DATA_DIR`` (or ``~/.cache/tilbudskart/data``); each is checked
against its sha256 once per process. Every loader returns typed (Geo)DataFrames in
which kommune numbers are 4-character strings.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import geopandas as gpd
import pandas as pd

from tilbudskart import settings


class DataError(RuntimeError):
    """A geodata file is missing, altered or malformed; the message says what to do."""


@dataclass(frozen=True)
class ManifestEntry:
    """One file of the shared geodata as the manifest knows it."""

    file: str
    sha256: str
    bytes: int
    source: str
    licence: str
    attribution: str
    used_for: str


@cache
def manifest() -> dict[str, ManifestEntry]:
    """Return the geodata manifest, keyed by file name.

    Returns
    -------
    dict of str to ManifestEntry
        Every file the project reads from the data folder.

    """
    table = pd.read_csv(settings.MANIFEST_PATH, dtype=str, keep_default_na=False)
    entries = {}
    for row in table.to_dict("records"):
        fields = {str(key): str(value) for key, value in row.items()}
        entries[fields["file"]] = ManifestEntry(
            file=fields["file"], sha256=fields["sha256"], bytes=int(fields["bytes"]),
            source=fields["source"], licence=fields["licence"],
            attribution=fields["attribution"], used_for=fields["used_for"])
    return entries


def data_dir() -> Path:
    """Return the folder that holds the shared geodata.

    Returns
    -------
    pathlib.Path
        ``$TILBUDSKART_DATA_DIR`` if set, else ``~/.cache/tilbudskart/data``.

    Raises
    ------
    DataError
        If the folder does not exist.

    """
    configured = settings.data_dir_setting()
    folder = Path(configured) if configured else settings.USER_CACHE_DIR
    if not folder.is_dir():
        raise DataError(
            f"Geodata folder {folder} does not exist. Set {settings.DATA_DIR_ENV} to the folder "
            f"holding the shared geodata (for a clone with ../shared beside it: "
            f"export {settings.DATA_DIR_ENV}=../shared/data), or put the files listed in "
            f"{settings.MANIFEST_PATH} into {settings.USER_CACHE_DIR}."
        )
    return folder


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@cache
def _verified(name: str, folder: Path) -> Path:
    entry = manifest().get(name)
    if entry is None:
        raise DataError(f"{name} is not in the geodata manifest {settings.MANIFEST_PATH}.")
    path = folder / name
    if not path.is_file():
        raise DataError(
            f"Geodata file {name} is missing from {folder}. Copy it there from the shared data "
            f"(source: {entry.source}), or point {settings.DATA_DIR_ENV} at a folder that has it."
        )
    actual = _sha256(path)
    if actual != entry.sha256:
        raise DataError(
            f"Geodata file {path} has been altered: sha256 {actual} but the manifest expects "
            f"{entry.sha256}. Restore the original file (source: {entry.source}); if the upstream "
            f"data was updated on purpose, update geo/manifest.csv in the same commit."
        )
    return path


def data_path(name: str) -> Path:
    """Return the verified path of one geodata file.

    Parameters
    ----------
    name : str
        File name as listed in the manifest.

    Returns
    -------
    pathlib.Path
        Path inside :func:`data_dir`, checked against its sha256 (once per process).

    Raises
    ------
    DataError
        If the file is unknown, missing or its checksum differs.

    """
    return _verified(name, data_dir().resolve())


def _read_csv(name: str, dtype: dict[str, str] | None = None) -> pd.DataFrame:
    path = data_path(name)
    try:
        return pd.read_csv(path, dtype=dtype or str, keep_default_na=False, na_values=[""])
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"Cannot read {path}: {exc}") from exc


def _numeric(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    frame = frame.copy()
    for column in columns:
        frame[column] = pd.to_numeric(frame[column])
    return frame


def read_kommuner(detail: str = "M") -> gpd.GeoDataFrame:
    """Read the kommune polygons (settings.KOMMUNE_COUNT, of settings.DATA_YEARS).

    Parameters
    ----------
    detail : {"M", "S"}
        Medium detail (default) or small/coarse polygons.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``kommunenummer``, ``kommunenavn``, ``navn``, ``fylkesnummer``,
        ``fylkesnavn``, ``geometry`` (EPSG:4326).

    """
    if detail not in {"M", "S"}:
        raise ValueError(f"detail must be 'M' or 'S', not {detail!r}")
    path = data_path(settings.DATA_FILES[f"kommuner_{detail}"])
    frame = gpd.read_file(path, engine="pyogrio")
    columns = ["kommunenummer", "kommunenavn", "navn", "fylkesnummer", "fylkesnavn", "geometry"]
    frame = frame[columns].copy()
    for column in columns[:-1]:
        frame[column] = frame[column].astype(str)
    return frame.sort_values("kommunenummer", ignore_index=True)


@cache
def kommune_polygons_metric() -> gpd.GeoSeries:
    """Return the kommune polygons in EPSG:25833, indexed by kommunenummer (cached).

    Returns
    -------
    geopandas.GeoSeries
        Medium-detail polygons, read once per process (treat as read-only).

    """
    kommuner = read_kommuner("M").to_crs(settings.CRS_METRIC)
    return kommuner.set_index("kommunenummer").geometry


def read_fylker() -> gpd.GeoDataFrame:
    """Read the county outlines (coarse detail, EPSG:4326).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``fylkesnummer``, ``fylkesnavn``, ``geometry``.

    """
    frame = gpd.read_file(data_path(settings.DATA_FILES["fylker"]), engine="pyogrio")
    frame = frame[["fylkesnummer", "fylkesnavn", "geometry"]].copy()
    frame["fylkesnummer"] = frame["fylkesnummer"].astype(str)
    return frame


def read_population() -> pd.DataFrame:
    """Read population per kommune on 1 January (settings.DATA_YEARS["population"]).

    Returns
    -------
    pandas.DataFrame
        Columns ``kommunenummer``, ``kommunenavn``, ``navn``, ``fylkesnummer``,
        ``fylkesnavn``, ``folkemengde`` (int), ``areal_km2`` (float), ``malform``.

    """
    frame = _read_csv(settings.DATA_FILES["population"])
    frame = _numeric(frame, ["folkemengde", "areal_km2"])
    frame["folkemengde"] = frame["folkemengde"].astype("int64")
    return frame.drop(columns=["referansedato"])


def read_admin_centres() -> pd.DataFrame:
    """Read the administrative centre of each kommune.

    Returns
    -------
    pandas.DataFrame
        Columns ``kommunenummer``, ``kommunenavn``, ``administrasjonssenter``,
        ``lat``, ``lon`` (float), ``kilde``, ``presisjon``.

    """
    frame = _read_csv(settings.DATA_FILES["admin_centres"])
    frame = _numeric(frame, ["lat", "lon"])
    frame = apply_admin_centre_overrides(frame)
    return frame[["kommunenummer", "kommunenavn", "administrasjonssenter", "lat", "lon",
                  "kilde", "presisjon"]]


def apply_admin_centre_overrides(frame: pd.DataFrame,
                                 path: Path = settings.ADMIN_CENTRE_OVERRIDES_PATH
                                 ) -> pd.DataFrame:
    """Return the centres with the documented corrections of ``path`` applied.

    The shared file stays untouched; each override names the centre it replaces and its
    source (``kilde`` becomes ``override: <source>``).

    Raises
    ------
    DataError
        If an override names an unknown kommune, replaces a centre the shared file does
        not give (the file has changed: check the override), or has no source or point.

    """
    overrides = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = frame.copy()
    for row, record in enumerate(overrides.to_dict("records"), start=1):
        where = f"{path}, row {row}"
        if not record.get("source", "").strip():
            raise DataError(f"{where}, field 'source': empty")
        try:
            lat, lon = float(record["lat"]), float(record["lon"])
        except (KeyError, ValueError):
            raise DataError(f"{where}, field 'lat'/'lon': not a number") from None
        hit = frame["kommunenummer"] == record["kommunenummer"]
        if not hit.any():
            raise DataError(f"{where}, field 'kommunenummer': unknown kommune "
                            f"{record['kommunenummer']!r}")
        if (frame.loc[hit, "administrasjonssenter"] != record["replaces"]).any():
            raise DataError(f"{where}, field 'replaces': the shared file now gives "
                            f"{frame.loc[hit, 'administrasjonssenter'].iloc[0]!r}, not "
                            f"{record['replaces']!r}; check whether the override is needed")
        frame.loc[hit, ["administrasjonssenter", "lat", "lon", "kilde", "presisjon"]] = [
            record["administrasjonssenter"], lat, lon, f"override: {record['source']}",
            "stedspunkt"]
    return frame


def read_postcodes() -> pd.DataFrame:
    """Read the postal-code register of 2026 with Erik Bolstad's coordinates.

    Returns
    -------
    pandas.DataFrame
        Columns ``postnummer`` (4 chars), ``poststed``, ``kommunenummer``,
        ``kommunenavn``, ``lat``, ``lon`` (float), ``koordinatkilde``,
        ``kommunenummer_punkt``.

    """
    frame = _read_csv(settings.DATA_FILES["postcodes"])
    frame = _numeric(frame, ["lat", "lon"])
    return frame[["postnummer", "poststed", "kommunenummer", "kommunenavn", "lat", "lon",
                  "koordinatkilde", "kommunenummer_punkt"]]


def read_gazetteer() -> pd.DataFrame:
    """Read the gazetteer of towns, villages and postal places.

    Returns
    -------
    pandas.DataFrame
        Columns ``navn``, ``type``, ``kommunesenter`` (bool), ``kommunenummer``,
        ``kommunenavn``, ``lat``, ``lon`` (float), ``alternative_navn``,
        ``koordinatkilde``.

    """
    frame = _read_csv(settings.DATA_FILES["gazetteer"])
    frame = _numeric(frame, ["lat", "lon"])
    frame["kommunesenter"] = frame["kommunesenter"].eq("True")
    frame["alternative_navn"] = frame["alternative_navn"].fillna("")
    return frame[["navn", "type", "kommunesenter", "kommunenummer", "kommunenavn", "lat", "lon",
                  "alternative_navn", "koordinatkilde"]]


def read_crosswalk() -> pd.DataFrame:
    """Read the crosswalk from older kommune numbers to today's kommune.

    Returns
    -------
    pandas.DataFrame
        Columns ``kommunenummer_opprinnelig``, ``kommunenavn_opprinnelig``, ``gyldig``,
        ``kommunenummer_ny``, ``kommunenavn_ny`` (today's kommune, the file's
        ``kommunenummer_<year>``), ``merknad``; rows without a
        successor (Svalbard, continental shelf …) are dropped.

    """
    year = settings.DATA_YEARS["crosswalk"]
    frame = _read_csv(settings.DATA_FILES["crosswalk"]).rename(columns={
        f"kommunenummer_{year}": "kommunenummer_ny", f"kommunenavn_{year}": "kommunenavn_ny"})
    frame = frame[frame["kommunenummer_ny"].str.fullmatch(r"\d{4}", na=False)]
    frame = frame[frame["kommunenummer_opprinnelig"].str.fullmatch(r"\d{4}", na=False)]
    columns = ["kommunenummer_opprinnelig", "kommunenavn_opprinnelig", "gyldig",
               "kommunenummer_ny", "kommunenavn_ny", "merknad"]
    return frame[columns].reset_index(drop=True)


def read_population_grid(resolution: str = "1km") -> pd.DataFrame:
    """Read SSB's population grid of 1 January 2019.

    Parameters
    ----------
    resolution : {"1km", "250m"}
        Grid cell size.

    Returns
    -------
    pandas.DataFrame
        Columns ``kommunenummer``, ``x``, ``y`` (cell centre, EPSG:25833), ``befolkning``
        (int). Cells without a kommune (offshore) are dropped.

    """
    if resolution == "1km":
        frame = _read_csv(settings.DATA_FILES["grid_1km"])
        frame = frame.rename(columns={"kommunenummer_hoveddel": "kommunenummer",
                                      "x_midt": "x", "y_midt": "y"})
        frame = _numeric(frame, ["x", "y", "befolkning"])
    elif resolution == "250m":
        frame = _read_csv(settings.DATA_FILES["grid_250m"])
        ident = frame["ssbid0250m"]
        # SSB id = str(x + 2 000 000) + str(y) of the lower-left corner; the centre is +125 m.
        frame["x"] = pd.to_numeric(ident.str[:7]) - 2_000_000 + 125
        frame["y"] = pd.to_numeric(ident.str[7:]) + 125
        frame = _numeric(frame, ["befolkning"])
    else:
        raise ValueError(f"resolution must be '1km' or '250m', not {resolution!r}")
    frame = frame.dropna(subset=["kommunenummer"])
    frame["befolkning"] = frame["befolkning"].astype("int64")
    return frame[["kommunenummer", "x", "y", "befolkning"]].reset_index(drop=True)


def read_road_network() -> gpd.GeoDataFrame:
    """Read Kartverket's N1000 road and car-ferry network.

    Returns
    -------
    geopandas.GeoDataFrame
        Existing links only (``vegfase`` planned links dropped): columns ``typeVeg``
        (``enkelBilveg``, ``bilferje``, ``passasjerferje``), ``vegkategori``,
        ``motorvegtype``, ``vegnummer`` (road number, float; NaN for most kommunal and
        private roads), ``medium`` (``T`` ground, ``U`` tunnel, ``L`` bridge), ``lengde_m``
        and LineString ``geometry`` in EPSG:4326.

    """
    frame = gpd.read_file(data_path(settings.DATA_FILES["roads"]), engine="pyogrio")
    frame = frame[frame["vegfase"].fillna("V") != "P"]
    columns = ["typeVeg", "vegkategori", "motorvegtype", "vegnummer", "medium", "lengde_m",
               "geometry"]
    return frame[columns].reset_index(drop=True)


def attributions() -> list[str]:
    """Return the attribution lines every licence of the data asks for.

    Returns
    -------
    list of str
        Distinct attribution strings from the manifest, in manifest order.

    """
    seen: list[str] = []
    for entry in manifest().values():
        for part in entry.attribution.split(";"):
            part = part.strip()
            if part and part not in seen:
                seen.append(part)
    return seen
