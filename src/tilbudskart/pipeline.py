"""Pipeline: the questions the app asks of the built data, and the pipeline's front door.

The stages live in their own modules: :mod:`tilbudskart.dataset` builds the services and
the kommune table (:func:`build_dataset`), :mod:`tilbudskart.build_outputs` writes the
files ``build`` promises, :mod:`tilbudskart.appdata` holds :class:`AppData` (what the app
loads once per server process), and :mod:`tilbudskart.uploads` joins uploaded lists. This
module answers searches and kommune questions and re-exports the public names of those
modules, so ``tilbudskart.pipeline.X`` names every step. The command line
(:mod:`tilbudskart.cli`) and the app (``app.py``) both sit on top of it; nothing here
imports either of them.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from tilbudskart import (
    access,
    measures,
    network,
    seasons,
    settings,
)
from tilbudskart.appdata import (
    MAX_LOADED,
    AppData,
    build_app_data,
    cache_dir,
    input_fingerprint,
    live_app_data,
    load_app_data,
    read_national_lines,
    rebuilt_app_data,
)
from tilbudskart.build_outputs import OUTPUT_FILES, build_id, rounded, summary, write_outputs
from tilbudskart.dataset import (
    IMPORT_MODES,
    Dataset,
    StrictImportError,
    build_dataset,
    kommune_tables,
    read_imports,
    services_in_force,
)
from tilbudskart.network import Routes
from tilbudskart.uploads import ThenAndNow, Upload, apply_upload, then_and_now, with_imported

__all__ = [
    "IMPORT_MODES", "MAX_LOADED", "OUTPUT_FILES", "AppData", "Dataset", "SearchAnswer",
    "StrictImportError", "ThenAndNow", "Upload", "answer_search", "apply_upload",
    "build_app_data", "build_dataset", "build_id", "cache_dir", "dataset_key",
    "fastest_route", "input_fingerprint", "kommune_figures", "kommune_tables",
    "live_app_data", "load_app_data", "online_meetings", "organisation_table",
    "read_imports", "read_national_lines", "rebuilt_app_data", "rounded",
    "services_in_force", "summary", "then_and_now", "with_imported", "write_outputs",
]

logger = logging.getLogger(__name__)


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


def dataset_key(services: pd.DataFrame) -> str:
    """Return a short key of a set of services (for caches of figures computed from them)."""
    digest = hashlib.sha256()
    for column in ("id", "status", "lat", "lon", "organisation"):
        digest.update(pd.util.hash_pandas_object(services[column], index=False).to_numpy()
                      .tobytes())
    return digest.hexdigest()[:16]

