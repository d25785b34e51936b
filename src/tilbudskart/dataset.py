"""Build the dataset: registry (+ imports) → geocoded services → kommune table.

:func:`build_dataset` runs every stage in order. :mod:`tilbudskart.build_outputs` writes
its files, :mod:`tilbudskart.appdata` keeps it for the app; :mod:`tilbudskart.pipeline`
re-exports every public name of these modules.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from tilbudskart import (
    access,
    datasources,
    geocode,
    importers,
    network,
    published,
    registry,
    sandbox,
    settings,
)

logger = logging.getLogger(__name__)

#: How an imported list joins the 2007 registry: ``add`` to it, or ``replace`` the rows of
#: the list's organisations.
IMPORT_MODES = ("add", "replace")


@dataclass
class Dataset:
    """The pipeline's products: geocoded services and the per-kommune table.

    ``anomalies`` lists the kommuner whose drive minutes per straight-line km are extreme
    (:func:`tilbudskart.network.travel_anomalies`), so the next routing fault shows.

    ``import_report`` holds every problem found in imported lists
    (:data:`tilbudskart.importers.REPORT_COLUMNS`), ``imports`` one line per list (format,
    detected encoding and separator, rows used and rejected).
    """

    services: gpd.GeoDataFrame
    kommuner: pd.DataFrame
    anomalies: pd.DataFrame | None = None
    import_report: pd.DataFrame = field(default_factory=importers.empty_report)
    imports: list[str] = field(default_factory=list)
    #: Per organisation, how old its list in force is (:func:`published.registry_dates`).
    list_dates: dict[str, published.ListDate] = field(default_factory=published.report_dates)
    #: Why the registry store was not read (None: read, or not asked).
    store_notice: str | None = None
    #: The store's newest version id the data was built from (None: store not read).
    registry_head: int | None = None


class StrictImportError(importers.ImportFileError):
    """``strict`` was asked for and an imported list has rejected rows (see ``report``)."""

    def __init__(self, report: pd.DataFrame):
        self.report = report
        errors = report[report["severity"] == importers.ERROR]
        first = errors.iloc[0]
        super().__init__(first["file"], None if pd.isna(first["row"]) else int(first["row"]),
                         first["field"], f"{first['problem']} — and {len(errors) - 1} more "
                         f"problem(s); strict import stops at any rejected row"
                         if len(errors) > 1 else
                         f"{first['problem']} (strict import stops at any rejected row)")


def read_imports(imports: Sequence[Path | importers.ImportResult],
                 organisation: str | None = None,
                 gazetteer: geocode.Gazetteer | None = None) -> list[importers.ImportResult]:
    """Read every imported list (paths are read; results already read are kept).

    Parameters
    ----------
    imports : sequence of pathlib.Path or ImportResult
        The lists.
    organisation : str, optional
        Organisation of lists without an organisation column.
    gazetteer : Gazetteer, optional
        For the postcode register (rows with an unknown postcode are reported).

    Returns
    -------
    list of ImportResult

    Raises
    ------
    tilbudskart.importers.ImportFileError
        If a list cannot be read at all.

    """
    known = gazetteer.postcodes.index if gazetteer is not None else None
    # Every list is parsed in a worker process with memory and time limits (sandbox).
    return [item if isinstance(item, importers.ImportResult)
            else sandbox.import_isolated(importers.read_list_file(Path(item)), Path(item).name,
                                         organisation, known) for item in imports]


def kommune_tables(services: gpd.GeoDataFrame, population_grid: pd.DataFrame,
                   road_network: network.RoadNetwork) -> pd.DataFrame:
    """Return the kommune table for some services: straight-line and road figures.

    Parameters
    ----------
    services : geopandas.GeoDataFrame
        Geocoded services (only ``status == "geocoded"`` rows count: online-only meetings,
        duplicates and unresolved rows do not).
    population_grid : pandas.DataFrame
        Grid cells with ``lat``/``lon``/``x``/``y``.
    road_network : RoadNetwork
        Roads and car ferries.

    Returns
    -------
    pandas.DataFrame
        :func:`tilbudskart.access.kommune_table` joined with
        :func:`tilbudskart.network.travel_table`.

    """
    kommuner = access.kommune_table(
        services,
        datasources.read_admin_centres(),
        datasources.read_population(),
        population_grid,
    )
    travel = network.travel_table(road_network, services, kommuner, population_grid)
    return kommuner.merge(travel, on="kommunenummer", how="left", validate="one_to_one")


def _imported_services(base: pd.DataFrame, results: Sequence[importers.ImportResult],
                       gazetteer: geocode.Gazetteer, strict: bool,
                       keep_duplicates: bool = False,
                       registry_rows: pd.DataFrame | None = None,
                       ) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Geocode the imported rows; return them and the report (duplicates, unresolved).

    A row that looks like an earlier row of the lists, or like one of ``registry_rows``
    (the 2007 groups a list is added to), is a duplicate: unless ``keep_duplicates``, it
    gets ``status`` ``duplicate`` and ``duplicate_of`` (shown in the report, left out of
    every count, search and map), as the registry's own duplicates are.
    """
    rows, report = importers.combine(results, base["id"])
    if strict and (report["severity"] == importers.ERROR).any():
        raise StrictImportError(report)
    services = geocode.geocode_services(rows, gazetteer)
    if len(rows):
        located = rows[["id", "registry_file", "source_row"]].merge(
            services[["id", "kommunenummer", "organisation", "name", "place", "status",
                      "reason"]], on="id")
        unresolved = located[located["status"] == "unresolved"]
        duplicates, pairs = importers.find_duplicates(
            located[located["status"] != "unresolved"], registry_rows,
            left_out=not keep_duplicates)
        report = importers.concat_reports([report, importers.report_frame(
            {"file": r.registry_file, "row": r.source_row, "field": "place",
             "value": r.place, "problem": f"not placed ({r.reason}); listed in unresolved.csv",
             "severity": importers.WARNING} for r in unresolved.itertuples()), duplicates])
        if pairs and not keep_duplicates:
            repeated = services["id"].isin(pairs)
            services.loc[repeated, "duplicate_of"] = services.loc[repeated, "id"].map(pairs)
            services.loc[repeated, "reason"] = "duplicate of " + services.loc[
                repeated, "duplicate_of"]
            services.loc[repeated, "status"] = "duplicate"
    return services, report


def build_dataset(imports: Sequence[Path | importers.ImportResult] = (), grid: str = "1km",
                  gazetteer: geocode.Gazetteer | None = None,
                  population_grid: pd.DataFrame | None = None,
                  road_network: network.RoadNetwork | None = None,
                  organisation: str | None = None, strict: bool = False,
                  mode: str = "add",
                  lists: published.Published | bool = True) -> Dataset:
    """Run the pipeline: registry (+ imports) → geocoded services → kommune table.

    The kommune table holds straight-line distances (:func:`tilbudskart.access.kommune_table`)
    and travel times by road and car ferry (:func:`tilbudskart.network.travel_table`).

    Parameters
    ----------
    imports : sequence of pathlib.Path or ImportResult
        Lists of today's groups: CSV, .xlsx or Meeting Guide JSON (see
        :mod:`tilbudskart.importers`); rows with problems are reported, not used.
    grid : {"1km", "250m"}
        Population grid used for population weighting.
    gazetteer : Gazetteer, optional
        Lookup tables already loaded (built from the data folder if omitted).
    population_grid : pandas.DataFrame, optional
        Grid cells with ``lat``/``lon`` already loaded (read per ``grid`` if omitted).
    road_network : RoadNetwork, optional
        The road network already built (built from N1000 if omitted).
    organisation : str, optional
        Organisation of imported lists that have no organisation column.
    strict : bool
        Stop (:class:`StrictImportError`) if any imported row is rejected.
    mode : {"add", "replace"}
        ``replace``: the 2007 rows of every organisation in the imported lists are left
        out (the lists replace them).
    lists : Published or bool
        The lists published in the registry store: each replaces its organisation's
        2007 rows (True: read the store now; False: the 2007 rows only).

    Returns
    -------
    Dataset

    Raises
    ------
    tilbudskart.registry.RegistryError
        If the registry is invalid or an imported list cannot be read
        (:class:`tilbudskart.importers.ImportFileError`, :class:`StrictImportError`).

    """
    if mode not in IMPORT_MODES:
        raise ValueError(f"mode must be one of {IMPORT_MODES}, not {mode!r}")
    if gazetteer is None:
        gazetteer = geocode.Gazetteer.from_data()
    results = read_imports(imports, organisation, gazetteer)
    if not isinstance(lists, published.Published):
        lists = published.read_published() if lists else published.Published()
    base = registry.load_registry()
    # Published lists replace their organisations' 2007 rows (before ids are checked, so
    # a list may reuse a 2007 id of its own organisation).
    base = base[~base["organisation"].isin(lists.organisations)]
    imported, report = _imported_services(base, [*lists.results, *results], gazetteer, strict)
    services = geocode.geocode_services(base, gazetteer)
    if mode == "replace":
        replaced = {str(o) for r in results for o in r.services["organisation"].unique()}
        services = services[~services["organisation"].isin(replaced)]
    services = _concat_services(services, imported)
    if population_grid is None:
        population_grid = access.grid_points(datasources.read_population_grid(grid))
    if road_network is None:
        road_network = network.national_network()
    kommuner = kommune_tables(services, population_grid, road_network)
    anomalies = network.travel_anomalies(road_network, services, kommuner)
    located = int((services["status"] == "geocoded").sum())
    logger.info("built: %d services (%d from %d imported lists), %d geocoded, %d not; "
                "%d kommuner", len(services), len(imported), len(results), located,
                len(services) - located, len(kommuner))
    return Dataset(services, kommuner, anomalies, report, [r.describe() for r in results],
                   lists.dates, lists.notice, lists.head)


def services_in_force(gazetteer: geocode.Gazetteer,
                      lists: published.Published | bool = True) -> gpd.GeoDataFrame:
    """Return the geocoded services in force, without the kommune table (fast).

    Each organisation's latest published list (registry store), else its 2007 rows: the
    services :func:`build_dataset` would give, for a search.
    """
    if not isinstance(lists, published.Published):
        lists = published.read_published() if lists else published.Published()
    base = registry.load_registry()
    base = base[~base["organisation"].isin(lists.organisations)]
    imported, _ = _imported_services(base, lists.results, gazetteer, strict=False)
    return _concat_services(geocode.geocode_services(base, gazetteer), imported)


def _concat_services(*frames: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    joined = pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)
    return gpd.GeoDataFrame(joined, geometry="geometry", crs=settings.CRS_WGS84)


