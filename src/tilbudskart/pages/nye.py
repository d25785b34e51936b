"""The planning page (``?side=nye``): where new groups would reach most, and how many are needed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from tilbudskart import geocode, pipeline, planning, serving, settings
from tilbudskart.pages import shared
from tilbudskart.views import measures
from tilbudskart.views.text import escape_markdown, figure

if TYPE_CHECKING:
    from tilbudskart.views import maps, plan_words, tables
else:  # imported at first use (the first page draws no map or table)
    maps = serving.Later("tilbudskart.views.maps")
    tables = serving.Later("tilbudskart.views.tables")  # pandas' Styler: ~0.05 s
    plan_words = serving.Later("tilbudskart.views.plan_words")


#: What counts as "near" a group on the planning page: (unit, threshold).
NEAR_CHOICES = {key: (t.unit, t.value) for key, t in planning.THRESHOLDS.items()}

NEAR_LABELS = {key: f"{t.value:g} km" if t.unit == "km" else f"{t.value:g} min med bil"
               for key, t in planning.THRESHOLDS.items()}

#: Objectives on the planning page (URL ``?hensyn=``): label and planning objective.
OBJECTIVE_CHOICES = {"dekning": ("Dekning: flest innenfor", "coverage"),
                     "rettferdighet": ("Rettferdighet: kortest vei for de lengst unna",
                                       "median")}

NEW_GROUP_CHOICES = [str(n) for n in range(1, planning.MAX_NEW_GROUPS + 1)]

LIMITS_NOTE = ("Grupper drives av frivillige. Et sted her er der en gruppe ville nå flest "
               "mennesker, ikke en spådom om at en gruppe kan eller vil starte der.")


def ranking(organisation: str, near: str) -> pd.DataFrame:
    return shared.current_planner().ranking(near, shared.org_id(organisation))


def plan(organisation: str, near: str, k: int, method: str,
         fixed: tuple[str, ...] = (), objective: str = "coverage") -> planning.Plan:
    return shared.current_planner().new_sites(
        k, near, shared.org_id(organisation), fixed, objective,
        method="greedy" if method == "greedy" else "optimal")


def site_reasons(best: planning.Plan, organisation: str, near: str, far: str) -> list[str]:
    """One sentence per proposed site: how many it reaches, and from which kommuner."""
    data = shared.current_data()
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
                                        shared.org_id(organisation), unit)
        if len(_TODAY) > 16:
            _TODAY.clear()
        _TODAY[key] = kept
    return kept


#: Grid measures of :func:`_today`, by data, organisation and unit (bounded).
_TODAY: dict[tuple[str, ...], Any] = {}


@dataclass(frozen=True)
class Question:
    """What the planning page asks: for whom, what is near, how many groups, which goal."""

    organisation: str  # a choice of ORG_CHOICES ("alle": any self-help organisation)
    near: str  # a key of NEAR_CHOICES
    k: int
    fixed: tuple[str, ...]  # kommuner chosen to get a group
    objective: str  # "coverage" or "median"

    @property
    def unit(self) -> str:
        return NEAR_CHOICES[self.near][0]

    @property
    def threshold(self) -> float:
        return NEAR_CHOICES[self.near][1]

    @property
    def far(self) -> str:
        """How far is too far, in words ("mer enn 50 km")."""
        return f"mer enn {NEAR_LABELS[self.near].replace(' med bil', '')}"

    @property
    def road(self) -> str:
        return " med bil og ferje" if self.unit == "min" else ""


def page_new_groups(data: pipeline.AppData) -> None:
    asked = question_section(data)
    with st.spinner("Beregner beste plassering …"):
        best = plan(asked.organisation, asked.near, asked.k, "mclp", asked.fixed,
                    asked.objective)
    plan_section(asked, best)
    with st.expander("Slik er det regnet"):
        how_section(asked, best)
    plan_map(asked, best)
    with st.expander("Hver kommune for seg: hvor mange ville én ny gruppe nå?"):
        ranked = ranking(asked.organisation, asked.near)
        st.dataframe(tables.styled(tables.ranking_table(ranked, asked.far).head(25)),
                     hide_index=True, key="ranking_table")
    worst_off_section(best, asked.organisation, asked.objective)
    how_many_section(asked.organisation, asked.near, asked.far)


def question_section(data: pipeline.AppData) -> Question:
    """The page's choices (from the URL first, shared back to it)."""
    shared.init_state("org", list(shared.ORG_CHOICES), "alle")
    shared.init_state("antall", NEW_GROUP_CHOICES, shared.DEFAULT_NEW_GROUPS)
    shared.init_state("hensyn", list(OBJECTIVE_CHOICES), "dekning")
    st.info(LIMITS_NOTE)
    cols = st.columns(3)
    cols[0].selectbox("Organisasjon", list(shared.ORG_CHOICES),
                      format_func=shared.ORG_CHOICES.get, key="org")
    shared.init_state("naer", list(NEAR_CHOICES), shared.DEFAULT_NEAR)
    cols[1].radio("Regnes som «nær» en gruppe", list(NEAR_CHOICES), horizontal=True,
                  format_func=NEAR_LABELS.get, key="naer")
    cols[2].select_slider("Antall nye grupper", NEW_GROUP_CHOICES, key="antall")
    st.radio("Hva skal plasseringen ta hensyn til?", list(OBJECTIVE_CHOICES), horizontal=True,
             format_func=lambda key: OBJECTIVE_CHOICES[key][0], key="hensyn")
    objective = OBJECTIVE_CHOICES[st.session_state.hensyn][1]
    names = dict(zip(data.kommuner["kommunenummer"], data.kommuner["kommunenavn"], strict=True))
    if "med" not in st.session_state:  # from a shared link: ?med=4022,3431 (each once)
        linked_kommuner(names)
    fixed = st.multiselect("Hva om disse kommunene får en gruppe? (resten velges rundt dem)",
                           list(names), key="med", format_func=lambda n: f"{names[n]} ({n})",
                           placeholder="Velg kommuner …",
                           max_selections=planning.MAX_NEW_GROUPS)
    shared.share_state("org", "antall", "naer", "hensyn")
    if fixed:
        st.query_params["med"] = ",".join(fixed)
    elif "med" in st.query_params:
        del st.query_params["med"]
    k = max(int(st.session_state.antall), len(fixed))
    if len(fixed) > int(st.session_state.antall):
        st.info(f"Du har valgt {len(fixed)} kommuner, så planen har {len(fixed)} grupper.")
    return Question(st.session_state.org, st.session_state.naer, k, tuple(fixed), objective)


def linked_kommuner(names: dict[str, str]) -> None:
    """The kommuner a shared link names (``?med=4022,3431``): each once, known, at most
    :data:`planning.MAX_NEW_GROUPS`; what is left out is said."""
    asked = list(dict.fromkeys(n for n in st.query_params.get("med", "").split(",") if n))
    st.session_state.med = [n for n in asked if n in names][:planning.MAX_NEW_GROUPS]
    unknown = [n for n in asked if n not in names]
    if unknown:
        st.warning(f"Fant ingen kommune med nummer "
                   f"{escape_markdown(geocode.shorten(', '.join(unknown)))}; de er utelatt.")
    if len([n for n in asked if n in names]) > planning.MAX_NEW_GROUPS:
        st.warning(f"Lenken nevner {len([n for n in asked if n in names])} kommuner; "
                   f"bare de {planning.MAX_NEW_GROUPS} første er tatt med.")


def plan_section(asked: Question, best: planning.Plan) -> None:
    """The plan in words, why each site, and its table."""
    far = f"{asked.far}{asked.road}"
    st.markdown(plan_words.total_sentence(asked.k, best.covered, best.beyond, far))
    if asked.fixed:
        free = plan(asked.organisation, asked.near, asked.k, "mclp", (), asked.objective)
        st.markdown(f"Uten kommunene du valgte, ville {asked.k} grupper plassert der de når "
                    f"flest, nådd {figure(free.covered)} "
                    f"({figure(free.covered - best.covered)} flere).")
    # Why each site: whom it reaches (beyond the threshold today), and from which kommuner.
    st.markdown("\n".join(f"- {escape_markdown(line)}" for line in site_reasons(
        best, asked.organisation, asked.near, far)))
    st.dataframe(tables.styled(tables.plan_table(best.sites)), hide_index=True,
                 key="plan_table")
    st.caption("«Når alene»: hvor mange gruppen ville nå om den var den eneste nye. «Legger "
               "til»: hvor mange den når som ingen av stedene over når. «Valgt av deg»: "
               "kommuner du har lagt inn under «Hva om disse kommunene får en gruppe?»; de "
               "andre stedene er valgt rundt dem.")


def how_section(asked: Question, best: planning.Plan) -> None:
    """How the plan was found, in words."""
    share = best.covered / best.demand if best.demand else 0.0
    how = (f"Av de {figure(best.beyond)} som i dag bor {asked.far}{asked.road} fra nærmeste "
           f"gruppe, kan {figure(best.demand)} nås fra et kommunesenter; planen når "
           f"{figure(best.covered)} av dem ({figure(100 * share)} %). ")
    if asked.objective == "coverage":
        one_by_one = plan(asked.organisation, asked.near, asked.k, "greedy", asked.fixed)
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
            + ("avstand i luftlinje." if asked.unit == "km" else
               "anslått kjøretid på vegnettet N1000."))
    st.markdown(how)


def plan_map(asked: Question, best: planning.Plan) -> None:
    """The proposed sites on the map of today's measure."""
    measure = measures.MEASURES[asked.unit]
    fmap = shared.new_map()
    fmap.fit_bounds(settings.NORWAY_BOUNDS)
    shared.choropleth(shared.org_id(asked.organisation), measure.key).add_to(fmap)
    maps.site_markers(best.sites, asked.threshold if asked.unit == "km" else None).add_to(fmap)
    shared.st_folium(fmap, key="new_map", height=520, use_container_width=True, returned_objects=[])
    st.markdown(maps.legend_html(measure), unsafe_allow_html=True)


def worst_off_section(best: planning.Plan, organisation: str, objective: str) -> None:
    """What the plan does for those who live farthest from a group today."""
    st.subheader("Hva betyr planen for dem som bor lengst unna?", anchor=False)
    labels = {"today": "I dag", "plan": "Med disse gruppene"}
    planner, chosen = shared.current_planner(), shared.org_id(organisation)
    figures = pd.DataFrame({"today": planner.worst_off(best.sites.iloc[:0], chosen),
                            "plan": planner.worst_off(best.sites, chosen)}).T
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
        answer = shared.current_planner().cover_all(near, shared.org_id(organisation))
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
