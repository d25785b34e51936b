"""The command line's commands but ``nearest``: build, gaps, compare, plan, report, map, table.

Each ``_cmd_*`` takes the parsed arguments (:func:`tilbudskart.cli.parser`) and returns the
exit status; :func:`tilbudskart.cli.main` runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path
from typing import Any

from tilbudskart import geocode, importers, measures, outputs, published, settings
from tilbudskart.cli_terminal import _error, _not_resolved, _say, terminal_safe
from tilbudskart.pipeline import (
    Dataset,
    StrictImportError,
    build_dataset,
    summary,
    then_and_now,
    write_outputs,
)


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
        args.format, fylker, data.attributions, published.list_date_lines(data))
    with tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp",
                                     delete=False) as handle:
        handle.write(content)
    os.chmod(handle.name, 0o644)
    os.replace(handle.name, out)
    _say(f"Wrote {terminal_safe(str(out))}")
    return 0
