"""Command-line interface: ``tilbudskart build | nearest | gaps | plan | compare | report | map``.

The registry store's commands (``steward``, ``publish``, ``history``, ``rollback``,
``export``) live in :mod:`tilbudskart.publishing`.

``build`` checks that the output folder can be written before computing anything. It writes
every output into a fresh folder ``out/.builds/<stamp>/`` and publishes the whole set at
once by swapping one symlink, ``out/current``; ``out/services.csv`` and the other files
link through it (see :mod:`tilbudskart.outputs`). A failure or a kill at any moment leaves
the previous outputs complete, and the next build removes what a killed one left behind.
CSV outputs are byte-for-byte reproducible.

Arguments are checked by argparse (``-n`` 1–50, ``--top`` 1–:data:`KOMMUNER`, ``--out`` a
writable folder); a bad one exits with status 2 and a one-line message. Any other failure prints one
line ``error: …`` and exits with status 1 (the traceback only with ``-vv``). Every text
printed, from the data or the query, passes :func:`terminal_safe`, so no terminal escape
reaches the terminal. ``-v``/``-vv`` log at INFO/DEBUG, ``-q`` only errors (default
WARNING).

The parser and the entry point live here with the ``nearest`` command; the other commands
are in :mod:`tilbudskart.cli_commands`, the argument types in
:mod:`tilbudskart.cli_arguments` and what reaches the terminal in
:mod:`tilbudskart.cli_terminal`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from tilbudskart import (
    access,
    datasources,
    geocode,
    measures,
    network,
    outputs,
    registry,
    search,
    seasons,
    settings,
)
from tilbudskart.cli_arguments import (
    _input_file,
    _int_between,
    _kommunenummer,
    _language,
    _list_argument,
    _output_folder,
)
from tilbudskart.cli_commands import (
    _cmd_build,
    _cmd_compare,
    _cmd_gaps,
    _cmd_map,
    _cmd_plan,
    _cmd_report,
    _cmd_table,
)
from tilbudskart.cli_terminal import MAX_MESSAGE, _error, _not_resolved, _say, terminal_safe
from tilbudskart.pipeline import (
    build_dataset,
    read_national_lines,
    rounded,
    services_in_force,
)

__all__ = ["DISK_FULL", "KOMMUNER", "MAX_MESSAGE", "MAX_NEW_GROUPS", "MAX_RESULTS",
           "disk_full", "main", "parser", "terminal_safe"]


#: Most results ``nearest -n`` returns.
MAX_RESULTS = 50

#: Kommuner in the kommune table (the most ``gaps --top`` can list).
KOMMUNER = settings.KOMMUNE_COUNT

#: Most new groups ``plan --new`` plans (as :data:`tilbudskart.planning.MAX_NEW_GROUPS`).
MAX_NEW_GROUPS = 50

# -- commands -----------------------------------------------------------------------------


def _cmd_nearest(args: argparse.Namespace) -> int:
    gazetteer = geocode.Gazetteer.from_data()
    located = search.locate(gazetteer, args.query)
    resolution, match = located.resolution, located.match
    shown = geocode.shorten(resolution.query)
    if match is None:
        return _not_resolved(resolution.query, [c.label for c in located.choices],
                             resolution.reason, located.suggestions)
    services = build_dataset(args.imports, organisation=args.organisation).services \
        if args.imports else services_in_force(gazetteer)
    # An organisation implies its kind (institutions are not self-help groups).
    kind = None if args.org else "self_help"
    found = access.nearest_services(match.lat, match.lon, services, n=args.n,
                                    organisation=args.org, kind=kind)
    columns = ["name", "organisation", "kommunenavn", "distance_km", "precision", "phone",
               "source"]
    table = rounded(found[columns])
    notes = access.search_notes(resolution, match, found)
    season = args.season or seasons.season_today()
    road = network.national_network(season)
    found_route = search.route_to(road, match.lat, match.lon, services, args.org)
    route = None if found_route is None else (str(found_route[1]["name"]),
                                              found_route[0].attrs["summary"])
    # An island with no road: no drive time, the straight line and the phone lines.
    no_road = route is None and bool(road.snap(*network.to_metric([match.lat],
                                                                   [match.lon])).at_sea[0])
    lines = read_national_lines() if match.territory or no_road else None
    if args.json:
        payload: dict[str, object] = {
            "query": shown, "located_as": match.label, "precision": match.precision,
            "matched_text": resolution.matched_text, "territory": match.territory,
            "notes": notes, "results": table.to_dict("records"),
            "route": None if route is None else {"group": route[0], **route[1]},
            "season": season, "no_road": no_road}
        if lines is not None:
            payload["national_lines"] = lines.loc[lines["scope"] == "national",
                                                  ["name", "phone"]].to_dict("records")
        print(terminal_safe(json.dumps(payload, ensure_ascii=False, indent=2),
                            json_escape=True))
        return 0
    _say(f"{shown} → {match.label} ({match.precision})")
    for note in notes:
        _say(f"  {note}")
    if not len(table):
        _say("  (no services)")
    for row in table.itertuples():
        _say(f"  {row.distance_km:7.1f} km  {row.name} ({row.organisation}, {row.kommunenavn})")
    if route is not None:
        group, totals = route
        ferries = ", ".join(totals["ferries"]) or "no ferry"
        _say(f"Fastest by road and car ferry: {totals['minutes']:.0f} min to {group} "
             f"({totals['km_road']:.1f} km road, {totals['km_ferry']:.1f} km ferry: {ferries}; "
             f"{season})")
    if no_road:
        nearest_km = f"; {table['distance_km'].iloc[0]:.1f} km i luftlinje til nærmeste gruppe" \
            if len(table) else ""
        _say(f"Ingen bilveg; båt eller hurtigbåt{nearest_km}.")
    if lines is not None:
        _say("National phone lines:")
        for line in lines[lines["scope"] == "national"].itertuples():
            _say(f"  {line.phone}  {line.name}")
    return 0


# -- parser and entry point ---------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """An argument parser whose error messages are short and terminal-safe."""

    def error(self, message: str) -> NoReturn:
        """Print usage and a one-line message (arguments echoed at most in part); exit 2."""
        super().error(geocode.shorten(" ".join(terminal_safe(message).split()), MAX_MESSAGE))


def _verbosity_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """Add ``-v``/``-q``; on subcommands without defaults, so either position works."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-v", "--verbose", action="count",
                       default=0 if defaults else argparse.SUPPRESS,
                       help="log more (-v info, -vv debug and tracebacks)")
    group.add_argument("-q", "--quiet", action="store_true",
                       default=False if defaults else argparse.SUPPRESS,
                       help="log only errors")


def _import_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--organisation", choices=list(settings.ORGANISATIONS), default=None,
                        help="organisation of imported lists that have no organisation column")


def parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``tilbudskart`` command."""
    main_parser = _Parser(
        prog="tilbudskart",
        description="Where help for relatives of people with substance-use problems exists "
                    "in Norway (registry: ISF report 2007).")
    _verbosity_options(main_parser, defaults=True)
    sub = main_parser.add_subparsers(dest="command", required=True)

    build = sub.add_parser(
        "build", help="geocode the registry and write the access table",
        description="Write services.csv, kommuner.csv, unresolved.csv, import_report.csv and "
                    "tilbudskart.gpkg. "
                    "The set is written into OUT/.builds/<stamp>/ and published at once by "
                    "swapping the symlink OUT/current; OUT/<file> links through it.")
    build.add_argument("--out", type=_output_folder, required=True,
                       help="output folder (must be writable; checked before computing)")
    build.add_argument("--import", dest="imports", type=_input_file, action="append",
                       default=[], help="a list of today's groups to add: CSV (UTF-8 or "
                                        "Windows-1252, ',' or ';'), .xlsx or Meeting Guide "
                                        "JSON (repeatable)")
    build.add_argument("--grid", choices=["1km", "250m"], default="1km",
                       help="population grid for weighting (default 1km)")
    _import_options(build)
    build.add_argument("--strict", action="store_true",
                       help="fail if any imported row is rejected (default: report and skip)")
    build.add_argument("--replace", action="store_true",
                       help="imported lists replace the 2007 rows of their organisations "
                            "(default: added to them)")
    _verbosity_options(build, defaults=False)
    build.set_defaults(func=_cmd_build)

    nearest = sub.add_parser("nearest", help="the nearest groups to a postcode, place or kommune")
    nearest.add_argument("query", help="postcode, place, kommune or address")
    nearest.add_argument("--org", choices=list(settings.ORGANISATIONS), default=None,
                         help="only this organisation ('institution': treatment institutions)")
    nearest.add_argument("-n", type=_int_between(1, MAX_RESULTS), default=5,
                         help=f"how many (1–{MAX_RESULTS}, default 5)")
    nearest.add_argument("--json", action="store_true")
    nearest.add_argument("--season", choices=list(seasons.SEASONS), default=None,
                         help="drive times with the mountain passes closed (winter) or "
                              "open (summer); default: today's season")
    nearest.add_argument("--import", dest="imports", type=_input_file, action="append",
                         default=[])
    _import_options(nearest)
    _verbosity_options(nearest, defaults=False)
    nearest.set_defaults(func=_cmd_nearest)

    comparison = sub.add_parser(
        "compare", help="then and now: a list against the 2007 registry (or an older list)",
        description="Groups same, moved, gone and new (per organisation, by kommune and "
                    "name), and coverage then and now: kommuner and people beyond 25/50 km "
                    "and 60/120 minutes. OLD is '2007' (the registry) or a list; NEW a list. "
                    "Either may be a published version, ORG@N (al_anon@2; @0 is 2007).")
    comparison.add_argument("old", type=_list_argument, help="'2007' or an earlier list")
    comparison.add_argument("new", type=_list_argument, help="today's list")
    _import_options(comparison)
    comparison.add_argument("--top", type=_int_between(1, 1000), default=30,
                            help="how many changed groups to list (default 30)")
    comparison.add_argument("--out", type=_output_folder, default=None,
                            help="also write compare_groups.csv and compare_coverage.csv here")
    _verbosity_options(comparison, defaults=False)
    comparison.set_defaults(func=_cmd_compare)

    gaps = sub.add_parser("gaps", help="the kommuner farthest from a self-help group")
    gaps.add_argument("--top", type=_int_between(1, KOMMUNER), default=20,
                      help=f"how many kommuner (1–{KOMMUNER}, default 20)")
    gaps.add_argument("--org", choices=list(settings.SELF_HELP_ORGANISATIONS), default=None)
    gaps.add_argument("--by", choices=["km", "min"], default="km",
                      help="straight-line km (default) or minutes by road and car ferry")
    _verbosity_options(gaps, defaults=False)
    gaps.set_defaults(func=_cmd_gaps)

    plan = sub.add_parser(
        "plan", help="where new groups would reach most people; how many it would take",
        description="--new K: the K sites (kommune centres, or with --places also towns and "
                    "postal places) that together bring the most people within the "
                    "threshold of a group (--objective coverage, MCLP) or most reduce their "
                    "distance (median, p-median). --cover-all: the fewest new groups "
                    "putting everyone within it (LSCP), with the curve and who is left.")
    question = plan.add_mutually_exclusive_group(required=True)
    question.add_argument("--new", type=_int_between(1, MAX_NEW_GROUPS), metavar="K",
                          help=f"how many new groups (1–{MAX_NEW_GROUPS})")
    question.add_argument("--cover-all", action="store_true",
                          help="the fewest new groups that put everyone within --near")
    plan.add_argument("--near", choices=list(measures.THRESHOLDS), default=None,
                      help=f"what counts as near (default {measures.FARTHEST_KM.key}; "
                           f"{measures.NEAREST_MINUTES.key} with --cover-all)")
    plan.add_argument("--org", choices=list(settings.SELF_HELP_ORGANISATIONS), default=None,
                      help="count only this organisation's groups as existing")
    plan.add_argument("--keep", nargs="+", default=[], type=_kommunenummer,
                      metavar="KOMMUNENUMMER", help="kommuner whose centre must get a group")
    plan.add_argument("--objective", choices=["coverage", "median"], default=None,
                      help="coverage (MCLP, default) or median (p-median)")
    plan.add_argument("--places", action="store_true",
                      help="candidates: also every town and postal place, not only centres")
    plan.add_argument("--json", action="store_true")
    _verbosity_options(plan, defaults=False)
    plan.set_defaults(func=_cmd_plan)

    report = sub.add_parser(
        "report", help="a printable PDF report per kommune (or all, or a fylke summary)",
        description="Write a two-page A4 report (Norwegian) for one kommune, for all "
                    f"{settings.KOMMUNE_COUNT} "
                    "(--all, into a folder with index.csv) or a fylke summary (--fylke).")
    report.add_argument("kommune", nargs="?", help="kommune number or name (or a place)")
    report.add_argument("--all", action="store_true", help="all kommuner into the folder --out")
    report.add_argument("--målform", "--malform", dest="malform", type=_language, default=None,
                        metavar="bokmål|nynorsk",
                        help="written standard of a kommune's report (default: the "
                             "kommune's own målform, from SSB's population file)")
    report.add_argument("--fylke", help="a fylke summary (name, e.g. Telemark)")
    report.add_argument("--out", required=True, help="PDF file (or folder with --all)")
    report.add_argument("--workers", type=_int_between(1, 16), default=2,
                        help="processes for --all (default 2)")
    _verbosity_options(report, defaults=False)
    report.set_defaults(func=_cmd_report)

    image = sub.add_parser("map", help="the national coverage map as PNG or SVG (for slides)")
    image.add_argument("--measure", choices=["km", "min"], default="km",
                       help="straight-line km (default) or minutes by road and car ferry")
    image.add_argument("--org", choices=list(settings.SELF_HELP_ORGANISATIONS), default=None,
                       help="one organisation (default: any self-help group)")
    image.add_argument("--out", required=True, help="image file ending in .png or .svg")
    _verbosity_options(image, defaults=False)
    image.set_defaults(func=_cmd_map)

    from tilbudskart import publishing  # steward, publish, history, rollback, export

    publishing.add_commands(sub, _verbosity_options)

    table = sub.add_parser(
        "table", help="the kommune table for planners as .xlsx, CSV (Norwegian Excel) or "
                      "GeoPackage, with Norwegian headings")
    table.add_argument("--format", choices=["xlsx", "csv", "gpkg"], required=True,
                       help="xlsx (numbers, a second sheet with data year and sources), csv "
                            "(';', decimal comma, UTF-8 with BOM) or gpkg (with polygons)")
    table.add_argument("--org", choices=list(settings.SELF_HELP_ORGANISATIONS), default=None,
                       help="every group column for this organisation (default: any group)")
    table.add_argument("--measure", choices=["km", "min"], default="km",
                       help="sort by straight-line km (default) or minutes by road")
    table.add_argument("--fylke", action="append", default=None,
                       help="only this fylke (name as in the table; may be repeated)")
    table.add_argument("--out", required=True,
                       help="file to write, or a folder (the name then says org and measure)")
    _verbosity_options(table, defaults=False)
    table.set_defaults(func=_cmd_table)
    return main_parser


def _log_level(verbose: int, quiet: bool) -> int:
    if quiet:
        return logging.ERROR
    return {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)


#: What is said when writing failed for want of space (whichever library noticed it).
DISK_FULL = ("the disk is full (disken er full): free some space and run the command again; "
             "the outputs of the last complete build are kept")


def disk_full(exc: BaseException, folder: object = None) -> bool:
    """Return whether an error means the disk is full.

    ``OSError`` ENOSPC/EDQUOT anywhere in the exception's chain, "No space left on device"
    in its message (GDAL/pyogrio, SQLite say it in words), or an error while less than
    1 MiB is free where the command writes (``folder``): pyogrio's "Failed to commit
    transaction" says no more than that.
    """
    import errno
    import shutil

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        text = str(seen).casefold()
        if "no space left" in text or "disk is full" in text or "database or disk is full" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    if folder is None:
        return False
    path = Path(str(folder)).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free < 1024 * 1024
    except OSError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (2 for bad arguments, 1 for errors)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a bad argument (2)
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    level = _log_level(args.verbose, args.quiet)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    package_logger = logging.getLogger("tilbudskart")
    previous_level = package_logger.level
    package_logger.setLevel(level)
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except (registry.RegistryError, datasources.DataError, outputs.OutputError) as exc:
        _error(str(exc))
        return 1
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, as other commands do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        if args.verbose >= 2:
            traceback.print_exc()
        if disk_full(exc, getattr(args, "out", None)):
            _error(DISK_FULL)
            return 1
        _error(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        return 1
    finally:
        package_logger.setLevel(previous_level)  # main() called from Python leaves no trace


if __name__ == "__main__":
    raise SystemExit(main())

