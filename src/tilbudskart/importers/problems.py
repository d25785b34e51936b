"""Problems with a list: the import report, its Norwegian words, the file error and the result."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tilbudskart import csvsafe, registry

#: Columns of an import report, in order.
REPORT_COLUMNS: tuple[str, ...] = ("file", "row", "field", "value", "problem", "severity",
                                   "problem_nb")

#: Severity of a problem: ``error`` (the row is not used) or ``warning`` (it is).
ERROR, WARNING = "error", "warning"


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
