"""Planning: where would a new self-help group reach the most people who now have none.

A *candidate site* is a kommune's administrative centre. Its *reach* is the population
(SSB grid, 2019) that now lives farther than ``radius_km`` from any group (or from any group
of one organisation) and would live within ``radius_km`` of a group at the candidate.
This is the single-site "what if"; optimising several sites together (spopt's MCLP) builds
on :func:`uncovered_cells` and :func:`candidate_reach`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from tilbudskart import settings
from tilbudskart.access import NearestIndex, unit_vectors


def chord(radius_km: float) -> float:
    """Return the unit-sphere chord length of a great-circle distance (km)."""
    return float(2 * np.sin(radius_km / (2 * settings.EARTH_RADIUS_KM)))


def uncovered_cells(grid: pd.DataFrame, services: pd.DataFrame, radius_km: float,
                    organisation: str | None = None) -> pd.DataFrame:
    """Return the grid cells farther than ``radius_km`` from the nearest group.

    Parameters
    ----------
    grid : pandas.DataFrame
        Population grid with ``lat``, ``lon``, ``befolkning``, ``kommunenummer``.
    services : pandas.DataFrame
        Geocoded services.
    radius_km : float
        Coverage radius.
    organisation : str, optional
        Only groups of this organisation count as coverage.

    Returns
    -------
    pandas.DataFrame
        The uncovered cells with their distance ``km``.

    """
    groups = services[(services["kind"] == "self_help") & (services["status"] == "geocoded")]
    if organisation is not None:
        groups = groups[groups["organisation"] == organisation]
    km = NearestIndex.from_services(groups).distance_km(grid["lat"], grid["lon"])
    cells = grid.assign(km=km)
    return cells[~(cells["km"] <= radius_km)].reset_index(drop=True)


def candidate_reach(lat: np.ndarray, lon: np.ndarray, uncovered: pd.DataFrame,
                    radius_km: float) -> np.ndarray:
    """Return, per candidate, the uncovered population within ``radius_km``.

    Parameters
    ----------
    lat, lon : numpy.ndarray
        Candidate sites.
    uncovered : pandas.DataFrame
        Cells from :func:`uncovered_cells`.
    radius_km : float
        Coverage radius (great circle).

    Returns
    -------
    numpy.ndarray of int

    """
    if uncovered.empty:
        return np.zeros(len(lat), dtype=np.int64)
    tree = cKDTree(unit_vectors(uncovered["lat"], uncovered["lon"]))
    population = uncovered["befolkning"].to_numpy()
    hits = tree.query_ball_point(unit_vectors(lat, lon), r=chord(radius_km))
    return np.array([int(population[h].sum()) for h in hits], dtype=np.int64)


def rank_new_sites(kommuner: pd.DataFrame, grid: pd.DataFrame, services: pd.DataFrame,
                   radius_km: float = 50.0, organisation: str | None = None) -> pd.DataFrame:
    """Rank kommuner by the reach of a new group at their administrative centre.

    Parameters
    ----------
    kommuner : pandas.DataFrame
        The access table (``kommunenummer``, ``admin_lat``, ``admin_lon`` …).
    grid : pandas.DataFrame
        Population grid with ``lat``/``lon``.
    services : pandas.DataFrame
        Geocoded services.
    radius_km : float
        Coverage radius.
    organisation : str, optional
        Measure coverage by this organisation's groups only.

    Returns
    -------
    pandas.DataFrame
        ``kommunenummer``, ``kommunenavn``, ``fylkesnavn``, ``folkemengde``,
        ``km_now`` (centre to nearest counted group), ``uncovered_in_kommune`` (grid
        population of the kommune beyond the radius) and ``reach``; highest reach first.

    """
    if organisation is not None and organisation not in settings.SELF_HELP_ORGANISATIONS:
        raise ValueError(f"unknown self-help organisation {organisation!r}")
    uncovered = uncovered_cells(grid, services, radius_km, organisation)
    column = f"km_{organisation}" if organisation else "nearest_group_km"
    result = kommuner[["kommunenummer", "kommunenavn", "fylkesnavn", "folkemengde"]].copy()
    result["km_now"] = kommuner[column].to_numpy()
    inside = uncovered.groupby("kommunenummer")["befolkning"].sum()
    result["uncovered_in_kommune"] = (
        result["kommunenummer"].map(inside).fillna(0).astype("int64"))
    result["reach"] = candidate_reach(kommuner["admin_lat"].to_numpy(),
                                      kommuner["admin_lon"].to_numpy(), uncovered, radius_km)
    return result.sort_values(["reach", "kommunenummer"], ascending=[False, True],
                              ignore_index=True)
