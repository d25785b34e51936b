"""Command-line interface: ``tilbudskart build | nearest | gaps``.

``build`` writes every output into a temporary folder beside the target and moves the
files into place only when all of them are written, so a failure leaves earlier outputs
untouched. CSV outputs are byte-for-byte reproducible.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from tilbudskart import access, datasources, geocode, registry, settings
from tilbudskart.pipeline import build_dataset, rounded, summary, write_outputs


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
    table = rounded(found[columns])
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
