"""Command-line interface: ``tilbudskart build | nearest | gaps``.

``build`` writes every output into a temporary folder beside the target and moves the
files into place only when all of them are written, so a failure leaves earlier outputs
untouched. CSV outputs are byte-for-byte reproducible.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from tilbudskart import access, datasources, geocode, network, registry, settings

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


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    for column in frame.columns:
        if (column.endswith("_km") or column.startswith("km_") or "drive_min" in column
                or column == "distance_km"):
            frame[column] = frame[column].round(3)
        elif column in {"lat", "lon", "admin_lat", "admin_lon"}:
            frame[column] = frame[column].round(6)
    return frame


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    _rounded(frame).to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


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
        points = gpd.GeoDataFrame(_rounded(dataset.services), geometry="geometry",
                                  crs=settings.CRS_WGS84)
        points.to_file(gpkg, layer="services", driver="GPKG", engine="pyogrio")
        polygons = datasources.read_kommuner("M")[["kommunenummer", "geometry"]]
        layer = polygons.merge(_rounded(dataset.kommuner), on="kommunenummer")
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


def _cmd_build(args: argparse.Namespace) -> int:
    dataset = build_dataset(args.imports, grid=args.grid)
    written = write_outputs(dataset, args.out)
    print(summary(dataset))
    print("Wrote " + ", ".join(str(p) for p in written))
    return 0


def _cmd_nearest(args: argparse.Namespace) -> int:
    gazetteer = geocode.Gazetteer.from_data()
    resolution = gazetteer.search(args.query)
    if not resolution.ok:
        if resolution.candidates:
            print(f"«{args.query}» is ambiguous; try one of:", file=sys.stderr)
            for candidate in resolution.candidates:
                print(f"  {candidate.label}", file=sys.stderr)
        else:
            print(f"Not found: {resolution.reason}", file=sys.stderr)
        return 2
    match = resolution.match
    assert match is not None
    services = build_dataset(args.imports).services if args.imports else geocode.geocode_services(
        registry.load_registry(), gazetteer)
    found = access.nearest_services(match.lat, match.lon, services, n=args.n,
                                    organisation=args.org)
    columns = ["name", "organisation", "kommunenavn", "distance_km", "precision", "phone",
               "source"]
    table = _rounded(found[columns])
    if args.json:
        payload = {"query": args.query, "located_as": match.label,
                   "precision": match.precision, "results": table.to_dict("records")}
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        print(f"{args.query} → {match.label} ({match.precision})")
        for row in table.itertuples():
            print(f"  {row.distance_km:7.1f} km  {row.name} ({row.organisation}, "
                  f"{row.kommunenavn})")
    return 0


def _cmd_gaps(args: argparse.Namespace) -> int:
    kommuner = build_dataset().kommuner
    prefix = "km_" if args.by == "km" else "drive_min_"
    whole = "nearest_group_km" if args.by == "km" else "drive_min"
    column = f"{prefix}{args.org}" if args.org else whole
    table = kommuner.sort_values([column, "kommunenummer"], ascending=[False, True])
    table = table.head(args.top)
    print(f"{'kommune':<22} {'fylke':<26} {'folkemengde':>11} {args.by:>7}  nearest group")
    for row in table.itertuples():
        group = (f"{row.nearest_group!s} ({row.nearest_group_kommune!s})" if args.by == "km"
                 else str(row.nearest_group_by_road))
        print(f"{row.kommunenavn:<22} {str(row.fylkesnavn)[:26]:<26} {row.folkemengde:>11,} "
              f"{getattr(row, column):7.1f}  {group}")
    unrouted = kommuner[kommuner[column].isna()]
    if args.by == "min" and len(unrouted):
        print(f"No route in N1000 (island without a car ferry): "
              f"{', '.join(unrouted['kommunenavn'])}")
    return 0


def parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``tilbudskart`` command."""
    main_parser = argparse.ArgumentParser(
        prog="tilbudskart",
        description="Where help for relatives of people with substance-use problems exists "
                    "in Norway (registry: ISF report 2007).")
    sub = main_parser.add_subparsers(dest="command", required=True)

    build = sub.add_parser("build", help="geocode the registry and write the access table")
    build.add_argument("--out", type=Path, required=True, help="output folder")
    build.add_argument("--import", dest="imports", type=Path, action="append", default=[],
                       help="a CSV list of services to add (repeatable)")
    build.add_argument("--grid", choices=["1km", "250m"], default="1km",
                       help="population grid for weighting (default 1km)")
    build.set_defaults(func=_cmd_build)

    nearest = sub.add_parser("nearest", help="the nearest groups to a postcode, place or kommune")
    nearest.add_argument("query")
    nearest.add_argument("--org", choices=list(settings.ORGANISATIONS), default=None)
    nearest.add_argument("-n", type=int, default=5)
    nearest.add_argument("--json", action="store_true")
    nearest.add_argument("--import", dest="imports", type=Path, action="append", default=[])
    nearest.set_defaults(func=_cmd_nearest)

    gaps = sub.add_parser("gaps", help="the kommuner farthest from a self-help group")
    gaps.add_argument("--top", type=int, default=20)
    gaps.add_argument("--org", choices=list(settings.SELF_HELP_ORGANISATIONS), default=None)
    gaps.add_argument("--by", choices=["km", "min"], default="km",
                      help="straight-line km (default) or minutes by road and car ferry")
    gaps.set_defaults(func=_cmd_gaps)
    return main_parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (registry.RegistryError, datasources.DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
