"""Access: how far each kommune, and each resident, is from the nearest help.

Nearest neighbours are found with a :class:`scipy.spatial.cKDTree` over points on the
unit sphere (chord length grows monotonically with great-circle distance), then the few
nearest candidates are measured geodesically on the WGS 84 ellipsoid with
:class:`pyproj.Geod`. No Python double loops.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from babel.numbers import format_decimal
from pyproj import Geod, Transformer
from scipy.spatial import cKDTree

from tilbudskart import measures, settings

if TYPE_CHECKING:
    from tilbudskart.geocode import Match, Resolution

_GEOD = Geod(ellps="WGS84")


@functools.cache
def transformer(crs_from: str, crs_to: str) -> Transformer:
    """Return a transformer between two CRS (``x``/``lon`` first) that is cheap in any thread.

    pyproj builds a :class:`~pyproj.Transformer`'s PROJ object once per thread, and one made
    with ``from_crs`` searches PROJ's database each time (6–20 ms). Streamlit runs every
    rerun in a new thread, so a search paid that on each projection. This one is made from
    the operation found once (its PROJ pipeline): about 0.3 ms per new thread, the same
    coordinates.

    Examples
    --------
    >>> x, y = transformer("EPSG:4326", "EPSG:25833").transform(10.0, 60.0)
    >>> round(x), round(y)
    (221289, 6661953)

    """
    found = Transformer.from_crs(crs_from, crs_to, always_xy=True)
    return Transformer.from_pipeline(found.definition)

#: How many chord-nearest candidates are re-measured on the ellipsoid. The sphere and the
#: ellipsoid disagree by < 0.5 %, so the true nearest is always among a few candidates.
_REFINE = 4


def unit_vectors(lat: Iterable[float], lon: Iterable[float]) -> np.ndarray:
    """Return points as 3-D unit vectors.

    Parameters
    ----------
    lat, lon : array-like of float
        Degrees (WGS 84).

    Returns
    -------
    numpy.ndarray
        Shape ``(n, 3)``.

    """
    phi = np.radians(np.asarray(lat, dtype=float))
    lam = np.radians(np.asarray(lon, dtype=float))
    return np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])


def geodesic_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray,
                lon2: np.ndarray) -> np.ndarray:
    """Return geodesic distances (km) on the WGS 84 ellipsoid, element-wise.

    Parameters
    ----------
    lat1, lon1, lat2, lon2 : numpy.ndarray
        Degrees; broadcastable shapes.

    Returns
    -------
    numpy.ndarray
        Kilometres.

    """
    lat1, lon1, lat2, lon2 = np.broadcast_arrays(lat1, lon1, lat2, lon2)
    _, _, metres = _GEOD.inv(lon1.ravel(), lat1.ravel(), lon2.ravel(), lat2.ravel())
    return np.asarray(metres).reshape(lat1.shape) / 1000.0


class NearestIndex:
    """A spatial index over service points for nearest-neighbour queries.

    Parameters
    ----------
    lat, lon : array-like of float
        Service coordinates (WGS 84). Rows with NaN must be removed beforehand.

    Raises
    ------
    ValueError
        If a coordinate is NaN or outside the valid range.

    """

    def __init__(self, lat: Iterable[float], lon: Iterable[float]) -> None:
        self.lat = np.asarray(lat, dtype=float)
        self.lon = np.asarray(lon, dtype=float)
        if np.isnan(self.lat).any() or np.isnan(self.lon).any():
            raise ValueError("NearestIndex: coordinates contain NaN; drop unresolved rows first")
        if (np.abs(self.lat) > 90).any() or (np.abs(self.lon) > 180).any():
            raise ValueError("NearestIndex: latitude/longitude out of range (degrees expected)")
        self.tree = cKDTree(unit_vectors(self.lat, self.lon)) if len(self.lat) else None

    def __len__(self) -> int:
        return len(self.lat)

    @classmethod
    def from_services(cls, services: pd.DataFrame) -> NearestIndex:
        """Build the index over the geocoded rows of a services table.

        Parameters
        ----------
        services : pandas.DataFrame
            Must contain ``lat`` and ``lon``; rows without a point are skipped.

        Returns
        -------
        NearestIndex
            Positions refer to ``services.dropna(subset=["lat", "lon"])``.

        """
        points = services.dropna(subset=["lat", "lon"])
        return cls(points["lat"].to_numpy(), points["lon"].to_numpy())

    def query(self, lat: Iterable[float], lon: Iterable[float],
              k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Return the ``k`` nearest services of each query point, nearest first.

        Parameters
        ----------
        lat, lon : array-like of float
            Query points (WGS 84).
        k : int
            Number of neighbours.

        Returns
        -------
        positions : numpy.ndarray of int
            Shape ``(n, k)``; -1 where there are fewer than ``k`` services.
        km : numpy.ndarray of float
            Shape ``(n, k)``; geodesic kilometres, NaN where there is no service.

        """
        qlat = np.atleast_1d(np.asarray(lat, dtype=float))
        qlon = np.atleast_1d(np.asarray(lon, dtype=float))
        n = len(qlat)
        positions = np.full((n, k), -1, dtype=np.int64)
        km = np.full((n, k), np.nan)
        if self.tree is None or n == 0:
            return positions, km
        m = min(len(self), k + _REFINE)
        _, found = self.tree.query(unit_vectors(qlat, qlon), k=m)
        found = np.asarray(found).reshape(n, m)
        dist = geodesic_km(qlat[:, None], qlon[:, None], self.lat[found], self.lon[found])
        order = np.argsort(dist, axis=1, kind="stable")[:, :k]
        take = min(k, m)
        positions[:, :take] = np.take_along_axis(found, order, axis=1)
        km[:, :take] = np.take_along_axis(dist, order, axis=1)
        return positions, km

    def distance_km(self, lat: Iterable[float], lon: Iterable[float]) -> np.ndarray:
        """Return the geodesic distance (km) from each point to its nearest service."""
        return self.query(lat, lon, k=1)[1][:, 0]


def located(services: pd.DataFrame, kind: str | None = "self_help",
            organisation: str | None = None) -> pd.DataFrame:
    """Return the services that count as help on the map: geocoded, with a point.

    Unresolved rows, online-only meetings (status ``online``) and duplicates never count as
    physical coverage; every table, route and plan picks its groups through this function.

    Parameters
    ----------
    services : pandas.DataFrame
        Geocoded services (see :func:`tilbudskart.geocode.geocode_services`).
    kind : str or None
        ``"self_help"`` (default), ``"institution"``, or ``None`` for both.
    organisation : str, optional
        Only this organisation.

    Returns
    -------
    pandas.DataFrame
        The chosen rows, index reset.

    """
    keep = (services["status"] == "geocoded") & services["lat"].notna() & services["lon"].notna()
    if kind is not None:
        keep &= services["kind"] == kind
    if organisation is not None:
        keep &= services["organisation"] == organisation
    return services[keep].reset_index(drop=True)


def by_distance(lat: float, lon: float, services: pd.DataFrame) -> pd.DataFrame:
    """Return every geocoded service with its geodesic distance from one point, nearest first.

    One vectorised :meth:`pyproj.Geod.inv` call over all located services: for one query
    point this is faster than building a tree (the registry has a few hundred rows; an
    imported list of 10 000 takes a few milliseconds).

    Parameters
    ----------
    lat, lon : float
        The searched point (WGS 84).
    services : pandas.DataFrame
        Geocoded services (see :func:`tilbudskart.geocode.geocode_services`).

    Returns
    -------
    pandas.DataFrame
        Rows with ``status == "geocoded"`` and a point, plus ``distance_km``; sorted by
        distance, ties in registry order.

    """
    chosen = services[(services["status"] == "geocoded")
                      & services["lat"].notna() & services["lon"].notna()]
    km = geodesic_km(np.full(len(chosen), float(lat)), np.full(len(chosen), float(lon)),
                     chosen["lat"].to_numpy(dtype=float), chosen["lon"].to_numpy(dtype=float))
    result = pd.DataFrame(chosen).assign(distance_km=km)
    return result.sort_values("distance_km", kind="stable", ignore_index=True)


def nearest_services(lat: float, lon: float, services: pd.DataFrame, n: int = 5,
                     organisation: str | None = None, kind: str | None = "self_help",
                     ) -> pd.DataFrame:
    """Return the ``n`` services nearest to one point.

    Parameters
    ----------
    lat, lon : float
        The searched point (WGS 84).
    services : pandas.DataFrame
        Geocoded services (see :func:`tilbudskart.geocode.geocode_services`), or the
        output of :func:`by_distance` (then no distance is measured again).
    n : int
        How many to return.
    organisation : str, optional
        Only this organisation (e.g. ``"lms"``).
    kind : str or None
        ``"self_help"`` (default), ``"institution"``, or ``None`` for both.

    Returns
    -------
    pandas.DataFrame
        The chosen services with ``distance_km``, nearest first.

    """
    if organisation is not None and organisation not in settings.ORGANISATIONS:
        raise ValueError(f"unknown organisation {organisation!r}; "
                         f"known: {', '.join(settings.ORGANISATIONS)}")
    ranked = services if "distance_km" in services.columns else by_distance(lat, lon, services)
    keep = np.ones(len(ranked), dtype=bool)
    if kind is not None:
        keep &= (ranked["kind"] == kind).to_numpy()
    if organisation is not None:
        keep &= (ranked["organisation"] == organisation).to_numpy()
    return ranked[keep].head(n).reset_index(drop=True)


def grid_points(grid: pd.DataFrame) -> pd.DataFrame:
    """Add ``lat``/``lon`` (WGS 84) to population grid cells given in EPSG:25833.

    Parameters
    ----------
    grid : pandas.DataFrame
        Columns ``x``, ``y`` (cell centres, EPSG:25833), ``befolkning``, ``kommunenummer``.

    Returns
    -------
    pandas.DataFrame
        The same rows with ``lat`` and ``lon``.

    """
    to_wgs84 = transformer(settings.CRS_METRIC, settings.CRS_WGS84)
    lon, lat = to_wgs84.transform(grid["x"].to_numpy(), grid["y"].to_numpy())
    return grid.assign(lat=lat, lon=lon)


def kommune_table(services: pd.DataFrame, centres: pd.DataFrame, population: pd.DataFrame,
                  grid: pd.DataFrame) -> pd.DataFrame:
    """Build the per-kommune access table.

    Parameters
    ----------
    services : pandas.DataFrame
        Geocoded services; unresolved rows are ignored.
    centres : pandas.DataFrame
        Administrative centres (``kommunenummer``, ``administrasjonssenter``, ``lat``, ``lon``).
    population : pandas.DataFrame
        Population per kommune (settings.DATA_YEARS; ``kommunenummer``, ``navn``, ``kommunenavn``,
        ``fylkesnavn``, ``folkemengde``).
    grid : pandas.DataFrame
        Population grid with ``lat``/``lon`` (see :func:`grid_points`).

    Returns
    -------
    pandas.DataFrame
        One row per kommune with the columns of
        :data:`tilbudskart.settings.KOMMUNE_COLUMNS` plus ``kommunenavn_offisielt``,
        sorted by ``kommunenummer``. Distances are from the administrative centre, in km;
        ``population_weighted_km`` and ``population_beyond_*`` use the grid cells of the
        kommune, the latter scaled to the kommune's population.

    """
    groups = located(services)
    institutions = located(services, kind="institution")

    table = population.merge(centres[["kommunenummer", "administrasjonssenter", "lat", "lon"]],
                             on="kommunenummer", how="left", validate="one_to_one")
    if table["lat"].isna().any():
        missing = table.loc[table["lat"].isna(), "kommunenummer"].tolist()
        raise ValueError(f"kommuner without an administrative centre: {missing}")
    table = table.rename(columns={"kommunenavn": "kommunenavn_offisielt", "navn": "kommunenavn",
                                  "administrasjonssenter": "admin_centre",
                                  "lat": "admin_lat", "lon": "admin_lon"})
    lat, lon = table["admin_lat"].to_numpy(), table["admin_lon"].to_numpy()

    all_groups = NearestIndex.from_services(groups)
    positions, km = all_groups.query(lat, lon, k=1)
    nearest = groups.iloc[positions[:, 0]].reset_index(drop=True) if len(groups) else None
    table["nearest_group_km"] = km[:, 0]
    for column, source in (("nearest_group", "name"),
                           ("nearest_group_organisation", "organisation"),
                           ("nearest_group_kommune", "kommunenavn")):
        table[column] = nearest[source].to_numpy() if nearest is not None else ""
    for organisation in settings.SELF_HELP_ORGANISATIONS:
        own = groups[groups["organisation"] == organisation]
        table[f"km_{organisation}"] = NearestIndex.from_services(own).distance_km(lat, lon)
    inst_index = NearestIndex.from_services(institutions)
    inst_pos, inst_km = inst_index.query(lat, lon, k=1)
    table["km_institution"] = inst_km[:, 0]
    table["nearest_institution"] = (
        institutions["name"].to_numpy()[inst_pos[:, 0]] if len(institutions) else "")

    counts = groups.groupby("kommunenummer").size()
    table["groups_in_kommune"] = table["kommunenummer"].map(counts).fillna(0).astype("int64")
    inst_counts = institutions.groupby("kommunenummer").size()
    table["institutions_in_kommune"] = (
        table["kommunenummer"].map(inst_counts).fillna(0).astype("int64"))

    km_per_cell = all_groups.distance_km(grid["lat"].to_numpy(), grid["lon"].to_numpy())
    # A kommune without inhabited grid cells falls back to its centre's distance.
    far = measures.figures(km_per_cell, grid, table, measures.BEYOND_KM,
                           centre=table["nearest_group_km"])
    table["population_weighted_km"] = far["weighted"]
    for t in measures.BEYOND_KM:
        table[t.column] = far[t.column]
    columns = [*settings.KOMMUNE_COLUMNS, "kommunenavn_offisielt"]
    return table[columns].sort_values("kommunenummer", ignore_index=True)


def population_exposure(grid: pd.DataFrame, index: NearestIndex) -> pd.DataFrame:
    """Return, per kommune, the population-weighted distance to the nearest service.

    Parameters
    ----------
    grid : pandas.DataFrame
        Population grid cells with ``lat``, ``lon``, ``befolkning``, ``kommunenummer``.
    index : NearestIndex
        The services to measure to.

    Returns
    -------
    pandas.DataFrame
        ``kommunenummer``, ``population_weighted_km`` and, for each threshold in
        :data:`tilbudskart.settings.BEYOND_KM`, ``share_beyond_<t>km`` (share of the
        kommune's grid population living farther away than ``t`` km).

    """
    cells = grid[["kommunenummer", "befolkning"]].copy()
    cells["km"] = index.distance_km(grid["lat"].to_numpy(), grid["lon"].to_numpy())
    cells["weighted"] = cells["km"] * cells["befolkning"]
    for threshold in settings.BEYOND_KM:
        cells[f"beyond_{threshold}"] = cells["befolkning"].where(cells["km"] > threshold, 0)
    sums = cells.groupby("kommunenummer").sum(numeric_only=True)
    result = pd.DataFrame(index=sums.index)
    result["population_weighted_km"] = sums["weighted"] / sums["befolkning"]
    for threshold in settings.BEYOND_KM:
        result[f"share_beyond_{threshold}km"] = sums[f"beyond_{threshold}"] / sums["befolkning"]
    return result.reset_index()


def mainland_note(territory: str, nearest: pd.DataFrame) -> str:
    """Return the Norwegian note for a search on Svalbard or Jan Mayen.

    The registry has no group there, so the answer is the nearest group on the mainland
    (and the national phone lines, which the caller shows beside it).

    Parameters
    ----------
    territory : str
        ``Match.territory`` of the search (``"Svalbard"`` or ``"Jan Mayen"``).
    nearest : pandas.DataFrame
        :func:`nearest_services` from the searched point, nearest first.

    Returns
    -------
    str
        E.g. "Det finnes ingen grupper på Svalbard i registeret; nærmeste på fastlandet
        er LMS (Landsforbundet Mot Stoffmisbruk): «Tromsø» i Tromsø, 962 km i luftlinje."

    """
    text = f"Det finnes ingen grupper på {territory} i registeret"
    if nearest.empty:
        return text + "."
    row = nearest.iloc[0]
    organisation = settings.ORGANISATIONS.get(str(row["organisation"]), str(row["organisation"]))
    km = format_decimal(round(float(row["distance_km"])), format="#,##0", locale="nb_NO")
    return (f"{text}; nærmeste på fastlandet er {organisation}: «{row['name']}» i "
            f"{row['kommunenavn']}, {km} km i luftlinje.")


def search_notes(resolution: Resolution, match: Match, nearest: pd.DataFrame) -> list[str]:
    """Return the Norwegian notes to show beside the answer to a search, in order.

    Parameters
    ----------
    resolution : tilbudskart.geocode.Resolution
        What :meth:`tilbudskart.geocode.Gazetteer.search` returned.
    match : tilbudskart.geocode.Match
        The location shown: ``resolution.match``, or the candidate the person picked.
    nearest : pandas.DataFrame
        :func:`nearest_services` from ``match``, nearest first.

    Returns
    -------
    list of str
        What part of the search was not used (a street address), and for Svalbard or
        Jan Mayen that the place is in no kommune and which group on the mainland is
        nearest; empty for an ordinary search. Plain text: escape it where it is shown.

    """
    notes = [resolution.note]
    if match.territory:
        notes += [match.note, mainland_note(match.territory, nearest)]
    return [note for note in notes if note]
