"""The coverage page (``?side=dekning``): the national map, one kommune's figures, the table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from tilbudskart import access, geocode, pipeline, serving, settings, warmup
from tilbudskart.pages import shared
from tilbudskart.views import exports, language, measures
from tilbudskart.views.text import (
    PRECISION_LABELS,
    escape_markdown,
    figure,
    kilometres,
    report_filename,
)

if TYPE_CHECKING:
    from tilbudskart.views import maps, tables
else:  # imported at first use (the first page draws no map or table)
    maps = serving.Later("tilbudskart.views.maps")
    tables = serving.Later("tilbudskart.views.tables")  # pandas' Styler: ~0.05 s


REPORT_KOMMUNER = {"4022": "Seljord", "3431": "Dovre", "5601": "Alta", "5610": "Karasjok",
                   "4616": "Tysnes", "5528": "Dyrøy"}

MEASURE_CHOICES = {key: measure.label for key, measure in measures.MEASURES.items()}


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
    st.download_button(t("pdf"), shared.kommune_pdf(number),
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
    shared.share_state("kommune")
    kommune_detail(data, st.session_state.kommune, organisation)


def page_coverage(data: pipeline.AppData) -> None:
    numbers = data.kommuner["kommunenummer"].tolist()
    names = dict(zip(data.kommuner["kommunenummer"], data.kommuner["kommunenavn"], strict=True))
    organisation, measure = choices_section(numbers, names)
    left, right = st.columns([3, 2], gap="large")
    with left:
        map_section(names, organisation, measure)
        picture_downloads(measure)
    with right:
        kommune_panel(data, numbers, names, organisation)
    table_section(data, organisation, measure)


def choices_section(numbers: list[str], names: dict[str, str],
                    ) -> tuple[str | None, measures.Measure]:
    """The organisation and measure (from the URL first), and the kommune shown."""
    shared.init_state("org", list(shared.ORG_CHOICES), "alle")
    shared.init_state("maal", list(MEASURE_CHOICES), "km")
    unknown = shared.init_state("kommune", numbers, "4022")
    if unknown is not None:
        st.warning(f"Fant ingen kommune med nummer «{escape_markdown(geocode.shorten(unknown))}» "
                   f"blant de {len(numbers)} kommunene i "
                   f"{settings.DATA_YEARS['boundaries']}; viser "
                   f"{escape_markdown(names[st.session_state.kommune])} i stedet.")
    if st.session_state.get("clicked_kommune") in names:  # a click on the map, last run
        st.session_state.kommune = st.session_state.pop("clicked_kommune")
        st.session_state.kommune_pick = None
    top = st.columns(2)
    top[0].selectbox("Avstand til", list(shared.ORG_CHOICES),
                     format_func=shared.ORG_CHOICES.get, key="org")
    top[1].selectbox("Mål", list(MEASURE_CHOICES), format_func=MEASURE_CHOICES.get, key="maal")
    shared.share_state("org", "maal")
    return shared.org_id(st.session_state.org), measures.MEASURES[st.session_state.maal]


def map_section(names: dict[str, str], organisation: str | None,
                measure: measures.Measure) -> None:
    """The national map: the measure by kommune, the groups; a click picks a kommune."""
    layers = st.columns(3)
    show_groups = layers[0].checkbox("Vis grupper", value=True)
    show_inst = layers[1].checkbox("Vis institusjoner", value=False)
    tiles = layers[2].checkbox("Bakgrunnskart (OpenStreetMap)", value=False,
                               help="Henter kartfliser fra OpenStreetMap (tredjepart).")
    # The base map is the same for every choice, so the browser keeps it; a new measure,
    # organisation or layer swaps only the layers (streamlit-folium's dynamic layers).
    # Unticked layers are left out: streamlit-folium shows every layer it is given.
    fmap = shared.new_map(tiles=tiles)
    fmap.fit_bounds(settings.NORWAY_BOUNDS)
    shown_layers = [maps.swapped(shared.choropleth(organisation, measure.key))]
    if show_groups:
        shown_layers += [shared.markers(key, settings.ORGANISATIONS[key])
                         for key in settings.SELF_HELP_ORGANISATIONS
                         if organisation in (None, key)]
    if show_inst:
        shown_layers.append(shared.markers("institution", "Behandlingsinstitusjoner"))
    clicked = shared.st_folium(fmap, key="coverage_map", height=560,
                               use_container_width=True,
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


def picture_downloads(measure: measures.Measure) -> None:
    """The national map as a picture (PNG, SVG), made on a click."""
    chosen_org = str(st.session_state.org)
    picture = f"tilbudskart_{measure.key}_{chosen_org}"
    p1, p2 = st.columns(2)
    for column, fmt, mime in ((p1, "png", "image/png"), (p2, "svg", "image/svg+xml")):
        column.download_button(
            f"Last ned kartet ({fmt.upper()})",
            shared.coverage_picture(measure.key, chosen_org, fmt),
            file_name=f"{picture}.{fmt}", mime=mime, on_click="ignore",
            key=f"map_{fmt}", help="1920 × 1080 piksler, med tegnforklaring og "
                                   "målestokk – til lysbilder og saksdokumenter.")


def table_section(data: pipeline.AppData, organisation: str | None,
                  measure: measures.Measure) -> None:
    """Every kommune's figures (filtered by fylke), and the table as files."""
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
            label, shared.table_file(data, organisation, measure.key, fmt, tuple(chosen)),
            file_name=exports.table_filename(organisation, measure.key, fmt),
            mime=exports.TABLE_FORMATS[fmt], on_click="ignore", key=f"table_{fmt}",
            help="Samme kolonner som tabellen over. CSV-filen er for norsk Excel "
                 "(semikolon og desimalkomma)." if fmt == "csv" else None)
