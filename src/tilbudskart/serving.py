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

The translation (:mod:`tilbudskart.frontend`), the warm-up and health gate
(:mod:`tilbudskart.warm_gate`) and the test client (:mod:`tilbudskart.streamlit_session`)
live in their own modules; this one holds the websocket origin check, the published files
and what ``serve.py`` takes (:data:`MIDDLEWARE`, :data:`ROUTES`, :func:`lifespan`), and
re-exports the names of the others.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import logging
import threading
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tilbudskart.asgi import ASGIApp, Message, Receive, Scope, Send, _headers
from tilbudskart.frontend import (
    FRONTEND_TRANSLATIONS,
    LANG,
    STATIC_JS,
    TRANSLATED_MAX_AGE,
    HtmlLang,
    NorwegianFrontend,
    Translation,
    bundle_of,
    check_translations,
    read_translations,
    set_html_lang,
    streamlit_js_folder,
    translate_bundle,
)
from tilbudskart.streamlit_session import StreamlitSession
from tilbudskart.warm_gate import (
    GATED_PATHS,
    HEALTH_HOLD_SECONDS,
    LATER_MODULES,
    WARM_MODULES,
    Later,
    WarmGate,
    _warm_up_in_background,
    health_problems,
    warm_up,
    warm_up_later,
)

__all__ = [
    "FRONTEND_TRANSLATIONS", "GATED_PATHS", "HEALTH_HOLD_SECONDS", "LANG", "LATER_MODULES",
    "LOOPBACK_HOSTS", "MAX_PUBLISHED", "MIDDLEWARE", "PUBLISHED_PATH", "PUBLISHED_TYPES",
    "ROUTES", "STATIC_JS", "TRANSLATED_MAX_AGE", "WARM_MODULES", "ASGIApp", "HtmlLang",
    "Later", "Message", "NorwegianFrontend", "Receive", "SameOriginWebsocket", "Scope",
    "Send", "StreamlitSession", "Translation", "WarmGate", "allowed_origin_hosts",
    "bundle_of", "check_translations", "health_problems", "lifespan", "origin_allowed",
    "publish", "published_file", "read_translations", "served", "set_html_lang",
    "streamlit_js_folder", "translate_bundle", "warm_up", "warm_up_later",
]

logger = logging.getLogger("tilbudskart.serving")

#: Origins a websocket may always come from (Streamlit allows these too, on any port).
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "0.0.0.0", "[::1]", "::1"})


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
