"""Ferries: published crossing times of car-ferry connections, in place of one speed.

``data/ferries.csv`` lists connections by their two quays (name and WGS 84 point), the
crossing time as published by the operator (minutes, without the wait) and the source. An
N1000 ferry link whose two ends lie within :data:`~tilbudskart.settings.FERRY_MATCH_M` of
a row's two quays (either way round) takes that row's minutes; every other ferry link
keeps the documented fallback speed :data:`~tilbudskart.settings.FERRY_SPEED_KMH`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from tilbudskart import settings

#: Columns of :data:`tilbudskart.settings.FERRIES_PATH`.
COLUMNS = ("id", "name", "quay_a", "a_lat", "a_lon", "quay_b", "b_lat", "b_lon",
           "crossing_min", "source", "note")


class FerryTableError(ValueError):
    """A row of the ferry table is invalid; the message names file, row and field."""


def read_ferries(path: Path = settings.FERRIES_PATH) -> pd.DataFrame:
    """Read and check the table of car-ferry crossing times.

    Parameters
    ----------
    path : pathlib.Path
        The CSV (default :data:`tilbudskart.settings.FERRIES_PATH`).

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS`, coordinates and ``crossing_min`` as float.

    Raises
    ------
    FerryTableError
        Naming the file, row (1 = the first data row) and field of the first fault.

    """
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise FerryTableError(f"{path}: missing column(s) {', '.join(missing)}")
    frame = frame[list(COLUMNS)].copy()
    numbers = {"a_lat": (57.0, 72.0), "b_lat": (57.0, 72.0), "a_lon": (4.0, 32.0),
               "b_lon": (4.0, 32.0), "crossing_min": (1.0, 600.0)}
    for row, record in enumerate(frame.to_dict("records"), start=1):
        for field in ("id", "quay_a", "quay_b", "source"):
            if not record[field].strip():
                raise FerryTableError(f"{path}, row {row}, field '{field}': empty")
        for field, (low, high) in numbers.items():
            try:
                value = float(record[field])
            except ValueError:
                raise FerryTableError(f"{path}, row {row}, field '{field}': not a number: "
                                      f"{record[field]!r}") from None
            if not low <= value <= high:
                raise FerryTableError(f"{path}, row {row}, field '{field}': {value} is "
                                      f"outside {low:g}–{high:g}")
    if frame["id"].duplicated().any():
        raise FerryTableError(f"{path}: duplicate id(s) "
                              f"{', '.join(frame.loc[frame['id'].duplicated(), 'id'])}")
    for field in numbers:
        frame[field] = frame[field].astype(float)
    return frame


def match_ferries(geometry: np.ndarray, table: pd.DataFrame) -> pd.DataFrame:
    """Return, per ferry link, the table row whose quays its two ends lie at.

    Parameters
    ----------
    geometry : numpy.ndarray of shapely LineStrings
        Ferry links, EPSG:25833.
    table : pandas.DataFrame
        From :func:`read_ferries`.

    Returns
    -------
    pandas.DataFrame
        ``ferry_id`` (``""`` where none matches: the fallback speed) and
        ``crossing_min`` (NaN there), one row per link.

    """
    from tilbudskart.network import to_metric

    ids = np.full(len(geometry), "", dtype=object)
    minutes = np.full(len(geometry), np.nan)
    if len(geometry) and len(table):
        start = shapely.get_coordinates(shapely.get_point(geometry, 0))
        end = shapely.get_coordinates(shapely.get_point(geometry, -1))
        a = np.column_stack(to_metric(table["a_lat"], table["a_lon"]))
        b = np.column_stack(to_metric(table["b_lat"], table["b_lon"]))

        def near(p: np.ndarray, q: np.ndarray) -> np.ndarray:
            return np.hypot(*(p[:, None, :] - q[None, :, :]).transpose(2, 0, 1)) \
                <= settings.FERRY_MATCH_M

        hit = (near(start, a) & near(end, b)) | (near(start, b) & near(end, a))
        link, row = np.nonzero(hit)
        first = np.unique(link, return_index=True)[1]
        ids[link[first]] = table["id"].to_numpy()[row[first]]
        minutes[link[first]] = table["crossing_min"].to_numpy()[row[first]]
    return pd.DataFrame({"ferry_id": ids, "crossing_min": minutes})
