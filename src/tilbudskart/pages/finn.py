"""The search page (``?side=finn``): the nearest groups, phone lines, route and map for a place."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from tilbudskart import answers, geocode, pipeline, published, search, serving, settings
from tilbudskart.pages import shared
from tilbudskart.views import cards
from tilbudskart.views.text import escape_markdown, kilometres, minutes

if TYPE_CHECKING:
    from tilbudskart.views import maps, route, tables
else:  # imported at first use (the first page draws no map or table)
    maps = serving.Later("tilbudskart.views.maps")
    route = serving.Later("tilbudskart.views.route")
    tables = serving.Later("tilbudskart.views.tables")  # pandas' Styler: ~0.05 s


FERRY_NOTE = (f"Kjøretid er et anslag på Kartverkets forenklede vegnett (N1000) med antatte "
              f"hastigheter og {settings.FERRY_WAIT_MIN:.0f} minutters venting per ferje.")


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
        shared.call_for_advice(data.lines)
        with st.expander("Alle numre for råd og støtte"):
            shared.national_lines(data.lines, heading=False)
        st.html(more)
        whole = st.toggle("Vis alle i en tabell", key="tk_table_open")
    with st.container(key="tk-table-open" if whole else "tk-table"):
        st.table(table, hide_index=True)
    st.caption(ages)
    with st.container(key="tk-wide"):
        shared.call_for_advice(data.lines)


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
        shared.national_lines(data.lines)
    with left:
        query = query_box()
        if not query.strip():
            st.info("Skriv hvor du bor for å se de nærmeste selvhjelpsgruppene for pårørende.")
            shared.call_for_advice(data.lines)
            return
        located = place_section(data, query)
        if located is None:
            shared.call_for_advice(data.lines)
            return
        found = search.answer_at(data, located)  # the figures: once per place
        answer_section(data, found)
        route_section(found)
        organisations_section(found)
        map_section(found)


def query_box() -> str:
    """The search box; a long paste is cut to what the search reads, and that is said."""
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
    return str(query)


def place_section(data: pipeline.AppData, query: str) -> search.Located | None:
    """Where the search is: one place, a choice among several, or «Mente du …?» (None)."""
    located = search.locate(data.gazetteer, query)
    resolution = located.resolution
    if located.match is None and located.choices:
        labels = [c.label for c in located.choices]
        picked = st.radio(f"«{geocode.shorten(resolution.query)}» finnes flere steder. "
                          "Hvilket mente du?", labels, key="valg", index=None)
        return None if picked is None else located.chosen(labels.index(picked))
    if located.match is None:
        echo = escape_markdown(geocode.shorten(resolution.query))
        st.warning(f"Vi fant dessverre ikke «{echo}». Prøv et postnummer (fire siffer), "
                   "et stedsnavn eller navnet på kommunen.")
        did_you_mean(located.suggestions)
        return None
    return located


def answer_section(data: pipeline.AppData, found: search.SearchResult) -> None:
    """What is measured from where, the notes, and the nearest groups."""
    match, answer = found.match, found.answer
    assert match is not None and answer is not None
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
            for note in found.notes:
                st.info(escape_markdown(note))
        st.subheader("Nærmeste selvhjelpsgrupper", anchor=False)
        answer_first(data, answer.nearest)


def route_section(found: search.SearchResult) -> None:
    """The group fastest by road and ferry, and the route's legs in words."""
    assert found.answer is not None
    if not found.answer.fastest.empty:
        row = found.answer.fastest.iloc[0]
        st.markdown(
            f"Raskest med bil og ferje: **{escape_markdown(row['name'])}** "
            f"({escape_markdown(settings.ORGANISATIONS[row['organisation']])}, "
            f"{escape_markdown(row['kommunenavn'])}), {minutes(row['drive_min'])}.")
    # The fastest route to a group, drawn on the map below (road solid, ferry dashed).
    path = found.route
    if path is not None:
        st.markdown(answers.derived(path, "caption",
                                    lambda: route.route_caption(path, escape_markdown)))
    st.caption(FERRY_NOTE)


def organisations_section(found: search.SearchResult) -> None:
    """The nearest group of each organisation, the online meetings and the institutions."""
    answer = found.answer
    assert answer is not None
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


def map_section(found: search.SearchResult) -> None:
    """The map: the groups and institutions shown, the searched place and the route."""
    match, answer, path = found.match, found.answer, found.route
    assert match is not None and answer is not None
    # The base map (kommune outlines) is the same for every search, so the browser keeps
    # it; only the markers and the view change (streamlit-folium's dynamic layer).
    fmap = shared.new_map()
    shared.outlines().add_to(fmap)
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
    shared.st_folium(fmap, key="find_map", height=420, use_container_width=True,
                     returned_objects=[], feature_group_to_add=layers,
                     center=(match.lat, match.lon),
                     zoom=maps.zoom_to_show(nearest_km, match.lat, height_px=420))
    st.caption("Kartet viser det samme som tabellene over. Hule, stiplede sirkler: "
               "plasseringen er omtrentlig (kjent på sted-, kommune- eller regionnivå). "
               "Linjen er raskeste rute med bil til en gruppe: heltrukket på veg, "
               "blå stiplet med ferje.")
