"""What every page shares: the data shown, the Streamlit caches, map helpers and phone lines.

The shared data and everything made from it (maps' layers, the planner, reports) are kept
once per process in Streamlit's caches; :func:`load` drops them when the registry store
publishes. An upload (this browser session's list) is shown instead of the shared data
(:func:`current_data`) and never enters a shared cache.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import streamlit as st

from tilbudskart import access, answers, pipeline, planning, published, serving, settings, warmup
from tilbudskart.views import exports, measures
from tilbudskart.views.text import escape_markdown

if TYPE_CHECKING:
    import folium

    from tilbudskart import report
    from tilbudskart.views import maps
else:  # imported at first use (the first page draws no map or table)
    maps = serving.Later("tilbudskart.views.maps")
    report = serving.Later("tilbudskart.report")  # matplotlib: ~0.5 s

logger = logging.getLogger("tilbudskart.app")


ORG_CHOICES = {"alle": "Alle selvhjelpsgrupper",
               **{o: settings.ORGANISATIONS[o] for o in settings.SELF_HELP_ORGANISATIONS}}

DEFAULT_NEW_GROUPS, DEFAULT_NEAR = "5", planning.DEFAULT_NEAR  # the page's first question


@st.cache_resource(show_spinner="Laster data …")
def live() -> Any:
    # Extra service lists (registry CSV format): settings.imports() (TILBUDSKART_IMPORTS).
    return pipeline.live_app_data(settings.imports())


@st.cache_resource(show_spinner=False)
def _shown_generation() -> list[int]:
    return [0]

#: The data this script run shows, per script thread (reset by :func:`begin_run` at the
#: start of every run): one run never mixes the data before and after a publish.
_THIS_RUN = threading.local()


def begin_run() -> None:
    """Forget the data the previous run on this thread showed (app.py, first thing)."""
    _THIS_RUN.data = None


def load() -> pipeline.AppData:
    """The shared data in force: the registry store's published lists (polled; a publish
    swaps the whole data, and the caches built from the old data are dropped)."""
    shown_now = getattr(_THIS_RUN, "data", None)
    if shown_now is not None:
        return shown_now
    data, generation = live().current()
    shown = _shown_generation()
    if shown[0] != generation:
        shown[0] = generation
        for cached in (_shared_choropleth, _shared_markers, planner, _shared_report_data,
                       _shared_kommune_pdf, _shared_coverage_picture):
            cached.clear()
    _THIS_RUN.data = data
    return data


@st.cache_resource(show_spinner=False)
def national_polygons() -> tuple[gpd.GeoDataFrame, str]:
    """Simplified kommune polygons and their outlines as GeoJSON, once per process."""
    polygons = maps.national_polygons(load().polygons)
    return polygons, maps.outline_geojson(polygons)


def uploaded() -> pipeline.Upload | None:
    """This browser session's uploaded list (kept in session state only, never on disk)."""
    upload = st.session_state.get("opplasting")
    return upload if isinstance(upload, pipeline.Upload) and upload.data is not None else None


def current_data() -> pipeline.AppData:
    """The data every page shows: the shared data, or this session's with its upload."""
    upload = uploaded()
    return upload.data if upload is not None and upload.data is not None else load()


@st.cache_resource(show_spinner=False)
def shapes_url() -> str | None:
    """Where the page fetches the kommune shapes once (None: not served by serve.py)."""
    return serving.publish(national_polygons()[1])


@st.cache_resource(show_spinner=False)
def map_assets() -> maps.Assets | None:
    """Leaflet and jQuery as files the page fetches once (None: not served by serve.py)."""
    return maps.published_assets(serving.publish)


def st_folium(fmap: folium.Map, **kwargs: Any) -> Any:
    """streamlit-folium's ``st_folium``, imported at the first map drawn (it registers its
    component when imported, which must happen in a script run)."""
    from streamlit_folium import st_folium as draw

    return draw(fmap, **kwargs)


def new_map(tiles: bool = False) -> folium.Map:
    """An empty map (no CDN; Leaflet from this server, or inline in development)."""
    return maps.base_map(tiles=tiles, assets=map_assets())


def outlines() -> folium.MacroElement:
    """Plain kommune outlines (the offline base map)."""
    return maps.outline_layer(national_polygons()[1], shapes_url())


@st.cache_resource(show_spinner=False)
def _shared_choropleth(organisation: str | None, measure: str, inline: bool) -> str:
    """The choropleth of one organisation and measure as text, once per process."""
    return _choropleth_text(load(), organisation, measure, inline)


def _choropleth_text(data: pipeline.AppData, organisation: str | None, measure: str,
                     inline: bool) -> str:
    # The organisation's own table: the tooltip names its nearest group, not any group.
    kommuner = pipeline.organisation_table(data, organisation)
    column = measures.MEASURES[measure].column()
    if inline:  # shapes and all
        return maps.coverage_geojson(national_polygons()[0], kommuner, column,
                                     measures.MEASURES[measure])
    return maps.coverage_properties(kommuner, column, measures.MEASURES[measure])


def choropleth(organisation: str | None, measure: str) -> folium.MacroElement:
    """The coverage layer of the data shown (an upload's is computed per session)."""
    url = shapes_url()
    text = (_shared_choropleth(organisation, measure, url is None) if uploaded() is None
            else _choropleth_text(current_data(), organisation, measure, url is None))
    return maps.coverage_layer(text, url)


def _markers(data: pipeline.AppData, layer: str) -> str:
    """GeoJSON of one organisation's groups, or of the institutions (``"institution"``)."""
    services = access.located(data.services, kind=None)
    chosen = (services[services["kind"] == "institution"] if layer == "institution"
              else services[(services["kind"] == "self_help")
                            & (services["organisation"] == layer)])
    return maps.service_geojson(chosen)


@st.cache_resource(show_spinner=False)
def _shared_markers(layer: str) -> tuple[str, str | None]:
    geojson = _markers(load(), layer)
    return geojson, serving.publish(geojson)


def markers(layer: str, name: str) -> folium.FeatureGroup:
    """The coverage map's markers of one layer.

    Shared data: serialised once per process and, where served by serve.py, fetched once
    by the page. An upload's are sent inline (never published: they are this session's).
    """
    if uploaded() is None:
        geojson, url = _shared_markers(layer)
        return maps.service_markers(geojson, name, url=url)
    return maps.service_markers(_markers(current_data(), layer), name)


def org_id(choice: str) -> str | None:
    """The organisation id of a choice ("alle" means any self-help organisation)."""
    return None if choice == "alle" else choice


@st.cache_resource(show_spinner=False)
def planner() -> planning.Planner:
    """The planning models of this process: each built once, then kept (thread-safe)."""
    data = load()
    models = planning.Planner(data.kommuner, data.grid, data.services, data.network,
                              pause=warmup.wait_for_quiet)
    folder = pipeline.cache_dir()
    if folder is not None and settings.planning_warm() != "off":
        # What an earlier server start saved for this very data: loaded at the first
        # planning question, or by the warm-up when no page is being drawn (about a
        # second of one core, holding the GIL: not inside someone's first page).
        models.defer_load(folder)
    # In the background (holding back while pages are drawn): every threshold, objective
    # and organisation's first question (the page's default first), saved after each
    # organisation, so that it is ready now and after the next restart.
    threading.Thread(target=warm_up, args=(models, folder), name="planning-warm-up",
                     daemon=True).start()
    return models


def warm_up(models: planning.Planner, folder: Path | None = None) -> None:
    """Load, build and save the planning models; a failure is logged (the page builds)."""
    scope = settings.planning_warm()
    try:
        if warmup.wait_for_quiet():
            models.load_deferred()
        if scope == "all":
            models.warm_all(k=int(DEFAULT_NEW_GROUPS), first=(DEFAULT_NEAR, None),
                            after_each=None if folder is None else lambda: models.save(folder))
        elif scope == "default":
            models.warm(k=int(DEFAULT_NEW_GROUPS))
    except Exception as exc:  # the page will meet (and show) the same error itself
        logger.warning("planning warm-up failed with %s", type(exc).__name__)


def current_planner() -> planning.Planner:
    """The planner of the data shown: the shared one, or this session's for its upload."""
    upload = uploaded()
    if upload is None or upload.data is None:
        return planner()
    kept = st.session_state.get("opplasting_planner")
    if not (isinstance(kept, tuple) and kept[0] is upload):
        data = upload.data
        kept = (upload, planning.Planner(data.kommuner, data.grid, data.services,
                                         data.network))
        st.session_state["opplasting_planner"] = kept
    return kept[1]


@st.cache_resource(show_spinner=False)
def _shared_report_data() -> report.ReportData:
    """What every kommune report needs (site ranking, polygons), once per process."""
    return report.ReportData.from_app_data(load())


@st.cache_data(show_spinner=False, max_entries=64)
def _shared_kommune_pdf(number: str) -> bytes:
    return report.kommune_report(_shared_report_data(), number)


@st.cache_data(show_spinner=False, max_entries=24)
def _shared_coverage_picture(measure: str, organisation: str, fmt: str) -> bytes:
    data = load()
    return report.coverage_image(data.polygons, data.kommuner, measure,
                                    org_id(organisation), fmt)


def kommune_pdf(number: str) -> Callable[[], bytes]:
    """Return what makes one kommune's report (PDF) when its button is clicked.

    The data (shared, or this session's with its upload) is chosen now, while the page
    is drawn; the PDF is made only on a click (a deferred download).
    """
    upload = uploaded()
    if upload is None or upload.data is None:
        return lambda: _shared_kommune_pdf(number)
    data = upload.data
    return lambda: report.kommune_report(report.ReportData.from_app_data(data), number)


def coverage_picture(measure: str, organisation: str, fmt: str) -> Callable[[], bytes]:
    """Return what makes the national coverage map (PNG/SVG, 1920 × 1080 px) on a click."""
    upload = uploaded()
    if upload is None or upload.data is None:
        return lambda: _shared_coverage_picture(measure, organisation, fmt)
    data = upload.data
    return lambda: report.coverage_image(data.polygons, data.kommuner, measure,
                                            org_id(organisation), fmt)


def table_file(data: pipeline.AppData, organisation: str | None, measure: str, fmt: str,
               fylker: tuple[str, ...]) -> Callable[[], bytes]:
    """Return what makes the kommune table as .xlsx, CSV or GeoPackage on a click.

    The data (shared, or this session's with its upload) is chosen now; the file is made
    only when its button is clicked (a deferred download).
    """
    return lambda: exports.kommune_table_file(
        pipeline.organisation_table(data, organisation), national_polygons()[0],
        organisation, measure, fmt, fylker, data.attributions,
        published.list_date_lines(data))


def init_state(key: str, options: list[str], default: str) -> str | None:
    """Take a widget's first value from the URL, so every view can be shared.

    Returns the URL's value when it is not one of the options (the default is used), so
    the page can say so; else ``None``.
    """
    if key not in st.session_state:
        value = st.query_params.get(key, default)
        st.session_state[key] = value if value in options else default
        if value not in options:
            return str(value)
    return None


def share_state(*keys: str) -> None:
    for key in keys:
        st.query_params[key] = st.session_state[key]


# -- phone lines -------------------------------------------------------------------------


def _tel(phone: str) -> str:
    """A ``tel:`` link target: the first number's digits only (no text from data)."""
    first = phone.split(";")[0].split("(")[0]
    return "".join(ch for ch in first if ch.isdigit())


def call_for_advice(lines: pd.DataFrame) -> None:
    """A compact "Ring for råd" block: the few lines a relative needs first."""
    st.markdown(answers.derived(lines, "call_for_advice", lambda: _call_for_advice(lines)))


def _call_for_advice(lines: pd.DataFrame) -> str:
    compact = lines[lines["compact"] == "1"]
    items = " · ".join(f"{escape_markdown(row.name)} [{escape_markdown(row.phone)}]"
                       f"(tel:{_tel(row.phone)})" for row in compact.itertuples())
    return f"**Ring for råd:** {items} · Akutt fare: [113](tel:113)"


def national_lines(lines: pd.DataFrame, heading: bool = True) -> None:
    if heading:
        st.subheader("Ring for råd – uansett hvor du bor", anchor=False)
    # One element for all the lines (each element costs the page a message and a redraw).
    national, local = answers.derived(lines, "national_lines", lambda: _national_lines(lines))
    st.markdown(national)
    if local:
        with st.expander("Tilbud i Oslo"):
            st.markdown(local)
    st.caption("Numrene er hentet fra kildene i data/national_lines.csv og kan ha endret seg. "
               "Ved akutt fare: ring 113.")


def _national_lines(lines: pd.DataFrame) -> tuple[str, str]:
    """The national lines as Markdown, and the local (Oslo) ones ("" if none)."""
    national = "\n\n".join(
        f"**{escape_markdown(row.name)}**: [{escape_markdown(row.phone)}](tel:{_tel(row.phone)})"
        f"  \n{escape_markdown(row.description_nb)}"
        + (f" · {escape_markdown(row.opening_hours)}" if row.opening_hours else "")
        for row in lines[lines["scope"] == "national"].itertuples())
    local = "\n\n".join(f"**{escape_markdown(row.name)}**: {escape_markdown(row.phone)}"
                         for row in lines[lines["scope"] != "national"].itertuples())
    return national, local
