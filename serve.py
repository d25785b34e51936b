"""tilbudskart as served in production: ``streamlit run serve.py`` (see scripts/serve.sh).

The app is ``app.py``, unchanged; this file only wraps it in :class:`streamlit.App` with
the middlewares of :mod:`tilbudskart.serving` (``<html lang="nb">``, websockets from the
page's own origin only), its route for the kommune shapes the maps fetch once
(``/kart/…``), the registry's Meeting Guide feed (``/feed/meeting-guide.json``) and its
warm-up at start (imports, the app data's disk cache, the registry store's poller).
"""

import streamlit as st

from tilbudskart import feed
from tilbudskart.serving import MIDDLEWARE, ROUTES, lifespan

# The Meeting Guide feed of the published registry: GET /feed/meeting-guide.json.
app = st.App("app.py", middleware=MIDDLEWARE, routes=[*ROUTES, *feed.routes()],
             lifespan=lifespan)
