"""The app's data (AppData): built once, kept in a disk cache and in memory, kept live.

:func:`load_app_data` reads it from the on-disk cache when the inputs are unchanged;
:func:`live_app_data` follows the registry store's publishes.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from tilbudskart import (
    access,
    datasources,
    geocode,
    network,
    outputs,
    published,
    settings,
)
from tilbudskart.dataset import build_dataset
from tilbudskart.network import Routes

logger = logging.getLogger(__name__)


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
