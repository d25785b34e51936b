"""Today's lists from the organisations: CSV, Excel and Meeting Guide JSON, every row checked.

An organisation keeps its groups in whatever it has: a CSV saved from Norwegian Excel
(``;``-separated, Windows-1252), a UTF-8 CSV (with or without a byte-order mark), an
``.xlsx`` workbook, or the Meeting Guide JSON feed that meeting-list sites publish. This
module reads all of them from bytes (so the app can import an upload without writing it to
disk) and brings them into registry form (:mod:`tilbudskart.registry`).

- **Format** is recognised from the content (a zip is a workbook, ``[``/``{`` is JSON,
  anything else text); the encoding (UTF-8, UTF-16 with BOM, else Windows-1252) and the
  separator (``,``, ``;`` or tab, the most frequent in the header line) are detected and
  reported.
- **Columns** may be named in Norwegian or English (``navn``/``name``,
  ``organisasjon``/``organisation``, ``postnummer``/``postcode``, ``sted``/``place``,
  ``fylke``/``county``, ``telefon``/``phone``, ``e-post``/``email``, ``møtedag``,
  ``møtetid``/``klokkeslett``/``tidspunkt``, ``nettside`` …; see :data:`COLUMN_NAMES`),
  and every field of the Meeting Guide spec is known: contacts and notes are kept in the
  group's note (:data:`NOTE_COLUMNS`), alternatives fill in for each other
  (:data:`ALTERNATIVE_COLUMNS`), the rest is not used (:data:`UNUSED_COLUMNS`). A list
  without an organisation column takes the one given.
- **Every row is accounted for.** All problems of all rows are collected (spreadsheet row
  number, field, value, why) in a report; rows with an error are left out, rows with only
  warnings are used. A problem with the file itself (empty, too big, not a table, a
  required column missing) raises :class:`ImportFileError`.
- **Limits**: :data:`MAX_BYTES`, :data:`MAX_ROWS`, :data:`MAX_CELL_CHARS`.
- **Ids** that the list does not give are made from the file name, a hash of its bytes and
  the row number, so several lists never collide.
- **Online meetings** (``attendance``/``attendance_option``/``format``/``møteform`` online,
  or a ``conference_url`` without a place) get ``attendance`` ``online`` or ``hybrid``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tilbudskart import csvsafe, geocode, registry, settings

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

#: Columns of an import report, in order.
REPORT_COLUMNS: tuple[str, ...] = ("file", "row", "field", "value", "problem", "severity",
                                   "problem_nb")

#: Severity of a problem: ``error`` (the row is not used) or ``warning`` (it is).
ERROR, WARNING = "error", "warning"

#: How a column may be named (folded: lower case, separators as ``_``) → registry field.
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "id": ("id", "nr", "gruppe_id", "group_id"),
    "name": ("name", "navn", "gruppe", "gruppenavn", "group", "group_name", "meeting",
             "meeting_name", "mote", "møte", "tilbud_navn", "title", "tittel"),
    "organisation": ("organisation", "organization", "organisasjon", "org", "forening",
                     "forbund"),
    "group_type": ("group_type", "gruppetype", "type_gruppe"),
    "kind": ("kind",),
    "place": ("place", "sted", "by", "city", "town", "kommune", "municipality", "poststed",
              "tettsted", "locality"),
    "address": ("address", "adresse", "gateadresse", "besoksadresse", "besøksadresse",
                "street", "formatted_address"),
    "postcode": ("postcode", "postnummer", "postnr", "post_nr", "postal_code", "zip",
                 "zipcode", "zip_code", "post_code"),
    "county": ("county", "fylke", "region", "state", "landsdel"),
    "health_region": ("health_region", "helseregion"),
    "ownership": ("ownership", "eierskap", "eier"),
    "offer": ("offer", "tilbud"),
    "age_groups": ("age_groups", "aldersgruppe", "aldersgrupper", "alder", "age"),
    "phone": ("phone", "telefon", "tlf", "telefonnummer", "mobil", "telephone",
              "conference_phone"),
    "email": ("email", "e_post", "epost", "e_mail", "mail"),
    "source": ("source", "kilde"),
    "year": ("year", "år", "aar"),
    "note": ("note", "notes", "merknad", "merknader", "kommentar", "notat", "beskrivelse",
             "description"),
    "attendance": ("attendance", "attendance_option", "format", "møteform", "moteform",
                   "oppmøte", "oppmote", "digitalt"),
    "url": ("url", "conference_url", "lenke", "nettside", "website", "web", "link",
            "møtelenke"),
    "lat": ("lat", "latitude", "breddegrad", "y"),
    "lon": ("lon", "lng", "long", "longitude", "lengdegrad", "x"),
    "day": ("day", "dag", "ukedag", "weekday", "møtedag", "motedag"),
    "time": ("time", "tid", "klokkeslett", "start", "start_time", "møtetid", "motetid",
             "tidspunkt", "møtetidspunkt", "motetidspunkt"),
    "end_time": ("end_time", "sluttid", "slutt", "slutter"),
    "slug": ("slug",),
    "location": ("location", "lokale", "location_name", "venue"),
    "types": ("types",),
}

#: Columns kept in the group's note, under a Norwegian label (folded name → label): the
#: Meeting Guide spec's notes and contacts, and Norwegian "Kontakt"/"Kontaktperson".
NOTE_COLUMNS: dict[str, str] = {
    "kontakt": "Kontakt", "kontaktperson": "Kontakt", "contact": "Kontakt",
    **{f"contact_{n}_{part}": "Kontakt" for n in (1, 2, 3) for part in ("name", "email",
                                                                        "phone")},
    "group": "Gruppe", "group_notes": "Om gruppa", "location_notes": "Om lokalet",
    "conference_url_notes": "Om nettmøtet", "conference_phone_notes": "Om telefonmøtet",
    "entity": "Ansvarlig", "entity_phone": "Ansvarlig (telefon)",
    "entity_email": "Ansvarlig (e-post)",
}

#: Meeting Guide fields that are recognised but not used (no warning): what a map of
#: help in Norway has no place for (time zone, payment handles, editing links …).
UNUSED_COLUMNS: frozenset[str] = frozenset({
    "timezone", "updated", "approximate", "edit_url", "feedback_url", "venmo", "square",
    "paypal", "entity_feedback_emails", "entity_location", "entity_logo", "entity_url",
    "entity_website_url", "region", "sub_region", "regions", "country", "district",
    "district_url", "feedback_emails", "location_url",
})

#: Meeting Guide fields that say the same as another column of the same field (an address
#: and a formatted address, a meeting page and a meeting link …): the first non-empty of
#: them is used, without a warning.
ALTERNATIVE_COLUMNS: frozenset[str] = frozenset({
    "formatted_address", "region", "state", "conference_url", "conference_phone",
    "website", "url", "city",
})

#: Organisation names people write → organisation id (folded: letters and digits only).
ORGANISATION_NAMES: dict[str, str] = {
    "landsforbundetmotstoffmisbruk": "lms", "alanonalateenvba": "al_anon",
    "alanon": "al_anon", "alateen": "al_anon", "vba": "al_anon",
    "alanonfamiliegrupper": "al_anon", "familieklubb": "familieklubbene",
    "familieklubbeneinorge": "familieklubbene", "rusnett": "rus_nett",
    "adultchildrenofalcoholics": "aca", "institusjon": "institution",
    "behandlingsinstitusjon": "institution",
}

#: Attendance words → ``physical``, ``online`` or ``hybrid`` (folded, letters only).
ATTENDANCE_WORDS: dict[str, str] = {
    "physical": "physical", "inperson": "physical", "fysisk": "physical",
    "fysiske": "physical", "oppmøte": "physical", "oppmote": "physical", "ja": "physical",
    "online": "online", "nett": "online", "pånett": "online", "panett": "online",
    "digital": "online", "digitalt": "online", "video": "online", "zoom": "online",
    "teams": "online", "telefon": "online", "phone": "online", "telefonmøte": "online",
    "nettmøte": "online", "hybrid": "hybrid", "beggedeler": "hybrid", "begge": "hybrid",
}

#: Meeting Guide's days (0 = Sunday) in Norwegian.
DAYS_NB = ("søndag", "mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag")

#: Registry field → the Norwegian column name people know it by (for the app's report).
FIELD_NB: dict[str, str] = {
    "id": "id", "name": "navn", "organisation": "organisasjon", "kind": "type",
    "place": "sted", "address": "adresse", "postcode": "postnummer", "county": "fylke",
    "phone": "telefon", "email": "e-post", "year": "år", "note": "merknad",
    "attendance": "møteform", "url": "lenke", "lat": "breddegrad", "lon": "lengdegrad",
}

#: Template columns (Norwegian headers) → registry field.
TEMPLATE_COLUMNS: dict[str, str] = {
    "navn": "name", "organisasjon": "organisation", "sted": "place", "adresse": "address",
    "postnummer": "postcode", "fylke": "county", "telefon": "phone", "e-post": "email",
    "møteform": "attendance", "lenke": "url", "merknad": "note",
}

_SEPARATORS = (",", ";", "\t")
_ID = re.compile(r"[a-z0-9][a-z0-9_-]*")


class ImportFileError(registry.RegistryError):
    """A list cannot be read at all; the message names the file and, if any, the field.

    ``reason`` is the message without the place; :func:`norwegian` translates it.
    """

    def __init__(self, file: str | Path, row: int | None, field: str | None, message: str):
        self.reason = message
        super().__init__(file, row, field, message)


#: English problem messages (regular expressions, matched whole) → Norwegian, for the app
#: and the ``problem_nb`` column of the report. Every message this module and the pipeline
#: write has a row here (the fuzz test checks it).
NORWEGIAN: tuple[tuple[str, str], ...] = (
    (r"column not used \(unknown name\)", "kolonnen brukes ikke (ukjent navn)"),
    (r"second column for '(.*)'; the first is used", r"en kolonne til for «\1»; den første "
                                                      r"brukes"),
    (r"not a meeting \(expected an object\)", "ikke et møte (ventet et objekt)"),
    (r"(\d+) cells beyond the header's (\d+) columns \(a separator in a cell without "
     r"quotes\?\)", r"\1 celler utenfor overskriftens \2 kolonner (skilletegn i en celle "
                    r"uten anførselstegn?)"),
    (r"duplicate id \(first on row (\d+)\)", r"id-en finnes fra før (først på rad \1)"),
    (r"cell too long \((\d+) characters; at most (\d+)\)",
     r"cellen er for lang (\1 tegn; høyst \2)"),
    (r"empty: every group needs a name", "tom: hver gruppe trenger et navn"),
    (r"unknown organisation '(.*)' \(known: (.*)\)", r"ukjent organisasjon «\1» (kjente: \2)"),
    (r"unknown organisation \(known: (.*)\)", r"ukjent organisasjon (kjente: \1)"),
    (r"empty, and no organisation chosen for the list",
     "tom, og ingen organisasjon er valgt for lista"),
    (r"does not fit organisation '(.*)' \(expected '(.*)'\)",
     r"passer ikke til organisasjonen «\1» (ventet «\2»)"),
    (r"not a valid id .*", "ikke en gyldig id (bokstavene a–z, sifre, «-» og «_»)"),
    (r"three digits: a leading zero was restored \(spreadsheets drop it\)",
     "tre sifre: nullen foran er satt inn igjen (regneark fjerner den)"),
    (r"not a postcode \(four digits\)", "ikke et postnummer (fire sifre)"),
    (r"not in the postcode register; the place is used instead",
     "finnes ikke i postnummerregisteret; stedet brukes i stedet"),
    (r"not in the postcode register", "finnes ikke i postnummerregisteret"),
    (r"no place, postcode or coordinates .*", "mangler sted, postnummer og koordinater (et "
                                              "nettmøte trenger møteform «nett» eller en lenke)"),
    (r"not a year", "ikke et årstall"),
    (r"missing: give both latitude and longitude",
     "mangler: oppgi både breddegrad og lengdegrad"),
    (r"not a number", "ikke et tall"),
    (r"coordinates 0, 0 are a missing value, not a place",
     "koordinatene 0, 0 er en manglende verdi, ikke et sted"),
    (r"outside Norway \(latitude (.*)\)", r"utenfor Norge (breddegrad \1)"),
    (r"outside Norway \(longitude (.*)\)", r"utenfor Norge (lengdegrad \1)"),
    (r"the meeting is inactive", "møtet holdes ikke lenger"),
    (r"not understood \(fysisk, nett or hybrid\)", "ikke forstått (fysisk, nett eller hybrid)"),
    (r"not placed \((.*)\); listed in unresolved.csv",
     r"ikke plassert på kartet (\1); står i unresolved.csv"),
    (r"looks like the same group as (.*) \((.*), row (.*)\): same organisation and place; "
     r"left out \(keep it to count it\)",
     r"ser ut som samme gruppe som \1 (\2, rad \3): samme organisasjon og sted; ikke tatt "
     r"med (velg «Behold dubletter» for å telle den)"),
    (r"looks like the same group as (.*) \((.*), row (.*)\): same organisation and place",
     r"ser ut som samme gruppe som \1 (\2, rad \3): samme organisasjon og sted"),
    (r"looks like the same group as (.*) in the 2007 registry: same organisation and "
     r"kommune; left out \(keep it to count it\)",
     r"ser ut som samme gruppe som \1 i registeret fra 2007: samme organisasjon og kommune; "
     r"ikke tatt med (velg «Behold dubletter» for å telle den)"),
    (r"looks like the same group as (.*) in the 2007 registry: same organisation and "
     r"kommune", r"ser ut som samme gruppe som \1 i registeret fra 2007: samme organisasjon "
                 r"og kommune"),
    (r"id already used by the registry or an earlier list",
     "id-en er allerede brukt i registeret eller i en tidligere liste"),
    (r"empty file.*", "tom fil"),
    (r"header only: the list has no rows", "bare overskrifter: lista har ingen rader"),
    (r"file too big \((.*) MB; at most (\d+) MB\)", r"fila er for stor (\1 MB; høyst \2 MB)"),
    (r"more than (\d+) rows; split the list", r"mer enn \1 rader; del opp lista"),
    (r"(\d+) rows on the first sheet; at most (\d+) are read",
     r"\1 rader i det første arket; høyst \2 leses"),
    (r"(\d+) meetings; at most (\d+)", r"\1 møter; høyst \2"),
    (r"not a text file .*", "ikke en tekstfil (binære data); lagre lista som CSV (UTF-8 eller "
                            "semikolonseparert), .xlsx eller Meeting Guide JSON"),
    (r"not UTF-16 text .*", "ikke UTF-16-tekst"),
    (r"not a readable CSV file \((.*)\)", r"ikke en lesbar CSV-fil (\1)"),
    (r"not a readable \.xlsx workbook.*", "ikke et lesbart Excel-ark (.xlsx)"),
    (r"the workbook has no sheets", "arbeidsboka har ingen ark"),
    (r"the first sheet is empty", "det første arket er tomt"),
    (r"not valid JSON \(line (\d+), column (\d+)\)", r"ikke gyldig JSON (linje \1, tegn \2)"),
    (r"not valid JSON", "ikke gyldig JSON"),
    (r"not a Meeting Guide feed .*", "ikke en Meeting Guide-liste (ventet en liste med møter)"),
    (r"an old Excel file .*", "en gammel Excel-fil (.xls): lagre den som .xlsx eller CSV"),
    (r"a web page or XML.*", "en nettside eller XML, ikke en liste (CSV, .xlsx eller "
                             "Meeting Guide JSON)"),
    (r"required column missing: navn/name; the header has (.*) \(the header is one column: "
     r"is the separator right\?\)", r"kolonnen navn/name mangler; overskriftene er \1 "
                                     r"(overskriften er én kolonne: er skilletegnet riktig?)"),
    (r"required column missing: navn/name; the header has (.*)",
     r"kolonnen navn/name mangler; overskriftene er \1"),
    (r"required column missing: organisasjon/organisation.*",
     "kolonnen organisasjon/organisation mangler; legg den til, eller velg organisasjonen "
     "for hele lista"),
    (r"the sheet (says it reaches|reaches) cell (\w+) \(column (\d+)\); at most (\d+) "
     r"columns are read", r"arket når til celle \2 (kolonne \3); høyst \4 kolonner leses"),
    (r"the sheet (says it reaches|reaches) cell (\w+) \((\d+) cells\); at most (\d+) cells "
     r"are read", r"arket når til celle \2 (\3 celler); høyst \4 celler leses"),
    (r"more than (\d+) cells on the sheet; at most (\d+) are read",
     r"mer enn \1 celler i arket; høyst \2 leses"),
    (r"the workbook has (\d+) parts; at most (\d+)",
     r"arbeidsboka har \1 deler; høyst \2"),
    (r"the workbook unpacks to (.*) MB; at most (\d+) MB",
     r"arbeidsboka pakkes ut til \1 MB; høyst \2 MB"),
    (r"the workbook unpacks to more than (\d+) MB",
     r"arbeidsboka pakkes ut til mer enn \1 MB"),
    (r"a part of the workbook unpacks to (\d+) times its size; at most (\d+)",
     r"en del av arbeidsboka pakkes ut til \1 ganger sin størrelse; høyst \2"),
    (r"an encrypted workbook .*", "en kryptert arbeidsbok (den har passord): lagre den uten "
                                  "passord"),
    (r"JSON nested (\d+) levels deep; at most (\d+)",
     r"JSON nøstet \1 nivåer dypt; høyst \2"),
    (r"not a day \(0-6, 0 = Sunday\); left out",
     "ikke en ukedag (0–6, 0 = søndag); utelatt"),
    (r"the file could not be read safely \(the reader stopped: .*\); the file is refused",
     "fila kunne ikke leses trygt (leseren stoppet); fila avvises"),
    (r"reading the file took more than (\d+) s; the file is refused",
     r"det tok mer enn \1 sekunder å lese fila; fila avvises"),
    (r"a folder, not a file", "en mappe, ikke en fil"),
    (r"file not found", "fila finnes ikke"),
    (r"cannot be read \((.*)\)", r"kan ikke leses (\1)"),
)

_NORWEGIAN = [(re.compile(pattern, re.DOTALL), text) for pattern, text in NORWEGIAN]


def norwegian(message: str) -> str | None:
    """Return a problem message in Norwegian (``None`` if it has no translation)."""
    for pattern, text in _NORWEGIAN:
        match = pattern.fullmatch(message)
        if match:
            return match.expand(text)
    return None


@dataclass
class ImportResult:
    """One list read and checked.

    Attributes
    ----------
    file : str
        The list's file name (as shown in messages and ``source``).
    format : str
        ``"csv"``, ``"xlsx"`` or ``"meeting-guide"``.
    encoding, separator : str
        What was detected ("" where it does not apply).
    rows_read : int
        Data rows in the file (empty rows not counted).
    services : pandas.DataFrame
        The rows used, in registry form (:func:`tilbudskart.registry.validate`), with
        ``registry_file`` and ``source_row`` (the spreadsheet row).
    report : pandas.DataFrame
        Every problem (:data:`REPORT_COLUMNS`).

    """

    file: str
    format: str
    encoding: str
    separator: str
    rows_read: int
    services: pd.DataFrame
    report: pd.DataFrame = field(default_factory=lambda: empty_report())

    @property
    def rejected(self) -> int:
        """Rows not used (they had at least one error)."""
        return self.rows_read - len(self.services)

    def describe(self) -> str:
        """Return one line: format, what was detected, rows used and rejected."""
        how = {"csv": "CSV", "xlsx": "Excel workbook (.xlsx)",
               "meeting-guide": "Meeting Guide JSON"}[self.format]
        if self.format == "csv":
            name = {",": "','", ";": "';'", "\t": "tab"}[self.separator]
            how += f", encoding {self.encoding}, separator {name} (detected)"
        elif self.format == "meeting-guide":
            how += f", encoding {self.encoding}"
        warnings = int((self.report["severity"] == WARNING).sum())
        return (f"{self.file}: {how}; {self.rows_read} rows: {len(self.services)} used, "
                f"{self.rejected} rejected, {warnings} warnings")


    def describe_nb(self) -> str:
        """Return :meth:`describe` in Norwegian, for the app (without the file name)."""
        how = {"csv": "CSV", "xlsx": "Excel-ark (.xlsx)",
               "meeting-guide": "Meeting Guide (JSON)"}[self.format]
        if self.format == "csv":
            name = {",": "komma", ";": "semikolon", "\t": "tabulator"}[self.separator]
            how += f", tegnsett {self.encoding}, skilletegn {name} (funnet automatisk)"
        warnings = int((self.report["severity"] == WARNING).sum())
        return (f"{how}; {self.rows_read} rader: {len(self.services)} brukt, "
                f"{self.rejected} avvist, {warnings} merknader")


def empty_report() -> pd.DataFrame:
    """Return an import report with no rows."""
    return pd.DataFrame({c: pd.Series(dtype="object") for c in REPORT_COLUMNS})


def report_frame(problems: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Return problems (dicts with the report's keys) as a report table."""
    frame = pd.DataFrame.from_records(list(problems), columns=list(REPORT_COLUMNS))
    if frame.empty:
        return empty_report()
    frame["row"] = frame["row"].astype("Int64")
    frame["problem_nb"] = [norwegian(p) or p for p in frame["problem"]]
    return frame


def concat_reports(reports: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Return several reports as one (empty ones skipped)."""
    frames = [r for r in reports if len(r)]
    return pd.concat(frames, ignore_index=True) if frames else empty_report()


def fold(name: str) -> str:
    """Return a column name folded for matching (``"E-post "`` → ``"e_post"``)."""
    text = geocode.clean_text(str(name)).casefold()
    return re.sub(r"[\s\-./]+", "_", text).strip("_")


_FIELD_BY_NAME = {alias: key for key, aliases in COLUMN_NAMES.items() for alias in aliases}


# -- reading bytes into rows --------------------------------------------------------------


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


# -- checking rows ------------------------------------------------------------------------


def organisation_id(text: str) -> str | None:
    """Return the organisation id a written name means (``"Al-Anon"`` → ``al_anon``)."""
    key = re.sub(r"[^0-9a-zæøå]", "", geocode.clean_text(text).casefold())
    if not key:
        return None
    for ident, organisation in settings.ORGANISATION_TABLE.items():
        names = {ident, organisation.name}
        short = organisation.name.split("(")[0]
        names.add(short)
        if key in {re.sub(r"[^0-9a-zæøå]", "", n.casefold()) for n in names}:
            return ident
    return ORGANISATION_NAMES.get(key)


def _number(text: str) -> float | None:
    try:
        value = float(text.replace(",", ".").replace("\u2212", "-").strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _slug(text: str) -> str:
    text = geocode.normalise(text)
    for a, b in (("æ", "ae"), ("ø", "o"), ("å", "a")):
        text = text.replace(a, b)
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:24] or "list"


def id_prefix(data: bytes, file: str) -> str:
    """Return the prefix of the ids made for a list: file name and a hash of its bytes.

    Two different lists never share it, and the same list read twice gets the same ids.
    """
    return f"imp-{_slug(Path(file).stem)}-{hashlib.sha256(data).hexdigest()[:6]}"


def import_bytes(data: bytes, file: str, organisation: str | None = None,
                 known_postcodes: Iterable[str] | None = None,
                 year: int | None = None) -> ImportResult:
    """Read one list from bytes and check every row.

    Parameters
    ----------
    data : bytes
        The file's content (CSV, .xlsx or Meeting Guide JSON).
    file : str
        Its name, used in messages, ``source`` and the ids made for it.
    organisation : str, optional
        Organisation id for rows whose list has no organisation column (or an empty cell).
    known_postcodes : iterable of str, optional
        The postcode register; a postcode not in it is a problem (else only the form is
        checked).
    year : int, optional
        Year recorded for rows without one (default: this year).

    Returns
    -------
    ImportResult

    Raises
    ------
    ImportFileError
        If the file cannot be read as a list, a required column is missing, or it has no
        rows.

    """
    if organisation is not None and organisation not in settings.ORGANISATIONS:
        raise ImportFileError(file, None, "organisation",
                              f"unknown organisation {organisation!r} (known: "
                              f"{', '.join(settings.ORGANISATIONS)})")
    header, rows, form, encoding, separator = read_table(data, file)
    problems: list[dict[str, Any]] = []

    def problem(row: int | None, field_: str, value: str, why: str,
                severity: str = ERROR) -> None:
        problems.append({"file": file, "row": row, "field": field_,
                         "value": geocode.shorten(value, 80), "problem": why,
                         "severity": severity})

    columns: dict[str, int] = {}
    noted: list[tuple[str, int]] = []  # (label, position) of columns kept in the note
    fallback: dict[str, list[int]] = {}  # field → alternative columns (Meeting Guide's)
    folded = [fold(name) for name in header]
    for position, name in enumerate(header):
        key = _FIELD_BY_NAME.get(folded[position])
        if key is not None and folded[position] in NOTE_COLUMNS and any(
                _FIELD_BY_NAME.get(f) == key for f in folded if f != folded[position]):
            key = None  # Meeting Guide's "group" beside a "name": the group, in the note
        if key is None and fold(name) in NOTE_COLUMNS:
            noted.append((NOTE_COLUMNS[fold(name)], position))
        elif key is None and fold(name) in UNUSED_COLUMNS:
            continue
        elif key is None:
            if name.strip():
                problem(None, geocode.shorten(geocode.clean_text(name), 60), "",
                        "column not used (unknown name)", WARNING)
        elif key in columns and (folded[position] in ALTERNATIVE_COLUMNS
                                 or folded[columns[key]] in ALTERNATIVE_COLUMNS):
            fallback.setdefault(key, []).append(position)  # used where the first is empty
        elif key in columns:
            problem(None, name, "", f"second column for {key!r}; the first is used", WARNING)
        else:
            columns[key] = position
    described = ", ".join(repr(geocode.shorten(geocode.clean_text(h), 30)) for h in header[:8])
    if "name" not in columns:
        hint = ""
        if len(header) == 1 and any(s in header[0] for s in (*_SEPARATORS, "|")):
            hint = " (the header is one column: is the separator right?)"
        raise ImportFileError(file, None, "name", f"required column missing: navn/name; the "
                                                  f"header has {described}{hint}")
    if "organisation" not in columns and organisation is None:
        raise ImportFileError(file, None, "organisation",
                              "required column missing: organisasjon/organisation; add it, "
                              "or choose the organisation for the whole list "
                              "(--organisation ORG)")
    if not rows:
        raise ImportFileError(file, None, None, "header only: the list has no rows")
    postcodes = set(known_postcodes) if known_postcodes is not None else None
    prefix = id_prefix(data, file)
    this_year = str(year or dt.date.today().year)
    seen_ids: dict[str, int] = {}
    good: list[dict[str, str]] = []
    for number, cells in rows:
        if cells == ["\x00not-an-object"]:
            problem(number, "", "", "not a meeting (expected an object)")
            continue
        raw = {key: (cells[i] if i < len(cells) else "") for key, i in columns.items()}
        for key, positions in fallback.items():
            for i in positions:
                if not raw[key].strip() and i < len(cells):
                    raw[key] = cells[i]
        extra_notes = [f"{label}: {cells[i].strip()}" for label, i in noted
                       if i < len(cells) and cells[i].strip()]
        if extra_notes:
            raw["extra_note"] = geocode.shorten("; ".join(extra_notes), MAX_CELL_CHARS)
        if form == "meeting-guide" and raw.get("day"):
            raw["day"] = _check_days(raw["day"], number, problem)
        before = len(problems)
        extra = [c for c in cells[len(header):] if c.strip()]
        if extra:
            problem(number, "", extra[0], f"{len(extra)} cells beyond the header's "
                                          f"{len(header)} columns (a separator in a cell "
                                          f"without quotes?)")
        row = _check_row(raw, number, problem, organisation, postcodes, this_year)
        if row is not None:
            ident = row["id"] or f"{prefix}-{number}"
            if row["id"]:
                if ident in seen_ids:
                    problem(number, "id", ident, f"duplicate id (first on row {seen_ids[ident]})")
                    row = None
                else:
                    seen_ids[ident] = number
            if row is not None:
                row["id"] = ident
                row["source"] = row["source"] or f"import: {file}, row {number}"
                row["source_row"] = str(number)
        errors = [p for p in problems[before:] if p["severity"] == ERROR]
        if row is not None and not errors:
            good.append(row)
    services = _registry_form(good, file)
    return ImportResult(file, form, encoding, separator, len(rows), services,
                        report_frame(problems))


def _check_days(value: str, number: int, problem: Any) -> str:
    """Return a Meeting Guide row's days with the ones that are not a day (0–6) left out."""
    parts = [part.strip() for part in value.split(",")]
    bad = [part for part in parts if part not in DAYS_NB]
    if bad:
        problem(number, "day", ", ".join(bad), "not a day (0-6, 0 = Sunday); left out",
                WARNING)
    return ", ".join(part for part in parts if part in DAYS_NB)


def _check_row(raw: dict[str, str], number: int, problem: Any, default_org: str | None,
               postcodes: set[str] | None, this_year: str) -> dict[str, str] | None:
    """Check one row; report every problem; return it in registry form (or ``None``)."""
    row: dict[str, str] = {}
    for key, value in raw.items():
        if len(value) > MAX_CELL_CHARS:
            problem(number, key, value, f"cell too long ({len(value)} characters; at most "
                                        f"{MAX_CELL_CHARS})")
            value = ""
        row[key] = geocode.clean_text(value)
    name = row.get("name", "")
    if not name and "name" in raw and len(raw["name"]) <= MAX_CELL_CHARS:
        problem(number, "name", "", "empty: every group needs a name")
    written = row.get("organisation", "")
    organisation = organisation_id(written) if written else default_org
    if organisation is None:
        if written:
            known = ", ".join(settings.ORGANISATIONS)
            problem(number, "organisation", written, f"unknown organisation (known: {known})")
        else:
            problem(number, "organisation", "", "empty, and no organisation chosen for the "
                                                "list")
        organisation = ""
    kind = settings.ORGANISATION_TABLE[organisation].kind if organisation else ""
    if row.get("kind") and organisation and row["kind"] != kind:
        problem(number, "kind", row["kind"], f"does not fit organisation {organisation!r} "
                                             f"(expected {kind!r})")
    ident = row.get("id", "").casefold()
    slug = row.get("slug", "").casefold()
    if not ident and _ID.fullmatch(slug):  # Meeting Guide's key, when it can be an id
        ident = slug
    if ident and not _ID.fullmatch(ident):
        problem(number, "id", row["id"], "not a valid id (letters a-z, digits, '-', '_')")
    postcode = re.sub(r"\s", "", row.get("postcode", ""))
    if postcode:
        if re.fullmatch(r"\d{3}", postcode):
            problem(number, "postcode", postcode, "three digits: a leading zero was restored "
                                                  "(spreadsheets drop it)", WARNING)
            postcode = "0" + postcode
        if not re.fullmatch(r"\d{4}", postcode):
            problem(number, "postcode", row["postcode"], "not a postcode (four digits)")
            postcode = ""
        elif postcode == "0000" or (postcodes is not None and postcode not in postcodes):
            if row.get("place"):
                problem(number, "postcode", postcode, "not in the postcode register; the "
                                                      "place is used instead", WARNING)
            else:
                problem(number, "postcode", postcode, "not in the postcode register")
            postcode = ""
    lat, lon = _check_coordinates(row, number, problem)
    attendance = _attendance(row, number, problem)
    located = bool(row.get("place") or postcode or lat)
    if not located and attendance != "online" and not (
            row.get("postcode") or row.get("lat") or row.get("lon")):
        problem(number, "place", "", "no place, postcode or coordinates (an online "
                                         "meeting needs møteform 'nett' or a link)")
    year = row.get("year", "") or this_year
    if not re.fullmatch(r"(19|20)\d\d", year):
        problem(number, "year", year, "not a year")
    note = _note(row)
    return {
        "id": ident, "name": name, "organisation": organisation,
        "group_type": row.get("group_type", ""), "kind": kind,
        "place": row.get("place", ""), "address": row.get("address", ""),
        "postcode": postcode, "county": row.get("county", ""),
        "health_region": row.get("health_region", ""), "ownership": row.get("ownership", ""),
        "offer": row.get("offer", ""), "age_groups": row.get("age_groups", ""),
        "phone": row.get("phone", ""), "email": row.get("email", ""),
        "source": row.get("source", ""), "year": year, "note": note,
        "attendance": attendance, "url": row.get("url", ""), "duplicate_of": "",
        "lat": lat, "lon": lon,
    }


def _check_coordinates(row: dict[str, str], number: int, problem: Any) -> tuple[str, str]:
    lat_text, lon_text = row.get("lat", ""), row.get("lon", "")
    if not lat_text and not lon_text:
        return "", ""
    values = {}
    for key, text in (("lat", lat_text), ("lon", lon_text)):
        if not text:
            problem(number, key, "", "missing: give both latitude and longitude")
            continue
        value = _number(text)
        if value is None:
            problem(number, key, text, "not a number")
        else:
            values[key] = value
    if len(values) < 2:
        return "", ""
    lat, lon = values["lat"], values["lon"]
    if lat == 0 and lon == 0:
        problem(number, "lat", "0, 0", "coordinates 0, 0 are a missing value, not a place")
        return "", ""
    lon_min, lat_min, lon_max, lat_max = settings.NORWAY_BBOX
    bad = False
    if not lat_min <= lat <= lat_max:
        problem(number, "lat", lat_text, f"outside Norway (latitude {lat_min}–{lat_max})")
        bad = True
    if not lon_min <= lon <= lon_max:
        problem(number, "lon", lon_text, f"outside Norway (longitude {lon_min}–{lon_max})")
        bad = True
    return ("", "") if bad else (repr(lat), repr(lon))


def _attendance(row: dict[str, str], number: int, problem: Any) -> str:
    written = row.get("attendance", "")
    types = {t.strip().upper() for t in row.get("types", "").split(";")}
    has_place = bool(row.get("place") or row.get("postcode") or row.get("lat")
                     or row.get("address"))
    if written:
        key = re.sub(r"[^a-zæøå]", "", written.casefold())
        if key in {"inactive", "nedlagt", "avsluttet"}:
            problem(number, "attendance", written, "the meeting is inactive")
            return ""
        value = ATTENDANCE_WORDS.get(key)
        if value is None:
            problem(number, "attendance", written, "not understood (fysisk, nett or hybrid)")
            return "physical"
        return value
    if row.get("url") or "ONL" in types:
        return "hybrid" if has_place else "online"
    return "physical"


def _note(row: dict[str, str]) -> str:
    parts = []
    start = row.get("time", "")
    if start and row.get("end_time"):
        start = f"{start}–{row['end_time']}"
    when = " ".join(p for p in (row.get("day", ""), start) if p)
    if when:
        parts.append(f"Møtetid: {when}")
    if row.get("location"):
        parts.append(f"Lokale: {row['location']}")
    if row.get("note"):
        parts.append(row["note"])
    if row.get("extra_note"):
        parts.append(row["extra_note"])
    return geocode.shorten("; ".join(parts), MAX_CELL_CHARS)


def _registry_form(rows: list[dict[str, str]], file: str) -> pd.DataFrame:
    # Every rule of registry.validate was checked row by row above (and is tested to
    # agree), so the frame is only put in registry form here.
    columns = [*registry.REGISTRY_COLUMNS, *registry.OPTIONAL_COLUMNS, "lat", "lon"]
    frame = pd.DataFrame.from_records(rows, columns=columns)
    source_rows = [r.get("source_row", "") for r in rows]
    for column in ("lat", "lon"):
        frame[column] = pd.to_numeric(frame[column].replace("", None), errors="coerce")
    frame["registry_file"] = file
    frame["source_row"] = pd.array([int(r) for r in source_rows], dtype="Int64")
    return frame


def import_file(path: Path, organisation: str | None = None,
                known_postcodes: Iterable[str] | None = None) -> ImportResult:
    """Read one list from a file (see :func:`import_bytes`).

    Raises
    ------
    ImportFileError
        If the path is not a readable file, or the list cannot be read (see
        :func:`import_bytes`).

    """
    return import_bytes(read_list_file(path), Path(path).name, organisation, known_postcodes)


def read_list_file(path: Path) -> bytes:
    """Return a list file's bytes (refused if not a file or past :data:`MAX_BYTES`)."""
    path = Path(path)
    if path.is_dir():
        raise ImportFileError(path, None, None, "a folder, not a file")
    if not path.is_file():
        raise ImportFileError(path, None, None, "file not found")
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ImportFileError(path, None, None, f"file too big ({size / 1e6:.1f} MB; at "
                                                    f"most {MAX_BYTES / 1024 / 1024:.0f} MB)")
        return path.read_bytes()
    except OSError as exc:
        raise ImportFileError(path, None, None, f"cannot be read ({exc.strerror})") from None


# -- several lists together -----------------------------------------------------------------


def combine(results: Sequence[ImportResult],
            taken: Iterable[str] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Join several imported lists; rows whose id is already taken are reported, not used.

    Parameters
    ----------
    results : sequence of ImportResult
        Lists read by :func:`import_bytes`/:func:`import_file`.
    taken : iterable of str
        Ids already in use (the registry's).

    Returns
    -------
    tuple of pandas.DataFrame
        ``(services, report)``: the rows used, and every list's report plus the id
        collisions.

    """
    used = set(taken)
    frames, reports = [], [r.report for r in results]
    for result in results:
        rows = result.services
        clash = rows["id"].isin(used) if len(rows) else pd.Series(dtype=bool)
        if len(rows) and clash.any():
            reports.append(report_frame(
                {"file": result.file, "row": row.source_row, "field": "id", "value": row.id,
                 "problem": "id already used by the registry or an earlier list",
                 "severity": ERROR} for row in rows[clash].itertuples()))
            rows = rows[~clash]
        used.update(rows["id"])
        frames.append(rows)
    services = (pd.concat(frames, ignore_index=True) if frames
                else _registry_form([], "").iloc[0:0])
    return services, concat_reports(reports)


def flag_duplicates(services: pd.DataFrame, threshold: float = 90.0) -> pd.DataFrame:
    """Flag imported groups that look like the same group twice (both rows stay).

    The report of :func:`find_duplicates` without the pairs; see there.
    """
    return find_duplicates(services, threshold=threshold, left_out=False)[0]


def find_duplicates(services: pd.DataFrame, registry_rows: pd.DataFrame | None = None,
                    threshold: float = 90.0, left_out: bool = True
                    ) -> tuple[pd.DataFrame, dict[str, str]]:
    """Find imported groups that look like the same group twice, or like a 2007 group.

    Two rows are the same group when they have the same organisation, the same place (the
    same kommune once geocoded, else the same place text) and near-same names (rapidfuzz:
    the better of ``ratio`` without spaces and ``token_sort_ratio``, ≥ ``threshold``,
    after case-folding: "Seljord-gruppa" = "Seljordgruppa", "Gruppe A" ≠ "Gruppe B";
    names with different numbers are different groups).

    Parameters
    ----------
    services : pandas.DataFrame
        Imported rows with ``id``, ``registry_file``, ``source_row``, ``organisation``,
        ``name`` and ``place`` (and ``kommunenummer`` when geocoded).
    registry_rows : pandas.DataFrame, optional
        Geocoded groups already there (the 2007 registry, when a list is added to it):
        an imported row like one of them is a duplicate too.
    threshold : float
        Similarity (0–100) from which two names count as the same.
    left_out : bool
        Say in the report that the later row is left out (unless the user keeps it).

    Returns
    -------
    tuple of (pandas.DataFrame, dict of str to str)
        A report (:data:`REPORT_COLUMNS`), severity ``warning``, one row per later row of
        a pair; and each later row's id → the id of the row it repeats.

    """
    from rapidfuzz import fuzz

    if services.empty:
        return empty_report(), {}
    suffix = "; left out (keep it to count it)" if left_out else ""
    records = services.to_dict("records")

    def where(record: dict[Any, Any]) -> str:
        kommune = record.get("kommunenummer")
        return str(kommune) if isinstance(kommune, str) and kommune else geocode.normalise(
            str(record.get("place") or ""))

    groups: dict[tuple[str, str], list[dict[Any, Any]]] = {}
    for record in records:
        if where(record):
            groups.setdefault((str(record["organisation"]), where(record)), []).append(record)
    known: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    if registry_rows is not None and len(registry_rows):
        counted = registry_rows[registry_rows["status"] == "geocoded"]
        for row in counted[["id", "name", "organisation", "kommunenummer"]].itertuples():
            known.setdefault((str(row.organisation), str(row.kommunenummer)), []).append(
                (str(row.id), str(row.name), geocode.normalise(str(row.name))))
    problems, pairs = [], {}
    for key, group in groups.items():
        names = [geocode.normalise(str(r["name"])) for r in group]
        for j in range(len(group)):
            later = group[j]
            first_name, first_id = "", ""
            for i in range(j):
                if _similarity(fuzz, names[i], names[j]) >= threshold:
                    first = group[i]
                    first_id = str(first["id"])
                    first_name = (f"{first['name']!r} ({first['registry_file']}, row "
                                  f"{first['source_row']}): same organisation and place")
                    break
            if not first_id:
                for ident, shown, name in known.get(key, []):
                    if _similarity(fuzz, name, names[j]) >= threshold:
                        first_id = ident
                        first_name = (f"{shown!r} in the 2007 registry: same organisation "
                                      "and kommune")
                        break
            if first_id:
                pairs[str(later["id"])] = first_id
                problems.append({
                    "file": later["registry_file"], "row": later["source_row"],
                    "field": "name", "value": geocode.shorten(str(later["name"]), 80),
                    "problem": f"looks like the same group as {first_name}{suffix}",
                    "severity": WARNING})
    return report_frame(problems), pairs


def _similarity(fuzz: Any, a: str, b: str) -> float:
    if re.findall(r"\d+", a) != re.findall(r"\d+", b):
        return 0.0  # "Gruppe 1" and "Gruppe 2" are two groups
    return float(max(fuzz.ratio(a.replace(" ", ""), b.replace(" ", "")),
                     fuzz.token_sort_ratio(a, b)))


# -- report and template --------------------------------------------------------------------


def format_report(report: pd.DataFrame, limit: int = 50) -> str:
    """Return the report as lines of text (at most ``limit`` problems, then a count)."""
    if report.empty:
        return "No problems found."
    lines = []
    for row in report.head(limit).to_dict("records"):
        where = "file" if pd.isna(row["row"]) else f"row {row['row']}"
        value = f" {row['value']!r}" if row["value"] else ""
        lines.append(f"  {row['severity']:<7} {row['file']}, {where}, field '{row['field']}'"
                     f"{value}: {row['problem']}")
    if len(report) > limit:
        lines.append(f"  … and {len(report) - limit} more (see import_report.csv)")
    return "\n".join(lines)


def write_report(report: pd.DataFrame, path: Path) -> None:
    """Write the report as Excel-safe CSV (UTF-8 with BOM, so Excel shows æøå)."""
    csvsafe.to_csv(report, path, bom=True)


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
