"""Page layout engine: A4 pages of headings, paragraphs and tables; the style; PDF bytes."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from tilbudskart.views import language as lang

#: tuple of float: A4 portrait, inches.
A4 = (8.27, 11.69)

#: dict: matplotlib settings for every drawing here. Fonts are embedded as Type 3 subsets
#: with a Unicode map, so text can be searched, copied and read back (TrueType/Type 42
#: subsetting by fontTools doubled the time of a report); one fixed SVG hash salt, so SVG
#: ids are the same every time.
RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "pdf.fonttype": 3,
    "svg.fonttype": "path",
    "svg.hashsalt": "tilbudskart",
    "pdf.compression": 6,
    "axes.unicode_minus": True,
}

#: dict: metadata of every PDF (no creation date: the same input gives the same bytes).
PDF_METADATA: dict[str, str | None] = {
    "Creator": "tilbudskart", "Producer": "tilbudskart (matplotlib)", "CreationDate": None,
}


_INK = "#222222"
_MUTED = "#555555"
_SEA = "#dcebf5"
_LAND = "#f7f5f0"
_HOME = "#fde3b8"
_ROUTE = "#8b1e3f"
_SITE = "#0b6e4f"


@contextmanager
def _style() -> Iterator[None]:
    """Draw with the report's fonts and fixed hash salt, leaving global settings alone."""
    with mpl.rc_context(cast(Any, RC)):
        yield


def _wrap(text: str, width_in: float, size: float) -> list[str]:
    """Wrap text to a width in inches (DejaVu Sans averages ~0.55 em per character)."""
    chars = max(8, int(width_in * 72 / (0.55 * size)))
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(textwrap.wrap(paragraph, chars, break_on_hyphens=False) or [""])
    return lines


class _Page:
    """A cursor down an A4 page of a PDF: headings, paragraphs and simple tables."""

    left = 0.7  # inches
    right = A4[0] - 0.7
    top = A4[1] - 0.6
    bottom = 0.75

    def __init__(self, pdf: PdfPages, footer: str, language: str = "nb") -> None:
        self.pdf = pdf
        self.footer = footer
        self.language = language
        self.figures: list[Figure] = []
        self.fig = self._new()

    def _new(self) -> Figure:
        fig = Figure(figsize=A4)
        self.figures.append(fig)
        self.y = self.top
        return fig

    def need(self, inches: float) -> None:
        """Start a new page if less than ``inches`` remain."""
        if self.y - inches < self.bottom:
            self.fig = self._new()

    def text(self, x: float, y: float, text: str, size: float = 9.0, **kwargs: Any) -> None:
        """Put text at inches from the bottom left."""
        kwargs.setdefault("color", _INK)
        self.fig.text(x / A4[0], y / A4[1], text, fontsize=size, va="top", **kwargs)

    def heading(self, text: str, size: float = 11.0) -> None:
        """Write a section heading."""
        self.need(0.6)
        self.y -= 0.08
        self.text(self.left, self.y, text, size=size, weight="bold")
        self.y -= size / 72 * 1.55

    def paragraph(self, text: str, size: float = 9.0, indent: float = 0.0,
                  colour: str = _INK, gap: float = 0.06, **kwargs: Any) -> None:
        """Write wrapped text."""
        step = size / 72 * 1.35
        for line in _wrap(text, self.right - self.left - indent, size):
            self.need(step)
            self.text(self.left + indent, self.y, line, size=size, color=colour, **kwargs)
            self.y -= step
        self.y -= gap

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]],
              widths: Sequence[float], size: float = 8.0,
              align: Sequence[str] | None = None) -> None:
        """Write a table; columns of ``widths`` inches, cells wrapped, header repeated."""
        align = align or ["left"] * len(widths)
        step = size / 72 * 1.3
        starts = np.concatenate([[self.left], self.left + np.cumsum(widths)[:-1]])

        def line(y: float, colour: str = "#999999", weight: float = 0.5) -> None:
            self.fig.add_artist(Line2D([self.left / A4[0], (self.left + sum(widths)) / A4[0]],
                                       [y / A4[1], y / A4[1]], color=colour, lw=weight))

        def draw(cells: Sequence[str], bold: bool) -> None:
            wrapped = [_wrap(c, w - 0.08, size) for c, w in zip(cells, widths, strict=True)]
            height = max(len(w) for w in wrapped) * step + 0.06
            if self.y - height < self.bottom:
                self.fig = self._new()
                if not bold:
                    draw(header, True)
            for x, w, lines, how in zip(starts, widths, wrapped, align, strict=True):
                anchor = x + w - 0.06 if how == "right" else x
                for k, text in enumerate(lines):
                    self.text(anchor, self.y - 0.03 - k * step, text, size=size,
                              ha=how, weight="bold" if bold else "normal")
            self.y -= height
            line(self.y, "#444444" if bold else "#cccccc", 0.8 if bold else 0.4)

        draw(header, True)
        for cells in rows:
            draw(cells, False)
        self.y -= 0.1

    def close(self) -> None:
        """Add page numbers and footers; write every page."""
        total = len(self.figures)
        for number, fig in enumerate(self.figures, start=1):
            fig.text(self.left / A4[0], 0.45 / A4[1], self.footer, fontsize=7, color=_MUTED)
            fig.text(self.right / A4[0], 0.45 / A4[1],
                     lang.text("report.page", self.language, number=number, total=total),
                     fontsize=7, color=_MUTED, ha="right")
            self.pdf.savefig(fig)



def _pdf_bytes(draw: Any) -> bytes:
    buffer = io.BytesIO()
    with _style(), PdfPages(buffer, metadata=PDF_METADATA) as pdf:
        draw(pdf)
    return buffer.getvalue()
