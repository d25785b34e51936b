"""Report data: what every report needs, prepared once, and every figure a report shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd

from tilbudskart import access, datasources, measures, network, planning, settings
from tilbudskart.views import language as lang

if TYPE_CHECKING:
    from tilbudskart.pipeline import AppData


# -- data ---------------------------------------------------------------------------------


@dataclass
class ReportData:
    """What every report needs, prepared once.

    Attributes
    ----------
    kommuner : pandas.DataFrame
        The kommune table (as ``build`` writes ``kommuner.csv``), indexed by kommunenummer.
    services : pandas.DataFrame
        Geocoded services with a point (``lat``, ``lon``, ``x``, ``y`` in EPSG:25833).
    polygons : geopandas.GeoDataFrame
        Kommune polygons in EPSG:25833 (``kommunenummer``, ``navn``), medium detail.
    lines : pandas.DataFrame
        The national phone lines (``data/national_lines.csv``).
    ranked : pandas.DataFrame
        :func:`tilbudskart.planning.rank_new_sites` at :attr:`radius_km`, indexed by
        kommunenummer, with ``rank`` (1 = reaches most).
    reach_by_kommune : numpy.ndarray
        People (as the tables count them) of kommune *i* now beyond :attr:`radius_km` whom a
        new group at the centre of kommune *j* would reach; rows and columns in ``kommuner``
        order.
    uncovered_by_kommune : numpy.ndarray
        People (as the tables count them) of each kommune now beyond :attr:`radius_km`.
    radius_km : float
        The "reach" of a suggested new group (km), as on the planning page: by default the
        widest distance threshold of the tables (:data:`tilbudskart.measures.FARTHEST_KM`).
    road_network : RoadNetwork or None
        The road network (for the fastest group and its route).
    routes : Routes or None
        Every network node's fastest self-help group (``services`` of kind ``self_help``,
        in order), for the route drawn on each map.

    """

    kommuner: pd.DataFrame
    services: pd.DataFrame
    polygons: gpd.GeoDataFrame
    lines: pd.DataFrame
    ranked: pd.DataFrame
    reach_by_kommune: np.ndarray
    uncovered_by_kommune: np.ndarray
    radius_km: float = field(default_factory=lambda: measures.FARTHEST_KM.value)
    road_network: network.RoadNetwork | None = None
    routes: network.Routes | None = None
    _positions: dict[str, int] = field(default_factory=dict, repr=False)
    #: Per organisation, how old its list in force is (:func:`published.registry_dates`).
    list_dates: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Index the kommuner by number (row position in the reach matrix)."""
        self._positions = {str(n): i for i, n in enumerate(self.kommuner.index)}

    def position(self, number: str) -> int:
        """Return the row of a kommune; ``ValueError`` if the number is unknown."""
        if number not in self._positions:
            raise ValueError(f"unknown kommunenummer {number!r}")
        return self._positions[number]

    @classmethod
    def from_app_data(cls, data: AppData, radius_km: float | None = None,
                      polygons: gpd.GeoDataFrame | None = None) -> ReportData:
        """Prepare report data from the app's data.

        Parameters
        ----------
        data : AppData
            What :func:`tilbudskart.pipeline.load_app_data` returned.
        radius_km : float, optional
            Reach of a suggested new group (default :data:`measures.FARTHEST_KM`).
        polygons : geopandas.GeoDataFrame, optional
            Kommune polygons (any CRS); default the medium-detail polygons.

        Returns
        -------
        ReportData

        """
        prepared = cls.from_tables(data.kommuner, data.services, data.grid, data.lines,
                                   polygons=polygons, road_network=data.network,
                                   radius_km=radius_km)
        prepared.list_dates = dict(getattr(data, "list_dates", {}) or {})
        return prepared

    @classmethod
    def from_tables(cls, kommuner: pd.DataFrame, services: pd.DataFrame, grid: pd.DataFrame,
                    lines: pd.DataFrame, polygons: gpd.GeoDataFrame | None = None,
                    road_network: network.RoadNetwork | None = None,
                    radius_km: float | None = None) -> ReportData:
        """Prepare report data from the pipeline's tables.

        Parameters
        ----------
        kommuner : pandas.DataFrame
            The kommune table (column ``kommunenummer``).
        services : pandas.DataFrame
            Geocoded services.
        grid : pandas.DataFrame
            The 1 km population grid with ``lat``/``lon``.
        lines : pandas.DataFrame
            The national phone lines.
        polygons : geopandas.GeoDataFrame, optional
            Kommune polygons; default the medium-detail polygons.
        road_network : RoadNetwork, optional
            For the fastest group by road.
        radius_km : float, optional
            Reach of a suggested new group (default :data:`measures.FARTHEST_KM`).

        Returns
        -------
        ReportData

        """
        radius_km = measures.FARTHEST_KM.value if radius_km is None else radius_km
        table = kommuner.sort_values("kommunenummer").reset_index(drop=True)
        located = services[(services["status"] == "geocoded")].dropna(subset=["lat", "lon"])
        x, y = network.to_metric(located["lat"], located["lon"])
        located = pd.DataFrame(located.drop(columns="geometry", errors="ignore")).assign(x=x, y=y)
        if polygons is None:
            polygons = datasources.read_kommuner("M")
        shapes = polygons.to_crs(settings.CRS_METRIC)[["kommunenummer", "navn", "geometry"]]
        # 100 m is below a printed point at the scale of any kommune map (≥ 60 km wide).
        shapes = shapes.assign(geometry=shapes.geometry.simplify(100.0))
        ranked = planning.rank_new_sites(table, grid, services, radius_km=radius_km)
        ranked = ranked.assign(rank=np.arange(1, len(ranked) + 1)).set_index("kommunenummer")
        # People as the tables count them (measures.POPULATION_SOURCE), as planning does.
        people_grid = grid.assign(befolkning=measures.scaled_population(grid, table))
        uncovered = planning.uncovered_cells(people_grid, services, radius_km)
        numbers = table["kommunenummer"].astype(str).tolist()
        row_of = {n: i for i, n in enumerate(numbers)}
        reach_people = np.zeros((len(numbers), len(numbers)))
        if not uncovered.empty:
            # As planning measures reach: on the ellipsoid (planning.km_pairs).
            pairs = planning.km_pairs(
                uncovered["lat"].to_numpy(float), uncovered["lon"].to_numpy(float),
                table["admin_lat"].to_numpy(float), table["admin_lon"].to_numpy(float),
                radius_km)
            cell_row = uncovered["kommunenummer"].map(row_of).to_numpy()
            people = uncovered["befolkning"].to_numpy(dtype=float)
            known = ~pd.isna(cell_row[pairs.row])
            np.add.at(reach_people, (cell_row[pairs.row][known].astype(np.int64),
                                     pairs.col[known]), people[pairs.row][known])
        reach = np.round(reach_people).astype(np.int64)
        inside = uncovered.groupby("kommunenummer")["befolkning"].sum()
        uncovered_by_kommune = np.array([round(float(inside.get(n, 0))) for n in numbers],
                                        dtype=np.int64)
        routes = None
        if road_network is not None:
            groups = located[located["kind"] == "self_help"]
            routes = road_network.nearest(groups["x"].to_numpy(), groups["y"].to_numpy())
        return cls(kommuner=table.set_index("kommunenummer"), services=located,
                   polygons=shapes, lines=lines, ranked=ranked, reach_by_kommune=reach,
                   uncovered_by_kommune=uncovered_by_kommune, radius_km=radius_km,
                   road_network=road_network, routes=routes)


# -- facts: every figure a report shows ------------------------------------------------------


def _columns(language: str = "nb") -> dict[str, str]:
    """Return the "people beyond" columns with their Norwegian labels, in order."""
    labels = {settings.beyond_km_column(km): lang.text("report.beyond_km", language, km=km)
              for km in settings.BEYOND_KM}
    labels.update({settings.beyond_minutes_column(m): lang.text("report.beyond_min", language,
                                                           minutes=m)
                   for m in settings.BEYOND_MINUTES})
    return labels


def beyond_ranks(kommuner: pd.DataFrame) -> pd.DataFrame:
    """Return, per "people beyond" column, each kommune's rank and the national median.

    Parameters
    ----------
    kommuner : pandas.DataFrame
        The kommune table, indexed by kommunenummer.

    Returns
    -------
    pandas.DataFrame
        Index kommunenummer; per column ``<column>_rank`` (1 = most people that far away;
        ties share the best rank) and ``<column>_tied`` (bool). The medians are in
        ``attrs["median"]`` (column → median over all kommuner).

    """
    result = pd.DataFrame(index=kommuner.index)
    medians: dict[str, float] = {}
    for column in _columns():
        values = kommuner[column]
        result[f"{column}_rank"] = values.rank(method="min", ascending=False).astype("int64")
        result[f"{column}_tied"] = values.duplicated(keep=False)
        medians[column] = float(values.median())
    result.attrs["median"] = medians
    return result


def _nearest_by_organisation(data: ReportData, row: pd.Series) -> pd.DataFrame:
    """Return one row per organisation: nearest in a line and fastest by road from the centre."""
    ranked = access.by_distance(float(row["admin_lat"]), float(row["admin_lon"]),
                                data.services)
    if data.road_network is not None:
        ranked["drive"] = network.minutes_to(data.road_network, float(row["admin_lat"]),
                                             float(row["admin_lon"]), ranked)
    else:
        ranked["drive"] = np.nan
    rows = []
    for organisation in [*settings.SELF_HELP_ORGANISATIONS, "institution"]:
        own = ranked[ranked["organisation"] == organisation] if organisation != "institution" \
            else ranked[ranked["kind"] == "institution"]
        if own.empty:
            continue
        nearest = own.iloc[0]
        fastest = own.sort_values(["drive", "distance_km"], kind="stable").iloc[0]
        rows.append({
            "organisation": organisation,
            "organisation_name": settings.ORGANISATIONS.get(organisation, organisation),
            "km": float(row[settings.km_column(organisation)]),
            "drive_min": float(row[settings.minutes_column(organisation)]),
            "group": str(nearest["name"]), "group_id": str(nearest["id"]),
            "group_kommune": str(nearest["kommunenavn"]),
            "group_place": str(nearest["place"] or ""),
            "group_address": str(nearest["address"] or ""),
            "precision": str(nearest["precision"]),
            "lat": float(nearest["lat"]), "lon": float(nearest["lon"]),
            "x": float(nearest["x"]), "y": float(nearest["y"]),
            "fastest": str(fastest["name"]), "fastest_id": str(fastest["id"]),
            "fastest_kommune": str(fastest["kommunenavn"]),
            "fastest_x": float(fastest["x"]), "fastest_y": float(fastest["y"]),
        })
    return pd.DataFrame(rows)


def best_site(data: ReportData, number: str, share: float = 0.5) -> dict[str, Any] | None:
    """Return the best site for one new group that would serve this kommune.

    A candidate is a kommune centre (as on the planning page). It *serves* the kommune when
    it would reach at least ``share`` of the kommune's residents now beyond
    :attr:`radius_km` (or, if none does, when it reaches as many of them as any
    candidate does). Among those, the one that would reach the most people in all wins
    (:func:`tilbudskart.planning.rank_new_sites`): the strongest case to make for the
    kommune is a group that also reaches the most people around it.

    Parameters
    ----------
    data : ReportData
        Prepared report data.
    number : str
        Kommunenummer.
    share : float
        Share of the kommune's unserved residents a site must reach.

    Returns
    -------
    dict or None
        ``kommunenummer``, ``kommunenavn``, ``fylkesnavn``, ``admin_centre``, ``x``, ``y``,
        ``reach`` (people in all), ``reach_here`` (of this kommune), ``uncovered_here``,
        ``rank`` (among the single sites) — or None when nobody in the kommune lives beyond
        :attr:`radius_km` of a group.

    """
    i = data.position(number)
    here = data.reach_by_kommune[i]
    uncovered = int(data.uncovered_by_kommune[i])
    if uncovered == 0 or here.max() == 0:
        return None
    eligible = here >= share * uncovered
    if not eligible.any():
        eligible = here == here.max()
    numbers = data.kommuner.index.to_numpy()
    reach = data.ranked.loc[numbers, "reach"].to_numpy()
    order = np.lexsort((numbers, -here, -reach))  # most reach, then most here, then number
    chosen = int(next(j for j in order if eligible[j]))
    site = str(numbers[chosen])
    row = cast(pd.Series, data.kommuner.loc[site])
    x, y = network.to_metric([float(row["admin_lat"])], [float(row["admin_lon"])])
    return {
        "kommunenummer": site, "kommunenavn": str(row["kommunenavn"]),
        "fylkesnavn": str(row["fylkesnavn"]), "admin_centre": str(row["admin_centre"]),
        "x": float(x[0]), "y": float(y[0]), "reach": int(reach[chosen]),
        "reach_here": int(here[chosen]), "uncovered_here": uncovered,
        "rank": int(cast(Any, data.ranked.at[site, "rank"])),
    }


def kommune_facts(data: ReportData, number: str,
                  ranks: pd.DataFrame | None = None,
                  language: str | None = None) -> dict[str, Any]:
    """Return every figure one kommune's report shows, as plain values.

    Parameters
    ----------
    data : ReportData
        Prepared report data.
    number : str
        Kommunenummer.
    ranks : pandas.DataFrame, optional
        :func:`beyond_ranks` of ``data.kommuner`` (computed if omitted).
    language : str, optional
        ``nb`` or ``nn`` (default: the kommune's own målform,
        :func:`tilbudskart.views.language.kommune_language`).

    Returns
    -------
    dict
        ``language``, ``row`` (the kommune-table row), ``organisations`` (one row per organisation:
        ``km``, ``drive_min`` from the table; the nearest group in a line and the fastest
        by road), ``beyond`` (per threshold: ``label``, ``people``, ``share``, ``rank``,
        ``tied``, ``median``), ``site`` (:func:`best_site`).

    Raises
    ------
    ValueError
        If the kommune is unknown.

    """
    data.position(number)
    if ranks is None:
        ranks = beyond_ranks(data.kommuner)
    row = cast(pd.Series, data.kommuner.loc[number])
    language = language or lang.kommune_language(number)
    beyond = []
    for column, label in _columns(language).items():
        people = int(row[column])
        beyond.append({
            "column": column, "label": label, "people": people,
            "share": people / float(row["folkemengde"]) if row["folkemengde"] else 0.0,
            "rank": int(cast(Any, ranks.at[number, f"{column}_rank"])),
            "tied": bool(ranks.at[number, f"{column}_tied"]),
            "median": float(ranks.attrs["median"][column]),
        })
    return {"number": number, "row": row, "language": language,
            "organisations": _nearest_by_organisation(data, row),
            "beyond": beyond, "site": best_site(data, number)}
