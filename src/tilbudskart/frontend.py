"""Streamlit's frontend in Norwegian: the page's ``lang``, the translated bundles and their checks.

:class:`HtmlLang` serves the page with ``<html lang="nb">``; :class:`NorwegianFrontend`
serves Streamlit's JavaScript bundles with the texts of ``data/streamlit_nb.csv``
replaced; :func:`check_translations` says which entries do not apply to the installed
Streamlit. :mod:`tilbudskart.serving` puts both middlewares in :data:`MIDDLEWARE`.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import logging
import re
from pathlib import Path
from typing import NamedTuple

from tilbudskart import settings
from tilbudskart.asgi import ASGIApp, Message, Receive, Scope, Send, _headers, _rewriting_body

logger = logging.getLogger("tilbudskart.serving")

#: The page language the app is written in (Norwegian bokmål).
LANG = "nb"


def set_html_lang(html: bytes, lang: str = LANG) -> bytes:
    """Set the ``lang`` attribute of a page's ``<html>`` tag.

    Parameters
    ----------
    html : bytes
        The page (UTF-8).
    lang : str
        A BCP 47 language tag.

    Returns
    -------
    bytes
        The page with ``<html lang="…">`` as its first ``<html`` tag; unchanged if the
        page has no ``<html`` tag.

    Examples
    --------
    >>> set_html_lang(b'<!doctype html><html lang="en"><head>')
    b'<!doctype html><html lang="nb"><head>'

    """
    start = html.find(b"<html")
    if start < 0:
        return html
    end = html.find(b">", start)
    if end < 0:
        return html
    return html[:start] + f'<html lang="{lang}"'.encode() + html[end:]


class HtmlLang:
    """ASGI middleware: every HTML page is served with ``<html lang="nb">``.

    Only ``text/html`` answers are touched (Streamlit's ``index.html``, a few kB); they
    are buffered, changed and sent with a corrected ``Content-Length``, gzip or not.

    Parameters
    ----------
    app : ASGIApp
        The wrapped application.
    lang : str
        The language tag to set.

    """

    def __init__(self, app: ASGIApp, lang: str = LANG) -> None:
        self.app = app
        self.lang = lang

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; rewrite the answer if it is an HTML page."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        def hold(message: Message) -> Message | None:
            html = _headers(message).get(b"content-type", b"").startswith(b"text/html")
            return None if html else message

        def headers(start: Message, length: int) -> list[tuple[bytes, bytes]]:
            kept = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            return [*kept, (b"content-length", str(length).encode())]

        rewrite = _rewriting_body(send, hold, lambda page: set_html_lang(page, self.lang),
                                  headers)
        await self.app(scope, receive, rewrite)


#: Streamlit's user-interface texts in Norwegian (see :func:`read_translations`).
FRONTEND_TRANSLATIONS = settings.PACKAGE_DATA / "streamlit_nb.csv"
#: Seconds a browser keeps a translated bundle before asking again (with its ETag).
#: Streamlit sends its bundles as "immutable" for a year, which would keep an old
#: translation in browsers for a year after the table changes.
TRANSLATED_MAX_AGE = 86_400
#: Where Streamlit serves its JavaScript bundles, named ``<bundle>.<8-character hash>.js``.
STATIC_JS = "/static/js/"
_BUNDLE_NAME = re.compile(r"(?P<bundle>.+)\.[A-Za-z0-9_-]{8}\.js")
#: What carries JavaScript syntax around a text: a translation keeps the count of each,
#: and the balance of each pair of brackets (so an interpolation ``${t}`` may go).
_SYNTAX = ("`", '"', "'", "\\", ",", ";")
_BRACKETS = ("{}", "()", "[]")


class Translation(NamedTuple):
    """One English text of Streamlit's frontend and its Norwegian replacement.

    Attributes
    ----------
    bundle : str
        The bundle's name without hash, e.g. ``DataFrame`` for ``DataFrame.-f9-1zS0.js``
        (``utils`` covers every ``utils.*.js``).
    english : str
        The literal as it stands in the bundle, with its quotes and enough code around it
        to be unique (``label:`Search```, never a bare ``Search``).
    norwegian : str
        What replaces it: the same code, Norwegian text.
    occurrences : int
        How many times ``english`` occurs in the installed bundle(s).
    where : str
        Where a user sees it.

    """

    bundle: str
    english: str
    norwegian: str
    occurrences: int
    where: str


def read_translations(path: Path = FRONTEND_TRANSLATIONS) -> tuple[Translation, ...]:
    """Read the table of Streamlit's UI texts in Norwegian.

    Parameters
    ----------
    path : Path
        A CSV file with the columns ``bundle, english, norwegian, occurrences, where``.

    Returns
    -------
    tuple[Translation, ...]
        The rows, in file order.

    Raises
    ------
    ValueError
        Naming file, row and field: a missing value, occurrences that are not a positive
        whole number, an entry that changes nothing, or a Norwegian text whose quotes,
        commas, semicolons or bracket balance differ from the English literal's.

    """
    rows: list[Translation] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            def fail(field: str, why: str, number: int = number) -> ValueError:
                return ValueError(f"{path.name}, row {number}, field {field!r}: {why}")

            for field in Translation._fields:
                if not (row.get(field) or "").strip():
                    raise fail(field, "missing")
            if not row["occurrences"].isdigit() or int(row["occurrences"]) < 1:
                raise fail("occurrences",
                           f"{row['occurrences']!r} is not a positive whole number")
            if row["english"] == row["norwegian"]:
                raise fail("norwegian", "the same as the English text")
            english, norwegian = row["english"], row["norwegian"]
            for token in _SYNTAX:
                if english.count(token) != norwegian.count(token):
                    raise fail("norwegian", f"has another number of {token!r} than the "
                                            "English literal (the code around it must stay)")
            for pair in _BRACKETS:
                if (english.count(pair[0]) - english.count(pair[1])
                        != norwegian.count(pair[0]) - norwegian.count(pair[1])):
                    raise fail("norwegian", f"leaves {pair} unbalanced")
            rows.append(Translation(row["bundle"], row["english"], row["norwegian"],
                                    int(row["occurrences"]), row["where"]))
    return tuple(rows)


def bundle_of(file_name: str) -> str | None:
    """Name the bundle a Streamlit JavaScript file belongs to (None for another file).

    Examples
    --------
    >>> bundle_of("DataFrame.-f9-1zS0.js")
    'DataFrame'
    >>> bundle_of("index.html") is None
    True

    """
    match = _BUNDLE_NAME.fullmatch(file_name)
    return match.group("bundle") if match else None


def translate_bundle(source: bytes, translations: tuple[Translation, ...]
                     ) -> tuple[bytes, dict[Translation, int]]:
    """Replace the English texts of one bundle by Norwegian ones.

    Parameters
    ----------
    source : bytes
        The bundle (UTF-8 JavaScript).
    translations : tuple[Translation, ...]
        The entries of this bundle.

    Returns
    -------
    tuple[bytes, dict[Translation, int]]
        The translated bundle, and how often each entry's English text was found (which
        may differ from its ``occurrences`` in another Streamlit version).

    """
    found: dict[Translation, int] = {}
    for entry in translations:
        english = entry.english.encode()
        found[entry] = source.count(english)
        source = source.replace(english, entry.norwegian.encode())
    return source, found


@functools.cache
def _default_translations() -> tuple[Translation, ...]:
    return read_translations()


class NorwegianFrontend:
    """ASGI middleware: Streamlit's JavaScript bundles with a Norwegian user interface.

    A request for a bundle that :data:`FRONTEND_TRANSLATIONS` names is answered with the
    translated bundle (gzip or not), its ``Content-Length`` fixed, and an ``ETag`` of its
    own (Streamlit's, with a digest of the table appended), so a cached copy is used only
    while both the bundle and the table are unchanged; ``Last-Modified`` and range requests
    are dropped for these files, and they are cached for :data:`TRANSLATED_MAX_AGE`
    seconds. Every other request passes untouched. Whether every entry applies is checked
    once at start over each bundle family (:func:`check_translations`: split chunks give
    no false alarm); when one does not, the health check answers 503.

    Parameters
    ----------
    app : ASGIApp
        The wrapped application.
    translations : tuple[Translation, ...], optional
        The table (default: :func:`read_translations`).

    """

    def __init__(self, app: ASGIApp,
                 translations: tuple[Translation, ...] | None = None) -> None:
        self.app = app
        table = _default_translations() if translations is None else tuple(translations)
        self.bundles: dict[str, tuple[Translation, ...]] = {}
        for entry in table:
            self.bundles[entry.bundle] = (*self.bundles.get(entry.bundle, ()), entry)
        digest = hashlib.sha256(repr(table).encode()).hexdigest()[:12]
        self.etag_suffix = f"-nb{digest}".encode()

    def _entries(self, scope: Scope) -> tuple[Translation, ...]:
        path = str(scope.get("path", ""))
        if (scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD")
                or STATIC_JS not in path):
            return ()
        bundle = bundle_of(path.rsplit("/", 1)[-1])
        return self.bundles.get(bundle or "", ())

    def _etag(self, etag: bytes) -> bytes:
        return etag[:-1] + self.etag_suffix + b'"' if etag.endswith(b'"') else etag

    def _request_headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        """Give Streamlit the request's headers with conditions on the original file only."""
        kept = []
        for key, value in scope.get("headers", []):
            name = key.lower()
            if name in (b"range", b"if-range", b"if-modified-since"):
                continue
            if name == b"if-none-match":  # our tags, as Streamlit's; drop the others
                tags = [tag.strip().removesuffix(self.etag_suffix + b'"') + b'"'
                        for tag in value.split(b",")
                        if tag.strip().endswith(self.etag_suffix + b'"')]
                if not tags:
                    continue
                value = b", ".join(tags)
            kept.append((key, value))
        return kept

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; translate the answer if it is a bundle in the table."""
        entries = self._entries(scope)
        if not entries:
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        inner = {**scope, "method": "GET", "headers": self._request_headers(scope)}
        def hold(message: Message) -> Message | None:
            if message["status"] == 304:
                return {**message, "headers": self._headers(message, None)}
            return None if message["status"] == 200 else message

        def translate(source: bytes) -> bytes:
            return translate_bundle(source, entries)[0]

        rewrite = _rewriting_body(send, hold, translate, self._headers, head=head)
        await self.app(inner, receive, rewrite)

    def _headers(self, start: Message, length: int | None) -> list[tuple[bytes, bytes]]:
        """Make the answer's headers: own ETag, no Last-Modified, shorter caching, length."""
        headers = []
        for key, value in start.get("headers", []):
            name = key.lower()
            if name in (b"last-modified", b"cache-control", b"accept-ranges") or (
                    name == b"content-length" and length is not None):
                continue
            headers.append((key, self._etag(value) if name == b"etag" else value))
        headers.append((b"cache-control", f"public, max-age={TRANSLATED_MAX_AGE}".encode()))
        if length is not None:
            headers.append((b"content-length", str(length).encode()))
        return headers



def streamlit_js_folder() -> Path:
    """Return the folder of the installed Streamlit's JavaScript bundles."""
    import streamlit

    return Path(streamlit.__file__).parent / "static" / "static" / "js"


def check_translations(folder: Path | None = None,
                       table: tuple[Translation, ...] | None = None) -> list[str]:
    """Check the frontend translation table against the installed bundles, per family.

    A bundle family is every file with the same name before its hash (``utils.*.js``):
    an entry's English text is counted over all of them, so a text that moved to another
    split chunk of the same family is no false alarm.

    Returns
    -------
    list of str
        One line per entry that would not apply as the table says (found another number
        of times); empty when every entry applies.

    """
    folder = streamlit_js_folder() if folder is None else folder
    table = _default_translations() if table is None else table
    families: dict[str, list[bytes]] = {}
    for path in sorted(folder.glob("*.js")):
        family = bundle_of(path.name)
        if family is not None and any(entry.bundle == family for entry in table):
            families.setdefault(family, []).append(path.read_bytes())
    wrong = []
    for entry in table:
        found = sum(source.count(entry.english.encode())
                    for source in families.get(entry.bundle, []))
        if found != entry.occurrences:
            wrong.append(f"{entry.bundle}: {entry.english!r} found {found} times, the table "
                         f"says {entry.occurrences}")
    return wrong
