"""tilbudskart — Streamlit entry point: wiring only.

Every figure and every table comes from a tested function of the package
(:mod:`tilbudskart.pipeline`, :mod:`tilbudskart.planning`, :mod:`tilbudskart.views`); this
file only lays them out and connects widgets to them. Run with ``streamlit run app.py``
(TILBUDSKART_DATA_DIR must point at the shared geodata).

Searches are never logged, stored or put in the URL, and the page asks no third party
unless the user turns the background map on. No exception reaches the browser: each page
runs inside :func:`guarded`, which logs the error's type and place (never the search) and
shows a short Norwegian message with the phone lines.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import streamlit as st

from tilbudskart import (
    access,
    answers,
    geocode,
    importers,
    pipeline,
    planning,
    published,
    serving,
    settings,
    suggest,
    warmup,
)
from tilbudskart.views import cards, exports, language, measures
from tilbudskart.views.text import (
    PRECISION_LABELS,
    escape_markdown,
    figure,
    kilometres,
    minutes,
    report_filename,
)

if TYPE_CHECKING:
    import folium

    from tilbudskart import report
    from tilbudskart.views import maps, plan_words, route, tables
    from tilbudskart.views import upload as upload_views
else:  # the first page draws no map or table and makes no report: imported at first use
    maps = serving.Later("tilbudskart.views.maps")
    route = serving.Later("tilbudskart.views.route")
    tables = serving.Later("tilbudskart.views.tables")  # pandas' Styler: ~0.05 s
    upload_views = serving.Later("tilbudskart.views.upload")
    plan_words = serving.Later("tilbudskart.views.plan_words")
    report = serving.Later("tilbudskart.report")  # matplotlib: ~0.5 s

logger = logging.getLogger("tilbudskart.app")

st.set_page_config(page_title="tilbudskart – hjelp for pårørende", page_icon="🗺️",
                   layout="wide")

PAGES = {"finn": "Finn nærmeste gruppe", "dekning": "Dekningskart",
         "nye": "Hvor trengs nye grupper", "last": "Last opp oppdatert liste"}
#: URL parameters each page shares (anything else is dropped when the page changes).
PAGE_PARAMS = {"finn": (), "dekning": ("org", "maal", "kommune"),
               "nye": ("org", "antall", "naer", "med", "hensyn"), "last": ()}
ORG_CHOICES = {"alle": "Alle selvhjelpsgrupper",
               **{o: settings.ORGANISATIONS[o] for o in settings.SELF_HELP_ORGANISATIONS}}
REPORT_KOMMUNER = {"4022": "Seljord", "3431": "Dovre", "5601": "Alta", "5610": "Karasjok",
                   "4616": "Tysnes", "5528": "Dyrøy"}
MEASURE_CHOICES = {key: measure.label for key, measure in measures.MEASURES.items()}
#: What counts as "near" a group on the planning page: (unit, threshold).
NEAR_CHOICES = {key: (t.unit, t.value) for key, t in planning.THRESHOLDS.items()}
NEAR_LABELS = {key: f"{t.value:g} km" if t.unit == "km" else f"{t.value:g} min med bil"
               for key, t in planning.THRESHOLDS.items()}
#: Objectives on the planning page (URL ``?hensyn=``): label and planning objective.
OBJECTIVE_CHOICES = {"dekning": ("Dekning: flest innenfor", "coverage"),
                     "rettferdighet": ("Rettferdighet: kortest vei for de lengst unna",
                                       "median")}
NEW_GROUP_CHOICES = [str(n) for n in range(1, planning.MAX_NEW_GROUPS + 1)]
DEFAULT_NEW_GROUPS, DEFAULT_NEAR = "5", planning.DEFAULT_NEAR  # the page's first question
LIMITS_NOTE = ("Grupper drives av frivillige. Et sted her er der en gruppe ville nå flest "
               "mennesker, ikke en spådom om at en gruppe kan eller vil starte der.")
FERRY_NOTE = (f"Kjøretid er et anslag på Kartverkets forenklede vegnett (N1000) med antatte "
              f"hastigheter og {settings.FERRY_WAIT_MIN:.0f} minutters venting per ferje.")


@st.cache_resource(show_spinner="Laster data …")
def live() -> Any:
    # Extra service lists (registry CSV format): settings.imports() (TILBUDSKART_IMPORTS).
    return pipeline.live_app_data(settings.imports())


@st.cache_resource(show_spinner=False)
def _shown_generation() -> list[int]:
    return [0]


#: The data this script run shows (the script's namespace is new each run): one run
#: never mixes the data before and after a publish.
_THIS_RUN: list[pipeline.AppData] = []


def load() -> pipeline.AppData:
    """The shared data in force: the registry store's published lists (polled; a publish
    swaps the whole data, and the caches built from the old data are dropped)."""
    if _THIS_RUN:
        return _THIS_RUN[0]
    data, generation = live().current()
    shown = _shown_generation()
    if shown[0] != generation:
        shown[0] = generation
        for cached in (_shared_choropleth, _shared_markers, planner, _shared_report_data,
                       _shared_kommune_pdf, _shared_coverage_picture):
            cached.clear()
    _THIS_RUN.append(data)
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


def ranking(organisation: str, near: str) -> pd.DataFrame:
    return current_planner().ranking(near, org_id(organisation))


def plan(organisation: str, near: str, k: int, method: str,
         fixed: tuple[str, ...] = (), objective: str = "coverage") -> planning.Plan:
    return current_planner().new_sites(k, near, org_id(organisation), fixed, objective,
                                       method="greedy" if method == "greedy" else "optimal")


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
        organisation, measure, fmt, fylker, data.attributions)


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


# -- phone lines --------------------------------------------------------------------------


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


# -- pages ------------------------------------------------------------------------------


def per_organisation_lines(found: pd.DataFrame) -> list[str]:
    """One Markdown paragraph per organisation: its nearest group, km, drive and offer."""
    lines = []
    for row in found.itertuples():
        organisation = settings.ORGANISATION_TABLE[row.organisation]
        drive = (f", {minutes(row.drive_min)} med bil" if pd.notna(row.drive_min)
                 else ", ingen bilrute")
        lines.append(f"**{escape_markdown(organisation.name)}** – {escape_markdown(row.name)} "
                     f"({escape_markdown(row.kommunenavn)}), {kilometres(row.distance_km)}"
                     f"{drive}  \n{escape_markdown(organisation.offer)}")
    return lines


def did_you_mean(names: list[str]) -> None:
    """«Mente du …?»: a button per suggested name; a tap searches for it."""
    if not names:
        return
    st.markdown("**Mente du …?**")
    for number, name in enumerate(names):
        st.button(name, key=f"mente_{number}", on_click=_search_for, args=(name,))


def _search_for(name: str) -> None:
    st.session_state.q = name  # the search box (never the URL)


def answer_first(data: pipeline.AppData, nearest: pd.DataFrame) -> None:
    """The nearest groups: on a phone (under 640 px) the nearest as a card, the phone lines
    and the next groups as cards, the table one tap away; on a laptop the table.

    What is shown is made once per place (:func:`tilbudskart.answers.derived`).
    """
    first, more, table, ages = answers.derived(
        nearest, "answer_first", lambda: _answer_first(nearest, published_dates(data)))
    with st.container(key="tk-phone"):
        st.html(first)
        call_for_advice(data.lines)
        with st.expander("Alle numre for råd og støtte"):
            national_lines(data.lines, heading=False)
        st.html(more)
        whole = st.toggle("Vis alle i en tabell", key="tk_table_open")
    with st.container(key="tk-table-open" if whole else "tk-table"):
        st.table(table, hide_index=True)
    st.caption(ages)
    with st.container(key="tk-wide"):
        call_for_advice(data.lines)


def _answer_first(nearest: pd.DataFrame, published: dict[str, Any],
                  ) -> tuple[str, str, pd.DataFrame, str]:
    return (cards.cards(nearest.head(1), "Nærmeste gruppe", published),
            cards.cards(nearest.iloc[1:], "Flere grupper i nærheten", published),
            tables.as_text(tables.result_table(nearest), {"Avstand (km)": 1}),
            "  \n".join(escape_markdown(line)
                         for line in cards.organisation_ages(nearest, published)))


def published_dates(data: pipeline.AppData) -> dict[str, Any]:
    """Each organisation's date of its published list in force (none: the 2007 report)."""
    return {o: d.published_at.date() for o, d in published.registry_dates(data).items()
            if d.published_at is not None}


def page_find(data: pipeline.AppData) -> None:
    st.html(cards.STYLE)  # the cards, and what shows on a phone or on a laptop only
    left, right = st.columns([3, 2], gap="large")
    with right:
        national_lines(data.lines)
    with left:
        # The box takes a long paste (Streamlit drops a paste past max_chars whole, with
        # nothing said); the search reads the first MAX_QUERY_CHARS and says so.
        query = st.text_input("Adresse, postnummer, sted eller kommune", key="q",
                              max_chars=10 * geocode.MAX_QUERY_CHARS,
                              placeholder="f.eks. 3840, Alta eller Tysnes")
        if len(query) > geocode.MAX_QUERY_CHARS:
            query = query[:geocode.MAX_QUERY_CHARS]
            st.info(f"Søket var langt: bare de første {geocode.MAX_QUERY_CHARS} tegnene "
                    "brukes.")
        st.caption("🔒 Søket ditt lagres ikke og sendes ikke til andre: alt slås opp på "
                   "denne tjeneren.")
        if not query.strip():
            st.info("Skriv hvor du bor for å se de nærmeste selvhjelpsgruppene for pårørende.")
            call_for_advice(data.lines)
            return
        resolution = data.gazetteer.search(query)
        match = resolution.match
        if match is None and resolution.candidates:
            labels = [c.label for c in resolution.candidates]
            picked = st.radio(f"«{geocode.shorten(resolution.query)}» finnes flere steder. "
                              "Hvilket mente du?", labels, key="valg", index=None)
            if picked is None:
                call_for_advice(data.lines)
                return
            match = resolution.candidates[labels.index(picked)]
        if match is None:
            echo = escape_markdown(geocode.shorten(resolution.query))
            st.warning(f"Vi fant dessverre ikke «{echo}». Prøv et postnummer (fire siffer), "
                       "et stedsnavn eller navnet på kommunen.")
            did_you_mean(suggest.suggest(data.gazetteer, resolution.query))
            call_for_advice(data.lines)
            return
        answer = answers.answer(data, match.lat, match.lon)  # once per place
        measured = ("avstand i luftlinje" if match.territory or answer.no_road
                    else "avstand i luftlinje og anslått kjøretid "
                         f"({'sommer' if answer.season == 'summer' else 'vinter'})")
        st.markdown(f"Viser {measured} fra **{escape_markdown(match.label)}**.")
        # On a phone the notes (no road, Svalbard, a street not used …) follow the nearest
        # group.
        with st.container(key="tk-found"):
            with st.container(key="tk-notes"):
                if answer.no_road and len(answer.nearest):
                    st.warning("Ingen bilveg; båt eller hurtigbåt. Nærmeste gruppe er "
                               f"{kilometres(answer.nearest['distance_km'].iloc[0])} i "
                               "luftlinje. Telefonlinjene på denne siden kan du ringe "
                               "uansett hvor du bor.")
                for note in access.search_notes(resolution, match, answer.nearest):
                    st.info(escape_markdown(note))
            st.subheader("Nærmeste selvhjelpsgrupper", anchor=False)
            answer_first(data, answer.nearest)
        if not answer.fastest.empty:
            row = answer.fastest.iloc[0]
            st.markdown(
                f"Raskest med bil og ferje: **{escape_markdown(row['name'])}** "
                f"({escape_markdown(settings.ORGANISATIONS[row['organisation']])}, "
                f"{escape_markdown(row['kommunenavn'])}), {minutes(row['drive_min'])}.")
        # The fastest route to a group, drawn on the map below (road solid, ferry dashed).
        path = None if match.territory else answers.route(data, match.lat, match.lon)
        if path is not None:
            st.markdown(answers.derived(path, "caption",
                                        lambda: route.route_caption(path, escape_markdown)))
        st.caption(FERRY_NOTE)
        st.subheader("Nærmeste gruppe i hver organisasjon", anchor=False)
        st.markdown(answers.derived(answer.per_organisation, "lines", lambda: "\n\n".join(
            per_organisation_lines(answer.per_organisation))))
        if not answer.online.empty:
            st.subheader("Møter på nett", anchor=False)
            st.caption("Disse møtene kan du delta i hjemmefra, uansett hvor du bor.")
            for row in answer.online.itertuples():
                link = f"  \n{escape_markdown(row.url)}" if row.url else ""
                note = f" – {escape_markdown(row.note)}" if row.note else ""
                st.markdown(f"**{escape_markdown(row.name)}** "
                            f"({escape_markdown(settings.ORGANISATIONS[row.organisation])})"
                            f"{note}{link}")
        st.subheader("Nærmeste behandlingsinstitusjoner med tilbud til pårørende", anchor=False)
        st.html(answers.derived(answer.institutions, "table", lambda: tables.as_html(
            tables.result_table(answer.institutions), "Nærmeste behandlingsinstitusjoner",
            {"Avstand (km)": 1})))
        # The base map (kommune outlines) is the same for every search, so the browser keeps
        # it; only the markers and the view change (streamlit-folium's dynamic layer).
        fmap = new_map()
        outlines().add_to(fmap)
        markers = maps.service_markers(answers.derived(
            answer, "geojson", lambda: maps.service_geojson(answer.shown())),
            "Grupper og institusjoner")
        maps.searched_point(match.lat, match.lon, match.label).add_to(markers)
        nearest_km = (float(answer.nearest["distance_km"].iloc[0]) if len(answer.nearest)
                      else 50.0)
        layers = [markers]
        if path is not None:
            layers.insert(0, route.route_layer(answers.derived(
                path, "lines", lambda: route.route_lines(path))))
            nearest_km = max(nearest_km, answers.derived(
                path, "farthest", lambda: route.farthest_km(path, match.lat, match.lon)))
        st_folium(fmap, key="find_map", height=420, use_container_width=True,
                  returned_objects=[], feature_group_to_add=layers,
                  center=(match.lat, match.lon),
                  zoom=maps.zoom_to_show(nearest_km, match.lat, height_px=420))
        st.caption("Kartet viser det samme som tabellene over. Hule, stiplede sirkler: "
                   "plasseringen er omtrentlig (kjent på sted-, kommune- eller regionnivå). "
                   "Linjen er raskeste rute med bil til en gruppe: heltrukket på veg, "
                   "blå stiplet med ferje.")


def kommune_detail(data: pipeline.AppData, number: str, organisation: str | None) -> None:
    row = pipeline.kommune_figures(data, number, organisation)
    # In the kommune's own målform (nynorsk for 88 kommuner), as its report.
    written = language.kommune_language(number)

    def t(key: str, **values: Any) -> str:
        return language.text(f"panel.{key}", written, **values)

    centre = data.kommuner.set_index("kommunenummer").loc[number]
    official = language.official_name(str(centre.get("kommunenavn_offisielt",
                                                     row["kommunenavn"])))
    st.subheader(f"{official} ({language.official_name(row['fylkesnavn'])})", anchor=False)
    whose = (t("any_group") if organisation is None
             else settings.ORGANISATIONS[organisation])
    st.caption(t("all_figures", whose=whose) + " " + t("written"))
    a, b, c = st.columns(3)
    a.metric(t("people", year=settings.DATA_YEARS["population"]), figure(row["folkemengde"]))
    b.metric(t("km"), figure(row["km"]))
    c.metric(t("groups"), figure(row["groups_in_kommune"]))
    first, second = settings.BEYOND_KM[:2]
    a.metric(t("beyond_km", km=first), figure(row[settings.beyond_km_column(first)]))
    b.metric(t("beyond_km", km=second), figure(row[settings.beyond_km_column(second)]))
    c.metric(t("weighted_km"), figure(row["population_weighted_km"]))
    near, far = settings.BEYOND_MINUTES[:2]
    summer = row["drive_min_summer"]
    shorter_in_summer = pd.notna(summer) and round(summer) < round(row["drive_min"])
    a.metric(t("drive"), figure(row["drive_min"]),
             help=t("drive_summer_help", minutes=figure(summer)) if shorter_in_summer else None)
    b.metric(t("beyond_min", minutes=near), figure(row[settings.beyond_minutes_column(near)]))
    c.metric(t("beyond_min", minutes=far), figure(row[settings.beyond_minutes_column(far)]))
    if shorter_in_summer:
        st.caption(t("drive_summer", minutes=figure(summer)))
    if row["population_not_routed"] > 0:
        st.caption(t("not_routed", people=figure(row["population_not_routed"])))
    near_groups = access.nearest_services(centre["admin_lat"], centre["admin_lon"],
                                                   data.services, n=5,
                                                   organisation=organisation)
    st.markdown(escape_markdown(t("nearest_from", centre=row["admin_centre"])))
    for r in near_groups.itertuples():
        st.markdown(
            f"- **{kilometres(r.distance_km)}** – {escape_markdown(r.name)} "
            f"({escape_markdown(settings.ORGANISATIONS[r.organisation])}, "
            f"{escape_markdown(r.kommunenavn)}; {t('placement')}: "
            f"{escape_markdown(PRECISION_LABELS.get(r.precision, r.precision))})")
    # The PDF is made only when the button is clicked (a callable: deferred download).
    st.download_button(t("pdf"), kommune_pdf(number),
                       file_name=report_filename(number, str(row["kommunenavn"])),
                       mime="application/pdf", on_click="ignore", key="kommune_pdf",
                       help=t("pdf_help"))


@st.fragment
@warmup.foreground()
def kommune_panel(data: pipeline.AppData, numbers: list[str], names: dict[str, str],
                  organisation: str | None) -> None:
    """The kommune chooser and its detail: a fragment, so picking a kommune reruns only it."""
    pick, choose = st.columns([2, 3])
    pick.selectbox("Kommuner fra rapporten", list(REPORT_KOMMUNER), key="kommune_pick",
                   format_func=REPORT_KOMMUNER.get, index=None, placeholder="Velg …",
                   on_change=lambda: st.session_state.update(
                       kommune=st.session_state.kommune_pick or st.session_state.kommune))
    choose.selectbox("Kommune", numbers, key="kommune",
                     format_func=lambda n: f"{names[n]} ({n})",
                     on_change=lambda: st.session_state.update(kommune_pick=None))
    share_state("kommune")
    kommune_detail(data, st.session_state.kommune, organisation)


def page_coverage(data: pipeline.AppData) -> None:
    numbers = data.kommuner["kommunenummer"].tolist()
    names = dict(zip(data.kommuner["kommunenummer"], data.kommuner["kommunenavn"], strict=True))
    init_state("org", list(ORG_CHOICES), "alle")
    init_state("maal", list(MEASURE_CHOICES), "km")
    unknown = init_state("kommune", numbers, "4022")
    if unknown is not None:
        st.warning(f"Fant ingen kommune med nummer «{escape_markdown(geocode.shorten(unknown))}» "
                   f"blant de {len(numbers)} kommunene i "
                   f"{settings.DATA_YEARS['boundaries']}; viser "
                   f"{escape_markdown(names[st.session_state.kommune])} i stedet.")
    if st.session_state.get("clicked_kommune") in names:  # a click on the map, last run
        st.session_state.kommune = st.session_state.pop("clicked_kommune")
        st.session_state.kommune_pick = None
    top = st.columns(2)
    top[0].selectbox("Avstand til", list(ORG_CHOICES), format_func=ORG_CHOICES.get, key="org")
    top[1].selectbox("Mål", list(MEASURE_CHOICES), format_func=MEASURE_CHOICES.get, key="maal")
    share_state("org", "maal")
    organisation = org_id(st.session_state.org)
    measure = measures.MEASURES[st.session_state.maal]

    left, right = st.columns([3, 2], gap="large")
    with left:
        layers = st.columns(3)
        show_groups = layers[0].checkbox("Vis grupper", value=True)
        show_inst = layers[1].checkbox("Vis institusjoner", value=False)
        tiles = layers[2].checkbox("Bakgrunnskart (OpenStreetMap)", value=False,
                                   help="Henter kartfliser fra OpenStreetMap (tredjepart).")
        # The base map is the same for every choice, so the browser keeps it; a new measure,
        # organisation or layer swaps only the layers (streamlit-folium's dynamic layers).
        # Unticked layers are left out: streamlit-folium shows every layer it is given.
        fmap = new_map(tiles=tiles)
        fmap.fit_bounds(settings.NORWAY_BOUNDS)
        shown_layers = [maps.swapped(choropleth(organisation, measure.key))]
        if show_groups:
            shown_layers += [markers(key, settings.ORGANISATIONS[key])
                             for key in settings.SELF_HELP_ORGANISATIONS
                             if organisation in (None, key)]
        if show_inst:
            shown_layers.append(markers("institution", "Behandlingsinstitusjoner"))
        clicked = st_folium(fmap, key="coverage_map", height=560, use_container_width=True,
                            returned_objects=["last_active_drawing"],
                            feature_group_to_add=shown_layers,
                            layer_control=maps.layer_control())
        drawing = (clicked or {}).get("last_active_drawing") or {}
        number = (drawing.get("properties") or {}).get("kommunenummer")
        if number in names and number != st.session_state.get("last_click"):
            st.session_state.last_click = number
            st.session_state.clicked_kommune = number
            st.rerun()
        st.markdown(maps.legend_html(measure), unsafe_allow_html=True)
        st.caption(("Avstand i luftlinje" if measure.key == "km" else
                    "Anslått kjøretid med bil og ferje (vegnett N1000)")
                   + " fra kommunesenteret. Klikk på en kommune for detaljer; tabellen under "
                   "viser det samme for alle kommuner.")
        chosen_org = str(st.session_state.org)
        picture = f"tilbudskart_{measure.key}_{chosen_org}"
        p1, p2 = st.columns(2)
        for column, fmt, mime in ((p1, "png", "image/png"), (p2, "svg", "image/svg+xml")):
            column.download_button(
                f"Last ned kartet ({fmt.upper()})",
                coverage_picture(measure.key, chosen_org, fmt),
                file_name=f"{picture}.{fmt}", mime=mime, on_click="ignore",
                key=f"map_{fmt}", help="1920 × 1080 piksler, med tegnforklaring og "
                                       "målestokk – til lysbilder og saksdokumenter.")
    with right:
        kommune_panel(data, numbers, names, organisation)

    st.subheader("Alle kommuner", anchor=False)
    fylker = sorted(data.kommuner["fylkesnavn"].unique())
    chosen = st.multiselect("Filtrer på fylke", fylker, key="fylker",
                            placeholder="Velg fylker …")
    # Every group column (nearest group, groups in the kommune, people beyond …) is the
    # chosen organisation's: its own kommune table.
    base = pipeline.organisation_table(data, organisation)
    table = base if not chosen else base[base["fylkesnavn"].isin(chosen)]
    shown = tables.planner_table(table, organisation, measure)
    st.dataframe(tables.styled(shown, tables.PLANNER_DIGITS),
                 hide_index=True, key="planner_table")
    if organisation is not None:
        st.caption(f"Alle kolonner om grupper gjelder {settings.ORGANISATIONS[organisation]}"
                   " – også nærmeste gruppe og hvor mange som bor langt unna.")
    downloads = (("xlsx", "Last ned tabell (Excel)"), ("csv", "Last ned tabell (CSV)"),
                 ("gpkg", "Last ned kart og tabell (GeoPackage)"))
    for column, (fmt, label) in zip(st.columns(len(downloads)), downloads, strict=True):
        column.download_button(
            label, table_file(data, organisation, measure.key, fmt, tuple(chosen)),
            file_name=exports.table_filename(organisation, measure.key, fmt),
            mime=exports.TABLE_FORMATS[fmt], on_click="ignore", key=f"table_{fmt}",
            help="Samme kolonner som tabellen over. CSV-filen er for norsk Excel "
                 "(semikolon og desimalkomma)." if fmt == "csv" else None)


def site_reasons(best: planning.Plan, organisation: str, near: str, far: str) -> list[str]:
    """One sentence per proposed site: how many it reaches, and from which kommuner."""
    data = current_data()
    unit, threshold = NEAR_CHOICES[near]
    today = _today(data, organisation, unit)
    reach = [plan_words.measure_from_site(float(site.admin_lat), float(site.admin_lon),
                                          data.grid, data.network, unit, threshold)
             for site in best.sites.itertuples()]
    reached = plan_words.reached_by_kommune(data.grid, today, reach, threshold)
    names = dict(zip(data.kommuner["kommunenummer"], data.kommuner["kommunenavn"],
                     strict=True))
    return plan_words.site_sentences(best.sites, reached, names, far)


def _today(data: pipeline.AppData, organisation: str, unit: str) -> Any:
    """Each grid cell's distance or minutes to its nearest group (kept per data and choice)."""
    key = ("plan_words_today", pipeline.dataset_key(data.services), organisation, unit)
    kept = _TODAY.get(key)
    if kept is None:
        kept = plan_words.measure_today(data.services, data.grid, data.network,
                                        org_id(organisation), unit)
        if len(_TODAY) > 16:
            _TODAY.clear()
        _TODAY[key] = kept
    return kept


#: Grid measures of :func:`_today`, by data, organisation and unit (bounded).
_TODAY: dict[tuple[str, ...], Any] = {}


def page_new_groups(data: pipeline.AppData) -> None:
    init_state("org", list(ORG_CHOICES), "alle")
    init_state("antall", NEW_GROUP_CHOICES, DEFAULT_NEW_GROUPS)
    init_state("hensyn", list(OBJECTIVE_CHOICES), "dekning")
    st.info(LIMITS_NOTE)
    cols = st.columns(3)
    cols[0].selectbox("Organisasjon", list(ORG_CHOICES), format_func=ORG_CHOICES.get, key="org")
    init_state("naer", list(NEAR_CHOICES), DEFAULT_NEAR)
    cols[1].radio("Regnes som «nær» en gruppe", list(NEAR_CHOICES), horizontal=True,
                  format_func=NEAR_LABELS.get, key="naer")
    near = st.session_state.naer
    unit, threshold = NEAR_CHOICES[near]
    far = f"mer enn {NEAR_LABELS[near].replace(' med bil', '')}"
    cols[2].select_slider("Antall nye grupper", NEW_GROUP_CHOICES, key="antall")
    st.radio("Hva skal plasseringen ta hensyn til?", list(OBJECTIVE_CHOICES), horizontal=True,
             format_func=lambda key: OBJECTIVE_CHOICES[key][0], key="hensyn")
    objective = OBJECTIVE_CHOICES[st.session_state.hensyn][1]
    names = dict(zip(data.kommuner["kommunenummer"], data.kommuner["kommunenavn"], strict=True))
    if "med" not in st.session_state:  # from a shared link: ?med=4022,3431 (each once)
        asked = list(dict.fromkeys(n for n in st.query_params.get("med", "").split(",") if n))
        st.session_state.med = [n for n in asked if n in names][:planning.MAX_NEW_GROUPS]
        unknown = [n for n in asked if n not in names]
        if unknown:
            st.warning(f"Fant ingen kommune med nummer "
                       f"{escape_markdown(geocode.shorten(', '.join(unknown)))}; de er utelatt.")
        if len([n for n in asked if n in names]) > planning.MAX_NEW_GROUPS:
            st.warning(f"Lenken nevner {len([n for n in asked if n in names])} kommuner; "
                       f"bare de {planning.MAX_NEW_GROUPS} første er tatt med.")
    fixed = st.multiselect("Hva om disse kommunene får en gruppe? (resten velges rundt dem)",
                           list(names), key="med", format_func=lambda n: f"{names[n]} ({n})",
                           placeholder="Velg kommuner …",
                           max_selections=planning.MAX_NEW_GROUPS)
    share_state("org", "antall", "naer", "hensyn")
    if fixed:
        st.query_params["med"] = ",".join(fixed)
    elif "med" in st.query_params:
        del st.query_params["med"]
    k = max(int(st.session_state.antall), len(fixed))
    if len(fixed) > int(st.session_state.antall):
        st.info(f"Du har valgt {len(fixed)} kommuner, så planen har {len(fixed)} grupper.")
    with st.spinner("Beregner beste plassering …"):
        best = plan(st.session_state.org, near, k, "mclp", tuple(fixed), objective)
    road = " med bil og ferje" if unit == "min" else ""
    st.markdown(plan_words.total_sentence(k, best.covered, best.beyond, f"{far}{road}"))
    if fixed:
        free = plan(st.session_state.org, near, k, "mclp", (), objective)
        st.markdown(f"Uten kommunene du valgte, ville {k} grupper plassert der de når flest, "
                    f"nådd {figure(free.covered)} ({figure(free.covered - best.covered)} "
                    "flere).")
    # Why each site: whom it reaches (beyond the threshold today), and from which kommuner.
    st.markdown("\n".join(f"- {escape_markdown(line)}" for line in site_reasons(
        best, st.session_state.org, near, f"{far}{road}")))
    st.dataframe(tables.styled(tables.plan_table(best.sites)), hide_index=True,
                 key="plan_table")
    st.caption("«Når alene»: hvor mange gruppen ville nå om den var den eneste nye. «Legger "
               "til»: hvor mange den når som ingen av stedene over når. «Valgt av deg»: "
               "kommuner du har lagt inn under «Hva om disse kommunene får en gruppe?»; de "
               "andre stedene er valgt rundt dem.")
    with st.expander("Slik er det regnet"):
        share = best.covered / best.demand if best.demand else 0.0
        how = (f"Av de {figure(best.beyond)} som i dag bor {far}{road} fra nærmeste gruppe, "
               f"kan {figure(best.demand)} nås fra et kommunesenter; planen når "
               f"{figure(best.covered)} av dem ({figure(100 * share)} %). ")
        if objective == "coverage":
            one_by_one = plan(st.session_state.org, near, k, "greedy", tuple(fixed))
            how += ("Stedene er valgt sammen slik at de til sammen når flest (maksimal "
                    "dekning, MCLP, løst eksakt). Valgt ett og ett, det beste først, ville "
                    f"de nådd {figure(one_by_one.covered)}. ")
        else:
            how += ("Stedene er valgt for at de som bor lengst unna skal få kortest vei "
                    "(p-median: minst samlet avstand for alle som bor for langt unna i dag, "
                    "befolkningen samlet i 10 km-ruter). ")
        how += ("Kandidatene er kommunesentrene. "
                + f"Innbyggere {settings.DATA_YEARS['population']} (SSBs rutenett "
                + f"{settings.DATA_YEARS['grid']}, skalert til folketallet i hver kommune); "
                + ("avstand i luftlinje." if unit == "km" else
                   "anslått kjøretid på vegnettet N1000."))
        st.markdown(how)

    measure = measures.MEASURES[unit]
    fmap = new_map()
    fmap.fit_bounds(settings.NORWAY_BOUNDS)
    choropleth(org_id(st.session_state.org), measure.key).add_to(fmap)
    maps.site_markers(best.sites, threshold if unit == "km" else None).add_to(fmap)
    st_folium(fmap, key="new_map", height=520, use_container_width=True, returned_objects=[])
    st.markdown(maps.legend_html(measure), unsafe_allow_html=True)

    with st.expander("Hver kommune for seg: hvor mange ville én ny gruppe nå?"):
        ranked = ranking(st.session_state.org, near)
        st.dataframe(tables.styled(tables.ranking_table(ranked, far).head(25)),
                     hide_index=True, key="ranking_table")

    worst_off_section(best, st.session_state.org, objective)
    how_many_section(st.session_state.org, near, far)


def worst_off_section(best: planning.Plan, organisation: str, objective: str) -> None:
    """What the plan does for those who live farthest from a group today."""
    st.subheader("Hva betyr planen for dem som bor lengst unna?", anchor=False)
    labels = {"today": "I dag", "plan": "Med disse gruppene"}
    figures = pd.DataFrame({
        "today": current_planner().worst_off(best.sites.iloc[:0], org_id(organisation)),
        "plan": current_planner().worst_off(best.sites, org_id(organisation))}).T
    st.dataframe(tables.styled(tables.worst_off_table(figures, labels)), hide_index=True,
                 key="worst_off_table")
    other = "rettferdighet" if objective == "coverage" else "dekning"
    st.caption(f"Avstand i luftlinje og anslått kjøretid fra hver rute i SSBs rutenett til "
               f"nærmeste gruppe. Velg «{OBJECTIVE_CHOICES[other][0]}» over for å se hva "
               "den andre målsettingen gir.")


def how_many_section(organisation: str, near: str, far: str) -> None:
    """The fewest groups that would put everyone within reach, and the curve."""
    import altair as alt

    st.subheader("Hvor mange grupper trengs?", anchor=False)
    with st.spinner("Beregner hvor mange grupper som trengs …"):
        answer = current_planner().cover_all(near, org_id(organisation))
    whole = answer.plan
    reasons = answer.left.groupby("reason")["people"].sum()
    label = NEAR_LABELS[near]
    text = (f"For at alle som i dag bor {far} fra en gruppe ({figure(whole.beyond)} "
            f"innbyggere) skal ha en gruppe innen {label}, trengs minst "
            f"**{figure(len(whole.sites))} nye grupper** ved kommunesentre.")
    if whole.left:
        text += (f" Selv da bor {figure(whole.left)} innbyggere lenger unna enn {label} fra "
                 f"alle kommunesentre")
        if reasons.get("no_route", 0):
            text += (f"; av dem har {figure(int(reasons['no_route']))} ingen vei- eller "
                     "fergeforbindelse i kartet (øyer uten bilferje)")
        text += "."
    st.markdown(text)
    curve = tables.curve_table(answer.curve)
    people, groups = curve["Innbyggere lenger unna"], curve["Nye grupper"]
    # Norwegian for a screen reader (Vega would describe the chart and its axes in English)
    # and numbers with a space between thousands (Vega's default is 400,000).
    chart = alt.Chart(curve).mark_line(
        ariaRoleDescription="kurve",
        point=alt.OverlayMarkDef(size=12, ariaRoleDescription="punkt")).encode(
        x=alt.X("Nye grupper:Q", axis=alt.Axis(
            description=f"Nye grupper, fra 0 til {figure(groups.iloc[-1])}")),
        y=alt.Y("Innbyggere lenger unna:Q", axis=alt.Axis(
            description=f"Innbyggere lenger unna, fra {figure(people.iloc[-1])} til "
                        f"{figure(people.iloc[0])}",
            labelExpr="replace(format(datum.value, ','), regexp(',', 'g'), '\u00a0')")),
        tooltip=["Nye grupper", "Innbyggere lenger unna"]).properties(
        height=260, description=(
            f"Kurve: innbyggere lenger unna enn {label}, fra {figure(people.iloc[0])} uten "
            f"nye grupper til {figure(people.iloc[-1])} med {figure(groups.iloc[-1])}."))
    st.altair_chart(chart, width="stretch")
    st.caption("Kurven legger til stedene ett og ett, hver gang det som gir flest nye "
               "innenfor.")
    with st.expander("Slik er det regnet"):
        st.markdown("Det minste antallet steder som når alle som kan nås fra et "
                    "kommunesenter er funnet eksakt (LSCP, løst med HiGHS). Kurven legger "
                    "stedene i den løsningen til ett og ett.")
    with st.expander(f"De {figure(len(whole.sites))} stedene, i rekkefølge"):
        st.dataframe(tables.styled(tables.plan_table(whole.sites)), hide_index=True,
                     key="cover_all_table")


UPLOAD_MODES = {"add": "Legg til 2007-gruppene",
                "replace": "Erstatt organisasjonens grupper fra 2007"}
REPORT_HEADERS = {"file": "Fil", "row": "Rad", "field": "Felt", "value": "Verdi",
                  "problem_nb": "Problem", "severity": "Alvor"}


def page_upload(data: pipeline.AppData) -> None:
    st.markdown("Har organisasjonen en nyere liste over grupper? Last den opp for å se kartet, "
                "søket og planleggingen med dagens grupper. Lista brukes **bare i denne "
                "nettleserøkten** til en forvalter med nøkkel publiserer den (nederst).")
    t1, t2 = st.columns(2)
    t1.download_button("Last ned mal (CSV)", importers.template_bytes("csv"),
                       file_name="tilbudskart_mal.csv", mime="text/csv")
    t2.download_button("Last ned mal (Excel)", importers.template_bytes("xlsx"),
                       file_name="tilbudskart_mal.xlsx",
                       mime="application/vnd.openxmlformats-officedocument."
                            "spreadsheetml.sheet")
    upload_file = st.file_uploader(
        "Liste: CSV (komma eller semikolon), Excel (.xlsx) eller Meeting Guide (JSON)",
        type=["csv", "txt", "xlsx", "json"], key="liste",
        max_upload_size=importers.MAX_BYTES // (1024 * 1024),
        help=f"Høyst {importers.MAX_BYTES // (1024 * 1024)} MB, {importers.MAX_ROWS} rader "
             f"og {importers.MAX_CELL_CHARS} tegn per celle.")
    choices = ["fra_lista", *settings.ORGANISATIONS]
    organisation = st.selectbox(
        "Organisasjon", choices, key="liste_org",
        format_func=lambda o: ("Står i lista (kolonnen «organisasjon»)" if o == "fra_lista"
                               else settings.ORGANISATIONS[o]))
    mode = st.radio("Gruppene fra 2007", list(UPLOAD_MODES), format_func=UPLOAD_MODES.get,
                    key="liste_modus", horizontal=True)
    keep = st.checkbox("Behold dubletter", key="liste_dubletter",
                       help="En rad som ser ut som samme gruppe som en annen rad, eller som "
                            "en gruppe fra 2007, vises i rapporten og telles ikke – med "
                            "mindre du krysser av her.")
    left, right = st.columns(2)
    if left.button("Bruk lista", type="primary", disabled=upload_file is None):
        assert upload_file is not None
        with st.spinner("Leser lista og regner ut alle tall på nytt …"):
            st.session_state.opplasting = pipeline.apply_upload(
                load(), [(upload_file.name, upload_file.getvalue())],
                None if organisation == "fra_lista" else organisation, mode,
                on_wait=lambda: st.info("En annen liste leses nå på denne serveren; din "
                                        "leses straks etter (én om gangen)."),
                keep_duplicates=keep)
            st.session_state.opplasting_modus = mode
            st.session_state.opplasting_sha256 = hashlib.sha256(
                upload_file.getvalue()).hexdigest()
    if right.button("Fjern opplastet liste", disabled="opplasting" not in st.session_state):
        st.session_state.pop("opplasting", None)
        st.rerun()
    compare_versions(data)
    upload = st.session_state.get("opplasting")
    if not isinstance(upload, pipeline.Upload):
        return
    for problem in upload.problems:
        st.error(f"Kunne ikke lese lista: {escape_markdown(problem)}")
    for result in upload.results:
        st.markdown(f"**{escape_markdown(result.file)}**: {escape_markdown(result.describe_nb())}")
    # A part-list read as the whole list looks like a collapse: said before any figure.
    for note in upload_views.part_list_notes(
            load().services, upload.results, st.session_state.get("opplasting_modus", "add")):
        st.warning(note)
    if upload.dataset is None:
        if upload.results:
            st.warning("Ingen rader kunne brukes; se rapporten under.")
        problems = importers.concat_reports(r.report for r in upload.results)
    else:
        problems = upload.dataset.import_report
    if len(problems):
        st.subheader("Rapport: rader med problemer", anchor=False)
        shown = problems.drop(columns="problem").rename(columns=REPORT_HEADERS)
        shown["Felt"] = shown["Felt"].map(lambda f: importers.FIELD_NB.get(f, f))
        shown["Alvor"] = shown["Alvor"].map({"error": "feil (ikke brukt)",
                                             "warning": "merknad (brukt)"}).where(
            ~problems["problem"].str.endswith("left out (keep it to count it)").to_numpy(),
            "dublett (ikke tatt med)")
        st.dataframe(shown, hide_index=True, key="import_report")
        st.download_button("Last ned rapporten (CSV)", exports.csv_bytes(shown),
                           file_name="import_rapport.csv", mime="text/csv")
    if upload.data is None:
        return
    st.subheader("Forhåndsvisning", anchor=False)
    used = pd.concat([r.services for r in upload.results if len(r.services)])
    st.dataframe(upload_views.preview_table(used).head(200), hide_index=True,
                 key="import_preview")
    st.success("Alle sidene viser nå lista di (bare i denne nettleserøkten).")
    comparison = upload.then_and_now
    if comparison is not None:
        st.subheader("Da og nå: 2007 mot lista", anchor=False)
        st.dataframe(tables.styled(upload_views.counts_table(comparison.counts)),
                     hide_index=True, key="then_now_counts")
        st.dataframe(tables.styled(upload_views.coverage_table(comparison.coverage)),
                     hide_index=True, key="then_now_coverage")
        if len(comparison.points):
            fmap = new_map()
            outlines().add_to(fmap)
            maps.change_markers(comparison.points).add_to(fmap)
            fmap.fit_bounds([[comparison.points["lat"].min(), comparison.points["lon"].min()],
                             [comparison.points["lat"].max(), comparison.points["lon"].max()]],
                            max_zoom=9)
            st_folium(fmap, key="change_map", height=420, use_container_width=True,
                      returned_objects=[])
            st.caption("Kart over endringene: grønn = ny gruppe, rød = borte, blå = flyttet "
                       "(stiplet linje fra der den var). Tabellen under viser det samme.")
        changed = comparison.matches[comparison.matches["change"] != "same"]
        with st.expander(f"Grupper som er nye, borte eller flyttet ({len(changed)})"):
            st.dataframe(tables.styled(upload_views.changes_table(comparison.matches),
                                       {"Flyttet (km)": 1}),
                         hide_index=True, key="then_now_groups")
    publish_section(upload, None if organisation == "fra_lista" else organisation)


def publish_section(upload: pipeline.Upload, organisation: str | None) -> None:
    """A steward publishes the list shown (it replaces the organisation's list for all)."""
    from tilbudskart import publishing
    from tilbudskart.store import RefusedError, StoreError, open_store

    st.subheader("Publiser lista for alle", anchor=False)
    if len(upload.results) != 1:
        st.info("Publiser én liste om gangen.")
        return
    result = upload.results[0]
    orgs = sorted(set(result.services["organisation"])) if len(result.services) else []
    organisation = organisation or (orgs[0] if len(orgs) == 1 else None)
    if organisation is None:
        st.info("Velg organisasjonen over for å publisere (lista må være én organisasjons).")
        return
    refusal = publishing.publishable(result, organisation)
    if refusal:
        st.error("Lista kan ikke publiseres ennå: " + escape_markdown(
            publishing.refusal_nb(refusal)))
        return
    warnings = int((result.report["severity"] == importers.WARNING).sum())
    if warnings:
        st.warning(f"Lista har {figure(warnings)} merknader (se rapporten over); radene "
                   "med merknader publiseres som de er.")
    try:
        store = open_store()
        number, old = publishing.in_force(store, organisation)
    except StoreError:
        st.error("Registeret kan ikke nås nå, så lista kan ikke publiseres. Prøv igjen "
                 "senere.")
        return
    name = settings.ORGANISATIONS[organisation]
    gone = publishing.disappearing(old, result.services)
    now = "rapporten fra 2007" if number == 0 else f"versjon {number}"
    st.markdown(f"Å publisere **erstatter lista til {escape_markdown(name)}** for alle som "
                f"bruker tilbudskart (i dag {now}, {figure(len(old))} rader) med denne lista "
                f"({figure(len(result.services))} rader). Tidligere versjoner tas vare på "
                f"og kan hentes tilbake.")
    if len(gone):
        st.markdown(f"**Disse {figure(len(gone))} forsvinner** (ikke i den nye lista):")
        st.dataframe(gone[["name", "place"]].rename(columns={"name": "Navn", "place": "Sted"}),
                     hide_index=True, key="publish_gone")
    with st.form("publiser", clear_on_submit=True):
        key = st.text_input("Forvalternøkkel", type="password", key="forvalternokkel",
                            help="Nøkkelen organisasjonen fikk av de som drifter tjenesten.")
        sent = st.form_submit_button(f"Publiser lista for {name}", type="primary")
    if sent:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        context = get_script_run_ctx()
        session = context.session_id if context is not None else "app"
        try:
            version = store.publish(result, organisation, key, upload_checksum(upload),
                                    session=session)
        except RefusedError as error:
            st.error("Ikke publisert: " + escape_markdown(publishing.refusal_nb(str(error))))
        except StoreError:
            st.error("Registeret kan ikke nås nå; lista er ikke publisert.")
        else:
            st.success(f"Publisert: {escape_markdown(name)} versjon {version.number} "
                       f"({figure(version.rows_used)} rader). Alle sider, rapporter og "
                       f"nedlastinger viser den om noen sekunder.")


def compare_versions(data: pipeline.AppData) -> None:
    """Then and now between any two versions of an organisation's list (0: 2007)."""
    from tilbudskart import publishing
    from tilbudskart.store import RefusedError, StoreError, open_store

    with st.expander("Sammenlign to versjoner av en liste (publiserte lister og 2007)"):
        try:
            store = open_store()
            history = store.history()
        except StoreError:
            st.info("Registeret over publiserte lister kan ikke nås nå.")
            return
        organisation = st.selectbox("Organisasjon", list(settings.ORGANISATIONS),
                                    format_func=settings.ORGANISATIONS.get, key="versjon_org")
        numbers = [0, *(v.number for v in history if v.organisation == organisation)]
        label = {0: "2007 (rapporten)", **{
            v.number: f"versjon {v.number}, {v.published_at:%d.%m.%Y}" for v in history
            if v.organisation == organisation and v.published_at is not None}}
        left, right = st.columns(2)
        then = left.selectbox("Da", numbers, format_func=label.get, key="versjon_da")
        now = right.selectbox("Nå", numbers, index=len(numbers) - 1, format_func=label.get,
                              key="versjon_naa")
        if not st.button("Sammenlign", disabled=then == now, key="versjon_sammenlign"):
            return
        try:
            new = publishing.version_list(store, organisation, now)
            old = None if then == 0 else publishing.version_list(store, organisation, then)
        except (RefusedError, StoreError):
            st.error("Versjonen finnes ikke, eller registeret kan ikke nås.")
            return
        with st.spinner("Sammenligner …"):
            result = pipeline.then_and_now(new, old, gazetteer=data.gazetteer,
                                           population_grid=data.grid,
                                           road_network=data.network)
        st.dataframe(result.counts.rename(columns={
            "organisation": "Organisasjon", "same": "Samme", "moved": "Flyttet",
            "gone": "Borte", "new": "Nye"}), hide_index=True, key="versjon_tall")
        changed = result.matches[result.matches["change"] != "same"]
        st.dataframe(changed[["change", "then_name", "then_kommune", "now_name",
                              "now_kommune"]].rename(columns={
            "change": "Endring", "then_name": "Da", "then_kommune": "Kommune da",
            "now_name": "Nå", "now_kommune": "Kommune nå"}).replace(
            {"Endring": {"new": "ny", "gone": "borte", "moved": "flyttet"}}),
            hide_index=True, key="versjon_grupper")


def upload_checksum(upload: pipeline.Upload) -> str:
    """The sha256 of the uploaded file (taken when it was read; else of its rows)."""
    checksum = st.session_state.get("opplasting_sha256")
    if checksum:
        return str(checksum)
    rows = upload.results[0].services.to_csv(index=False).encode()
    return hashlib.sha256(rows).hexdigest()


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
    page = {"finn": page_find, "dekning": page_coverage, "nye": page_new_groups,
            "last": page_upload}[side]
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


main()
