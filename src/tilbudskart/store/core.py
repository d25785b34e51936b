"""The registry store: published lists as versions, stewards, history and rollback.

SQLite (WAL) in the state folder by default; PostgreSQL when ``TILBUDSKART_DATABASE_URL``
is set. The schema is made and kept current by the Alembic migrations in
``store/migrations`` on first use. Every write is one transaction: a publish killed at any
moment leaves the previous version in force; two publishes at once are serialised (an
immediate write lock on SQLite, an advisory lock on PostgreSQL, and the unique
``(organisation, number)`` as the backstop, retried).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event, exc

from tilbudskart import importers, registry, settings
from tilbudskart.store import keys
from tilbudskart.store.schema import stewards, version_rows, versions

logger = logging.getLogger(__name__)

#: Environment variable: the state folder (the SQLite store lives in it).
STATE_DIR_ENV = settings.STATE_DIR_ENV
#: Environment variable: a database URL (``postgresql://user@host:port/db``); SQLite if unset.
DATABASE_URL_ENV = settings.DATABASE_URL_ENV
#: File name of the SQLite store in the state folder.
SQLITE_NAME = "registry.sqlite3"
#: The newest Alembic revision this code knows.
HEAD_REVISION = "0001"
#: Key of the PostgreSQL advisory lock that serialises writes.
_PG_LOCK = 7_210_021
#: Columns a stored row keeps (registry form, coordinates, the list's row number).
ROW_COLUMNS = (*registry.REGISTRY_COLUMNS, *registry.OPTIONAL_COLUMNS, "lat", "lon",
               "source_row")
#: Where version 0 comes from.
REPORT_YEAR = 2007


class StoreError(Exception):
    """The store cannot be used (unreachable, corrupted, foreign); the message names it."""


class RefusedError(Exception):
    """A publish, rollback or steward change is refused; the message says why (one line)."""


def state_dir() -> Path:
    """Return the state folder: ``$TILBUDSKART_STATE_DIR``, else the user's data folder."""
    configured = settings.state_dir_setting()
    if configured:
        return Path(configured)
    import platformdirs

    return Path(platformdirs.user_data_dir("tilbudskart", appauthor=False))


def database_url() -> str:
    """Return the store's URL: ``$TILBUDSKART_DATABASE_URL`` (psycopg 3), else SQLite."""
    url = settings.database_url_setting()
    if url:
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix):]
        return url
    return f"sqlite:///{state_dir() / SQLITE_NAME}"


@dataclass(frozen=True)
class Version:
    """One published version of an organisation's list (number 0: the 2007 report)."""

    id: int
    organisation: str
    number: int
    published_at: dt.datetime | None
    steward_key_id: str
    file_name: str
    checksum: str
    rows_read: int
    rows_used: int
    warnings: int
    rows_from: int
    note: str
    superseded_by: int | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite gives naive datetimes back; every time stored is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _json_value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


class Store:
    """The registry store on one database (see :func:`open_store`)."""

    def __init__(self, engine: sa.Engine, where: str):
        self.engine = engine
        #: The file or URL (password hidden), for messages.
        self.where = where

    # -- reading --------------------------------------------------------------------

    def head(self) -> int:
        """Return the id of the newest version (0: nothing published); cheap, for polling."""
        with self._connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(versions.c.id))).scalar() or 0)

    def latest(self) -> dict[str, Version]:
        """Return every organisation's version in force (organisations never published: absent)."""
        newest = (sa.select(versions.c.organisation, sa.func.max(versions.c.number).label("n"))
                  .group_by(versions.c.organisation).subquery())
        query = sa.select(versions).join(newest, sa.and_(
            versions.c.organisation == newest.c.organisation, versions.c.number == newest.c.n))
        with self._connect() as conn:
            return {v.organisation: v for v in map(self._version, conn.execute(query))}

    def version(self, organisation: str, number: int) -> Version | None:
        """Return one version (None if there is no such version; 0 is never stored)."""
        query = sa.select(versions).where(versions.c.organisation == organisation,
                                          versions.c.number == number)
        with self._connect() as conn:
            row = conn.execute(query).first()
        return self._version(row) if row is not None else None

    def history(self, organisation: str | None = None) -> list[Version]:
        """Return the published versions, oldest first (optionally of one organisation)."""
        query = sa.select(versions).order_by(versions.c.id)
        if organisation is not None:
            query = query.where(versions.c.organisation == organisation)
        with self._connect() as conn:
            return [self._version(row) for row in conn.execute(query)]

    def rows(self, version: Version) -> pd.DataFrame:
        """Return a version's rows in registry form (``registry_file`` names the version)."""
        query = (sa.select(version_rows.c.data).where(version_rows.c.version_id == version.id)
                 .order_by(version_rows.c.position))
        with self._connect() as conn:
            records = [row.data for row in conn.execute(query)]
        return rows_frame(records, f"{version.organisation} v{version.number}")

    def stewards(self) -> pd.DataFrame:
        """Return the steward keys: key id, organisation, created, revoked (never a hash)."""
        query = sa.select(stewards.c.key_id, stewards.c.organisation, stewards.c.created_at,
                          stewards.c.revoked_at).order_by(stewards.c.created_at)
        with self._connect() as conn:
            frame = pd.DataFrame(conn.execute(query).all(),
                                 columns=["key_id", "organisation", "created_at", "revoked_at"])
        return frame

    # -- stewards -------------------------------------------------------------------

    def add_steward(self, organisation: str) -> tuple[str, str]:
        """Make a key for ``organisation``; return ``(key_id, key)`` (the key is not kept)."""
        if organisation not in settings.ORGANISATIONS:
            raise RefusedError(f"unknown organisation {organisation!r} (known: "
                          f"{', '.join(settings.ORGANISATIONS)})")
        key_id, key = keys.new_key()
        with self._write() as conn:
            conn.execute(stewards.insert().values(
                key_id=key_id, organisation=organisation, key_hash=keys.hash_key(key),
                created_at=_now(), revoked_at=None))
        return key_id, key

    def revoke(self, key_id: str) -> None:
        """Revoke a steward key (it publishes nothing from now on)."""
        with self._write() as conn:
            found = conn.execute(sa.select(stewards.c.revoked_at)
                                 .where(stewards.c.key_id == key_id)).first()
            if found is None:
                raise RefusedError(f"no steward key {key_id!r} (see 'tilbudskart steward list')")
            if found.revoked_at is not None:
                raise RefusedError(f"steward key {key_id} was already revoked")
            conn.execute(stewards.update().where(stewards.c.key_id == key_id)
                         .values(revoked_at=_now()))

    def check_key(self, key: str, organisation: str, session: str = "process") -> str:
        """Return the key id of ``key`` if it may publish for ``organisation``; else refuse.

        At most :data:`keys.MAX_FAILURES` wrong keys a minute per ``session``; after that
        the key is refused unchecked until the minute has passed. The key itself is never
        part of a message.
        """
        wait = keys.ATTEMPTS.wait_seconds(session)
        if wait > 0:
            raise RefusedError(f"too many wrong steward keys; try again in {math.ceil(wait)} s")
        key_id = keys.key_id_of(key or "")
        found = None
        if key_id is not None:
            with self._connect() as conn:
                found = conn.execute(sa.select(stewards).where(stewards.c.key_id == key_id)
                                     ).first()
        if found is None or not keys.key_matches(key, found.key_hash):
            keys.ATTEMPTS.failed(session)
            raise RefusedError("the steward key is wrong (no key with that id and secret)")
        if found.revoked_at is not None:
            raise RefusedError(f"steward key {key_id} was revoked on "
                          f"{_aware(found.revoked_at):%Y-%m-%d}")
        if found.organisation != organisation:
            raise RefusedError(f"steward key {key_id} publishes for {found.organisation} only, "
                          f"not for {organisation}")
        return str(key_id)

    # -- publishing -----------------------------------------------------------------

    def publish(self, result: importers.ImportResult, organisation: str, key: str,
                checksum: str, session: str = "process") -> Version:
        """Publish a checked list as ``organisation``'s new version.

        Parameters
        ----------
        result : ImportResult
            The list as read by :func:`tilbudskart.importers.import_bytes`.
        organisation : str
            Whose list it is (every row must be of it).
        key : str
            A steward key of ``organisation``.
        checksum : str
            The file's sha256 (hex).
        session : str
            Whose wrong keys count together (a browser session; default the process).

        Raises
        ------
        RefusedError
            If the key is refused, or the list has row errors, rows of another
            organisation, or no rows.

        """
        refusal = publishable(result, organisation)
        if refusal:
            raise RefusedError(refusal)
        key_id = self.check_key(key, organisation, session)
        warnings = int((result.report["severity"] == importers.WARNING).sum())
        return self._record(organisation, key_id, result.file, checksum,
                            stored_rows(result.services), result.rows_read, warnings,
                            rows_from=None, note="")

    def rollback(self, organisation: str, number: int, key: str,
                 session: str = "process") -> Version:
        """Publish version ``number`` of ``organisation`` again, as a new version.

        Version 0 restores the 2007 report's rows.
        """
        key_id = self.check_key(key, organisation, session)
        if number == 0:
            base = registry.load_registry()
            rows = base[base["organisation"] == organisation]
            if rows.empty:
                raise RefusedError(f"{organisation} has no rows in the 2007 report")
            rows = rows.assign(source_row=range(1, len(rows) + 1))
            return self._record(organisation, key_id, "2007 report", "", stored_rows(rows),
                                len(rows), 0, rows_from=0, note="rollback to version 0")
        old = self.version(organisation, number)
        if old is None:
            raise RefusedError(f"{organisation} has no version {number} (see 'tilbudskart history "
                          f"--organisation {organisation}')")
        with self._connect() as conn:
            records = [r.data for r in conn.execute(
                sa.select(version_rows.c.data).where(version_rows.c.version_id == old.id)
                .order_by(version_rows.c.position))]
        return self._record(organisation, key_id, old.file_name, old.checksum, records,
                            old.rows_read, old.warnings, rows_from=old.rows_from,
                            note=f"rollback to version {number}")

    def _record(self, organisation: str, key_id: str, file_name: str, checksum: str,
                rows: list[dict[str, Any]], rows_read: int, warnings: int,
                rows_from: int | None, note: str) -> Version:
        """Add one version and its rows in one transaction (retried on a lost race)."""
        for attempt in range(5):
            try:
                with self._write() as conn:
                    previous = conn.execute(
                        sa.select(versions.c.id, versions.c.number)
                        .where(versions.c.organisation == organisation)
                        .order_by(versions.c.number.desc()).limit(1)).first()
                    number = previous.number + 1 if previous is not None else 1
                    new_id = conn.execute(versions.insert().values(
                        organisation=organisation, number=number, published_at=_now(),
                        steward_key_id=key_id, file_name=file_name[:255], checksum=checksum,
                        rows_read=rows_read, rows_used=len(rows), warnings=warnings,
                        rows_from=number if rows_from is None else rows_from, note=note,
                        superseded_by=None).returning(versions.c.id)).scalar_one()
                    if rows:
                        conn.execute(version_rows.insert(), [
                            {"version_id": new_id, "position": i, "data": row}
                            for i, row in enumerate(rows)])
                    if previous is not None:
                        conn.execute(versions.update().where(versions.c.id == previous.id)
                                     .values(superseded_by=new_id))
                break
            except exc.IntegrityError:
                if attempt == 4:
                    raise StoreError(f"{self.where}: the publish of {organisation} lost "
                                     f"five races in a row; try again") from None
                logger.info("publish of %s raced another; retrying", organisation)
            except exc.SQLAlchemyError as error:  # nothing was recorded (one transaction)
                raise StoreError(f"{self.where}: the publish of {organisation} was not "
                                 f"recorded ({_reason(error)})") from None
        found = self.version(organisation, number)
        assert found is not None
        logger.info("published %s version %d (%d rows)", organisation, number, len(rows))
        return found

    # -- connections ----------------------------------------------------------------

    def _version(self, row: Any) -> Version:
        values = dict(row._mapping)
        values["published_at"] = _aware(values["published_at"])
        return Version(**values)

    def _connect(self) -> sa.Connection:
        try:
            return self.engine.connect()
        except exc.SQLAlchemyError as error:
            raise StoreError(f"{self.where}: the registry store cannot be reached "
                             f"({_reason(error)})") from None

    def _write(self) -> Any:
        """Open a write transaction (serialised against every other writer)."""
        try:
            conn = self.engine.connect()
        except exc.SQLAlchemyError as error:
            raise StoreError(f"{self.where}: the registry store cannot be reached "
                             f"({_reason(error)})") from None
        return _WriteTransaction(conn)


class _WriteTransaction:
    """``with``: a transaction that holds the store's write lock until commit/rollback."""

    def __init__(self, conn: sa.Connection):
        self.conn = conn

    def __enter__(self) -> sa.Connection:
        self.transaction = self.conn.begin()
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
        return self.conn

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        try:
            if kind is None:
                self.transaction.commit()
            else:
                self.transaction.rollback()
        finally:
            self.conn.close()


def _reason(error: BaseException) -> str:
    """Return the driver's one-line reason (never a URL with its password)."""
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()
    return text[0] if text else type(original).__name__


def publishable(result: importers.ImportResult, organisation: str) -> str | None:
    """Return why ``result`` cannot be published for ``organisation`` (None: it can)."""
    if organisation not in settings.ORGANISATIONS:
        return (f"unknown organisation {organisation!r} (known: "
                f"{', '.join(settings.ORGANISATIONS)})")
    errors = result.report[result.report["severity"] == importers.ERROR]
    if len(errors):
        first = errors.iloc[0]
        where = result.file
        if not pd.isna(first["row"]):
            where += f", row {int(first['row'])}"
        if first["field"]:
            where += f", field '{first['field']}'"
        return (f"{where}: {first['problem']} — {len(errors)} problem(s) in all; a list "
                f"with row errors cannot be published until they are fixed")
    if result.services.empty:
        return f"{result.file}: no rows to publish"
    others = sorted(set(result.services["organisation"]) - {organisation})
    if others:
        return (f"{result.file}: rows of {', '.join(others)} in a list published for "
                f"{organisation}; publish each organisation's list on its own")
    return None


def stored_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Return a frame's rows as the store keeps them (JSON-safe, :data:`ROW_COLUMNS`)."""
    present = [c for c in ROW_COLUMNS if c in frame.columns]
    return [{c: _json_value(v) for c, v in zip(present, values, strict=True)}
            for values in frame[present].itertuples(index=False, name=None)]


def rows_frame(records: Iterable[Mapping[str, Any]], registry_file: str) -> pd.DataFrame:
    """Return stored rows in registry form (as :func:`importers.import_bytes` gives them)."""
    frame = pd.DataFrame.from_records(list(records), columns=list(ROW_COLUMNS))
    text = [*registry.REGISTRY_COLUMNS, *registry.OPTIONAL_COLUMNS]
    frame[text] = frame[text].fillna("").astype(str)
    for column, default in registry.OPTIONAL_COLUMNS.items():
        frame[column] = frame[column].replace("", default)
    for column in ("lat", "lon"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame["registry_file"] = registry_file
    frame["source_row"] = pd.to_numeric(frame["source_row"], errors="coerce").astype("Int64")
    return frame


# -- opening ----------------------------------------------------------------------------


def open_store(url: str | None = None) -> Store:
    """Open the store (making it, and migrating it to the newest schema, on first use).

    Parameters
    ----------
    url : str, optional
        A SQLAlchemy URL (default :func:`database_url`).

    Raises
    ------
    StoreError
        If the store cannot be reached, or its file is corrupted or not a tilbudskart
        store (the message names the file or URL, never a password).

    """
    url = url or database_url()
    try:
        parsed = sa.make_url(url)
        return _open(parsed)
    except exc.ArgumentError as error:  # a URL of no known database (or a typo)
        shown = url.split("@")[-1] if "@" in url else url
        raise StoreError(f"{DATABASE_URL_ENV}=…{shown}: not a usable database URL "
                         f"({_reason(error)})") from None


def _open(parsed: sa.URL) -> Store:
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        where = str(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"{path.parent}: the state folder cannot be made "
                             f"({error.strerror})") from None
        engine = sa.create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        where = parsed.render_as_string(hide_password=True)
        engine = sa.create_engine(parsed, pool_pre_ping=True,
                                  connect_args={"connect_timeout": 5})
    store = Store(engine, where)
    _migrate(store)
    return store


def _sqlite_connect(dbapi_connection: sqlite3.Connection, record: object) -> None:
    dbapi_connection.isolation_level = None  # transactions begin as _sqlite_begin says
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    # Every transaction takes the write lock at once: two publishes queue, never interleave.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _migrate(store: Store) -> None:
    """Bring the schema to :data:`HEAD_REVISION` (Alembic), refusing foreign databases."""
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    try:
        with store.engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            current = None
            if "alembic_version" in tables:
                current = conn.execute(sa.text("SELECT version_num FROM alembic_version")
                                       ).scalar()
        _check_known(store, tables, current)
        if current == HEAD_REVISION:
            return
        with store._write() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    except StoreError:
        raise
    except CommandError as error:
        raise StoreError(f"{store.where}: the schema could not be brought up to date "
                         f"({error})") from None
    except exc.OperationalError as error:
        raise StoreError(f"{store.where}: the registry store cannot be reached "
                         f"({_reason(error)})") from None
    except exc.DatabaseError as error:
        raise StoreError(f"{store.where}: not a usable registry store "
                         f"({_reason(error)})") from None
    except exc.SQLAlchemyError as error:
        raise StoreError(f"{store.where}: the registry store cannot be reached "
                         f"({_reason(error)})") from None


def _check_known(store: Store, tables: set[str], current: str | None) -> None:
    if current is None and tables - {"alembic_version"}:
        raise StoreError(f"{store.where}: a database of something else, not a tilbudskart "
                         f"registry store (tables: {', '.join(sorted(tables)[:5])})")
    if current is not None and current != HEAD_REVISION:
        from alembic.script import ScriptDirectory

        script = ScriptDirectory(str(Path(__file__).with_name("migrations")))
        if current not in {s.revision for s in script.walk_revisions()}:
            raise StoreError(f"{store.where}: made by a newer or other tilbudskart "
                             f"(schema revision {current!r}, this one knows up to "
                             f"{HEAD_REVISION!r})")
