"""Registry geocoding: every service row onto a point and a kommune of today."""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from tilbudskart import datasources, settings
from tilbudskart.geocode.gazetteer import Gazetteer, Match, Resolution


def geocode_services(registry: pd.DataFrame, gazetteer: Gazetteer) -> gpd.GeoDataFrame:
    """Geocode every registry row; unresolved rows stay, with an empty point and a reason.

    Parameters
    ----------
    registry : pandas.DataFrame
        Validated registry rows (see :mod:`tilbudskart.registry`). Rows with given
        ``lat``/``lon`` keep them (precision ``coordinates`` is reported as ``place``).
    gazetteer : Gazetteer
        Lookup tables.

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of :data:`tilbudskart.settings.SERVICE_COLUMNS` and a point geometry
        (EPSG:4326), one row per registry row, in registry order. ``status`` is one of
        :data:`tilbudskart.settings.STATUSES`: rows with ``duplicate_of`` become
        ``duplicate`` (no point), online-only rows ``online`` (their point, if any, kept).

    """
    records = []
    rows = [{str(key): value for key, value in record.items()}
            for record in registry.to_dict("records")]
    given_points = _given_points(rows)
    for position, row in enumerate(rows):
        given = given_points.get(position)
        resolution = given if given is not None else gazetteer.resolve(
            row["place"], row["county"], row["postcode"])
        if resolution.match is not None and resolution.match.territory:
            # The access table has today's kommuner only; such a row is kept, unresolved.
            resolution = Resolution(None, f"{resolution.match.matched_as} lies on "
                                          f"{resolution.match.territory}, outside the "
                                          f"{settings.DATA_YEARS['boundaries']} "
                                          f"kommuner (no access figures there)")
        match = resolution.match
        status, reason = ("geocoded", "") if match else ("unresolved", resolution.reason)
        if row.get("duplicate_of"):
            # A repeated row is kept (with its note) but is no group of its own.
            match, status = None, "duplicate"
            reason = f"duplicate of {row['duplicate_of']}"
        elif row.get("attendance") == "online":
            # Online only: shown to every relative, never physical coverage.
            status = "online"
            reason = "online meeting (not counted as physical coverage)"
        records.append({
            **{c: row.get(c, "") for c in settings.SERVICE_COLUMNS},
            "kommunenummer": match.kommunenummer if match else "",
            "kommunenavn": gazetteer.kommune_name(match.kommunenummer) if match else "",
            "lat": round(match.lat, 6) if match else np.nan,
            "lon": round(match.lon, 6) if match else np.nan,
            "precision": match.precision if match else "",
            "matched_as": match.matched_as if match else "",
            "status": status,
            "reason": reason,
        })
    frame = pd.DataFrame.from_records(records, columns=list(settings.SERVICE_COLUMNS))
    geometry = gpd.points_from_xy(frame["lon"], frame["lat"], crs=settings.CRS_WGS84)
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=settings.CRS_WGS84)


def _coordinates(row: dict[str, object]) -> tuple[float, float] | None:
    try:
        lat, lon = float(str(row.get("lat"))), float(str(row.get("lon")))
    except ValueError:
        return None
    return (lat, lon) if np.isfinite(lat) and np.isfinite(lon) else None


def _given_points(rows: list[dict[str, object]]) -> dict[int, Resolution]:
    """Use coordinates given in imported rows; the kommune is the one containing them.

    All points are looked up at once (:func:`kommuner_at`), so a list of thousands of
    coordinates costs one spatial-index query.
    """
    given = {i: point for i, row in enumerate(rows) if (point := _coordinates(row))}
    if not given:
        return {}
    positions = list(given)
    numbers = kommuner_at([given[i][0] for i in positions], [given[i][1] for i in positions])
    result = {}
    for position, number in zip(positions, numbers, strict=True):
        lat, lon = given[position]
        if number is None:
            result[position] = Resolution(None, f"coordinates {lat}, {lon} lie in no kommune")
        else:
            where = rows[position].get("registry_file", "import")
            result[position] = Resolution(Match(number, lat, lon, "place",
                                                f"coordinates given in {where}"))
    return result


def kommuner_at(lat: Sequence[float], lon: Sequence[float]) -> list[str | None]:
    """Return the kommune containing each point (within the polygon tolerance), or ``None``.

    Parameters
    ----------
    lat, lon : sequence of float
        WGS 84 degrees.

    Returns
    -------
    list of str or None
        Kommunenummer per point; ``None`` farther than
        :data:`tilbudskart.settings.POLYGON_TOLERANCE_M` from every kommune.

    """
    polygons = datasources.kommune_polygons_metric()
    points = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=settings.CRS_WGS84)
    points = points.to_crs(settings.CRS_METRIC)
    found, _ = polygons.sindex.nearest(points, return_all=False, return_distance=True,
                                       max_distance=settings.POLYGON_TOLERANCE_M)
    numbers: list[str | None] = [None] * len(points)
    names = polygons.index.to_numpy()
    for point, polygon in zip(found[0], found[1], strict=True):
        numbers[int(point)] = str(names[int(polygon)])
    return numbers


def distance_outside_kommune(services: gpd.GeoDataFrame) -> pd.Series:
    """Return how far (m) each geocoded point lies outside the kommune it claims.

    Parameters
    ----------
    services : geopandas.GeoDataFrame
        Output of :func:`geocode_services`.

    Returns
    -------
    pandas.Series
        Metres outside the claimed polygon (0 inside), indexed like ``services``;
        only geocoded rows.

    """
    geocoded = services[services["status"] == "geocoded"]
    polygons = datasources.kommune_polygons_metric()
    points = geocoded.geometry.to_crs(settings.CRS_METRIC)
    claimed = gpd.GeoSeries(polygons.loc[geocoded["kommunenummer"]].values,
                            index=geocoded.index, crs=settings.CRS_METRIC)
    return points.distance(claimed)
