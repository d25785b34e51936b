"""The server's warm-up and health: imports and app data at start, and the gate that waits for them.

:func:`warm_up` runs beside the server (started by :func:`tilbudskart.serving.lifespan`);
:class:`WarmGate` holds the health check and new sessions until it is done and answers
503 with the reasons while the server is unhealthy (:func:`health_problems`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from starlette.responses import Response

from tilbudskart import settings
from tilbudskart.asgi import ASGIApp, Receive, Scope, Send
from tilbudskart.frontend import _default_translations, check_translations

logger = logging.getLogger("tilbudskart.serving")


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
