"""Write a built dataset's files (CSV, GeoPackage, BUILD), their build id and its summary."""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import pandas as pd

from tilbudskart import csvsafe, datasources, importers, outputs, registry, settings
from tilbudskart.dataset import Dataset

#: Files ``build`` writes, in the order they are listed (all are published at once).
OUTPUT_FILES = ("services.csv", "kommuner.csv", "unresolved.csv", "import_report.csv",
                "tilbudskart.gpkg", "travel_anomalies.csv", "BUILD")


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
