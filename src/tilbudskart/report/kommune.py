"""Kommune sheet: one kommune on two A4 pages (PDF bytes)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages

from tilbudskart import settings
from tilbudskart.report.data import (
    ReportData,
    kommune_facts,
)
from tilbudskart.report.layout import (
    _MUTED,
    A4,
    _Page,
    _pdf_bytes,
)
from tilbudskart.report.maps import _kommune_map
from tilbudskart.views import language as lang
from tilbudskart.views.text import figure

#: dict of str to str: where a group meets, as precisely as the registry says (bokmål;
#: :func:`precision_text` for nynorsk).
PRECISION_TEXT: dict[str, str] = {
    key: lang.text(f"report.precision_{key}")
    for key in ("postcode", "place", "kommune", "region")}


def precision_text(precision: str, language: str = "nb") -> str:
    """Return where a group meets, as precisely as known, in a language."""
    key = f"report.precision_{precision}"
    return lang.text(key, language) if key in lang.catalogue(language) else precision


def rank_text(rank: int, tied: bool, people: int, language: str = "nb") -> str:
    """Return a kommune's place among all ("12", "30 (delt)"; "–" when nobody is that far)."""
    if people == 0:
        return "–"
    return f"{rank}{lang.text('report.tied', language) if tied else ''}"


def _share(value: float) -> str:
    """Return a share as Norwegian per cent ("97 %")."""
    return f"{figure(100 * value)} %"


def _drive(value: Any, language: str = "nb") -> str:
    """Return a drive time for a table cell: "ca. 70 min" or "ingen rute"."""
    if value is None or not np.isfinite(float(value)):
        return lang.text("report.no_route_cell", language)
    hours = (lang.text("report.drive_hours", language, hours=figure(value / 60)) if value >= 180
             else "")
    return lang.text("report.drive", language, minutes=figure(value)) + hours


def _km(value: Any) -> str:
    """Return a distance in a line for a table cell ("64 km")."""
    return "–" if value is None or not np.isfinite(float(value)) else f"{figure(value)} km"


def _where(g: pd.Series | Any, language: str = "nb") -> str:
    """Return where a group meets: place, address, kommune (Norwegian)."""
    place = str(g.group_place).strip()
    parts = [place] if place and place not in {g.group_kommune, g.group} else []
    if str(g.group_address).strip():
        parts.append(str(g.group_address).strip())
    parts.append(lang.text("report.kommune_suffix", language, kommune=g.group_kommune))
    return ", ".join(parts)


def organisation_rows(facts: dict[str, Any]) -> list[list[str]]:
    """Return the per-organisation table of a report as text cells (Norwegian).

    Columns: organisation; nearest group in a line and where it meets; distance in a line;
    drive time (and the group it is to, when another is faster by road); placement.
    """
    language = facts.get("language", "nb")
    rows = []
    for g in facts["organisations"].itertuples():
        drive = _drive(g.drive_min, language)
        if g.fastest_id != g.group_id and np.isfinite(g.drive_min):
            drive += lang.text("report.drive_to", language, group=g.fastest,
                          kommune=g.fastest_kommune)
        rows.append([g.organisation_name.split(" (")[0], f"{g.group} – {_where(g, language)}",
                     _km(g.km), drive, precision_text(g.precision, language)])
    return rows


def _years(language: str = "nb") -> str:
    years = settings.DATA_YEARS
    return lang.text("report.years", language, registry=years["registry"],
                population=years["population"], grid=years["grid"],
                postcodes=years["postcodes"])


#: dict of str to int: the data years the catalogue's texts name.
YEARS = {"population": settings.DATA_YEARS["population"], "grid": settings.DATA_YEARS["grid"]}

#: list of str: the sources of every report (bokmål; the catalogue has nynorsk).
SOURCES = lang.texts("report.sources", "nb", **YEARS)


def _lines_text(lines: pd.DataFrame, language: str = "nb") -> list[list[str]]:
    national = lines[lines["scope"] == "national"]
    rows = []
    for line in national.itertuples():
        hours = str(line.opening_hours).strip()
        year = str(line.year).strip()
        note = " · ".join(x for x in (hours, lang.text("report.given", language, year=year)
                                      if year else "") if x)
        rows.append([str(line.name), str(line.phone), note])
    return rows


def _render_kommune(data: ReportData, facts: dict[str, Any], pdf: PdfPages) -> None:
    row = facts["row"]
    number = facts["number"]
    language = facts.get("language", "nb")

    def t(key: str, **values: Any) -> str:
        return lang.text(f"report.{key}", language, **values)

    official = lang.official_name(str(row.get("kommunenavn_offisielt", row["kommunenavn"])))
    name = str(row["kommunenavn"])
    page = _Page(pdf, t("header", number=number, name=official,
                        year=settings.DATA_YEARS["registry"]), language)
    page.text(page.left, page.y, t("tagline"), size=9, color=_MUTED)
    page.y -= 0.2
    page.text(page.left, page.y, official, size=22, weight="bold")
    page.y -= 0.42
    page.paragraph(t("facts", names="", number=number,
                     fylke=lang.official_name(row["fylkesnavn"]),
                     people=figure(row["folkemengde"]),
                     year=settings.DATA_YEARS["population"]), size=10)
    page.paragraph(_years(language), size=8.5, colour=_MUTED, gap=0.1)
    nearest = t("nearest", group=row["nearest_group"], kommune=row["nearest_group_kommune"],
                km=_km(row["nearest_group_km"]), centre=row["admin_centre"])
    if np.isfinite(row["drive_min"]):
        summer = row.get("drive_min_summer", np.nan)
        nearest += t("fastest", group=row["nearest_group_by_road"],
                     drive=_drive(row["drive_min"], language), km=_km(row["road_km"]),
                     summer=t("summer", drive=_drive(summer, language))
                     if np.isfinite(summer) and round(summer) < round(row["drive_min"]) else "")
    else:
        nearest += t("no_route")
    groups = int(row["groups_in_kommune"])
    year = settings.DATA_YEARS["registry"]
    nearest += (t("groups_none", year=year) if groups == 0 else
                t("groups_one", year=year) if groups == 1 else
                t("groups_many", count=figure(groups), year=year))
    page.paragraph(nearest, size=9.5, gap=0.12)

    map_height = 4.4
    page.need(map_height + 0.9)
    rect = (page.left / A4[0], (page.y - map_height) / A4[1],
            (page.right - page.left) / A4[0], map_height / A4[1])
    _kommune_map(page.fig, rect, data, facts)
    page.y -= map_height + 0.88

    page.heading(t("per_organisation"), size=11)
    page.table([t("col_organisation"), t("col_nearest"), t("col_line"), t("col_drive"),
                t("col_placement")],
               organisation_rows(facts), [1.5, 2.4, 0.65, 1.4, 0.92],
               align=["left", "left", "right", "left", "left"], size=7.5)

    page.fig = page._new()
    page.heading(t("beyond_heading"))
    page.paragraph(t("beyond_intro", count=settings.KOMMUNE_COUNT), size=8.5, colour=_MUTED)
    rows = []
    for b in facts["beyond"]:
        place = rank_text(b["rank"], b["tied"], b["people"], language)
        rows.append([t("beyond_row", label=b["label"]), figure(b["people"]),
                     _share(b["share"]), place, figure(b["median"])])
    page.table(["", t("col_people"), t("col_share"),
                t("col_rank", count=settings.KOMMUNE_COUNT), t("col_median")],
               rows, [2.6, 0.95, 0.7, 1.05, 1.55],
               align=["left", "right", "right", "right", "right"], size=8.5)
    not_routed = int(row["population_not_routed"])
    if not_routed:
        page.paragraph(t("not_routed", people=figure(not_routed)), size=8.5)

    page.heading(t("site_heading"))
    site = facts["site"]
    radius = figure(data.radius_km)
    if site is None:
        page.paragraph(t("site_none", name=name, radius=radius), size=9)
    else:
        where = (t("site_here") if site["kommunenummer"] == number
                 else t("site_there", kommune=site["kommunenavn"], fylke=site["fylkesnavn"]))
        page.paragraph(
            t("site", where=where, centre=site["admin_centre"], reach=figure(site["reach"]),
              radius=radius, here=figure(site["reach_here"]), name=name,
              uncovered=figure(site["uncovered_here"]), rank=site["rank"],
              count=settings.KOMMUNE_COUNT), size=9.5)
        page.paragraph(t("site_method", name=name, radius=radius,
                         grid=settings.DATA_YEARS["grid"],
                         population=settings.DATA_YEARS["population"]),
                       size=8, colour=_MUTED)

    page.heading(t("lines_heading"))
    page.table([t("col_line_name"), t("col_phone"), t("col_open")],
               _lines_text(data.lines, language), [2.75, 1.75, 2.37], size=7.5)
    page.paragraph(t("lines_note"), size=8, colour=_MUTED)

    page.heading(t("method_heading"))
    speeds = settings.ROAD_SPEED_KMH
    page.paragraph(t("method", e=speeds["E"], r=speeds["R"], f=speeds["F"], k=speeds["K"],
                     wait=settings.FERRY_WAIT_MIN, **YEARS), size=7.5)
    page.heading(t("sources_heading"))
    for source in [*lang.texts("report.sources", language, **YEARS), *_list_dates_lines(data)]:
        page.paragraph(f"• {source}", size=7.5, gap=0.0)
    page.close()


def _list_dates_lines(data: ReportData) -> list[str]:
    """Return how old each self-help organisation's list is (none: the report's rows only)."""
    dates = data.list_dates
    if not dates or all(getattr(d, "published_at", None) is None for d in dates.values()):
        return []
    return ["Listene over grupper: " + "; ".join(
        dates[o].text_nb() for o in settings.SELF_HELP_ORGANISATIONS if o in dates) + "."]




def kommune_report(data: ReportData, number: str, ranks: pd.DataFrame | None = None,
                   language: str | None = None) -> bytes:
    """Return one kommune's report as PDF bytes (two A4 pages, in the kommune's målform).

    Parameters
    ----------
    data : ReportData
        Prepared report data.
    number : str
        Kommunenummer.
    ranks : pandas.DataFrame, optional
        :func:`beyond_ranks` of ``data.kommuner`` (computed if omitted; pass it when
        rendering many reports).
    language : str, optional
        ``nb`` (bokmål) or ``nn`` (nynorsk); default: the kommune's own målform.

    Returns
    -------
    bytes
        The PDF; the same input gives the same bytes.

    Raises
    ------
    ValueError
        If the kommune is unknown.

    """
    facts = kommune_facts(data, number, ranks, language)
    return _pdf_bytes(lambda pdf: _render_kommune(data, facts, pdf))
