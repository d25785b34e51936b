"""tilbudskart — Streamlit entry point: wiring only.

Navigation, the data, the error boundary and the footer; each page is a module of
:mod:`tilbudskart.pages` (``finn``, ``dekning``, ``nye``, ``last``), whose figures come from
tested functions of the package. Run with ``streamlit run app.py`` (TILBUDSKART_DATA_DIR
must point at the shared geodata).

Searches are never logged, stored or put in the URL, and the page asks no third party
unless the user turns the background map on. No exception reaches the browser: each page
runs inside :func:`guarded`, which logs the error's type and place (never the search) and
shows a short Norwegian message with the phone lines.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable

import streamlit as st

from tilbudskart import pipeline, published, serving, settings, warmup
from tilbudskart.pages import dekning, finn, last, nye, shared
from tilbudskart.pages.shared import (
    call_for_advice,
    current_data,
    init_state,
    load,
    logger,
    national_lines,
    planner,
    share_state,
    uploaded,
)
from tilbudskart.views import language
from tilbudskart.views.text import escape_markdown

st.set_page_config(page_title="tilbudskart – hjelp for pårørende", page_icon="🗺️",
                   layout="wide")

PAGES = {"finn": "Finn nærmeste gruppe", "dekning": "Dekningskart",
         "nye": "Hvor trengs nye grupper", "last": "Last opp oppdatert liste"}

#: URL parameters each page shares (anything else is dropped when the page changes).
PAGE_PARAMS = {"finn": (), "dekning": ("org", "maal", "kommune"),
               "nye": ("org", "antall", "naer", "med", "hensyn"), "last": ()}


def footer() -> None:
    st.divider()
    st.caption(
        f"**Kilde for tjenestene:** Institutt for samfunnsforskning (ISF), «Tilbud til "
        f"pårørende av personer med rusmiddelproblemer» (2007). **Registeret er fra "
        f"{settings.DATA_YEARS['registry']}**: grupper kan ha blitt lagt ned eller startet "
        f"siden. Avstander er i luftlinje; kjøretider er anslag på Kartverkets vegnett N1000 "
        f"(antatte hastigheter, {settings.FERRY_WAIT_MIN:.0f} min venting per ferje).  \n"
        "Kommunegrenser og vegnett © Kartverket (CC BY 4.0) · Befolkning © Statistisk "
        "sentralbyrå (CC BY 4.0) · Postnummerkoordinater: Erik Bolstad, "
        "[www.erikbolstad.no/postnummer/](https://www.erikbolstad.no/postnummer/) "
        "(CC BY 3.0) · Stedsnavn: GeoNames (CC BY 4.0) · Postnummer © Posten Norge AS.")
    try:
        dates = published.registry_dates(current_data())
    except Exception:  # a broken data folder: the page's error boundary has said so
        return
    st.caption("**Listene:** " + escape_markdown("; ".join(
        dates[o].text_nb() for o in settings.SELF_HELP_ORGANISATIONS if o in dates)) + ".")


# -- error boundary -----------------------------------------------------------------------


def guarded(page: Callable[[], None], where: str) -> None:
    """Run a page; on any error, show a short Norwegian message with the phone lines.

    The error's type and place are logged on the server, never its message (it may hold
    what someone searched for).
    """
    try:
        page()
    except Exception as exc:  # the boundary: nothing reaches the browser
        frames = "".join(traceback.format_tb(exc.__traceback__))
        logger.error("%s failed with %s\n%s", where, type(exc).__name__, frames)
        st.error("Beklager – noe gikk galt her, og feilen er meldt til de som drifter "
                 "tjenesten. Prøv igjen, eller ring et av numrene under.")
        lines = pipeline.read_national_lines()
        call_for_advice(lines)
        national_lines(lines)


def store_notice() -> str | None:
    """Why the registry store could not be read (None: read; a data fault shows in the page)."""
    try:
        return load().store_notice
    except Exception:  # the page's own error boundary reports a broken data folder
        return None


@warmup.foreground()  # background warm-ups hold back while a page is drawn
def main() -> None:
    # The app's own texts in bokmål or nynorsk: kept in this session, never in the URL.
    # (A kommune's panel and report are in the kommune's own målform.) The chooser is at
    # the foot of the page, so that on a phone the answer comes first.
    written = str(st.session_state.get("malform", "nb"))
    st.title("tilbudskart", anchor=False)
    st.markdown(language.text("app.tagline", written))
    init_state("side", list(PAGES), "finn")
    st.radio(language.text("app.choose_view", written), list(PAGES),
             format_func=lambda key: language.text(f"app.page_{key}", written), key="side",
             horizontal=True)
    side = st.session_state.side
    for key in list(st.query_params):
        if key != "side" and key not in PAGE_PARAMS[side]:
            del st.query_params[key]
    share_state("side")
    if uploaded() is not None:
        st.info(language.text("app.uploaded", written))
    elif store_notice():
        st.warning("Registeret over publiserte lister kan ikke nås nå. Du ser de sist "
                   "bygde dataene; publisering er stengt til registeret er tilbake.")
    # The page's own heading (h2) for screen readers, between the title (h1) and the
    # page's sections (h3): headings go one level at a time (axe "heading-order").
    st.html(f'<h2 class="tk-page-heading">{PAGES[side]}</h2><style>.tk-page-heading '
            "{position: absolute; width: 1px; height: 1px; overflow: hidden; "
            "clip-path: inset(50%); white-space: nowrap; margin: 0; padding: 0;}"
            ".stElementContainer:has(.tk-page-heading) {position: absolute;}"
            # Captions are drawn at 60 % opacity: their links in the text colour (underlined)
            # keep 4.9:1 on white, Streamlit's link blue only 3:1 (axe "color-contrast").
            '[data-testid="stCaptionContainer"] a {color: inherit !important;}</style>')
    page = {"finn": finn.page_find, "dekning": dekning.page_coverage,
            "nye": nye.page_new_groups, "last": last.page_upload}[side]
    guarded(lambda: page(current_data()), f"page {side!r}")
    footer()
    st.radio(language.text("app.language", written), list(language.LANGUAGES),
             format_func=language.LANGUAGES.get, key="malform", horizontal=True)
    warm_up_later()


@st.cache_resource(show_spinner=False)
def warm_up_later() -> None:
    """Once per process, after the first page: get later pages ready in the background.

    Imports what they need; in production (served by serve.py) also starts the planner,
    which loads what an earlier start saved and warms the rest (see :func:`planner`).
    """
    threading.Thread(target=serving.warm_up_later, args=(warmup.wait_for_quiet,),
                     name="warm-up-later", daemon=True).start()
    if serving.served():
        planner()


shared.begin_run()
main()
