"""The upload page (``?side=last``): a session's own list, its report, then and now, publishing."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from tilbudskart import importers, pipeline, serving, settings
from tilbudskart.pages import shared
from tilbudskart.views import exports
from tilbudskart.views.text import escape_markdown, figure

if TYPE_CHECKING:
    from tilbudskart.store import Store
    from tilbudskart.views import maps, tables
    from tilbudskart.views import upload as upload_views
else:  # imported at first use (the first page draws no map or table)
    maps = serving.Later("tilbudskart.views.maps")
    tables = serving.Later("tilbudskart.views.tables")  # pandas' Styler: ~0.05 s
    upload_views = serving.Later("tilbudskart.views.upload")


UPLOAD_MODES = {"add": "Legg til 2007-gruppene",
                "replace": "Erstatt organisasjonens grupper fra 2007"}

REPORT_HEADERS = {"file": "Fil", "row": "Rad", "field": "Felt", "value": "Verdi",
                  "problem_nb": "Problem", "severity": "Alvor"}


def page_upload(data: pipeline.AppData) -> None:
    templates_section()
    organisation = upload_form()
    compare_versions(data)
    upload = st.session_state.get("opplasting")
    if not isinstance(upload, pipeline.Upload):
        return
    problems = results_section(upload)
    if len(problems):
        report_section(problems)
    if upload.data is None:
        return
    preview_section(upload)
    if upload.then_and_now is not None:
        then_and_now_section(upload.then_and_now)
    publish_section(upload, None if organisation == "fra_lista" else organisation)


def templates_section() -> None:
    """What the page is for, and the list templates."""
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


def upload_form() -> str:
    """The file, its organisation and mode; "Bruk lista" reads it into this session."""
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
                shared.load(), [(upload_file.name, upload_file.getvalue())],
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
    return str(organisation)


def results_section(upload: pipeline.Upload) -> pd.DataFrame:
    """What was read from each file; returns the rows with problems."""
    for problem in upload.problems:
        st.error(f"Kunne ikke lese lista: {escape_markdown(problem)}")
    for result in upload.results:
        st.markdown(f"**{escape_markdown(result.file)}**: {escape_markdown(result.describe_nb())}")
    # A part-list read as the whole list looks like a collapse: said before any figure.
    for note in upload_views.part_list_notes(
            shared.load().services, upload.results,
            st.session_state.get("opplasting_modus", "add")):
        st.warning(note)
    if upload.dataset is None:
        if upload.results:
            st.warning("Ingen rader kunne brukes; se rapporten under.")
        problems = importers.concat_reports(r.report for r in upload.results)
    else:
        problems = upload.dataset.import_report
    return problems


def report_section(problems: pd.DataFrame) -> None:
    """The rows with problems, in Norwegian, and as a CSV file."""
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


def preview_section(upload: pipeline.Upload) -> None:
    """The rows used, as the pages now show them."""
    st.subheader("Forhåndsvisning", anchor=False)
    used = pd.concat([r.services for r in upload.results if len(r.services)])
    st.dataframe(upload_views.preview_table(used).head(200), hide_index=True,
                 key="import_preview")
    st.success("Alle sidene viser nå lista di (bare i denne nettleserøkten).")


def then_and_now_section(comparison: pipeline.ThenAndNow) -> None:
    """Then and now: the 2007 registry against the list (counts, coverage, map, groups)."""
    st.subheader("Da og nå: 2007 mot lista", anchor=False)
    st.dataframe(tables.styled(upload_views.counts_table(comparison.counts)),
                 hide_index=True, key="then_now_counts")
    st.dataframe(tables.styled(upload_views.coverage_table(comparison.coverage)),
                 hide_index=True, key="then_now_coverage")
    if len(comparison.points):
        fmap = shared.new_map()
        shared.outlines().add_to(fmap)
        maps.change_markers(comparison.points).add_to(fmap)
        fmap.fit_bounds([[comparison.points["lat"].min(), comparison.points["lon"].min()],
                         [comparison.points["lat"].max(), comparison.points["lon"].max()]],
                        max_zoom=9)
        shared.st_folium(fmap, key="change_map", height=420, use_container_width=True,
                         returned_objects=[])
        st.caption("Kart over endringene: grønn = ny gruppe, rød = borte, blå = flyttet "
                   "(stiplet linje fra der den var). Tabellen under viser det samme.")
    changed = comparison.matches[comparison.matches["change"] != "same"]
    with st.expander(f"Grupper som er nye, borte eller flyttet ({len(changed)})"):
        st.dataframe(tables.styled(upload_views.changes_table(comparison.matches),
                                   {"Flyttet (km)": 1}),
                     hide_index=True, key="then_now_groups")


def publish_section(upload: pipeline.Upload, organisation: str | None) -> None:
    """A steward publishes the list shown (it replaces the organisation's list for all)."""
    from tilbudskart import publishing
    from tilbudskart.store import StoreError, open_store

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
    publish_form(upload, store, organisation)


def publish_form(upload: pipeline.Upload, store: Store, organisation: str) -> None:
    """The steward's key and the button; publishing says what it did, or why not."""
    from tilbudskart import publishing
    from tilbudskart.store import RefusedError, StoreError

    result = upload.results[0]
    name = settings.ORGANISATIONS[organisation]
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
