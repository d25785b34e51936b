"""tilbudskart as served in production: ``streamlit run serve.py`` (see scripts/serve.sh).

The app is ``app.py``, unchanged; this file only wraps it in :class:`streamlit.App` with
the middlewares of :mod:`tilbudskart.serving` (``<html lang="nb">``, websockets from the
page's own origin only), its route for the kommune shapes the maps fetch once
(``/kart/…``) and its warm-up at start (imports, the app data's disk cache).
"""

import streamlit as st

from tilbudskart.serving import MIDDLEWARE, ROUTES, lifespan

app = st.App("app.py", middleware=MIDDLEWARE, routes=ROUTES, lifespan=lifespan)
