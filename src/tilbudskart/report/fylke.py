"""Fylke sheet: every kommune of one fylke in a table (PDF bytes)."""

from __future__ import annotations

import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages

from tilbudskart import measures, settings
from tilbudskart.report.data import (
    ReportData,
    _columns,
)
from tilbudskart.report.kommune import (
    SOURCES,
    _drive,
    _km,
    _list_dates_lines,
    _years,
)
from tilbudskart.report.layout import (
    _MUTED,
    _Page,
    _pdf_bytes,
)
from tilbudskart.views.text import figure


def fylke_names(kommuner: pd.DataFrame) -> list[str]:
    """Return the fylke names of the kommune table, sorted."""
    return sorted(kommuner["fylkesnavn"].astype(str).unique())


def find_fylke(kommuner: pd.DataFrame, name: str) -> list[str]:
    """Return the fylker matching a name typed by a person (exact first, then prefix).

    "Finnmark" finds "Finnmark - Finnmárku - Finmarkku"; case and punctuation are ignored.
    """
    from tilbudskart.geocode import normalise

    key = normalise(name)
    names = fylke_names(kommuner)
    exact = [n for n in names if normalise(n) == key
             or key in {normalise(p) for p in n.split(" - ")}]
    return exact or [n for n in names if normalise(n).startswith(key)]


def fylke_report(data: ReportData, fylke: str) -> bytes:
    """Return a fylke summary as PDF bytes: every kommune's key figures in one table.

    Parameters
    ----------
    data : ReportData
        Prepared report data.
    fylke : str
        A fylke name exactly as in the kommune table (see :func:`find_fylke`).

    Returns
    -------
    bytes

    Raises
    ------
    ValueError
        If no kommune lies in ``fylke``.

    """
    table = data.kommuner[data.kommuner["fylkesnavn"] == fylke]
    if table.empty:
        raise ValueError(f"no kommune in fylke {fylke!r}")
    table = table.sort_values(["drive_min", "nearest_group_km"], ascending=False,
                              na_position="first")

    def draw(pdf: PdfPages) -> None:
        page = _Page(pdf, f"tilbudskart · Fylkesoversikt {fylke} · registeret er fra "
                          f"{settings.DATA_YEARS['registry']}")
        page.text(page.left, page.y, f"{fylke}: avstand til hjelp for pårørende", size=16,
                  weight="bold")
        page.y -= 0.4
        people = int(table["folkemengde"].sum())
        far = {c: int(table[c].sum()) for c in _columns()}
        far_km, far_min = measures.FARTHEST_KM, measures.FARTHEST_MINUTES
        km50, min120 = far_km.column, far_min.column
        page.paragraph(
            f"{len(table)} kommuner, {figure(people)} innbyggere (1. januar "
            f"{settings.DATA_YEARS['population']}). "
            f"{figure(far.get(km50, 0))} bor mer enn {far_km.value:g} km i luftlinje og "
            f"{figure(far.get(min120, 0))} mer enn {far_min.value:g} min med bil og ferje "
            "fra nærmeste selvhjelpsgruppe.", size=10)
        page.paragraph(_years(), size=8.5, colour=_MUTED, gap=0.1)
        rows = [[f"{n} {r.kommunenavn}", figure(r.folkemengde), _km(r.nearest_group_km),
                 _drive(r.drive_min), figure(getattr(r, km50)), figure(getattr(r, min120)),
                 str(r.nearest_group)]
                for n, r in zip(table.index, table.itertuples(), strict=True)]
        page.table(["Kommune", "Innbyggere", "Luftlinje", "Kjøretid",
                    f"> {far_km.value:g} km", f"> {far_min.value:g} min", "Nærmeste gruppe"],
                   rows, [1.75, 0.8, 0.7, 0.95, 0.7, 0.75, 1.2],
                   align=["left", "right", "right", "right", "right", "right", "left"],
                   size=7.5)
        page.paragraph("Sortert etter kjøretid, lengst først. Avstand og kjøretid er fra "
                       "kommunesenteret til nærmeste selvhjelpsgruppe (alle organisasjoner).",
                       size=8, colour=_MUTED)
        page.heading("Kilder og lisenser", size=10)
        for source in [*SOURCES, *_list_dates_lines(data)]:
            page.paragraph(f"• {source}", size=7.5, gap=0.02)
        page.close()

    return _pdf_bytes(draw)
