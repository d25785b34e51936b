"""tilbudskart as served in production: ``streamlit run serve.py`` (see scripts/serve.sh).

The app is ``app.py``, unchanged; this file only wraps it in :class:`streamlit.App` with
the middlewares of :mod:`tilbudskart.serving` (``<html lang="nb">``, websockets from the
page's own origin only), its route for the kommune shapes the maps fetch once
(``/kart/…``), the registry's Meeting Guide feed (``/feed/meeting-guide.json``) and its
warm-up at start (imports, the app data's disk cache, the registry store's poller).

Outermost, gzip (Starlette's :class:`~starlette.middleware.gzip.GZipMiddleware`): the page,
Streamlit's JavaScript and CSS (after their translation) and the map frames go compressed
to browsers that accept it, a first visit about 1.1 MB instead of 2.7 MB. ``/kart/`` files
are stored gzipped already (their ``Content-Encoding`` makes the middleware pass them);
websockets pass untouched. Level 6: about as small as 9 on these files at a third of the
CPU.
"""

import streamlit as st
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware

from tilbudskart import feed
from tilbudskart.serving import MIDDLEWARE, ROUTES, lifespan

COMPRESS = Middleware(GZipMiddleware, minimum_size=500, compresslevel=6)

# The Meeting Guide feed of the published registry: GET /feed/meeting-guide.json.
app = st.App("app.py", middleware=[COMPRESS, *MIDDLEWARE], routes=[*ROUTES, *feed.routes()],
             lifespan=lifespan)
