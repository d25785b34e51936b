"""Uploaded and compared lists: a list joined to the app's data, and then and now.

Nothing here is written to disk: :func:`apply_upload` gives one browser session its data,
:func:`then_and_now` compares a list with the 2007 registry (or an earlier list).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import pandas as pd

from tilbudskart import (
    access,
    datasources,
    geocode,
    importers,
    network,
    registry,
    sandbox,
    settings,
)
from tilbudskart.appdata import AppData
from tilbudskart.dataset import (
    IMPORT_MODES,
    Dataset,
    _concat_services,
    _imported_services,
    kommune_tables,
    read_imports,
)


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

