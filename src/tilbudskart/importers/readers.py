"""Readers: a list's bytes (CSV in any encoding, .xlsx, Meeting Guide JSON) into rows, in limits."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tilbudskart.importers.columns import DAYS_NB
from tilbudskart.importers.problems import ImportFileError

#: Largest file read (bytes): 5 MB.
MAX_BYTES = 5 * 1024 * 1024
#: Most data rows read from one list.
MAX_ROWS = 20_000
#: Longest cell (characters).
MAX_CELL_CHARS = 500
#: Most columns a list may have (a sheet referring to a column beyond it is refused).
MAX_COLUMNS = 200
#: Most cells on a sheet (rows times columns of its extent, and cells written).
MAX_CELLS = 1_000_000
#: Most members of an .xlsx zip (a workbook has a dozen or two).
MAX_ZIP_MEMBERS = 200
#: Most bytes an .xlsx unpacks to (all members together).
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
#: Highest compression ratio of one .xlsx member (beyond it the file is a zip bomb).
MAX_ZIP_RATIO = 200
#: Deepest nesting of a JSON list (a Meeting Guide feed needs four levels).
MAX_JSON_DEPTH = 32
#: Longest number in a JSON list (characters); longer ones are kept as text and reported.
MAX_NUMBER_CHARS = 40

_SEPARATORS = (",", ";", "\t")


@dataclass
class _Table:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (spreadsheet row, cells)
    format: str
    encoding: str = ""
    separator: str = ""


def _decode(data: bytes, file: str) -> tuple[str, str]:
    """Return the text and the encoding's name (UTF-8, UTF-16 or Windows-1252)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as exc:
            raise ImportFileError(file, None, None, f"not UTF-16 text ({exc.reason})") from None
    utf16 = _utf16_without_bom(data[:4096])
    if utf16:
        try:
            return data.decode(utf16), "UTF-16 (no byte-order mark)"
        except UnicodeDecodeError as exc:
            raise ImportFileError(file, None, None, f"not UTF-16 text ({exc.reason})") from None
    if b"\x00" in data[:4096]:
        raise ImportFileError(file, None, None, "not a text file (binary data); save the list "
                                                "as CSV (UTF-8 or semicolon-separated), .xlsx "
                                                "or Meeting Guide JSON")
    try:
        text = data.decode("utf-8-sig")
        return text, "UTF-8 with BOM" if data.startswith(b"\xef\xbb\xbf") else "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "ISO-8859-1"


def _utf16_without_bom(head: bytes) -> str | None:
    """Return ``"utf-16-be"``/``"utf-16-le"`` if text looks like UTF-16 without a BOM.

    Norwegian text in UTF-16 has a zero byte in (nearly) every other place: before each
    character in big-endian, after it in little-endian.
    """
    head = head[: len(head) // 2 * 2]
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    share_even, share_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if share_even > 0.7 and share_odd < 0.1:
        return "utf-16-be"
    if share_odd > 0.7 and share_even < 0.1:
        return "utf-16-le"
    return None


def _separator(header_line: str) -> str:
    """Return the separator most frequent in the header line (``,`` on a tie)."""
    counts = {sep: header_line.count(sep) for sep in _SEPARATORS}
    best = max(_SEPARATORS, key=lambda sep: (counts[sep], sep == ","))
    return best if counts[best] else ","


def _header_and_rows(records: Iterable[list[str]],
                     ) -> tuple[list[str] | None, list[tuple[int, list[str]]]]:
    """Split records into the header and numbered rows, as the spreadsheet numbers them.

    Blank records are skipped (their numbers stay counted); reading stops one row past
    :data:`MAX_ROWS`, so the caller can say the list is too long.
    """
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    for number, record in enumerate(records, start=1):
        if not any(cell.strip() for cell in record):
            continue
        if header is None:
            header = record
            continue
        rows.append((number, record))
        if len(rows) > MAX_ROWS:
            break
    return header, rows


def _read_csv(text: str, encoding: str, file: str) -> _Table:
    text = text.replace("\x00", "")
    first = next((line for line in text.splitlines() if line.strip()), "")
    sep = _separator(first)
    csv.field_size_limit(max(csv.field_size_limit(), MAX_BYTES + 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        header, rows = _header_and_rows(reader)
    except csv.Error as exc:
        raise ImportFileError(file, reader.line_num, None,
                              f"not a readable CSV file ({exc})") from None
    if header is None:
        raise ImportFileError(file, None, None, "empty file (no header and no rows)")
    return _Table(header, rows, "csv", encoding, sep)


def _cell(value: object) -> str:
    """Return a workbook cell as text (whole numbers without ``.0``, times as HH:MM)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nei"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, (dt.date, dt.timedelta)):
        return str(value)
    return str(value)


_XML_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"\$?([A-Z]{1,4})\$?(\d{1,9})"
                            rb"(?::\$?([A-Z]{1,4})\$?(\d{1,9}))?")
_XML_CELL = re.compile(rb"<(?:\w+:)?c[\s>/]")
_XML_CELL_REF = re.compile(rb"<(?:\w+:)?c\s[^>]*?\br=\"([A-Z]{1,4})(\d{1,9})\"")
_XML_ROW = re.compile(rb"<(?:\w+:)?row[\s>/]")
_XML_ROW_REF = re.compile(rb"<(?:\w+:)?row\s[^>]*?\br=\"(\d{1,9})\"")


def _column_number(letters: bytes) -> int:
    """Return a column's number from its letters (``A`` → 1, ``XFD`` → 16384)."""
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _column_letters(number: int) -> str:
    """Return a column's letters from its number (1 → ``A``, 16384 → ``XFD``)."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _check_extent(file: str, rows: int, columns: int, what: str) -> None:
    """Refuse a sheet whose extent (``what``: "reaches" or "says it reaches") is too big."""
    cell = f"{_column_letters(max(columns, 1))}{rows}"
    if columns > MAX_COLUMNS:
        raise ImportFileError(file, None, None, f"the sheet {what} cell {cell} (column "
                                                f"{columns}); at most {MAX_COLUMNS} columns "
                                                f"are read")
    if rows > MAX_ROWS + 1 + 100:
        raise ImportFileError(file, None, None, f"{rows} rows on the first sheet; at most "
                                                f"{MAX_ROWS} are read")
    if rows * columns > MAX_CELLS:
        raise ImportFileError(file, None, None, f"the sheet {what} cell {cell} "
                                                f"({rows * columns} cells); at most "
                                                f"{MAX_CELLS} cells are read")


def check_xlsx(data: bytes, file: str) -> None:
    """Refuse a workbook that would take too much to read, before any spreadsheet reader.

    Only the zip directory and the worksheets' XML are looked at, streamed in pieces: the
    members (at most :data:`MAX_ZIP_MEMBERS`, :data:`MAX_UNPACKED_BYTES` unpacked, no
    member packed more than :data:`MAX_ZIP_RATIO` times), and for every worksheet its
    ``dimension`` and the largest row and column its cells and rows refer to (at most
    :data:`MAX_ROWS` rows, :data:`MAX_COLUMNS` columns, :data:`MAX_CELLS` cells). One
    cell at ``XFD1048576`` makes a reader lay out 17 billion cells: it is refused here.

    Raises
    ------
    ImportFileError
        Past a limit, or not a readable zip.

    """
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        members = book.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ImportFileError(file, None, None, "not a readable .xlsx workbook") from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise ImportFileError(file, None, None, f"the workbook has {len(members)} parts; at "
                                                f"most {MAX_ZIP_MEMBERS}")
    unpacked = sum(m.file_size for m in members)
    if unpacked > MAX_UNPACKED_BYTES:
        raise ImportFileError(file, None, None, f"the workbook unpacks to "
                                                f"{unpacked / 1e6:.0f} MB; at most "
                                                f"{MAX_UNPACKED_BYTES / 1024 / 1024:.0f} MB")
    for member in members:
        if member.file_size > 1024 * 1024 and (
                member.file_size > MAX_ZIP_RATIO * max(member.compress_size, 1)):
            ratio = member.file_size // max(member.compress_size, 1)
            raise ImportFileError(file, None, None, f"a part of the workbook unpacks to "
                                                    f"{ratio} times its size; at most "
                                                    f"{MAX_ZIP_RATIO}")
    sheets = [m for m in members if m.filename.startswith("xl/worksheets/")
              and m.filename.endswith(".xml")]
    try:
        for sheet in sheets:
            _check_sheet_xml(book, sheet, file)
    except ImportFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError,
            OSError, RuntimeError, ValueError):
        raise ImportFileError(file, None, None, "not a readable .xlsx workbook") from None


def _check_sheet_xml(book: zipfile.ZipFile, member: zipfile.ZipInfo, file: str) -> None:
    """Stream one worksheet's XML (1 MiB at a time) and check how far it reaches."""
    max_row = max_column = rows = cells = 0
    tail = b""
    seen = 0
    with book.open(member) as stream:
        while chunk := stream.read(1024 * 1024):
            seen += len(chunk)
            if seen > MAX_UNPACKED_BYTES:  # the zip directory understated the size
                raise ImportFileError(file, None, None, f"the workbook unpacks to more than "
                                                        f"{MAX_UNPACKED_BYTES // 2**20} MB")
            text = tail + chunk
            # Only whole tags are counted here; a tag cut at the end waits for the next piece.
            cut = text.rfind(b"<")
            whole, tail = (text[:cut], text[cut:]) if cut > 0 and len(text) - cut < 4096 \
                else (text, b"")
            if seen == len(chunk):  # the dimension comes first, in the first piece
                dimension = _XML_DIMENSION.search(whole)
                if dimension:
                    last_column = dimension.group(3) or dimension.group(1)
                    last_row = dimension.group(4) or dimension.group(2)
                    _check_extent(file, int(last_row), _column_number(last_column),
                                  "says it reaches")
            for match in _XML_CELL_REF.finditer(whole):
                max_column = max(max_column, _column_number(match.group(1)))
                max_row = max(max_row, int(match.group(2)))
            for match in _XML_ROW_REF.finditer(whole):
                max_row = max(max_row, int(match.group(1)))
            rows += len(_XML_ROW.findall(whole))
            cells += len(_XML_CELL.findall(whole))
            _check_extent(file, max(max_row, rows), max_column, "reaches")
            if cells > MAX_CELLS:
                raise ImportFileError(file, None, None, f"more than {MAX_CELLS} cells on the "
                                                        f"sheet; at most {MAX_CELLS} are read")


def _read_xlsx(data: bytes, file: str) -> _Table:
    from python_calamine import CalamineWorkbook

    check_xlsx(data, file)

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        if not book.sheet_names:
            raise ImportFileError(file, None, None, "the workbook has no sheets")
        sheet = book.get_sheet_by_index(0)
        if sheet.total_height > MAX_ROWS + 1 + 100:
            raise ImportFileError(file, None, None, f"{sheet.total_height} rows on the first "
                                                    f"sheet; at most {MAX_ROWS} are read")
        values = sheet.to_python(skip_empty_area=False)
    except ImportFileError:
        raise
    except Exception as exc:  # calamine raises its own error types for broken workbooks
        raise ImportFileError(file, None, None,
                              f"not a readable .xlsx workbook ({type(exc).__name__})") from None
    header, rows = _header_and_rows([_cell(v) for v in record] for record in values)
    if header is None:
        raise ImportFileError(file, None, None, "the first sheet is empty")
    return _Table(header, rows, "xlsx")


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def json_depth(text: str) -> int:
    """Return how deep lists and objects nest in JSON text (strings skipped), cheaply.

    Counted without parsing, so a file nested 10 000 deep is measured, not recursed into.
    """
    import numpy as np

    bare = _JSON_STRING.sub("", text).encode("utf-8", "replace")
    codes = np.frombuffer(bare, dtype=np.uint8)
    steps = (np.isin(codes, (ord("["), ord("{"))).astype(np.int32)
             - np.isin(codes, (ord("]"), ord("}"))).astype(np.int32))
    return int(np.cumsum(steps).max()) if len(steps) else 0


def _json_number(kind: type) -> Any:
    """Return a JSON number parser that keeps numbers longer than the limit as text."""
    def parse(text: str) -> object:
        return kind(text) if len(text) <= MAX_NUMBER_CHARS else text
    return parse


def _read_json(text: str, encoding: str, file: str) -> _Table:
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise ImportFileError(file, None, None, f"JSON nested {depth} levels deep; at most "
                                                f"{MAX_JSON_DEPTH}")
    try:
        # Numbers longer than MAX_NUMBER_CHARS stay text, so the row check names row and
        # field (and int() never meets 5 000 digits).
        payload = json.loads(text, parse_int=_json_number(int),
                             parse_float=_json_number(float))
    except (json.JSONDecodeError, RecursionError, ValueError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(
            exc, json.JSONDecodeError) else ""
        raise ImportFileError(file, None, None, f"not valid JSON{where}") from None
    if isinstance(payload, dict):
        payload = payload.get("meetings", payload.get("data"))
    if not isinstance(payload, list):
        raise ImportFileError(file, None, None, "not a Meeting Guide feed (expected a list of "
                                                "meetings)")
    if len(payload) > MAX_ROWS:
        raise ImportFileError(file, None, None, f"{len(payload)} meetings; at most {MAX_ROWS}")
    keys: dict[str, None] = {}
    for item in payload:
        if isinstance(item, dict):
            keys.update(dict.fromkeys(str(k) for k in item))
    header = list(keys)
    rows: list[tuple[int, list[str]]] = []
    for number, item in enumerate(payload, start=1):
        if not isinstance(item, dict):
            rows.append((number, ["\x00not-an-object"]))
            continue
        rows.append((number, [_json_cell(key, item.get(key)) for key in header]))
    return _Table(header, rows, "meeting-guide", encoding)


def _json_cell(key: str, value: object) -> str:
    if value is None:
        return ""
    if key == "day":
        days = value if isinstance(value, list) else [value]
        names = []
        for day in days:
            text = str(day).strip()
            if re.fullmatch(r"[0-6]", text):
                names.append(DAYS_NB[int(text)])
            else:
                names.append(text)
        return ", ".join(names)
    if isinstance(value, list):
        return ";".join(_json_cell("", v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return _cell(value) if value.is_integer() else repr(value)
    return str(value)


def read_table(data: bytes, file: str) -> tuple[list[str], list[tuple[int, list[str]]], str,
                                                 str, str]:
    """Read a list's bytes into a header and rows, whatever the format.

    Parameters
    ----------
    data : bytes
        The file's content.
    file : str
        Its name (for messages).

    Returns
    -------
    tuple
        ``(header, rows, format, encoding, separator)``; each row is
        ``(spreadsheet row number, cells)``.

    Raises
    ------
    ImportFileError
        Empty, too big, too many rows, or not a table.

    """
    if not data.strip():
        raise ImportFileError(file, None, None, "empty file")
    if len(data) > MAX_BYTES:
        raise ImportFileError(file, None, None, f"file too big ({len(data) / 1e6:.1f} MB; at "
                                                f"most {MAX_BYTES / 1024 / 1024:.0f} MB)")
    if data.startswith(b"PK\x03\x04"):
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise ImportFileError(file, None, None, "not a readable .xlsx workbook")
        table = _read_xlsx(data, file)
    elif data.startswith(b"\xd0\xcf\x11\xe0") and "EncryptedPackage".encode(
            "utf-16-le") in data:
        raise ImportFileError(file, None, None, "an encrypted workbook (it has a password): "
                                                "save it without a password")
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(file, None, None, "an old Excel file (.xls): save it as .xlsx or "
                                                "CSV")
    else:
        text, encoding = _decode(data, file)
        stripped = text.lstrip()
        if stripped.startswith(("[", "{")):
            table = _read_json(text, encoding, file)
        elif stripped[:200].lower().startswith(("<!doctype", "<html", "<?xml")):
            raise ImportFileError(file, None, None, "a web page or XML, not a list (CSV, .xlsx "
                                                    "or Meeting Guide JSON)")
        else:
            table = _read_csv(text, encoding, file)
    if len(table.rows) > MAX_ROWS:
        raise ImportFileError(file, None, None, f"more than {MAX_ROWS} rows; split the list")
    return table.header, table.rows, table.format, table.encoding, table.separator
