"""The service registry: self-help groups and institutions as printed in the 2007 report.

The registry lives in ``data/`` as CSV files with provenance columns (``source``,
``year``, ``note``). Users may import lists of their own in the same format. Every row is
validated up front; a bad row raises :class:`RegistryError` naming file, row and field,
and nothing is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from tilbudskart import settings

#: Columns every registry file has, in order.
REGISTRY_COLUMNS: tuple[str, ...] = (
    "id", "name", "organisation", "group_type", "kind", "place", "address", "postcode",
    "county", "health_region", "ownership", "offer", "age_groups", "phone", "email",
    "source", "year", "note",
)

#: Optional columns, kept when present and otherwise filled with their default:
#: ``attendance`` (``physical``, ``online`` or ``hybrid``; online-only meetings are shown
#: in searches but are not physical coverage), ``url`` (a meeting's web or video link) and
#: ``duplicate_of`` (the id of the row this one repeats; such a row is kept with its note
#: but left out of every count and coverage figure).
OPTIONAL_COLUMNS: dict[str, str] = {"attendance": "physical", "url": "", "duplicate_of": ""}

#: Values of ``attendance``.
ATTENDANCE = ("physical", "online", "hybrid")

#: Columns an imported list must have; the others are filled with defaults.
REQUIRED_IMPORT_COLUMNS: tuple[str, ...] = ("name", "organisation")

_POSTCODE = re.compile(r"\d{4}")
_ID = re.compile(r"[a-z0-9][a-z0-9_-]*")


class RegistryError(ValueError):
    """A registry row is invalid; the message names the file, row and field."""

    def __init__(self, file: str | Path, row: int | None, field: str | None, message: str):
        self.file, self.row, self.field = str(file), row, field
        where = f"{file}"
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise RegistryError(path, None, None, "file not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RegistryError(path, None, None, f"not UTF-8 text ({exc.reason})") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise RegistryError(path, None, None, f"not a readable CSV file ({exc})") from exc
    return frame.apply(lambda column: column.str.strip())


def validate(frame: pd.DataFrame, file: str | Path) -> pd.DataFrame:
    """Check a registry table and return it with columns in registry order.

    Parameters
    ----------
    frame : pandas.DataFrame
        Registry rows (all columns as strings).
    file : str or pathlib.Path
        Where the rows came from, for error messages.

    Returns
    -------
    pandas.DataFrame
        The same rows, columns ordered as :data:`REGISTRY_COLUMNS`, then
        :data:`OPTIONAL_COLUMNS` (filled with their defaults where missing), plus
        ``lat``/``lon`` when the input has them (given coordinates are kept as floats).

    Raises
    ------
    RegistryError
        On the first invalid value, naming file, row (CSV line number) and field.

    """
    missing = [c for c in REGISTRY_COLUMNS if c not in frame.columns]
    if missing:
        raise RegistryError(file, None, missing[0], f"column missing (needs {', '.join(missing)})")
    seen: dict[str, int] = {}
    for position, row in enumerate(frame.to_dict("records")):
        line = position + 2  # header is line 1
        _check_row({str(k): str(v) for k, v in row.items()}, file, line, seen)
    result = frame[list(REGISTRY_COLUMNS)].copy()
    for column, default in OPTIONAL_COLUMNS.items():
        result[column] = (frame[column].replace("", default) if column in frame.columns
                          else default)
    if {"lat", "lon"} <= set(frame.columns):
        result["lat"] = pd.to_numeric(frame["lat"].replace("", None))
        result["lon"] = pd.to_numeric(frame["lon"].replace("", None))
    return result.reset_index(drop=True)


def _check_row(row: dict[str, str], file: str | Path, line: int, seen: dict[str, int]) -> None:
    def fail(field: str, message: str) -> RegistryError:
        return RegistryError(file, line, field, message)

    ident = row["id"]
    if not _ID.fullmatch(ident):
        raise fail("id", f"{ident!r} is not a valid id (lower-case letters, digits, '-', '_')")
    if ident in seen:
        raise fail("id", f"duplicate id {ident!r} (first on row {seen[ident]})")
    seen[ident] = line
    if not row["name"]:
        raise fail("name", "empty")
    organisation = row["organisation"]
    if organisation not in settings.ORGANISATIONS:
        known = ", ".join(settings.ORGANISATIONS)
        raise fail("organisation", f"unknown organisation {organisation!r} (known: {known})")
    expected_kind = settings.ORGANISATION_TABLE[organisation].kind
    if row["kind"] != expected_kind:
        raise fail("kind", f"{row['kind']!r} does not fit organisation {organisation!r} "
                           f"(expected {expected_kind!r})")
    if row["postcode"] and not _POSTCODE.fullmatch(row["postcode"]):
        raise fail("postcode", f"malformed postcode {row['postcode']!r} (four digits expected)")
    if not re.fullmatch(r"(19|20)\d\d", row["year"]):
        raise fail("year", f"{row['year']!r} is not a year")
    if row.get("lat") or row.get("lon"):
        _check_coordinates(row, fail)
    if row.get("attendance") and row["attendance"] not in ATTENDANCE:
        raise fail("attendance", f"{row['attendance']!r} is not one of {', '.join(ATTENDANCE)}")
    if row.get("duplicate_of") and row["duplicate_of"] == ident:
        raise fail("duplicate_of", "a row cannot be a duplicate of itself")


def _check_coordinates(row: dict[str, str],
                       fail: Callable[[str, str], RegistryError]) -> None:
    lon_min, lat_min, lon_max, lat_max = settings.NORWAY_BBOX
    for field, low, high in (("lat", lat_min, lat_max), ("lon", lon_min, lon_max)):
        try:
            value = float(row.get(field, ""))
        except ValueError:
            raise fail(field, f"{row.get(field)!r} is not a number") from None
        if not low <= value <= high:
            raise fail(
                field, f"{value} lies outside Norway ({field} must be within {low}–{high})")


def load_registry(paths: Iterable[Path] | None = None) -> pd.DataFrame:
    """Load and validate the registry files.

    Parameters
    ----------
    paths : iterable of pathlib.Path, optional
        Registry CSV files; by default the files in ``data/`` named in settings.

    Returns
    -------
    pandas.DataFrame
        All rows, in file order, with ``registry_file`` added.

    Raises
    ------
    RegistryError
        If a file is missing or a row is invalid, or an id occurs in two files.

    """
    if paths is None:
        paths = [settings.REGISTRY_DIR / name for name in settings.REGISTRY_FILES]
    frames = []
    for path in paths:
        frame = validate(_read(path), path)
        frame["registry_file"] = path.name
        frames.append(frame)
    registry = pd.concat(frames, ignore_index=True)
    duplicated = registry[registry["id"].duplicated()]
    if not duplicated.empty:
        first = duplicated.iloc[0]
        raise RegistryError(first["registry_file"], None, "id",
                            f"id {first['id']!r} occurs in more than one registry file")
    dangling = registry[(registry["duplicate_of"] != "")
                        & ~registry["duplicate_of"].isin(registry["id"])]
    if not dangling.empty:
        first = dangling.iloc[0]
        raise RegistryError(first["registry_file"], None, "duplicate_of",
                            f"{first['id']}: duplicate_of {first['duplicate_of']!r} is no id")
    return registry


def counted(table: pd.DataFrame) -> pd.DataFrame:
    """Return the rows that count: every row but those marked ``duplicate_of`` another.

    Parameters
    ----------
    table : pandas.DataFrame
        Registry rows or geocoded services.

    Returns
    -------
    pandas.DataFrame
        The rows without a ``duplicate_of`` (all rows if the column is absent).

    """
    if "duplicate_of" not in table.columns:
        return table
    return table[table["duplicate_of"].fillna("") == ""]

