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
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from tilbudskart import (
    access,
    datasources,
    geocode,
    importers,
    measures,
    network,
    outputs,
    registry,
    search,
    seasons,
    settings,
)
from tilbudskart.pipeline import (
    Dataset,
    StrictImportError,
    build_dataset,
    read_national_lines,
    rounded,
    services_in_force,
    summary,
    then_and_now,
    write_outputs,
)

#: Most results ``nearest -n`` returns.
MAX_RESULTS = 50

#: Kommuner in the kommune table (the most ``gaps --top`` can list).
KOMMUNER = settings.KOMMUNE_COUNT

#: Most new groups ``plan --new`` plans (as :data:`tilbudskart.planning.MAX_NEW_GROUPS`).
MAX_NEW_GROUPS = 50

#: Longest error message printed (characters).
MAX_MESSAGE = 500

# -- text that reaches the terminal -------------------------------------------------------

#: Characters never printed: C0 controls but tab and newline, DEL and C1 controls
#: (U+009B is a one-character CSI), bidirectional embeddings, overrides and isolates
#: (they reorder what the terminal shows); lone surrogates cannot be encoded at all.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def terminal_safe(text: str, json_escape: bool = False) -> str:
    r"""Return text that cannot control a terminal.

    Parameters
    ----------
    text : str
        Anything about to be printed (data, a query, a message).
    json_escape : bool
        For JSON text: write each unsafe character as a ``\\uXXXX`` escape, which keeps
        the data exact (JSON strings are the only place such characters can occur).
        Otherwise escape sequences and unsafe characters are removed.

    Returns
    -------
    str
        The text without terminal escapes and control characters (newlines and tabs
        are kept).

    """
    if json_escape:
        return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return _UNSAFE.sub("", geocode.TERMINAL_ESCAPE.sub("", text))


def _say(text: str = "", err: bool = False) -> None:
    print(terminal_safe(text), file=sys.stderr if err else sys.stdout)


def _error(message: str) -> None:
    line = " ".join(terminal_safe(message).split())
    _say(f"error: {geocode.shorten(line, MAX_MESSAGE)}", err=True)


# -- argument types -----------------------------------------------------------------------


def _int_between(low: int, high: int) -> Callable[[str], int]:
    """Return an argparse type accepting whole numbers from ``low`` to ``high``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{geocode.shorten(text)!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, not {value}")
        return value

    return parse


def _output_folder(text: str) -> Path:
    """Argparse type of ``--out``: a folder that exists or can be made, and is writable."""
    path = Path(text)
    try:
        outputs.check_writable(path)
    except outputs.OutputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return path


def _input_file(text: str) -> Path:
    """Argparse type of ``--import``: a readable file."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text} is not a file")
    if not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"{text} cannot be read")
    return path


def _kommunenummer(text: str) -> str:
    """Argparse type of ``--keep``: a four-digit kommune number."""
    if not re.fullmatch(r"\d{4}", text):
        raise argparse.ArgumentTypeError(
            f"{geocode.shorten(text)!r} is not a kommunenummer (four digits)")
    return text


# -- commands -----------------------------------------------------------------------------


def _say_imports(dataset: Dataset) -> None:
    """Print what each imported list was read as, and every problem found."""
    for line in dataset.imports:
        _say(line)
    if dataset.imports:
        _say("Import report:")
        _say(importers.format_report(dataset.import_report))


def _cmd_build(args: argparse.Namespace) -> int:
    try:
        dataset = build_dataset(args.imports, grid=args.grid, organisation=args.organisation,
                                strict=args.strict, mode="replace" if args.replace else "add")
    except StrictImportError as exc:
        _say("Import report:", err=True)
        _say(importers.format_report(exc.report), err=True)
        raise
    written = write_outputs(dataset, args.out)
    _say_imports(dataset)
    _say(summary(dataset))
    _say("Wrote " + ", ".join(str(p) for p in written))
    return 0


def _not_resolved(query: str, candidates: list[str], reason: str,
                  suggestions: Sequence[str] = ()) -> int:
    """Say that a search was ambiguous (listing the choices) or not found; exit status 2.

    Not found, it names what the search may have meant («Mente du …?»,
    :func:`tilbudskart.suggest.suggest`).
    """
    if candidates:
        _say(f"«{geocode.shorten(query)}» is ambiguous; try one of:", err=True)
        for candidate in candidates:
            _say(f"  {candidate}", err=True)
    else:
        _say(f"Not found: {geocode.shorten(reason, MAX_MESSAGE)}", err=True)
        if suggestions:
            _say("Did you mean (Mente du): " + ", ".join(suggestions) + "?", err=True)
    return 2


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


def _cmd_gaps(args: argparse.Namespace) -> int:
    kommuner = build_dataset().kommuner
    prefix = "km_" if args.by == "km" else "drive_min_"
    whole = "nearest_group_km" if args.by == "km" else "drive_min"
    column = f"{prefix}{args.org}" if args.org else whole
    table = kommuner.sort_values([column, "kommunenummer"], ascending=[False, True])
    table = table.head(args.top)
    _say(f"{'kommune':<22} {'fylke':<26} {'folkemengde':>11} {args.by:>7}  nearest group")
    for row in table.itertuples():
        group = (f"{row.nearest_group!s} ({row.nearest_group_kommune!s})" if args.by == "km"
                 else str(row.nearest_group_by_road))
        _say(f"{row.kommunenavn:<22} {str(row.fylkesnavn)[:26]:<26} {row.folkemengde:>11,} "
             f"{getattr(row, column):7.1f}  {group}")
    unrouted = kommuner[kommuner[column].isna()]
    if args.by == "min" and len(unrouted):
        _say(f"No route in N1000 (island without a car ferry): "
             f"{', '.join(unrouted['kommunenavn'])}")
    return 0


def _list_argument(text: str) -> Path | str | None:
    """Argparse type of ``compare``'s lists: a file, ``2007`` or a version ``ORG@N``.

    ``2007`` is the registry; ``ORG@N`` a published version (:mod:`tilbudskart.publishing`).
    """
    from tilbudskart.publishing import VERSION_REFERENCE

    if text == "2007":
        return None
    if VERSION_REFERENCE.fullmatch(text):
        return text
    return _input_file(text)


def _cmd_compare(args: argparse.Namespace) -> int:
    from tilbudskart import csvsafe

    if args.new is None:
        _error("NEW must be a list of today's groups, not 2007")
        return 2
    from tilbudskart.publishing import resolve_list
    from tilbudskart.store import RefusedError, StoreError

    try:
        new, old = resolve_list(args.new), resolve_list(args.old)
    except (RefusedError, StoreError) as exc:
        _error(str(exc))
        return 2
    result = then_and_now(new, old, organisation=args.organisation)
    for line in result.imports:
        _say(line)
    if len(result.import_report):
        _say("Import report:")
        _say(importers.format_report(result.import_report))
    then = "2007" if args.old is None else getattr(args.old, "name", args.old)
    _say(f"\nGroups, {then} → {getattr(args.new, 'name', args.new)} (matched per organisation "
         f"by kommune and name):")
    _say(f"  {'organisation':<16} {'same':>5} {'moved':>6} {'gone':>5} {'new':>5}")
    for row in result.counts.itertuples():
        _say(f"  {row.organisation:<16} {row.same:>5} {row.moved:>6} {row.gone:>5} {row.new:>5}")
    rank = {"moved": 0, "new": 1, "gone": 2}
    changed = result.matches[result.matches["change"] != "same"]
    changed = changed.iloc[changed["change"].map(rank).argsort(kind="stable")]
    for match in changed.head(args.top).to_dict("records"):
        what = {"moved": f"{match['then_name']} ({match['then_kommune']}) → {match['now_name']} "
                         f"({match['now_kommune']}, {match['moved_km']:.0f} km)",
                "gone": f"{match['then_name']} ({match['then_kommune']})",
                "new": f"{match['now_name']} ({match['now_kommune'] or match['attendance']})"}
        _say(f"  {match['change']:<6} {match['organisation']:<16} {what[str(match['change'])]}")
    if len(changed) > args.top:
        _say(f"  … and {len(changed) - args.top} more")
    _say("\nCoverage (then → now, change):")
    for row in result.coverage.itertuples():
        _say(f"  {row.organisation:<16} {row.measure:<24} {row.then:>12,.0f} → "
             f"{row.now:>12,.0f}  ({row.change:+,.0f})")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        csvsafe.to_csv(result.matches, args.out / "compare_groups.csv")
        csvsafe.to_csv(result.coverage, args.out / "compare_coverage.csv")
        _say(f"Wrote {args.out / 'compare_groups.csv'}, {args.out / 'compare_coverage.csv'}")
    return 0


def _plan_payload(args: argparse.Namespace, plan: Any, extra: dict[str, Any]) -> dict[str, Any]:
    sites = [{"order": n, "kommunenummer": row.kommunenummer, "kommunenavn": row.kommunenavn,
              "place": row.place, "lat": round(float(row.lat), 5),
              "lon": round(float(row.lon), 5), "people_newly_covered": int(row.added),
              "kept": bool(row.fixed)}
             for n, row in enumerate(plan.sites.itertuples(), start=1)]
    return {"question": "cover_all" if args.cover_all else "new", "near": args.near,
            "organisation": args.org or "all", "candidates": "places" if args.places
            else "kommune_centres", "method": plan.method, "new_groups": len(sites),
            "population": measures.POPULATION_SOURCE,
            "population_year": settings.DATA_YEARS["population"],
            "people_beyond_today": plan.beyond, "people_reachable": plan.demand,
            "people_newly_covered": plan.covered, "people_left": plan.left,
            "sites": sites, **extra}


def _cmd_plan(args: argparse.Namespace) -> int:
    from tilbudskart import pipeline, planning

    if args.cover_all and args.objective is not None:
        _error("--objective applies to --new, not to --cover-all")
        return 2
    args.near = args.near or (planning.DEFAULT_COVER_ALL if args.cover_all
                              else planning.DEFAULT_NEAR)
    args.objective = args.objective or "coverage"
    data = pipeline.load_app_data()
    planner = planning.Planner(data.kommuner, data.grid, data.services, data.network)
    try:
        planner.candidates(args.places)  # the kept sites are checked against these
        planning.check_kept(args.keep, planner.candidates(args.places))
        if args.cover_all:
            answer = planner.cover_all(args.near, args.org, args.keep, args.places)
            plan = answer.plan
            extra: dict[str, Any] = {
                "curve": answer.curve.to_dict("records"),
                "left": answer.left.to_dict("records")}
        else:
            plan = planner.new_sites(args.new, args.near, args.org, args.keep, args.objective,
                                     args.places)
            figures = {"today": planner.worst_off(plan.sites.iloc[:0], args.org),
                       "with_sites": planner.worst_off(plan.sites, args.org)}
            extra = {"objective": args.objective, "worst_off": {
                key: {name: round(float(value), 1) for name, value in series.items()}
                for key, series in figures.items()}}
    except ValueError as exc:
        _error(str(exc))
        return 2
    payload = _plan_payload(args, plan, extra)
    if args.json:
        print(terminal_safe(json.dumps(payload, ensure_ascii=False, indent=2),
                            json_escape=True))
        return 0
    who = settings.ORGANISATIONS[args.org] if args.org else "any self-help group"
    near = re.sub(r"(\d)([a-z])", r"\1 \2", args.near)  # "60min" → "60 min"
    if args.cover_all:
        _say(f"{len(plan.sites)} new groups would put everyone a candidate site can reach "
             f"within {near} of a group ({who}): {plan.covered:,} of the "
             f"{plan.beyond:,} people beyond it today.")
    else:
        _say(f"{len(plan.sites)} new groups ({args.objective}) would bring {plan.covered:,} of "
             f"the {plan.beyond:,} people beyond {near} of a group ({who}) within it.")
    for site in payload["sites"]:
        kept = "  (kept)" if site["kept"] else ""
        _say(f"  {site['order']:>3}. {site['place']} ({site['kommunenavn']}, "
             f"{site['kommunenummer']})  +{site['people_newly_covered']:,}{kept}")
    if args.cover_all:
        left = answer.left
        by_reason = left.groupby("reason")["people"].sum()
        _say(f"{plan.left:,} people stay beyond {near}: "
             f"{int(by_reason.get('no_route', 0)):,} have no route by road and car ferry, "
             f"{int(by_reason.get('beyond_candidates', 0)):,} live farther than that from "
             "every candidate site.")
        for row in left.head(5).itertuples():
            _say(f"       {row.kommunenavn} ({row.kommunenummer}): {row.people:,} "
                 f"({str(row.reason).replace('_', ' ')})")
    else:
        for key, series in extra["worst_off"].items():
            _say(f"  worst-off {key.replace('_', ' ')}: " + ", ".join(
                f"{name} {value:,.0f}" for name, value in series.items()))
    return 0


def _report_data() -> object:
    """Load the app data (disk cache when inputs are unchanged) and prepare reports."""
    from tilbudskart import pipeline, report

    return report.ReportData.from_app_data(pipeline.load_app_data())


def _language(text: str) -> str:
    from tilbudskart.views.language import language_code

    try:
        return language_code(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cmd_report(args: argparse.Namespace) -> int:
    from tilbudskart import report

    chosen = [x for x in (args.kommune, args.all or None, args.fylke) if x]
    if len(chosen) != 1:
        _say("error: give one of KOMMUNE, --all or --fylke NAME", err=True)
        return 2
    out = Path(args.out)
    if args.all:
        try:
            outputs.check_writable(out)
        except outputs.OutputError as exc:
            _error(str(exc))
            return 2
    elif not out.parent.is_dir() or not os.access(out.parent, os.W_OK):
        _error(f"cannot write {out}: folder {out.parent} is missing or not writable")
        return 2
    data = _report_data()
    assert isinstance(data, report.ReportData)
    if args.all:
        written = report.write_reports(data, out, workers=args.workers)
        _say(f"Wrote {len(written) - 1} reports and {written[-1]}")
        return 0
    if args.fylke:
        found = report.find_fylke(data.kommuner, args.fylke)
        if len(found) != 1:
            _say(f"«{geocode.shorten(args.fylke)}» is "
                 f"{'ambiguous' if found else 'not a fylke'}; try one of:", err=True)
            for name in found or report.fylke_names(data.kommuner):
                _say(f"  {name}", err=True)
            return 2
        report._write_atomic(out, report.fylke_report(data, found[0]))
        _say(f"Wrote {out} ({found[0]})")
        return 0
    lookup = report.find_kommune(data.kommuner, args.kommune, geocode.Gazetteer.from_data())
    if lookup.number is None:
        return _not_resolved(geocode.clean_text(args.kommune), list(lookup.candidates),
                             lookup.reason)
    report._write_atomic(out, report.kommune_report(data, lookup.number,
                                                    language=args.malform))
    row = data.kommuner.loc[lookup.number]
    _say(f"Wrote {out} ({lookup.number} {row['kommunenavn']})")
    return 0


def _cmd_map(args: argparse.Namespace) -> int:
    from tilbudskart import pipeline, report

    out = Path(args.out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in {"png", "svg"}:
        _error(f"--out must end in .png or .svg, not {out.name!r}")
        return 2
    if not out.parent.is_dir() or not os.access(out.parent, os.W_OK):
        _error(f"cannot write {out}: folder {out.parent} is missing or not writable")
        return 2
    data = pipeline.load_app_data()
    image = report.coverage_image(data.polygons, data.kommuner, args.measure, args.org, fmt)
    report._write_atomic(out, image)
    _say(f"Wrote {out}")
    return 0


def _cmd_table(args: argparse.Namespace) -> int:
    import tempfile

    from tilbudskart import pipeline
    from tilbudskart.views import exports

    out = Path(args.out)
    if out.is_dir():  # a folder: the file name says organisation and measure
        out = out / exports.table_filename(args.org, args.measure, args.format)
    if not out.parent.is_dir() or not os.access(out.parent, os.W_OK):
        _error(f"cannot write {out}: folder {out.parent} is missing or not writable")
        return 2
    data = pipeline.load_app_data()
    fylker = tuple(args.fylke or ())
    unknown = sorted(set(fylker) - set(data.kommuner["fylkesnavn"]))
    if unknown:
        _error(f"--fylke: unknown fylke {', '.join(map(repr, unknown))}; known: "
               f"{', '.join(sorted(data.kommuner['fylkesnavn'].unique()))}")
        return 2
    content = exports.kommune_table_file(
        pipeline.organisation_table(data, args.org), data.polygons, args.org, args.measure,
        args.format, fylker, data.attributions)
    with tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp",
                                     delete=False) as handle:
        handle.write(content)
    os.chmod(handle.name, 0o644)
    os.replace(handle.name, out)
    _say(f"Wrote {terminal_safe(str(out))}")
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
