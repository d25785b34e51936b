"""The app as people use it, through Streamlit's AppTest (no browser, no network)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tilbudskart import access, settings
from tilbudskart.views.text import escape_markdown, figure

REPO_ROOT = Path(__file__).resolve().parents[1]

APP = str(REPO_ROOT / "app.py")


def run(query_params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    for key, value in (query_params or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown_table(at: AppTest, number: int = 0) -> pd.DataFrame:
    """A result table as a person reads it: Markdown escapes removed, numbers as numbers
    (the app sends ``st.table`` text: "10,4", "1 234", "–")."""
    table = at.table[number].value.map(
        lambda v: re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", v).replace("\u2060", ""))
    for column in ("Avstand (km)", "Kjøretid (ca. min)"):
        if column in table.columns:
            table[column] = pd.to_numeric(
                table[column].str.replace("\xa0", "").str.replace(",", ".")
                .replace("–", None), errors="raise")
    return table


def text_of(at: AppTest) -> str:
    """The page's Markdown and captions as a person reads them (escapes removed)."""
    source = "\n".join(m.value for m in at.markdown) + "\n".join(c.value for c in at.caption)
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", source).replace("\u2060", "")


@pytest.mark.parametrize(("query", "kommune"), [("3840", "4022"), ("Alta", "5601"),
                                                ("Tysnes", "4616")])
def test_search_gives_the_nearest_groups_the_access_table_gives(query, kommune, gazetteer,
                                                                 services, kommuner):
    at = run()
    at.text_input(key="q").input(query).run()
    assert not at.exception
    shown = shown_table(at)
    match = gazetteer.search(query).match
    expected = access.nearest_services(match.lat, match.lon, services, n=5)
    assert list(shown["Navn"]) == list(expected["name"])
    assert shown["Avstand (km)"].is_monotonic_increasing
    if query != "3840":  # a place search starts where the kommune table measures from
        assert shown["Kommune"].iloc[0] == kommuner.at[kommune, "nearest_group_kommune"]


def test_search_shows_drive_times_and_the_fastest_group_by_ferry(gazetteer, kommuner):
    # Tysnes is an island: the table gives drive times, and the same figure as the travel
    # table for the group it names, measured from Tysnes' centre.
    at = run()
    at.text_input(key="q").input("Tysnes").run()
    shown = shown_table(at)
    assert "Kjøretid (ca. min)" in shown.columns
    minutes = shown["Kjøretid (ca. min)"].dropna()
    assert len(minutes) == len(shown)
    assert (minutes > shown["Avstand (km)"] * 0.6).all()  # a ferry makes the short hop slow
    assert "Kjøretid er et anslag" in text_of(at)


def test_coverage_map_by_travel_time_is_shareable(kommuner):
    at = run({"side": "dekning", "maal": "min", "kommune": "5601"})
    assert at.selectbox(key="maal").value == "min"
    table = at.dataframe[0].value
    routed = table["Kjøretid (min)"].dropna()
    assert routed.is_monotonic_decreasing
    assert routed.iloc[0] == round(kommuner["drive_min"].max())
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Kjøretid (min)"] == f"{kommuner.at['5601', 'drive_min']:.0f}"
    assert "min" in "\n".join(m.value for m in at.markdown if "Tegnforklaring" in m.value)


def test_national_lines_and_privacy_note_are_always_visible():
    at = run()
    text = text_of(at)
    assert "Rusinfo" in text and "Al-Anon" in text
    assert "lagres ikke" in text


def test_ambiguous_search_offers_choices():
    at = run()
    at.text_input(key="q").input("Os").run()
    choices = at.radio(key="valg")
    assert {"Os (Os kommune, Innlandet)", "Os (Bjørnafjorden kommune, Vestland)"} == set(
        choices.options)
    choices.set_value("Os (Bjørnafjorden kommune, Vestland)").run()
    assert "Bjørnafjorden" in text_of(at)


def test_unknown_search_says_so_kindly():
    at = run()
    at.text_input(key="q").input("Qwxyzby").run()
    assert any("fant dessverre ikke" in w.value for w in at.warning)


def test_a_typo_offers_what_it_may_mean_and_a_tap_searches_it():
    at = run()
    at.text_input(key="q").input("Kautokiino").run()
    assert [b.label for b in at.button if b.key.startswith("mente_")] == ["Kautokeino"]
    assert "Mente du" in text_of(at)
    at.button(key="mente_0").click().run()
    assert at.text_input(key="q").value == "Kautokeino"
    assert "Kautokeino" in text_of(at) and at.table[0].value["Navn"].iloc[0]
    assert dict(at.query_params) == {"side": "finn"}  # the search stays out of the URL


def test_the_answer_comes_first_as_cards_with_the_phone_lines():
    at = run()
    at.text_input(key="q").input("Seljord").run()
    html = [str(h.proto.body) for h in at.get("html")]
    nearest = next(h for h in html if 'aria-label="Nærmeste gruppe"' in h)
    assert nearest.count('class="tk-card"') == 1 and 'href="tel:' in nearest
    more = next(h for h in html if 'aria-label="Flere grupper i nærheten"' in h)
    assert more.count('class="tk-card"') == 4
    # The phone's short line of phone numbers and the full list behind a tap, then the
    # table behind a tap; the age of each organisation's list beside the answer.
    assert "Ring for råd" in text_of(at)
    assert any(e.label == "Alle numre for råd og støtte" for e in at.expander)
    assert not at.toggle(key="tk_table_open").value
    assert "ring og sjekk før du drar" in text_of(at)


def test_coverage_view_is_shareable_and_shows_the_kommune(kommuner):
    at = run({"side": "dekning", "kommune": "5601", "org": "lms"})
    assert at.selectbox(key="kommune").value == "5601"
    assert any("Alta" in h.value for h in at.subheader)
    assert at.query_params["org"] == ["lms"] or at.query_params["org"] == "lms"


def test_planner_table_filters_by_fylke_and_sorts():
    at = run({"side": "dekning"})
    at.multiselect(key="fylker").set_value(["Telemark"]).run()
    table = at.dataframe[0].value
    assert set(table["Fylke"]) == {"Telemark"}
    assert "Seljord" in set(table["Kommune"])
    assert table["Km til nærmeste gruppe"].is_monotonic_decreasing


def test_report_quick_pick_selects_the_kommune():
    at = run({"side": "dekning"})
    at.selectbox(key="kommune_pick").set_value("3431").run()
    assert at.selectbox(key="kommune").value == "3431"
    assert any("Dovre" in h.value for h in at.subheader)


def test_new_groups_page_plans_k_sites_and_ranks_single_sites(kommuner, services):
    at = run({"side": "nye", "antall": "3"})
    plan_table, single = at.dataframe[0].value, at.dataframe[1].value
    assert len(plan_table) == 3
    assert plan_table["Til sammen"].is_monotonic_increasing
    assert single["Ny gruppe her ville nå"].is_monotonic_decreasing
    # The best single site is also the first of the plan (K = 1 is the same question).
    assert plan_table["Når alene"].iloc[0] <= single["Ny gruppe her ville nå"].iloc[0]
    text = text_of(at)
    assert figure(plan_table["Til sammen"].iloc[-1]) in text
    at.select_slider(key="antall").set_value("1").run()
    assert not at.exception and len(at.dataframe[0].value) == 1
    assert at.dataframe[0].value["Når alene"].iloc[0] == single["Ny gruppe her ville nå"].iloc[0]
    at.selectbox(key="org").set_value("lms").run()
    assert not at.exception and at.query_params["org"] in ("lms", ["lms"])


def test_credits_and_2007_note():
    text = run().caption
    joined = " ".join(c.value for c in text)
    for name in ("Kartverket", "Statistisk sentralbyrå", "www.erikbolstad.no/postnummer/",
                 "GeoNames", "2007"):
        assert name in joined


@pytest.mark.parametrize("evil", ["<script>alert(1)</script>",
                                  "![px](http://evil.example/p.png)",
                                  "<https://evil.example>", "[klikk](javascript:alert(1))"])
def test_a_service_named_as_markup_renders_as_text(tmp_path, monkeypatch, evil):
    path = tmp_path / "evil.csv"
    pd.DataFrame([{"name": evil, "organisation": "lms", "place": "Seljord",
                   "county": "Telemark"}]).to_csv(path, index=False)
    monkeypatch.setenv("TILBUDSKART_IMPORTS", str(path))
    st.cache_resource.clear()
    try:
        at = run()
        at.text_input(key="q").input("3840").run()
        # Sent as Markdown-escaped text: shown as written, no link, image or tag.
        assert at.table[0].value["Navn"].iloc[0] == escape_markdown(evil)
        assert shown_table(at)["Navn"].iloc[0] == evil
        markdown = "\n".join(m.value for m in at.markdown)
        # The name reaches Markdown only with every punctuation mark escaped: no image,
        # link or tag can start, and the reader still sees the name as written.
        assert evil not in markdown
        assert escape_markdown(evil) in markdown
        assert not re.search(r"(?<!\\)\]\(http|(?<!\\)<https", markdown)
        at = run({"side": "dekning", "kommune": "4022", "org": "lms"})
        detail = "\n".join(m.value for m in at.markdown)
        assert evil not in detail and escape_markdown(evil) in detail
    finally:
        st.cache_resource.clear()


def test_what_if_a_chosen_kommune_gets_a_group_is_shareable():
    at = run({"side": "nye", "antall": "3", "med": "4022"})
    plan_table = at.dataframe[0].value
    assert plan_table["Kommune"].iloc[0] == "Seljord" and plan_table["Valgt av deg"].iloc[0]
    assert len(plan_table) == 3 and plan_table["Valgt av deg"].sum() == 1
    assert "Uten kommunene du valgte" in text_of(at)
    at.multiselect(key="med").set_value(["4022", "3431", "5610", "4616"]).run()
    assert not at.exception
    plan_table = at.dataframe[0].value
    assert len(plan_table) == 4 and plan_table["Valgt av deg"].all()  # k grows to fit
    assert at.query_params["med"] in ("4022,3431,5610,4616", ["4022,3431,5610,4616"])


def test_new_groups_by_drive_time():
    at = run({"side": "nye", "antall": "2", "naer": "60min"})
    assert at.radio(key="naer").value == "60min"
    assert "med bil og ferje" in text_of(at)
    single = at.dataframe[1].value
    assert "Kjøretid til nærmeste gruppe i dag (min)" in single.columns
    assert single["Ny gruppe her ville nå"].is_monotonic_decreasing
    assert "over 240 min" in "\n".join(m.value for m in at.markdown)


def test_a_repeated_kommune_in_a_shared_link_is_taken_once():
    at = run({"side": "nye", "antall": "3", "med": "4022,4022"})
    assert at.multiselect(key="med").value == ["4022"]
    assert len(at.dataframe[0].value) == 3


def test_switching_pages_drops_the_other_pages_parameters():
    at = run({"side": "nye", "antall": "3", "naer": "60min"})
    at.radio(key="side").set_value("dekning").run()
    assert not at.exception
    assert "antall" not in at.query_params and "naer" not in at.query_params
    assert at.query_params["side"] in ("dekning", ["dekning"])


def test_a_broken_data_folder_shows_a_norwegian_message_and_the_phone_lines(tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv("TILBUDSKART_DATA_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("TILBUDSKART_CACHE_DIR", "")
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(APP, default_timeout=180)
        at.run()
        assert not at.exception
        assert any("noe gikk galt" in e.value for e in at.error)
        text = text_of(at)
        assert "Rusinfo" in text and "08588" in text
        assert "Traceback" not in text and str(tmp_path) not in text
    finally:
        st.cache_resource.clear()


def test_coverage_detail_follows_the_chosen_organisation(kommuner):
    at = run({"side": "dekning", "org": "al_anon", "kommune": "4624"})
    metrics = {m.label: m.value for m in at.metric}  # Bjørnafjorden writes nynorsk
    assert metrics["Km til næraste gruppe"] == figure(kommuners_km := kommuner.at[
        "4624", "km_al_anon"])
    assert kommuners_km >= kommuner.at["4624", "nearest_group_km"]
    assert "Al-Anon" in text_of(at)
    # Every group listed in the detail is an Al-Anon group.
    listed = [m.value for m in at.markdown if m.value.startswith("- **")]
    assert listed and all("Al\\-Anon" in line for line in listed)


def test_report_pick_is_cleared_when_the_kommune_changes_another_way():
    at = run({"side": "dekning"})
    at.selectbox(key="kommune_pick").set_value("3431").run()
    at.selectbox(key="kommune").set_value("5601").run()
    assert at.selectbox(key="kommune_pick").value is None
    assert any("Alta" in h.value for h in at.subheader)


def test_an_ambiguous_search_shows_nothing_until_a_place_is_chosen():
    at = run()
    at.text_input(key="q").input("Os").run()
    assert at.radio(key="valg").value is None
    assert not at.table  # no results for a place the user did not choose
    assert "Ring for råd" in text_of(at)


@pytest.mark.parametrize("query", ["9170", "9170 Longyearbyen", "Svalbard", "8099"])
def test_svalbard_and_jan_mayen_get_an_answer_not_a_crash(query):
    at = run()
    at.text_input(key="q").input(query).run()
    assert not at.exception and not at.error
    notes = " ".join(i.value for i in at.info)
    assert "fastlandet" in notes
    assert len(at.table[0].value) == 5  # the nearest groups on the mainland
    assert "Ring for råd" in text_of(at)


def test_a_street_address_says_what_was_matched():
    at = run()
    at.text_input(key="q").input("Storgata 1, Tysnes").run()
    notes = re.sub(r"\\(.)", r"\1", " ".join(i.value for i in at.info))
    assert "Fant Tysnes" in notes and "gateadresser" in notes


def test_a_very_long_query_is_not_echoed_in_full():
    at = run()
    at.text_input(key="q").input("x" * 199 + "\u200b").run()
    assert not at.exception
    shown = " ".join(w.value for w in at.warning)
    assert "x" * 100 not in shown


# -- upload of today's list (issue 12) ------------------------------------------------------


def test_upload_changes_every_page_for_this_session_only(tmp_path):
    listing = ("Navn;Organisasjon;Sted;Møteform\nDovre pårørende;LMS;Dovre;\n"
               "Feil;Ukjent;Oslo;\nNettgruppa;LMS;;på nett\nUten sted;LMS;;\n"
               ).encode("cp1252")
    at = run({"side": "last"})
    assert any(b.label == "Last ned mal (Excel)" for b in at.get("download_button"))
    at.get("file_uploader")[0].set_value(("lms_2026.csv", listing, "text/csv"))
    at.selectbox(key="liste_org").set_value("lms")
    at.radio(key="liste_modus").set_value("replace").run()
    next(b for b in at.button if b.label == "Bruk lista").click().run()
    assert not at.exception, [e.value for e in at.exception]
    text = text_of(at)
    assert "skilletegn semikolon" in text and "4 rader: 2 brukt, 2 avvist" in text
    tables = {tuple(d.value.columns): d.value for d in at.dataframe}
    report = next(t for c, t in tables.items() if "Felt" in c)
    assert report[["Rad", "Felt"]].values.tolist() == [[3, "organisasjon"], [5, "sted"]]
    assert report["Problem"].iloc[0].startswith("ukjent organisasjon")
    counts = next(t for c, t in tables.items() if "Borte" in c).set_index("Organisasjon")
    lms = settings.ORGANISATIONS["lms"]
    assert (counts.loc[lms, "Nye"], counts.loc[lms, "Borte"]) == (2, 43)
    # Two groups replacing LMS's 45: said plainly, before the comparison.
    warnings = " ".join(w.value for w in at.warning)
    assert "Lista har 2 grupper for" in warnings and "bare en del av lista" in warnings
    preview = next(t for c, t in tables.items() if "Møteform" in c)
    assert set(preview["Organisasjon"]) == {lms}
    assert set(preview["Møteform"]) == {"fysisk", "på nett"}
    # The coverage page now measures to the uploaded LMS group at Dovre.
    at.radio(key="side").set_value("dekning").run()
    at.selectbox(key="org").set_value("lms").run()
    at.selectbox(key="kommune").set_value("3431").run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Grupper i kommunen"] == "1"
    # Every search shows the online meeting; it is no group near Dovre.
    at.radio(key="side").set_value("finn").run()
    at.text_input(key="q").input("Seljord").run()
    assert "Møter på nett" in [h.value for h in at.subheader]
    assert "Nettgruppa" in text_of(at)
    # Another session (a fresh AppTest) still sees the 2007 registry.
    other = run({"side": "dekning", "kommune": "3431", "org": "lms"})
    assert {m.label: m.value for m in other.metric}["Grupper i kommunen"] == "0"


def test_a_duplicate_row_is_shown_and_left_out_unless_kept():
    listing = b"Navn;Sted\nAl-Anon Seljord;Seljord\nAl-Anon Seljord;Seljord\n"
    at = run({"side": "last"})
    at.get("file_uploader")[0].set_value(("al_anon.csv", listing, "text/csv"))
    at.selectbox(key="liste_org").set_value("al_anon").run()
    next(b for b in at.button if b.label == "Bruk lista").click().run()
    assert not at.exception, [e.value for e in at.exception]
    report = next(d.value for d in at.dataframe if "Alvor" in d.value.columns)
    assert list(report["Alvor"]) == ["dublett (ikke tatt med)"]
    at.radio(key="side").set_value("finn").run()
    at.text_input(key="q").input("Seljord").run()
    assert text_of(at).count("Al-Anon Seljord") == 1
    at = run({"side": "last"})
    at.get("file_uploader")[0].set_value(("al_anon.csv", listing, "text/csv"))
    at.selectbox(key="liste_org").set_value("al_anon")
    at.checkbox(key="liste_dubletter").check().run()
    next(b for b in at.button if b.label == "Bruk lista").click().run()
    assert not at.exception, [e.value for e in at.exception]
    report = next(d.value for d in at.dataframe if "Alvor" in d.value.columns)
    assert list(report["Alvor"]) == ["merknad (brukt)"]


def test_planning_page_says_how_many_groups_it_would_take_and_its_limits():
    at = run({"side": "nye", "antall": "3", "hensyn": "rettferdighet"})
    assert at.radio(key="hensyn").value == "rettferdighet"
    text = text_of(at)
    assert re.search(r"trengs minst \*\*\d+ nye grupper\*\*", text)
    assert any("drives av frivillige" in info.value and "ikke en spådom" in info.value
               for info in at.info)
    worst = at.dataframe[2].value
    assert list(worst["Plassering"]) == ["I dag", "Med disse gruppene"]
    today, planned = worst["Lengst avstand (km)"]
    assert planned <= today
    assert len(at.get("vega_lite_chart")) == 1  # the curve
    cover_all = at.dataframe[3].value
    assert cover_all["Legger til"].is_monotonic_decreasing


def test_planning_values_from_the_url_are_checked():
    at = run({"side": "nye", "antall": "99", "naer": "30km", "hensyn": "<b>",
              "med": "4022,abcd"})
    assert at.select_slider(key="antall").value == "5"
    assert at.radio(key="naer").value == "50km"
    assert at.radio(key="hensyn").value == "dekning"
    assert at.multiselect(key="med").value == ["4022"]


def test_every_column_of_the_table_follows_the_chosen_organisation(services):
    at = run({"side": "dekning", "org": "al_anon", "kommune": "4616"})
    notes = " ".join(c.value for c in at.caption)
    assert "Alle kolonner om grupper gjelder Al-Anon" in notes
    assert "Alle kolonner om grupper" not in " ".join(
        c.value for c in run({"side": "dekning"}).caption)
    table = at.dataframe[0].value.set_index("Kommunenr.")
    tysnes = table.loc["4616"]
    # Tysnes: Al-Anon's nearest group, not Os (an LMS group 20 km away).
    nearest = services[services["name"] == tysnes["Nærmeste gruppe"]]
    assert set(nearest["organisation"]) == {"al_anon"}
    # The kommune panel (in nynorsk: Tysnes writes it) says the same.
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Km til næraste gruppe"] == figure(tysnes["Km til nærmeste gruppe"])
    assert metrics["Grupper i kommunen"] == figure(tysnes["Grupper i kommunen"])
    assert metrics["Bur > 60 min unna"] == figure(tysnes["Bor > 60 min unna"])
    assert "Kommunen skriv nynorsk" in notes
    labels = {b.proto.label for b in at.get("download_button")}
    assert {"Last ned tabell (Excel)", "Last ned tabell (CSV)"} <= labels


def test_the_app_speaks_nynorsk_when_chosen_and_keeps_it_out_of_the_url():
    at = run()
    assert at.radio(key="malform").value == "nb"
    assert "Hvor finnes hjelp" in at.markdown[0].value
    at.radio(key="malform").set_value("nn").run()
    assert "Kvar finst det hjelp" in at.markdown[0].value
    assert at.radio(key="side").label == "Vel visning"
    at.radio(key="side").set_value("dekning").run()
    assert at.radio(key="malform").value == "nn"  # remembered in the session
    assert "malform" not in dict(at.query_params)


def test_planning_answers_in_plain_words():
    at = run({"side": "nye", "antall": "3", "naer": "60min"})
    text = text_of(at)
    assert re.search(r"Til sammen ville 3 nye grupper nå [\d\xa0 ]+ av de [\d\xa0 ]+ "
                     r"innbyggerne som i dag bor mer enn 60 min med bil og ferje", text)
    reasons = [line for line in text.splitlines() if re.match(r"- \d\. ", line)]
    assert len(reasons) == 3 and all("en gruppe her ville nå" in r for r in reasons)
    assert all(re.search(r"(mest )?i [A-ZÆØÅ]", r) for r in reasons)
    assert any("«Valgt av deg»" in c.value for c in at.caption)
    inside = {m.value for e in at.expander if e.label == "Slik er det regnet"
              for m in e.markdown}
    assert any("MCLP" in m for m in inside) and any("LSCP" in m for m in inside)
    outside = [m.value for m in [*at.markdown, *at.caption] if m.value not in inside]
    for method in ("MCLP", "p-median", "LSCP"):
        assert not any(method in line for line in outside), method


def test_a_sami_name_of_two_kommuner_offers_both():
    at = run()
    at.text_input(key="q").input("Báhcavuotna").run()
    assert set(at.radio(key="valg").options) == {
        "Báhcavuotna (Båtsfjord kommune, Finnmark)", "Báhcavuotna (Balsfjord kommune, Troms)"}
    at.radio(key="valg").set_value("Báhcavuotna (Balsfjord kommune, Troms)").run()
    assert "Balsfjord" in text_of(at)


def test_a_paste_over_200_characters_is_cut_with_a_note():
    at = run()
    at.text_input(key="q").input("Alta " + "x" * 300).run()
    assert any("bare de første 200 tegnene" in i.value for i in at.info)
    assert not any("for lang" in w.value for w in at.warning)


def test_an_unknown_kommune_number_in_the_link_is_said():
    at = run({"side": "dekning", "kommune": "0826"})
    assert any("Fant ingen kommune med nummer «0826»" in w.value and "Seljord" in w.value
               for w in at.warning)
    at = run({"side": "dekning", "kommune": "4022"})
    assert not at.warning


def test_unknown_and_too_many_kommuner_in_a_shared_plan_link_are_said(kommuner):
    from tilbudskart import planning

    numbers = list(kommuner.index[: planning.MAX_NEW_GROUPS + 2])
    at = run({"side": "nye", "antall": "3", "med": ",".join(["9999", *numbers])})
    warnings = " ".join(w.value for w in at.warning)
    assert "Fant ingen kommune med nummer 9999" in warnings
    assert (f"Lenken nevner {planning.MAX_NEW_GROUPS + 2} kommuner; bare de "
            f"{planning.MAX_NEW_GROUPS} første er tatt med") in warnings
    assert len(at.multiselect(key="med").value) == planning.MAX_NEW_GROUPS


def test_the_app_needs_no_magic():
    """runner.magicEnabled is off (.streamlit/config.toml): app.py shows nothing by a bare
    expression, so turning magic off changes no page."""
    import ast
    import tomllib

    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["magicEnabled"] is False
    tree = ast.parse((REPO_ROOT / "app.py").read_text())
    bare = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Expr)
            and not isinstance(node.value, ast.Call | ast.Await)
            and not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str))]
    assert bare == []
