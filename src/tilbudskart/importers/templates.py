"""Templates: the empty list an organisation fills in (CSV or .xlsx, Norwegian headings)."""

from __future__ import annotations

import io

import pandas as pd

from tilbudskart import csvsafe
from tilbudskart.importers.columns import TEMPLATE_COLUMNS


def template() -> pd.DataFrame:
    """Return the list template: Norwegian headers and two example rows."""
    return pd.DataFrame([
        {"navn": "Pårørendegruppe Seljord", "organisasjon": "LMS", "sted": "Seljord",
         "adresse": "Brøløsvegen 1", "postnummer": "3840", "fylke": "Telemark",
         "telefon": "400 00 000", "e-post": "seljord@example.no", "møteform": "fysisk",
         "lenke": "", "merknad": "Første tirsdag i måneden kl. 19"},
        {"navn": "Nettgruppe for pårørende", "organisasjon": "LMS", "sted": "", "adresse": "",
         "postnummer": "", "fylke": "", "telefon": "", "e-post": "nett@example.no",
         "møteform": "nett", "lenke": "https://example.no/mote",
         "merknad": "Hver onsdag kl. 20 på video"},
    ], columns=list(TEMPLATE_COLUMNS))


def template_bytes(kind: str = "csv") -> bytes:
    """Return the template as a file: ``"csv"`` (UTF-8 with BOM, ``;``) or ``"xlsx"``."""
    frame = template()
    if kind == "csv":
        return csvsafe.excel_safe(frame).to_csv(index=False, sep=";",
                                                lineterminator="\r\n").encode("utf-8-sig")
    if kind == "xlsx":
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            frame.to_excel(writer, index=False, sheet_name="Grupper")
            sheet = writer.sheets["Grupper"]
            for column in ("E",):  # postcodes stay text (leading zeros)
                for cell in sheet[column]:
                    cell.number_format = "@"
        return buffer.getvalue()
    raise ValueError(f"unknown template kind {kind!r} (csv or xlsx)")
