"""Pipeline: registry (+ imports) → geocoded services → kommune table, and its outputs.

:func:`build_dataset` runs every stage in order; :func:`write_outputs` writes the files
``build`` promises; :class:`AppData` is what the app loads once per server process. The
command line (:mod:`tilbudskart.cli`) and the app (``app.py``) both sit on top of this
module; nothing here imports either of them.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from tilbudskart import access, datasources, geocode, network, registry, settings, views

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
    far = kommuner[kommuner["nearest_group_km"] > 50]
    lines.append(f"Kommuner without a self-help group within 50 km: {len(far)} of "
                 f"{len(kommuner)}, {int(far['folkemengde'].sum()):,} inhabitants")
    lines.append("People living more than 50 km from any group: "
                 f"{int(kommuner['population_beyond_50km'].sum()):,}")
    lines.append("People more than 60 / 120 minutes by road and car ferry from any group: "
                 f"{int(kommuner['population_beyond_60min'].sum()):,} / "
                 f"{int(kommuner['population_beyond_120min'].sum()):,} "
                 f"(not routable in N1000: {int(kommuner['population_not_routed'].sum()):,})")
    return "\n".join(lines)



# -- data for the app ------------------------------------------------------------------


class AppData:
    """Everything the app shows, built once per server process."""

    def __init__(self, imports: tuple[Path, ...] = ()) -> None:
        self.gazetteer = geocode.Gazetteer.from_data()
        self.grid = access.grid_points(datasources.read_population_grid("1km"))
        self.network = network.national_network()
        dataset = build_dataset(imports, gazetteer=self.gazetteer,
                                    population_grid=self.grid, road_network=self.network)
        self.services: gpd.GeoDataFrame = dataset.services
        self.kommuner: pd.DataFrame = dataset.kommuner
        self.polygons = views.national_polygons(datasources.read_kommuner("S"))
        self.outlines = views.outline_geojson(self.polygons)
        self.lines = read_national_lines()
        self.attributions = datasources.attributions()


def read_national_lines(path: Path = settings.NATIONAL_LINES_PATH) -> pd.DataFrame:
    """Read the national phone lines (transcribed from the seeds, with source)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)
