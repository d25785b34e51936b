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

Each job has its own module: :mod:`~tilbudskart.importers.readers` (bytes into
rows, within limits), :mod:`~tilbudskart.importers.columns` (column names and words),
:mod:`~tilbudskart.importers.rows` (row checks, registry form, lists combined),
:mod:`~tilbudskart.importers.duplicates`, :mod:`~tilbudskart.importers.templates` and
:mod:`~tilbudskart.importers.problems` (the report, its Norwegian, the file error). Every
name is exported here, so ``tilbudskart.importers.X`` keeps working.
"""

from __future__ import annotations

from tilbudskart.importers.columns import (
    ALTERNATIVE_COLUMNS,
    ATTENDANCE_WORDS,
    COLUMN_NAMES,
    DAYS_NB,
    FIELD_NB,
    NOTE_COLUMNS,
    ORGANISATION_NAMES,
    TEMPLATE_COLUMNS,
    UNUSED_COLUMNS,
    fold,
    organisation_id,
)
from tilbudskart.importers.duplicates import (
    find_duplicates,
    flag_duplicates,
)
from tilbudskart.importers.problems import (
    ERROR,
    NORWEGIAN,
    REPORT_COLUMNS,
    WARNING,
    ImportFileError,
    ImportResult,
    concat_reports,
    empty_report,
    format_report,
    norwegian,
    report_frame,
    write_report,
)
from tilbudskart.importers.readers import (
    MAX_BYTES,
    MAX_CELL_CHARS,
    MAX_CELLS,
    MAX_COLUMNS,
    MAX_JSON_DEPTH,
    MAX_NUMBER_CHARS,
    MAX_ROWS,
    MAX_UNPACKED_BYTES,
    MAX_ZIP_MEMBERS,
    MAX_ZIP_RATIO,
    check_xlsx,
    json_depth,
    read_table,
)
from tilbudskart.importers.rows import (
    combine,
    id_prefix,
    import_bytes,
    import_file,
    read_list_file,
)
from tilbudskart.importers.templates import (
    template,
    template_bytes,
)

__all__ = [
    "ALTERNATIVE_COLUMNS",
    "ATTENDANCE_WORDS",
    "COLUMN_NAMES",
    "DAYS_NB",
    "ERROR",
    "FIELD_NB",
    "MAX_BYTES",
    "MAX_CELLS",
    "MAX_CELL_CHARS",
    "MAX_COLUMNS",
    "MAX_JSON_DEPTH",
    "MAX_NUMBER_CHARS",
    "MAX_ROWS",
    "MAX_UNPACKED_BYTES",
    "MAX_ZIP_MEMBERS",
    "MAX_ZIP_RATIO",
    "NORWEGIAN",
    "NOTE_COLUMNS",
    "ORGANISATION_NAMES",
    "REPORT_COLUMNS",
    "TEMPLATE_COLUMNS",
    "UNUSED_COLUMNS",
    "WARNING",
    "ImportFileError",
    "ImportResult",
    "check_xlsx",
    "combine",
    "concat_reports",
    "empty_report",
    "find_duplicates",
    "flag_duplicates",
    "fold",
    "format_report",
    "id_prefix",
    "import_bytes",
    "import_file",
    "json_depth",
    "norwegian",
    "organisation_id",
    "read_list_file",
    "read_table",
    "report_frame",
    "template",
    "template_bytes",
    "write_report",
]
