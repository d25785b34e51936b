"""Row checks: every row of a list checked and brought into registry form, and lists combined."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from tilbudskart import geocode, registry, settings
from tilbudskart.importers.columns import (
    _FIELD_BY_NAME,
    ALTERNATIVE_COLUMNS,
    ATTENDANCE_WORDS,
    DAYS_NB,
    NOTE_COLUMNS,
    UNUSED_COLUMNS,
    fold,
    organisation_id,
)
from tilbudskart.importers.problems import (
    ERROR,
    WARNING,
    ImportFileError,
    ImportResult,
    concat_reports,
    report_frame,
)
from tilbudskart.importers.readers import (
    _SEPARATORS,
    MAX_BYTES,
    MAX_CELL_CHARS,
    read_table,
)

_ID = re.compile(r"[a-z0-9][a-z0-9_-]*")


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
