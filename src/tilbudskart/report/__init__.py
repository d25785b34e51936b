"""Kommunerapport: a printable A4 sheet per kommune, a fylke summary, and maps as images.

Planners work from documents: a case for a new group is made on paper and in a slide. This
module draws, offline and with one library (matplotlib: its PDF, SVG and PNG backends draw
both the map and the page), what the app shows about one kommune:

- :func:`kommune_report` — one kommune on two A4 pages (PDF bytes), in Norwegian bokmål;
- :func:`fylke_report` — every kommune of one fylke in a table (PDF bytes);
- :func:`coverage_image` — the national coverage choropleth as PNG or SVG bytes, sized for
  a slide (1920 × 1080 px).

Every figure on a report is read from the kommune table the pipeline builds (the same
table ``build`` writes to ``kommuner.csv``) and formatted by
:mod:`tilbudskart.views.text`; :func:`kommune_facts` returns them as plain values, which is
what the tests compare. Output is byte-stable: no creation date, a fixed SVG hash salt,
fonts subset the same way every time (DejaVu Sans as Type 3, which ships with matplotlib and carries
æ, ø, å and the Sami letters á, č, đ, ŋ, š, ŧ, ž).

Build a :class:`ReportData` once (:meth:`ReportData.from_app_data`, about a second: it ranks
the new-group sites), then render as many reports as needed; each takes well under a second.

Each job has its own module: :mod:`~tilbudskart.report.layout` (the page layout engine),
:mod:`~tilbudskart.report.data` (report data and the figures), :mod:`~tilbudskart.report.maps`
(map images), :mod:`~tilbudskart.report.kommune` and :mod:`~tilbudskart.report.fylke` (the
sheets) and :mod:`~tilbudskart.report.batch` (finding a kommune, many reports at once). Every
name is exported here, so ``tilbudskart.report.X`` keeps working.
"""

from __future__ import annotations

from tilbudskart.report.batch import (
    KommuneLookup,
    _write_atomic,
    find_kommune,
    report_index,
    write_reports,
)
from tilbudskart.report.data import (
    ReportData,
    _columns,
    best_site,
    beyond_ranks,
    kommune_facts,
)
from tilbudskart.report.fylke import (
    find_fylke,
    fylke_names,
    fylke_report,
)
from tilbudskart.report.kommune import (
    PRECISION_TEXT,
    SOURCES,
    YEARS,
    _drive,
    _km,
    _share,
    kommune_report,
    organisation_rows,
    precision_text,
    rank_text,
)
from tilbudskart.report.layout import (
    A4,
    PDF_METADATA,
    RC,
)
from tilbudskart.report.maps import (
    IMAGE_DPI,
    IMAGE_PX,
    coverage_image,
)

__all__ = [
    "A4",
    "IMAGE_DPI",
    "IMAGE_PX",
    "PDF_METADATA",
    "PRECISION_TEXT",
    "RC",
    "SOURCES",
    "YEARS",
    "KommuneLookup",
    "ReportData",
    "_columns",
    "_drive",
    "_km",
    "_share",
    "_write_atomic",
    "best_site",
    "beyond_ranks",
    "coverage_image",
    "find_fylke",
    "find_kommune",
    "fylke_names",
    "fylke_report",
    "kommune_facts",
    "kommune_report",
    "organisation_rows",
    "precision_text",
    "rank_text",
    "report_index",
    "write_reports",
]
