"""Excel-safe CSV: text cells that a spreadsheet would run as a formula are neutralised.

A CSV cell that begins with ``=``, ``+``, ``@``, a tab or a carriage return, or with ``-``
followed by anything but a plain number, is run as a formula by Excel and LibreOffice
(OWASP, "CSV Injection": ``=HYPERLINK(…)``, ``+cmd|' /C calc'!A0``, ``@SUM(…)``,
``-2+3``). :func:`excel_safe_text` prefixes such text with an apostrophe, which the
spreadsheet shows as text and does not run. Numbers stay numbers: a float column
holding -1.5 is written as ``-1.5``, and so is the text ``"-1.5"``. Every CSV the project
writes goes through :func:`to_csv` (the GeoPackage keeps text exactly as it is).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

#: A cell starting with = + @ tab CR, or with - not followed by a plain number (OWASP);
#: also their fullwidth forms (＝ ＋ ＠ －), which spreadsheets in East Asian locales run too.
FORMULA_START = re.compile(r"^(?:[=+@\t\r\uff1d\uff0b\uff20]|[-\uff0d]"
                           r"(?!\d*\.?\d+(?:[eE][-+]?\d+)?$))")


def excel_safe_text(value: object) -> object:
    """Return one cell made safe to open in a spreadsheet (non-text is returned as is).

    Parameters
    ----------
    value : object
        A cell.

    Returns
    -------
    object
        Text that could start a formula, prefixed with ``'``; anything else unchanged.

    Examples
    --------
    >>> excel_safe_text("=1+2")
    "'=1+2"
    >>> excel_safe_text("-1.5")
    '-1.5'
    >>> excel_safe_text(-1.5)
    -1.5

    """
    if isinstance(value, str) and FORMULA_START.match(value):
        return "'" + value
    return value


def excel_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy whose text cells and column names cannot start a formula.

    Parameters
    ----------
    frame : pandas.DataFrame
        Any table.

    Returns
    -------
    pandas.DataFrame
        The same table; numeric columns untouched.

    """
    frame = frame.copy()
    for column in frame.columns:
        series = frame[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series):
            frame[column] = series.map(excel_safe_text)
    frame.columns = [excel_safe_text(str(c)) for c in frame.columns]
    return frame


def to_csv(frame: pd.DataFrame, path: Path, bom: bool = False) -> None:
    """Write a table as Excel-safe UTF-8 CSV (newline line ends, no index).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    path : pathlib.Path
        Target file.
    bom : bool
        Write a byte-order mark (Excel then reads æøå correctly).

    """
    excel_safe(frame).to_csv(path, index=False, lineterminator="\n",
                             encoding="utf-8-sig" if bom else "utf-8")


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """Return a table as Excel-safe UTF-8 CSV bytes with a byte-order mark (downloads)."""
    return excel_safe(frame).to_csv(index=False, lineterminator="\n").encode("utf-8-sig")
