"""Pipeline: registry (+ imports) → geocoded services → kommune table, and its outputs.

:func:`build_dataset` runs every stage in order; :func:`write_outputs` writes the files
``build`` promises; :class:`AppData` is what the app loads once per server process. The
command line (:mod:`tilbudskart.cli`) and the app (``app.py``) both sit on top of this
module; nothing here imports either of them.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from tilbudskart import (
    access,
    csvsafe,
    datasources,
    geocode,
    importers,
    measures,
    network,
    outputs,
    published,
    registry,
    sandbox,
    seasons,
    settings,
)
from tilbudskart.network import Routes

logger = logging.getLogger(__name__)

#: Files ``build`` writes, in the order they are listed (all are published at once).
OUTPUT_FILES = ("services.csv", "kommuner.csv", "unresolved.csv", "import_report.csv",
                "tilbudskart.gpkg", "travel_anomalies.csv", "BUILD")

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


def with_imported(data: AppData, results: Sequence[importers.ImportResult], mode: str = "add",
                  organisations: Sequence[str] | None = None,
                  keep_duplicates: bool = False) -> Dataset:
    """Return the services and kommune table with imported lists joined (app uploads).

    Nothing is written: the registry's geocoded rows are taken from ``data``, only the
    imported rows are geocoded, and every kommune figure is computed afresh. The app keeps
    the result in one browser session.

    Parameters
    ----------
    data : AppData
        The loaded app data (registry only, or with the server's imports).
    results : sequence of ImportResult
        Lists read from uploaded bytes (:func:`tilbudskart.importers.import_bytes`).
    mode : {"add", "replace"}
        ``add`` the rows to the registry, or ``replace`` the 2007 rows of
        ``organisations``.
    organisations : sequence of str, optional
        Whose 2007 rows ``replace`` leaves out (default: the organisations in the lists).
    keep_duplicates : bool
        Count rows that look like an earlier row or (``add``) a 2007 group; by default
        they are reported and left out.

    Returns
    -------
    Dataset
        ``services``, ``kommuner``, ``import_report`` and ``imports`` for the session.

    """
    if mode not in IMPORT_MODES:
        raise ValueError(f"mode must be one of {IMPORT_MODES}, not {mode!r}")
    base = data.services
    imported, report = _imported_services(
        base, results, data.gazetteer, strict=False, keep_duplicates=keep_duplicates,
        registry_rows=_registry_rows(base) if mode == "add" else None)
    if mode == "replace":
        chosen = set(organisations) if organisations is not None else set(
            imported["organisation"])
        registry_ids = set(registry.load_registry()["id"])
        # The list in force: the 2007 rows, or the organisation's published list.
        in_force = base["id"].isin(registry_ids) | base["organisation"].isin(
            [o for o, d in data.list_dates.items() if d.published_at is not None])
        base = base[~(base["organisation"].isin(chosen) & in_force)]
    services = _concat_services(base, imported)
    kommuner = kommune_tables(services, data.grid, data.network)
    return Dataset(services, kommuner, import_report=report,
                   imports=[r.describe() for r in results])


def rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy with km and minutes to 3 decimals and coordinates to 6 (stable outputs)."""
    frame = frame.copy()
    for column in frame.columns:
        if (column.endswith("_km") or column.startswith("km_") or "drive_min" in column
                or column == "distance_km"):
            frame[column] = frame[column].round(3)
        elif column in {"lat", "lon", "admin_lat", "admin_lon"}:
            frame[column] = frame[column].round(6)
    return frame


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write an output CSV: rounded, Excel-safe (no cell can start a formula)."""
    csvsafe.to_csv(rounded(frame), path)


def write_outputs(dataset: Dataset, out: Path) -> list[Path]:
    """Write the build outputs into ``out``; the whole set switches at once.

    Every file is written into a fresh folder ``out/.builds/<stamp>/`` and published by
    swapping one symlink, ``out/current``; ``out/<name>`` links through it (see
    :mod:`tilbudskart.outputs`). A failure or a kill leaves the previous set complete, and
    the next build removes what a killed one left behind.

    Parameters
    ----------
    dataset : Dataset
        What :func:`build_dataset` returned.
    out : pathlib.Path
        Target folder (created if missing).

    Returns
    -------
    list of pathlib.Path
        The files written (``out/<name>``), in the order of :data:`OUTPUT_FILES`.

    Raises
    ------
    tilbudskart.outputs.OutputError
        If ``out`` is not a writable folder or another build is writing into it.

    """
    services = pd.DataFrame(dataset.services.drop(columns="geometry"))
    ident = build_id(dataset)
    with outputs.publishing(out, ident) as publication:
        staging = publication.folder
        # Every file names its build (a last column ``build_id``; out/BUILD names it too),
        # so a reader can tell a consistent set (see outputs.resolve_current).
        build = {"build_id": ident}
        _write_csv(services.assign(**build), staging / "services.csv")
        _write_csv(dataset.kommuner.assign(**build), staging / "kommuner.csv")
        unresolved = services[services["status"] == "unresolved"]
        _write_csv(unresolved[["id", "name", "organisation", "place", "postcode", "county",
                               "source", "reason"]].assign(**build),
                   staging / "unresolved.csv")
        importers.write_report(dataset.import_report.assign(**build),
                               staging / "import_report.csv")
        gpkg = staging / "tilbudskart.gpkg"
        points = gpd.GeoDataFrame(rounded(dataset.services).assign(**build),
                                  geometry="geometry", crs=settings.CRS_WGS84)
        points.to_file(gpkg, layer="services", driver="GPKG", engine="pyogrio")
        polygons = datasources.read_kommuner("M")[["kommunenummer", "geometry"]]
        layer = polygons.merge(rounded(dataset.kommuner), on="kommunenummer").assign(**build)
        layer.to_file(gpkg, layer="kommuner", driver="GPKG", engine="pyogrio")
        anomalies = dataset.anomalies if dataset.anomalies is not None else pd.DataFrame()
        _write_csv(anomalies.assign(**build), staging / "travel_anomalies.csv")
    order = {name: i for i, name in enumerate(OUTPUT_FILES)}
    return sorted(publication.written, key=lambda p: (order.get(p.name, len(order)), p.name))


def build_id(dataset: Dataset) -> str:
    """Return the id of a build's outputs: a digest of what they hold (16 hex digits).

    The same data gives the same id (two builds of it are byte-identical), different data
    another one, so files with the same ``build_id`` are one consistent set.
    """
    digest = hashlib.sha256()
    frames = [pd.DataFrame(dataset.services.drop(columns="geometry")), dataset.kommuner,
              dataset.import_report,
              dataset.anomalies if dataset.anomalies is not None else pd.DataFrame()]
    for frame in frames:
        digest.update(frame.to_csv(index=False).encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:16]


def summary(dataset: Dataset) -> str:
    """Return a short plain-text summary of a build."""
    services, kommuner = registry.counted(dataset.services), dataset.kommuner
    lines = ["Services per organisation (geocoded / total; duplicates left out):"]
    for organisation in settings.ORGANISATIONS:
        rows = services[services["organisation"] == organisation]
        done = int((rows["status"] == "geocoded").sum())
        online = int((rows["status"] == "online").sum())
        extra = f" (+{online} online only)" if online else ""
        lines.append(f"  {organisation:<16} {done:>4} / {len(rows)}{extra}")
    published_lists = [f"{o} version {d.version} of {d.published_at:%Y-%m-%d}"
                       for o, d in dataset.list_dates.items() if d.published_at is not None]
    lines.append("Lists in force: " + ("; ".join(published_lists) + "; the others"
                                       if published_lists else "every organisation")
                 + " from the 2007 report")
    if dataset.store_notice:
        lines.append(f"Registry store not read: {dataset.store_notice}")
    unresolved = services[services["status"] == "unresolved"]
    lines.append(f"Unresolved: {len(unresolved)}")
    for row in unresolved.itertuples():
        lines.append(f"  {row.id}: {row.name} — {row.reason}")
    widest = max(settings.BEYOND_KM)
    far = kommuner[kommuner[settings.km_column()] > widest]
    lines.append(f"Kommuner without a self-help group within {widest} km: {len(far)} of "
                 f"{len(kommuner)}, {int(far['folkemengde'].sum()):,} inhabitants")
    for km in settings.BEYOND_KM:
        lines.append(f"People living more than {km} km from any group: "
                     f"{int(kommuner[settings.beyond_km_column(km)].sum()):,}")
    by_road = " / ".join(f"{int(kommuner[settings.beyond_minutes_column(m)].sum()):,}"
                         for m in settings.BEYOND_MINUTES)
    thresholds = " / ".join(str(m) for m in settings.BEYOND_MINUTES)
    lines.append(f"People more than {thresholds} minutes by road and car ferry from any "
                 f"group in winter (passes closed): {by_road} (not routable: "
                 f"{int(kommuner['population_not_routed'].sum()):,})")
    stranded = kommuner[kommuner["population_not_routed"] > 0].sort_values(
        "population_not_routed", ascending=False)
    if len(stranded):
        lines.append("  living where no road reaches a group (an island with no road, or no "
                     "car ferry in N1000; boat or express boat): "
                     + ", ".join(f"{row.kommunenavn} {row.population_not_routed:,}"
                                 for row in stranded.itertuples()))
    if "drive_min_summer" in kommuner:
        quicker = kommuner[kommuner["drive_min_summer"] < kommuner["drive_min"] - 0.5]
        if len(quicker):
            lines.append("Quicker in summer (passes closed and convoys in winter): " + ", ".join(
                f"{row.kommunenavn} {row.drive_min:.0f} → {row.drive_min_summer:.0f} min"
                for row in quicker.sort_values("drive_min").itertuples()))
    if dataset.anomalies is not None and len(dataset.anomalies):
        lines.append("Drive times to check (most minutes per straight-line km, "
                     "travel_anomalies.csv):")
        for row in dataset.anomalies.head(5).itertuples():
            lines.append(f"  {row.kommunenavn}: {row.drive_min:.0f} min for "
                         f"{row.straight_km:.0f} km in a line to {row.group} "
                         f"({row.min_per_km:.1f} min/km); first {row.first_leg}, "
                         f"last {row.last_leg}")
    return "\n".join(lines)


# -- data for the app ------------------------------------------------------------------


@dataclass
class AppData:
    """Everything the app shows, loaded once per server process.

    Build it with :func:`load_app_data` (which reads it from the on-disk cache when the
    inputs are unchanged).

    Attributes
    ----------
    gazetteer : Gazetteer
        Offline lookup of postcodes, places and kommuner (for searches).
    grid : pandas.DataFrame
        The 1 km population grid with ``lat``/``lon``.
    network : RoadNetwork
        Roads and car ferries (for a searched point's drive times).
    services : geopandas.GeoDataFrame
        Geocoded services (registry + imports).
    kommuner : pandas.DataFrame
        The per-kommune table.
    polygons : geopandas.GeoDataFrame
        Coarse kommune polygons (EPSG:4326) for the national maps.
    lines : pandas.DataFrame
        The national phone lines.
    attributions : list of str
        What the data's licences ask to be credited.

    """

    gazetteer: geocode.Gazetteer
    grid: pd.DataFrame
    network: network.RoadNetwork
    services: gpd.GeoDataFrame
    kommuner: pd.DataFrame
    polygons: gpd.GeoDataFrame
    lines: pd.DataFrame
    attributions: list[str]
    #: Nearest-group routes per organisation, computed when first asked for.
    routes: dict[str, Routes] = field(default_factory=dict, repr=False)
    #: Per organisation, how old its list in force is (:func:`published.registry_dates`).
    list_dates: dict[str, published.ListDate] = field(default_factory=published.report_dates)
    #: Why the registry store was not read (the data shown is the last built).
    store_notice: str | None = None
    #: The store's newest version id the data was built from (None: store not read).
    registry_head: int | None = None
    #: Kommune tables of one organisation each (:func:`organisation_table`), when asked for.
    organisation_tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)


def read_national_lines(path: Path = settings.NATIONAL_LINES_PATH) -> pd.DataFrame:
    """Read the national phone lines (transcribed from the seeds, with source)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def build_app_data(imports: Sequence[Path] = (),
                   lists: published.Published | bool = True) -> AppData:
    """Build the app's data from the inputs (no cache; see :func:`load_app_data`).

    Parameters
    ----------
    imports : sequence of pathlib.Path
        Extra service lists (see :func:`tilbudskart.importers.import_bytes`).
    lists : Published or bool
        The published lists (True: read the registry store now).

    Returns
    -------
    AppData

    """
    gazetteer = geocode.Gazetteer.from_data()
    grid = access.grid_points(datasources.read_population_grid("1km"))
    road_network = network.national_network()
    dataset = build_dataset(imports, gazetteer=gazetteer, population_grid=grid,
                            road_network=road_network, lists=lists)
    return AppData(gazetteer=gazetteer, grid=grid, network=road_network,
                   services=dataset.services, kommuner=dataset.kommuner,
                   polygons=datasources.read_kommuner("S"), lines=read_national_lines(),
                   attributions=datasources.attributions(), list_dates=dataset.list_dates,
                   store_notice=dataset.store_notice, registry_head=dataset.registry_head)


def rebuilt_app_data(data: AppData, imports: Sequence[Path] = ()) -> AppData:
    """Return ``data`` with the registry store's lists in force now.

    The gazetteer, grid and road network are reused (about a second). Used when a publish
    is seen (:func:`live_app_data`).
    """
    dataset = build_dataset(imports, gazetteer=data.gazetteer, population_grid=data.grid,
                            road_network=data.network)
    if dataset.store_notice is not None:  # the store went away: keep what is shown
        return replace(data, store_notice=dataset.store_notice)
    return replace(data, services=dataset.services, kommuner=dataset.kommuner, routes={},
                   list_dates=dataset.list_dates, store_notice=None,
                   registry_head=dataset.registry_head)


def live_app_data(imports: Sequence[Path] = ()) -> published.LiveData[AppData]:
    """Return this process's app data that follows the registry store.

    Polled (see :class:`tilbudskart.published.LiveData`); started once per process and
    list of imports.
    """
    key = (*(str(p) for p in imports), settings.data_dir_setting() or "")
    with _LOADED_LOCK:
        live = _LIVE.get(key)
    if live is None:
        data = load_app_data(imports)
        live = published.LiveData(data, lambda old: rebuilt_app_data(old, imports),
                                  _store_head)
        with _LOADED_LOCK:
            live = _LIVE.setdefault(key, live)
        live.start()
    return live


def _store_head() -> int | None:
    """Return the registry store's newest version id (None when it cannot be reached)."""
    from tilbudskart.store import StoreError, open_store

    try:
        if _STORE[0] is None:
            _STORE[0] = open_store()
        head = int(_STORE[0].head())
    except StoreError as error:
        if _STORE[1] != str(error):  # said once per fault, not every second
            logger.warning("registry store not polled: %s", error)
        _STORE[1] = str(error)
        return None
    if _STORE[1] is not None:
        logger.warning("registry store reachable again")
        _STORE[1] = None
    return head


#: This process's store handle for polling and its last fault; its live data per imports.
_STORE: list[Any] = [None, None]
_LIVE: dict[tuple[str, ...], published.LiveData[AppData]] = {}


def input_fingerprint(imports: Sequence[Path] = (), lists_key: str = "") -> str:
    """Return the sha256 of everything a build depends on.

    The package's code and data files (registry, lookups, geodata manifest — which holds
    the sha256 of every shared geodata file), the versions of Python and the libraries
    that compute, and the bytes of every imported list. Any change gives a new key.

    Parameters
    ----------
    imports : sequence of pathlib.Path
        Extra service lists.
    lists_key : str
        The published lists in force (:attr:`tilbudskart.published.Published.key`).

    Returns
    -------
    str
        A hex digest.

    """
    import platform
    from importlib import metadata

    digest = hashlib.sha256()
    digest.update(platform.python_version().encode())
    for library in ("numpy", "pandas", "geopandas", "shapely", "pyproj", "scipy"):
        digest.update(f"{library}={metadata.version(library)}".encode())
    root = Path(__file__).resolve().parent
    files = sorted([*root.rglob("*.py"), *settings.REGISTRY_DIR.glob("*.csv"),
                    settings.MANIFEST_PATH])
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    for path in imports:
        digest.update(Path(path).read_bytes())
    digest.update(lists_key.encode())
    return digest.hexdigest()


def cache_dir() -> Path | None:
    """Return the folder of built datasets (``None`` when caching is turned off).

    ``$TILBUDSKART_CACHE_DIR`` names it (empty: off); else
    :data:`tilbudskart.settings.BUILD_CACHE_DIR`.
    """
    configured = settings.build_cache_setting()
    if configured is None:
        return settings.BUILD_CACHE_DIR
    return Path(configured) if configured else None


def load_app_data(imports: Sequence[Path] = (), folder: Path | None = None) -> AppData:
    """Return the app's data, from the on-disk cache when every input is unchanged.

    The cache file is named by :func:`input_fingerprint`, so a change to any input, to the
    code or to a library version builds afresh; a cache that cannot be read or written is
    logged and ignored. A server restart then loads in a fraction of a build.

    Parameters
    ----------
    imports : sequence of pathlib.Path
        Extra service lists.
    folder : pathlib.Path, optional
        Cache folder (default :func:`cache_dir`).

    Returns
    -------
    AppData

    """
    folder = folder if folder is not None else cache_dir()
    lists = published.read_published()
    if folder is None:
        return build_app_data(imports, lists)
    if lists.notice is not None:
        # The store cannot be read: serve the last built data, saying so.
        last = _last_cached(folder)
        if last is not None:
            return replace(last, store_notice=lists.notice)
    path = folder / f"appdata-{input_fingerprint(imports, lists.key)}.pickle"
    key = (str(path), settings.data_dir_setting() or "")
    # Held while loading: the server's warm-up and a first visitor may ask at once, and
    # the second then waits for the first's data instead of reading it again.
    with _LOADED_LOCK:
        if key not in _LOADED:
            data = _read_cached(path)
            if data is None:
                data = build_app_data(imports)
                _write_cached(data, folder, path)
            _LOADED[key] = data
            while len(_LOADED) > MAX_LOADED:  # the oldest out (a server keeps one)
                _LOADED.pop(next(iter(_LOADED)))
        return _LOADED[key]


#: App data this process has loaded, by cache file and data folder (see load_app_data);
#: at most :data:`MAX_LOADED` (each is a few hundred MB).
_LOADED: dict[tuple[str, str], AppData] = {}
#: Most app data sets kept in memory at once.
MAX_LOADED = 2
_LOADED_LOCK = threading.Lock()


def _last_cached(folder: Path) -> AppData | None:
    """Return the newest app data in the cache folder (None: none readable)."""
    try:
        paths = sorted(folder.glob("appdata-*.pickle"), key=lambda p: p.stat().st_mtime)
    except OSError:
        return None
    return _read_cached(paths[-1]) if paths else None


def _read_cached(path: Path) -> AppData | None:
    """Return the app data pickled at ``path``; None if missing or unreadable (logged)."""
    if not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            data = pickle.load(handle)
        if isinstance(data, AppData):
            logger.info("loaded the app data from the cache %s", path)
            return data
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as exc:
        logger.warning("cache %s unreadable (%s); building afresh", path, exc)
    return None


def _write_cached(data: AppData, folder: Path, path: Path) -> None:
    """Pickle ``data`` to ``path`` (atomically) and remove older caches; failures logged."""
    try:
        outputs.replace_pickle(data, path, "appdata-*.pickle")
        logger.info("cached the app data in %s", path)
    except OSError as exc:
        logger.warning("could not cache the app data in %s: %s", folder, exc)


# -- questions the app asks -------------------------------------------------------------


@dataclass
class SearchAnswer:
    """What a relative's search returns (all frames have ``distance_km`` and ``drive_min``).

    Attributes
    ----------
    nearest : pandas.DataFrame
        The nearest self-help groups of any organisation, nearest first.
    fastest : pandas.DataFrame
        The self-help group fastest to reach by road and car ferry when it is not the
        nearest in a line (one row), else empty.
    per_organisation : pandas.DataFrame
        The nearest group of each self-help organisation (one row each, in the
        organisations table's order).
    institutions : pandas.DataFrame
        The nearest treatment institutions with an offer to relatives.

    """

    nearest: pd.DataFrame
    fastest: pd.DataFrame
    per_organisation: pd.DataFrame
    institutions: pd.DataFrame
    #: Meetings anyone can join online ("Møter på nett"), wherever the search is from.
    online: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: The searched point is on an island with no road: no drive time ("ingen bilveg").
    no_road: bool = False
    #: The season whose drive times the answer gives (today's, see
    #: :func:`tilbudskart.seasons.season_today`).
    season: str = "winter"

    def shown(self) -> pd.DataFrame:
        """Return every service of the answer once (for the map)."""
        frames = [self.nearest, self.fastest, self.per_organisation, self.institutions]
        return pd.concat([f for f in frames if not f.empty]).drop_duplicates("id")


def answer_search(data: AppData, lat: float, lon: float, n: int = 5,
                  n_institutions: int = 3, season: str | None = None) -> SearchAnswer:
    """Answer a search for help near one point.

    Parameters
    ----------
    data : AppData
        The loaded app data.
    lat, lon : float
        The searched point (WGS 84).
    n : int
        How many of the nearest groups (1 … 50).
    n_institutions : int
        How many institutions (0 … 50).
    season : {"winter", "summer"}, optional
        Whose drive times (default: today's season).

    Returns
    -------
    SearchAnswer

    Raises
    ------
    ValueError
        If ``n`` or ``n_institutions`` is out of range or the point is not a number.

    """
    if not (np.isfinite(lat) and np.isfinite(lon)):
        raise ValueError(f"not a point: {lat!r}, {lon!r}")
    if not 1 <= n <= 50 or not 0 <= n_institutions <= 50:
        raise ValueError(f"n must be 1…50 and n_institutions 0…50, not {n}, {n_institutions}")
    ranked = access.by_distance(lat, lon, data.services)
    season = season or seasons.season_today()
    road = data.network.summer if season == "summer" and data.network.summer else data.network
    ranked["drive_min"] = network.minutes_to(road, lat, lon, ranked)
    no_road = bool(road.snap(*network.to_metric([lat], [lon])).at_sea[0])
    kind = ranked["kind"].to_numpy()
    groups = ranked[kind == "self_help"].reset_index(drop=True)
    nearest = groups.head(n)
    fastest = groups.sort_values(["drive_min", "distance_km"], kind="stable").head(1)
    if fastest.empty or fastest["drive_min"].isna().all() or (
            not nearest.empty and fastest["id"].iloc[0] == nearest["id"].iloc[0]):
        fastest = fastest.iloc[0:0]
    # The nearest group of each organisation (the first of it in distance order), in the
    # organisations table's order.
    first = groups.drop_duplicates("organisation").set_index("organisation")
    present = [o for o in settings.SELF_HELP_ORGANISATIONS if o in first.index]
    per_organisation = first.loc[present].reset_index()[list(groups.columns)]
    institutions = ranked[kind == "institution"].head(n_institutions).reset_index(drop=True)
    return SearchAnswer(nearest, fastest.reset_index(drop=True), per_organisation,
                        institutions, online_meetings(data.services), no_road=no_road,
                        season=season)


def online_meetings(services: pd.DataFrame) -> pd.DataFrame:
    """Return the meetings anyone can join online, for every search ("Møter på nett").

    Online-only meetings (status ``online``) and hybrid ones (a place and a link), in the
    organisations table's order, then by name. They are shown to every relative; only the
    physical ones count as coverage (online-only rows are never ``geocoded``).

    Parameters
    ----------
    services : pandas.DataFrame
        Geocoded services with ``attendance``.

    Returns
    -------
    pandas.DataFrame
        The rows, without geometry.

    """
    if "attendance" not in services.columns:
        return pd.DataFrame(columns=list(settings.SERVICE_COLUMNS))
    chosen = services[services["attendance"].isin(["online", "hybrid"])
                      & services["status"].isin(["online", "geocoded"])]
    order = {organisation: i for i, organisation in enumerate(settings.ORGANISATIONS)}
    chosen = chosen.assign(_order=chosen["organisation"].map(order)).sort_values(
        ["_order", "name"], kind="stable").drop(columns="_order")
    return pd.DataFrame(chosen.drop(columns="geometry", errors="ignore")).reset_index(drop=True)


def kommune_figures(data: AppData, number: str, organisation: str | None = None) -> pd.Series:
    """Return one kommune's figures, every one of them for the chosen organisation.

    The distance, drive time, groups in the kommune and every "people beyond" figure are
    measured to the groups of ``organisation`` (``None``: any self-help group), from the
    kommune's population grid cells, scaled to its population — the same method as
    the kommune table (:func:`tilbudskart.access.kommune_table`,
    :func:`tilbudskart.network.travel_table`), which it reproduces for ``None``.

    Parameters
    ----------
    data : AppData
        The loaded app data.
    number : str
        Kommunenummer.
    organisation : str, optional
        A self-help organisation id.

    Returns
    -------
    pandas.Series
        ``kommunenavn``, ``fylkesnavn``, ``folkemengde``, ``admin_centre``, ``km``,
        ``drive_min`` (winter), ``drive_min_summer`` (NaN for an organisation),
        ``groups_in_kommune``, ``population_weighted_km``,
        ``population_beyond_<t>km`` and ``population_beyond_<t>min`` per threshold,
        ``population_not_routed``.

    Raises
    ------
    ValueError
        If the kommune or organisation is unknown.

    """
    table = data.kommuner.set_index("kommunenummer")
    if number not in table.index:
        raise ValueError(f"unknown kommunenummer {number!r}")
    if organisation is not None and organisation not in settings.SELF_HELP_ORGANISATIONS:
        raise ValueError(f"not a self-help organisation: {organisation!r}; known: "
                         f"{', '.join(settings.SELF_HELP_ORGANISATIONS)}")
    row: dict[str, Any] = {str(key): value for key, value in table.loc[number].items()}
    located = access.located(data.services, organisation=organisation)
    cells = data.grid[data.grid["kommunenummer"] == number]
    figures: dict[str, Any] = {
        "kommunenavn": row["kommunenavn"], "fylkesnavn": row["fylkesnavn"],
        "folkemengde": int(row["folkemengde"]), "admin_centre": row["admin_centre"],
        "km": row[settings.km_column(organisation)],
        "drive_min": row[settings.minutes_column(organisation)],
        "drive_min_summer": row.get("drive_min_summer", np.nan) if organisation is None
        else np.nan,
        "groups_in_kommune": int((located["kommunenummer"] == number).sum()),
    }
    kommune = pd.DataFrame({"kommunenummer": [number], "folkemengde": [row["folkemengde"]]})
    km = access.NearestIndex.from_services(located).distance_km(
        cells["lat"].to_numpy(), cells["lon"].to_numpy())
    far = measures.figures(km, cells, kommune, measures.BEYOND_KM,
                           centre=[figures["km"]]).iloc[0]
    figures["population_weighted_km"] = float(far["weighted"])
    for t in measures.BEYOND_KM:
        figures[t.column] = int(far[t.column])
    routes = _routes(data, organisation, located)
    times = network.travel_from(routes, data.network, cells["x"], cells["y"])["minutes"]
    far = measures.figures(times, cells, kommune, measures.BEYOND_MINUTES,
                           centre=[figures["drive_min"]]).iloc[0]
    for t in measures.BEYOND_MINUTES:
        figures[t.column] = int(far[t.column])
    figures["population_not_routed"] = int(far["not_routed"])
    return pd.Series(figures, name=number)


def organisation_table(data: AppData, organisation: str | None = None) -> pd.DataFrame:
    """Return the kommune table with every group column measured to one organisation.

    The nearest group (name, organisation, kommune, by road), its km and minutes, the
    groups in the kommune, the population-weighted figures and every "people beyond"
    column then describe ``organisation``'s groups only, computed as the national table
    is (:func:`kommune_tables` on the organisation's groups and every institution). Kept
    on ``data`` after the first call (about half a second each).

    Parameters
    ----------
    data : AppData
        The loaded app data.
    organisation : str, optional
        A self-help organisation id; ``None`` returns ``data.kommuner`` itself.

    Returns
    -------
    pandas.DataFrame
        The columns of ``data.kommuner``, one row per kommune.

    Raises
    ------
    ValueError
        If the organisation is not a self-help organisation.

    """
    if organisation is None:
        return data.kommuner
    if organisation not in settings.SELF_HELP_ORGANISATIONS:
        raise ValueError(f"not a self-help organisation: {organisation!r}; known: "
                         f"{', '.join(settings.SELF_HELP_ORGANISATIONS)}")
    if organisation not in data.organisation_tables:
        services = data.services
        keep = (services["kind"] != "self_help") | (services["organisation"] == organisation)
        table = kommune_tables(services[keep], data.grid, data.network)
        data.organisation_tables[organisation] = table.reindex(columns=data.kommuner.columns)
    return data.organisation_tables[organisation]


def fastest_route(data: AppData, lat: float, lon: float) -> gpd.GeoDataFrame | None:
    """Return the fastest route from a point to the nearest self-help group, leg by leg.

    Uses the nearest-group routes kept on ``data`` (one Dijkstra run per server process).

    Parameters
    ----------
    data : AppData
        The loaded app data.
    lat, lon : float
        The searched point (WGS 84).

    Returns
    -------
    geopandas.GeoDataFrame or None
        Legs as :func:`tilbudskart.network.route_legs`; ``attrs["service"]`` is the row
        label in ``data.services``, ``attrs["summary"]`` the
        :func:`tilbudskart.network.route_summary`. None where no group can be reached.

    """
    located = access.located(data.services)
    if located.empty:
        return None
    x, y = network.to_metric([lat], [lon])
    legs = network.route_legs(data.network, _routes(data, None, located), float(x[0]),
                              float(y[0]), network.to_metric(located["lat"], located["lon"]))
    if legs is None:
        return None
    # located's index is reset: its row positions name rows of data.services in order.
    rows = access.located(data.services.assign(_row=data.services.index))["_row"]
    legs.attrs["service"] = rows.iloc[legs.attrs["service"]]
    legs.attrs["summary"] = network.route_summary(legs)
    return legs


def _routes(data: AppData, organisation: str | None, groups: pd.DataFrame) -> Routes:
    """Return (and keep on ``data``) the nearest-group routes of one organisation."""
    key = organisation or ""
    if key not in data.routes:
        data.routes[key] = data.network.nearest(*network.to_metric(groups["lat"],
                                                                   groups["lon"]))
    return data.routes[key]


# -- then and now ------------------------------------------------------------------------


@dataclass
class ThenAndNow:
    """A list compared with the 2007 registry (or with an earlier list).

    Attributes
    ----------
    matches : pandas.DataFrame
        Groups same, moved, gone and new (:func:`tilbudskart.compare.match_groups`).
    counts : pandas.DataFrame
        How many of each, per organisation (:func:`tilbudskart.compare.summary_table`).
    coverage : pandas.DataFrame
        Coverage then and now (:func:`tilbudskart.compare.coverage_change`).
    import_report : pandas.DataFrame
        Problems found in the lists.
    imports : list of str
        One line per list read.
    points : pandas.DataFrame
        One point per group that is new, gone or moved, for a map of change
        (:func:`tilbudskart.compare.change_points`).

    """

    matches: pd.DataFrame
    counts: pd.DataFrame
    coverage: pd.DataFrame
    import_report: pd.DataFrame
    imports: list[str]
    points: pd.DataFrame = field(default_factory=pd.DataFrame)


def then_and_now(new: Path | importers.ImportResult,
                 old: Path | importers.ImportResult | None = None,
                 organisation: str | None = None,
                 gazetteer: geocode.Gazetteer | None = None,
                 population_grid: pd.DataFrame | None = None,
                 road_network: network.RoadNetwork | None = None,
                 registry_services: gpd.GeoDataFrame | None = None,
                 keep_duplicates: bool = False) -> ThenAndNow:
    """Compare a list of today's groups with the 2007 registry (or with an older list).

    "Then" is the 2007 registry (``old`` omitted) or the registry with the organisations of
    ``old`` replaced by it; "now" is the registry with the organisations of ``new``
    replaced by ``new``. So the per-organisation figures compare the two lists, and the
    figures for all groups show what the change means with every other group kept.

    Parameters
    ----------
    new : pathlib.Path or ImportResult
        Today's list.
    old : pathlib.Path or ImportResult, optional
        An earlier list (default: the 2007 registry).
    organisation : str, optional
        Organisation of lists without an organisation column.
    gazetteer, population_grid, road_network : optional
        Already loaded inputs (loaded when omitted).
    registry_services : geopandas.GeoDataFrame, optional
        The geocoded registry (the app's ``data.services``; geocoded when omitted).
    keep_duplicates : bool
        Count rows that look like an earlier row of the same list (by default they are
        left out, so they are neither "Nye" nor "Nå").

    Returns
    -------
    ThenAndNow

    """
    from tilbudskart import compare

    if gazetteer is None:
        gazetteer = geocode.Gazetteer.from_data()
    if population_grid is None:
        population_grid = access.grid_points(datasources.read_population_grid("1km"))
    if road_network is None:
        road_network = network.national_network()
    if registry_services is None:
        registry_services = geocode.geocode_services(registry.load_registry(), gazetteer)
    lists = read_imports([item for item in (old, new) if item is not None], organisation,
                         gazetteer)
    geocoded = []
    reports = []
    for result in lists:
        services, report = _imported_services(registry_services.iloc[0:0], [result],
                                              gazetteer, strict=False,
                                              keep_duplicates=keep_duplicates)
        geocoded.append(services)
        reports.append(report)
    now_list = geocoded[-1]
    then_list = geocoded[0] if old is not None else None
    chosen = list(dict.fromkeys([*now_list["organisation"],
                                 *(then_list["organisation"] if then_list is not None
                                   else [])]))
    then = (compare.replaced(registry_services, then_list, chosen) if then_list is not None
            else registry_services)
    now = compare.replaced(registry_services, now_list, chosen)
    matches = compare.match_groups(then, now, chosen)
    centres = access.kommune_table(registry_services.iloc[0:0],
                                   datasources.read_admin_centres(),
                                   datasources.read_population(), population_grid)
    self_help = [o for o in chosen if o in settings.SELF_HELP_ORGANISATIONS]
    coverage = compare.coverage_change(then, now, centres, population_grid, road_network,
                                       self_help)
    points = compare.change_points(matches, then, now)
    return ThenAndNow(matches, compare.summary_table(matches), coverage,
                      importers.concat_reports(reports), [r.describe() for r in lists],
                      points[points["change"] != "same"].reset_index(drop=True))


# -- an uploaded list, for one browser session ----------------------------------------------


@dataclass
class Upload:
    """Uploaded lists applied to the app's data for one browser session (never on disk).

    Attributes
    ----------
    results : list of ImportResult
        The lists that could be read.
    problems : list of str
        One message per file that could not be read at all (file and reason, in
        Norwegian).
    data : AppData or None
        The session's data: the shared data with the lists joined (``None`` if no list
        could be read).
    dataset : Dataset or None
        Its services, kommune table and import report.
    then_and_now : ThenAndNow or None
        The lists compared with the 2007 registry.

    """

    results: list[importers.ImportResult]
    problems: list[str]
    data: AppData | None = None
    dataset: Dataset | None = None
    then_and_now: ThenAndNow | None = None


def apply_upload(data: AppData, files: Sequence[tuple[str, bytes]],
                 organisation: str | None = None, mode: str = "add",
                 on_wait: Callable[[], None] | None = None,
                 keep_duplicates: bool = False) -> Upload:
    """Read uploaded files and return the session's data with them joined.

    Pure: nothing is written, ``data`` is not changed (its gazetteer, grid, network and
    polygons are shared, its services and kommune table replaced in a copy).

    Parameters
    ----------
    data : AppData
        The shared app data.
    files : sequence of (str, bytes)
        File name and content of each upload.
    organisation : str, optional
        Organisation of lists without an organisation column.
    mode : {"add", "replace"}
        Add to the 2007 registry, or replace the 2007 rows of the lists' organisations
        (``organisation``'s, if given).
    on_wait : callable, optional
        Called if another upload is being read on this server (each file is read in a
        worker process, one at a time: :mod:`tilbudskart.sandbox`).
    keep_duplicates : bool
        Count the rows that look like another row of the lists or (``add``) a 2007
        group; by default they are shown in the report and left out.

    Returns
    -------
    Upload

    """
    results, problems = [], []
    known = data.gazetteer.postcodes.index
    for name, content in files:
        try:
            results.append(sandbox.import_isolated(content, name, organisation, known,
                                                   on_wait=on_wait))
        except importers.ImportFileError as exc:
            problems.append(f"{name}: {importers.norwegian(exc.reason) or exc.reason}")
    if not results or not any(len(r.services) for r in results):
        return Upload(results, problems)
    chosen = [organisation] if organisation is not None else None
    dataset = with_imported(data, results, mode, chosen, keep_duplicates)
    session = replace(data, services=dataset.services, kommuner=dataset.kommuner, routes={})
    comparison = None
    imported = [r for r in results if len(r.services)]
    if len(imported) == 1:
        comparison = then_and_now(imported[0], gazetteer=data.gazetteer,
                                  population_grid=data.grid, road_network=data.network,
                                  registry_services=_registry_rows(data.services),
                                  keep_duplicates=keep_duplicates)
    return Upload(results, problems, session, dataset, comparison)


def _registry_rows(services: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the rows of the 2007 registry among some services."""
    return services[services["id"].isin(set(registry.load_registry()["id"]))]


def dataset_key(services: pd.DataFrame) -> str:
    """Return a short key of a set of services (for caches of figures computed from them)."""
    digest = hashlib.sha256()
    for column in ("id", "status", "lat", "lon", "organisation"):
        digest.update(pd.util.hash_pandas_object(services[column], index=False).to_numpy()
                      .tobytes())
    return digest.hexdigest()[:16]
