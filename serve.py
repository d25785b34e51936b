"""tilbudskart as served in production: ``streamlit run serve.py`` (see scripts/serve.sh).

The app is ``app.py``, unchanged; this file only wraps it in :class:`streamlit.App` with
the middlewares of :mod:`tilbudskart.serving` (``<html lang="nb">``, websockets from the
page's own origin only).
"""

import streamlit as st

from tilbudskart.serving import MIDDLEWARE

app = st.App("app.py", middleware=MIDDLEWARE)
