"""The published registry for the pipeline: each organisation's list in force, and its date.

Every organisation's rows are its latest published version in the registry store
(:mod:`tilbudskart.store`), else the 2007 report's rows (version 0). :func:`read_published`
reads that once (at build time, never per search); :func:`registry_dates` says, per
organisation, how old the list in force is ("Al-Anon: lista er oppdatert 4. desember
2026", "LMS: fra rapporten, 2007"); :class:`LiveData` keeps a server's data current: it
polls the store's newest version id every few seconds, rebuilds in the background, and
swaps the whole data at once (a reader sees the old data or the new, never half).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from tilbudskart import importers, settings

logger = logging.getLogger(__name__)

#: Seconds between two looks at the store's newest version (a publish shows within
#: this plus a rebuild, about 1–2 s; the look is one indexed SELECT).
POLL_SECONDS = 1.0

#: The report the registry's rows come from (version 0 of every organisation).
REPORT_YEAR = 2007


@dataclass(frozen=True)
class ListDate:
    """How old an organisation's list in force is.

    Attributes
    ----------
    organisation : str
        Organisation id.
    version : int
        The version in force (0: the 2007 report; a rollback to it is 0 as well).
    published_at : datetime or None
        When the rows in force were first published (None: the 2007 report).

    """

    organisation: str
    version: int
    published_at: dt.datetime | None = None

    @property
    def from_report(self) -> bool:
        """Whether the rows in force are the 2007 report's."""
        return self.published_at is None

    def text_nb(self) -> str:
        """Return the Norwegian line: "Al-Anon: lista er oppdatert 4. desember 2026"."""
        name = settings.ORGANISATIONS.get(self.organisation, self.organisation)
        if self.published_at is None:
            return f"{name}: fra rapporten, {REPORT_YEAR}"
        from babel.dates import format_date

        when = format_date(self.published_at.astimezone(dt.UTC).date(), "d. MMMM y",
                           locale="nb_NO")
        return f"{name}: lista er oppdatert {when}"


@dataclass
class Published:
    """What the store holds for the pipeline (read by :func:`read_published`).

    Attributes
    ----------
    results : list of ImportResult
        One per organisation whose list in force is a published one (not the 2007 rows).
    dates : dict of str to ListDate
        Every organisation's list date.
    head : int or None
        The store's newest version id (0: nothing published; None: store not read).
    notice : str or None
        Why the store could not be read (the 2007 rows or the last build are shown).

    """

    results: list[importers.ImportResult] = field(default_factory=list)
    dates: dict[str, ListDate] = field(default_factory=dict)
    head: int | None = None
    notice: str | None = None

    @property
    def organisations(self) -> set[str]:
        """Organisations whose published list replaces their 2007 rows."""
        return {str(o) for r in self.results for o in r.services["organisation"].unique()}

    @property
    def key(self) -> str:
        """A short digest of the versions in force (changes with every publish)."""
        text = ";".join(f"{o}={d.version}@{d.published_at}" for o, d in sorted(self.dates.items()))
        return hashlib.sha256(f"{self.head}|{text}".encode()).hexdigest()[:16]


def report_dates() -> dict[str, ListDate]:
    """Return every organisation's date when nothing is published (the 2007 report)."""
    return {o: ListDate(o, 0) for o in settings.ORGANISATIONS}


def read_published(store: Any = None) -> Published:
    """Read each organisation's list in force from the store.

    Parameters
    ----------
    store : tilbudskart.store.Store, optional
        The store (opened by :func:`tilbudskart.store.open_store` when omitted).

    Returns
    -------
    Published
        With ``notice`` set (and the 2007 rows for everyone) when the store cannot be
        read; this never raises for a store fault.

    """
    from sqlalchemy.exc import SQLAlchemyError

    from tilbudskart.store import StoreError, open_store

    dates = report_dates()
    try:
        store = store if store is not None else open_store()
        head = store.head()
        latest = store.latest()
        results = []
        for organisation, version in sorted(latest.items()):
            if version.rows_from == 0:
                dates[organisation] = ListDate(organisation, 0)
                continue
            origin = (version if version.rows_from == version.number
                      else store.version(organisation, version.rows_from))
            rows = store.rows(version)
            dates[organisation] = ListDate(organisation, version.number,
                                           (origin or version).published_at)
            results.append(importers.ImportResult(
                rows["registry_file"].iloc[0] if len(rows) else version.file_name, "csv",
                "UTF-8", ",", len(rows), rows))
    except (StoreError, SQLAlchemyError) as error:
        notice = (str(error) if isinstance(error, StoreError)
                  else f"the registry store could not be read ({type(error).__name__})")
        logger.warning("registry store not read: %s", notice)
        return Published(dates=report_dates(), notice=notice)
    return Published(results, dates, head)


def list_date_lines(source: Any = None) -> list[str]:
    """Return one line per self-help organisation saying how old its list in force is.

    E.g. "Al-Anon/Alateen/VBA: lista er oppdatert 4. desember 2026" or "LMS: fra rapporten,
    2007"; ``source`` as for :func:`registry_dates`.
    """
    dates = registry_dates(source)
    return [dates[o].text_nb() for o in settings.SELF_HELP_ORGANISATIONS if o in dates]


def registry_dates(source: Any = None) -> dict[str, ListDate]:
    """Return how old each organisation's list in force is.

    For views: ``registry_dates(data)[organisation].text_nb()`` gives "Al-Anon: lista er
    oppdatert 4. desember 2026" or "LMS: fra rapporten, 2007".

    Parameters
    ----------
    source : AppData, Dataset or Published, optional
        Anything with ``list_dates`` (what the data was built from) or ``dates``; when
        omitted, the store is read now.

    Returns
    -------
    dict of str to ListDate
        Every organisation of :data:`tilbudskart.settings.ORGANISATIONS`.

    """
    if source is None:
        return read_published().dates
    dates = getattr(source, "list_dates", None) or getattr(source, "dates", None)
    return {**report_dates(), **(dates or {})}


T = TypeVar("T")


class LiveData(Generic[T]):
    """A server's data, rebuilt when the store's newest version changes.

    Parameters
    ----------
    data : T
        The data now (it has ``registry_head``: the version id it was built from).
    rebuild : callable
        ``rebuild(data) -> T``: the data built afresh from the store (in the background).
    head : callable
        Returns the store's newest version id (None when the store cannot be reached).
    interval : float
        Seconds between two looks (:data:`POLL_SECONDS`).

    """

    def __init__(self, data: T, rebuild: Callable[[T], T], head: Callable[[], int | None],
                 interval: float = POLL_SECONDS):
        self._data, self.generation = data, 0
        self._rebuild, self._head, self.interval = rebuild, head, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def current(self) -> tuple[T, int]:
        """Return the data in force and its generation (one read: never half a swap)."""
        return self._data, self.generation

    def check(self) -> bool:
        """Look at the store once; rebuild and swap if it moved on. Return whether it did."""
        try:
            head = self._head()
        except Exception as exc:  # a store fault: keep serving what we have
            logger.warning("registry store not polled (%s)", type(exc).__name__)
            return False
        stale = getattr(self._data, "store_notice", None) is not None  # store was away
        if head is None or (head == getattr(self._data, "registry_head", None)
                            and not stale):
            return False
        data = self._rebuild(self._data)
        self._data, self.generation = data, self.generation + 1
        logger.info("registry version %s in force (generation %d)", head, self.generation)
        return True

    def start(self) -> LiveData[T]:
        """Poll in a daemon thread (once per process); return self."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="registry-poll",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop polling."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception as exc:  # a failed rebuild keeps the old data; try again
                logger.warning("registry rebuild failed with %s", type(exc).__name__)
