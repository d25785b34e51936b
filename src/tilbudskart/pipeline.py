"""Pipeline: registry (+ imports) → geocoded services → kommune table, and its outputs.

:func:`build_dataset` runs every stage in order; :func:`write_outputs` writes the files
``build`` promises; :class:`AppData` is what the app loads once per server process. The
command line (:mod:`tilbudskart.cli`) and the app (``app.py``) both sit on top of this
module; nothing here imports either of them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from tilbudskart import access, datasources, geocode, network, registry, settings

logger = logging.getLogger(__name__)

#: Files ``build`` writes, in the order they are moved into place.
OUTPUT_FILES = ("services.csv", "kommuner.csv", "unresolved.csv", "tilbudskart.gpkg")


@dataclass
class Dataset:
    """The pipeline's products: geocoded services and the per-kommune table."""

    services: gpd.GeoDataFrame
    kommuner: pd.DataFrame


def build_dataset(imports: Sequence[Path] = (), grid: str = "1km",
                  gazetteer: geocode.Gazetteer | None = None,
                  population_grid: pd.DataFrame | None = None,
                  road_network: network.RoadNetwork | None = None) -> Dataset:
    """Run the pipeline: registry (+ imports) → geocoded services → kommune table.

    The kommune table holds straight-line distances (:func:`tilbudskart.access.kommune_table`)
    and travel times by road and car ferry (:func:`tilbudskart.network.travel_table`).

    Parameters
    ----------
    imports : sequence of pathlib.Path
        User lists in registry form (see :func:`tilbudskart.registry.import_services`).
    grid : {"1km", "250m"}
        Population grid used for population weighting.
    gazetteer : Gazetteer, optional
        Lookup tables already loaded (built from the data folder if omitted).
    population_grid : pandas.DataFrame, optional
        Grid cells with ``lat``/``lon`` already loaded (read per ``grid`` if omitted).
    road_network : RoadNetwork, optional
        The road network already built (built from N1000 if omitted).

    Returns
    -------
    Dataset

    """
    frames = [registry.load_registry(), *(registry.import_services(p) for p in imports)]
    table = pd.concat(frames, ignore_index=True)
    duplicated = table["id"].duplicated()
    if duplicated.any():
        first = table[duplicated].iloc[0]
        raise registry.RegistryError(first["registry_file"], None, "id",
                                     f"id {first['id']!r} is already used by the registry")
    if gazetteer is None:
        gazetteer = geocode.Gazetteer.from_data()
    if population_grid is None:
        population_grid = access.grid_points(datasources.read_population_grid(grid))
    services = geocode.geocode_services(table, gazetteer)
    kommuner = access.kommune_table(
        services,
        datasources.read_admin_centres(),
        datasources.read_population(),
        population_grid,
    )
    if road_network is None:
        road_network = network.national_network()
    travel = network.travel_table(road_network, services, kommuner, population_grid)
    kommuner = kommuner.merge(travel, on="kommunenummer", how="left", validate="one_to_one")
    located = int((services["status"] == "geocoded").sum())
    logger.info("built: %d services (%d from %d imported lists), %d geocoded, %d unresolved; "
                "%d kommuner", len(services), sum(len(f) for f in frames[1:]), len(imports),
                located, len(services) - located, len(kommuner))
    return Dataset(services, kommuner)


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
    rounded(frame).to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def write_outputs(dataset: Dataset, out: Path) -> list[Path]:
    """Write the build outputs atomically into ``out``.

    Parameters
    ----------
    dataset : Dataset
        What :func:`build_dataset` returned.
    out : pathlib.Path
        Target folder (created if missing).

    Returns
    -------
    list of pathlib.Path
        The files written.

    """
    out.mkdir(parents=True, exist_ok=True)
    services = pd.DataFrame(dataset.services.drop(columns="geometry"))
    staging = Path(tempfile.mkdtemp(prefix=".tilbudskart-", dir=out))
    try:
        _write_csv(services, staging / "services.csv")
        _write_csv(dataset.kommuner, staging / "kommuner.csv")
        unresolved = services[services["status"] != "geocoded"]
        _write_csv(unresolved[["id", "name", "organisation", "place", "postcode", "county",
                               "source", "reason"]], staging / "unresolved.csv")
        gpkg = staging / "tilbudskart.gpkg"
        points = gpd.GeoDataFrame(rounded(dataset.services), geometry="geometry",
                                  crs=settings.CRS_WGS84)
        points.to_file(gpkg, layer="services", driver="GPKG", engine="pyogrio")
        polygons = datasources.read_kommuner("M")[["kommunenummer", "geometry"]]
        layer = polygons.merge(rounded(dataset.kommuner), on="kommunenummer")
        layer.to_file(gpkg, layer="kommuner", driver="GPKG", engine="pyogrio")
        written = []
        for name in OUTPUT_FILES:
            target = out / name
            (staging / name).replace(target)
            written.append(target)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def summary(dataset: Dataset) -> str:
    """Return a short plain-text summary of a build."""
    services, kommuner = dataset.services, dataset.kommuner
    lines = ["Services per organisation (geocoded / total):"]
    for organisation in settings.ORGANISATIONS:
        rows = services[services["organisation"] == organisation]
        done = int((rows["status"] == "geocoded").sum())
        lines.append(f"  {organisation:<16} {done:>4} / {len(rows)}")
    unresolved = services[services["status"] != "geocoded"]
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
                 f"group: {by_road} (not routable in N1000: "
                 f"{int(kommuner['population_not_routed'].sum()):,})")
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


def read_national_lines(path: Path = settings.NATIONAL_LINES_PATH) -> pd.DataFrame:
    """Read the national phone lines (transcribed from the seeds, with source)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def build_app_data(imports: Sequence[Path] = ()) -> AppData:
    """Build the app's data from the inputs (no cache; see :func:`load_app_data`).

    Parameters
    ----------
    imports : sequence of pathlib.Path
        Extra service lists (see :func:`tilbudskart.registry.import_services`).

    Returns
    -------
    AppData

    """
    gazetteer = geocode.Gazetteer.from_data()
    grid = access.grid_points(datasources.read_population_grid("1km"))
    road_network = network.national_network()
    dataset = build_dataset(imports, gazetteer=gazetteer, population_grid=grid,
                            road_network=road_network)
    return AppData(gazetteer=gazetteer, grid=grid, network=road_network,
                   services=dataset.services, kommuner=dataset.kommuner,
                   polygons=datasources.read_kommuner("S"), lines=read_national_lines(),
                   attributions=datasources.attributions())


def input_fingerprint(imports: Sequence[Path] = ()) -> str:
    """Return the sha256 of everything a build depends on.

    The package's code and data files (registry, lookups, geodata manifest — which holds
    the sha256 of every shared geodata file), the versions of Python and the libraries
    that compute, and the bytes of every imported list. Any change gives a new key.

    Parameters
    ----------
    imports : sequence of pathlib.Path
        Extra service lists.

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
    return digest.hexdigest()


def cache_dir() -> Path | None:
    """Return the folder of built datasets (``None`` when caching is turned off).

    ``$TILBUDSKART_CACHE_DIR`` names it (empty: off); else
    :data:`tilbudskart.settings.BUILD_CACHE_DIR`.
    """
    configured = os.environ.get(settings.BUILD_CACHE_ENV)
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
    if folder is None:
        return build_app_data(imports)
    path = folder / f"appdata-{input_fingerprint(imports)}.pickle"
    if path.is_file():
        try:
            with path.open("rb") as handle:
                data = pickle.load(handle)
            if isinstance(data, AppData):
                logger.info("loaded the app data from the cache %s", path)
                return data
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as exc:
            logger.warning("cache %s unreadable (%s); building afresh", path, exc)
    data = build_app_data(imports)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".tmp") as out:
            pickle.dump(data, out, protocol=pickle.HIGHEST_PROTOCOL)
        Path(out.name).replace(path)
        for stale in folder.glob("appdata-*.pickle"):
            if stale != path:
                stale.unlink(missing_ok=True)
        logger.info("cached the app data in %s", path)
    except OSError as exc:
        logger.warning("could not cache the app data in %s: %s", folder, exc)
    return data
