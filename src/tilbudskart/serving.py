"""How the app is served in production: four small ASGI middlewares around Streamlit.

``serve.py`` (beside ``app.py``) wraps the app in :class:`streamlit.App` with
:data:`MIDDLEWARE`; ``scripts/serve.sh``, the Dockerfile and the browser tests run
``streamlit run serve.py``. The app itself (``app.py``) is unchanged and still runs alone
with ``streamlit run app.py`` during development.

- :class:`HtmlLang` serves Streamlit's single page with ``<html lang="nb">`` instead of
  ``lang="en"``, so screen readers read the Norwegian page with a Norwegian voice.
- :class:`NorwegianFrontend` serves Streamlit's own JavaScript bundles with the English
  texts of its user interface ("Skip to main content", "Search", "No results", "Upload" …)
  replaced by Norwegian ones, from the table ``data/streamlit_nb.csv``. Streamlit has no
  translations of its own; every entry names its bundle, the English literal with its
  quotes (so code is never touched) and how often it occurs, and a test fails when an
  installed Streamlit no longer has it.
- :class:`SameOriginWebsocket` refuses a websocket whose ``Origin`` is neither the page's
  own host nor a configured one. Streamlit itself would answer such a request by looking
  up the machine's internal and external IP address (a UDP socket towards 8.8.8.8 and an
  HTTP request to checkip.amazonaws.com) before refusing it: any web page could make the
  server contact a third party, and, offline, block it for two seconds.
- :class:`WarmGate` lets the server listen at once while the imports and the app data
  load beside it (:func:`lifespan`), and holds the health check and new sessions until
  they are done.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import functools
import gc
import gzip
import hashlib
import importlib
import logging
import re
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tilbudskart import settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

logger = logging.getLogger("tilbudskart.serving")

#: The page language the app is written in (Norwegian bokmål).
LANG = "nb"
#: Origins a websocket may always come from (Streamlit allows these too, on any port).
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "0.0.0.0", "[::1]", "::1"})


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


def _headers(message: Message) -> dict[bytes, bytes]:
    return {key.lower(): value for key, value in message.get("headers", [])}


def _rewriting_body(send: Send, hold: Callable[[Message], Message | None],
                    change: Callable[[bytes], bytes],
                    headers: Callable[[Message, int], list[tuple[bytes, bytes]]],
                    head: bool = False) -> Send:
    """Return a ``send`` that buffers an answer, changes its body and sends it whole.

    ``hold(start)`` returns None to hold that answer, or the message to send instead (the
    answer then passes unchanged). A held body is gunzipped if need be, given to
    ``change``, gzipped again and sent with ``headers(start, length)`` (an empty body as
    it came; no body for a HEAD request).
    """
    start: Message | None = None
    body: list[bytes] = []

    async def rewrite(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            instead = hold(message)
            if instead is None:
                start = message  # hold it until the body is complete
            else:
                await send(instead)
            return
        if start is None or message["type"] != "http.response.body":
            await send(message)
            return
        body.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        content = b"".join(body)
        if content:
            gzipped = _headers(start).get(b"content-encoding") == b"gzip"
            content = change(gzip.decompress(content) if gzipped else content)
            if gzipped:
                content = gzip.compress(content)
            start = {**start, "headers": headers(start, len(content))}
        await send(start)
        await send({"type": "http.response.body", "body": b"" if head else content,
                    "more_body": False})

    return rewrite


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


def allowed_origin_hosts() -> set[str]:
    """Host names a websocket's ``Origin`` may name besides the page's own host.

    Loopback names, the host of ``browser.serverAddress`` and those of
    ``server.corsAllowedOrigins`` (Streamlit's own settings).

    Returns
    -------
    set[str]
        Lower-case host names without port.

    """
    from streamlit import config

    hosts = set(LOOPBACK_HOSTS)
    address = str(config.get_option("browser.serverAddress") or "")
    name = urlsplit(address).hostname if "//" in address else address.split(":")[0]
    hosts.add((name or "").lower())
    for origin in config.get_option("server.corsAllowedOrigins") or []:
        if urlsplit(origin.strip()).hostname:
            hosts.add(str(urlsplit(origin.strip()).hostname).lower())
    hosts.discard("")
    return hosts


def origin_allowed(origin: str | None, host: str | None, allowed: set[str]) -> bool:
    """Whether a websocket from ``origin`` to ``host`` may connect.

    Parameters
    ----------
    origin : str or None
        The ``Origin`` header (browsers always send one; other clients may not).
    host : str or None
        The ``Host`` header of the request.
    allowed : set[str]
        Host names accepted from any port (see :func:`allowed_origin_hosts`).

    Returns
    -------
    bool
        True without an ``Origin``, for the page's own origin, or for an allowed host.

    Examples
    --------
    >>> origin_allowed("https://evil.example", "kart.example.no", {"localhost"})
    False
    >>> origin_allowed("https://kart.example.no", "kart.example.no", {"localhost"})
    True

    """
    if origin is None:
        return True
    parts = urlsplit(origin)
    if host is not None and parts.netloc.lower() == host.lower():
        return True
    return (parts.hostname or "").lower() in allowed


class SameOriginWebsocket:
    """ASGI middleware: refuse (HTTP 403) a websocket from a foreign origin.

    Parameters
    ----------
    app : ASGIApp
        The wrapped application.

    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a websocket from a foreign origin; pass everything else on."""
        if scope["type"] == "websocket":
            headers = _headers(scope)
            origin = headers.get(b"origin")
            host = headers.get(b"host")
            if not origin_allowed(origin.decode("latin-1") if origin else None,
                                  host.decode("latin-1") if host else None,
                                  allowed_origin_hosts()):
                await receive()  # websocket.connect
                await send({"type": "websocket.close", "code": 1008})
                return
        await self.app(scope, receive, send)


#: Set when :func:`warm_up` has finished (or failed) in a server started by ``serve.py``.
_WARM = threading.Event()
#: Paths :class:`WarmGate` holds until the warm-up is done: the health check and the
#: websocket on which a page's session (and its first script run) starts.
GATED_PATHS = ("/_stcore/health", "/_stcore/stream")
#: How long :class:`WarmGate` holds a health check before answering 503 (still warming).
HEALTH_HOLD_SECONDS = 3.0


#: Why this server should not get people (reason → one line), set at start; empty when
#: healthy. :class:`WarmGate` answers ``/_stcore/health`` with 503 and these lines.
_PROBLEMS: dict[str, str] = {}


def health_problems() -> list[str]:
    """Return why the server is unhealthy (empty when it is healthy)."""
    return [f"{key}: {line}" for key, line in sorted(_PROBLEMS.items())]


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


def _check_frontend() -> None:
    """At start: log how many translations apply; an untranslated frontend is unhealthy."""
    try:
        wrong = check_translations()
    except OSError as exc:
        wrong = [f"the bundles cannot be read ({exc.strerror})"]
    total = len(_default_translations())
    (logger.warning if wrong else logger.info)(
        "frontend translations: %d of %d apply to this Streamlit", total - len(wrong), total)
    if wrong:
        _PROBLEMS["frontend"] = (f"{len(wrong)} of {total} Norwegian texts do not apply to "
                                 f"this Streamlit (first: {wrong[0]})")


def _warm_up_in_background() -> None:
    try:
        _check_frontend()
        warm_up()
    finally:
        _WARM.set()


class WarmGate:
    """ASGI middleware: hold health checks and new sessions until the warm-up is done.

    The server listens at once and the warm-up (:func:`warm_up`, about a second of
    imports) runs beside it, so a browser that asks for the page early loads Streamlit's
    frontend (its HTML, scripts and fonts: about a second as well) in the meantime
    instead of waiting for a closed port. What needs the warm-up waits for it: the
    websocket that starts a session and runs the page's script (so the script never
    imports alongside the warm-up), and ``/_stcore/health``, so a proxy or orchestrator
    sends people to a replica only once it answers at full speed. A health check is held
    up to ``hold`` seconds, then answered 503 while the warm-up goes on (a first start
    that builds the app data takes longer).

    Parameters
    ----------
    app : ASGIApp
        The wrapped application.
    hold : float
        Seconds a health check waits for the warm-up (default
        :data:`HEALTH_HOLD_SECONDS`).

    """

    def __init__(self, app: ASGIApp, hold: float = HEALTH_HOLD_SECONDS) -> None:
        self.app = app
        self.hold = hold

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wait for the warm-up on a gated path; pass everything else on at once."""
        path = str(scope.get("path", ""))
        if scope["type"] in ("http", "websocket") and path.endswith(GATED_PATHS):
            health = scope["type"] == "http"
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.hold
            while not _WARM.is_set() and (not health or loop.time() < deadline):
                await asyncio.sleep(0.02)
            if not _WARM.is_set():
                await Response("warming up", status_code=503,
                               headers={"Retry-After": "1"})(scope, receive, send)
                return
            problems = health_problems()
            if health and problems:  # data failing its checks, a failed warm-up, English UI
                await Response("unhealthy: " + "; ".join(problems), status_code=503,
                               media_type="text/plain")(scope, receive, send)
                return
        await self.app(scope, receive, send)


#: What ``serve.py`` passes to :class:`streamlit.App`.
MIDDLEWARE = [Middleware(SameOriginWebsocket), Middleware(WarmGate), Middleware(HtmlLang),
              Middleware(NorwegianFrontend)]


# -- files the page fetches once (kommune shapes) -----------------------------------------

#: Where published files are served (``serve.py`` mounts :data:`ROUTES`).
PUBLISHED_PATH = "/kart/"
#: Content types of published files, by suffix.
PUBLISHED_TYPES = {"geojson": "application/geo+json", "js": "text/javascript",
                   "css": "text/css"}
#: Published files by name: (body, gzip of the body); at most :data:`MAX_PUBLISHED`.
_PUBLISHED: dict[str, tuple[bytes, bytes]] = {}
#: Most files kept published (a few per data version; the oldest goes first).
MAX_PUBLISHED = 32
_MOUNTED = threading.Event()


def served() -> bool:
    """Whether this process serves the app through ``serve.py`` (its lifespan has run)."""
    return _MOUNTED.is_set()


def publish(text: str, suffix: str = ".geojson") -> str | None:
    """Serve ``text`` at a URL named by its checksum, for the page to fetch and keep.

    Maps fetch the kommune shapes (0.7 MB) once this way instead of receiving them with
    every rerun; the name changes whenever the content does, so browsers may keep the
    file for good. Same origin only: nothing is asked of a third party.

    Parameters
    ----------
    text : str
        The file's content (UTF-8).
    suffix : str
        File name suffix, one of :data:`PUBLISHED_TYPES` (gives the content type).

    Returns
    -------
    str or None
        The URL path (``/kart/<sha256>.geojson``), or None when the app is not served
        by ``serve.py`` (``streamlit run app.py``): then the caller sends the data inline.

    """
    if not served():
        return None
    body = text.encode("utf-8")
    name = hashlib.sha256(body).hexdigest()[:32] + suffix
    if name not in _PUBLISHED and len(_PUBLISHED) >= MAX_PUBLISHED:  # oldest out
        _PUBLISHED.pop(next(iter(_PUBLISHED)), None)
    _PUBLISHED.setdefault(name, (body, gzip.compress(body, compresslevel=6)))
    return PUBLISHED_PATH + name


async def published_file(request: Request) -> Response:
    """Answer ``GET /kart/<name>``: a published file, gzipped if the browser accepts it."""
    found = _PUBLISHED.get(str(request.path_params["name"]))
    if found is None:
        return Response(status_code=404)
    body, zipped = found
    headers = {"Cache-Control": "public, max-age=31536000, immutable",
               "X-Content-Type-Options": "nosniff", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        body = zipped
        headers["Content-Encoding"] = "gzip"
    suffix = str(request.path_params["name"]).rsplit(".", 1)[-1]
    return Response(body, media_type=PUBLISHED_TYPES.get(suffix, "application/octet-stream"),
                    headers=headers)


#: What ``serve.py`` passes to :class:`streamlit.App` as ``routes``.
ROUTES = [Route(PUBLISHED_PATH + "{name}", published_file, methods=["GET"])]

#: Modules the app imports on its first run (seconds of imports), imported at start instead.
#: (``streamlit.emojis`` for the page icon and ``pyarrow.pandas_compat`` for the first
#: table are imported by Streamlit on first use.)
WARM_MODULES = ("pandas", "geopandas", "shapely", "pyproj", "scipy.sparse",
                "tilbudskart.pipeline", "tilbudskart.planning", "tilbudskart.access",
                "tilbudskart.geocode", "tilbudskart.views.exports",
                "tilbudskart.views.measures", "tilbudskart.views.text", "streamlit.emojis",
                "pyarrow.pandas_compat")

#: Modules only later pages need (the maps' Folium, the tables' Styler, the report's
#: matplotlib, the map classes, the planning chart): the app imports them at their first
#: use (:class:`Later`) and the server in the background after the first page
#: (:func:`warm_up_later`), so the first page waits for none of them (Folium and its
#: plugins alone take ~0.25 s). Not ``streamlit_folium``: it registers its component when
#: first imported, which must happen in a script run (imported elsewhere, its frame is a
#: 404); what it imports is here.
LATER_MODULES = ("folium", "folium.plugins", "tilbudskart.views.maps",
                 "tilbudskart.views.route", "tilbudskart.views.tables",
                 "matplotlib", "tilbudskart.report", "altair")


class Later:
    """A module imported at the first use of one of its attributes.

    ``maps = Later("tilbudskart.views.maps")`` and then ``maps.base_map()`` imports the
    module where it is first needed instead of where the app starts. Thread-safe (Python's
    import lock); after the first import each use is a lookup in ``sys.modules``.

    Parameters
    ----------
    name : str
        The module's full name.

    """

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        """Import the module (once) and return its ``attribute``."""
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self) -> str:
        """Name the module, imported or not."""
        return f"Later({self._name!r})"


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Keep the garbage collector off inside the block (as it was after it)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def warm_up() -> None:
    """Do at server start what the first visitor would otherwise wait for.

    Imports :data:`WARM_MODULES` and loads the app data
    (:func:`tilbudskart.pipeline.load_app_data`, with ``TILBUDSKART_IMPORTS`` as the app
    reads it; built and put in the disk cache on a first start, kept in this process),
    so the first page only draws. A failure is logged, never raised: the app shows its
    own message. The garbage collector is off during the imports: they create some 10⁵
    long-lived objects and no garbage worth collecting, and its passes over them took
    about a tenth of the imports' time.
    """
    try:
        with _collector_paused():
            for name in WARM_MODULES:
                importlib.import_module(name)
        from tilbudskart import pipeline

        # The data and its poller of the registry store (a publish is seen within seconds).
        pipeline.live_app_data(settings.imports())
    except Exception as exc:  # the app reports a broken data folder itself
        logger.warning("warm-up at start failed with %s", type(exc).__name__)
        # ... and the health check says so, so a proxy sends nobody here.
        _PROBLEMS["warm-up"] = f"failed: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    # What is loaded now lives as long as the server: move it out of the garbage
    # collector's sight, so a full collection (tens of ms over ~10⁵ objects) does not land
    # in the middle of someone's search.
    gc.freeze()


def warm_up_later(wait: Callable[[], bool] | None = None) -> None:
    """Import :data:`LATER_MODULES`; failures are logged, never raised.

    The app starts it in a thread once its first page is drawn (while it was drawn, the
    imports would only have competed with it for the processor). ``wait``, called before
    each import, holds it back while pages are drawn (an import holds the GIL for tens
    of ms at a time); when it returns False (the process is exiting) the rest is skipped.
    """
    try:
        for name in LATER_MODULES:
            if wait is not None and not wait():
                return
            importlib.import_module(name)
    except Exception as exc:  # the page that needs the module will meet the error itself
        logger.warning("later warm-up failed with %s", type(exc).__name__)


@contextlib.asynccontextmanager
async def lifespan(app: object) -> AsyncIterator[None]:
    """``st.App`` lifespan: start :func:`warm_up` beside the server (see :class:`WarmGate`).

    The server reports healthy (``/_stcore/health``) only when warm, so a proxy or
    orchestrator sends a replica people once it can answer them at full speed.
    """
    _MOUNTED.set()  # serve.py mounts ROUTES with this lifespan: publish() can be used
    threading.Thread(target=_warm_up_in_background, name="tilbudskart-warm-up",
                     daemon=True).start()
    yield


# -- a Streamlit session over the websocket (load benchmark, serving tests) ---------------


class StreamlitSession:
    """One browser-like session of a Streamlit app, driven over its websocket.

    Speaks Streamlit's own protocol (``BackMsg``/``ForwardMsg`` protobufs of the installed
    package): ask for a run of the script with some widget values, then read until the
    server says the script has finished. Loopback use only (load benchmark, tests).

    Parameters
    ----------
    url : str
        The app's base URL, e.g. ``http://127.0.0.1:8501``.
    headers : dict[str, str], optional
        Extra request headers of the websocket handshake (e.g. ``Origin``, a cookie).

    """

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url = url.rstrip("/")
        self.headers = dict(headers or {})
        self.widget_ids: dict[str, str] = {}  # widget label -> id, from the last run
        self.texts: list[str] = []  # Markdown, headings and alerts of the last run
        self._ws: Any = None
        self._page_hash = ""

    async def __aenter__(self) -> StreamlitSession:
        """Open the websocket (the server starts a session; the first run makes the page)."""
        from websockets.asyncio.client import connect

        ws_url = "ws" + self.url.removeprefix("http") + "/_stcore/stream"
        self._ws = await connect(ws_url, subprotocols=["streamlit"],  # type: ignore[list-item]
                                 additional_headers=self.headers, max_size=2**27,
                                 open_timeout=30)
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Close the websocket."""
        await self._ws.close()

    async def run(self, query_string: str = "", strings: dict[str, str] | None = None,
                  timeout: float = 120.0) -> float:
        """Run the script once, as a browser does after a widget changes.

        Parameters
        ----------
        query_string : str
            The page URL's query string, e.g. ``side=finn``.
        strings : dict[str, str], optional
            Text widget values by label (ids learnt from an earlier run).
        timeout : float
            Seconds to wait for the script to finish.

        Returns
        -------
        float
            Seconds from sending the request to the ``script_finished`` message.

        """
        import time

        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        back = BackMsg()
        back.rerun_script.query_string = query_string
        back.rerun_script.page_script_hash = self._page_hash
        for label, value in (strings or {}).items():
            state = back.rerun_script.widget_states.widgets.add()
            state.id = self.widget_ids[label]
            state.string_value = value
        self.texts = []
        start = time.perf_counter()
        await self._ws.send(back.SerializeToString())
        async with asyncio.timeout(timeout):
            while True:
                message = ForwardMsg()
                message.ParseFromString(await self._ws.recv())
                kind = message.WhichOneof("type")
                if kind == "new_session":
                    self._page_hash = message.new_session.main_script_hash
                elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                    self._element(message.delta.new_element)
                elif kind == "script_finished":
                    return time.perf_counter() - start

    def _element(self, element: Any) -> None:
        kind = element.WhichOneof("type")
        if kind in ("markdown", "heading", "alert"):
            self.texts.append(getattr(element, kind).body)
        widget = getattr(element, kind, None)
        if widget is not None and hasattr(widget, "id") and hasattr(widget, "label"):
            self.widget_ids[widget.label] = widget.id
