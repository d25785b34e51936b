"""The hostile corpus: lists an attacker or bad luck would upload (tests/data/hostile/).

Small files are committed (``python tests/hostile.py`` writes them again); the big ones
(``generated`` in ``expected.csv``) are made at test time by :func:`write_big`, so the
repository stays small. Each file has an expected category in ``expected.csv``:
``refused`` (the file is refused with one line) or ``read`` (read; row problems are
reported), and a piece of the English message or of one row problem.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

HOSTILE = Path(__file__).parent / "data" / "hostile"

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
    '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
    '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType='
    '"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    '</Types>')
_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
         'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
         'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
         'Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.'
             'openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.'
             'openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet '
             'name="Ark1" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
    'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
    'schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
    'Target="sharedStrings.xml"/></Relationships>')
_HEADER_ROW = ('<row r="1"><c r="A1" t="inlineStr"><is><t>navn</t></is></c><c r="B1" '
               't="inlineStr"><is><t>organisasjon</t></is></c><c r="C1" t="inlineStr"><is>'
               '<t>sted</t></is></c></row>')


def xlsx(sheet_data: str, dimension: str | None = "A1:C2", shared: str = "",
         extra: dict[str, bytes] | None = None) -> bytes:
    """Return a minimal workbook whose first sheet holds ``sheet_data`` (rows' XML)."""
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
             f'openxmlformats.org/spreadsheetml/2006/main">{dim}<sheetData>{sheet_data}'
             '</sheetData></worksheet>')
    strings = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.'
               f'openxmlformats.org/spreadsheetml/2006/main">{shared}</sst>')
    buffer = io.BytesIO()
    parts = {"[Content_Types].xml": _CONTENT_TYPES, "_rels/.rels": _RELS,
             "xl/workbook.xml": _WORKBOOK, "xl/_rels/workbook.xml.rels": _WORKBOOK_RELS,
             "xl/worksheets/sheet1.xml": sheet, "xl/sharedStrings.xml": strings,
             **(extra or {})}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        for name, content in parts.items():
            # A fixed date: the same workbook gives the same bytes (the test compares them).
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            book.writestr(info, content, compresslevel=9)
    return buffer.getvalue()


def _inline_row(number: int, cells: dict[str, str]) -> str:
    inner = "".join(f'<c r="{ref}{number}" t="inlineStr"><is><t>{text}</t></is></c>'
                    for ref, text in cells.items())
    return f'<row r="{number}">{inner}</row>'


def _good_row(number: int = 2) -> str:
    return _inline_row(number, {"A": "Gruppe Seljord", "B": "LMS", "C": "Seljord"})


def _meetings(*items: object) -> bytes:
    return json.dumps(list(items), ensure_ascii=False).encode("utf-8")


_MEETING = {"name": "Al-Anon Seljord", "organisation": "Al-Anon", "day": 2, "time": "19:00",
            "location": "Kirkestua", "lat": 59.4872, "lon": 8.6286}
_CSV_HEADER = "navn;organisasjon;sted\r\n"


def small_files() -> dict[str, bytes]:
    """Return the committed corpus: file name → bytes."""
    deep_types = '"types": ' + "[" * 900 + '"ONL"' + "]" * 900
    evil_names = [
        "![px](http://evil.example/p.png)", "[klikk her](javascript:alert(1))",
        "<img src=x onerror=alert(1)>", "http://evil.example/bare", "www.evil.example",
        "<script>alert(1)</script>", "**fet** _kursiv_ `kode` # overskrift",
        "[lenke](https://evil.example) <a href='https://evil.example'>a</a>",
        "mailto:ond@evil.example", "$$\\frac{1}{0}$$ :red[rød]",
    ]
    files: dict[str, bytes] = {
        # -- workbooks
        "xfd_one_cell.xlsx": xlsx(_HEADER_ROW + _inline_row(1048576, {"XFD": "x"}),
                                  dimension="A1:XFD1048576"),
        "xfd_no_dimension.xlsx": xlsx(_HEADER_ROW + _inline_row(1048576, {"XFD": "x"}),
                                      dimension=None),
        "xfd_dimension_lies.xlsx": xlsx(_HEADER_ROW + _inline_row(1048576, {"XFD": "x"}),
                                        dimension="A1:C2"),
        "dimension_only_huge.xlsx": xlsx(_HEADER_ROW + _good_row(), dimension="A1:Z1048576"),
        "rows_without_numbers.xlsx": xlsx(
            _HEADER_ROW + "<row><c><v>1</v></c></row>" * 25_000, dimension=None),
        "cells_without_numbers_wide.xlsx": xlsx(
            _HEADER_ROW + "<row>" + "<c><v>1</v></c>" * 300 + "</row>", dimension=None),
        "many_parts.xlsx": xlsx(_HEADER_ROW + _good_row(),
                                extra={f"xl/media/p{i}.bin": b"x" for i in range(300)}),
        "packed_zeros.xlsx": xlsx(_HEADER_ROW + _good_row(),
                                  extra={"xl/media/zeros.bin": bytes(20 * 1024 * 1024)}),
        "broken_zip.xlsx": b"PK\x03\x04" + b"\x14\x00" * 40 + b"not really a zip",
        "truncated.xlsx": xlsx(_HEADER_ROW + _good_row())[:700],
        "encrypted.xlsx": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
                           + "EncryptedInfo".encode("utf-16-le") + bytes(20)
                           + "EncryptedPackage".encode("utf-16-le") + bytes(1000)),
        "old_excel.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1500),
        "formula_cells.xlsx": xlsx(
            _HEADER_ROW
            + '<row r="2"><c r="A2" t="str"><f>HYPERLINK("http://evil.example","klikk")</f>'
              '<v>=HYPERLINK("http://evil.example")</v></c><c r="B2" t="inlineStr"><is><t>LMS'
              '</t></is></c><c r="C2" t="inlineStr"><is><t>Seljord</t></is></c></row>'
            + _inline_row(3, {"A": "＝1+1", "B": "LMS", "C": "Bø"}), dimension="A1:C3"),
        "good.xlsx": xlsx(_HEADER_ROW + _good_row()),
        # -- Meeting Guide JSON
        "latitude_5000_digits.json": (b'[{"name": "Gruppe", "organisation": "LMS", "lat": '
                                      + b"5" * 5000 + b', "lon": 8.6}]'),
        "longitude_huge_float.json": (b'[{"name": "Gruppe", "organisation": "LMS", "lat": '
                                      b'59.1, "lon": 1' + b"0" * 400 + b'.5e10}]'),
        "types_900_deep.json": ('[{"name": "Gruppe", "organisation": "LMS", "sted": "Bø", '
                                + deep_types + "}]").encode(),
        "nested_10000.json": b"[" * 10_000 + b"]" * 10_000,
        "day_minus_one_and_99.json": _meetings({**_MEETING, "day": -1},
                                               {**_MEETING, "day": 99, "lat": 59.49},
                                               {**_MEETING, "day": "1" + "0" * 5000,
                                                "lat": 59.48}),
        "nan_and_infinity.json": b'[{"name": "G", "organisation": "LMS", "lat": NaN, '
                                 b'"lon": Infinity}]',
        "not_a_feed.json": b'{"meetings": 5}',
        "invalid.json": b'[{"name": "Gruppe", ',
        "string_bomb_keys.json": _meetings(*({f"k{i}": "v", "name": "G", "organisation": "LMS",
                                              "sted": "Bø"} for i in range(300))),
        # -- text
        "utf16_be_no_bom.csv": (_CSV_HEADER + "Gruppe Bø;LMS;Bø\r\n").encode("utf-16-be"),
        "utf16_le_no_bom.csv": (_CSV_HEADER + "Gruppe Bø;LMS;Bø\r\n").encode("utf-16-le"),
        "windows1252.csv": (_CSV_HEADER + "Pårørende Bø;LMS;Bø\r\n").encode("cp1252"),
        "evil_markdown_names.csv": (_CSV_HEADER + "".join(
            f'"{name.replace(chr(34), chr(34) * 2)}";LMS;Seljord\r\n' for name in evil_names)
                                    ).encode("utf-8"),
        "formula_text.csv": (_CSV_HEADER + "=HYPERLINK(\"http://evil.example\");LMS;Bø\r\n"
                             "＝1+1;LMS;Bø\r\n+cmd|' /C calc'!A0;LMS;Bø\r\n@SUM(A1);LMS;Bø\r\n"
                             "－2+3;LMS;Bø\r\n").encode("utf-8"),
        "bidi_and_controls.csv": (_CSV_HEADER + "Gruppe \u202eevil\u202c\x1b[31m;LMS;Bø\r\n"
                                  ).encode("utf-8"),
        "long_cell.csv": (_CSV_HEADER + "G" * 5000 + ";LMS;Bø\r\n").encode("utf-8"),
        "many_columns.csv": (";".join(["navn", "organisasjon", "sted",
                                       *(f"x{i}" for i in range(3000))]) + "\r\n"
                             + "G;LMS;Bø\r\n").encode("utf-8"),
        "unterminated_quote.csv": (_CSV_HEADER + '"Gruppe;LMS;Bø\r\nmer;LMS;Bø\r\n').encode(),
        "empty.csv": b"",
        "whitespace.csv": b" \r\n\t\r\n",
        "header_only.csv": _CSV_HEADER.encode(),
        "binary.csv": bytes(range(256)) * 8,
        "web_page.csv": b"<!DOCTYPE html><html><body>Ikke en liste</body></html>",
        "no_name_column.csv": b"a;b;c\r\n1;2;3\r\n",
    }
    return files


def write_big(folder: Path) -> dict[str, Path]:
    """Write the big files of the corpus into ``folder``; return name → path."""
    from tilbudskart import importers

    folder.mkdir(parents=True, exist_ok=True)
    files = {
        # 20 000 rows with one cell in column XFD (292 kB; 10 GiB for a reader)
        "xfd_column_20000_rows.xlsx": xlsx(
            _HEADER_ROW + "".join(_inline_row(n, {"XFD": "x"}) for n in range(2, 20_002)),
            dimension=None),
        # one shared string that unpacks to 1 GiB from about 1 MB
        "shared_string_bomb.xlsx": _string_bomb(),
        # 7.5 million rows (a few MB; 195 MB unpacked), and as empty rows (45 MB unpacked)
        "rows_7_5_million.xlsx": _many_rows(7_500_000),
        "empty_rows_7_5_million.xlsx": _many_rows(7_500_000, b"<row/>"),
        "too_big.csv": (_CSV_HEADER + "G;LMS;Bø\r\n" * (importers.MAX_BYTES // 9 + 10)
                        ).encode(),
        "rows_20001.csv": (_CSV_HEADER + "G;LMS;Bø\r\n" * 20_001).encode(),
        "meetings_20001.json": _meetings(*([{"name": "G", "organisation": "LMS"}] * 20_001)),
    }
    paths = {}
    for name, content in files.items():
        path = folder / name
        path.write_bytes(content)
        paths[name] = path
    return paths


def _string_bomb() -> bytes:
    """A workbook whose one shared string is 1 GiB of 'a' (streamed into the zip)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        book.writestr("[Content_Types].xml", _CONTENT_TYPES)
        book.writestr("_rels/.rels", _RELS)
        book.writestr("xl/workbook.xml", _WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        book.writestr("xl/worksheets/sheet1.xml", xlsx_sheet(
            _HEADER_ROW + '<row r="2"><c r="A2" t="s"><v>0</v></c></row>'))
        with book.open("xl/sharedStrings.xml", "w", force_zip64=True) as stream:
            stream.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                         b'main"><si><t>')
            block = b"a" * (16 * 1024 * 1024)
            for _ in range(64):
                stream.write(block)
            stream.write(b"</t></si></sst>")
    return buffer.getvalue()


def _many_rows(count: int, row: bytes = b"<row><c><v>1</v></c></row>") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        book.writestr("[Content_Types].xml", _CONTENT_TYPES)
        book.writestr("_rels/.rels", _RELS)
        book.writestr("xl/workbook.xml", _WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as stream:
            stream.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                         b'2006/main"><sheetData>' + _HEADER_ROW.encode())
            chunk = row * 100_000
            for _ in range(count // 100_000):
                stream.write(chunk)
            stream.write(b"</sheetData></worksheet>")
    return buffer.getvalue()


def xlsx_sheet(sheet_data: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
            f'openxmlformats.org/spreadsheetml/2006/main"><sheetData>{sheet_data}'
            '</sheetData></worksheet>')


if __name__ == "__main__":
    HOSTILE.mkdir(parents=True, exist_ok=True)
    for name, content in small_files().items():
        (HOSTILE / name).write_bytes(content)
        print(f"{name}: {len(content)} bytes")
